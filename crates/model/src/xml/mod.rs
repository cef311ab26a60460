//! The XML layer: a namespace-aware reader that builds a small element tree
//! of the BPMN semantic part (diagram interchange and foreign elements are
//! skipped) borrowing from the document text, and byte-offset → line/column
//! mapping. Characters XML 1.0 forbids are refused, written out or as
//! character references.

pub mod chars;
pub mod document;
pub mod position;
pub mod reader;
pub mod tag;
pub mod text;
pub mod tree;
