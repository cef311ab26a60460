//! `extensionElements`: Windlass (`urn:windlass:bpmn:1`) and Zeebe elements.
//!
//! Unknown Windlass elements and attributes are errors; Zeebe elements
//! Windlass does not read get a warning; other vendors' elements (editor
//! data) are ignored.

use super::Ctx;
use super::expr::{self, At};
use super::timer;
use crate::codes;
use crate::extensions::{MessageSource, OverlapPolicy, ProcessExtensions, TaskExtensions};
use crate::graph::{ExprSpec, IoMapping, VarMapping};
use crate::xml::tree::{Element, Ns};
use windlass_expr::Template;

/// What an activity's or event's extension elements say.
#[derive(Debug, Default)]
pub struct ActivityExt<'t> {
    /// Task configuration.
    pub task: TaskExtensions,
    /// Variable mappings.
    pub io: IoMapping,
    /// `windlass:script resultVariable` / `zeebe:script resultVariable`.
    pub result_variable: Option<String>,
    /// `zeebe:script expression`.
    pub script_expression: Option<&'t Element<'t>>,
    /// `zeebe:loopCharacteristics`.
    pub zeebe_loop: Option<&'t Element<'t>>,
    /// `zeebe:calledElement processId`.
    pub called_process: Option<String>,
    /// `zeebe:calledElement bindingType`, as written.
    pub called_binding: Option<String>,
    /// `windlass:schedule overlap` (events only; the caller checks that the
    /// event is a process-level timer start event) and where it is.
    pub schedule: Option<(OverlapPolicy, usize)>,
    /// `windlass:publish ttl` in milliseconds (events only; the caller
    /// checks that the event throws a message) and where it is.
    pub publish_ttl: Option<(u64, usize)>,
}

/// Which element the extensions sit on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// A task, sub-process or call activity.
    Activity,
    /// An event.
    Event,
}

/// Checks attributes of a Windlass element: unknown ones and missing
/// required ones are errors. Returns false when something is wrong.
fn check_attrs(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    owner_id: Option<&str>,
    allowed: &[&str],
    required: &[&str],
) -> bool {
    let mut ok = true;
    for a in el.attrs.iter().filter(|a| a.ns == Ns::None) {
        if !allowed.contains(&&*a.local) {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!(
                    "unknown attribute '{}' on <{}> (allowed: {})",
                    a.local,
                    el.qname,
                    allowed.join(", ")
                ),
                owner_id,
                Some(el.offset),
            );
            ok = false;
        }
    }
    for r in required {
        if el.attr(r).is_none_or(|v| v.trim().is_empty()) {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!("<{}> needs the attribute '{r}'", el.qname),
                owner_id,
                Some(el.offset),
            );
            ok = false;
        }
    }
    ok
}

fn misplaced(ctx: &mut Ctx<'_, '_, '_>, el: &Element, owner_id: Option<&str>, place: &str) {
    ctx.report.error(
        codes::INVALID_EXTENSION,
        format!(
            "<{}> is not a Windlass extension element allowed on {place}",
            el.qname
        ),
        owner_id,
        Some(el.offset),
    );
}

fn zeebe_ignored(ctx: &mut Ctx<'_, '_, '_>, el: &Element, owner_id: Option<&str>) {
    ctx.report.warning(
        codes::ZEEBE_IGNORED,
        format!(
            "Zeebe extension <{}> is not read by Windlass and is ignored",
            el.qname
        ),
        owner_id,
        Some(el.offset),
    );
}

