//! The database schema as an ordered list of migrations. `PRAGMA
//! user_version` records how many have run; each runs in its own transaction
//! together with the version bump. Migrations are append-only: never edit a
//! released one, add the next.

/// `PRAGMA application_id` of every Windlass database: "WNDL" in ASCII.
pub const APPLICATION_ID: i32 = 0x574E_444C;

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 5: each instance row keeps the runtime's per-node tally of its
/// run (`windlass_store_api::InstanceRow::tally`); rows written before read
/// back with an empty one.
const V5: &str = "
ALTER TABLE instances ADD COLUMN tally BLOB NOT NULL DEFAULT x'';
";

/// Version 4: the schedules table (timer start events and `windlass:cron`
/// sources; see `windlass_store_api::ScheduleRow`). Times are milliseconds
/// since the Unix epoch; `buffered` packs the scheduled times of buffered
/// fires as 8-byte little-endian integers, oldest first.
const V4: &str = "
CREATE TABLE schedules (
    id               TEXT PRIMARY KEY,
    process_id       TEXT NOT NULL,
    spec             BLOB NOT NULL,
    paused           INTEGER NOT NULL,
    next_fire_at     INTEGER,
    next_occurrence  INTEGER NOT NULL,
    last_fire_at     INTEGER,
    buffered         BLOB NOT NULL,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 3: a consumed message stays as a row until its expiry, marked
/// by `consumed_at` (milliseconds since the Unix epoch), so publishing its
/// id again is recognised as a duplicate; it is never delivered again.
const V3: &str = "
ALTER TABLE messages ADD COLUMN consumed_at INTEGER;
";

/// Version 2: each history row records its commit's time for the instance
/// (`recorded_at`, milliseconds since the Unix epoch: the row's `created_at`
/// for the events of a creation, the update's `updated_at` for an append).
/// Rows written at version 1 did not record it and read back as 0.
const V2: &str = "
ALTER TABLE history ADD COLUMN recorded_at INTEGER NOT NULL DEFAULT 0;
";

/// Version 1: history, instance index, definitions, outbox, timers,
/// messages, dedup.
///
/// Status codes: 0 running, 1 incident (unfinished); 2.. finished.
const V1: &str = "
CREATE TABLE definitions (
    key          TEXT PRIMARY KEY,
    process_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    source       TEXT NOT NULL,
    deployed_at  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE instances (
    pk              INTEGER PRIMARY KEY,
    instance_id     TEXT NOT NULL,
    run_id          TEXT NOT NULL,
    definition_key  TEXT NOT NULL,
    status          INTEGER NOT NULL,
    business_key    TEXT,
    parent_id       TEXT,
    parent_run      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL,
    UNIQUE (instance_id, run_id)
);
CREATE INDEX instances_created ON instances (created_at);
CREATE INDEX instances_definition ON instances (definition_key);
CREATE INDEX instances_unfinished ON instances (status) WHERE status IN (0, 1);
CREATE INDEX instances_business_key ON instances (business_key)
    WHERE business_key IS NOT NULL;
CREATE INDEX instances_parent ON instances (parent_id, parent_run)
    WHERE parent_id IS NOT NULL;

-- One row per (instance, commit): events first_seq..=last_seq packed into
-- one blob (length-prefixed, see windlass_store_api::pack_events).
CREATE TABLE history (
    instance_pk  INTEGER NOT NULL,
    first_seq    INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL,
    events       BLOB NOT NULL,
    PRIMARY KEY (instance_pk, first_seq)
) WITHOUT ROWID;

CREATE TABLE outbox (
    key               TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    instance_id       TEXT,
    run_id            TEXT,
    payload           BLOB NOT NULL,
    due_at            INTEGER NOT NULL,
    attempt           INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  INTEGER
) WITHOUT ROWID;

CREATE TABLE timers (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    due_at       INTEGER NOT NULL,
    payload      BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due_at, id);
CREATE INDEX timers_instance ON timers (instance_id, run_id);

CREATE TABLE messages (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    correlation_key  TEXT NOT NULL,
    payload          BLOB NOT NULL,
    published_at     INTEGER NOT NULL,
    expires_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX messages_correlation ON messages (name, correlation_key, published_at);
CREATE INDEX messages_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE dedup (
    key              TEXT PRIMARY KEY,
    running_id       TEXT,
    running_run      TEXT,
    running_token    TEXT,
    running_payload  BLOB,
    waiting_id       TEXT,
    waiting_run      TEXT,
    waiting_token    TEXT,
    waiting_payload  BLOB,
    updated_at       INTEGER NOT NULL
) WITHOUT ROWID;
";
