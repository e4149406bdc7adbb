//! Helpers for the fault tests: a real `mlflow server` that can be killed and restarted on
//! the same port over the same SQLite file, and a scripted HTTP proxy in front of it.
#![allow(dead_code, unreachable_pub)]

pub mod proxy;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Backoff knobs shrunk so that fault tests stay fast.
pub const FAST_RETRIES: &[(&str, &str)] = &[
    ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.1"),
    ("MLFLOW_HTTP_REQUEST_TIMEOUT", "10"),
];

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A real `mlflow server` on a fixed port over a fixed SQLite file.
pub struct Server {
    pub port: u16,
    db: PathBuf,
    art: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    extra: Vec<(String, String)>,
    args: Vec<String>,
    /// Serves TLS: health is then "the port accepts connections".
    pub tls: bool,
}

impl Server {
    /// Starts a server over `dir/m.db` and waits until it is healthy.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[], &[])
    }

    /// Starts a server with extra `mlflow server` arguments and environment.
    pub fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut server = Server {
            port: free_port(),
            db: dir.join("m.db"),
            art: dir.join("art"),
            log: dir.join("server.log"),
            child: None,
            extra: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            args: args.iter().map(|a| a.to_string()).collect(),
            tls: args.iter().any(|a| a.contains("--ssl-certfile")),
        };
        server.restart();
        server
    }

    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on the same port and file.
    pub fn restart(&mut self) {
        let python = mlflow_test_support::python().expect("the MLflow venv");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log");
        let mut cmd = Command::new(python);
        cmd.args([
            "-m",
            "mlflow",
            "server",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
        ])
        .arg("--port")
        .arg(self.port.to_string())
        .arg("--backend-store-uri")
        .arg(format!("sqlite:///{}", self.db.display()))
        .arg("--default-artifact-root")
        .arg(&self.art)
        .args(&self.args)
        .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .envs(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env_remove("MLFLOW_TRACKING_URI")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .process_group(0);
        self.child = Some(cmd.spawn().expect("spawn mlflow server"));
        let deadline = Instant::now() + Duration::from_secs(120);
        while !(if self.tls {
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
        } else {
            health_ok(self.port)
        }) {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none(),
                "mlflow server exited ({exited:?}):\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            assert!(
                Instant::now() < deadline,
                "mlflow server did not come up:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the server abruptly (SIGKILL to its process group), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = child.id() as libc::pid_t;
            // SAFETY: signals the process group this test created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait();
        }
        // The port must be free again before anyone connects expecting a refusal.
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn health_ok(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.starts_with("HTTP/1.1 200") || out.starts_with("HTTP/1.0 200")
}

/// The `.jsonl` files in `dir`.
pub fn spill_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `f` and panics if it takes longer than `limit`: every fault test is bounded.
pub fn bounded<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("failed (see above)"),
    }
}

/// Runs the test `name` again in a fresh process with `env` (see `run_self`), bounded.
pub fn run_child(name: &'static str, env: Vec<(String, String)>, limit: Duration) {
    bounded(limit, move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        mlflow_test_support::run_self(name, None, &env);
    });
}

/// `FAST_RETRIES` overridden by `more`, owned.
pub fn env_with(more: &[(&str, &str)]) -> Vec<(String, String)> {
    FAST_RETRIES
        .iter()
        .filter(|(k, _)| !more.iter().any(|(m, _)| m == k))
        .chain(more)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
