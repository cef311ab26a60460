//! The database schema as an ordered list of migrations, and the check that
//! a database is Windlass's and of a version this build can use.
//!
//! The table `windlass_meta` records `application = windlass` and
//! `schema_version` (how many migrations have run). All migrations that
//! are due run in one transaction (PostgreSQL's DDL is transactional)
//! under an advisory lock, so several nodes starting at once migrate once.
//! Migrations are append-only: never edit a released one, add the next.
//!
//! Text columns that are keys or sort orders use `COLLATE "C"` (byte
//! order), so rows come back in the same order as from the other backends
//! whatever the database's default collation.

use crate::errors::map_pg;
use tokio_postgres::{Client, Transaction};
use windlass_store_api::{StoreError, StoreResult};

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// What `windlass_meta.application` holds in every Windlass database.
const APPLICATION: &str = "windlass";

/// The advisory lock key migrations hold ("WNDL" in ASCII).
const MIGRATION_LOCK: i64 = 0x574E_444C;

/// The tables of the schema: one of them without `windlass_meta` means the
/// database holds someone else's tables of the same name.
const TABLES: &[&str] = &[
    "definitions",
    "instances",
    "history",
    "outbox",
    "timers",
    "messages",
    "dedup",
    "schedules",
];

/// Version 4: the partition of each row that belongs to an instance
/// (`windlass_types::Partition::of_instance`) is stored with it, on
/// `instances`, `timers` and `outbox` (NULL for outbox rows of no
/// instance), and indexed, so a node owning some partitions reads only
/// theirs (`load_unfinished_in`, `due_timers_in`, `pending_outbox_in`).
/// Writes compute the column in Rust; rows written before are filled by
/// `windlass_instance_partition`, the same mapping in SQL. The partition
/// is the FNV-1a-64 hash modulo 256, and since 256 divides 2^64 only the
/// hash's low byte matters, whose value depends only on the low bytes of
/// the offset basis (0x25) and the prime (0xb3): the function computes
/// that byte with small integers. The kind byte of an instance id is 1.
/// It also adds partitioned ownership (`node_lease.rs`): node leases
/// (`windlass_nodes`) and which node owns which partition
/// (`windlass_partition_owners`).
const V4: &str = r#"
CREATE FUNCTION windlass_instance_partition(id TEXT) RETURNS SMALLINT
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $f$
DECLARE
    bytes BYTEA := convert_to(id, 'UTF8');
    h INTEGER := ((37 # 1) * 179) & 255;
BEGIN
    FOR i IN 0 .. length(bytes) - 1 LOOP
        h := ((h # get_byte(bytes, i)) * 179) & 255;
    END LOOP;
    RETURN h;
END
$f$;

ALTER TABLE instances ADD COLUMN partition SMALLINT;
UPDATE instances SET partition = windlass_instance_partition(instance_id);
ALTER TABLE instances ALTER COLUMN partition SET NOT NULL;
CREATE INDEX instances_unfinished_partition ON instances (partition)
    WHERE status IN (0, 1);

ALTER TABLE timers ADD COLUMN partition SMALLINT;
UPDATE timers SET partition = windlass_instance_partition(instance_id);
ALTER TABLE timers ALTER COLUMN partition SET NOT NULL;
CREATE INDEX timers_partition_due ON timers (partition, due_at, id);

ALTER TABLE outbox ADD COLUMN partition SMALLINT;
UPDATE outbox SET partition = windlass_instance_partition(instance_id)
    WHERE instance_id IS NOT NULL;
CREATE INDEX outbox_partition ON outbox (partition);

CREATE TABLE windlass_nodes (
    node         TEXT COLLATE "C" PRIMARY KEY,
    address      TEXT,
    epoch        BIGINT NOT NULL,
    backend_pid  INTEGER NOT NULL,
    joined_at    TIMESTAMPTZ NOT NULL,
    renewed_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);

CREATE TABLE windlass_partition_owners (
    partition    SMALLINT PRIMARY KEY,
    node         TEXT COLLATE "C" NOT NULL,
    node_epoch   BIGINT NOT NULL,
    epoch        BIGINT NOT NULL,
    assigned_at  TIMESTAMPTZ NOT NULL
);
"#;

/// Version 2: the lease table (`lease.rs`): one row per partition (one
/// partition today), naming the process that writes it, where its API
/// listens, the epoch batches are fenced with, and when the lease expires
/// by the database's clock.
/// Version 3: each instance row keeps the runtime's per-node tally of its
/// run (`windlass_store_api::InstanceRow::tally`); rows written before read
/// back with an empty one.
const V3: &str = r#"
ALTER TABLE instances ADD COLUMN tally BYTEA NOT NULL DEFAULT '\x';
"#;

const V2: &str = r#"
CREATE TABLE windlass_leases (
    partition    INTEGER PRIMARY KEY,
    owner        TEXT NOT NULL,
    address      TEXT,
    epoch        BIGINT NOT NULL,
    backend_pid  INTEGER NOT NULL,
    acquired_at  TIMESTAMPTZ NOT NULL,
    renewed_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
"#;

/// Version 1: every table of the SQLite schema's version 4, in
/// PostgreSQL's types. Times are milliseconds since the Unix epoch;
/// status codes are `InstanceStatus::code` (0 running, 1 incident:
/// unfinished). `schedules.buffered` holds the times of buffered fires,
/// oldest first.
const V1: &str = r#"
CREATE TABLE windlass_meta (
    key    TEXT COLLATE "C" PRIMARY KEY,
    value  TEXT NOT NULL
);

CREATE TABLE definitions (
    key          TEXT COLLATE "C" PRIMARY KEY,
    process_id   TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    source       TEXT NOT NULL,
    deployed_at  BIGINT NOT NULL
);

CREATE TABLE instances (
    pk              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    instance_id     TEXT COLLATE "C" NOT NULL,
    run_id          TEXT COLLATE "C" NOT NULL,
    definition_key  TEXT COLLATE "C" NOT NULL,
    status          SMALLINT NOT NULL,
    business_key    TEXT COLLATE "C",
    parent_id       TEXT COLLATE "C",
    parent_run      TEXT COLLATE "C",
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL,
    UNIQUE (instance_id, run_id)
);
CREATE INDEX instances_created ON instances (created_at, instance_id, run_id);
CREATE INDEX instances_definition ON instances (definition_key);
CREATE INDEX instances_unfinished ON instances (status) WHERE status IN (0, 1);
CREATE INDEX instances_business_key ON instances (business_key)
    WHERE business_key IS NOT NULL;
CREATE INDEX instances_parent ON instances (parent_id, parent_run)
    WHERE parent_id IS NOT NULL;

-- One row per (instance, commit): events first_seq..=last_seq packed into
-- one value (length-prefixed, see windlass_store_api::pack_events).
CREATE TABLE history (
    instance_pk  BIGINT NOT NULL,
    first_seq    BIGINT NOT NULL,
    last_seq     BIGINT NOT NULL,
    recorded_at  BIGINT NOT NULL,
    events       BYTEA NOT NULL,
    PRIMARY KEY (instance_pk, first_seq)
);

CREATE TABLE outbox (
    key               TEXT COLLATE "C" PRIMARY KEY,
    kind              TEXT NOT NULL,
    instance_id       TEXT,
    run_id            TEXT,
    payload           BYTEA NOT NULL,
    due_at            BIGINT NOT NULL,
    attempt           BIGINT NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  BIGINT
);
CREATE INDEX outbox_due ON outbox (due_at, key);

CREATE TABLE timers (
    id           TEXT COLLATE "C" PRIMARY KEY,
    instance_id  TEXT COLLATE "C" NOT NULL,
    run_id       TEXT COLLATE "C" NOT NULL,
    due_at       BIGINT NOT NULL,
    payload      BYTEA NOT NULL
);
CREATE INDEX timers_due ON timers (due_at, id);
CREATE INDEX timers_instance ON timers (instance_id, run_id);

CREATE TABLE messages (
    id               TEXT COLLATE "C" PRIMARY KEY,
    name             TEXT COLLATE "C" NOT NULL,
    correlation_key  TEXT COLLATE "C" NOT NULL,
    payload          BYTEA NOT NULL,
    published_at     BIGINT NOT NULL,
    expires_at       BIGINT,
    consumed_at      BIGINT
);
CREATE INDEX messages_correlation ON messages (name, correlation_key, published_at, id);
CREATE INDEX messages_published ON messages (published_at, id);

CREATE TABLE dedup (
    key              TEXT COLLATE "C" PRIMARY KEY,
    running_id       TEXT,
    running_run      TEXT,
    running_token    TEXT,
    running_payload  BYTEA,
    waiting_id       TEXT,
    waiting_run      TEXT,
    waiting_token    TEXT,
    waiting_payload  BYTEA,
    updated_at       BIGINT NOT NULL
);

CREATE TABLE schedules (
    id               TEXT COLLATE "C" PRIMARY KEY,
    process_id       TEXT NOT NULL,
    spec             BYTEA NOT NULL,
    paused           BOOLEAN NOT NULL,
    next_fire_at     BIGINT,
    next_occurrence  BIGINT NOT NULL,
    last_fire_at     BIGINT,
    buffered         BIGINT[] NOT NULL,
    updated_at       BIGINT NOT NULL
);
"#;

/// The schema version a connect found, and the one the database has after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaState {
    /// The version the database had.
    pub found: i64,
    /// The version it has now.
    pub now: i64,
}

/// Checks the database is Windlass's (or empty) and of a version this build
/// can use; with `migrate`, runs the migrations that are due. Without it, a
/// database that needs them is [`StoreError::NeedsMigration`].
pub(crate) async fn prepare(
    client: &mut Client,
    target: &str,
    migrate: bool,
) -> StoreResult<SchemaState> {
    let pg = |e| map_pg(e, target);
    let tx = client.transaction().await.map_err(pg)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg)?;
    let found = version(&tx, target).await?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            path: target.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(SchemaState { found, now: found });
    }
    if !migrate {
        return Err(StoreError::NeedsMigration {
            path: target.to_string(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let due = MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0));
    for sql in due {
        tx.batch_execute(sql).await.map_err(pg)?;
    }
    tx.execute(
        "INSERT INTO windlass_meta (key, value) VALUES ('application', $1), \
         ('schema_version', $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&APPLICATION, &SCHEMA_VERSION.to_string()],
    )
    .await
    .map_err(pg)?;
    tx.commit().await.map_err(pg)?;
    Ok(SchemaState {
        found,
        now: SCHEMA_VERSION,
    })
}

/// The schema version of the database: 0 when it holds none of Windlass's
/// tables; an error when it holds tables of the same names without being
/// Windlass's.
async fn version(tx: &Transaction<'_>, target: &str) -> StoreResult<i64> {
    let pg = |e| map_pg(e, target);
    let meta = tx
        .query_one("SELECT to_regclass('windlass_meta') IS NOT NULL", &[])
        .await
        .map_err(pg)?;
    if !meta.get::<_, bool>(0) {
        for table in TABLES {
            let row = tx
                .query_one("SELECT to_regclass($1) IS NOT NULL", &[table])
                .await
                .map_err(pg)?;
            if row.get::<_, bool>(0) {
                return Err(StoreError::NotWindlassDatabase {
                    path: target.to_string(),
                    detail: format!(
                        "it has a table '{table}' but no windlass_meta table; use an \
                         empty database or schema for Windlass"
                    ),
                });
            }
        }
        return Ok(0);
    }
    let rows = tx
        .query("SELECT key, value FROM windlass_meta", &[])
        .await
        .map_err(pg)?;
    let value = |k: &str| {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == k)
            .map(|r| r.get::<_, String>(1))
    };
    if value("application").as_deref() != Some(APPLICATION) {
        return Err(StoreError::NotWindlassDatabase {
            path: target.to_string(),
            detail: format!(
                "windlass_meta names the application {:?}, not \"{APPLICATION}\"",
                value("application").unwrap_or_default()
            ),
        });
    }
    let text = value("schema_version").unwrap_or_default();
    text.parse::<i64>()
        .map_err(|_| StoreError::NotWindlassDatabase {
            path: target.to_string(),
            detail: format!("windlass_meta has the schema version {text:?}, not a number"),
        })
}
