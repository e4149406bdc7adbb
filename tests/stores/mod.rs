//! Runs one scenario against both stores: the suite's `mlflow server` and the embedded
//! SQLite store (a fresh file in a temporary folder), and reads the runs back through
//! MLflow's official Python client. Each scenario becomes two tests, so that under nextest
//! each store gets its own process (the tracking URI is process-wide).

#![allow(dead_code)]

use mlflow_test_support::{RunRecord, python, read_runs, server_uri, unique_name};

/// Where one test's runs go.
pub(crate) struct Target {
    pub(crate) uri: String,
    /// The experiment chosen with `set_experiment` for this test.
    pub(crate) experiment: String,
    _dir: Option<tempfile::TempDir>,
}

impl Target {
    /// Flushes, then every run of `experiment` as the Python client sees it.
    pub(crate) fn runs_in(&self, experiment: &str) -> Vec<RunRecord> {
        mlflow::flush().expect("flush");
        read_runs(&self.uri, experiment)
    }

    /// Flushes, then every run of the test's experiment.
    pub(crate) fn runs(&self) -> Vec<RunRecord> {
        self.runs_in(&self.experiment)
    }
}

/// Which store a test runs against.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Server,
    Embedded,
}

/// Points the crate at `backend` and a fresh experiment, or `None` (after printing why)
/// when the MLflow venv is missing outside CI.
pub(crate) fn target(backend: Backend, prefix: &str) -> Option<Target> {
    let (uri, dir) = match backend {
        Backend::Server => match server_uri() {
            Some(uri) => (uri, None),
            None => {
                eprintln!("skipped: no MLflow server (set MLFLOW_TEST_SERVER_URI)");
                return None;
            }
        },
        Backend::Embedded => {
            if python().is_none() {
                assert!(!mlflow_test_support::is_ci(), "no MLflow venv under CI");
                eprintln!("skipped: no MLflow venv (set MLFLOW_TEST_PYTHON)");
                return None;
            }
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().canonicalize().expect("canonical temp dir");
            // Four slashes: `sqlite:///` and the absolute path's own `/`.
            (
                format!("sqlite:///{}", path.join("mlflow.db").display()),
                Some(dir),
            )
        }
    };
    mlflow::set_tracking_uri(&uri).expect("set_tracking_uri");
    let experiment = unique_name(prefix);
    mlflow::set_experiment(&experiment).expect("set_experiment");
    Some(Target {
        uri,
        experiment,
        _dir: dir,
    })
}

/// `on_both_stores!(scenario, ..)`: for each `fn scenario(&Target)`, a module `scenario`
/// with the tests `server` and `embedded`.
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                use super::stores::{Backend, target};

                #[test]
                fn server() {
                    if let Some(t) = target(Backend::Server, stringify!($scenario)) {
                        super::$scenario(&t);
                    }
                }

                #[test]
                fn embedded() {
                    if let Some(t) = target(Backend::Embedded, stringify!($scenario)) {
                        super::$scenario(&t);
                    }
                }
            }
        )*
    };
}
pub(crate) use on_both_stores;

/// The run called `name`.
pub(crate) fn named<'a>(runs: &'a [RunRecord], name: &str) -> &'a RunRecord {
    RunRecord::named(runs, name)
}

/// Asserts that `child` is nested directly under `parent`.
pub(crate) fn assert_child_of(runs: &[RunRecord], child: &str, parent: &str) {
    let parent_id = &named(runs, parent).run_id;
    assert_eq!(
        named(runs, child).parent_run_id.as_ref(),
        Some(parent_id),
        "{child} should be a child of {parent}"
    );
}
