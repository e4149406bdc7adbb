//! Runs from other processes nesting under a parent: `start_run().parent_id(..)`,
//! `MLFLOW_RS_PARENT_RUN_ID` (which explicit code overrides), the parent's experiment
//! winning over the worker's own, parents that do not exist or are deleted, `MLFLOW_RUN_ID`
//! adopting a parent (never replacing another), and `configure_worker` + `mark_killed`.
//! The workers are real processes: this test binary run again (`self_command`).

mod stores;

use std::process::Stdio;

use mlflow_test_support::{assert_passed, in_child, run_python, run_self, self_command};
use stores::{Target, assert_child_of, named, on_both_stores};

/// What a child reads from its environment.
fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("the child needs {name}"))
}

#[mlflow::child_run(name = "epoch_{e}")]
fn epoch(e: u32) {
    mlflow::log_metric_with_step("loss", 1.0 / f64::from(e + 1), i64::from(e)).unwrap();
}

#[mlflow::parent_run(name = "trial")]
fn trial() {
    mlflow::log_param("lr", 0.1).unwrap();
    for e in 0..2 {
        epoch(e);
    }
}

/// The worker side of `env_parent_and_explicit_code`: unchanged `#[parent_run]` code
/// nests under the run the environment names; explicit choices win over it.
#[test]
fn child_nests_by_env() {
    if !in_child() {
        return;
    }
    trial();
    mlflow::start_run()
        .name("explicit-top")
        .top_level()
        .run(|| mlflow::log_metric("m", 1.0))
        .unwrap();
    mlflow::start_run()
        .name("explicit-parent")
        .parent_id(var("TEST_OTHER_PARENT"))
        .run(|| mlflow::log_metric("m", 2.0))
        .unwrap();
    mlflow::start_run()
        .name("own-experiment")
        .experiment_name(var("TEST_ELSEWHERE"))
        .run(|| mlflow::log_metric("m", 3.0))
        .unwrap();
    mlflow::flush().expect("everything stored");
}

fn env_parent_and_explicit_code(t: &Target) {
    let coordinator = mlflow::start_run().name("coordinator").start();
    let other = mlflow::start_run().name("other-parent").top_level().start();
    let coordinator_id = coordinator.id().unwrap();
    let other_id = other.id().unwrap();
    // A FINISHED parent is fine, and stays FINISHED.
    other.end(mlflow::RunStatus::Finished);
    coordinator.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();
    let elsewhere = mlflow_test_support::unique_name("elsewhere");
    run_self(
        "child_nests_by_env",
        None,
        &[
            ("MLFLOW_TRACKING_URI", &t.uri),
            ("MLFLOW_RS_PARENT_RUN_ID", &coordinator_id),
            // Names where top-level runs go; a run nested from elsewhere ignores it.
            ("MLFLOW_EXPERIMENT_NAME", &elsewhere),
            ("TEST_OTHER_PARENT", &other_id),
            ("TEST_ELSEWHERE", &elsewhere),
        ],
    );
    let runs = t.runs();
    let names: Vec<&str> = runs.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(runs.len(), 6, "{names:?}");
    assert_child_of(&runs, "trial", "coordinator");
    assert_child_of(&runs, "epoch_0", "trial");
    assert_child_of(&runs, "epoch_1", "trial");
    assert_child_of(&runs, "explicit-parent", "other-parent");
    assert_eq!(named(&runs, "trial").params["lr"], "0.1");
    assert_eq!(named(&runs, "coordinator").status, "FINISHED");
    assert_eq!(named(&runs, "other-parent").status, "FINISHED");
    let away = t.runs_in(&elsewhere);
    assert_eq!(away.len(), 2);
    for name in ["explicit-top", "own-experiment"] {
        let run = named(&away, name);
        assert_eq!(run.parent_run_id, None, "{name} is top level");
        assert_eq!(run.status, "FINISHED");
    }
}

