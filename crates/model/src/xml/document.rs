//! A document as read: its elements stored flat while reading (attributes
//! of all elements in one vector), and the element tree built from them in
//! one go, each level of the tree in one allocation.
//!
//! The tree borrows the document that holds it, so a caller keeps the
//! [`Document`] and reads the tree through [`Document::root`].

use super::tree::{Attr, Children, Element, Name, Ns};
use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::fmt;
use std::ops::Range;

/// An element as read, before the tree is built.
#[derive(Debug)]
pub struct FlatElement<'a> {
    /// Its namespace.
    pub ns: Ns,
    /// The name as written.
    pub qname: Name<'a>,
    /// The local part of the name.
    pub local: Name<'a>,
    /// Its attributes, in [`Document`]'s attribute vector.
    pub attrs: Range<usize>,
    /// Its text (see [`Element::text`]).
    pub text: Cow<'a, str>,
    /// Byte offset of the start tag in the source.
    pub offset: usize,
    /// Nesting depth: 0 for the root.
    pub depth: usize,
    /// Number of child elements.
    pub children: usize,
}

/// The elements of one document, and its tree once built.
pub struct Document<'a> {
    /// The attributes of every element, in document order.
    attrs: Vec<Attr<'a>>,
    /// Every element in document order (taken when the tree is built).
    flat: Cell<Vec<FlatElement<'a>>>,
    /// The elements of the tree, by depth, each depth in document order (so
    /// the children of one element are contiguous one level down).
    levels: Vec<OnceCell<Vec<Element<'a>>>>,
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("attrs", &self.attrs.len())
            .field("levels", &self.levels)
            .finish_non_exhaustive()
    }
}

impl<'a> Document<'a> {
    /// A document of `flat` elements (in document order, the root first and
    /// alone at depth 0) and their `attrs`.
    pub fn new(attrs: Vec<Attr<'a>>, flat: Vec<FlatElement<'a>>) -> Self {
        let depths = flat.iter().map(|e| e.depth + 1).max().unwrap_or(0);
        Document {
            attrs,
            flat: Cell::new(flat),
            levels: (0..depths).map(|_| OnceCell::new()).collect(),
        }
    }

    /// The root element, with the tree built on first use.
    pub fn root(&'a self) -> Option<&'a Element<'a>> {
        if self.levels.first().and_then(OnceCell::get).is_none() {
            self.build();
        }
        self.levels.first()?.get()?.first()
    }

    /// Builds the tree bottom-up: one level at a time, deepest first, each
    /// element taking its children as a slice of the level below.
    fn build(&'a self) {
        let mut flat = self.flat.take();
        // The element indices of each level, in document order (a counting
        // sort by depth).
        let mut starts = vec![0usize; self.levels.len() + 1];
        for e in &flat {
            if let Some(n) = starts.get_mut(e.depth + 1) {
                *n += 1;
            }
        }
        for d in 1..starts.len() {
            starts[d] += starts[d - 1];
        }
        let mut next = starts.clone();
        let mut order = vec![0usize; flat.len()];
        for (i, e) in flat.iter().enumerate() {
            if let Some(slot) = next.get_mut(e.depth)
                && let Some(o) = order.get_mut(*slot)
            {
                *o = i;
                *slot += 1;
            }
        }
        let mut below: &'a [Element<'a>] = &[];
        for (d, cell) in self.levels.iter().enumerate().rev() {
            let ids = order.get(starts[d]..starts[d + 1]).unwrap_or(&[]);
            let mut level = Vec::with_capacity(ids.len());
            let mut first_child = 0;
            for &i in ids {
                let Some(e) = flat.get_mut(i) else { continue };
                let end = first_child + e.children;
                level.push(Element {
                    ns: e.ns,
                    qname: e.qname,
                    local: e.local,
                    attrs: self.attrs.get(e.attrs.clone()).unwrap_or(&[]),
                    children: Children(below.get(first_child..end).unwrap_or(&[])),
                    text: std::mem::take(&mut e.text),
                    offset: e.offset,
                });
                first_child = end;
            }
            // `build` runs once (the root level is set last), so every cell
            // is empty here.
            let _ = cell.set(level);
            below = cell.get().map_or(&[], Vec::as_slice);
        }
    }
}
