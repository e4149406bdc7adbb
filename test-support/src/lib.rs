//! Test helpers for the `mlflow-tracking` workspace: the one place tests get the pinned
//! MLflow's Python, a real `mlflow server`, and read-back through MLflow's official client.
//!
//! `scripts/test.sh` installs the pinned MLflow ([`MLFLOW_VERSION`]; every version the
//! tooling pins is in `scripts/pins.env`, compiled in here as [`PINS`], see [`pin`]) into a
//! venv outside the clone, starts one server for the whole suite and exports:
//!
//! | variable | meaning |
//! | --- | --- |
//! | `MLFLOW_TEST_PYTHON` | the venv's `python` |
//! | `MLFLOW_TEST_SERVER_URI` | `http://127.0.0.1:PORT` of the shared server |
//! | `MLFLOW_TEST_SERVER_LOG` | that server's stdout/stderr log |
//! | `MLFLOW_TEST_PG_BIN` | folder with PostgreSQL's `initdb`, `postgres`, `pg_ctl` (for the fleet) |
//! | `MLFLOW_TEST_NGINX` | the `nginx` binary (for the fleet) |
//!
//! Without them (a plain `cargo test`), [`python`] looks in the default venv location and
//! [`server_uri`] starts a private server for the test process. When the venv is missing
//! the tests that need it are skipped with a printed note, except under `CI=true`, where
//! they fail.
//!
//! | helper | what it gives |
//! | --- | --- |
//! | [`require_python!`] / [`python`] | the venv's Python |
//! | [`require_server!`] / [`server_uri`] | the shared server (or a private one per process) |
//! | [`ServerSpec`] / [`ServerGuard`] | a private server a test starts, kills and restarts (through `scripts/mlflow_server.py`, the one server launcher of the tests, benches and fleet) |
//! | [`require_fleet!`] / [`Fleet`] / [`FleetSpec`] | PostgreSQL + N servers + nginx, started by `scripts/fleet.py` for one test (about 30 s; the tests using it run one at a time, see `.config/nextest.toml`) |
//! | [`read_runs`] / [`metric_history`] | read-back with MLflow's Python client |
//! | [`Moto`] | a real S3 API (moto's server, from its venv: `MLFLOW_TEST_MOTO_PYTHON`) with a bucket, its objects and open multipart uploads read back with boto3 |
//! | [`DelayProxy`] / [`DelaySpec`] | a TCP delay line in front of a server: a remote server's round trips on loopback |
//! | `MemoryStore` / `memory` (feature `memory`) | the runtime's in-memory store: `memory://<name>` tracking URIs, scripted faults, a journal of calls |
//!
//! ```no_run
//! use mlflow_test_support::{read_runs, require_server, unique_name};
//!
//! // #[test]
//! fn logs_to_the_server() {
//!     let uri = require_server!();
//!     let experiment = unique_name("logs");
//!     // ... log with the crate under test ...
//!     let runs = read_runs(&uri, &experiment);
//!     assert!(runs.is_empty());
//! }
//! ```

mod child;
mod delay;
mod fleet;
mod http;
mod moto;
mod python;
mod readback;
mod server;

pub use child::{
    CHILD_ENV, assert_passed, in_child, run_self, self_command, spawn_self, wait_child,
};
pub use delay::{DelayProxy, DelaySpec};
pub use fleet::{Fleet, FleetSpec, fleet_if_available, fleet_missing, fleet_script};
pub use http::{http_get, http_post_json};
pub use moto::{MOTO_VERSION, Moto, TEST_KEY_ID, TEST_SECRET, default_moto_venv_dir, moto_python};
pub use python::{
    MLFLOW_VERSION, PINS, default_venv_dir, is_ci, last_json, pin, python, python_command,
    run_python, run_python_in,
};
pub use readback::{MetricPoint, RunRecord, metric_history, read_runs};
pub use server::{
    ServerGuard, ServerSpec, free_port, server_log_tail, server_script, server_uri, start_server,
};

/// The runtime's in-memory store (the `memory` feature, off by default): register one with
/// `MemoryStore::register("name")`, point the tracking URI at `memory://name`, script faults
/// and read the journal. Its sender runs on tokio's paused clock. The runtime's own unit
/// tests use `crate::store::memory` instead: through this re-export they would get a second
/// copy of the runtime, whose registry their sender never sees.
#[cfg(feature = "memory")]
pub use mlflow_tracking_runtime::store::memory::{self, MemoryStore};

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A name no other test, process or earlier run of the suite has used: `prefix` followed
/// by the process id, the time and a counter. Use one experiment per test so that
/// read-back sees only that test's runs.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

/// What a skipped test returns; lets [`require_python!`], [`require_server!`] and
/// [`require_fleet!`] be used in tests returning `()` and in tests returning `Result<(), E>`.
pub trait Skipped {
    /// The value a skipped test returns.
    fn skipped() -> Self;
}

impl Skipped for () {
    fn skipped() -> Self {}
}

impl<E> Skipped for Result<(), E> {
    fn skipped() -> Self {
        Ok(())
    }
}

/// The venv's Python (a `PathBuf`), or: under `CI=true` a panic, otherwise an early return
/// from the calling test with a printed `skipped: ...` note.
#[macro_export]
macro_rules! require_python {
    () => {
        match $crate::python() {
            ::std::option::Option::Some(python) => python,
            ::std::option::Option::None => {
                ::std::eprintln!(
                    "skipped: no MLflow venv at {} (run ./scripts/test.sh, or set MLFLOW_TEST_PYTHON)",
                    $crate::default_venv_dir().display()
                );
                return $crate::Skipped::skipped();
            }
        }
    };
}

/// The URI of a real `mlflow server` (a `String`), or: under `CI=true` a panic, otherwise an
/// early return from the calling test with a printed `skipped: ...` note.
#[macro_export]
macro_rules! require_server {
    () => {
        match $crate::server_uri() {
            ::std::option::Option::Some(uri) => uri,
            ::std::option::Option::None => {
                ::std::eprintln!(
                    "skipped: no MLflow server (no venv at {}; run ./scripts/test.sh, or set MLFLOW_TEST_SERVER_URI)",
                    $crate::default_venv_dir().display()
                );
                return $crate::Skipped::skipped();
            }
        }
    };
}

/// A started [`Fleet`] (two `mlflow server` processes over PostgreSQL behind nginx; or the
/// [`FleetSpec`] given), or: under `CI=true` a panic naming what is missing, otherwise an
/// early return from the calling test with a printed `skipped: ...` note. The fleet stops
/// when the guard drops.
#[macro_export]
macro_rules! require_fleet {
    () => {
        $crate::require_fleet!($crate::FleetSpec::new())
    };
    ($spec:expr) => {
        match $crate::fleet_if_available($spec) {
            ::std::option::Option::Some(fleet) => fleet,
            ::std::option::Option::None => return $crate::Skipped::skipped(),
        }
    };
}
