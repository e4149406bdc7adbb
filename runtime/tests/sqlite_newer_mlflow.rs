//! What a newer MLflow does with a file this crate made. MLflow's start-up creates and
//! migrates a SQLite file when one of the tables its version defines is missing, and refuses
//! it ("Detected out-of-date database schema") when all are there at another revision. MLflow
//! 3.18 adds tables, so it upgrades a file made at the pinned head on open; this crate then
//! keeps writing into it, and the pinned 3.17.2 refuses it.
//!
//! Needs a venv with MLflow 3.18 (`scripts/test.sh` makes one and sets
//! `MLFLOW_TEST_NEWER_PYTHON`); without it the test is skipped, except under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use mlflow_test_support::{is_ci, python_command, require_python};
use mlflow_tracking_runtime::model::{Batch, CreateRun, Metric};
use mlflow_tracking_runtime::store::Store;
use mlflow_tracking_runtime::store::sqlite::{PINNED_HEAD, SqliteStore};
use rusqlite::Connection;

fn newer_python() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("MLFLOW_TEST_NEWER_PYTHON")?);
    path.exists().then_some(path)
}

fn head(db: &Path) -> String {
    Connection::open(db)
        .unwrap()
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap()
}

/// Creates an experiment (first call) and a run with one metric point, as the sender would.
fn log_one_run(db: &Path, name: &str) {
    let store = SqliteStore::open(db, db.parent().unwrap()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let experiment = match store.get_experiment_by_name("newer").await.unwrap() {
            Some(e) => e.experiment_id,
            None => store.create_experiment("newer").await.unwrap(),
        };
        let run = store
            .create_run(&CreateRun {
                experiment_id: experiment,
                run_id: None,
                user_id: "u".into(),
                run_name: name.into(),
                start_time: 1,
                tags: vec![],
            })
            .await
            .unwrap();
        let batch = Batch {
            metrics: vec![Metric::new("m", 0.5, 1, 0)],
            ..Batch::default()
        };
        store.log_batch(&run.run_id, &batch).await.unwrap();
    });
}

/// Reads the runs of experiment "newer" with `python`; returns its stdout and stderr.
fn read_back(python: Command, db: &Path) -> (bool, String) {
    let mut cmd = python;
    let output = cmd
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .arg("-W")
        .arg("ignore")
        .arg("-c")
        .arg(
            "import sys, mlflow
from mlflow.tracking import MlflowClient
c = MlflowClient('sqlite:///' + sys.argv[1])
e = c.get_experiment_by_name('newer')
runs = c.search_runs([e.experiment_id])
print(mlflow.__version__, sorted((r.info.run_name, r.data.metrics['m']) for r in runs))",
        )
        .arg(db)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn a_newer_mlflow_upgrades_the_file_on_open_and_the_crate_keeps_writing() {
    require_python!();
    let Some(newer) = newer_python() else {
        assert!(
            !is_ci(),
            "MLFLOW_TEST_NEWER_PYTHON is not set under CI=true"
        );
        eprintln!("skipped: no MLflow 3.18 venv (set MLFLOW_TEST_NEWER_PYTHON)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    log_one_run(&db, "before");
    assert_eq!(head(&db), PINNED_HEAD);

    let (ok, out) = read_back(Command::new(&newer), &db);
    assert!(ok, "MLflow 3.18 could not read the crate's file:\n{out}");
    assert!(
        out.contains("3.18.") && out.contains("('before', 0.5)"),
        "{out}"
    );
    let upgraded = head(&db);
    assert_ne!(
        upgraded, PINNED_HEAD,
        "opening with 3.18 should migrate the file"
    );

    log_one_run(&db, "after");
    assert_eq!(head(&db), upgraded, "the crate must not touch the schema");
    let (ok, out) = read_back(Command::new(&newer), &db);
    assert!(ok, "{out}");
    assert!(out.contains("[('after', 0.5), ('before', 0.5)]"), "{out}");

    // Every table of 3.17.2 exists in the upgraded file, at another revision: refused.
    let (ok, out) = read_back(python_command(), &db);
    assert!(!ok && out.contains("out-of-date database schema"), "{out}");
}
