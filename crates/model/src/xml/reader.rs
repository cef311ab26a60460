//! Streaming, namespace-aware reading of a BPMN document into an
//! [`Element`](crate::xml::tree::Element) tree of its semantic part.
//!
//! Diagram interchange is checked lightly (shapes and edges need a
//! `bpmnElement`) and skipped; elements of other namespaces become childless
//! leaves, so memory stays proportional to the semantic content. DOCTYPE
//! declarations (and with them every entity declaration) are rejected, so
//! are characters XML 1.0 forbids (see [`chars`]), and
//! nesting is limited to [`MAX_DEPTH`]. The tree borrows names, attribute
//! values and text from the source wherever no unescaping is needed.

use super::chars;
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
    if let Some((at, c)) = chars::first_forbidden(source) {
        report.error(
            codes::FORBIDDEN_CHARACTER,
            format!(
                "the document contains the character {}, which XML 1.0 does not allow",
                chars::describe(c)
            ),
            None,
            Some(at),
        );
        return None;
    }
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
                if !chars::allowed(ch) {
                    report.error(
                        codes::FORBIDDEN_CHARACTER,
                        forbidden_reference(name, ch),
                        None,
                        Some(offset),
                    );
                    return None;
                }
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

/// The message for a character reference to a character XML 1.0 forbids.
fn forbidden_reference(name: &str, ch: char) -> String {
    format!(
        "the character reference '&{name};' stands for {}, which XML 1.0 does not allow",
        chars::describe(ch)
    )
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

#[cfg(test)]
mod tests {
    use super::read;
    use crate::report::Report;
    use crate::xml::tree::{Element, Ns};
    use std::borrow::Cow;

    const DOC: &str = r#"<?xml version="1.0"?>
<b:definitions xmlns:b="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:w="urn:windlass:bpmn:1" xmlns:x="urn:other" id="d">
  <b:process id="p" name="a &amp; b">
    <b:task id="t1"><b:documentation>plain</b:documentation><b:extensionElements><w:task kind="shell"><w:setting name="n" value="v"/></w:task></b:extensionElements></b:task>
    <b:task id="t2"/>
    <x:foreign a="1"><b:task id="hidden"/></x:foreign>
    <b:sequenceFlow id="f"><b:conditionExpression>x &gt; 1<![CDATA[ && y]]></b:conditionExpression></b:sequenceFlow>
  </b:process>
  <b:message id="m"/>
</b:definitions>
"#;

    fn names<'e>(el: &'e Element<'_>) -> Vec<&'e str> {
        el.children.iter().map(|c| &*c.local).collect()
    }

    #[test]
    fn tree_levels_give_each_element_its_own_children_attributes_and_text() {
        let mut report = Report::new(DOC, 0);
        let doc = read(DOC, &mut report).expect("reads");
        assert!(report.diagnostics.is_empty(), "{:?}", report.diagnostics);
        let root = doc.root().expect("root");
        assert_eq!((&*root.qname, root.id()), ("b:definitions", Some("d")));
        assert_eq!(names(root), ["process", "message"]);
        let process = &root.children[0];
        assert_eq!(names(process), ["task", "task", "foreign", "sequenceFlow"]);
        assert_eq!(process.attr("name"), Some("a & b"));
        assert!(process.text.is_empty(), "whitespace-only text is dropped");
        let t1 = &process.children[0];
        assert_eq!(t1.id(), Some("t1"));
        assert_eq!(names(t1), ["documentation", "extensionElements"]);
        let doc_text = &t1.children[0].text;
        assert!(matches!(doc_text, Cow::Borrowed("plain")), "{doc_text:?}");
        let ext = &t1.children[1].children[0];
        assert_eq!(
            (ext.ns, &*ext.local, ext.attr("kind")),
            (Ns::Windlass, "task", Some("shell"))
        );
        assert_eq!(ext.children[0].attr("value"), Some("v"));
        assert!(process.children[1].children.is_empty());
        let foreign = &process.children[2];
        assert_eq!(foreign.ns, Ns::Other);
        assert!(foreign.children.is_empty() && foreign.attrs.is_empty());
        let condition = &process.children[3].children[0];
        assert_eq!(condition.text, "x > 1 && y");
        assert!(root.children[1].children.is_empty());
        assert_eq!(root.children[1].id(), Some("m"));
        assert_eq!(root.offset, DOC.find("<b:definitions").expect("root tag"));
    }

    #[test]
    fn a_namespace_declared_on_an_empty_element_ends_with_it() {
        let src = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"><process id="p"><task id="a" xmlns:y="urn:y" y:k="1"/><y:thing/></process></definitions>"#;
        let mut report = Report::new(src, 0);
        assert!(read(src, &mut report).is_none());
        let messages: Vec<_> = report
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            ["element <y:thing> uses the undeclared namespace prefix 'y'"]
        );
    }
}
