//! Helpers of the end-to-end tests of `windlass server`: start the real
//! binary on a loopback port with a temporary database, talk to it with a
//! real HTTP client (reqwest), stop it with SIGTERM.

#![allow(dead_code)] // each test file uses its own subset

pub mod cluster;

use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A process with a user task (`review`, completed through the API), a
/// signal catch (`go`) and a message catch (`paid`, correlated by
/// `order`), used by the tests.
pub const ORDER_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:windlass="urn:windlass:bpmn:1" id="d" targetNamespace="t">
  <message id="paid-msg" name="paid">
    <extensionElements><windlass:correlation key="order"/></extensionElements>
  </message>
  <signal id="go-sig" name="go"/>
  <process id="order" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review order"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="go"/>
    <intermediateCatchEvent id="go" name="Go">
      <signalEventDefinition signalRef="go-sig"/>
    </intermediateCatchEvent>
    <sequenceFlow id="f3" sourceRef="go" targetRef="paid"/>
    <intermediateCatchEvent id="paid" name="Paid">
      <messageEventDefinition messageRef="paid-msg"/>
    </intermediateCatchEvent>
    <sequenceFlow id="f4" sourceRef="paid" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"#;

/// A user task only: an instance waits there until the test completes
/// its job.
pub const REVIEW_BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <process id="review" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <userTask id="task" name="Review"/>
    <sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"#;

/// A running `windlass server`.
pub struct ServerProc {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bearer token.
    pub token: String,
    /// The database: a file, or a PostgreSQL URL.
    pub db: PathBuf,
    /// Its stderr.
    pub log: PathBuf,
    client: reqwest::Client,
}

impl ServerProc {
    /// Starts the server on `db` (port 0) with `extra` arguments and waits
    /// for its "listening on" line.
    pub fn start(db: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(db, extra, &[])
    }

    /// [`ServerProc::start`] with environment variables set for the server.
    pub fn start_with_env(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let log = db.with_extension(format!("log{}", std::process::id()));
        let mut token_file = db.as_os_str().to_owned();
        token_file.push(".token");
        Self::spawn(
            "server",
            db.as_os_str(),
            PathBuf::from(token_file),
            log,
            extra,
            env,
        )
    }

    /// Starts `windlass operator` on the SQLite file `db` (its token beside
    /// it), logging to `db`'s folder as `{name}.log`, and waits for its
    /// "listening on" line (printed as it stands by).
    pub fn start_operator(db: &Path, name: &str, extra: &[&str]) -> Self {
        let log = db.with_file_name(format!("{name}.log"));
        let mut token_file = db.as_os_str().to_owned();
        token_file.push(".token");
        Self::spawn(
            "operator",
            db.as_os_str(),
            PathBuf::from(token_file),
            log,
            extra,
            &[],
        )
    }

    /// Starts the server on the PostgreSQL database `url`, with its token
    /// file and log in `dir`.
    pub fn start_postgres(url: &str, dir: &Path, extra: &[&str]) -> Self {
        let token_file = dir.join("server.token");
        // One log per server: several may run on one database and folder.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = dir.join(format!("server.log{}-{n}", std::process::id()));
        let mut args = vec!["--token-file", s(&token_file)];
        args.extend_from_slice(extra);
        Self::spawn("server", url.as_ref(), token_file.clone(), log, &args, &[])
    }

    fn spawn(
        verb: &str,
        db: &std::ffi::OsStr,
        token_file: PathBuf,
        log: PathBuf,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut child = Command::new(env!("CARGO_BIN_EXE_windlass"))
            .args([verb, "--db"])
            .arg(db)
            .args(["--listen", "127.0.0.1:0", "--shutdown-grace", "5"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn windlass server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep reading so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!(
                    "the server did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line}"))
            .trim()
            .to_string();
        let token = std::fs::read_to_string(&token_file)
            .expect("token file")
            .trim()
            .to_string();
        Self {
            child: Some(child),
            url,
            token,
            db: PathBuf::from(db),
            log,
            client: reqwest::Client::new(),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// The client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// `method path` with the token.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.token)
    }

    /// Sends and returns the status and the body as JSON (`Null` when empty
    /// or not JSON).
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = rb.send().await.expect("request");
        let status = resp.status();
        let bytes = resp.bytes().await.expect("body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// GET with the token. Sent once more when the connection failed:
    /// a kept-alive connection may close under the request (a standby
    /// that took over closes its connections), and a GET is safe to
    /// repeat, as HTTP clients do.
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        match self.req(reqwest::Method::GET, path).send().await {
            Ok(resp) => {
                let status = resp.status();
                let bytes = resp.bytes().await.expect("body");
                (
                    status,
                    serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                )
            }
            Err(e) if e.is_request() || e.is_connect() => {
                self.send(self.req(reqwest::Method::GET, path)).await
            }
            Err(e) => panic!("request: {e:?}"),
        }
    }

    /// POST JSON with the token.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.req(reqwest::Method::POST, path).json(&body))
            .await
    }

    /// Deploys BPMN XML.
    pub async fn deploy(&self, xml: &str) -> (StatusCode, Value) {
        let rb = self
            .req(reqwest::Method::POST, "/api/v1/definitions")
            .header("content-type", "application/xml")
            .body(xml.to_string());
        self.send(rb).await
    }

    /// Polls instance `id` until `done(view)` holds (at most 30 s).
    pub async fn wait_for(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let id = id.replace('/', "%2F");
        for _ in 0..600 {
            let (status, v) = self.get(&format!("/api/v1/instances/{id}")).await;
            if status == StatusCode::OK && done(&v) {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "instance {id} never reached the expected state: {}",
            self.get(&format!("/api/v1/instances/{id}")).await.1
        )
    }

    /// Waits until instance `id` has an open job and returns the first
    /// one's key.
    pub async fn open_job_key(&self, id: &str) -> String {
        let view = self
            .wait_for(id, |v| !v["openJobs"].as_array().is_none_or(Vec::is_empty))
            .await;
        view["openJobs"][0]["jobKey"]
            .as_str()
            .expect("job key")
            .to_string()
    }

    /// Sends SIGTERM and waits for the exit.
    pub fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..300 {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        panic!("the server did not stop within 15 s after SIGTERM");
    }

    /// Sends signal `sig` (`TERM`, `INT`, `USR1`) to the server.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([format!("-{sig}"), self.pid().to_string()])
            .status();
    }

    /// Waits at most `within` for the server to exit (killing it and
    /// failing the test after that).
    pub fn wait_exit(mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not exit within {within:?}");
    }

    /// The server's stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A path as `&str` (test paths are UTF-8).
fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
