//! The element tree the reader builds.

use std::rc::Rc;

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
            BPMNDI_NS
            | "http://www.omg.org/spec/DD/20100524/DC"
            | "http://www.omg.org/spec/DD/20100524/DI" => Ns::Diagram,
            _ => Ns::Other,
        }
    }
}

/// One attribute.
#[derive(Debug, Clone)]
pub struct Attr {
    /// Its namespace (`Ns::None` for unprefixed attributes).
    pub ns: Ns,
    /// The name as written (`id`, `xsi:type`), shared with every other use
    /// of the same name in the document.
    pub qname: Rc<str>,
    /// The local part of the name.
    pub local: Rc<str>,
    /// The unescaped value.
    pub value: String,
}

/// One element of the semantic part of the document.
#[derive(Debug, Clone)]
pub struct Element {
    /// Its namespace.
    pub ns: Ns,
    /// The name as written (`bpmn:task`), shared with every other use of
    /// the same name in the document.
    pub qname: Rc<str>,
    /// The local part of the name (`task`).
    pub local: Rc<str>,
    /// Attributes (empty for skipped foreign elements).
    pub attrs: Vec<Attr>,
    /// Child elements (empty for skipped foreign elements).
    pub children: Vec<Element>,
    /// Text and CDATA content, concatenated; cleared when only whitespace.
    pub text: String,
    /// Byte offset of the start tag in the source.
    pub offset: usize,
}

impl Element {
    /// True for a BPMN-namespace element named `local`.
    pub fn is_bpmn(&self, local: &str) -> bool {
        self.ns == Ns::Bpmn && &*self.local == local
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == Ns::None && &*a.local == name)
            .map(|a| a.value.as_str())
    }

    /// The `id` attribute.
    pub fn id(&self) -> Option<&str> {
        self.attr("id")
    }

    /// BPMN-namespace children named `local`.
    pub fn bpmn_children<'a>(&'a self, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is_bpmn(local))
    }

    /// The first BPMN-namespace child named `local`.
    pub fn bpmn_child(&self, local: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is_bpmn(local))
    }
}
