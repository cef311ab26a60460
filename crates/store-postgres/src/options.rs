//! How [`PgStore`](crate::PgStore) connects: the connection string plus pool
//! size, timeouts, the schema (namespace) to use and whether to migrate.

use crate::lease::LeaseOptions;
use std::time::Duration;
use tokio_postgres::Config;
use tokio_postgres::config::Host;
use windlass_store_api::{StoreError, StoreResult};

/// Options of [`PgStore::connect_with`](crate::PgStore::connect_with).
#[derive(Clone)]
pub struct PgOptions {
    url: String,
    /// Most connections open at once (default 16).
    pub pool_size: usize,
    /// How long to wait for a new connection, or for a free one (default
    /// 10 s).
    pub connect_timeout: Duration,
    /// Run due migrations at connect (default true). When false, a
    /// database that needs them is refused with
    /// [`StoreError::NeedsMigration`].
    pub migrate: bool,
    /// The PostgreSQL schema (namespace) holding Windlass's tables; `None`
    /// uses the connection's `search_path` (usually `public`).
    pub schema: Option<String>,
    /// Hold the database's lease while the store lives (default `None`:
    /// no lease, for reading): a second store asking for it fails with
    /// [`StoreError::InUse`] naming the holder, and every batch is fenced
    /// by it (see [`LeaseOptions`]). Writing processes (the server, `run`,
    /// `recover`) take it.
    pub lease: Option<LeaseOptions>,
    /// How long the server lets one of the store's sessions sit idle inside
    /// an open transaction before it ends the session and rolls the
    /// transaction back (`idle_in_transaction_session_timeout`; default
    /// 10 s; zero leaves the server's setting). A healthy batch never
    /// waits on its client for more than milliseconds; a process paused
    /// (SIGSTOP, a frozen VM) in the middle of one would otherwise hold its
    /// row locks, and the fence on its lease, until it woke — so a node
    /// taking over its partitions would wait as long.
    pub idle_in_transaction_timeout: Duration,
}

impl std::fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PgOptions")
            .field("pool_size", &self.pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("migrate", &self.migrate)
            .field("schema", &self.schema)
            .field("lease", &self.lease)
            .field(
                "idle_in_transaction_timeout",
                &self.idle_in_transaction_timeout,
            )
            .finish_non_exhaustive()
    }
}

impl PgOptions {
    /// Options for the database at `url` with the defaults.
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            pool_size: 16,
            connect_timeout: Duration::from_secs(10),
            migrate: true,
            schema: None,
            lease: None,
            idle_in_transaction_timeout: Duration::from_secs(10),
        }
    }

    /// Uses the PostgreSQL schema `name` (it must exist).
    pub fn schema(mut self, name: impl Into<String>) -> PgOptions {
        self.schema = Some(name.into());
        self
    }

    /// Holds the database's lease (see [`PgOptions::lease`]).
    pub fn with_lease(mut self, lease: LeaseOptions) -> PgOptions {
        self.lease = Some(lease);
        self
    }

    /// Whether to run due migrations at connect.
    pub fn migrate(mut self, migrate: bool) -> PgOptions {
        self.migrate = migrate;
        self
    }

    /// The driver configuration: the parsed URL plus the options.
    pub(crate) fn config(&self) -> StoreResult<Config> {
        let (url, tls) = crate::tls::split_tls(&self.url)
            .map_err(|e| StoreError::Invalid(format!("'{}': {e}", redact(&self.url))))?;
        let mut config: Config = url.parse().map_err(|e| {
            StoreError::Invalid(format!(
                "'{}' is not a PostgreSQL connection string: {e}",
                redact(&self.url)
            ))
        })?;
        config.ssl_mode(tls.ssl_mode());
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        if config.get_application_name().is_none() {
            config.application_name("windlass");
        }
        config.connect_timeout(self.connect_timeout);
        let idle = self.idle_in_transaction_timeout.as_millis();
        if idle > 0 {
            let before = config.get_options().unwrap_or_default().to_string();
            let set = format!("{before} -c idle_in_transaction_session_timeout={idle}");
            config.options(set.trim());
        }
        if let Some(schema) = &self.schema {
            let plain = !schema.is_empty()
                && schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !plain {
                return Err(StoreError::Invalid(format!(
                    "schema name {schema:?}: use letters, digits and '_' only"
                )));
            }
            let before = config.get_options().unwrap_or_default().to_string();
            config.options(format!("{before} -c search_path={schema}").trim());
        }
        Ok(config)
    }

    /// `host:port/database` of `config`, for messages.
    /// The TLS parameters of the URL (`sslmode`, `sslrootcert`).
    pub(crate) fn tls(&self) -> StoreResult<crate::tls::TlsParams> {
        crate::tls::split_tls(&self.url)
            .map(|(_, tls)| tls)
            .map_err(|e| StoreError::Invalid(format!("'{}': {e}", redact(&self.url))))
    }

    pub(crate) fn target(&self, config: &Config) -> String {
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let db = config
            .get_dbname()
            .or(config.get_user())
            .unwrap_or("postgres");
        // The schema set here, or in the URL's `options=-c search_path=…`.
        let from_url = config.get_options().and_then(|o| {
            let (_, rest) = o.split_once("search_path=")?;
            rest.split_whitespace().next().map(str::to_string)
        });
        match self.schema.clone().or(from_url) {
            Some(s) => format!("{host}:{port}/{db} (schema {s})"),
            None => format!("{host}:{port}/{db}"),
        }
    }
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(connection string)".into();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((auth, host)) => (auth, host),
        None => return url.to_string(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/w"),
            "postgres://me:***@db:5432/w"
        );
        let err = PgOptions::new("postgres://me:secret@db:notaport/w")
            .config()
            .err()
            .unwrap();
        assert!(!err.to_string().contains("secret"), "{err}");
        let opts = PgOptions::new("postgres://me:secret@db:6000/w");
        let target = opts.target(&opts.config().unwrap());
        assert_eq!(target, "db:6000/w");
        let opts = PgOptions::new("postgres://db/w?options=-csearch_path%3Dmine");
        let target = opts.target(&opts.config().unwrap());
        assert_eq!(target, "db:5432/w (schema mine)");
    }

    #[test]
    fn schema_names_are_checked_and_set() {
        let opts = PgOptions::new("postgres://db/w").schema("t_1");
        let config = opts.config().unwrap();
        assert_eq!(
            config.get_options(),
            Some("-c idle_in_transaction_session_timeout=10000 -c search_path=t_1")
        );
        let bad = PgOptions::new("postgres://db/w").schema("x; drop");
        assert!(bad.config().is_err());
    }

    #[test]
    fn a_zero_idle_in_transaction_timeout_leaves_the_servers() {
        let mut opts = PgOptions::new("postgres://db/w?options=-c%20work_mem%3D8MB");
        opts.idle_in_transaction_timeout = Duration::ZERO;
        assert_eq!(
            opts.config().unwrap().get_options(),
            Some("-c work_mem=8MB")
        );
    }
}
