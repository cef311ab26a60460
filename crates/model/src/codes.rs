//! The stable diagnostic codes. Every code is listed with its meaning in
//! `docs/validation-codes.md`; codes are never reused or renumbered.

/// The document is not well-formed XML (or uses an undeclared prefix).
pub const XML_SYNTAX: &str = "WL0001";
/// A DOCTYPE or entity declaration (rejected: entity expansion attacks).
pub const DOCTYPE: &str = "WL0002";
/// Elements nested deeper than the limit.
pub const TOO_DEEP: &str = "WL0003";
/// The root element is not BPMN `definitions`.
pub const NOT_BPMN: &str = "WL0004";
/// The document's encoding is not UTF-8.
pub const ENCODING: &str = "WL0005";
/// Two elements share an id.
pub const DUPLICATE_ID: &str = "WL0006";
/// A required attribute is missing.
pub const MISSING_ATTRIBUTE: &str = "WL0007";
/// A sequence flow's `sourceRef`/`targetRef` names no flow node.
pub const UNKNOWN_FLOW_REF: &str = "WL0008";
/// A sequence flow crosses a sub-process boundary.
pub const CROSS_SCOPE_FLOW: &str = "WL0009";
/// A flow node no token can reach (warning).
pub const UNREACHABLE: &str = "WL0010";
/// A flow node from which no end can be reached (warning).
pub const NO_PATH_TO_END: &str = "WL0011";
/// A `default` flow that is not an outgoing flow of its element.
pub const DEFAULT_NOT_OUTGOING: &str = "WL0012";
/// An exclusive gateway with several unconditioned outgoing flows (warning).
pub const AMBIGUOUS_GATEWAY: &str = "WL0013";
/// A gateway with one incoming and one outgoing flow (warning).
pub const PASS_THROUGH_GATEWAY: &str = "WL0014";
/// A timer value that does not parse.
pub const INVALID_TIMER: &str = "WL0015";
/// An expression that does not compile.
pub const INVALID_EXPRESSION: &str = "WL0016";
/// A template that does not parse.
pub const INVALID_TEMPLATE: &str = "WL0017";
/// An expression language Windlass does not support.
pub const UNSUPPORTED_LANGUAGE: &str = "WL0018";
/// A boundary event that cannot be attached where it is.
pub const INVALID_BOUNDARY: &str = "WL0019";
/// A multi-instance activity with neither cardinality nor input collection.
pub const MULTI_INSTANCE_WITHOUT_INPUT: &str = "WL0020";
/// A link throw event without exactly one matching catch event.
pub const UNMATCHED_LINK: &str = "WL0021";
/// A BPMN element Windlass does not execute.
pub const UNSUPPORTED_ELEMENT: &str = "WL0022";
/// An unknown or misplaced BPMN element.
pub const UNKNOWN_ELEMENT: &str = "WL0023";
/// A non-BPMN element outside `extensionElements` (ignored, warning).
pub const FOREIGN_ELEMENT: &str = "WL0024";
/// An invalid Windlass or Zeebe extension element or attribute.
pub const INVALID_EXTENSION: &str = "WL0025";
/// A reference (`messageRef`, `errorRef`, …) that names nothing.
pub const UNRESOLVED_REFERENCE: &str = "WL0026";
/// A call activity whose called process is not in this file (warning).
pub const CALL_TARGET_NOT_IN_FILE: &str = "WL0027";
/// A FEEL (`=`-prefixed) expression read as CEL (warning).
pub const FEEL_AS_CEL: &str = "WL0028";
/// A defect in the diagram-interchange part (warning).
pub const DIAGRAM_DEFECT: &str = "WL0029";
/// A document without an executable process (warning).
pub const NO_EXECUTABLE_PROCESS: &str = "WL0030";
/// An attribute value of the wrong form (boolean, number, …).
pub const INVALID_ATTRIBUTE_VALUE: &str = "WL0031";
/// A condition on a flow whose source ignores conditions (warning).
pub const CONDITION_IGNORED: &str = "WL0032";
/// A Zeebe extension element Windlass does not read (warning).
pub const ZEEBE_IGNORED: &str = "WL0033";
/// An event-based gateway followed by something other than a catch event.
pub const INVALID_EVENT_GATEWAY_TARGET: &str = "WL0034";
/// A timer date without a time zone, read as UTC (warning).
pub const LOCAL_TIME_AS_UTC: &str = "WL0035";
/// A script whose format Windlass does not evaluate (warning).
pub const SCRIPT_NOT_EVALUATED: &str = "WL0036";
/// A sequence flow into a start/boundary event or out of an end event.
pub const INVALID_FLOW_ENDPOINT: &str = "WL0037";
/// A character XML 1.0 does not allow (a C0 control character other than
/// tab, LF and CR, or U+FFFE / U+FFFF), written out or as a character
/// reference.
pub const FORBIDDEN_CHARACTER: &str = "WL0038";
/// An element the engine refuses to run (its plan check: an event, gateway
/// or loop form it does not execute). Not produced by `load`: the model
/// crate does not know the engine; `windlass validate` runs the engine's
/// plan on every process and reports its refusal with this code.
pub const NOT_RUNNABLE: &str = "WL0039";
/// A compensation or cancel element without its counterpart or in the
/// wrong place: a compensation boundary event without an associated
/// handler, a handler (`isForCompensation`) with sequence flows or without
/// a boundary event, an `activityRef` naming no activity of the scope, a
/// cancel event outside a transaction, a transaction whose cancel end event
/// has no cancel boundary event to leave by.
pub const INVALID_COMPENSATION: &str = "WL0040";

