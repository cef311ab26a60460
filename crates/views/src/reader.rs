//! [`Views`]: the read model over a store's read traits. Every method
//! reads, decodes and renders; nothing is written.

use crate::definition::load_graph;
use crate::error::{ViewError, ViewResult};
use crate::history::{self, HistoryView};
use crate::incidents::IncidentSummary;
use crate::instance::{self, InstanceView};
use crate::page::{Cursor, MAX_PAGE, Page, PageRequest};
use crate::replay::{decode, decode_and_replay};
use crate::summary::InstanceSummary;
use std::collections::HashMap;
use std::sync::Arc;
use windlass_model::ProcessGraph;
use windlass_store_api::{
    DefinitionRead, HistoryRead, InstanceId, InstanceIndex, InstanceQuery, InstanceRow,
    InstanceStatus,
};

/// The read model of one store.
#[derive(Debug, Clone, Copy)]
pub struct Views<'s, S> {
    store: &'s S,
}

impl<'s, S: HistoryRead + InstanceIndex + DefinitionRead> Views<'s, S> {
    /// Views over `store`.
    pub fn new(store: &'s S) -> Self {
        Self { store }
    }

    /// The store read.
    pub fn store(&self) -> &'s S {
        self.store
    }

    /// One page of index rows matching `filter` (its `after` and `limit`
    /// are replaced by the page's).
    async fn rows_page(
        &self,
        filter: &InstanceQuery,
        page: &PageRequest,
    ) -> ViewResult<Page<InstanceRow>> {
        let size = page.size();
        if size == 0 {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let query = InstanceQuery {
            after: page.after.as_ref().map(|c| c.0.clone()),
            limit: Some(size + 1),
            ..filter.clone()
        };
        let mut rows = self.store.query_instances(&query).await?;
        let next = if rows.len() > size {
            rows.truncate(size);
            rows.last().map(Cursor::of)
        } else {
            None
        };
        Ok(Page { items: rows, next })
    }

    /// One page of the instances matching `filter`, in `(created_at, id,
    /// run)` order (`filter.after` and `filter.limit` are ignored; the page
    /// request says where to start and how many).
    pub async fn list(
        &self,
        filter: &InstanceQuery,
        page: &PageRequest,
    ) -> ViewResult<Page<InstanceSummary>> {
        let rows = self.rows_page(filter, page).await?;
        Ok(Page {
            items: rows.items.iter().map(InstanceSummary::of).collect(),
            next: rows.next,
        })
    }

    /// The instances matching `filter` behind `after`, page by page, until
    /// `limit` of them (`None`: all); `next` is set when more remain.
    pub async fn list_up_to(
        &self,
        filter: &InstanceQuery,
        after: Option<Cursor>,
        limit: Option<usize>,
    ) -> ViewResult<Page<InstanceSummary>> {
        let mut items = Vec::new();
        let mut request = PageRequest { after, limit: None };
        loop {
            let want = limit.map_or(MAX_PAGE, |l| l.saturating_sub(items.len()).min(MAX_PAGE));
            request.limit = Some(want);
            let page = self.list(filter, &request).await?;
            items.extend(page.items);
            match page.next {
                Some(next) if limit.is_none_or(|l| items.len() < l) => request.after = Some(next),
                next => return Ok(Page { items, next }),
            }
        }
    }

    /// The index row of instance `id`: the run `run`, or its latest run
    /// (the store's run order: UUIDv7 run ids by creation, the legacy run
    /// `"1"` first).
    pub async fn row(&self, id: &str, run: Option<&str>) -> ViewResult<InstanceRow> {
        let row = match run {
            Some(r) => {
                self.store
                    .instance(&windlass_store_api::InstanceRef::new(id, r))
                    .await?
            }
            None => self.store.latest_run(&InstanceId::new(id)).await?,
        };
        row.ok_or_else(|| ViewError::NotFound {
            id: id.to_string(),
            run: run.map(str::to_string),
        })
    }

    /// The graph of `key` for display: `None` when the definition is
    /// missing or does not load (views then show node indexes).
    async fn graph_if_any(&self, key: &str) -> ViewResult<Option<Arc<ProcessGraph>>> {
        match load_graph(self.store, key).await {
            Ok(g) => Ok(Some(g)),
            Err(ViewError::MissingDefinition(_) | ViewError::BadDefinition { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Where instance `id` (run `run`, or its latest) is now.
    pub async fn instance(&self, id: &str, run: Option<&str>) -> ViewResult<InstanceView> {
        let row = self.row(id, run).await?;
        self.instance_of(&row).await
    }

    /// The view of the instance run of `row`.
    pub async fn instance_of(&self, row: &InstanceRow) -> ViewResult<InstanceView> {
        let stored = self.store.history(&row.instance).await?;
        let (events, state) = decode_and_replay(&row.instance, stored)?;
        let graph = self.graph_if_any(&row.definition_key).await?;
        Ok(instance::build(row, &state, &events, graph.as_deref()))
    }

    /// The history of instance `id` (run `run`, or its latest). Needs the
    /// definition ([`ViewError::MissingDefinition`] without it).
    pub async fn history(&self, id: &str, run: Option<&str>) -> ViewResult<HistoryView> {
        let row = self.row(id, run).await?;
        let events = decode(&row.instance, self.store.history(&row.instance).await?)?;
        let graph = load_graph(self.store, &row.definition_key).await?;
        Ok(history::build(&row, &events, &graph))
    }

    /// One page of the history of instance `id` (run `run`, or its
    /// latest): at most `limit` events (capped at [`MAX_PAGE`]) with `seq`
    /// greater than `after`; `next_after` is set when more follow. Events
    /// are immutable and numbered, so a `seq` is a stable cursor.
    pub async fn history_page(
        &self,
        id: &str,
        run: Option<&str>,
        after: u64,
        limit: usize,
    ) -> ViewResult<HistoryView> {
        let row = self.row(id, run).await?;
        let limit = limit.min(MAX_PAGE);
        let mut stored = self.store.history_after(&row.instance, after).await?;
        let more = stored.len() > limit;
        stored.truncate(limit);
        let events = decode(&row.instance, stored)?;
        let graph = load_graph(self.store, &row.definition_key).await?;
        let mut view = history::build(&row, &events, &graph);
        if more {
            view.next_after = events.last().map(|r| r.seq);
        }
        Ok(view)
    }

    /// The open incidents of the instances matching `filter` that are in
    /// an incident, one page of instances at a time (the cursor pages over
    /// instances; `filter.status` is replaced by `incident`).
    pub async fn incidents(
        &self,
        filter: &InstanceQuery,
        page: &PageRequest,
    ) -> ViewResult<Page<IncidentSummary>> {
        let filter = InstanceQuery {
            status: Some(InstanceStatus::Incident),
            ..filter.clone()
        };
        let rows = self.rows_page(&filter, page).await?;
        let mut graphs: HashMap<String, Option<Arc<ProcessGraph>>> = HashMap::new();
        let mut items = Vec::new();
        for row in &rows.items {
            let stored = self.store.history(&row.instance).await?;
            let (events, state) = decode_and_replay(&row.instance, stored)?;
            let graph = match graphs.get(&row.definition_key) {
                Some(g) => g.clone(),
                None => {
                    let g = self.graph_if_any(&row.definition_key).await?;
                    graphs.insert(row.definition_key.clone(), g.clone());
                    g
                }
            };
            items.extend(
                instance::incidents(&state, &events, graph.as_deref())
                    .into_iter()
                    .map(|i| IncidentSummary::new(row, i)),
            );
        }
        Ok(Page {
            items,
            next: rows.next,
        })
    }
}
