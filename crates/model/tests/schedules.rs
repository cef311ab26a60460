//! `<windlass:schedule>` on timer start events and the time zone of
//! `windlass:cron` sources: read strictly, errors name the element.
#![allow(clippy::unwrap_used)]

use windlass_model::{OverlapPolicy, Severity, load};

fn doc(process_ext: &str, start: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <process id="p" isExecutable="true">
    <extensionElements>{process_ext}</extensionElements>
    {start}
    <sequenceFlow id="f1" sourceRef="s" targetRef="e"/>
    <endEvent id="e"/>
  </process>
</definitions>"#
    )
}

fn timer_start(ext: &str) -> String {
    format!(
        r#"<startEvent id="s"><extensionElements>{ext}</extensionElements>
      <timerEventDefinition><timeCycle>R3/PT1M</timeCycle></timerEventDefinition></startEvent>"#
    )
}

fn errors(xml: &str) -> Vec<String> {
    load(xml)
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{} {:?}: {}", d.code, d.element_id, d.message))
        .collect()
}

#[test]
fn every_overlap_policy_is_read() {
    for policy in OverlapPolicy::ALL {
        let ext = format!(r#"<windlass:schedule overlap="{}"/>"#, policy.as_str());
        let out = load(&doc("", &timer_start(&ext)));
        let defs = out.definitions.expect("loads");
        let p = defs.first_executable().expect("executable");
        assert_eq!(p.extensions.schedules.len(), 1);
        assert_eq!(p.extensions.schedules[0].start_event, "s");
        assert_eq!(p.extensions.schedules[0].overlap, policy);
    }
    // Without the attribute: skip. Without the element: no entry.
    let out = load(&doc("", &timer_start("<windlass:schedule/>")));
    let p = out.definitions.unwrap();
    let p = p.first_executable().unwrap();
    assert_eq!(p.extensions.schedules[0].overlap, OverlapPolicy::Skip);
    let out = load(&doc("", &timer_start("")));
    assert!(
        out.definitions
            .unwrap()
            .first_executable()
            .unwrap()
            .extensions
            .schedules
            .is_empty()
    );
}

#[test]
fn an_unknown_overlap_value_is_an_error_naming_the_element() {
    let errs = errors(&doc(
        "",
        &timer_start(r#"<windlass:schedule overlap="sometimes"/>"#),
    ));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("windlass:schedule"), "{errs:?}");
    assert!(errs[0].contains("overlap=\"sometimes\""), "{errs:?}");
    assert!(errs[0].contains("buffer-one"), "{errs:?}");
    let errs = errors(&doc(
        "",
        &timer_start(r#"<windlass:schedule policy="skip"/>"#),
    ));
    assert!(errs[0].contains("unknown attribute 'policy'"), "{errs:?}");
}

#[test]
fn a_schedule_on_a_start_event_without_a_timer_is_an_error() {
    let start = r#"<startEvent id="s"><extensionElements><windlass:schedule/></extensionElements></startEvent>"#;
    let errs = errors(&doc("", start));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("Some(\"s\")"), "{errs:?}");
    assert!(errs[0].contains("only on a timer start event"), "{errs:?}");
}

#[test]
fn a_cron_source_time_zone_must_be_known() {
    let ok = r#"<windlass:cron message="tick" schedule="0 3 * * *" timezone="Europe/Berlin"/>"#;
    assert!(errors(&doc(ok, r#"<startEvent id="s"/>"#)).is_empty());
    let bad = r#"<windlass:cron message="tick" schedule="0 3 * * *" timezone="Mars/Base"/>"#;
    let errs = errors(&doc(bad, r#"<startEvent id="s"/>"#));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("windlass:cron"), "{errs:?}");
    assert!(errs[0].contains("'Mars/Base'"), "{errs:?}");
}
