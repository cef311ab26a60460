//! Event definitions (`messageEventDefinition`, `timerEventDefinition`, …)
//! and the references they make to root-level elements.

use super::Ctx;
use super::expr::{self, At};
use super::extensions;
use crate::codes;
use crate::graph::{ExprSpec, TimerSpec};
use crate::timer_spec::TimerPart;
use crate::xml::tree::{Element, Ns};

/// One event definition, resolved.
#[derive(Debug, Clone)]
pub enum EventDef {
    /// A message, by name.
    Message {
        /// Message name.
        name: String,
        /// Correlation key of the message.
        correlation_key: Option<ExprSpec>,
    },
    /// A timer.
    Timer(TimerSpec),
    /// A signal, by name.
    Signal(String),
    /// An error (code `None`: any / no code).
    Error(Option<String>),
    /// An escalation.
    Escalation(Option<String>),
    /// A link by name.
    Link(String),
    /// Terminate.
    Terminate,
    /// A condition.
    Conditional(ExprSpec),
    /// Compensation, with the `activityRef` as written (throw events).
    Compensation(Option<String>),
    /// Cancel (transactions).
    Cancel,
    /// An event definition Windlass does not execute (name of the element).
    Unsupported(String),
    /// A definition with a defect already reported.
    Invalid,
}

impl EventDef {
    /// A short name for messages: "message", "timer", …
    pub fn label(&self) -> &str {
        match self {
            EventDef::Message { .. } => "message",
            EventDef::Timer(_) => "timer",
            EventDef::Signal(_) => "signal",
            EventDef::Error(_) => "error",
            EventDef::Escalation(_) => "escalation",
            EventDef::Link(_) => "link",
            EventDef::Terminate => "terminate",
            EventDef::Conditional(_) => "conditional",
            EventDef::Compensation(_) => "compensation",
            EventDef::Cancel => "cancel",
            EventDef::Unsupported(name) => name,
            EventDef::Invalid => "invalid",
        }
    }
}

/// Reads every event definition of `event`.
pub fn read(ctx: &mut Ctx<'_, '_, '_>, event: &Element) -> Vec<EventDef> {
    let mut defs = Vec::new();
    for child in event.children.iter().filter(|c| c.ns == Ns::Bpmn) {
        if child.local.ends_with("EventDefinition") {
            defs.push(one(ctx, event, child));
        } else if &*child.local == "eventDefinitionRef" {
            let target = child.text.trim();
            match ctx.roots.event_definitions.get(target).copied() {
                Some(def) => defs.push(one(ctx, event, def)),
                None => {
                    ctx.report.error(
                        codes::UNRESOLVED_REFERENCE,
                        format!(
                            "eventDefinitionRef '{target}' names no root-level event definition"
                        ),
                        event.id(),
                        Some(child.offset),
                    );
                    defs.push(EventDef::Invalid);
                }
            }
        }
    }
    defs
}

/// Looks up `ref_attr` of `def` among root elements of one kind; reports an
/// unresolved reference. `Ok(None)`: no reference written.
fn lookup<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    event: &Element,
    def: &Element,
    ref_attr: &str,
    kind: &str,
    pick: for<'a> fn(
        &'a super::RootIndex<'t>,
    ) -> &'a std::collections::HashMap<&'t str, &'t Element<'t>>,
) -> Result<Option<&'t Element<'t>>, ()> {
    let Some(r) = def.attr(ref_attr).map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    // Some tools write a prefixed QName (`tns:Message_1`); ids have no prefix.
    let local = r.rsplit(':').next().unwrap_or(r);
    let found = pick(&ctx.roots)
        .get(r)
        .or_else(|| pick(&ctx.roots).get(local))
        .copied();
    match found {
        Some(el) => Ok(Some(el)),
        None => {
            ctx.report.error(
                codes::UNRESOLVED_REFERENCE,
                format!("{ref_attr}=\"{r}\" names no {kind} element"),
                event.id(),
                Some(def.offset),
            );
            Err(())
        }
    }
}

/// The message of a receive task (its `messageRef` attribute), if it has
/// one; an unresolved reference is reported (`Err`).
pub fn task_message(
    ctx: &mut Ctx<'_, '_, '_>,
    task: &Element,
) -> Result<Option<crate::graph::TaskMessage>, ()> {
    let Some(m) = lookup(ctx, task, task, "messageRef", "message", |r| &r.messages)? else {
        return Ok(None);
    };
    Ok(Some(crate::graph::TaskMessage {
        name: name_of(m),
        correlation_key: extensions::message_correlation(ctx, m).map(Box::new),
        instantiate: super::values::bool_attr(ctx, task, "instantiate", false),
    }))
}

