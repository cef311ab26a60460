//! The statements a commit runs once per row (instance, history and outbox
//! writes), each taken from the connection's statement cache once per batch
//! and kept until the batch is written. Taking a statement from the cache
//! looks it up by its SQL text and puts it back afterwards; done per row that
//! was several percent of a commit.

use rusqlite::{CachedStatement, Connection};

/// One of the per-row statements of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sql {
    InsertInstance,
    SelectInstance,
    UpdateInstance,
    InsertHistory,
    InsertOutbox,
    UpdateOutbox,
    DeleteOutbox,
    OutboxExists,
}

/// How many [`Sql`] statements there are.
const COUNT: usize = 8;

impl Sql {
    fn index(self) -> usize {
        self as usize
    }

    fn text(self) -> &'static str {
        match self {
            Sql::InsertInstance => {
                "INSERT INTO instances (instance_id, run_id, definition_key, status, business_key,
                     parent_id, parent_run, created_at, updated_at, last_seq, tally)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            }
            Sql::SelectInstance => {
                "SELECT pk, last_seq FROM instances WHERE instance_id = ?1 AND run_id = ?2"
            }
            Sql::UpdateInstance => {
                "UPDATE instances SET last_seq = ?1, status = ?2, updated_at = ?3, tally = ?5
                 WHERE pk = ?4"
            }
            Sql::InsertHistory => {
                "INSERT INTO history (instance_pk, first_seq, last_seq, events, recorded_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)"
            }
            Sql::InsertOutbox => {
                "INSERT INTO outbox (key, kind, instance_id, run_id, payload, due_at, attempt,
                     lease_owner, lease_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            }
            Sql::UpdateOutbox => {
                "UPDATE outbox SET kind = ?2, instance_id = ?3, run_id = ?4, payload = ?5,
                     due_at = ?6, attempt = ?7, lease_owner = ?8, lease_expires_at = ?9
                 WHERE key = ?1"
            }
            Sql::DeleteOutbox => "DELETE FROM outbox WHERE key = ?1",
            Sql::OutboxExists => "SELECT 1 FROM outbox WHERE key = ?1",
        }
    }
}

/// The per-row statements of one commit, prepared on first use.
pub(crate) struct Hot<'c> {
    conn: &'c Connection,
    stmts: [Option<CachedStatement<'c>>; COUNT],
}

impl<'c> Hot<'c> {
    /// No statement taken yet; `conn` is the commit's transaction.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        Self {
            conn,
            stmts: Default::default(),
        }
    }

    /// The connection the statements run on.
    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    /// The statement `sql`, taken from the cache on first use.
    pub(crate) fn get(&mut self, sql: Sql) -> rusqlite::Result<&mut CachedStatement<'c>> {
        let conn = self.conn;
        let slot = self
            .stmts
            .get_mut(sql.index())
            .ok_or(rusqlite::Error::InvalidQuery)?;
        if slot.is_none() {
            *slot = Some(conn.prepare_cached(sql.text())?);
        }
        slot.as_mut().ok_or(rusqlite::Error::InvalidQuery)
    }
}
