//! Where the crate does what the Python client does (issue "The rest of the tracking API"):
//! a resumed run keeps what the caller gave it, runs still open at a normal exit end
//! FINISHED (this process's own only), metric points carry the step and timestamp they are
//! given, and searches refuse what Python refuses; read back with MLflow's Python client,
//! on both stores where a store is involved.

mod stores;

use std::time::{Duration, Instant};

use mlflow_test_support::{
    RunRecord, in_child, metric_history, read_runs, run_self, self_command, spawn_self,
    unique_name, wait_child,
};
use stores::{Target, named, on_both_stores};

const NOTE: &str = "mlflow.note.content";

/// The run `id` as read back: one run in the experiment, that one.
fn only_run(t: &Target, id: &str) -> RunRecord {
    let runs = t.runs();
    assert_eq!(runs.len(), 1, "resumed, not created again: {runs:#?}");
    assert_eq!(runs[0].run_id, id);
    runs[0].clone()
}

/// `start_run().resume(id)`: the name, the builder's tags and description, and a tag set
/// right after the start are stored (a new run gets them with its creation, which a resumed
/// run skips); what the run had is kept.
fn resuming_by_id_keeps_everything_the_caller_gives(t: &Target) {
    let first = mlflow::start_run().name("before").start();
    let id = first.handle().id().expect("created");
    mlflow::log_param("kept", "yes").unwrap();
    drop(first);
    {
        let _again = mlflow::start_run()
            .resume(&id)
            .name("after")
            .tag("from_builder", "1")
            .description("resumed here")
            .start();
        mlflow::set_tag("right_after", "2").unwrap();
        mlflow::log_metric("m", 1.0).unwrap();
    }
    let run = only_run(t, &id);
    assert_eq!(run.run_name, "after");
    assert_eq!(run.status, "FINISHED");
    for (key, value) in [
        ("mlflow.runName", "after"),
        ("from_builder", "1"),
        ("right_after", "2"),
        (NOTE, "resumed here"),
    ] {
        assert_eq!(run.tags.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert_eq!(run.params["kept"], "yes");
    assert_eq!(run.metrics["m"], 1.0);
}

/// `mlflow::metric(..)`: the step and timestamp given are stored; `log_metrics_with_step`
/// logs every point at its step.
fn metric_points_carry_their_step_and_timestamp(t: &Target) {
    let run = mlflow::start_run().name("points").start();
    let id = run.handle().id().unwrap();
    mlflow::metric("given", 0.5)
        .step(7)
        .timestamp(1_700_000_000_123)
        .log()
        .unwrap();
    run.handle().metric("handle", 1.5).step(2).log().unwrap();
    mlflow::log_metrics_with_step([("a", 1.0), ("b", 2.0)], 9).unwrap();
    assert!(matches!(
        mlflow::metric("bad", 1.0).timestamp(-1).log(),
        Err(mlflow::Error::InvalidValue { .. })
    ));
    drop(run);
    mlflow::flush().unwrap();
    let given = metric_history(&t.uri, &id, "given");
    assert_eq!(
        (given[0].step, given[0].timestamp, given[0].value),
        (7, 1_700_000_000_123, 0.5)
    );
    assert_eq!(metric_history(&t.uri, &id, "handle")[0].step, 2);
    for key in ["a", "b"] {
        assert_eq!(metric_history(&t.uri, &id, key)[0].step, 9, "{key}");
    }
}

on_both_stores!(
    resuming_by_id_keeps_everything_the_caller_gives,
    metric_points_carry_their_step_and_timestamp,
);

/// `MLFLOW_RUN_ID`: the same, through the environment, in a process of its own (the
/// variable resumes the first top-level run of a process).
fn resume_through_the_environment(test: &str, uri: &str) {
    if in_child() {
        mlflow::start_run()
            .tag("from_builder", "1")
            .description("resumed from the environment")
            .run(|| {
                mlflow::set_tag("right_after", "2").unwrap();
            });
        mlflow::flush().unwrap();
        return;
    }
    let experiment = unique_name("resume_env");
    mlflow::set_tracking_uri(uri).unwrap();
    mlflow::set_experiment(&experiment).unwrap();
    let first = mlflow::start_run().name("original").start();
    let id = first.handle().id().unwrap();
    drop(first);
    mlflow::flush().unwrap();
    run_self(
        test,
        None,
        &[("MLFLOW_TRACKING_URI", uri), ("MLFLOW_RUN_ID", &id)],
    );
    let runs = read_runs(uri, &experiment);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!(
        run.run_name, "original",
        "no name given: the run keeps its own"
    );
    assert_eq!(run.status, "FINISHED");
    assert_eq!(run.tags["from_builder"], "1");
    assert_eq!(run.tags["right_after"], "2");
    assert_eq!(run.tags[NOTE], "resumed from the environment");
}

#[test]
fn resume_through_the_environment_server() {
    let Some(uri) = mlflow_test_support::server_uri() else {
        return;
    };
    resume_through_the_environment("resume_through_the_environment_server", &uri);
}

#[test]
fn resume_through_the_environment_embedded() {
    // The child process is given the parent's file through MLFLOW_TRACKING_URI.
    let dir = tempfile::tempdir().unwrap();
    let uri = format!(
        "sqlite:///{}",
        dir.path()
            .canonicalize()
            .unwrap()
            .join("mlflow.db")
            .display()
    );
    resume_through_the_environment("resume_through_the_environment_embedded", &uri);
}

/// A process that leaves runs open and calls `std::process::exit` (which runs no
/// destructors, so no guard ends them): they end FINISHED at exit, whatever the exit code,
/// as the Python client's atexit hook ends its active run.
#[test]
fn runs_left_open_end_finished_at_exit() {
    if in_child() {
        let parent = mlflow::start_run().name("open_parent").start();
        let child = mlflow::start_run().name("open_child").start();
        mlflow::log_metric("m", 1.0).unwrap();
        let code: i32 = std::env::var("EXIT_CODE").unwrap().parse().unwrap();
        std::mem::forget((child, parent));
        std::process::exit(code);
    }
    for code in [0, 1] {
        let dir = tempfile::tempdir().unwrap();
        let uri = format!(
            "sqlite:///{}",
            dir.path()
                .canonicalize()
                .unwrap()
                .join("mlflow.db")
                .display()
        );
        let experiment = unique_name("exit");
        let code_text = code.to_string();
        let child = spawn_self(self_command(
            "runs_left_open_end_finished_at_exit",
            None,
            &[
                ("MLFLOW_TRACKING_URI", &uri),
                ("MLFLOW_EXPERIMENT_NAME", &experiment),
                ("EXIT_CODE", &code_text),
            ],
        ));
        let out = wait_child(child, Instant::now() + Duration::from_secs(120));
        assert_eq!(out.status.code(), Some(code), "{out:?}");
        let runs = read_runs(&uri, &experiment);
        assert_eq!(runs.len(), 2, "{runs:#?}");
        for name in ["open_parent", "open_child"] {
            assert_eq!(
                named(&runs, name).status,
                "FINISHED",
                "exit({code}): {name}"
            );
        }
        assert_eq!(named(&runs, "open_child").metrics["m"], 1.0);
    }
}

/// A worker process that exits with its run open ends its own run, never its coordinator's
/// (a run attached from elsewhere is not this process's to end).
#[test]
fn a_worker_exiting_ends_its_own_runs_not_its_coordinators() {
    if in_child() {
        let run = mlflow::start_run().name("worker_run").start();
        std::mem::forget(run);
        std::process::exit(0);
    }
    let dir = tempfile::tempdir().unwrap();
    let uri = format!(
        "sqlite:///{}",
        dir.path()
            .canonicalize()
            .unwrap()
            .join("mlflow.db")
            .display()
    );
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name("worker_exit");
    mlflow::set_experiment(&experiment).unwrap();
    let coordinator = mlflow::start_run().name("coordinator").start();
    let mut command = self_command(
        "a_worker_exiting_ends_its_own_runs_not_its_coordinators",
        None,
        &[],
    );
    coordinator.handle().configure_worker(&mut command).unwrap();
    let out = wait_child(
        spawn_self(command),
        Instant::now() + Duration::from_secs(120),
    );
    assert!(out.status.success(), "{out:?}");
    mlflow::flush().unwrap();
    let runs = read_runs(&uri, &experiment);
    assert_eq!(named(&runs, "worker_run").status, "FINISHED");
    assert_eq!(
        named(&runs, "coordinator").status,
        "RUNNING",
        "the worker's exit leaves the coordinator's run alone"
    );
    drop(coordinator);
}

/// Experiments by id and by name at once are refused, as Python refuses them.
#[test]
fn a_search_by_ids_and_names_at_once_is_refused() {
    let err = mlflow::search_runs()
        .experiment_ids(["0"])
        .experiment_names(["Default"])
        .collect_all()
        .unwrap_err();
    assert!(
        matches!(&err, mlflow::Error::InvalidArgument(m) if m.contains("not both")),
        "{err}"
    );
}
