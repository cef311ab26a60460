//! Standard loop and multi-instance characteristics (with Zeebe's
//! `zeebe:loopCharacteristics`).

use super::Ctx;
use super::expr::{self, At};
use super::values;
use crate::codes;
use crate::graph::{LoopSpec, MultiInstanceSpec};
use crate::xml::tree::Element;

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
    let item_name = |e: &Element| {
        e.attr("name")
            .or(e.id())
            .map(str::to_string)
            .or_else(|| Some(e.text.trim().to_string()).filter(|t| !t.is_empty()))
    };
    let mut input_element = mi.bpmn_child("inputDataItem").and_then(item_name);
    let mut output_collection = mi
        .bpmn_child("loopDataOutputRef")
        .map(|e| e.text.trim().to_string())
        .filter(|t| !t.is_empty());
    let mut output_element = mi
        .bpmn_child("outputDataItem")
        .and_then(item_name)
        .and_then(|n| {
            let at = At {
                id,
                offset: mi.offset,
                what: "output data item",
            };
            expr::compile(ctx, &n, None, at)
        });
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
        }
    }
    let has_input = mi.bpmn_child("loopCardinality").is_some()
        || mi.bpmn_child("loopDataInputRef").is_some()
        || zeebe_loop.is_some_and(|z| z.attr("inputCollection").is_some());
    if !has_input {
        ctx.report.error(
            codes::MULTI_INSTANCE_WITHOUT_INPUT,
            "multiInstanceLoopCharacteristics needs loopCardinality or loopDataInputRef \
             (or zeebe:loopCharacteristics inputCollection)",
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
        completion_condition,
    }))
}
