//! Tasks, sub-processes and call activities.

use super::builder::{Builder, base_node, unsupported};
use super::expr::{self, At};
use super::extensions::{self, Owner};
use super::process::parse_scope;
use super::{Ctx, loops, values};
use crate::codes;
use crate::graph::{CallBinding, NodeKind, ScopeIdx, Script, TaskType};
use crate::xml::tree::Element;
use crate::xml::tree::Ns;
use windlass_expr::Language;

/// Fills loop, io and task extensions of an activity node and adds it.
fn finish<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    el: &'t Element,
    id: &'t str,
    mut node: crate::graph::Node,
    ext: extensions::ActivityExt<'t>,
) -> crate::graph::NodeIdx {
    node.looping = loops::read(ctx, el, ext.zeebe_loop).map(Box::new);
    node.io_mapping = ext.io.boxed();
    node.task_extensions = ext.task.boxed();
    let idx = b.push(id, node);
    if el.attr("default").is_some() {
        b.defaults.push((idx, el));
    }
    idx
}

/// Reads a task of any type.
pub fn task<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    el: &'t Element,
    scope: ScopeIdx,
    task_type: TaskType,
) {
    let Some(id) = values::required_id(ctx, el) else {
        return;
    };
    let for_compensation = values::bool_attr(ctx, el, "isForCompensation", false);
    let ext = extensions::activity(ctx, el, Owner::Activity);
    let script = if task_type == TaskType::Script {
        Some(script(ctx, el, id, &ext))
    } else {
        None
    };
    let message = if task_type == TaskType::Receive {
        match super::events::task_message(ctx, el) {
            Ok(m) => m,
            // The unresolved `messageRef` is reported.
            Err(()) => return,
        }
    } else {
        None
    };
    let mut node = base_node(
        ctx,
        el,
        id,
        NodeKind::Task {
            task_type,
            script: script.map(Box::new),
            message: message.map(Box::new),
        },
        scope,
    );
    node.for_compensation = for_compensation;
    finish(ctx, b, el, id, node, ext);
}

fn script(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: &str,
    ext: &extensions::ActivityExt<'_>,
) -> Script {
    let result_variable = ext.result_variable.clone();
    if let Some(z) = ext.script_expression {
        let body = z.attr("expression").unwrap_or_default().to_string();
        let at = At {
            id: Some(id),
            offset: z.offset,
            what: "script expression",
        };
        let compiled = expr::compile(ctx, &body, None, at).map(|e| e.compiled);
        return Script {
            format: Some("feel".into()),
            body,
            compiled,
            result_variable,
        };
    }
    let format = el.attr("scriptFormat").map(str::to_string);
    let body = el
        .bpmn_child("script")
        .map(|s| s.text.to_string())
        .unwrap_or_default();
    // Only CEL scripts are evaluated: the compatibility dialect holds
    // expressions, while Adhesive's `python` scripts are statements.
    let evaluated = format
        .as_deref()
        .filter(|f| Language::from_uri(Some(f)) == Some(Language::Cel));
    let compiled = match evaluated {
        Some(f) => {
            let at = At {
                id: Some(id),
                offset: el.offset,
                what: "script",
            };
            expr::compile(ctx, &body, Some(f), at).map(|e| e.compiled)
        }
        None => {
            if !body.trim().is_empty() {
                ctx.report.warning(
                    codes::SCRIPT_NOT_EVALUATED,
                    format!(
                        "script format '{}' is not evaluated by Windlass; the task runs as a job \
                         bound by name, id or kind",
                        format.as_deref().unwrap_or("(none)")
                    ),
                    Some(id),
                    Some(el.offset),
                );
            }
            None
        }
    };
    Script {
        format,
        body,
        compiled,
        result_variable,
    }
}

