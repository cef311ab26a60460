//! Events and gateways.

use super::builder::{Builder, base_node, unsupported};
use super::events::{self, EventDef};
use super::expr::{self, At};
use super::extensions::{self, Owner};
use super::{Ctx, values};
use crate::codes;
use crate::extensions::StartSchedule;
use crate::graph::{EventResult, EventTrigger, GatewayKind, NodeIdx, NodeKind, ScopeIdx};
use crate::xml::tree::Element;

/// What a catching event can wait for.
fn trigger(def: EventDef) -> Result<EventTrigger, EventDef> {
    Ok(match def {
        EventDef::Message {
            name,
            correlation_key,
        } => EventTrigger::Message {
            name,
            correlation_key: correlation_key.map(Box::new),
        },
        EventDef::Timer(t) => EventTrigger::Timer(Box::new(t)),
        EventDef::Signal(name) => EventTrigger::Signal { name },
        EventDef::Error(code) => EventTrigger::Error { code },
        EventDef::Escalation(code) => EventTrigger::Escalation { code },
        EventDef::Link(name) => EventTrigger::Link { name },
        EventDef::Conditional(condition) => EventTrigger::Conditional {
            condition: Box::new(condition),
        },
        EventDef::Compensation(_) => EventTrigger::Compensation { handler: None },
        EventDef::Cancel => EventTrigger::Cancel,
        other => return Err(other),
    })
}

/// What a throwing event can do.
fn result(def: EventDef) -> Result<EventResult, EventDef> {
    Ok(match def {
        EventDef::Message {
            name,
            correlation_key,
        } => EventResult::Message {
            name,
            correlation_key: correlation_key.map(Box::new),
            ttl_millis: None,
        },
        EventDef::Signal(name) => EventResult::Signal { name },
        EventDef::Error(code) => EventResult::Error { code },
        EventDef::Escalation(code) => EventResult::Escalation { code },
        EventDef::Link(name) => EventResult::Link { name, target: None },
        EventDef::Terminate => EventResult::Terminate,
        EventDef::Compensation(_) => EventResult::Compensation { activity: None },
        EventDef::Cancel => EventResult::Cancel,
        other => return Err(other),
    })
}

/// Which definitions each event type allows (by [`EventDef::label`]).
fn allowed(local: &str) -> &'static [&'static str] {
    match local {
        "startEvent" => &[
            "message",
            "timer",
            "signal",
            "conditional",
            "error",
            "escalation",
            "compensation",
        ],
        "endEvent" => &[
            "terminate",
            "error",
            "escalation",
            "message",
            "signal",
            "compensation",
            "cancel",
        ],
        "intermediateCatchEvent" => &["message", "timer", "signal", "link", "conditional"],
        "intermediateThrowEvent" => &["message", "signal", "escalation", "link", "compensation"],
        _ => &[
            "message",
            "timer",
            "signal",
            "error",
            "escalation",
            "conditional",
            "compensation",
            "cancel",
        ],
    }
}