fn missing_and_deleted_parents(t: &Target) {
    let deleted = mlflow::start_run().name("deleted").start();
    let deleted_id = deleted.id().unwrap();
    deleted.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();
    run_python(
        "import os; from mlflow.tracking import MlflowClient; \
         MlflowClient(os.environ['URI']).delete_run(os.environ['RUN']); print('{}')",
        &[("URI", &t.uri), ("RUN", &deleted_id)],
    );

    let missing_id = "f".repeat(32);
    let cases = [
        (mlflow::start_run().parent_id(&missing_id), &missing_id),
        (
            mlflow::start_run().parent(&mlflow::Client::new().run(&missing_id)),
            &missing_id,
        ),
        (mlflow::start_run().parent_id(&deleted_id), &deleted_id),
    ];
    for (i, (builder, parent)) in cases.into_iter().enumerate() {
        let guard = builder.name(format!("orphan-{i}")).start();
        // Never fails or waits at start; logging goes on.
        mlflow::log_metric("m", 1.0).unwrap();
        let err = guard.id().expect_err("no run under a missing parent");
        let text = err.to_string();
        assert!(text.contains(parent.as_str()), "{text}");
        guard.end(mlflow::RunStatus::Finished);
        let flushed = mlflow::flush().expect_err("flush reports the parent");
        assert!(flushed.to_string().contains(parent.as_str()), "{flushed}");
    }
    let runs = t.runs();
    assert!(
        runs.iter().all(|r| !r.run_name.starts_with("orphan")),
        "nothing written for orphans: {runs:?}"
    );
}

/// The worker side of `resume_adopts_a_parent`.
#[test]
fn child_resumes() {
    if !in_child() {
        return;
    }
    // A name given on resume renames the run, as Python's start_run(run_id=, run_name=).
    let guard = mlflow::start_run().name("renamed_on_resume").start();
    mlflow::log_metric("resumed", 1.0).unwrap();
    guard.end(mlflow::RunStatus::Finished);
    let flushed = mlflow::flush();
    match std::env::var("TEST_EXPECT").as_deref() {
        Ok("ok") => flushed.expect("adopted"),
        _ => {
            let text = flushed.expect_err("another parent is refused").to_string();
            assert!(text.contains("already has the parent run"), "{text}");
        }
    }
}

fn resume_adopts_a_parent(t: &Target) {
    let parent = mlflow::start_run().name("parent").start();
    let first = mlflow::start_run().name("first-parent").top_level().start();
    let orphan = mlflow::start_run().name("orphan").top_level().start();
    let taken = mlflow::start_run()
        .name("taken")
        .parent(&first.handle())
        .start();
    let ids: Vec<String> = [&parent, &first, &orphan, &taken]
        .iter()
        .map(|g| g.id().unwrap())
        .collect();
    drop(taken);
    drop(orphan);
    drop(first);
    drop(parent);
    mlflow::flush().unwrap();
    for (run, expect) in [(&ids[2], "ok"), (&ids[3], "refused")] {
        run_self(
            "child_resumes",
            None,
            &[
                ("MLFLOW_TRACKING_URI", &t.uri),
                ("MLFLOW_RUN_ID", run),
                ("MLFLOW_RS_PARENT_RUN_ID", &ids[0]),
                ("TEST_EXPECT", expect),
            ],
        );
    }
    let runs = t.runs();
    assert_eq!(runs.len(), 4);
    assert_child_of(&runs, "renamed_on_resume", "parent");
    assert_eq!(named(&runs, "renamed_on_resume").metrics["resumed"], 1.0);
    // Not moved, not renamed, and nothing logged to it.
    assert_child_of(&runs, "taken", "first-parent");
    assert!(!named(&runs, "taken").metrics.contains_key("resumed"));
}

/// The worker side of `configured_worker_killed`: a run stored, then SIGKILL.
#[test]
fn child_dies() {
    if !in_child() {
        return;
    }
    assert!(
        std::env::var_os("MLFLOW_RUN_ID").is_none(),
        "configure_worker removes MLFLOW_RUN_ID"
    );
    let _trial = mlflow::start_run().name("doomed").start();
    mlflow::log_metric("progress", 0.5).unwrap();
    mlflow::flush().unwrap();
    // SAFETY: kill(2) on this process; nothing to uphold.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!("killed");
}

fn configured_worker_killed(t: &Target) {
    let coordinator = mlflow::start_run().name("coordinator").start();
    let mut command = self_command("child_dies", None, &[]);
    command
        .env("MLFLOW_RUN_ID", "0123456789abcdef0123456789abcdef")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let worker = coordinator.handle().configure_worker(&mut command).unwrap();
    let output = command.output().unwrap();
    assert!(!output.status.success(), "the worker was killed");
    let marked = worker.mark_killed().unwrap();
    assert_eq!(marked.len(), 1, "{output:?}");
    // The coordinator's own run is not the worker's.
    assert!(!marked.contains(&coordinator.id().unwrap()));
    coordinator.end(mlflow::RunStatus::Finished);
    let runs = t.runs();
    let doomed = named(&runs, "doomed");
    assert_eq!(doomed.status, "KILLED");
    assert!(doomed.end_time.is_some());
    assert_eq!(doomed.metrics["progress"], 0.5);
    assert_eq!(doomed.tags["mlflow.rs.workerId"], worker.id());
    assert_child_of(&runs, "doomed", "coordinator");
    assert_eq!(named(&runs, "coordinator").status, "FINISHED");
    // Marking again finds nothing.
    assert!(worker.mark_killed().unwrap().is_empty());
}

