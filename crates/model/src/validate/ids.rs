//! Every BPMN element id must be unique in the document.

use crate::codes;
use crate::report::Report;
use crate::xml::tree::{Element, Ns};
use std::collections::HashMap;

/// Reports each id used more than once (at its second and later uses).
pub fn check(root: &Element, report: &mut Report<'_>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut stack = vec![root];
    while let Some(el) = stack.pop() {
        if el.ns == Ns::Bpmn
            && let Some(id) = el.id()
        {
            if let Some(&first) = seen.get(id) {
                let p = report.position(first);
                report.error(
                    codes::DUPLICATE_ID,
                    format!(
                        "id '{id}' of <{}> is already used by the element at line {}",
                        el.qname, p.line
                    ),
                    Some(id),
                    Some(el.offset),
                );
            } else {
                seen.insert(id, el.offset);
            }
        }
        stack.extend(el.children.iter().rev());
    }
}
