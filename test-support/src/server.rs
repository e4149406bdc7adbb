//! Real `mlflow server` processes: the suite's shared one, and private ones a test
//! describes with [`ServerSpec`].
//!
//! Every one is started by `scripts/mlflow_server.py` run as a launcher ([`server_script`]),
//! the one way the test script, the benches and the fleet start a server too: the server's
//! flags and environment, when it counts as up, how long it may take and how it is stopped
//! are written there only. The launcher prints a JSON line once the server is up and stops
//! it (its whole process group) when its stdin closes: when the guard stops it, and when this
//! process ends in any way.

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::python::python_command;

/// How long the launcher gets to stop its server after its stdin closes (its own
/// STOP_TIMEOUT, 10 s, and a margin) before it and the server's group are killed.
const LAUNCHER_STOP_WAIT: Duration = Duration::from_secs(30);
/// How long a killed server's port may keep accepting connections.
const PORT_CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Process groups of servers not stopped yet, killed when the process exits: a guard kept
/// in a static is never dropped. (The launchers see their stdin close at exit and stop their
/// servers too; this does not wait for them.)
static LIVE_GROUPS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

extern "C" fn kill_live_groups() {
    if let Ok(groups) = LIVE_GROUPS.try_lock() {
        for &pgid in groups.iter() {
            // SAFETY: kill(2) on process groups this process's launchers created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

fn track_group(pgid: libc::pid_t) {
    static AT_EXIT: OnceLock<()> = OnceLock::new();
    AT_EXIT.get_or_init(|| {
        // SAFETY: registers a plain function that only reads a static and calls kill(2).
        unsafe { libc::atexit(kill_live_groups) };
    });
    if let Ok(mut groups) = LIVE_GROUPS.lock() {
        groups.push(pgid);
    }
}

fn untrack_group(pgid: libc::pid_t) {
    if let Ok(mut groups) = LIVE_GROUPS.lock() {
        groups.retain(|&g| g != pgid);
    }
}

/// `scripts/mlflow_server.py` in the workspace: the one server launcher.
pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("mlflow_server.py")
}

/// How to start a real `mlflow server` (one worker, on 127.0.0.1, with the flags of
/// `scripts/mlflow_server.py`): the backend store, where artifacts go, extra arguments and
/// environment, the port and the log file. [`start`](ServerSpec::start) runs it.
///
/// ```no_run
/// # use std::path::Path;
/// # let dir = Path::new("/tmp/x");
/// let server = mlflow_test_support::ServerSpec::sqlite(&dir.join("m.db"))
///     .artifacts_destination(dir.join("proxied"))
///     .start();
/// println!("{}", server.uri());
/// ```
#[derive(Debug, Clone)]
pub struct ServerSpec {
    backend_store_uri: String,
    artifacts: Artifacts,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    port: Option<u16>,
    log_path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
enum Artifacts {
    /// `--default-artifact-root` in the guard's temporary folder.
    Temporary,
    DefaultRoot(PathBuf),
    Destination(PathBuf),
}

impl ServerSpec {
    /// A server over the backend store `backend_store_uri` (any `--backend-store-uri`).
    pub fn new(backend_store_uri: impl Into<String>) -> ServerSpec {
        ServerSpec {
            backend_store_uri: backend_store_uri.into(),
            artifacts: Artifacts::Temporary,
            args: Vec::new(),
            env: Vec::new(),
            port: None,
            log_path: None,
        }
    }

    /// A server over the SQLite file `db_path` (created if missing).
    ///
    /// Panics when the path cannot be made absolute.
    pub fn sqlite(db_path: &Path) -> ServerSpec {
        let db_path = std::path::absolute(db_path)
            .unwrap_or_else(|e| panic!("cannot resolve {}: {e}", db_path.display()));
        ServerSpec::new(format!("sqlite:///{}", db_path.display()))
    }

    /// `--default-artifact-root dir` (the default: a folder the guard owns).
    pub fn default_artifact_root(mut self, dir: impl Into<PathBuf>) -> ServerSpec {
        self.artifacts = Artifacts::DefaultRoot(dir.into());
        self
    }

    /// `--artifacts-destination dir`: the server proxies artifacts (`mlflow-artifacts:/`).
    pub fn artifacts_destination(mut self, dir: impl Into<PathBuf>) -> ServerSpec {
        self.artifacts = Artifacts::Destination(dir.into());
        self
    }

    /// Extra `mlflow server` arguments. One containing `--ssl-certfile` makes the server
    /// speak TLS, and it then counts as up once its port accepts connections (the
    /// launcher's rule).
    pub fn args<I, S>(mut self, args: I) -> ServerSpec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Extra environment for the server (over the launcher's common variables).
    pub fn envs<I, K, V>(mut self, env: I) -> ServerSpec
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.env.extend(
            env.into_iter()
                .map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())),
        );
        self
    }

    /// Listen on `port` (default: a free one, which the launcher retries with another if a
    /// process takes it first).
    pub fn port(mut self, port: u16) -> ServerSpec {
        self.port = Some(port);
        self
    }

    /// Append the server's stdout and stderr to `path` (default: a file the guard owns).
    pub fn log_path(mut self, path: impl Into<PathBuf>) -> ServerSpec {
        self.log_path = Some(path.into());
        self
    }

    /// Starts the server and waits until it is up.
    ///
    /// Panics, printing why and the server's log, when it does not come up; needs the venv
    /// (guard the test with [`require_python!`](crate::require_python)).
    pub fn start(self) -> ServerGuard {
        let dir = tempfile::Builder::new()
            .prefix("mlflow-test-server-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
        let log_path = self
            .log_path
            .clone()
            .unwrap_or_else(|| dir.path().join("server.log"));
        let port = self.port;
        let mut guard = ServerGuard {
            spec: self,
            port: port.unwrap_or(0),
            uri: String::new(),
            log_path,
            launcher: None,
            dir,
        };
        if let Err(why) = guard.launch(port) {
            panic!(
                "mlflow server over {} did not start: {why}",
                guard.spec.backend_store_uri
            );
        }
        guard
    }
}

/// A running `mlflow server` that this process started (see [`ServerSpec`]); stopped (its
/// whole process group) when dropped. It keeps its port across [`kill`](ServerGuard::kill)
/// and [`restart`](ServerGuard::restart).
#[derive(Debug)]
pub struct ServerGuard {
    spec: ServerSpec,
    port: u16,
    uri: String,
    log_path: PathBuf,
    launcher: Option<Launcher>,
    // Holds the default log and artifact root; removed after the server has stopped.
    dir: tempfile::TempDir,
}

/// `scripts/mlflow_server.py` supervising one server: closing its stdin stops the server.
#[derive(Debug)]
struct Launcher {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The server's process group (its leader is `mlflow server`).
    pgid: libc::pid_t,
}

impl Launcher {
    /// Closes the launcher's stdin and waits until it has stopped the server; kills it and
    /// the server's group when it takes longer than [`LAUNCHER_STOP_WAIT`].
    fn finish(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + LAUNCHER_STOP_WAIT;
        let clean = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => break false,
            }
        };
        if !clean {
            let _ = self.child.kill();
            let _ = self.child.wait();
            // SAFETY: kill(2) on the group the launcher created; the launcher did not finish
            // its own teardown, so the group may still have members.
            unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        }
        untrack_group(self.pgid);
    }
}

