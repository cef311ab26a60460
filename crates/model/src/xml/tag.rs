//! One start tag, read once: its name and attributes as slices of the
//! source, the namespace scope it opens, and the checks on its attributes.
//!
//! quick-xml's `NsReader` parses every start tag's attributes to find its
//! namespace declarations, and the checks parsed them again; here they are
//! parsed once ([`TagAttrs::open`]) with the same effect on the namespace
//! resolver, and the checks read the kept list.

use super::chars;
use super::text::within;
use super::tree::{Attr, Name, Ns};
use crate::codes;
use crate::report::Report;
use quick_xml::events::BytesStart;
use quick_xml::events::attributes::{AttrError, Attribute, Attributes};
use quick_xml::name::{Namespace, NamespaceError, NamespaceResolver, QName, ResolveResult};
use std::borrow::Cow;

/// A start tag as slices of the source: the whole text between `<` and `>`
/// (or `/>`), its name and the local part of the name.
#[derive(Clone, Copy)]
pub struct Tag<'a> {
    content: &'a str,
    name_len: usize,
    /// The name as written.
    pub qname: &'a str,
    /// The local part of the name.
    pub local: &'a str,
}

impl<'a> Tag<'a> {
    /// The tag of `start`, which must have been read from `source`.
    pub fn of(source: &'a str, start: &BytesStart<'_>) -> Option<Tag<'a>> {
        let content = within(source, start)?;
        let name_len = start.name().0.len();
        let qname = content.get(..name_len)?;
        Some(Tag {
            content,
            name_len,
            qname,
            local: local_part(qname),
        })
    }

    /// The name, for namespace resolution.
    pub fn name(&self) -> QName<'a> {
        QName(self.qname)
    }

    /// Its attributes (not checked for repeats: [`each_attr`] does that).
    fn attributes(&self) -> Attributes<'a> {
        let mut attrs = Attributes::new(self.content, self.name_len);
        attrs.with_checks(false);
        attrs
    }
}

/// The attributes of the start tag being read, parsed once; reused from tag
/// to tag.
#[derive(Debug, Default)]
pub struct TagAttrs<'a> {
    /// Every attribute up to the first malformed one, in order.
    list: Vec<Attribute<'a>>,
    /// Why the attribute after `list` could not be parsed, if one could not.
    malformed: Option<AttrError>,
}

