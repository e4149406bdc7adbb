//! Helpers for the fault tests: a real `mlflow server` that can be killed and restarted on
//! the same port over the same SQLite file, and a scripted HTTP proxy in front of it.
#![allow(dead_code, unreachable_pub)]

pub mod proxy;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mlflow_test_support::{ServerGuard, ServerSpec};

/// Backoff knobs shrunk so that fault tests stay fast.
pub const FAST_RETRIES: &[(&str, &str)] = &[
    ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1"),
    ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "0.1"),
    ("MLFLOW_HTTP_REQUEST_TIMEOUT", "10"),
];

/// Starts a real `mlflow server` over `dir/m.db` (artifacts in `dir/art`, log in
/// `dir/server.log`) and waits until it is healthy; `kill` and `restart` keep its port.
pub fn start(dir: &Path) -> ServerGuard {
    start_with(dir, &[], &[])
}

/// [`start`] with extra `mlflow server` arguments and environment.
pub fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> ServerGuard {
    ServerSpec::sqlite(&dir.join("m.db"))
        .default_artifact_root(dir.join("art"))
        .log_path(dir.join("server.log"))
        .args(args)
        .envs(env.iter().copied())
        .start()
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