fn name_of(el: &Element) -> String {
    el.attr("name")
        .or(el.id())
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn fallback_name(event: &Element) -> String {
    name_of(event)
}

fn one(ctx: &mut Ctx<'_, '_, '_>, event: &Element, def: &Element) -> EventDef {
    match &*def.local {
        "messageEventDefinition" => {
            match lookup(ctx, event, def, "messageRef", "message", |r| &r.messages) {
                Ok(Some(m)) => EventDef::Message {
                    name: name_of(m),
                    correlation_key: extensions::message_correlation(ctx, m),
                },
                Ok(None) => EventDef::Message {
                    name: fallback_name(event),
                    correlation_key: None,
                },
                Err(()) => EventDef::Invalid,
            }
        }
        "signalEventDefinition" => {
            match lookup(ctx, event, def, "signalRef", "signal", |r| &r.signals) {
                Ok(Some(s)) => EventDef::Signal(name_of(s)),
                Ok(None) => EventDef::Signal(fallback_name(event)),
                Err(()) => EventDef::Invalid,
            }
        }
        "errorEventDefinition" => match lookup(ctx, event, def, "errorRef", "error", |r| &r.errors)
        {
            Ok(e) => EventDef::Error(e.and_then(|e| e.attr("errorCode")).map(str::to_string)),
            Err(()) => EventDef::Invalid,
        },
        "escalationEventDefinition" => {
            match lookup(ctx, event, def, "escalationRef", "escalation", |r| {
                &r.escalations
            }) {
                Ok(e) => EventDef::Escalation(
                    e.and_then(|e| e.attr("escalationCode")).map(str::to_string),
                ),
                Err(()) => EventDef::Invalid,
            }
        }
        "linkEventDefinition" => {
            let name = def.attr("name").map(str::trim).filter(|n| !n.is_empty());
            EventDef::Link(name.map_or_else(|| fallback_name(event), str::to_string))
        }
        "terminateEventDefinition" => EventDef::Terminate,
        "cancelEventDefinition" => EventDef::Cancel,
        "compensateEventDefinition" => {
            if !super::values::bool_attr(ctx, def, "waitForCompletion", true) {
                // The throwing token always waits for the compensation to
                // finish; going on at once is not executed.
                return EventDef::Unsupported(
                    "compensateEventDefinition with waitForCompletion=\"false\"".to_string(),
                );
            }
            let activity = def
                .attr("activityRef")
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| r.rsplit(':').next().unwrap_or(r).to_string());
            EventDef::Compensation(activity)
        }
        "timerEventDefinition" => timer_def(ctx, event, def),
        "conditionalEventDefinition" => {
            let at = At {
                id: event.id(),
                offset: def.offset,
                what: "event condition",
            };
            match def.bpmn_child("condition") {
                Some(c) => match expr::compile(ctx, &c.text, c.attr("language"), at) {
                    Some(e) => EventDef::Conditional(e),
                    None => EventDef::Invalid,
                },
                None => {
                    ctx.report.error(
                        codes::MISSING_ATTRIBUTE,
                        "conditionalEventDefinition has no <condition>",
                        event.id(),
                        Some(def.offset),
                    );
                    EventDef::Invalid
                }
            }
        }
        other => EventDef::Unsupported(other.to_string()),
    }
}

fn timer_def(ctx: &mut Ctx<'_, '_, '_>, event: &Element, def: &Element) -> EventDef {
    let parts: Vec<&Element> = def
        .children
        .iter()
        .filter(|c| {
            c.ns == Ns::Bpmn && matches!(&*c.local, "timeDate" | "timeDuration" | "timeCycle")
        })
        .collect();
    let id = event.id();
    let [part] = parts.as_slice() else {
        ctx.report.error(
            codes::INVALID_TIMER,
            format!(
                "timerEventDefinition needs exactly one of timeDate, timeDuration, timeCycle (found {})",
                parts.len()
            ),
            id,
            Some(def.offset),
        );
        return EventDef::Invalid;
    };
    let text = part.text.trim();
    let kind = match &*part.local {
        "timeDate" => TimerPart::Date,
        "timeDuration" => TimerPart::Duration,
        _ => TimerPart::Cycle,
    };
    // `=expr` (Zeebe) or `${expr}` as the whole text: evaluated when the
    // timer opens.
    let whole = text
        .strip_prefix("${")
        .and_then(|t| t.strip_suffix('}'))
        .filter(|inner| !inner.contains("${"));
    if text.starts_with('=') || whole.is_some() {
        let at = expr::At {
            id,
            offset: part.offset,
            what: kind.element(),
        };
        let source = whole.unwrap_or(text);
        return match expr::compile(ctx, source, part.attr("language"), at) {
            Some(expr) => EventDef::Timer(TimerSpec::Expression { part: kind, expr }),
            None => EventDef::Invalid,
        };
    }
    if text.starts_with('=') || text.contains("${") || text.contains("#{") {
        ctx.report.error(
            codes::INVALID_TIMER,
            format!(
                "{} '{text}' mixes an expression with text; write the whole value as `${{expr}}` or `=expr`",
                part.local
            ),
            id,
            Some(part.offset),
        );
        return EventDef::Invalid;
    }
    let result = TimerSpec::from_text(kind, text);
    match result {
        Ok((spec, local)) => {
            if local {
                ctx.report.warning(
                    codes::LOCAL_TIME_AS_UTC,
                    format!(
                        "{} '{text}' has no time zone; it is read as UTC",
                        part.local
                    ),
                    id,
                    Some(part.offset),
                );
            }
            EventDef::Timer(spec)
        }
        Err(e) => {
            ctx.report.error(
                codes::INVALID_TIMER,
                format!("{}: {e}", part.local),
                id,
                Some(part.offset),
            );
            EventDef::Invalid
        }
    }
}