impl<'a> TagAttrs<'a> {
    /// Parses the attributes of `tag` and opens its namespace scope, as
    /// `NsReader` does for every start tag (to be closed with
    /// [`NamespaceResolver::pop`] after its end tag, or after the tag itself
    /// when it is empty): a new level, and each `xmlns` / `xmlns:p` binding up
    /// to the first malformed attribute added to it.
    pub fn open(
        &mut self,
        tag: &Tag<'a>,
        resolver: &mut NamespaceResolver,
    ) -> Result<(), NamespaceError> {
        self.list.clear();
        self.malformed = None;
        // `push` of a tag without attributes: one level deeper.
        let level = resolver
            .level()
            .checked_add(1)
            .ok_or(NamespaceError::TooDeeplyNested(usize::from(u16::MAX)))?;
        resolver.set_level(level);
        for attr in tag.attributes() {
            match attr {
                Ok(a) => {
                    if let Some(prefix) = a.key.as_namespace_binding() {
                        resolver.add(prefix, Namespace(&a.value))?;
                    }
                    self.list.push(a);
                }
                Err(e) => {
                    self.malformed = Some(e);
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Reads and checks every attribute, appending each one that is not a
/// namespace declaration to `attrs`.
pub fn read_attrs<'a>(
    resolver: &NamespaceResolver,
    tag: &Tag<'a>,
    parsed: &TagAttrs<'a>,
    offset: usize,
    report: &mut Report<'_>,
    attrs: &mut Vec<Attr<'a>>,
) -> Option<()> {
    each_attr(
        resolver,
        tag,
        parsed,
        offset,
        report,
        |ns, qname, local, value| {
            attrs.push(Attr {
                ns,
                qname: Name(qname),
                local: Name(local),
                value,
            });
        },
    )
    .then_some(())
}

/// Checks every attribute of an element whose attributes are not kept.
pub fn check_attrs<'a>(
    resolver: &NamespaceResolver,
    tag: &Tag<'a>,
    parsed: &TagAttrs<'a>,
    offset: usize,
    report: &mut Report<'_>,
) -> Option<()> {
    each_attr(resolver, tag, parsed, offset, report, |_, _, _, _| {}).then_some(())
}

/// Checks every attribute (well-formed, valid name, not repeated, declared
/// prefix, valid value) and hands each one that is not a namespace
/// declaration to `keep` as (namespace, qualified name, local name, value).
/// False, after reporting, at the first bad attribute.
fn each_attr<'a>(
    resolver: &NamespaceResolver,
    tag: &Tag<'a>,
    parsed: &TagAttrs<'a>,
    offset: usize,
    report: &mut Report<'_>,
    keep: impl FnMut(Ns, &'a str, &'a str, Cow<'a, str>),
) -> bool {
    match first_attr_problem(resolver, tag, parsed, keep) {
        Ok(()) => true,
        Err((code, message)) => {
            report.error(code, message, None, Some(offset));
            false
        }
    }
}

/// The work of [`each_attr`]: the first problem as its code and a message.
fn first_attr_problem<'a>(
    resolver: &NamespaceResolver,
    tag: &Tag<'a>,
    parsed: &TagAttrs<'a>,
    mut keep: impl FnMut(Ns, &'a str, &'a str, Cow<'a, str>),
) -> Result<(), (&'static str, String)> {
    let syntax = |message: String| (codes::XML_SYNTAX, message);
    let mut seen = SeenNames::default();
    for attr in &parsed.list {
        let key = attr.key.0;
        let repeated = seen.contains(key);
        let prefixed = if repeated { None } else { name_kind(key) };
        let Some(prefixed) = prefixed else {
            let why = if repeated {
                "appears twice"
            } else {
                "is not a valid XML name"
            };
            return Err(syntax(format!(
                "attribute '{key}' on <{}> {why}",
                tag.qname
            )));
        };
        seen.push(key);
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        // An unprefixed attribute name is in no namespace (the resolver
        // would say `Unbound` and keep the whole name as local part).
        let (resolved, local) = if prefixed {
            let (r, l) = resolver.resolve_attribute(attr.key);
            (r, l.into_inner())
        } else {
            (ResolveResult::Unbound, key)
        };
        let ns = match resolved {
            ResolveResult::Bound(n) => Ns::from_uri(n.0),
            ResolveResult::Unbound => Ns::None,
            ResolveResult::Unknown(p) => {
                return Err(syntax(format!(
                    "attribute '{key}' on <{}> uses the undeclared namespace prefix '{p}'",
                    tag.qname
                )));
            }
        };
        let value = if needs_normalizing(&attr.value) {
            let value = attr
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| syntax(format!("attribute '{key}' on <{}>: {e}", tag.qname)))?;
            // The document holds no forbidden character as it is (the
            // reader checked), so one here came from a character reference.
            if let Some((_, c)) = chars::first_forbidden(&value) {
                return Err((
                    codes::FORBIDDEN_CHARACTER,
                    format!(
                        "attribute '{key}' on <{}> holds a character reference to {}, which \
                         XML 1.0 does not allow",
                        tag.qname,
                        chars::describe(c)
                    ),
                ));
            }
            value
        } else {
            attr.value.clone()
        };
        keep(ns, key, local, value);
    }
    if let Some(e) = &parsed.malformed {
        return Err(syntax(format!(
            "malformed attribute on <{}>: {e}",
            tag.qname
        )));
    }
    Ok(())
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

/// Whether XML 1.0 attribute-value normalization could change `value` (it
/// holds `&`, tab, CR or LF); when not, quick-xml's `normalized_value`
/// returns the value as it is. Reads eight bytes at a time.
fn needs_normalizing(value: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether some byte of `word` equals `byte` (exact for "some byte").
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let special = |b: &u8| matches!(*b, b'\t' | b'\r' | b'\n' | b'&');
    let mut chunks = value.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            return chunk.iter().any(special);
        };
        let w = u64::from_le_bytes(bytes);
        if has(w, b'&') || has(w, b'\t') || has(w, b'\r') || has(w, b'\n') {
            return true;
        }
    }
    chunks.remainder().iter().any(special)
}

/// The part of a name after its prefix (after the first `:`), as quick-xml's
/// `LocalName` of it.
fn local_part(name: &str) -> &str {
    match name.bytes().position(|b| b == b':') {
        Some(i) => name.get(i + 1..).unwrap_or(""),
        None => name,
    }
}

/// ASCII bytes that may appear in an XML name (as [`valid_name`] reads it).
const NAME_BYTES: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b':');
        b += 1;
    }
    table
};

