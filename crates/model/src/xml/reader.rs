//! Streaming, namespace-aware reading of a BPMN document into an
//! [`Element`] tree of its semantic part.
//!
//! Diagram interchange is checked lightly (shapes and edges need a
//! `bpmnElement`) and skipped; elements of other namespaces become childless
//! leaves, so memory stays proportional to the semantic content. DOCTYPE
//! declarations (and with them every entity declaration) are rejected, and
//! nesting is limited to [`MAX_DEPTH`]. The tree borrows names, attribute
//! values and text from the source wherever no unescaping is needed.

use super::document::{Document, FlatElement};
use super::tag::{Tag, TagAttrs, check_attrs, check_diagram, check_qname_values, read_attrs};
use super::text::TextBuf;
use super::tree::{Attr, BPMN_NS, Name, Ns};
use crate::codes;
use crate::report::Report;
use quick_xml::events::Event;
use quick_xml::name::{NamespaceResolver, ResolveResult};
use quick_xml::reader::Reader;
use std::borrow::Cow;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;

/// Reads `source` (without byte-order mark) into a [`Document`] whose root
/// is its `definitions` element. Problems go to `report`; `None` when the
/// document cannot be read as BPMN.
pub fn read<'a>(source: &'a str, report: &mut Report<'_>) -> Option<Document<'a>> {
    let mut reader = Reader::from_str(source);
    // Namespace scopes, kept as quick-xml's `NsReader` keeps them: a scope is
    // opened at each start tag and closed just before the event after its
    // end tag (or after the tag itself when it is empty).
    let mut resolver = NamespaceResolver::default();
    let mut pending_pop = false;
    // The attributes of the start tag being read.
    let mut parsed = TagAttrs::default();
    // Every element kept, in document order, and the attributes of all.
    let mut flat: Vec<FlatElement<'a>> = Vec::new();
    let mut attrs: Vec<Attr<'a>> = Vec::new();
    // Indices in `flat` of the open elements, outermost first.
    let mut open: Vec<usize> = Vec::new();
    let mut skip_depth = 0usize;
    // True while skipping a diagram subtree, whose shapes are still checked.
    let mut skipping_diagram = false;
    // True once the root element has ended.
    let mut root_done = false;
    // Text of open elements that had to be copied, and emptied buffers.
    let mut texts = TextBuf::default();
    loop {
        if pending_pop {
            resolver.pop();
            pending_pop = false;
        }
        let offset = to_usize(reader.buffer_position());
        // Only start tags need their namespace resolved (below).
        let event = match reader.read_event() {
            Ok(x) => x,
            Err(e) => {
                let at = to_usize(reader.error_position());
                report.error(
                    codes::XML_SYNTAX,
                    format!("XML syntax error: {e}"),
                    None,
                    Some(at),
                );
                return None;
            }
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let is_empty = matches!(event, Event::Empty(_));
                let Some(tag) = Tag::of(source, start) else {
                    report.error(
                        codes::XML_SYNTAX,
                        format!(
                            "internal error: the tag <{}> was not read from the document text",
                            start.name().0
                        ),
                        None,
                        Some(offset),
                    );
                    return None;
                };
                if let Err(e) = parsed.open(&tag, &mut resolver) {
                    let at = to_usize(reader.error_position());
                    report.error(
                        codes::XML_SYNTAX,
                        format!("XML syntax error: {}", quick_xml::Error::Namespace(e)),
                        None,
                        Some(at),
                    );
                    return None;
                }
                pending_pop = is_empty;
                if open.len() + skip_depth + 1 > MAX_DEPTH {
                    report.error(
                        codes::TOO_DEEP,
                        format!("elements are nested deeper than {MAX_DEPTH} levels"),
                        None,
                        Some(offset),
                    );
                    return None;
                }
                if skip_depth > 0 {
                    if !is_empty {
                        skip_depth += 1;
                    }
                    let in_diagram = skipping_diagram
                        && matches!(resolver.resolve_element(tag.name()).0,
                            ResolveResult::Bound(n) if Ns::from_uri(n.0) == Ns::Diagram);
                    if in_diagram {
                        check_attrs(&resolver, &tag, &parsed, offset, report)?;
                        check_diagram(&tag, &parsed, offset, report);
                    }
                    continue;
                }
                let qname = tag.qname;
                let (resolved, _) = resolver.resolve_element(tag.name());
                let ns = match resolved {
                    ResolveResult::Bound(n) => Ns::from_uri(n.0),
                    ResolveResult::Unbound => Ns::None,
                    ResolveResult::Unknown(ref p) => {
                        report.error(
                            codes::XML_SYNTAX,
                            format!("element <{qname}> uses the undeclared namespace prefix '{p}'"),
                            None,
                            Some(offset),
                        );
                        return None;
                    }
                };
                let root_uri = open.is_empty().then(|| match resolved {
                    ResolveResult::Bound(n) => n.0.to_string(),
                    _ => "no namespace".to_string(),
                });
                let keep = matches!(ns, Ns::Bpmn | Ns::Windlass | Ns::Zeebe);
                let first_attr = attrs.len();
                if keep {
                    read_attrs(&resolver, &tag, &parsed, offset, report, &mut attrs)?;
                } else {
                    check_attrs(&resolver, &tag, &parsed, offset, report)?;
                }
                let own_attrs = first_attr..attrs.len();
                if let Some(uri) = root_uri {
                    if root_done {
                        report.error(
                            codes::XML_SYNTAX,
                            format!("element <{qname}> after the end of the root element"),
                            None,
                            Some(offset),
                        );
                        return None;
                    }
                    if !(ns == Ns::Bpmn && tag.local == "definitions") {
                        report.error(
                            codes::NOT_BPMN,
                            format!(
                                "root element is {qname} (namespace {uri}), expected definitions \
                                 in namespace {BPMN_NS}"
                            ),
                            None,
                            Some(offset),
                        );
                        return None;
                    }
                }
                if ns == Ns::Diagram {
                    check_diagram(&tag, &parsed, offset, report);
                }
                if ns == Ns::Bpmn {
                    let own = attrs.get(own_attrs.clone()).unwrap_or(&[]);
                    check_qname_values(&resolver, &tag, own, offset, report);
                }
                if let Some(parent) = open.last().and_then(|&p| flat.get_mut(p)) {
                    parent.children += 1;
                }
                flat.push(FlatElement {
                    ns,
                    qname: Name(qname),
                    local: Name(tag.local),
                    attrs: own_attrs,
                    text: Cow::Borrowed(""),
                    offset,
                    depth: open.len(),
                    children: 0,
                });
                if keep && !is_empty {
                    open.push(flat.len() - 1);
                } else {
                    if !keep && !is_empty {
                        skip_depth = 1;
                        skipping_diagram = ns == Ns::Diagram;
                    }
                    root_done |= open.is_empty();
                }
            }
            Event::End(_) => {
                pending_pop = true;
                if skip_depth > 0 {
                    skip_depth -= 1;
                    continue;
                }
                if let Some(element) = open.pop().and_then(|i| flat.get_mut(i)) {
                    texts.finish(&mut element.text);
                    root_done |= open.is_empty();
                }
            }
            Event::Text(text) => {
                if skip_depth == 0
                    && let Some(top) = open.last().and_then(|&i| flat.get_mut(i))
                {
                    texts.append(&mut top.text, text.xml10_content());
                }
            }
            Event::CData(data) => {
                if skip_depth == 0
                    && let Some(top) = open.last().and_then(|&i| flat.get_mut(i))
                {
                    texts.append(&mut top.text, data.into_inner());
                }
            }
            Event::GeneralRef(reference) => {
                let name: &str = &reference;
                let ch = match reference.resolve_char_ref() {
                    Ok(Some(c)) => Some(c),
                    Ok(None) => predefined_entity(name),
                    Err(_) => None,
                };
                let Some(ch) = ch else {
                    report.error(
                        codes::XML_SYNTAX,
                        format!("undefined entity or invalid character reference '&{name};'"),
                        None,
                        Some(offset),
                    );
                    return None;
                };
                if skip_depth == 0
                    && let Some(top) = open.last().and_then(|&i| flat.get_mut(i))
                {
                    texts.append_char(&mut top.text, ch);
                }
            }
            Event::DocType(_) => {
                report.error(
                    codes::DOCTYPE,
                    "DOCTYPE declarations are not allowed (entity declarations could expand \
                     without bound)",
                    None,
                    Some(offset),
                );
                return None;
            }
            Event::Decl(decl) => {
                if let Some(Ok(enc)) = decl.encoding() {
                    let e = enc.to_ascii_lowercase();
                    if e != "utf-8" && e != "utf8" {
                        report.warning(
                            codes::ENCODING,
                            format!(
                                "the document declares encoding '{enc}'; it was read as Unicode \
                                 text (UTF-8)"
                            ),
                            None,
                            Some(offset),
                        );
                    }
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if let Some(element) = open.last().and_then(|&i| flat.get(i)) {
        report.error(
            codes::XML_SYNTAX,
            format!(
                "unexpected end of document: <{}> is not closed",
                element.qname
            ),
            None,
            Some(source.len()),
        );
        return None;
    }
    if !root_done {
        report.error(
            codes::NOT_BPMN,
            "the document has no root element",
            None,
            Some(0),
        );
        return None;
    }
    Some(Document::new(attrs, flat))
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

fn predefined_entity(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => None,
    }
}