/// The codes `load` never produces because they come from the engine's
/// plan (reported by `windlass validate`); their fixtures are checked by
/// the CLI's tests.
pub const FROM_ENGINE: &[&str] = &[NOT_RUNNABLE];

/// Every code with a one-line meaning, in order.
pub const ALL: &[(&str, &str)] = &[
    (XML_SYNTAX, "not well-formed XML"),
    (DOCTYPE, "DOCTYPE / entity declaration rejected"),
    (TOO_DEEP, "elements nested too deeply"),
    (NOT_BPMN, "root element is not BPMN definitions"),
    (ENCODING, "document encoding is not UTF-8"),
    (DUPLICATE_ID, "duplicate id"),
    (MISSING_ATTRIBUTE, "required attribute missing"),
    (UNKNOWN_FLOW_REF, "sequence flow references a missing node"),
    (
        CROSS_SCOPE_FLOW,
        "sequence flow crosses a sub-process boundary",
    ),
    (UNREACHABLE, "node cannot be reached"),
    (NO_PATH_TO_END, "node cannot reach an end"),
    (DEFAULT_NOT_OUTGOING, "default flow is not outgoing"),
    (
        AMBIGUOUS_GATEWAY,
        "several unconditioned flows out of an exclusive gateway",
    ),
    (
        PASS_THROUGH_GATEWAY,
        "gateway with a single incoming and outgoing flow",
    ),
    (INVALID_TIMER, "invalid timer value"),
    (INVALID_EXPRESSION, "invalid expression"),
    (INVALID_TEMPLATE, "invalid template"),
    (UNSUPPORTED_LANGUAGE, "unsupported expression language"),
    (INVALID_BOUNDARY, "boundary event cannot be attached there"),
    (
        MULTI_INSTANCE_WITHOUT_INPUT,
        "multi-instance without cardinality or collection",
    ),
    (UNMATCHED_LINK, "link event without a matching partner"),
    (UNSUPPORTED_ELEMENT, "unsupported BPMN element"),
    (UNKNOWN_ELEMENT, "unknown or misplaced BPMN element"),
    (
        FOREIGN_ELEMENT,
        "non-BPMN element outside extensionElements ignored",
    ),
    (INVALID_EXTENSION, "invalid Windlass/Zeebe extension"),
    (UNRESOLVED_REFERENCE, "reference to a missing element"),
    (CALL_TARGET_NOT_IN_FILE, "called process not in this file"),
    (FEEL_AS_CEL, "FEEL expression read as CEL"),
    (DIAGRAM_DEFECT, "defect in the diagram part"),
    (NO_EXECUTABLE_PROCESS, "no executable process"),
    (INVALID_ATTRIBUTE_VALUE, "attribute value of the wrong form"),
    (
        CONDITION_IGNORED,
        "condition on a flow that ignores conditions",
    ),
    (ZEEBE_IGNORED, "Zeebe extension not read"),
    (
        INVALID_EVENT_GATEWAY_TARGET,
        "event-based gateway target is not a catch event",
    ),
    (LOCAL_TIME_AS_UTC, "timer date without zone read as UTC"),
    (
        SCRIPT_NOT_EVALUATED,
        "script format not evaluated by Windlass",
    ),
    (
        INVALID_FLOW_ENDPOINT,
        "sequence flow into a start/boundary event or out of an end event",
    ),
    (
        FORBIDDEN_CHARACTER,
        "control character XML 1.0 does not allow",
    ),
    (NOT_RUNNABLE, "element the engine refuses to run"),
    (
        INVALID_COMPENSATION,
        "compensation or cancel element misplaced or unconnected",
    ),
];