/// Reads an activity's or event's `extensionElements` (if any).
pub fn activity<'t>(ctx: &mut Ctx<'_, '_, '_>, node: &'t Element, owner: Owner) -> ActivityExt<'t> {
    let mut out = ActivityExt::default();
    let id = node.id();
    for ext in node.bpmn_children("extensionElements") {
        for el in &ext.children {
            match (el.ns, &*el.local) {
                (Ns::Windlass, "task") if owner == Owner::Activity => {
                    windlass_task(ctx, el, id, &mut out.task)
                }
                (Ns::Windlass, "input" | "output")
                    if check_attrs(ctx, el, id, &["source", "target"], &["source", "target"]) =>
                {
                    push_mapping(ctx, el, id, "source", "target", &mut out.io);
                }
                (Ns::Windlass, "input" | "output") => {}
                (Ns::Windlass, "script") if owner == Owner::Activity => {
                    let ok = check_attrs(ctx, el, id, &["resultVariable"], &["resultVariable"]);
                    if ok {
                        out.result_variable = el.attr("resultVariable").map(str::to_string);
                    }
                }
                // Read for every flow node by [`dedup`].
                (Ns::Windlass, "dedup") => {}
                (Ns::Windlass, "schedule") if owner == Owner::Event => {
                    if let Some(p) = schedule(ctx, el, id) {
                        out.schedule = Some((p, el.offset));
                    }
                }
                (Ns::Windlass, "publish") if owner == Owner::Event => {
                    if let Some(ttl) = publish_ttl(ctx, el, id) {
                        out.publish_ttl = Some((ttl, el.offset));
                    }
                }
                (Ns::Windlass, _) => misplaced(
                    ctx,
                    el,
                    id,
                    if owner == Owner::Activity {
                        "an activity"
                    } else {
                        "an event"
                    },
                ),
                (Ns::Zeebe, "taskDefinition") => {
                    out.task.kind = el.attr("type").map(Box::from);
                    if let Some(r) = el.attr("retries") {
                        out.task.retries = retries(ctx, el, id, r);
                    }
                }
                (Ns::Zeebe, "taskHeaders") => {
                    for h in el.children.iter().filter(|c| c.ns == Ns::Zeebe) {
                        let (Some(k), Some(v)) = (h.attr("key"), h.attr("value")) else {
                            ctx.report.error(
                                codes::INVALID_EXTENSION,
                                "<zeebe:header> needs 'key' and 'value'",
                                id,
                                Some(h.offset),
                            );
                            continue;
                        };
                        setting(ctx, h, id, k, v, &mut out.task);
                    }
                }
                (Ns::Zeebe, "ioMapping") => {
                    for m in el.children.iter().filter(|c| c.ns == Ns::Zeebe) {
                        if m.attr("source").is_none() || m.attr("target").is_none() {
                            ctx.report.error(
                                codes::INVALID_EXTENSION,
                                format!("<{}> needs 'source' and 'target'", m.qname),
                                id,
                                Some(m.offset),
                            );
                            continue;
                        }
                        push_mapping(ctx, m, id, "source", "target", &mut out.io);
                    }
                }
                (Ns::Zeebe, "loopCharacteristics") => out.zeebe_loop = Some(el),
                (Ns::Zeebe, "script") => {
                    out.script_expression = Some(el);
                    out.result_variable = el.attr("resultVariable").map(str::to_string);
                }
                (Ns::Zeebe, "calledElement") => {
                    out.called_process = el.attr("processId").map(str::to_string);
                    out.called_binding = el.attr("bindingType").map(str::to_string);
                }
                (Ns::Zeebe, _) => zeebe_ignored(ctx, el, id),
                _ => {}
            }
        }
    }
    out
}

/// `<windlass:schedule overlap="..."/>`: the overlap policy (`skip` when
/// not given); an unknown value is an error naming the element.
fn schedule(ctx: &mut Ctx<'_, '_, '_>, el: &Element, id: Option<&str>) -> Option<OverlapPolicy> {
    if !check_attrs(ctx, el, id, &["overlap"], &[]) {
        return None;
    }
    let Some(raw) = el.attr("overlap") else {
        return Some(OverlapPolicy::default());
    };
    let policy = OverlapPolicy::parse(raw.trim());
    if policy.is_none() {
        let names: Vec<&str> = OverlapPolicy::ALL.iter().map(|p| p.as_str()).collect();
        ctx.report.error(
            codes::INVALID_EXTENSION,
            format!(
                "<{}> overlap=\"{raw}\" is not one of {}",
                el.qname,
                names.join(", ")
            ),
            id,
            Some(el.offset),
        );
    }
    policy
}

/// `<windlass:publish ttl="PT10M"/>`: a thrown message's time-to-live in
/// milliseconds. Only a fixed length is taken (weeks, days, hours, minutes,
/// seconds); years and months are refused.
fn publish_ttl(ctx: &mut Ctx<'_, '_, '_>, el: &Element, id: Option<&str>) -> Option<u64> {
    if !check_attrs(ctx, el, id, &["ttl"], &["ttl"]) {
        return None;
    }
    let raw = el.attr("ttl")?;
    let fixed = super::timer::parse_duration(raw).and_then(|d| {
        if d.years != 0 || d.months != 0 {
            return Err(format!(
                "'{}' has years or months, whose length varies; give weeks, days, hours, \
                 minutes or seconds",
                raw.trim()
            ));
        }
        let hours = (u64::from(d.weeks) * 7 + u64::from(d.days)) * 24 + u64::from(d.hours);
        (hours * 60 + u64::from(d.minutes))
            .checked_mul(60_000)
            .and_then(|ms| ms.checked_add(d.millis))
            .ok_or_else(|| format!("'{}' is too long", raw.trim()))
    });
    match fixed {
        Ok(ms) => Some(ms),
        Err(e) => {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!("<{}> ttl: {e}", el.qname),
                id,
                Some(el.offset),
            );
            None
        }
    }
}

