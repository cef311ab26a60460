//! The element tree the reader builds, borrowing from the source text:
//! names are slices of the document, attribute values and text are borrowed
//! unless unescaping (or joining several pieces) needed a copy.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

/// The BPMN 2.0 model namespace.
pub const BPMN_NS: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";
/// The BPMN diagram-interchange namespace (skipped).
pub const BPMNDI_NS: &str = "http://www.omg.org/spec/BPMN/20100524/DI";

/// The namespaces the loader tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    /// The BPMN model namespace.
    Bpmn,
    /// Windlass extensions (`urn:windlass:bpmn:1`).
    Windlass,
    /// Zeebe (Camunda 8) extensions.
    Zeebe,
    /// Camunda 7 extensions (attributes read on multi-instance loops only;
    /// elements are skipped like other vendors').
    Camunda,
    /// BPMN diagram interchange (and DC/DI).
    Diagram,
    /// No namespace at all.
    None,
    /// Any other namespace (vendor extensions, XML Schema instance, …).
    Other,
}

impl Ns {
    /// Classifies a namespace URI.
    pub fn from_uri(uri: &str) -> Ns {
        match uri {
            BPMN_NS => Ns::Bpmn,
            crate::extensions::WINDLASS_NS => Ns::Windlass,
            crate::extensions::ZEEBE_NS => Ns::Zeebe,
            crate::extensions::CAMUNDA_NS => Ns::Camunda,
            BPMNDI_NS
            | "http://www.omg.org/spec/DD/20100524/DC"
            | "http://www.omg.org/spec/DD/20100524/DI" => Ns::Diagram,
            _ => Ns::Other,
        }
    }
}

/// An element or attribute name as written, a slice of the document; reads
/// as a `str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Name<'a>(pub &'a str);

impl<'a> Name<'a> {
    /// The name as a string slice of the document.
    pub fn as_str(self) -> &'a str {
        self.0
    }
}

impl Deref for Name<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<str> for Name<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// The child elements of an element: a slice of the level below it in its
/// [`Document`](super::document::Document).
#[derive(Debug, Clone, Copy)]
pub struct Children<'a>(pub &'a [Element<'a>]);

impl<'a> Deref for Children<'a> {
    type Target = [Element<'a>];

    fn deref(&self) -> &[Element<'a>] {
        self.0
    }
}

impl<'a> IntoIterator for &Children<'a> {
    type Item = &'a Element<'a>;
    type IntoIter = std::slice::Iter<'a, Element<'a>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// One attribute.
#[derive(Debug, Clone)]
pub struct Attr<'a> {
    /// Its namespace (`Ns::None` for unprefixed attributes).
    pub ns: Ns,
    /// The name as written (`id`, `xsi:type`).
    pub qname: Name<'a>,
    /// The local part of the name.
    pub local: Name<'a>,
    /// The unescaped value (borrowed when nothing needed unescaping).
    pub value: Cow<'a, str>,
}

/// One element of the semantic part of the document.
#[derive(Debug, Clone)]
pub struct Element<'a> {
    /// Its namespace.
    pub ns: Ns,
    /// The name as written (`bpmn:task`).
    pub qname: Name<'a>,
    /// The local part of the name (`task`).
    pub local: Name<'a>,
    /// Attributes (empty for skipped foreign elements).
    pub attrs: &'a [Attr<'a>],
    /// Child elements (empty for skipped foreign elements).
    pub children: Children<'a>,
    /// Text and CDATA content, concatenated (borrowed when it is one piece
    /// that needed no unescaping); empty when only whitespace.
    pub text: Cow<'a, str>,
    /// Byte offset of the start tag in the source.
    pub offset: usize,
}

impl<'a> Element<'a> {
    /// True for a BPMN-namespace element named `local`.
    pub fn is_bpmn(&self, local: &str) -> bool {
        self.ns == Ns::Bpmn && *self.local == *local
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == Ns::None && *a.local == *name)
            .map(|a| &*a.value)
    }

    /// The value of attribute `name` in namespace `ns`.
    pub fn attr_ns(&self, ns: Ns, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && *a.local == *name)
            .map(|a| &*a.value)
    }

    /// The `id` attribute.
    pub fn id(&self) -> Option<&str> {
        self.attr("id")
    }

    /// BPMN-namespace children named `local`.
    pub fn bpmn_children<'s>(
        &'s self,
        local: &'s str,
    ) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |c| c.is_bpmn(local))
    }

    /// The first BPMN-namespace child named `local`.
    pub fn bpmn_child(&self, local: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.is_bpmn(local))
    }
}
