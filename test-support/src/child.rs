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

use std::path::Path;
use std::process::{Command, Output};

use crate::python::SCRUBBED_ENV;

/// Set (to the test's name) in the environment of a process started by [`run_self`].
pub const CHILD_ENV: &str = "MLFLOW_TEST_CHILD";

/// True inside a process started by [`run_self`].
pub fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

/// Runs the test `test_name` of the current test binary in a new process (libtest's
/// `--exact` filter), in `cwd` when given, with the MLflow variables of this process
/// removed and `env` added. The test sees [`in_child`] as true.
///
/// Panics, showing the child's output, unless the child ran exactly that one test and it
/// passed. Returns the output for further checks.
pub fn run_self(test_name: &str, cwd: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let mut cmd = self_command(test_name);
    cmd.envs(env.iter().copied());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot re-run the test binary: {e}"));
    expect_passed(test_name, &output);
    output
}

/// The command [`run_self`] runs, to be completed (environment, working directory) and
/// started by the caller: for a child that must be set up by the code under test, such
/// as `RunHandle::configure_worker`. Check its output with [`expect_passed`].
pub fn self_command(test_name: &str) -> Command {
    let exe =
        std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let mut cmd = Command::new(exe);
    cmd.args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, test_name)
        .env("MLFLOW_DISABLE_TELEMETRY", "true");
    for name in SCRUBBED_ENV {
        cmd.env_remove(name);
    }
    cmd
}

/// Panics, showing the child's output, unless the child started by [`self_command`] ran
/// exactly the test `test_name` and it passed.
pub fn expect_passed(test_name: &str, output: &Output) {
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