/// For a valid XML name (see [`valid_name`]), whether it has a prefix
/// (contains `:`); `None` for an invalid name.
fn name_kind(name: &str) -> Option<bool> {
    let bytes = name.as_bytes();
    match bytes.first() {
        None => return None,
        Some(&b) if b.is_ascii() && !(b.is_ascii_alphabetic() || b == b'_' || b == b':') => {
            return None;
        }
        Some(_) => {}
    }
    let mut prefixed = false;
    for &b in bytes {
        match NAME_BYTES.get(usize::from(b)) {
            Some(true) => prefixed |= b == b':',
            Some(false) => return None,
            // Not ASCII: the character rules below.
            None => return valid_name(name).then(|| name.contains(':')),
        }
    }
    Some(prefixed)
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
/// checked before, so `parsed` holds all of them).
pub fn check_diagram(tag: &Tag<'_>, parsed: &TagAttrs<'_>, offset: usize, report: &mut Report<'_>) {
    let local = tag.local;
    if !matches!(local, "BPMNShape" | "BPMNEdge") {
        return;
    }
    let mut id = None;
    for attr in &parsed.list {
        match attr.key.0 {
            "bpmnElement" => return,
            "id" => id = Some(&*attr.value),
            _ => {}
        }
    }
    report.warning(
        codes::DIAGRAM_DEFECT,
        format!("diagram element {local} has no bpmnElement attribute; it is ignored"),
        id,
        Some(offset),
    );
}

/// QName-valued attributes (`extension definition`, `itemDefinition
/// structureRef`…) must use declared prefixes.
pub fn check_qname_values(
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
    use super::{local_part, name_kind, needs_normalizing, valid_name};

    const OK: [&str; 8] = [
        "id",
        "_x",
        ":a",
        "xsi:type",
        "a-b.c_d:1",
        "été",
        "名前",
        "aé:b",
    ];
    const BAD: [&str; 11] = [
        "", "1a", "-a", ".a", "a b", "a=b", "é=x", "a\u{0}", "a:é b", "1é", "a\u{7f}",
    ];

    #[test]
    fn xml_names_ascii_and_not() {
        for ok in OK {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in BAD {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn name_kind_agrees_with_valid_name_and_finds_prefixes() {
        for name in OK.iter().chain(&BAD) {
            assert_eq!(
                name_kind(name),
                valid_name(name).then(|| name.contains(':')),
                "{name:?}"
            );
        }
        assert_eq!(name_kind("xsi:type"), Some(true));
        assert_eq!(name_kind("id"), Some(false));
    }

    #[test]
    fn needs_normalizing_finds_each_special_byte_anywhere() {
        assert!(!needs_normalizing(""));
        assert!(!needs_normalizing("plain value, longer than eight bytes"));
        assert!(!needs_normalizing("été «x» \u{2028} %"));
        for special in ["&", "\t", "\r", "\n"] {
            for at in 0..20 {
                let v = format!("{}{special}{}", "a".repeat(at), "b".repeat(20 - at));
                assert!(needs_normalizing(&v), "{v:?}");
            }
        }
        // Bytes one off the special ones, which a careless bit trick confuses.
        assert!(!needs_normalizing("%'\u{8}\u{b}\u{c}\u{e}'%%%%%%%%%%%%%"));
    }

    #[test]
    fn local_part_is_after_the_first_colon() {
        assert_eq!(local_part("bpmn:task"), "task");
        assert_eq!(local_part("task"), "task");
        assert_eq!(local_part("a:b:c"), "b:c");
        assert_eq!(local_part("a:"), "");
    }
}
