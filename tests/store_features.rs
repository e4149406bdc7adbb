//! The Cargo features `rest` and `sqlite` (both on by default): a store the build includes
//! works, and a URI whose store the build left out is an `Error::Config` that names the
//! feature, including the default `sqlite:///mlflow.db`.
//!
//! The same tests run in every build, and check what that build should do: with the default
//! features (`cargo nextest run`), and in the one-store builds `./scripts/test.sh` runs:
//!
//! ```text
//! cargo test -p mlflow-tracking --no-default-features --features macros,rest --test store_features
//! cargo test -p mlflow-tracking --no-default-features --features macros,sqlite --test store_features
//! ```
//!
//! What touches the process-wide tracking URI runs in a fresh process (`run_self`), so the
//! tests also hold under `cargo test`, which runs them as threads of one process.

use std::path::Path;
use std::sync::Arc;

use mlflow_test_support::{in_child, require_server, run_self, unique_name};

/// Asserts `result` is the `Error::Config` of a store left out: it names the URI (as shown,
/// credentials redacted) and the feature to enable.
fn assert_left_out<T: std::fmt::Debug>(result: mlflow::Result<T>, uri: &str, feature: &str) {
    match result {
        Err(mlflow::Error::Config(message)) => {
            for needle in [
                format!("tracking URI \"{uri}\""),
                format!("enable the \"{feature}\" feature of mlflow-tracking"),
                "which this build left out".to_owned(),
            ] {
                assert!(message.contains(&needle), "{needle:?} not in: {message}");
            }
        }
        other => panic!("{uri}: expected Error::Config naming {feature:?}, got {other:?}"),
    }
}

/// `Error` is one type in every build: the SQLite variant's source is a trait object, not a
/// type of the SQLite library (this compiles with or without the `sqlite` feature).
fn sqlite_source(e: &mlflow::Error) -> Option<&Arc<dyn std::error::Error + Send + Sync>> {
    match e {
        mlflow::Error::Sqlite { source, .. } => source.as_ref(),
        _ => None,
    }
}

/// Logs one run with a metric to the tracking URI in effect and reads it back.
fn log_and_read_back(experiment: &str) {
    mlflow::set_experiment(experiment).unwrap();
    let run = mlflow::start_run().name("features").start();
    mlflow::log_metric("m", 2.5).unwrap();
    let id = run.id().unwrap();
    drop(run);
    mlflow::flush().unwrap();
    let stored = mlflow::get_run(&id).unwrap();
    assert_eq!(stored.metric("m"), Some(2.5), "{stored:#?}");
    assert_eq!(stored.info.status, mlflow::RunStatus::Finished);
}

#[test]
fn the_default_uri_follows_the_sqlite_feature() {
    if in_child() {
        // No URI set anywhere: the default, `sqlite:///mlflow.db`, whatever the build.
        assert_eq!(mlflow::get_tracking_uri(), "sqlite:///mlflow.db");
        if cfg!(feature = "sqlite") {
            log_and_read_back("features-default");
            assert!(Path::new("mlflow.db").is_file());
        } else {
            assert_left_out(
                mlflow::set_experiment("never-created"),
                "sqlite:///mlflow.db",
                "sqlite",
            );
            assert_left_out(
                mlflow::Client::new().get_run("0"),
                "sqlite:///mlflow.db",
                "sqlite",
            );
            // A run started anyway is reported, not lost silently.
            drop(mlflow::start_run().name("nowhere").start());
            let reported = mlflow::flush().unwrap_err().to_string();
            assert!(
                reported.contains("enable the \"sqlite\" feature"),
                "{reported}"
            );
            assert!(
                !Path::new("mlflow.db").exists(),
                "no database without the store"
            );
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    run_self(
        "the_default_uri_follows_the_sqlite_feature",
        Some(dir.path()),
        &[],
    );
}

#[test]
fn sqlite_uris_follow_the_sqlite_feature() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("other.db").display());
    if in_child() {
        let uri = std::env::var("URI").unwrap();
        if cfg!(feature = "sqlite") {
            mlflow::set_tracking_uri(&uri).unwrap();
            log_and_read_back("features-sqlite");
        } else {
            let before = mlflow::get_tracking_uri();
            assert_left_out(mlflow::set_tracking_uri(&uri), &uri, "sqlite");
            assert_eq!(
                mlflow::get_tracking_uri(),
                before,
                "a refused URI changes nothing"
            );
            assert_left_out(mlflow::Client::with_tracking_uri(&uri), &uri, "sqlite");
        }
        return;
    }
    run_self(
        "sqlite_uris_follow_the_sqlite_feature",
        Some(dir.path()),
        &[("URI", &uri)],
    );
    assert_eq!(
        dir.path().join("other.db").is_file(),
        cfg!(feature = "sqlite")
    );
}

