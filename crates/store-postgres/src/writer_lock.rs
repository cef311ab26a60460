//! The writer lock: one writing process per database schema, as with a
//! SQLite file, until partition leases let several nodes share one
//! database. It is a session-level advisory lock held on a connection of
//! its own (outside the pool) for as long as the store lives; PostgreSQL
//! releases it when that connection ends, also when the process dies.
//!
//! If the connection holding it is lost (a database restart, a network
//! cut), the next commit takes the lock again before writing; if another
//! process took it meanwhile, the commit is refused with
//! [`StoreError::InUse`] and writes nothing.

use crate::errors::map_pg;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Mutex;
use tokio_postgres::{Client, Config, NoTls};
use windlass_store_api::{StoreError, StoreResult};

/// The first key of Windlass's advisory locks ("WNDL" in ASCII).
const LOCK_CLASS: i32 = 0x574E_444C;

/// A held lock: the connection holding it and whether it still lives.
struct Held {
    /// Dropping it closes the session, which releases the lock.
    _client: Client,
    alive: Arc<AtomicBool>,
}

/// The writer lock of one schema.
pub(crate) struct WriterLock {
    config: Config,
    /// The second key: the hash of the schema the connection writes (its
    /// `current_schema()`), so schemas of one database lock separately.
    key: i32,
    held: Mutex<Option<Held>>,
}

impl WriterLock {
    /// Takes the lock of the schema `config`'s connections write (however
    /// the search path names it), or fails with [`StoreError::InUse`]
    /// naming the holder.
    pub(crate) async fn acquire(config: Config, target: &str) -> StoreResult<WriterLock> {
        let mut lock = WriterLock {
            config,
            key: 0,
            held: Mutex::new(None),
        };
        let (client, alive) = lock.connect(target).await?;
        let schema: Option<String> = client
            .query_one("SELECT current_schema()", &[])
            .await
            .map_err(|e| map_pg(e, target))?
            .try_get(0)
            .map_err(|e| map_pg(e, target))?;
        lock.key = schema_key(schema.as_deref().unwrap_or(""));
        let held = lock.lock_on(client, alive, target).await?;
        *lock.held.get_mut() = Some(held);
        Ok(lock)
    }

    /// Checks the lock is still held, taking it again when its connection
    /// was lost. Called before every commit.
    pub(crate) async fn ensure(&self, target: &str) -> StoreResult<()> {
        let mut held = self.held.lock().await;
        if held
            .as_ref()
            .is_some_and(|h| h.alive.load(Ordering::SeqCst))
        {
            return Ok(());
        }
        *held = None;
        let (client, alive) = self.connect(target).await?;
        *held = Some(self.lock_on(client, alive, target).await?);
        Ok(())
    }

    /// A new session, and the flag that says whether it still lives.
    async fn connect(&self, target: &str) -> StoreResult<(Client, Arc<AtomicBool>)> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(|e| map_pg(e, target))?;
        let alive = Arc::new(AtomicBool::new(true));
        let flag = alive.clone();
        // The connection task ends when the session does; the lock with it.
        tokio::spawn(async move {
            let _ = connection.await;
            flag.store(false, Ordering::SeqCst);
        });
        Ok((client, alive))
    }

    /// Takes the lock on the session `client`.
    async fn lock_on(
        &self,
        client: Client,
        alive: Arc<AtomicBool>,
        target: &str,
    ) -> StoreResult<Held> {
        let got: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&LOCK_CLASS, &self.key],
            )
            .await
            .map_err(|e| map_pg(e, target))?
            .try_get(0)
            .map_err(|e| map_pg(e, target))?;
        if got {
            return Ok(Held {
                _client: client,
                alive,
            });
        }
        let holder = self.holder(&client).await;
        Err(StoreError::InUse {
            path: target.to_string(),
            holder,
        })
    }

    /// Who holds the lock, as PostgreSQL knows the session.
    async fn holder(&self, client: &Client) -> String {
        let row = client
            .query_opt(
                "SELECT a.pid, coalesce(a.application_name, ''),
                        coalesce(host(a.client_addr), 'local socket'),
                        coalesce(to_char(a.backend_start, 'YYYY-MM-DD\"T\"HH24:MI:SSOF'), '')
                 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted
                   AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid
                   AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database
                                                        WHERE datname = current_database())",
                &[&i64::from(LOCK_CLASS), &i64::from(self.key)],
            )
            .await;
        match row {
            Ok(Some(r)) => {
                let pid: i32 = r.try_get(0).unwrap_or_default();
                let app: String = r.try_get(1).unwrap_or_default();
                let from: String = r.try_get(2).unwrap_or_default();
                let since: String = r.try_get(3).unwrap_or_default();
                format!("'{app}' (server pid {pid}, from {from}, connected since {since})")
            }
            _ => "another session".into(),
        }
    }
}

/// The second lock key of `schema`: 31 bits of its FNV-1a hash. Written
/// here because the key must stay the same across Windlass builds, which
/// std's hashers do not promise; FNV-1a is a few lines.
fn schema_key(schema: &str) -> i32 {
    let mut h: u32 = 0x811C_9DC5;
    for b in schema.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::try_from(h & 0x7FFF_FFFF).unwrap_or(0)
}

/// A shared handle, for [`PgStore`](crate::PgStore) clones.
pub(crate) type SharedWriterLock = Option<Arc<WriterLock>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_keys_are_stable_and_spread() {
        // Fixed values: a change here would let two builds write at once.
        assert_eq!(schema_key(""), 0x011C_9DC5);
        assert_ne!(schema_key("a"), schema_key("b"));
        assert!(schema_key("windlass") >= 0);
    }
}