/// Reads an event into `b`.
pub fn event<'t>(ctx: &mut Ctx<'_, '_, 't>, b: &mut Builder<'t>, el: &'t Element, scope: ScopeIdx) {
    let Some(id) = values::required_id(ctx, el) else {
        return;
    };
    let local = &*el.local;
    let mut defs = events::read(ctx, el);
    if defs.len() > 1 {
        unsupported(
            ctx,
            b,
            el,
            &format!("{local} with several event definitions"),
        );
        return;
    }
    let def = defs.pop();
    if let Some(EventDef::Compensation(Some(activity))) = &def {
        b.compensation_refs.push((id, activity.clone(), el.offset));
    }
    if let Some(EventDef::Unsupported(name)) = &def {
        unsupported(ctx, b, el, &format!("{local} with {name}"));
        return;
    }
    if let Some(d) = &def
        && !matches!(d, EventDef::Invalid)
        && !allowed(local).contains(&d.label())
    {
        unsupported(
            ctx,
            b,
            el,
            &format!("{local} with a {} event definition", d.label()),
        );
        return;
    }
    // An invalid definition was reported; keep a placeholder node so flows resolve.
    let had_def = def.is_some();
    let def = def.filter(|d| !matches!(d, EventDef::Invalid));
    let kind = match local {
        "startEvent" => NodeKind::StartEvent {
            trigger: def
                .map_or(Ok(EventTrigger::None), trigger)
                .unwrap_or(EventTrigger::None),
            interrupting: values::bool_attr(ctx, el, "isInterrupting", true),
        },
        "endEvent" => NodeKind::EndEvent {
            result: def
                .map_or(Ok(EventResult::None), result)
                .unwrap_or(EventResult::None),
        },
        "intermediateThrowEvent" => NodeKind::IntermediateThrow {
            result: def
                .map_or(Ok(EventResult::None), result)
                .unwrap_or(EventResult::None),
        },
        "intermediateCatchEvent" => {
            if !had_def {
                unsupported(
                    ctx,
                    b,
                    el,
                    "intermediateCatchEvent without an event definition",
                );
                return;
            }
            NodeKind::IntermediateCatch {
                trigger: def
                    .map_or(Ok(EventTrigger::None), trigger)
                    .unwrap_or(EventTrigger::None),
            }
        }
        _ => {
            if !had_def {
                ctx.report.error(
                    codes::INVALID_BOUNDARY,
                    "boundaryEvent has no event definition",
                    Some(id),
                    Some(el.offset),
                );
            }
            NodeKind::Boundary {
                attached_to: NodeIdx(u32::MAX),
                trigger: def
                    .map_or(Ok(EventTrigger::None), trigger)
                    .unwrap_or(EventTrigger::None),
                cancel_activity: values::bool_attr(ctx, el, "cancelActivity", true),
            }
        }
    };
    let is_boundary = matches!(kind, NodeKind::Boundary { .. });
    let timer_start = scope == ScopeIdx::ROOT
        && matches!(
            kind,
            NodeKind::StartEvent {
                trigger: EventTrigger::Timer(_),
                ..
            }
        );
    let mut node = base_node(ctx, el, id, kind, scope);
    let ext = extensions::activity(ctx, el, Owner::Event);
    node.io_mapping = ext.io.boxed();
    if let Some((overlap, offset)) = ext.schedule {
        if timer_start {
            b.schedules.push(StartSchedule {
                start_event: id.to_string(),
                overlap,
            });
        } else {
            ctx.report.error(
                codes::INVALID_EXTENSION,
                "<windlass:schedule> is allowed only on a timer start event of a process \
                 (not of a sub-process)",
                Some(id),
                Some(offset),
            );
        }
    }
    if let Some((ttl, offset)) = ext.publish_ttl {
        match &mut node.kind {
            NodeKind::IntermediateThrow {
                result: EventResult::Message { ttl_millis, .. },
            }
            | NodeKind::EndEvent {
                result: EventResult::Message { ttl_millis, .. },
            } => *ttl_millis = Some(ttl),
            _ => ctx.report.error(
                codes::INVALID_EXTENSION,
                "<windlass:publish> is allowed only on a message throw or end event",
                Some(id),
                Some(offset),
            ),
        }
    }
    let idx = b.push(id, node);
    if is_boundary {
        b.boundaries.push((idx, el));
    }
}

/// Reads a gateway into `b`.
pub fn gateway<'t>(
    ctx: &mut Ctx<'_, '_, 't>,
    b: &mut Builder<'t>,
    el: &'t Element,
    scope: ScopeIdx,
) {
    let Some(id) = values::required_id(ctx, el) else {
        return;
    };
    let kind = match &*el.local {
        "exclusiveGateway" => GatewayKind::Exclusive,
        "parallelGateway" => GatewayKind::Parallel,
        "inclusiveGateway" => GatewayKind::Inclusive,
        "eventBasedGateway" => GatewayKind::EventBased,
        _ => GatewayKind::Complex,
    };
    if kind == GatewayKind::EventBased {
        // An event-based gateway that starts the process (`instantiate`),
        // or waits for all its events (`eventGatewayType="Parallel"`), is
        // not what Windlass runs: refused rather than run as an ordinary
        // exclusive one.
        let parallel = el
            .attr("eventGatewayType")
            .is_some_and(|t| t.trim() == "Parallel");
        if values::bool_attr(ctx, el, "instantiate", false) || parallel {
            let what = if parallel {
                "eventBasedGateway with eventGatewayType=\"Parallel\""
            } else {
                "eventBasedGateway with instantiate=\"true\""
            };
            unsupported(ctx, b, el, what);
            return;
        }
    }
    let activation_condition = el.bpmn_child("activationCondition").and_then(|c| {
        let at = At {
            id: Some(id),
            offset: c.offset,
            what: "activation condition",
        };
        expr::compile(ctx, &c.text, c.attr("language"), at)
    });
    let node = base_node(
        ctx,
        el,
        id,
        NodeKind::Gateway {
            kind,
            default: None,
            activation_condition: activation_condition.map(Box::new),
        },
        scope,
    );
    let idx = b.push(id, node);
    if el.attr("default").is_some() {
        b.defaults.push((idx, el));
    }
}
