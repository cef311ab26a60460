//! A TCP proxy on loopback between a store and the test server that cuts
//! the connection when the client sends a chosen statement: before it
//! reaches the server (the server never sees it), or after (the server runs
//! it, the client never hears back). This is how the tests lose a
//! connection at a precise point; the server and the store are real.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// When to cut.
#[derive(Debug, Clone)]
pub enum Cut {
    /// Pass everything.
    Never,
    /// Drop the connection instead of forwarding bytes holding this text.
    Before(&'static str),
    /// Forward bytes holding this text, then drop the connection before
    /// the server's answer comes back.
    After(&'static str),
}

/// A running proxy; dropped with the test's runtime.
pub struct Proxy {
    /// The port clients connect to.
    pub port: u16,
    cut: Arc<Mutex<Cut>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(Mutex::new(Cut::Never));
        let shared = cut.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect(&upstream).await.unwrap();
                tokio::spawn(pump(client, server, shared.clone()));
            }
        });
        Proxy { port, cut }
    }

    /// Arms the next cut (it fires once, then the proxy passes again).
    pub fn arm(&self, cut: Cut) {
        *self.cut.lock().unwrap() = cut;
    }
}

async fn pump(client: TcpStream, server: TcpStream, cut: Arc<Mutex<Cut>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // Once muted, the server's answers are read and dropped.
    let mute = Arc::new(AtomicBool::new(false));
    let muted = mute.clone();
    let answers = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !muted.load(Ordering::SeqCst) && client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        let fired = {
            let mut armed = cut.lock().unwrap();
            let hit = |text: &str| chunk.windows(text.len()).any(|w| w == text.as_bytes());
            let fired = match &*armed {
                Cut::Never => None,
                Cut::Before(t) if hit(t) => Some(false),
                Cut::After(t) if hit(t) => Some(true),
                _ => None,
            };
            if fired.is_some() {
                *armed = Cut::Never;
            }
            fired
        };
        match fired {
            Some(false) => break,
            Some(true) => {
                // No answer reaches the client from here on; the client
                // loses the line only once the server has acted on it.
                mute.store(true, Ordering::SeqCst);
                let _ = server_write.write_all(chunk).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                break;
            }
            None => {
                if server_write.write_all(chunk).await.is_err() {
                    break;
                }
            }
        }
    }
    answers.abort();
}