fn retries(ctx: &mut Ctx<'_, '_, '_>, el: &Element, id: Option<&str>, raw: &str) -> Option<u32> {
    match raw.trim().parse::<u32>() {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!(
                    "<{}> retries=\"{raw}\" must be a non-negative integer",
                    el.qname
                ),
                id,
                Some(el.offset),
            );
            None
        }
    }
}

fn millis(ctx: &mut Ctx<'_, '_, '_>, el: &Element, id: Option<&str>, attr: &str) -> Option<u64> {
    let raw = el.attr(attr)?;
    let parsed = timer::parse_duration(raw).and_then(|d| {
        timer::fixed_millis(&d)
            .ok_or_else(|| format!("'{raw}' has years or months, which have no fixed length"))
    });
    match parsed {
        Ok(ms) => Some(ms),
        Err(e) => {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!("<{}> {attr}: {e}", el.qname),
                id,
                Some(el.offset),
            );
            None
        }
    }
}

fn setting(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: Option<&str>,
    name: &str,
    value: &str,
    task: &mut TaskExtensions,
) {
    let at = At {
        id,
        offset: el.offset,
        what: "setting value",
    };
    if let Some(t) = expr::parse_template(ctx, value, at) {
        // A literal `successCodes` of an `http` task is checked now, not
        // when the first request comes back.
        if task.kind.as_deref() == Some("http")
            && name == "successCodes"
            && t.is_literal()
            && let Err(e) =
                crate::success_codes::SuccessCodes::parse(&t.render(&serde_json::Map::new()))
        {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!("setting 'successCodes': {e}"),
                id,
                Some(el.offset),
            );
        }
        task.settings.insert(name.to_string(), t);
    }
}

/// The deduplication key of flow node `el`: `<windlass:dedup key="…"/>`
/// in its `extensionElements` (any flow node), or the `dedupKey` attribute
/// of its `windlass:task`. Both at once, or two `windlass:dedup`, are an
/// error.
pub fn dedup(ctx: &mut Ctx<'_, '_, '_>, el: &Element, id: &str) -> Option<Box<Template>> {
    let mut found: Option<(&Element, &str)> = None;
    for ext in el.bpmn_children("extensionElements") {
        for c in ext.children.iter().filter(|c| c.ns == Ns::Windlass) {
            let key = match &*c.local {
                "dedup" => {
                    if !check_attrs(ctx, c, Some(id), &["key"], &["key"]) {
                        continue;
                    }
                    c.attr("key")
                }
                "task" => c.attr("dedupKey"),
                _ => None,
            };
            let Some(key) = key else { continue };
            if found.is_some() {
                ctx.report.error(
                    codes::INVALID_EXTENSION,
                    "a flow node has one dedup key: `windlass:dedup` and `dedupKey` \
                     (or two `windlass:dedup`) are written here",
                    Some(id),
                    Some(c.offset),
                );
                return None;
            }
            found = Some((c, key));
        }
    }
    let (c, key) = found?;
    let at = At {
        id: Some(id),
        offset: c.offset,
        what: "dedup key",
    };
    expr::parse_template(ctx, key, at).map(Box::new)
}

fn windlass_task(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: Option<&str>,
    task: &mut TaskExtensions,
) {
    check_attrs(
        ctx,
        el,
        id,
        &["kind", "retries", "timeout", "backoff", "dedupKey"],
        &["kind"],
    );
    task.kind = el.attr("kind").map(Box::from);
    if let Some(r) = el.attr("retries") {
        task.retries = retries(ctx, el, id, r);
    }
    task.timeout_millis = millis(ctx, el, id, "timeout");
    task.backoff_millis = millis(ctx, el, id, "backoff");
    // `dedupKey` is read for the node by [`dedup`].
    for s in &el.children {
        if s.ns == Ns::Windlass && &*s.local == "setting" {
            if check_attrs(ctx, s, id, &["name", "value"], &["name", "value"])
                && let (Some(n), Some(v)) = (s.attr("name"), s.attr("value"))
            {
                setting(ctx, s, id, n, v, task);
            }
        } else if s.ns == Ns::Windlass {
            misplaced(ctx, s, id, "windlass:task (only windlass:setting)");
        }
    }
    check_expressions(ctx, el, id, task);
}

