//! Streaming, namespace-aware reading of a BPMN document into an
//! [`Element`] tree of its semantic part.
//!
//! Diagram interchange is checked lightly (shapes and edges need a
//! `bpmnElement`) and skipped; elements of other namespaces become childless
//! leaves, so memory stays proportional to the semantic content. DOCTYPE
//! declarations (and with them every entity declaration) are rejected, and
//! nesting is limited to [`MAX_DEPTH`]. The tree borrows names, attribute
//! values and text from the source wherever no unescaping is needed.

use super::text::{TextBuf, within};
use super::tree::{Attr, BPMN_NS, Element, Name, Ns};
use crate::codes;
use crate::report::Report;
use quick_xml::events::attributes::Attributes;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceResolver, QName, ResolveResult};
use quick_xml::reader::NsReader;
use std::borrow::Cow;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;

/// A start tag as slices of the source: the whole text between `<` and `>`
/// (or `/>`), its name and the local part of the name.
#[derive(Clone, Copy)]
struct Tag<'a> {
    content: &'a str,
    name_len: usize,
    qname: &'a str,
    local: &'a str,
}

impl<'a> Tag<'a> {
    /// The tag of `start`, which must have been read from `source`.
    fn of(source: &'a str, start: &BytesStart<'_>) -> Option<Tag<'a>> {
        let content = within(source, start)?;
        let name_len = start.name().0.len();
        let qname = content.get(..name_len)?;
        let local_len = start.local_name().into_inner().len();
        let local = qname.get(name_len.checked_sub(local_len)?..)?;
        Some(Tag {
            content,
            name_len,
            qname,
            local,
        })
    }

    fn name(&self) -> QName<'a> {
        QName(self.qname)
    }

    /// Its attributes (not checked for repeats: [`each_attr`] does that).
    fn attributes(&self) -> Attributes<'a> {
        let mut attrs = Attributes::new(self.content, self.name_len);
        attrs.with_checks(false);
        attrs
    }
}

