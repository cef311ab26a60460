//! `kubernetes.event`: records a Kubernetes Event (events.k8s.io/v1) on
//! one object, as a controller reports what it did: `reason` (a short
//! CamelCase word), `note` (the message), `type` (`Normal`, default, or
//! `Warning`), `action` (default: the reason). `kubectl describe` shows
//! it. Repeats of the same event are counted as a series by the API.

use super::Context;
use super::common::{ADDRESS, Outcome, client, target};
use crate::error::K8sError;
use kube::Resource as _;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use windlass_jobs::TaskInput;
use windlass_jobs::settings::{Known, Settings};
use windlass_types::Vars;

const KNOWN: Known<'static> = Known {
    names: &[
        ADDRESS[0], ADDRESS[1], ADDRESS[2], ADDRESS[3], "reason", "note", "type", "action",
    ],
    prefixes: &[],
    unsupported: &[],
    verbatim: &[],
};

pub(super) async fn run(ctx: &Context, input: &TaskInput) -> Outcome {
    let s = Settings::read(input, KNOWN)?;
    let reason = s.required("reason")?.to_string();
    let type_ = match s.get("type").unwrap_or("Normal") {
        "Normal" => EventType::Normal,
        "Warning" => EventType::Warning,
        other => {
            return Err(s
                .invalid("type", format!("'{other}' is neither Normal nor Warning"))
                .into());
        }
    };
    let event = Event {
        type_,
        action: s.get("action").unwrap_or(&reason).to_string(),
        reason,
        note: s.get("note").map(str::to_string),
        secondary: None,
    };
    let client = client(ctx).await?;
    let t = target(ctx, &client, &s).await?;
    let obj = t
        .api(&client)
        .get(&t.name)
        .await
        .map_err(|e| K8sError::of(t.call("get"), e))?;
    let reference = obj.object_ref(&t.resource.api);
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: ctx.manager.clone(),
            instance: None,
        },
    );
    let mut call = t.call("create");
    call.resource = "events.k8s.io/v1 Event".into();
    call.rbac = Some(("events".into(), "events.k8s.io".into()));
    recorder
        .publish(&event, &reference)
        .await
        .map_err(|e| K8sError::of(call, e))?;
    Ok(Vars::new())
}