/// Compiles now, not when the job runs, the settings that are expressions:
/// an `http` task's `output.NAME` and a `script` task's `expression` (in
/// its `language`). They take variables by name, so a placeholder is an
/// error; `{{` / `}}` are literal braces, as in every setting.
fn check_expressions(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: Option<&str>,
    task: &TaskExtensions,
) {
    let kind = task.kind.as_deref();
    let language = match (kind, task.settings.get("language")) {
        (Some("script"), Some(t)) if t.is_literal() => {
            let uri = t.render(&serde_json::Map::new());
            match windlass_expr::Language::from_uri(Some(&uri)) {
                Some(l) => l,
                None => {
                    ctx.report.error(
                        codes::INVALID_EXTENSION,
                        format!(
                            "setting 'language': '{uri}' is neither CEL ('cel') nor the \
                             compatibility dialect ('python')"
                        ),
                        id,
                        Some(el.offset),
                    );
                    return;
                }
            }
        }
        _ => windlass_expr::Language::Cel,
    };
    for (name, t) in &task.settings {
        let is_expression = match kind {
            Some("http") => name.starts_with("output."),
            Some("script") => name == "expression",
            _ => false,
        };
        if !is_expression {
            continue;
        }
        let why = if t.is_literal() {
            let text = t.render(&serde_json::Map::new());
            windlass_expr::Expression::compile(language, &text)
                .err()
                .map(|e| e.to_string())
        } else {
            Some(
                "an expression takes variables by name, not placeholders (a literal brace is \
                 written {{ or }})"
                    .to_string(),
            )
        };
        if let Some(why) = why {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                format!("setting '{name}': {why}"),
                id,
                Some(el.offset),
            );
        }
    }
}

fn push_mapping(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: Option<&str>,
    source: &str,
    target: &str,
    io: &mut IoMapping,
) {
    let (Some(src), Some(tgt)) = (el.attr(source), el.attr(target)) else {
        return;
    };
    let at = At {
        id,
        offset: el.offset,
        what: "mapping source",
    };
    let Some(spec) = expr::compile(ctx, src, None, at) else {
        return;
    };
    let mapping = VarMapping {
        source: spec,
        target: tgt.trim().to_string(),
    };
    if &*el.local == "input" {
        io.inputs.push(mapping);
    } else {
        io.outputs.push(mapping);
    }
}

/// Reads a process's `extensionElements`.
pub fn process(ctx: &mut Ctx<'_, '_, '_>, process: &Element) -> ProcessExtensions {
    let mut out = ProcessExtensions::default();
    let id = process.id();
    for ext in process.bpmn_children("extensionElements") {
        for el in &ext.children {
            match (el.ns, &*el.local) {
                (Ns::Windlass, "instanceId") => {
                    if check_attrs(ctx, el, id, &["template"], &["template"])
                        && let Some(t) = el.attr("template")
                    {
                        let at = At {
                            id,
                            offset: el.offset,
                            what: "instance id template",
                        };
                        out.instance_id = expr::parse_template(ctx, t, at);
                    }
                }
                (Ns::Windlass, "kubernetesWatch") => {
                    if let Some(s) = kubernetes_watch(ctx, el, id) {
                        out.sources.push(s);
                    }
                }
                (Ns::Windlass, "cron") => {
                    if let Some(s) = cron(ctx, el, id) {
                        out.sources.push(s);
                    }
                }
                (Ns::Windlass, _) => misplaced(ctx, el, id, "a process"),
                (Ns::Zeebe, _) => zeebe_ignored(ctx, el, id),
                _ => {}
            }
        }
    }
    out
}

