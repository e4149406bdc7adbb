//! Helpers of the S3 tests: a fault proxy between the clients and moto, and the
//! environment the crate reads.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// An HTTP/1.1 proxy in front of moto, one request per connection: it records every
/// request line and, for requests whose query has the parameter `fail_when` (such as
/// `partNumber=2`), closes the connection without forwarding (the part never reaches S3).
pub struct FaultProxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    failed: Arc<AtomicUsize>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16, fail_when: Option<&str>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let failed = Arc::new(AtomicUsize::new(0));
        let (log, fails) = (seen.clone(), failed.clone());
        let fail_when = fail_when.map(str::to_owned);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (log, fails, fail_when) = (log.clone(), fails.clone(), fail_when.clone());
                std::thread::spawn(move || {
                    let _ = relay(client, upstream_port, &log, &fails, fail_when.as_deref());
                });
            }
        });
        FaultProxy { port, seen, failed }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Request lines seen containing `what`.
    pub fn count(&self, what: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(what))
            .count()
    }

    pub fn lines(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests refused as scripted.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }
}

fn relay(
    client: TcpStream,
    upstream_port: u16,
    log: &Mutex<Vec<String>>,
    fails: &AtomicUsize,
    fail_when: Option<&str>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line)?;
    log.lock().unwrap().push(line.trim().to_owned());
    let has_param = |f: &str| {
        line.contains(&format!("?{f}&"))
            || line.contains(&format!("&{f}&"))
            || line.contains(&format!("?{f} "))
            || line.contains(&format!("&{f} "))
    };
    if fail_when.is_some_and(has_param) {
        fails.fetch_add(1, Ordering::SeqCst);
        client.shutdown(Shutdown::Both)?;
        return Ok(());
    }
    head.extend_from_slice(line.as_bytes());
    let mut len = 0u64;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        if h == "\r\n" || h.is_empty() {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("connection:") || lower.starts_with("expect:") {
            continue;
        }
        head.extend_from_slice(h.as_bytes());
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port))?;
    upstream.write_all(&head)?;
    std::io::copy(&mut (&mut reader).take(len), &mut upstream)?;
    let mut back = upstream.try_clone()?;
    let mut client_w = client;
    std::io::copy(&mut back, &mut client_w)?;
    client_w.shutdown(Shutdown::Both)?;
    Ok(())
}

/// Sets the variables of `pairs` in this process (one process per test under nextest).
pub fn set_env(pairs: &[(String, String)]) {
    for (k, v) in pairs {
        // SAFETY: set before the test starts any thread that reads the environment.
        unsafe { std::env::set_var(k, v) };
    }
}

/// A file of `len` bytes of a pattern that differs from part to part.
pub fn pattern_file(path: &std::path::Path, len: usize) {
    let mut bytes = Vec::with_capacity(len);
    let mut x: u32 = 2463534242;
    while bytes.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(len);
    std::fs::write(path, bytes).unwrap();
}

/// The SHA-256 of a file, as hex (through Python's hashlib in the MLflow venv, so that the
/// test needs no hashing crate).
pub fn sha256_hex(path: &std::path::Path) -> String {
    let v = mlflow_test_support::run_python(
        "import hashlib, json, sys, os\nprint(json.dumps(hashlib.sha256(open(os.environ['F'], 'rb').read()).hexdigest()))",
        &[("F", path.to_str().unwrap())],
    );
    v.as_str().unwrap().to_owned()
}
