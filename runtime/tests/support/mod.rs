//! Shared by the integration tests that run the pinned MLflow (Python).
#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned MLflow's Python: `MLFLOW_TEST_PYTHON`, else `bin/python` of the venv
/// (`MLFLOW_TEST_VENV`, else `~/.cache/mlflow-rs-test/venv-mlflow-3.17.2`).
///
/// Missing: under `CI=true` the test fails; elsewhere it prints a note and the test skips.
pub fn python() -> Option<PathBuf> {
    let python = match std::env::var_os("MLFLOW_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => {
            let venv = std::env::var_os("MLFLOW_TEST_VENV")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    let home = std::env::var_os("HOME").unwrap_or_default();
                    Path::new(&home).join(".cache/mlflow-rs-test/venv-mlflow-3.17.2")
                });
            venv.join("bin/python")
        }
    };
    if python.exists() {
        return Some(python);
    }
    let message = format!(
        "the pinned MLflow's python is missing at {} (set MLFLOW_TEST_PYTHON or MLFLOW_TEST_VENV)",
        python.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{message}");
    }
    eprintln!("note: skipping: {message}");
    None
}

/// A command running the pinned Python, with telemetry off.
pub fn python_command(python: &Path) -> Command {
    let mut cmd = Command::new(python);
    cmd.env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("MLFLOW_EXPERIMENT_NAME")
        .env_remove("MLFLOW_EXPERIMENT_ID")
        .env_remove("MLFLOW_RUN_ID");
    cmd
}

/// Runs a Python script (given as source) in `cwd` and returns its stdout; panics with its
/// output when it fails.
pub fn run_python(python: &Path, cwd: &Path, script: &str, args: &[&str]) -> String {
    let output = python_command(python)
        .current_dir(cwd)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("start python");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "python failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The last stdout line of a script that prints one JSON document at the end.
pub fn last_json(stdout: &str) -> serde_json::Value {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"))
}

/// A free loopback port (there is a small window before the server binds it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `mlflow server`; stopped (its whole process group) on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// Where the server's stdout and stderr go.
    pub log: PathBuf,
}

impl Server {
    /// Starts the lean server (one worker, no job runner) on `backend_uri` and waits until
    /// `/health` answers.
    pub fn start(python: &Path, backend_uri: &str, artifacts: &Path, log: &Path) -> Server {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let out = File::create(log).expect("server log");
        let err = out.try_clone().expect("server log");
        let child = python_command(python)
            .args([
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--workers",
                "1",
            ])
            .arg("--port")
            .arg(port.to_string())
            .arg("--backend-store-uri")
            .arg(backend_uri)
            .arg("--default-artifact-root")
            .arg(artifacts)
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .expect("start mlflow server");
        let mut server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        server.wait_healthy(Duration::from_secs(60));
        server
    }

    fn wait_healthy(&mut self, timeout: Duration) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("mlflow server exited with {status}:\n{}", self.log_text());
            }
            if http_get(&self.url, "/health").is_some_and(|body| body.trim() == "OK") {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "mlflow server not healthy after {timeout:?}:\n{}",
            self.log_text()
        );
    }

    /// Everything the server printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the server and waits for it.
    pub fn stop(&mut self) {
        let pid = self.child.id() as i32;
        // SAFETY: signals the process group this test created for the server.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A minimal HTTP/1.0 client, enough for a loopback test server.
fn http(url: &str, request: &str) -> Option<String> {
    use std::io::Read;
    let addr = url.strip_prefix("http://")?;
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_owned()))
}

/// GET `path`; the body when the answer is 200.
pub fn http_get(url: &str, path: &str) -> Option<String> {
    let host = url.strip_prefix("http://")?;
    http(url, &format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n"))
}

/// POST JSON to `path`; the parsed body when the answer is 200.
pub fn http_post_json(
    url: &str,
    path: &str,
    body: &serde_json::Value,
) -> Option<serde_json::Value> {
    let host = url.strip_prefix("http://")?;
    let body = body.to_string();
    let text = http(
        url,
        &format!(
            "POST {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )?;
    serde_json::from_str(&text).ok()
}
