//! Typed attribute values (booleans, numbers) with clear errors.

use super::Ctx;
use crate::codes;
use crate::xml::tree::Element;

/// Reads boolean attribute `name` of `el`; absent gives `default`.
pub fn bool_attr(ctx: &mut Ctx<'_, '_, '_>, el: &Element, name: &str, default: bool) -> bool {
    match el.attr(name).map(str::trim) {
        None => default,
        Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        Some(other) => {
            ctx.report.error(
                codes::INVALID_ATTRIBUTE_VALUE,
                format!(
                    "attribute {name}=\"{other}\" of <{}> must be true or false",
                    el.qname
                ),
                el.id(),
                Some(el.offset),
            );
            default
        }
    }
}

/// Reads non-negative integer attribute `name` of `el`.
pub fn u64_attr(ctx: &mut Ctx<'_, '_, '_>, el: &Element, name: &str) -> Option<u64> {
    let raw = el.attr(name)?;
    match raw.trim().parse::<u64>() {
        Ok(v) => Some(v),
        Err(_) => {
            ctx.report.error(
                codes::INVALID_ATTRIBUTE_VALUE,
                format!(
                    "attribute {name}=\"{raw}\" of <{}> must be a non-negative integer",
                    el.qname
                ),
                el.id(),
                Some(el.offset),
            );
            None
        }
    }
}

/// The `id` of `el`, or an error naming the element when it has none.
pub fn required_id<'t>(ctx: &mut Ctx<'_, '_, '_>, el: &'t Element) -> Option<&'t str> {
    let id = el.id().map(str::trim).filter(|s| !s.is_empty());
    if id.is_none() {
        ctx.report.error(
            codes::MISSING_ATTRIBUTE,
            format!("<{}> has no id attribute", el.qname),
            None,
            Some(el.offset),
        );
    }
    id
}

/// Joined text of the `documentation` children of `el`.
pub fn documentation(el: &Element) -> Option<Box<str>> {
    let mut parts = el
        .bpmn_children("documentation")
        .map(|d| d.text.trim())
        .filter(|t| !t.is_empty());
    let first = parts.next()?;
    let mut joined = first.to_string();
    for part in parts {
        joined.push('\n');
        joined.push_str(part);
    }
    Some(joined.into_boxed_str())
}
