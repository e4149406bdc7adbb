//! A scripted HTTP/1.1 proxy in front of a real server: it counts every request by API path
//! and, as scripted, answers with an error status (with `Retry-After`), resets the
//! connection, or stalls, instead of forwarding, or forwards and loses the answer. One request per connection. It also
//! watches how many log-batch requests are under way at once, and keeps a journal of every
//! request: its body and when it arrived and was answered, in the proxy's own order.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Forward it to the server.
    Pass,
    /// Answer with this status (and `Retry-After: secs` when given) without forwarding.
    Status(u16, Option<u32>),
    /// Answer as an `mlflow server` out of database connections does (400 `BAD_REQUEST`,
    /// SQLAlchemy's "QueuePool limit ... reached"), without forwarding.
    PoolExhausted,
    /// Close the connection with a TCP reset, without answering or forwarding.
    Reset,
    /// Wait this long, then close without answering or forwarding.
    Slow(Duration),
    /// Forward it, let the server act on it, then close the client's connection with a
    /// reset instead of answering: the answer is lost on the way back.
    Lost,
    /// Hold the request until the test adds a permit to this gate, then forward it.
    Held(Arc<tokio::sync::Semaphore>),
    /// Hold the request until this many requests scripted `Together` have arrived, then
    /// forward it. A client that sends them one at a time never gets there: each then
    /// waits 4 s (less than the fault tests' request timeout) and is forwarded alone.
    Together(usize),
}

/// One request as the proxy saw it. `arrived` and `answered` are steps of one counter
/// shared by all requests: `a.answered < b.arrived` means `b` was sent after `a` was
/// answered.
#[derive(Debug, Clone)]
pub struct Journal {
    pub path: String,
    pub body: serde_json::Value,
    pub arrived: u64,
    pub answered: u64,
}

type Script = Arc<Mutex<Vec<(String, VecDeque<Action>)>>>;
type Seen = Arc<Mutex<Vec<String>>>;
type Overlap = Arc<Mutex<Overlaps>>;
type Journals = Arc<Mutex<Vec<Journal>>>;

/// The counter behind [`Journal`]'s steps, and the requests held `Together`.
#[derive(Debug, Default)]
struct Clock {
    step: AtomicU64,
    together: AtomicUsize,
}

impl Clock {
    fn tick(&self) -> u64 {
        self.step.fetch_add(1, Ordering::SeqCst)
    }
}

/// Log-batch requests under way at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct Overlaps {
    now: usize,
    /// Of these, how many carry params or tags.
    ordered_now: usize,
    /// The most under way at any moment.
    pub peak: usize,
    /// How often a batch with params or tags was under way together with another batch.
    pub ordered_overlaps: usize,
}

impl Overlaps {
    fn begin(&mut self, ordered: bool) {
        if self.ordered_now > 0 || (ordered && self.now > 0) {
            self.ordered_overlaps += 1;
        }
        self.now += 1;
        self.ordered_now += usize::from(ordered);
        self.peak = self.peak.max(self.now);
    }

    fn end(&mut self, ordered: bool) {
        self.now -= 1;
        self.ordered_now -= usize::from(ordered);
    }
}

/// Whether a log-batch body carries params or tags.
fn carries_params_or_tags(body: &[u8]) -> bool {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    ["params", "tags"]
        .iter()
        .any(|k| v[k].as_array().is_some_and(|a| !a.is_empty()))
}

/// The running proxy.
pub struct Proxy {
    pub port: u16,
    script: Script,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    auth: Seen,
    overlap: Overlap,
    journal: Journals,
}

impl Proxy {
    /// Starts a proxy on a free loopback port, forwarding to `upstream_port`.
    pub fn start(upstream_port: u16) -> Proxy {
        let script: Script = Arc::default();
        let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let auth: Seen = Arc::default();
        let overlap: Overlap = Arc::default();
        let journal: Journals = Arc::default();
        let clock: Arc<Clock> = Arc::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let (s, c, a, o, j) = (
            script.clone(),
            counts.clone(),
            auth.clone(),
            overlap.clone(),
            journal.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                tx.send(listener.local_addr().expect("addr").port()).ok();
                loop {
                    let Ok((conn, _)) = listener.accept().await else {
                        continue;
                    };
                    let (s, c, a, o) = (s.clone(), c.clone(), a.clone(), o.clone());
                    let (j, k) = (j.clone(), clock.clone());
                    tokio::spawn(async move {
                        let _ = serve(conn, upstream_port, s, c, a, o, (j, k)).await;
                    });
                }
            });
        });
        let port = rx.recv().expect("proxy port");
        Proxy {
            port,
            script,
            counts,
            auth,
            overlap,
            journal,
        }
    }

    /// Every request answered so far (or given up on), in the order they were answered; a
    /// request is in it before its answer leaves the proxy.
    pub fn journal(&self) -> Vec<Journal> {
        self.journal.lock().unwrap().clone()
    }

    /// How log-batch requests overlapped so far.
    pub fn log_batch_overlaps(&self) -> Overlaps {
        *self.overlap.lock().unwrap()
    }

    /// The `Authorization` header of every request so far (empty when there was none).
    pub fn authorizations(&self) -> Vec<String> {
        self.auth.lock().unwrap().clone()
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Queues `actions` for the next requests whose path ends with `path`
    /// (such as `runs/log-batch`); requests beyond the script pass.
    pub fn script(&self, path: &str, actions: Vec<Action>) {
        self.script
            .lock()
            .unwrap()
            .push((path.to_owned(), actions.into()));
    }

    /// Requests seen whose path ends with `path`.
    pub fn count(&self, path: &str) -> usize {
        self.counts
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.ends_with(path))
            .map(|(_, n)| n)
            .sum()
    }
}

