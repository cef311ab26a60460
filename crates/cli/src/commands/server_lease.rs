//! How `windlass server` on PostgreSQL becomes the database's writer: it
//! takes the database's lease (`windlass_store_postgres`'s `lease.rs`),
//! or, while another node holds it, stands by: it serves the API by
//! forwarding every call to the holder (`windlass_server::standby`) and
//! tries to take the lease when the holder releases it (a `NOTIFY` wakes
//! it), when the holder's session ends (its process died), or when the
//! lease expires (the holder stalled), polling twice a second meanwhile.

use crate::store_open;
use anyhow::Context as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use windlass_runtime::ShutdownSignal;
use windlass_server::standby::LeaderLookup;
use windlass_server::{Standby, StandbyHandle, StandbyOptions};
use windlass_store_any::DbLocation;
use windlass_store_api::{ErrorClass, StoreError};
use windlass_store_postgres::{LeaseOptions, PgOptions, PgStore};

/// How often a standby tries to take the lease when nothing woke it.
const POLL: Duration = Duration::from_millis(500);

/// How long a standby that takes over waits for its forwarded calls.
const HANDOVER_GRACE: Duration = Duration::from_secs(2);

/// What [`take_or_stand_by`] ended with.
pub struct Taken {
    /// The store, holding the lease.
    pub store: PgStore,
    /// Whether the node stood by first (and so already announced its
    /// address).
    pub stood_by: bool,
}

/// The address other nodes forward to: `--advertise`, else the listening
/// address when it names one host.
pub fn advertised(advertise: Option<&str>, listen: SocketAddr) -> anyhow::Result<String> {
    match advertise {
        Some(a) => Ok(a.trim_end_matches('/').to_string()),
        None if listen.ip().is_unspecified() => anyhow::bail!(
            "--listen {listen} names no one address other nodes can reach: give \
             --advertise http://HOST:PORT (where the other nodes reach this one)"
        ),
        None => Ok(format!("http://{listen}")),
    }
}

/// The lease this server asks for.
pub fn lease_options(address: &str, duration: Duration) -> LeaseOptions {
    LeaseOptions::new(format!("windlass server {}", store_open::process_name()))
        .address(address)
        .duration(duration)
}

/// Takes the lease of the database at `url`, standing by until it can.
/// `None` when a signal came first.
pub async fn take_or_stand_by(
    url: &str,
    listener: &Arc<std::net::TcpListener>,
    lease: LeaseOptions,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    signal: &mut ShutdownSignal,
) -> anyhow::Result<Option<Taken>> {
    let reader = PgStore::connect_with(PgOptions::new(url))
        .await
        .with_context(|| format!("opening {}", DbLocation::Postgres(url.to_string())))?;
    let holder = match reader.with_lease(lease.clone()).await {
        Ok(store) => {
            return Ok(Some(Taken {
                store,
                stood_by: false,
            }));
        }
        Err(StoreError::InUse { holder, .. }) => holder,
        Err(e) => return Err(e).context("taking the database's lease"),
    };
    let standby = stand_by(&reader, listener, &lease, metrics)?;
    crate::output::outln!("listening on http://{}", standby.local_addr())?;
    eprintln!("standing by: {holder} writes the database; API calls are forwarded to it");
    let mut listen = reader.release_listener().await.ok();
    loop {
        let woken = async {
            match &mut listen {
                Some(l) => {
                    l.wait(POLL).await;
                }
                None => tokio::time::sleep(POLL).await,
            }
        };
        tokio::select! {
            () = woken => {}
            s = signal.recv() => {
                s?;
                standby.shutdown(HANDOVER_GRACE).await;
                return Ok(None);
            }
        }
        match reader.with_lease(lease.clone()).await {
            Ok(store) => {
                standby.shutdown(HANDOVER_GRACE).await;
                eprintln!(
                    "took over the database's lease (epoch {})",
                    store.lease_epoch().unwrap_or_default()
                );
                return Ok(Some(Taken {
                    store,
                    stood_by: true,
                }));
            }
            Err(StoreError::InUse { .. }) => {}
            Err(e) if e.class() != ErrorClass::Permanent => {
                eprintln!("taking the database's lease failed (trying again): {e}");
            }
            Err(e) => return Err(e).context("taking the database's lease"),
        }
        if listen.is_none() {
            listen = reader.release_listener().await.ok();
        }
    }
}

/// Serves the standby API on `listener`, forwarding to the holder the
/// lease names.
fn stand_by(
    reader: &PgStore,
    listener: &Arc<std::net::TcpListener>,
    lease: &LeaseOptions,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> anyhow::Result<StandbyHandle> {
    let lookup_store = reader.clone();
    let leader: LeaderLookup = Arc::new(move || {
        let store = lookup_store.clone();
        Box::pin(async move {
            match store.lease_holder().await {
                Ok(Some(h)) if h.live => h.address,
                _ => None,
            }
        })
    });
    let options = StandbyOptions {
        listener: listener.clone(),
        node: lease.owner.clone(),
        leader,
        metrics,
    };
    Ok(Standby::run(options)?)
}