/// Reads an embedded, event or transaction sub-process and its content.
pub fn sub_process<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    el: &'t Element,
    scope: ScopeIdx,
) {
    let Some(id) = values::required_id(ctx, el) else {
        return;
    };
    let transaction = &*el.local == "transaction";
    let for_compensation = values::bool_attr(ctx, el, "isForCompensation", false);
    let triggered_by_event = values::bool_attr(ctx, el, "triggeredByEvent", false);
    if for_compensation && (triggered_by_event || transaction) {
        unsupported(
            ctx,
            b,
            el,
            &format!(
                "<{}> with isForCompensation=\"true\"{}",
                el.local,
                if transaction {
                    ""
                } else {
                    " and triggeredByEvent=\"true\""
                }
            ),
        );
        return;
    }
    let ext = extensions::activity(ctx, el, Owner::Activity);
    let inner = ScopeIdx(u32::try_from(b.scopes.len()).unwrap_or(u32::MAX));
    let mut node = base_node(
        ctx,
        el,
        id,
        NodeKind::SubProcess {
            scope: inner,
            triggered_by_event,
            transaction,
        },
        scope,
    );
    node.for_compensation = for_compensation;
    let idx = finish(ctx, b, el, id, node, ext);
    b.new_scope(Some(idx), Some(scope));
    parse_scope(ctx, b, el, inner);
}

/// The version binding of a call activity: Zeebe's `bindingType`, or
/// Camunda 7's `calledElementBinding` (with `calledElementVersion`).
/// `Err` names a binding Windlass does not run (for [`unsupported`]); a
/// version that is not a number is reported here.
fn binding(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: &str,
    zeebe: Option<&str>,
) -> Result<CallBinding, String> {
    let camunda = el.attr_ns(Ns::Camunda, "calledElementBinding");
    let written = zeebe.or(camunda).map(str::trim);
    match written {
        None | Some("latest") => Ok(CallBinding::Latest),
        Some("deployment") => Ok(CallBinding::Deployment),
        Some("version") if zeebe.is_none() => {
            let version = el
                .attr_ns(Ns::Camunda, "calledElementVersion")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .filter(|v| *v > 0);
            if version.is_none() {
                ctx.report.error(
                    codes::INVALID_ATTRIBUTE_VALUE,
                    "camunda:calledElementBinding=\"version\" needs camunda:calledElementVersion, \
                     a version number (1 or more)",
                    Some(id),
                    Some(el.offset),
                );
            }
            // The definition does not load with the error; the node stays
            // so that its flows resolve.
            Ok(version.map_or(CallBinding::Latest, CallBinding::Version))
        }
        Some(other) => Err(format!(
            "callActivity with the version binding '{other}' (latest, deployment and a \
             version number run)"
        )),
    }
}

/// Reads a call activity.
pub fn call_activity<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    el: &'t Element,
    scope: ScopeIdx,
) {
    let Some(id) = values::required_id(ctx, el) else {
        return;
    };
    let ext = extensions::activity(ctx, el, Owner::Activity);
    let called = el
        .attr("calledElement")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .or_else(|| ext.called_process.clone());
    let Some(called) = called else {
        ctx.report.error(
            codes::MISSING_ATTRIBUTE,
            "callActivity has no calledElement (nor zeebe:calledElement processId)",
            Some(id),
            Some(el.offset),
        );
        return;
    };
    if let Some(global) = ctx.roots.global_tasks.get(called.as_str()).copied() {
        unsupported(
            ctx,
            b,
            el,
            &format!(
                "callActivity calling {} '{called}' (global tasks)",
                global.local
            ),
        );
        return;
    }
    if !ctx.roots.processes.contains_key(called.as_str()) {
        ctx.report.warning(
            codes::CALL_TARGET_NOT_IN_FILE,
            format!(
                "called process '{called}' is not in this file; it must be deployed separately"
            ),
            Some(id),
            Some(el.offset),
        );
    }
    let binding = match binding(ctx, el, id, ext.called_binding.as_deref()) {
        Ok(b) => b,
        Err(what) => return unsupported(ctx, b, el, &what),
    };
    let mut node = base_node(
        ctx,
        el,
        id,
        NodeKind::CallActivity {
            called_element: called,
            binding,
        },
        scope,
    );
    node.for_compensation = values::bool_attr(ctx, el, "isForCompensation", false);
    finish(ctx, b, el, id, node, ext);
}
