//! Real `mlflow server` processes: the suite's shared one, and private ones over a given
//! SQLite file.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use crate::python::python_command;

/// How long a server may take to answer `GET /health`: about 10 s alone, but a private
/// server starts while other tests load both cores, and has been seen to need over 60 s.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a stopping server gets after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `mlflow server` that this process started; stopped (its whole process group)
/// when dropped.
#[derive(Debug)]
pub struct ServerGuard {
    child: Child,
    uri: String,
    log_path: PathBuf,
    // Holds the log and the artifact root; removed after the server has stopped.
    _dir: tempfile::TempDir,
}

impl ServerGuard {
    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The file holding the server's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        // The server runs in its own process group (uvicorn is a child of `mlflow`), so
        // signal the group. The pid is ours and still unreaped, so it cannot be reused.
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals the process group we created.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a private `mlflow server --workers 1` over the SQLite file `db_path` (created if
/// missing) on a free loopback port and waits until it is healthy. Artifacts and the log
/// go to a temporary folder owned by the guard.
///
/// Panics, printing the server's log, when it does not come up; needs the venv (guard the
/// test with [`require_python!`](crate::require_python)).
pub fn start_server(db_path: &Path) -> ServerGuard {
    let db_path = std::path::absolute(db_path)
        .unwrap_or_else(|e| panic!("cannot resolve {}: {e}", db_path.display()));
    let mut last_log = String::new();
    // A port picked free can be taken before the server binds it; try a few.
    for _ in 0..3 {
        match try_start(&db_path) {
            Ok(guard) => return guard,
            Err(log) => last_log = log,
        }
    }
    panic!(
        "mlflow server over {} did not start:\n{last_log}",
        db_path.display()
    );
}

/// Starts one server; `Err` carries its log when it exited or never became healthy.
fn try_start(db_path: &Path) -> Result<ServerGuard, String> {
    let dir = tempfile::Builder::new()
        .prefix("mlflow-test-server-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let log_path = dir.path().join("server.log");
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("cannot create the log: {e}"))?;
    let log_err = log
        .try_clone()
        .map_err(|e| format!("cannot share the log: {e}"))?;
    let port = free_port().map_err(|e| format!("no free port: {e}"))?;

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
    .arg(port.to_string())
    .arg("--backend-store-uri")
    .arg(format!("sqlite:///{}", db_path.display()))
    .arg("--default-artifact-root")
    .arg(dir.path().join("artifacts"))
    .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    .stdin(Stdio::null())
    .stdout(log)
    .stderr(log_err)
    .process_group(0);
    // If this process dies without dropping the guard (abort, SIGKILL), the kernel sends
    // SIGTERM to `mlflow`, which forwards it to its uvicorn child.
    // SAFETY: prctl is async-signal-safe and touches only the child being exec'd.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child =
        spawn_from_immortal_thread(cmd).map_err(|e| format!("cannot start mlflow server: {e}"))?;
    let mut guard = ServerGuard {
        child,
        uri: format!("http://127.0.0.1:{port}"),
        log_path,
        _dir: dir,
    };

    let deadline = Instant::now() + HEALTH_TIMEOUT;
    loop {
        if health_ok(port) {
            return Ok(guard);
        }
        if let Ok(Some(status)) = guard.child.try_wait() {
            return Err(format!(
                "mlflow server exited with {status}; its log:\n{}",
                guard.log()
            ));
        }
        if Instant::now() >= deadline {
            guard.stop();
            return Err(format!(
                "mlflow server was not healthy after {HEALTH_TIMEOUT:?}; its log:\n{}",
                guard.log()
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
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

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// `GET /health` answers 200 with body `OK`.
fn health_ok(port: u16) -> bool {
    let Ok(mut stream) =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(2))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /health HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    if stream.read_to_string(&mut response).is_err() {
        return false;
    }
    let status_ok = response
        .lines()
        .next()
        .is_some_and(|l| l.split_whitespace().nth(1) == Some("200"));
    status_ok
        && response
            .rsplit("\r\n\r\n")
            .next()
            .is_some_and(|body| body.trim() == "OK")
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