/// The worker side of `configured_worker_finishes`.
#[test]
fn child_works() {
    if !in_child() {
        return;
    }
    trial();
}

fn configured_worker_finishes(t: &Target) {
    let coordinator = mlflow::start_run().name("coordinator").start();
    let mut command = self_command("child_works", None, &[]);
    let worker = coordinator.handle().configure_worker(&mut command).unwrap();
    let env: Vec<&str> = worker.env().iter().map(|(k, _)| *k).collect();
    assert!(env.contains(&"MLFLOW_RS_PARENT_RUN_ID"));
    assert_passed("child_works", &command.output().unwrap());
    assert!(worker.mark_killed().unwrap().is_empty());
    coordinator.end(mlflow::RunStatus::Finished);
    let runs = t.runs();
    assert_eq!(runs.len(), 4);
    assert_child_of(&runs, "trial", "coordinator");
    assert_child_of(&runs, "epoch_1", "trial");
    assert_eq!(named(&runs, "trial").status, "FINISHED");
}

/// A worker that could not reach the store spills its run's creation without knowing the
/// parent's experiment; the replay looks it up.
fn spilled_under_a_parent_from_elsewhere(t: &Target) {
    let parent = mlflow::start_run().name("parent").start();
    let parent_id = parent.id().unwrap();
    parent.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.jsonl");
    let create = serde_json::json!({
        "op": "create_run", "run_ref": "1-1", "run_name": "offline-trial",
        "parent_run_id": parent_id, "start_time": 1_700_000_000_000i64,
        "user_id": "worker", "tags": [],
    });
    let log = serde_json::json!({
        "op": "log_batch", "run_ref": "1-1", "run_name": "offline-trial",
        "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1_700_000_000_001i64, "step": 1}],
        "params": [], "tags": [],
    });
    std::fs::write(&path, format!("{create}\n{log}\n")).unwrap();
    let report = mlflow::replay_spill(&path).unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    let runs = t.runs();
    assert_child_of(&runs, "offline-trial", "parent");
    assert_eq!(named(&runs, "offline-trial").metrics["loss"], 0.5);
}

/// A spilled creation whose earlier attempt reached the store (its answer was lost): the
/// replay finds the run by the creation's key and logs to it, rather than creating a second.
fn replayed_creation_found_by_its_key(t: &Target) {
    let key = "0123456789abcdef0123456789abcdef";
    let first = mlflow::start_run()
        .name("lost-answer")
        .tag("mlflow.rs.createKey", key)
        .start();
    let first_id = first.id().unwrap();
    let experiment_id = mlflow::get_run(&first_id).unwrap().info.experiment_id;
    drop(first);
    mlflow::flush().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lost.jsonl");
    let create = serde_json::json!({
        "op": "create_run", "run_ref": "1-1", "run_name": "lost-answer",
        "experiment_id": experiment_id, "start_time": 1_700_000_000_000i64,
        "user_id": "me", "tags": [{"key": "mlflow.rs.createKey", "value": key}],
    });
    let log = serde_json::json!({
        "op": "log_batch", "run_ref": "1-1", "run_name": "lost-answer",
        "metrics": [{"key": "loss", "value": 0.25, "timestamp": 1_700_000_000_001i64, "step": 1}],
        "params": [], "tags": [],
    });
    std::fs::write(&path, format!("{create}\n{log}\n")).unwrap();
    let report = mlflow::replay_spill(&path).unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    let runs = t.runs();
    assert_eq!(runs.len(), 1, "found, not created again");
    assert_eq!(runs[0].run_id, first_id);
    assert_eq!(named(&runs, "lost-answer").metrics["loss"], 0.25);
}

on_both_stores!(
    replayed_creation_found_by_its_key,
    spilled_under_a_parent_from_elsewhere,
    env_parent_and_explicit_code,
    missing_and_deleted_parents,
    resume_adopts_a_parent,
    configured_worker_killed,
    configured_worker_finishes,
);
