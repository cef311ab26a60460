//! From the element tree to what the compile step resolves: reading
//! elements, checking what can be checked per element, and collecting each
//! process into a [`builder::Builder`]. The caller runs the compile step on
//! each parsed process (`crate::definitions::load`).

pub mod activities;
pub mod builder;
pub mod definitions;
pub mod events;
pub mod expr;
pub mod extensions;
pub mod loops;
pub mod nodes;
pub mod process;
pub mod timer;
pub mod values;

use crate::report::Report;
use crate::xml::tree::Element;
use std::collections::HashMap;

/// Root-level elements other elements refer to, by id.
#[derive(Debug, Default)]
pub struct RootIndex<'t> {
    /// `message` elements.
    pub messages: HashMap<&'t str, &'t Element<'t>>,
    /// `signal` elements.
    pub signals: HashMap<&'t str, &'t Element<'t>>,
    /// `error` elements.
    pub errors: HashMap<&'t str, &'t Element<'t>>,
    /// `escalation` elements.
    pub escalations: HashMap<&'t str, &'t Element<'t>>,
    /// Root-level event definitions (targets of `eventDefinitionRef`).
    pub event_definitions: HashMap<&'t str, &'t Element<'t>>,
    /// Global tasks (`globalTask`, `globalUserTask`, …) by id.
    pub global_tasks: HashMap<&'t str, &'t Element<'t>>,
    /// Ids of every `process`.
    pub processes: HashMap<&'t str, &'t Element<'t>>,
}

/// Everything a parse step needs besides the element it reads.
#[derive(Debug)]
pub struct Ctx<'r, 's, 't> {
    /// Where problems go.
    pub report: &'r mut Report<'s>,
    /// Root-level elements by id.
    pub roots: RootIndex<'t>,
    /// `expressionLanguage` of `<definitions>`.
    pub expression_language: Option<&'t str>,
    /// True while reading an executable process: unsupported elements are
    /// errors there, warnings elsewhere.
    pub strict: bool,
}
