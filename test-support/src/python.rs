//! The pinned MLflow's Python: where the venv is, and running snippets in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `scripts/pins.env`, compiled in: the versions the tests, benches and fleet pin, written
/// there only (`NAME=VALUE` lines, `#` comments).
pub const PINS: &str = include_str!("../../scripts/pins.env");

/// The MLflow release the tests pin (`MLFLOW_VERSION` in `scripts/pins.env`); the venv's
/// folder name carries it.
pub const MLFLOW_VERSION: &str = pin("MLFLOW_VERSION");

/// The value of `name` in `scripts/pins.env` ([`PINS`]), e.g. `pin("MLFLOW_OLD_VERSION")`.
///
/// Panics (at compile time in a `const`) when the file does not set it.
pub const fn pin(name: &str) -> &'static str {
    let file = PINS.as_bytes();
    let key = name.as_bytes();
    let mut start = 0;
    while start < file.len() {
        let mut end = start;
        while end < file.len() && file[end] != b'\n' {
            end += 1;
        }
        // The line file[start..end] is `name=VALUE`?
        if end - start > key.len() && file[start + key.len()] == b'=' {
            let mut i = 0;
            while i < key.len() && file[start + i] == key[i] {
                i += 1;
            }
            if i == key.len() {
                let (_, rest) = file.split_at(start + key.len() + 1);
                let (value, _) = rest.split_at(end - start - key.len() - 1);
                match std::str::from_utf8(value) {
                    Ok(value) => return value,
                    Err(_) => panic!("scripts/pins.env is not UTF-8"),
                }
            }
        }
        start = end + 1;
    }
    panic!("a version asked for is not set in scripts/pins.env")
}

/// Variables that would make a process act on a run, experiment or store other than the one
/// the test names; never inherited by the processes these helpers start.
pub(crate) const SCRUBBED_ENV: &[&str] = &[
    "MLFLOW_TRACKING_URI",
    "MLFLOW_RUN_ID",
    "MLFLOW_EXPERIMENT_NAME",
    "MLFLOW_EXPERIMENT_ID",
    "MLFLOW_RS_PARENT_RUN_ID",
    "MLFLOW_RS_WORKER_ID",
];

/// True when running under CI (`CI=true`), where a missing venv or server is a failure.
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Where `scripts/test.sh` keeps the venv:
/// `${MLFLOW_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-tracking-tests}/venv-mlflow-<MLFLOW_VERSION>`.
pub fn default_venv_dir() -> PathBuf {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let cache = non_empty("MLFLOW_TEST_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            non_empty("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("mlflow-tracking-tests"))
        })
        .or_else(|| {
            non_empty("HOME").map(|d| {
                PathBuf::from(d)
                    .join(".cache")
                    .join("mlflow-tracking-tests")
            })
        })
        .unwrap_or_else(|| std::env::temp_dir().join("mlflow-tracking-tests"));
    cache.join(format!("venv-mlflow-{MLFLOW_VERSION}"))
}

/// The venv's `python`: `MLFLOW_TEST_PYTHON`, else `bin/python` in `MLFLOW_TEST_VENV`, else
/// the one in [`default_venv_dir`].
///
/// `None` when it does not exist; under `CI=true` that panics instead, because CI must
/// run every test. Tests use [`require_python!`](crate::require_python) rather than this.
pub fn python() -> Option<PathBuf> {
    let path = std::env::var_os("MLFLOW_TEST_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("MLFLOW_TEST_VENV")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(default_venv_dir)
                .join("bin")
                .join("python")
        });
    if path.exists() {
        return Some(path);
    }
    if is_ci() {
        panic!(
            "CI=true but the MLflow test venv's python is missing at {}: run the suite with ./scripts/test.sh, which installs mlflow=={MLFLOW_VERSION} there",
            path.display()
        );
    }
    None
}

/// A `Command` for the venv's Python with telemetry off, unbuffered output and no inherited
/// MLflow run or experiment settings.
///
/// Panics when there is no venv (guard the test with
/// [`require_python!`](crate::require_python)).
pub fn python_command() -> Command {
    let python = python().unwrap_or_else(|| {
        panic!(
            "no MLflow venv at {}: guard the test with require_python!() or require_server!()",
            default_venv_dir().display()
        )
    });
    let mut cmd = Command::new(python);
    cmd.env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("PYTHONUNBUFFERED", "1");
    for name in SCRUBBED_ENV {
        cmd.env_remove(name);
    }
    cmd
}

/// Runs a Python snippet in the venv and returns the JSON document it prints on its last
/// non-empty stdout line. `env` is added to the snippet's environment.
///
/// Panics, showing the snippet's stdout and stderr, when it fails or prints no JSON.
pub fn run_python(script: &str, env: &[(&str, &str)]) -> Value {
    let output = python_command()
        .arg("-c")
        .arg(script)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("cannot run the venv's python: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        panic!(
            "python snippet failed ({}):\n--- script ---\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
            output.status
        );
    }
    parse_last_json(&stdout).unwrap_or_else(|e| {
        panic!(
            "python snippet printed no JSON on its last line ({e}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        )
    })
}

/// Runs a Python script (given as source) with `args` in `cwd` and returns its stdout.
///
/// Panics, showing its stdout and stderr, when it fails.
pub fn run_python_in(cwd: &Path, script: &str, args: &[&str]) -> String {
    let output = python_command()
        .current_dir(cwd)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the venv's python: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        panic!(
            "python script failed ({}):\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    stdout
}

/// The JSON document on the last non-empty line of `stdout` (what a script prints at the
/// end); panics when there is none.
pub fn last_json(stdout: &str) -> Value {
    parse_last_json(stdout).unwrap_or_else(|e| panic!("no JSON on the last line ({e}):\n{stdout}"))
}

fn parse_last_json(stdout: &str) -> serde_json::Result<Value> {
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    serde_json::from_str(last)
}
