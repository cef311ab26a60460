//! A dedicated OS thread owning one SQLite connection. Async callers send it
//! closures and await the answer through a oneshot channel, so SQLite's
//! blocking calls never run on the caller's executor (and no particular
//! async runtime is required).

use rusqlite::Connection;
use std::sync::mpsc;
use std::thread::JoinHandle;
use windlass_store_api::{StoreError, StoreResult};

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The thread and the sending end of its job queue. Dropping it lets the
/// thread finish the queued jobs, close the connection and exit; drop waits
/// for that, so the database file is closed when the drop returns.
#[derive(Debug)]
pub(crate) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts a thread named `name` that owns `conn`; `on_exit` runs on the
    /// connection after the last job, just before it closes.
    pub(crate) fn start(
        name: &str,
        mut conn: Connection,
        on_exit: Option<fn(&mut Connection)>,
    ) -> StoreResult<Self> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
                if let Some(f) = on_exit {
                    f(&mut conn);
                }
            })
            .map_err(|e| StoreError::Backend(format!("cannot start SQLite thread: {e}")))?;
        Ok(Self {
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the worker's connection and resolves to its result.
    pub(crate) fn run<T, F>(&self, f: F) -> impl Future<Output = StoreResult<T>> + Send + use<T, F>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        self.run_then_drop(move |conn| (f(conn), ()))
    }

    /// Like [`run`](Self::run), but `f` also hands back a value the thread
    /// drops only after the caller has its answer: a committed batch's
    /// buffers are freed while the caller goes on, not while it waits.
    pub(crate) fn run_then_drop<T, G, F>(
        &self,
        f: F,
    ) -> impl Future<Output = StoreResult<T>> + Send + use<T, G, F>
    where
        T: Send + 'static,
        G: Send + 'static,
        F: FnOnce(&mut Connection) -> (StoreResult<T>, G) + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let (result, garbage) = f(conn);
            // The caller may have stopped waiting; nothing to do then.
            let _ = tx.send(result);
            drop(garbage);
        });
        let sent = match &self.jobs {
            Some(jobs) => jobs.send(job).is_ok(),
            None => false,
        };
        async move {
            if !sent {
                return Err(StoreError::Closed);
            }
            rx.await.map_err(|_| StoreError::Closed)?
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
