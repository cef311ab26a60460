//! SIGINT / SIGTERM as a graceful-shutdown request.
//!
//! A binary installs [`ShutdownSignal`] first thing after building its tokio
//! runtime, before it loads files, opens stores or recovers instances, so a
//! signal that arrives during start-up is caught and answered with a drain
//! instead of killing the process with the default disposition. It then runs
//! `tokio::select!` over [`ShutdownSignal::recv`] and its work, and calls
//! [`crate::RuntimeHandle::shutdown`].

use crate::error::{RuntimeError, RuntimeResult};

/// Installed SIGINT and SIGTERM listeners. A signal received after
/// [`ShutdownSignal::install`] is remembered until [`ShutdownSignal::recv`]
/// is polled.
#[derive(Debug)]
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Installs the listeners; must be called inside a tokio runtime with
    /// I/O enabled (`Runtime::enter` or an async context).
    pub fn install() -> RuntimeResult<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let io =
                |e: std::io::Error| RuntimeError::Io(format!("installing a signal listener: {e}"));
            Ok(Self {
                interrupt: signal(SignalKind::interrupt()).map_err(io)?,
                terminate: signal(SignalKind::terminate()).map_err(io)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Self {})
        }
    }

    /// Resolves when SIGINT (Ctrl-C) or SIGTERM has been received since
    /// [`ShutdownSignal::install`].
    pub async fn recv(&mut self) -> RuntimeResult<()> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Ok(()),
                _ = self.terminate.recv() => Ok(()),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .map_err(|e| RuntimeError::Io(e.to_string()))
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_sent_before_recv_is_polled_is_not_lost() {
        let mut signal = ShutdownSignal::install().expect("install");
        let pid = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        tokio::time::timeout(std::time::Duration::from_secs(10), signal.recv())
            .await
            .expect("the signal was delivered")
            .expect("recv");
    }
}
