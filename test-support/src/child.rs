//! Running one test again in a fresh process: for what is process-global (the working
//! directory, environment variables read once, exit-time flushing).
//!
//! ```no_run
//! use mlflow_test_support::{in_child, run_self};
//!
//! // #[test]
//! fn logs_from_a_fresh_process() {
//!     if in_child() {
//!         // ... the part that needs its own process ...
//!         return;
//!     }
//!     let dir = tempfile::tempdir().unwrap();
//!     run_self("logs_from_a_fresh_process", Some(dir.path()), &[("MLFLOW_EXPERIMENT_NAME", "e")]);
//!     // ... check what the child left ...
//! }
//! ```

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::python::SCRUBBED_ENV;

/// Set (to the test's name) in the environment of a process started by [`run_self`].
pub const CHILD_ENV: &str = "MLFLOW_TEST_CHILD";

/// True inside a process started by [`run_self`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// A `Command` that runs the test `test_name` of the current test binary in a new process
/// (libtest's `--exact` filter), in `cwd` when given, with the MLflow variables of this
/// process removed and `env` added. The test sees [`in_child`] as true. [`run_self`] runs
/// it and waits; [`spawn_self`] starts it without waiting.
pub fn self_command(test_name: &str, cwd: Option<&Path>, env: &[(&str, &str)]) -> Command {
    let exe =
        std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test_name)
        .env("MLFLOW_DISABLE_TELEMETRY", "true");
    for name in SCRUBBED_ENV {
        cmd.env_remove(name);
    }
    cmd.envs(env.iter().copied());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    cmd
}

/// Runs the test `test_name` of the current test binary in a new process, as
/// [`self_command`] sets it up.
///
/// Panics, showing the child's output, unless the child ran exactly that one test and it
/// passed. Returns the output for further checks.
pub fn run_self(test_name: &str, cwd: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let output = self_command(test_name, cwd, env)
        .output()
        .unwrap_or_else(|e| panic!("cannot re-run the test binary: {e}"));
    assert_passed(test_name, &output);
    output
}

/// Starts `command` (from [`self_command`], say) with its stdout and stderr captured, and
/// returns at once: for several children running at the same time. Collect each with
/// [`wait_child`].
pub fn spawn_self(mut command: Command) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the test binary: {e}"))
}

/// Waits for a child started by [`spawn_self`] and returns its status and output. Reads
/// the output while waiting (a child blocked on a full pipe would never exit). When the
/// child has not exited by `deadline`, kills it and panics with what it printed, so a hang
/// fails the test instead of stalling the suite.
pub fn wait_child(mut child: Child, deadline: Instant) -> Output {
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => panic!("cannot wait for a child process: {e}"),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "child process {} did not exit in time; killed it:\n--- stdout ---\n{}\n--- stderr ---\n{}",
            child.id(),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Panics, showing the child's output, unless the child (of [`self_command`]) ran exactly
/// the test `test_name` and it passed.
pub fn assert_passed(test_name: &str, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // libtest exits 0 when the filter matches nothing: insist the test really ran.
    if !output.status.success() || !stdout.contains("1 passed") {
        panic!(
            "child process for test {test_name} failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status
        );
    }
}