/// An `s3://` artifact root in a build without the `s3` feature (every build this file runs
/// in but the suite's main one, which has it: there `tests/s3_artifacts.rs` covers S3) is an
/// `Error::Config` naming the feature, not an attempt to reach S3.
#[cfg(all(feature = "sqlite", not(feature = "s3")))]
#[test]
fn s3_artifact_roots_follow_the_s3_feature() {
    let dir = tempfile::tempdir().unwrap();
    if in_child() {
        let dir = std::env::current_dir().unwrap();
        mlflow::set_tracking_uri(&format!("sqlite:///{}", dir.join("s3.db").display())).unwrap();
        let id = mlflow::create_experiment(unique_name("features-s3"))
            .artifact_location("s3://bucket/exp")
            .create()
            .unwrap();
        let run = mlflow::start_run().experiment_id(id).start();
        let file = dir.join("f.txt");
        std::fs::write(&file, "x").unwrap();
        match run.handle().log_artifact(&file) {
            Err(mlflow::Error::Config(message)) => {
                for needle in [
                    "s3://bucket/exp",
                    "enable the \"s3\" feature of mlflow-tracking",
                ] {
                    assert!(message.contains(needle), "{needle:?} not in: {message}");
                }
            }
            other => panic!("expected Error::Config naming the s3 feature, got {other:?}"),
        }
        return;
    }
    run_self(
        "s3_artifact_roots_follow_the_s3_feature",
        Some(dir.path()),
        &[],
    );
}

#[test]
fn rest_uris_follow_the_rest_feature() {
    if in_child() {
        if cfg!(feature = "rest") {
            log_and_read_back(&std::env::var("EXPERIMENT").unwrap());
        } else {
            let uri = std::env::var("MLFLOW_TRACKING_URI").unwrap();
            // The environment's URI is refused on first use, an explicit one at once.
            assert_left_out(mlflow::set_experiment("never-created"), &uri, "rest");
            assert_left_out(mlflow::set_tracking_uri(&uri), &uri, "rest");
            assert_left_out(
                mlflow::Client::with_tracking_uri("https://bob:hunter2@example.invalid/prefix"),
                "https://***:***@example.invalid/prefix",
                "rest",
            );
        }
        return;
    }
    // Without the feature, no server is needed: nothing is ever sent.
    let uri = if cfg!(feature = "rest") {
        require_server!()
    } else {
        // As shown in messages: `Url` adds the path's slash.
        "http://127.0.0.1:9/".to_owned()
    };
    let experiment = unique_name("features-rest");
    run_self(
        "rest_uris_follow_the_rest_feature",
        None,
        &[("MLFLOW_TRACKING_URI", &uri), ("EXPERIMENT", &experiment)],
    );
}

#[test]
fn error_is_one_type_in_every_build() {
    let e = mlflow::Error::sqlite("x.db", std::io::Error::other("disk on fire"));
    assert_eq!(e.to_string(), "SQLite store x.db: disk on fire");
    let source = sqlite_source(&e).expect("the source is kept");
    assert_eq!(source.to_string(), "disk on fire");
    assert!(std::error::Error::source(&e).is_some());
}