impl ServerGuard {
    /// `http://127.0.0.1:PORT` (`https://` for a server speaking TLS).
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The file holding the server's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Starts the server again on the same port, store and log (stopping it first if it
    /// runs); panics, printing why and the log, when it does not come up.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(why) = self.launch(Some(self.port)) {
            panic!("mlflow server did not restart: {why}");
        }
    }

    /// Kills the server abruptly (SIGKILL to its process group), as a crash would, and waits
    /// until its port refuses connections.
    pub fn kill(&mut self) {
        if let Some(launcher) = self.launcher.take() {
            // SAFETY: kill(2) on the process group the launcher created; its leader is the
            // launcher's unreaped child until the launcher sees its stdin close, so the id
            // cannot have been reused.
            unsafe { libc::kill(-launcher.pgid, libc::SIGKILL) };
            launcher.finish();
        }
        let deadline = Instant::now() + PORT_CLOSE_WAIT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server and waits for it: the launcher sends SIGTERM to its process group,
    /// SIGKILL after a grace period, and SIGKILL to what of the group outlives `mlflow
    /// server` itself (under MLflow 2.x the server is gunicorn, whose master shuts down on
    /// its own time after the SIGTERM, and was left running once its parent had exited).
    pub fn stop(&mut self) {
        if let Some(launcher) = self.launcher.take() {
            launcher.finish();
        }
    }

    /// Runs the launcher (on `port`, else on a port it picks) and waits for its JSON line;
    /// `Err` says why the server did not come up, with its log.
    fn launch(&mut self, port: Option<u16>) -> Result<(), String> {
        let launcher_log = self.dir.path().join("launcher.log");
        let stderr = std::fs::File::create(&launcher_log)
            .map_err(|e| format!("cannot create {}: {e}", launcher_log.display()))?;
        let mut cmd = python_command();
        cmd.arg(server_script())
            .arg("--backend-store-uri")
            .arg(&self.spec.backend_store_uri)
            .arg("--log")
            .arg(&self.log_path);
        match &self.spec.artifacts {
            Artifacts::Temporary => cmd
                .arg("--default-artifact-root")
                .arg(self.dir.path().join("artifacts")),
            Artifacts::DefaultRoot(dir) => cmd.arg("--default-artifact-root").arg(dir),
            Artifacts::Destination(dir) => cmd.arg("--artifacts-destination").arg(dir),
        };
        if let Some(port) = port {
            cmd.arg("--port").arg(port.to_string());
        }
        for (name, value) in &self.spec.env {
            let mut pair = name.clone();
            pair.push("=");
            pair.push(value);
            cmd.arg("--env").arg(pair);
        }
        cmd.arg("--")
            .args(&self.spec.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", server_script().display()))?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        // The launcher prints its line once the server is up, or exits when it is not (its
        // own timeout bounds the wait).
        let read = child
            .stdout
            .take()
            .map(|out| BufReader::new(out).read_line(&mut line));
        let info: Option<serde_json::Value> = match read {
            Some(Ok(_)) => serde_json::from_str(&line).ok(),
            _ => None,
        };
        let parsed = info.as_ref().and_then(|v| {
            Some((
                v["uri"].as_str()?.to_owned(),
                u16::try_from(v["port"].as_u64()?).ok()?,
                libc::pid_t::try_from(v["pgid"].as_i64()?).ok()?,
            ))
        });
        let Some((uri, port, pgid)) = parsed else {
            drop(stdin);
            let _ = child.kill();
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            return Err(format!(
                "the launcher ended ({status}):\n{}\n--- the server's log ---\n{}",
                std::fs::read_to_string(&launcher_log)
                    .unwrap_or_default()
                    .trim_end(),
                self.log()
            ));
        };
        track_group(pgid);
        self.uri = uri;
        self.port = port;
        self.launcher = Some(Launcher { child, stdin, pgid });
        Ok(())
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a private `mlflow server` (one worker) over the SQLite file `db_path` (created if
/// missing) on a free loopback port and waits until it is healthy. Artifacts and the log
/// go to a temporary folder owned by the guard. Short for
/// `ServerSpec::sqlite(db_path).start()`.
///
/// Panics, printing the server's log, when it does not come up; needs the venv (guard the
/// test with [`require_python!`](crate::require_python)).
pub fn start_server(db_path: &Path) -> ServerGuard {
    ServerSpec::sqlite(db_path).start()
}

/// A free loopback port (another process may take it before it is bound).
///
/// Panics when the system has none.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The process-wide private server, when `MLFLOW_TEST_SERVER_URI` is not set.
/// The folder holds its database; a tuple drops in order, so the server stops first.
static PRIVATE_SERVER: Mutex<Option<(ServerGuard, tempfile::TempDir)>> = Mutex::new(None);

extern "C" fn stop_private_server() {
    let mut slot = PRIVATE_SERVER.lock().unwrap_or_else(|e| e.into_inner());
    drop(slot.take());
}

/// The URI of the real MLflow server the tests share: `MLFLOW_TEST_SERVER_URI` (set by
/// `scripts/test.sh`), else a private `mlflow server` started for this process
/// on first use and stopped at process exit (about 10 s per test process; the script's
/// shared server avoids that).
///
/// `None` when there is no venv to start one from (a panic under `CI=true`). Tests use
/// [`require_server!`](crate::require_server) rather than this.
pub fn server_uri() -> Option<String> {
    static URI: OnceLock<Option<String>> = OnceLock::new();
    URI.get_or_init(|| {
        if let Some(uri) = std::env::var("MLFLOW_TEST_SERVER_URI")
            .ok()
            .filter(|u| !u.is_empty())
        {
            return Some(uri.trim_end_matches('/').to_owned());
        }
        crate::python()?;
        let dir = tempfile::Builder::new()
            .prefix("mlflow-test-db-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
        let guard = start_server(&dir.path().join("mlflow.db"));
        let uri = guard.uri().to_owned();
        *PRIVATE_SERVER.lock().unwrap_or_else(|e| e.into_inner()) = Some((guard, dir));
        // SAFETY: registers a plain `extern "C" fn` that only drops the guard.
        unsafe { libc::atexit(stop_private_server) };
        Some(uri)
    })
    .clone()
}

/// The last `lines` lines of the shared server's log (`MLFLOW_TEST_SERVER_LOG`, or the
/// private server's), for failure messages; empty when there is none.
pub fn server_log_tail(lines: usize) -> String {
    let log = match std::env::var_os("MLFLOW_TEST_SERVER_LOG") {
        Some(path) => std::fs::read_to_string(path).unwrap_or_default(),
        None => PRIVATE_SERVER
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(guard, _)| guard.log())
            .unwrap_or_default(),
    };
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
