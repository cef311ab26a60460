//! The state dump: everything live at one moment, for "why is nothing
//! happening?": every unfinished instance with its tokens and what each
//! waits for (jobs with their age, timers with due times, messages,
//! signals, dedup keys, incidents), every buffered message, every dedup
//! key with its holder and the start waiting for it.

use crate::error::ViewResult;
use crate::instance::InstanceView;
use crate::reader::Views;
use crate::time::iso;
use serde::{Deserialize, Serialize};
use windlass_store_api::{
    DedupRead, DefinitionRead, HistoryRead, InstanceIndex, InstanceQuery, InstanceStatus,
    MessageRead, Timestamp,
};

/// A message buffered because nothing waited for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BufferedMessageView {
    /// Its id.
    pub id: String,
    /// The message name.
    pub name: String,
    /// The correlation key.
    pub correlation_key: String,
    /// When it was published (RFC 3339).
    pub published_at: String,
    /// When it expires (RFC 3339; `None`: never).
    pub expires_at: Option<String>,
}

/// A dedup key in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DedupKeyView {
    /// The key.
    pub key: String,
    /// The instance running the region (`id/run`), if any.
    pub holder: Option<String>,
    /// The start or instance waiting for it (`id/run`), if any.
    pub waiting: Option<String>,
    /// When the entry last changed (RFC 3339).
    pub updated_at: String,
}

/// Everything live at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DumpView {
    /// When the dump was taken (RFC 3339).
    pub taken_at: String,
    /// Every unfinished instance (running or in an incident), oldest first,
    /// at most the limit asked for.
    pub instances: Vec<InstanceView>,
    /// True when more unfinished instances exist than were dumped.
    pub truncated: bool,
    /// Buffered messages, oldest first.
    pub messages: Vec<BufferedMessageView>,
    /// Dedup keys in use, by key.
    pub dedup: Vec<DedupKeyView>,
}

impl<S> Views<'_, S>
where
    S: HistoryRead + InstanceIndex + DefinitionRead + MessageRead + DedupRead,
{
    /// Every message buffered at `now` (published, not consumed, not
    /// expired), oldest first.
    pub async fn buffered_messages(&self, now: Timestamp) -> ViewResult<Vec<BufferedMessageView>> {
        Ok(self
            .store()
            .live_messages(now)
            .await?
            .into_iter()
            .filter(|m| m.consumed_at.is_none())
            .map(|m| BufferedMessageView {
                id: m.id,
                name: m.name,
                correlation_key: m.correlation_key,
                published_at: iso(m.published_at.0),
                expires_at: m.expires_at.map(|t| iso(t.0)),
            })
            .collect())
    }

    /// Every dedup key held or waited for.
    pub async fn dedup_keys(&self) -> ViewResult<Vec<DedupKeyView>> {
        let name = |h: &windlass_store_api::DedupHolder| {
            format!("{}/{}", h.instance.id.as_str(), h.instance.run.as_str())
        };
        Ok(self
            .store()
            .dedup_entries()
            .await?
            .into_iter()
            .map(|r| DedupKeyView {
                holder: r.running.as_ref().map(name),
                waiting: r.waiting.as_ref().map(name),
                updated_at: iso(r.updated_at.0),
                key: r.key,
            })
            .collect())
    }

    /// The dump at `now`, with at most `limit` instances.
    pub async fn dump(&self, now: Timestamp, limit: usize) -> ViewResult<DumpView> {
        let mut instances = Vec::new();
        let mut truncated = false;
        for status in [InstanceStatus::Running, InstanceStatus::Incident] {
            let want = limit.saturating_sub(instances.len());
            let filter = InstanceQuery {
                status: Some(status),
                ..InstanceQuery::default()
            };
            let page = self.list_up_to(&filter, None, Some(want)).await?;
            truncated |= page.next.is_some();
            for summary in page.items {
                instances.push(self.instance(&summary.id, Some(&summary.run)).await?);
            }
        }
        let messages = self.buffered_messages(now).await?;
        let dedup = self.dedup_keys().await?;
        Ok(DumpView {
            taken_at: iso(now.0),
            instances,
            truncated,
            messages,
            dedup,
        })
    }
}
