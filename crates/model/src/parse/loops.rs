//! Standard loop and multi-instance characteristics (with Zeebe's
//! `zeebe:loopCharacteristics` and Camunda 7's `camunda:collection` /
//! `camunda:elementVariable`).

use super::Ctx;
use super::expr::{self, At};
use super::values;
use crate::codes;
use crate::graph::{LoopSpec, MultiInstanceSpec};
use crate::xml::tree::{Element, Ns};

/// True for a name usable as a variable: a letter or `_`, then letters,
/// digits or `_`.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// The variable an `inputDataItem` / `outputDataItem` binds: its `name`
/// when that is an identifier, else its `id` (SpiffWorkflow and Camunda 7
/// write `name="input item"` beside `id="input_item"`), else its text.
fn item_name(e: &Element) -> Option<String> {
    e.attr("name")
        .map(str::trim)
        .filter(|n| is_identifier(n))
        .or(e.id())
        .map(str::to_string)
        .or_else(|| Some(e.text.trim().to_string()).filter(|t| !t.is_empty()))
}

/// Camunda 7's `camunda:collection` is a variable name or a JUEL
/// `${...}` / `#{...}`: the text inside the braces is read as an expression
/// of the process's language.
fn strip_juel(text: &str) -> &str {
    let t = text.trim();
    t.strip_prefix("${")
        .or_else(|| t.strip_prefix("#{"))
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t)
}

/// Reads the loop characteristics of activity `node`.
pub fn read(
    ctx: &mut Ctx<'_, '_, '_>,
    node: &Element,
    zeebe_loop: Option<&Element>,
) -> Option<LoopSpec> {
    let id = node.id();
    if let Some(l) = node.bpmn_child("standardLoopCharacteristics") {
        let condition = l.bpmn_child("loopCondition").and_then(|c| {
            let at = At {
                id,
                offset: c.offset,
                what: "loop condition",
            };
            expr::compile(ctx, &c.text, c.attr("language"), at)
        });
        return Some(LoopSpec::Standard {
            condition,
            test_before: values::bool_attr(ctx, l, "testBefore", false),
            loop_maximum: values::u64_attr(ctx, l, "loopMaximum"),
        });
    }
    let mi = node.bpmn_child("multiInstanceLoopCharacteristics")?;
    let child_expr = |ctx: &mut Ctx<'_, '_, '_>, name: &str, what: &str| {
        mi.bpmn_child(name).and_then(|c| {
            let at = At {
                id,
                offset: c.offset,
                what,
            };
            expr::compile(ctx, &c.text, c.attr("language"), at)
        })
    };
    let cardinality = child_expr(ctx, "loopCardinality", "loop cardinality");
    let completion_condition = child_expr(ctx, "completionCondition", "completion condition");
    let mut input_collection = child_expr(ctx, "loopDataInputRef", "loop data input");
    let mut input_element = mi.bpmn_child("inputDataItem").and_then(item_name);
    let mut output_collection = mi
        .bpmn_child("loopDataOutputRef")
        .map(|e| e.text.trim().to_string())
        .filter(|t| !t.is_empty());
    let mut output_item = mi.bpmn_child("outputDataItem").and_then(item_name);
    let mut output_element = output_item.as_deref().and_then(|n| {
        let at = At {
            id,
            offset: mi.offset,
            what: "output data item",
        };
        expr::compile(ctx, n, None, at)
    });
    let camunda_collection = mi.attr_ns(Ns::Camunda, "collection");
    if let Some(c) = camunda_collection {
        let at = At {
            id,
            offset: mi.offset,
            what: "camunda:collection",
        };
        input_collection = expr::compile(ctx, strip_juel(c), None, at);
    }
    if let Some(e) = mi.attr_ns(Ns::Camunda, "elementVariable") {
        input_element = Some(e.trim().to_string()).filter(|e| !e.is_empty());
    }
    if let Some(z) = zeebe_loop {
        if let Some(c) = z.attr("inputCollection") {
            let at = At {
                id,
                offset: z.offset,
                what: "input collection",
            };
            input_collection = expr::compile(ctx, c, None, at);
        }
        if let Some(e) = z.attr("inputElement") {
            input_element = Some(e.trim().to_string());
        }
        if let Some(c) = z.attr("outputCollection") {
            output_collection = Some(c.trim().to_string());
        }
        if let Some(e) = z.attr("outputElement") {
            let at = At {
                id,
                offset: z.offset,
                what: "output element",
            };
            output_element = expr::compile(ctx, e, None, at);
            output_item = None;
        }
    }
    let has_input = mi.bpmn_child("loopCardinality").is_some()
        || mi.bpmn_child("loopDataInputRef").is_some()
        || camunda_collection.is_some()
        || zeebe_loop.is_some_and(|z| z.attr("inputCollection").is_some());
    if !has_input {
        ctx.report.error(
            codes::MULTI_INSTANCE_WITHOUT_INPUT,
            "multiInstanceLoopCharacteristics needs loopCardinality or loopDataInputRef \
             (or zeebe:loopCharacteristics inputCollection, or camunda:collection)",
            id,
            Some(mi.offset),
        );
    }
    Some(LoopSpec::MultiInstance(MultiInstanceSpec {
        sequential: values::bool_attr(ctx, mi, "isSequential", false),
        cardinality,
        input_collection,
        input_element,
        output_collection,
        output_element,
        output_item,
        completion_condition,
    }))
}