fn owned(el: &Element, name: &str) -> Option<String> {
    el.attr(name)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn kubernetes_watch(
    ctx: &mut Ctx<'_, '_, '_>,
    el: &Element,
    id: Option<&str>,
) -> Option<MessageSource> {
    let allowed = [
        "message",
        "apiVersion",
        "kind",
        "namespace",
        "labelSelector",
        "fieldSelector",
        "events",
        "resync",
        "finalizer",
    ];
    if !check_attrs(ctx, el, id, &allowed, &["message", "apiVersion", "kind"]) {
        return None;
    }
    let resync_millis = match el.attr("resync") {
        None => None,
        Some(_) => match millis(ctx, el, id, "resync") {
            Some(0) => {
                ctx.report.error(
                    codes::INVALID_EXTENSION,
                    format!("<{}> resync: the period must be longer than zero", el.qname),
                    id,
                    Some(el.offset),
                );
                return None;
            }
            Some(ms) => Some(ms),
            None => return None,
        },
    };
    let finalizer = owned(el, "finalizer");
    if let Some(f) = &finalizer
        && !f.contains('/')
    {
        ctx.report.error(
            codes::INVALID_EXTENSION,
            format!(
                "<{}> finalizer: '{f}' needs a domain prefix (example.com/{f}), as Kubernetes \
                 requires of finalizers it does not define",
                el.qname
            ),
            id,
            Some(el.offset),
        );
        return None;
    }
    let mut events = Vec::new();
    if let Some(list) = el.attr("events") {
        for e in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let e = e.to_ascii_lowercase();
            if !matches!(e.as_str(), "added" | "modified" | "deleted") {
                ctx.report.error(
                    codes::INVALID_EXTENSION,
                    format!(
                        "<{}> events: '{e}' is not one of added, modified, deleted",
                        el.qname
                    ),
                    id,
                    Some(el.offset),
                );
                return None;
            }
            events.push(e);
        }
    }
    if finalizer.is_some() && !events.is_empty() && !events.iter().any(|e| e == "deleted") {
        ctx.report.error(
            codes::INVALID_EXTENSION,
            format!(
                "<{}> finalizer: its objects could never be deleted, as `events` leaves deletions \
                 out (add `deleted`, or drop the finalizer)",
                el.qname
            ),
            id,
            Some(el.offset),
        );
        return None;
    }
    Some(MessageSource::KubernetesWatch {
        message: owned(el, "message")?,
        api_version: owned(el, "apiVersion")?,
        kind: owned(el, "kind")?,
        namespace: owned(el, "namespace"),
        label_selector: owned(el, "labelSelector"),
        field_selector: owned(el, "fieldSelector"),
        events,
        resync_millis,
        finalizer,
    })
}

fn cron(ctx: &mut Ctx<'_, '_, '_>, el: &Element, id: Option<&str>) -> Option<MessageSource> {
    if !check_attrs(
        ctx,
        el,
        id,
        &["message", "schedule", "timezone"],
        &["message", "schedule"],
    ) {
        return None;
    }
    let schedule = owned(el, "schedule")?;
    if let Err(e) = timer::check_cron(&schedule) {
        ctx.report.error(
            codes::INVALID_TIMER,
            format!("<{}>: {e}", el.qname),
            id,
            Some(el.offset),
        );
        return None;
    }
    let timezone = owned(el, "timezone");
    if let Some(zone) = &timezone
        && let Err(e) = crate::timer_due::check_time_zone(zone)
    {
        ctx.report.error(
            codes::INVALID_TIMER,
            format!("<{}> timezone: {e}", el.qname),
            id,
            Some(el.offset),
        );
        return None;
    }
    Some(MessageSource::Cron {
        message: owned(el, "message")?,
        schedule,
        timezone,
    })
}

/// The correlation key of a `message` element (`zeebe:subscription
/// correlationKey` or `windlass:correlation key`).
pub fn message_correlation(ctx: &mut Ctx<'_, '_, '_>, message: &Element) -> Option<ExprSpec> {
    let id = message.id();
    let mut key = None;
    for ext in message.bpmn_children("extensionElements") {
        for el in &ext.children {
            let (attr, what) = match (el.ns, &*el.local) {
                (Ns::Zeebe, "subscription") => ("correlationKey", "correlation key"),
                (Ns::Windlass, "correlation") => {
                    if !check_attrs(ctx, el, id, &["key"], &["key"]) {
                        continue;
                    }
                    ("key", "correlation key")
                }
                (Ns::Windlass, _) => {
                    misplaced(ctx, el, id, "a message");
                    continue;
                }
                _ => continue,
            };
            if let Some(src) = el.attr(attr) {
                key = expr::compile(
                    ctx,
                    src,
                    None,
                    At {
                        id,
                        offset: el.offset,
                        what,
                    },
                );
            }
        }
    }
    key
}
