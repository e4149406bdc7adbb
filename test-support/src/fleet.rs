//! A fleet of real `mlflow server` processes over one PostgreSQL database behind nginx,
//! started by `scripts/fleet.py` (the same launcher the benches use).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::python::{is_ci, python, python_command};

/// How long the launcher may take to print its JSON line: PostgreSQL, `mlflow db upgrade`
/// and the servers take about 30 s alone on 2 cores, far more while other tests build or run.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the launcher gets to tear down after its stdin closes, before SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// `scripts/fleet.py` in the workspace.
pub fn fleet_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("scripts")
        .join("fleet.py")
}

/// What the fleet needs and this machine lacks (PostgreSQL's binaries, nginx, `psycopg` in
/// the venv), each with its fix, as `scripts/fleet.py --check` reports it; empty when
/// nothing is missing. Panics when there is no venv (guard with
/// [`require_python!`](crate::require_python)).
pub fn fleet_missing() -> Vec<String> {
    let output = python_command()
        .arg(fleet_script())
        .arg("--check")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", fleet_script().display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => Vec::new(),
        Some(3) => stderr
            .lines()
            .filter_map(|l| l.strip_prefix("missing: "))
            .map(str::to_owned)
            .collect(),
        _ => panic!(
            "{} --check failed ({}):\n{stderr}",
            fleet_script().display(),
            output.status
        ),
    }
}

/// How to start a [`Fleet`]: how many servers and `--workers` each.
#[derive(Debug, Clone)]
pub struct FleetSpec {
    servers: usize,
    workers: usize,
    access_log: bool,
}

impl Default for FleetSpec {
    fn default() -> Self {
        FleetSpec {
            servers: 2,
            workers: 1,
            access_log: true,
        }
    }
}

impl FleetSpec {
    /// Two servers, one worker each, nginx's access log on.
    pub fn new() -> FleetSpec {
        FleetSpec::default()
    }

    /// The number of `mlflow server` processes behind nginx (default 2).
    pub fn servers(mut self, n: usize) -> FleetSpec {
        self.servers = n;
        self
    }

    /// `--workers` of each server (default 1).
    pub fn workers(mut self, n: usize) -> FleetSpec {
        self.workers = n;
        self
    }

    /// nginx's access log (`nginx-access.log` in [`Fleet::dir`]); on by default.
    pub fn access_log(mut self, on: bool) -> FleetSpec {
        self.access_log = on;
        self
    }

    /// Starts the fleet and waits until nginx answers `/health`.
    ///
    /// Panics, printing the launcher's stderr, when it does not come up; needs the venv and
    /// the system packages (guard the test with [`require_fleet!`](crate::require_fleet)).
    pub fn start(self) -> Fleet {
        let dir = tempfile::Builder::new()
            .prefix("mlflow-test-fleet-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
        let stderr_path = dir.path().join("launcher.log");
        let stderr = std::fs::File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        let mut cmd = python_command();
        cmd.arg(fleet_script())
            .arg("--dir")
            .arg(dir.path())
            .arg("--servers")
            .arg(self.servers.to_string())
            .arg("--workers")
            .arg(self.workers.to_string());
        if !self.access_log {
            cmd.arg("--no-access-log");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", fleet_script().display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(read.map(|_| line));
        });
        let mut fleet = Fleet {
            child: Some(child),
            stdin,
            info: Value::Null,
            stderr_path,
            dir,
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let status = fleet.stop();
                panic!(
                    "the fleet launcher ended without starting the fleet ({status}):\n{}",
                    fleet.launcher_log()
                );
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                fleet.stop();
                panic!(
                    "the fleet did not start within {START_TIMEOUT:?}; the launcher's log:\n{}",
                    fleet.launcher_log()
                );
            }
        };
        fleet.info = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the fleet launcher printed no JSON ({e}): {line}"));
        fleet
    }
}

/// A running fleet (see [`FleetSpec`]): PostgreSQL, N `mlflow server` processes sharing
/// its database and one artifact folder, and nginx balancing over them. Dropping it closes
/// the launcher's stdin, which tears everything down; the guard waits for that.
#[derive(Debug)]
pub struct Fleet {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    info: Value,
    stderr_path: PathBuf,
    // Holds logs, nginx's config and the artifacts; removed after the launcher has stopped.
    dir: tempfile::TempDir,
}

impl Fleet {
    /// Two servers behind nginx; short for `FleetSpec::new().start()`.
    pub fn start() -> Fleet {
        FleetSpec::new().start()
    }

    /// `http://127.0.0.1:PORT` of nginx, the load balancer: what clients use.
    pub fn uri(&self) -> &str {
        self.info["uri"].as_str().unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT` of each server behind nginx.
    pub fn server_uris(&self) -> Vec<String> {
        self.info["servers"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `postgresql+psycopg://...` of the servers' backend store.
    pub fn postgres_uri(&self) -> &str {
        self.info["postgres"].as_str().unwrap_or_default()
    }

    /// The servers' shared `--artifacts-destination` folder.
    pub fn artifacts_dir(&self) -> PathBuf {
        PathBuf::from(self.info["artifacts"].as_str().unwrap_or_default())
    }

    /// The folder with the servers' logs (`server-N.log`), nginx's config and logs, and the
    /// artifacts.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What the launcher printed on stderr, and the last lines of every server's and
    /// nginx's error log: for failure messages.
    pub fn logs(&self) -> String {
        let mut out = self.launcher_log();
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        names.sort();
        for path in names {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with("server-") || name == "nginx-error.log" {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                out.push_str(&format!("\n--- {name} (tail) ---\n"));
                out.push_str(&lines[lines.len().saturating_sub(30)..].join("\n"));
            }
        }
        out
    }

    fn launcher_log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Closes the launcher's stdin and waits for its teardown; SIGTERM (which also tears
    /// down) after [`STOP_TIMEOUT`], SIGKILL 10 s later. Returns how it ended.
    fn stop(&mut self) -> String {
        drop(self.stdin.take());
        let Some(mut child) = self.child.take() else {
            return "already stopped".into();
        };
        let wait_until = |child: &mut Child, deadline: Instant| loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return None,
            }
        };
        if let Some(status) = wait_until(&mut child, Instant::now() + STOP_TIMEOUT) {
            return status.to_string();
        }
        // SAFETY: kill(2) on our own unreaped child: its pid cannot have been reused.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        if let Some(status) = wait_until(&mut child, Instant::now() + Duration::from_secs(10)) {
            return status.to_string();
        }
        let _ = child.kill();
        child
            .wait()
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string())
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A started [`Fleet`] when the venv, PostgreSQL, nginx and `psycopg` are there. Otherwise
/// `None` with a printed `skipped: ...` note, or under `CI=true` a panic naming what is
/// missing. Tests use [`require_fleet!`](crate::require_fleet) rather than this.
pub fn fleet_if_available(spec: FleetSpec) -> Option<Fleet> {
    if python().is_none() {
        eprintln!(
            "skipped: no MLflow venv at {} (run ./scripts/test.sh, or set MLFLOW_TEST_PYTHON)",
            crate::default_venv_dir().display()
        );
        return None;
    }
    let missing = fleet_missing();
    if !missing.is_empty() {
        let list = missing.join("\n  - ");
        if is_ci() {
            panic!("CI=true but the fleet cannot start; missing:\n  - {list}");
        }
        eprintln!("skipped: the fleet cannot start; missing:\n  - {list}");
        return None;
    }
    Some(spec.start())
}