async fn serve(
    conn: TcpStream,
    upstream_port: u16,
    script: Script,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    auth: Seen,
    overlap: Overlap,
    (journal, clock): (Journals, Arc<Clock>),
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn);
    let mut head = Vec::new();
    let mut content_length = 0usize;
    let mut authorization = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        if line == "\r\n" || line == "\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("authorization:") {
            authorization = line["authorization:".len()..].trim().to_owned();
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            content_length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") && !lower.starts_with("keep-alive:") {
            head.push(line);
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body).await?;
    let path = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .map(|p| p.split('?').next().unwrap_or(p).to_owned())
        .unwrap_or_default();
    *counts.lock().unwrap().entry(path.clone()).or_default() += 1;
    auth.lock().unwrap().push(authorization);
    let action = {
        let mut script = script.lock().unwrap();
        script
            .iter_mut()
            .find(|(p, q)| path.ends_with(p.as_str()) && !q.is_empty())
            .and_then(|(_, q)| q.pop_front())
            .unwrap_or(Action::Pass)
    };
    let batch = path
        .ends_with("runs/log-batch")
        .then(|| carries_params_or_tags(&body));
    if let Some(ordered) = batch {
        overlap.lock().unwrap().begin(ordered);
    }
    let arrived = clock.tick();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let action = match action {
        Action::Held(gate) => {
            let _ = gate.acquire().await.map(|p| p.forget());
            Action::Pass
        }
        Action::Together(n) => {
            clock.together.fetch_add(1, Ordering::SeqCst);
            let until = Instant::now() + Duration::from_secs(4);
            while clock.together.load(Ordering::SeqCst) < n && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Action::Pass
        }
        other => other,
    };
    // Journaled before the client can see the answer: anything it sends after that arrives
    // later, and a test that has its answer finds it in the journal.
    let journaled = AtomicBool::new(false);
    let stamp = || {
        if !journaled.swap(true, Ordering::SeqCst) {
            journal.lock().unwrap().push(Journal {
                path: path.clone(),
                body: parsed.clone(),
                arrived,
                answered: clock.tick(),
            });
        }
    };
    let result = act(
        reader.into_inner(),
        action,
        upstream_port,
        head,
        body,
        &stamp,
    )
    .await;
    stamp();
    if let Some(ordered) = batch {
        overlap.lock().unwrap().end(ordered);
    }
    result
}

async fn act(
    mut conn: TcpStream,
    action: Action,
    upstream_port: u16,
    head: Vec<String>,
    body: Vec<u8>,
    stamp: &(dyn Fn() + Sync),
) -> std::io::Result<()> {
    stamp_if_not_forwarded(&action, stamp);
    match action {
        Action::Status(code, retry_after) => {
            let body = r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"injected by the test proxy"}"#;
            answer(&mut conn, code, retry_after, body).await?;
        }
        Action::PoolExhausted => {
            let body = r#"{"error_code":"BAD_REQUEST","message":"QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00 (Background on this error at: https://sqlalche.me/e/21/3o7r)"}"#;
            answer(&mut conn, 400, None, body).await?;
        }
        Action::Reset => {
            // Zero linger: the close is a reset, and nothing is left to flush, so no blocking.
            #[allow(deprecated)]
            conn.set_linger(Some(Duration::ZERO))?;
            drop(conn);
        }
        Action::Slow(d) => {
            tokio::time::sleep(d).await;
            drop(conn);
        }
        Action::Lost => {
            forward(upstream_port, &head, &body).await?;
            stamp();
            #[allow(deprecated)]
            conn.set_linger(Some(Duration::ZERO))?;
            drop(conn);
        }
        Action::Held(_) | Action::Together(_) | Action::Pass => {
            let resp = forward(upstream_port, &head, &body).await?;
            // Keep the client from reusing the connection: one request per connection.
            let split = resp
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .unwrap_or(resp.len());
            let head = String::from_utf8_lossy(&resp[..split]);
            let mut out: Vec<u8> = head
                .split("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .collect::<Vec<_>>()
                .join("\r\n")
                .into_bytes();
            out.extend_from_slice(b"\r\nconnection: close");
            out.extend_from_slice(&resp[split..]);
            stamp();
            conn.write_all(&out).await?;
            conn.shutdown().await?;
        }
    }
    Ok(())
}

/// Sends the request to the server on a connection of its own; returns the whole answer.
async fn forward(upstream_port: u16, head: &[String], body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port)).await?;
    let mut req = head.concat().into_bytes();
    req.extend_from_slice(b"connection: close\r\n\r\n");
    req.extend_from_slice(body);
    up.write_all(&req).await?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).await?;
    Ok(resp)
}

/// A request not forwarded is answered (or dropped) at once: stamp it before acting.
fn stamp_if_not_forwarded(action: &Action, stamp: &(dyn Fn() + Sync)) {
    if !matches!(
        action,
        Action::Pass | Action::Lost | Action::Held(_) | Action::Together(_)
    ) {
        stamp();
    }
}

/// Writes an HTTP answer of `code` with a JSON `body` and closes the connection.
async fn answer(
    conn: &mut TcpStream,
    code: u16,
    retry_after: Option<u32>,
    body: &str,
) -> std::io::Result<()> {
    let retry = retry_after
        .map(|s| format!("Retry-After: {s}\r\n"))
        .unwrap_or_default();
    let resp = format!(
        "HTTP/1.1 {code} Injected\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{retry}\r\n{body}",
        body.len()
    );
    conn.write_all(resp.as_bytes()).await?;
    conn.shutdown().await
}