/// Reads `source` (without byte-order mark) into the tree of its root
/// `definitions` element. Problems go to `report`; `None` when the document
/// cannot be read as BPMN.
pub fn read<'a>(source: &'a str, report: &mut Report<'_>) -> Option<Element<'a>> {
    let mut reader = NsReader::from_str(source);
    let mut stack: Vec<Element<'a>> = Vec::new();
    // Finished elements whose parent is still open, in document order; the
    // children of `stack[i]` start at `child_starts[i]`. Each element's
    // children are moved out at its end tag in one allocation of exact size.
    let mut done: Vec<Element<'a>> = Vec::new();
    let mut child_starts: Vec<usize> = Vec::new();
    let mut skip_depth = 0usize;
    // True while skipping a diagram subtree, whose shapes are still checked.
    let mut skipping_diagram = false;
    let mut root: Option<Element<'a>> = None;
    // Attributes of the element being read, reused between elements.
    let mut scratch: Vec<Attr<'a>> = Vec::new();
    // Text of open elements that had to be copied, and emptied buffers.
    let mut texts = TextBuf::default();
    loop {
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
                if stack.len() + skip_depth + 1 > MAX_DEPTH {
                    report.error(
                        codes::TOO_DEEP,
                        format!("elements are nested deeper than {MAX_DEPTH} levels"),
                        None,
                        Some(offset),
                    );
                    return None;
                }
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
                if skip_depth > 0 {
                    if !is_empty {
                        skip_depth += 1;
                    }
                    let in_diagram = skipping_diagram
                        && matches!(reader.resolver().resolve_element(tag.name()).0,
                            ResolveResult::Bound(n) if Ns::from_uri(n.0) == Ns::Diagram);
                    if in_diagram {
                        check_attrs(reader.resolver(), &tag, offset, report)?;
                        check_diagram(&tag, offset, report);
                    }
                    continue;
                }
                let qname = tag.qname;
                let (resolved, _) = reader.resolver().resolve_element(tag.name());
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
                let root_uri = stack.is_empty().then(|| match resolved {
                    ResolveResult::Bound(n) => n.0.to_string(),
                    _ => "no namespace".to_string(),
                });
                let keep = matches!(ns, Ns::Bpmn | Ns::Windlass | Ns::Zeebe);
                let attrs = if keep {
                    read_attrs(reader.resolver(), &tag, offset, report, &mut scratch)?
                } else {
                    check_attrs(reader.resolver(), &tag, offset, report)?;
                    Vec::new()
                };
                if let Some(uri) = root_uri {
                    if root.is_some() {
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
                    check_diagram(&tag, offset, report);
                }
                if ns == Ns::Bpmn {
                    check_qname_values(reader.resolver(), &tag, &attrs, offset, report);
                }
                let element = Element {
                    ns,
                    qname: Name(qname),
                    local: Name(tag.local),
                    attrs,
                    children: Vec::new(),
                    text: Cow::Borrowed(""),
                    offset,
                };
                if keep && !is_empty {
                    stack.push(element);
                    child_starts.push(done.len());
                } else {
                    if !keep && !is_empty {
                        skip_depth = 1;
                        skipping_diagram = ns == Ns::Diagram;
                    }
                    attach(&stack, &mut done, &mut root, element);
                }
            }
            Event::End(_) => {
                if skip_depth > 0 {
                    skip_depth -= 1;
                    continue;
                }
                if let Some(mut element) = stack.pop() {
                    let first_child = child_starts.pop().unwrap_or(done.len());
                    element.children = done.split_off(first_child.min(done.len()));
                    texts.finish(&mut element.text);
                    attach(&stack, &mut done, &mut root, element);
                }
            }
            Event::Text(text) => {
                if skip_depth == 0
                    && let Some(top) = stack.last_mut()
                {
                    texts.append(&mut top.text, text.xml10_content());
                }
            }
            Event::CData(data) => {
                if skip_depth == 0
                    && let Some(top) = stack.last_mut()
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
                    && let Some(top) = stack.last_mut()
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
    if let Some(open) = stack.last() {
        report.error(
            codes::XML_SYNTAX,
            format!("unexpected end of document: <{}> is not closed", open.qname),
            None,
            Some(source.len()),
        );
        return None;
    }
    if root.is_none() {
        report.error(
            codes::NOT_BPMN,
            "the document has no root element",
            None,
            Some(0),
        );
    }
    root
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Files a finished element: as a child of the innermost open element (see
/// `done` in [`read`]), or as the root.
fn attach<'a>(
    stack: &[Element<'a>],
    done: &mut Vec<Element<'a>>,
    root: &mut Option<Element<'a>>,
    element: Element<'a>,
) {
    if stack.is_empty() {
        *root = Some(element);
    } else {
        done.push(element);
    }
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

/// Reads and checks every attribute; namespace declarations are left out.
/// `scratch` is an empty buffer reused between calls, so the returned vector
/// is allocated once at its exact size.
fn read_attrs<'a>(
    resolver: &NamespaceResolver,
    tag: &Tag<'a>,
    offset: usize,
    report: &mut Report<'_>,
    scratch: &mut Vec<Attr<'a>>,
) -> Option<Vec<Attr<'a>>> {
    scratch.clear();
    let complete = each_attr(resolver, tag, offset, report, |ns, qname, local, value| {
        scratch.push(Attr {
            ns,
            qname: Name(qname),
            local: Name(local),
            value,
        });
    });
    let mut attrs = Vec::with_capacity(scratch.len());
    attrs.append(scratch);
    complete.then_some(attrs)
}

/// Checks every attribute of an element whose attributes are not kept.
fn check_attrs(
    resolver: &NamespaceResolver,
    tag: &Tag<'_>,
    offset: usize,
    report: &mut Report<'_>,
) -> Option<()> {
    each_attr(resolver, tag, offset, report, |_, _, _, _| {}).then_some(())
}

/// Checks every attribute (well-formed, valid name, not repeated, declared
/// prefix, valid value) and hands each one that is not a namespace
/// declaration to `keep` as (namespace, qualified name, local name, value).
/// False, after reporting, at the first bad attribute.
fn each_attr<'a>(
    resolver: &NamespaceResolver,
    tag: &Tag<'a>,
    offset: usize,
    report: &mut Report<'_>,
    mut keep: impl FnMut(Ns, &'a str, &'a str, Cow<'a, str>),
) -> bool {
    let mut seen = SeenNames::default();
    for attr in tag.attributes() {
        let attr = match attr {
            Ok(a) => a,
            Err(e) => {
                report.error(
                    codes::XML_SYNTAX,
                    format!("malformed attribute on <{}>: {e}", tag.qname),
                    None,
                    Some(offset),
                );
                return false;
            }
        };
        let key = attr.key.0;
        let repeated = seen.contains(key);
        if repeated || !valid_name(key) {
            let why = if repeated {
                "appears twice"
            } else {
                "is not a valid XML name"
            };
            report.error(
                codes::XML_SYNTAX,
                format!("attribute '{key}' on <{}> {why}", tag.qname),
                None,
                Some(offset),
            );
            return false;
        }
        seen.push(key);
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let (resolved, local) = resolver.resolve_attribute(attr.key);
        let ns = match resolved {
            ResolveResult::Bound(n) => Ns::from_uri(n.0),
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(p) => {
                report.error(
                    codes::XML_SYNTAX,
                    format!(
                        "attribute '{key}' on <{}> uses the undeclared namespace prefix '{p}'",
                        tag.qname
                    ),
                    None,
                    Some(offset),
                );
                return false;
            }
        };
        match attr.normalized_value(quick_xml::XmlVersion::Implicit1_0) {
            Ok(value) => keep(ns, key, local.into_inner(), value),
            Err(e) => {
                report.error(
                    codes::XML_SYNTAX,
                    format!("attribute '{key}' on <{}>: {e}", tag.qname),
                    None,
                    Some(offset),
                );
                return false;
            }
        }
    }
    true
}

/// The attribute names of one element seen so far: the first few in place,
/// the rest on the heap.
#[derive(Default)]
struct SeenNames<'a> {
    inline: [&'a str; 8],
    len: usize,
    more: Vec<&'a str>,
}

impl<'a> SeenNames<'a> {
    fn contains(&self, name: &str) -> bool {
        self.inline[..self.len].contains(&name) || self.more.contains(&name)
    }

    fn push(&mut self, name: &'a str) {
        match self.inline.get_mut(self.len) {
            Some(slot) => {
                *slot = name;
                self.len += 1;
            }
            None => self.more.push(name),
        }
    }
}

/// An XML name: starts with a letter, `_` or `:`; then letters, digits,
/// `-`, `.`, `_`, `:` (non-ASCII characters are accepted).
fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_ascii() {
        return bytes
            .first()
            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
            && bytes
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    }
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':');
    first_ok && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
}

/// Shapes and edges must name the BPMN element they draw (attributes were
/// checked before).
fn check_diagram(tag: &Tag<'_>, offset: usize, report: &mut Report<'_>) {
    let local = tag.local;
    if !matches!(local, "BPMNShape" | "BPMNEdge") {
        return;
    }
    let mut id = None;
    for attr in tag.attributes().flatten() {
        match attr.key.0 {
            "bpmnElement" => return,
            "id" => id = Some(attr.value),
            _ => {}
        }
    }
    report.warning(
        codes::DIAGRAM_DEFECT,
        format!("diagram element {local} has no bpmnElement attribute; it is ignored"),
        id.as_deref(),
        Some(offset),
    );
}

/// QName-valued attributes (`extension definition`, `itemDefinition
/// structureRef`…) must use declared prefixes.
fn check_qname_values(
    resolver: &NamespaceResolver,
    tag: &Tag<'_>,
    attrs: &[Attr<'_>],
    offset: usize,
    report: &mut Report<'_>,
) {
    let attr = match tag.local {
        "extension" => "definition",
        _ => return,
    };
    let Some(value) = attrs.iter().find(|a| a.ns == Ns::None && *a.local == *attr) else {
        return;
    };
    if let Some(prefix) = QName(&value.value).prefix()
        && let ResolveResult::Unknown(p) = resolver.resolve_prefix(Some(prefix), false)
    {
        report.error(
            codes::UNRESOLVED_REFERENCE,
            format!(
                "<{}> {attr}=\"{}\" uses the undeclared prefix '{p}'",
                tag.qname, value.value
            ),
            None,
            Some(offset),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn xml_names_ascii_and_not() {
        for ok in ["id", "_x", ":a", "xsi:type", "a-b.c_d:1", "été", "名前"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", ".a", "a b", "a=b", "é=x", "a\u{0}"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
