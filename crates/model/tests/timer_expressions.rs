//! Timer definitions given as expressions (`=expr`, or `${expr}` as the
//! whole text) load as `TimerSpec::Expression`, evaluated by the engine when
//! the timer opens; text that mixes an expression with other text is
//! refused (WL0015).
#![allow(clippy::unwrap_used)]

use windlass_model::{EventTrigger, NodeKind, TimerPart, TimerSpec, load};

fn doc(part: &str, text: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="urn:t">
  <process id="p" isExecutable="true">
    <startEvent id="s"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <intermediateCatchEvent id="t">
      <timerEventDefinition><{part}>{text}</{part}></timerEventDefinition>
    </intermediateCatchEvent>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
    )
}

/// The timer of catch event `t`, or the diagnostics' codes.
fn timer(part: &str, text: &str) -> Result<TimerSpec, Vec<String>> {
    let out = load(&doc(part, text));
    let codes = || out.diagnostics.iter().map(|d| d.code.to_string()).collect();
    let Some(defs) = out.definitions.as_ref() else {
        return Err(codes());
    };
    let Some(p) = defs.first_executable() else {
        return Err(codes());
    };
    let Some(t) = p.node_by_id("t") else {
        return Err(codes());
    };
    match &p.node(t).kind {
        NodeKind::IntermediateCatch {
            trigger: EventTrigger::Timer(spec),
        } => Ok((**spec).clone()),
        _ => Err(codes()),
    }
}

#[test]
fn expressions_load_as_expression_timers() {
    let Ok(TimerSpec::Expression { part, expr }) = timer("timeDuration", "${wait}") else {
        panic!("an expression timer");
    };
    assert_eq!((part, expr.source()), (TimerPart::Duration, "wait"));
    let Ok(TimerSpec::Expression { part, expr }) = timer(
        "timeDate",
        r#"=string(timestamp(cert.notAfter) - duration("720h"))"#,
    ) else {
        panic!("an expression timer");
    };
    assert_eq!(part, TimerPart::Date);
    assert!(expr.source().starts_with("=string("));
}

#[test]
fn an_expression_mixed_with_text_is_refused() {
    let codes = timer("timeDuration", "PT${minutes}M").unwrap_err();
    assert!(codes.iter().any(|c| c == "WL0015"), "{codes:?}");
    let codes = timer("timeDuration", "#{wait}").unwrap_err();
    assert!(codes.iter().any(|c| c == "WL0015"), "{codes:?}");
    assert!(matches!(
        timer("timeDuration", "PT5M"),
        Ok(TimerSpec::Duration { .. })
    ));
}
