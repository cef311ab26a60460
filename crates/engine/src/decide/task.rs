//! Tasks: a compiled script runs inline; a receive task with a message
//! waits for it (`message`); anything else becomes a job (`job`). A script
//! that cannot be evaluated is an incident on the task (retry runs it
//! again, skip completes the task with the given variables).

use super::{DecideError, Exec, flow, job, limits, message};
use crate::event::JobPurpose;
use crate::ids::TokenId;
use crate::state::ScopeChain;
use serde_json::Value;
use windlass_model::NodeKind;
use windlass_types::Vars;

/// Starts a task's work: inline for compiled scripts, a message
/// subscription for a receive task with a message, else a job.
pub fn start(ex: &mut Exec<'_>, id: TokenId, name: Option<String>) -> Result<(), DecideError> {
    let g = ex.g;
    let t = ex.token(id)?;
    let node = g.node(t.node);
    if let NodeKind::Task {
        message: Some(_), ..
    } = &node.kind
    {
        return message::arrive_at_catch(ex, id);
    }
    if let NodeKind::Task {
        script: Some(script),
        ..
    } = &node.kind
        && let Some(compiled) = &script.compiled
    {
        let chain = ScopeChain::new(ex.st, t.scope);
        let r = compiled.evaluate(&chain).map_err(|e| {
            format!(
                "script `{}` of '{}' could not be evaluated: {}",
                script.body.trim(),
                node.id,
                e.message
            )
        });
        let Some(value) = ex.eval_or_incident(id, r)? else {
            return Ok(());
        };
        let vars = match (&script.result_variable, value) {
            (Some(var), v) => Vars::from_iter([(var.clone(), v)]),
            (None, Value::Object(map)) => map,
            (None, _) => Vars::new(),
        };
        if !limits::script_result_fits(ex, id, &vars)? {
            return Ok(());
        }
        ex.propagate(t.scope, &vars)?;
        return flow::finish(ex, id);
    }
    job::create(ex, id, 1, None, JobPurpose::Task, name)
}
