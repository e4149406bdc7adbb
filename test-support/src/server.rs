//! Real `mlflow server` processes: the suite's shared one, and private ones a test
//! describes with [`ServerSpec`].

use std::ffi::{OsStr, OsString};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::http::health_ok;
use crate::python::python_command;

/// How long a server may take to answer `GET /health`: about 10 s alone, but a private
/// server starts while other tests load both cores, and has been seen to need over 60 s.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a stopping server gets after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Process groups of servers not stopped yet, killed when the process exits: a guard kept
/// in a static is never dropped, and under MLflow 2.x the kernel's parent-death signal
/// reaches `mlflow` but not the gunicorn it started, which would outlive the tests.
static LIVE_GROUPS: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

extern "C" fn kill_live_groups() {
    if let Ok(groups) = LIVE_GROUPS.try_lock() {
        for &pgid in groups.iter() {
            // SAFETY: kill(2) on process groups this process created.
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

/// How to start a real `mlflow server --workers 1 --host 127.0.0.1`: the backend store,
/// where artifacts go, extra arguments and environment, the port and the log file.
/// [`start`](ServerSpec::start) runs it.
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
    /// speak TLS, and it then counts as up once its port accepts connections.
    pub fn args<I, S>(mut self, args: I) -> ServerSpec
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Extra environment for the server.
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

    /// Listen on `port` (default: a free one, retried if another process takes it first).
    pub fn port(mut self, port: u16) -> ServerSpec {
        self.port = Some(port);
        self
    }

    /// Append the server's stdout and stderr to `path` (default: a file the guard owns).
    pub fn log_path(mut self, path: impl Into<PathBuf>) -> ServerSpec {
        self.log_path = Some(path.into());
        self
    }

    fn tls(&self) -> bool {
        self.args
            .iter()
            .any(|a| a.to_string_lossy().contains("--ssl-certfile"))
    }

    /// Starts the server and waits until it is up.
    ///
    /// Panics, printing the server's log, when it does not come up; needs the venv (guard
    /// the test with [`require_python!`](crate::require_python)).
    pub fn start(self) -> ServerGuard {
        let dir = tempfile::Builder::new()
            .prefix("mlflow-test-server-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
        let log_path = self
            .log_path
            .clone()
            .unwrap_or_else(|| dir.path().join("server.log"));
        // A port picked free can be taken before the server binds it; try a few.
        let attempts = if self.port.is_some() { 1 } else { 3 };
        let mut guard = ServerGuard {
            spec: self,
            port: 0,
            uri: String::new(),
            log_path,
            child: None,
            dir,
        };
        let mut last_log = String::new();
        for _ in 0..attempts {
            guard.port = guard.spec.port.unwrap_or_else(free_port);
            guard.uri = format!("http://127.0.0.1:{}", guard.port);
            match guard.launch() {
                Ok(()) => return guard,
                Err(log) => last_log = log,
            }
        }
        panic!(
            "mlflow server over {} did not start:\n{last_log}",
            guard.spec.backend_store_uri
        );
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
    child: Option<Child>,
    // Holds the default log and artifact root; removed after the server has stopped.
    dir: tempfile::TempDir,
}

impl ServerGuard {
    /// `http://127.0.0.1:PORT`.
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
    /// runs); panics, printing the log, when it does not come up.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.launch() {
            panic!("mlflow server did not restart:\n{log}");
        }
    }

    /// Kills the server abruptly (SIGKILL to its process group), as a crash would, and waits
    /// until its port refuses connections.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) with a negative pid signals the process group we created; the
            // pid is ours and still unreaped, so it cannot have been reused.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            untrack_group(child.id() as libc::pid_t);
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (SIGTERM to its process group, SIGKILL after a grace period) and
    /// waits for it. What of the group outlives `mlflow server` itself is killed too: under
    /// MLflow 2.x the server is gunicorn, whose master shuts down on its own time after the
    /// SIGTERM, and was left running once its parent had exited.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // The server runs in its own process group (uvicorn or gunicorn is a child of
        // `mlflow`), so signal the group.
        let pgid = child.id() as libc::pid_t;
        if child.try_wait().ok().flatten().is_none() {
            // SAFETY: kill(2) with a negative pid signals the process group we created; the
            // leader is ours and unreaped, so its id cannot have been reused.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // SAFETY: as above; once the leader is reaped, the group id stays reserved while any
        // member is left, and signalling an empty group only fails with ESRCH.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = child.wait();
        untrack_group(pgid);
    }

    /// Spawns the server on `self.port`; `Err` carries its log when it exited or never came
    /// up.
    fn launch(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| format!("cannot open the log {}: {e}", self.log_path.display()))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot share the log: {e}"))?;
        let mut cmd = python_command();
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
        .arg(&self.spec.backend_store_uri);
        match &self.spec.artifacts {
            Artifacts::Temporary => cmd
                .arg("--default-artifact-root")
                .arg(self.dir.path().join("artifacts")),
            Artifacts::DefaultRoot(dir) => cmd.arg("--default-artifact-root").arg(dir),
            Artifacts::Destination(dir) => cmd.arg("--artifacts-destination").arg(dir),
        };
        cmd.args(&self.spec.args)
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        // If this process dies without dropping the guard (abort, SIGKILL, a guard kept in
        // a static), the kernel sends SIGTERM to `mlflow`, which forwards it to uvicorn.
        // SAFETY: prctl is async-signal-safe and touches only the child being exec'd.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = spawn_from_immortal_thread(cmd)
            .map_err(|e| format!("cannot start mlflow server: {e}"))?;
        track_group(child.id() as libc::pid_t);
        self.child = Some(child);

        let tls = self.spec.tls();
        let deadline = Instant::now() + HEALTH_TIMEOUT;
        loop {
            let up = if tls {
                TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok()
            } else {
                health_ok(self.port)
            };
            if up {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "mlflow server exited with {status}; its log:\n{}",
                    self.log()
                ));
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "mlflow server was not healthy after {HEALTH_TIMEOUT:?}; its log:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a private `mlflow server --workers 1` over the SQLite file `db_path` (created if
/// missing) on a free loopback port and waits until it is healthy. Artifacts and the log
/// go to a temporary folder owned by the guard. Short for
/// `ServerSpec::sqlite(db_path).start()`.
///
/// Panics, printing the server's log, when it does not come up; needs the venv (guard the
/// test with [`require_python!`](crate::require_python)).
pub fn start_server(db_path: &Path) -> ServerGuard {
    ServerSpec::sqlite(db_path).start()
}

/// Spawns `cmd` from a thread that never ends. PR_SET_PDEATHSIG fires when the spawning
/// *thread* exits, and test threads end long before the process does.
fn spawn_from_immortal_thread(mut cmd: Command) -> std::io::Result<Child> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("mlflow-test-server-parent".into())
        .spawn(move || {
            let _ = tx.send(cmd.spawn());
            loop {
                std::thread::park();
            }
        })?;
    rx.recv()
        .map_err(|_| std::io::Error::other("the spawning thread died"))?
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
/// `scripts/test.sh`), else a private `mlflow server --workers 1` started for this process
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
