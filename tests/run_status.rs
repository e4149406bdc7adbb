//! How a run ends: FINISHED on success, FAILED on `Err` or panic (and the panic carries
//! on), whatever the nesting depth, read back from a real `mlflow server`.

use std::panic::{AssertUnwindSafe, catch_unwind};

mod common;

use common::use_fresh_experiment;
use mlflow_test_support::{RunRecord, read_runs, require_server};

#[derive(Debug)]
struct TrainingDiverged;

impl std::fmt::Display for TrainingDiverged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("loss diverged")
    }
}

impl std::error::Error for TrainingDiverged {}

#[mlflow::child_run(name = "ok_{i}")]
fn child_ok(i: u32) -> Result<u32, TrainingDiverged> {
    mlflow::log_metric("i", f64::from(i)).unwrap();
    Ok(i)
}

#[mlflow::child_run(name = "err_{i}")]
fn child_err(i: u32) -> Result<u32, TrainingDiverged> {
    mlflow::log_metric("i", f64::from(i)).unwrap();
    Err(TrainingDiverged)
}

#[mlflow::child_run(name = "anyhow_err")]
fn child_anyhow_err() -> anyhow::Result<()> {
    anyhow::bail!("anyhow says no")
}

#[mlflow::child_run(name = "panics")]
fn child_panics() -> f64 {
    mlflow::log_metric("before_panic", 1.0).unwrap();
    panic!("child exploded");
}

#[mlflow::child_run(name = "plain")]
fn child_plain() -> u8 {
    7
}

#[test]
fn return_values_decide_the_status() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "status-returns");
    {
        let _parent = mlflow::start_run().name("parent").start();
        // Tracking never changes what the function returns.
        assert_eq!(child_ok(1).unwrap(), 1);
        assert!(child_err(2).is_err());
        assert_eq!(
            child_anyhow_err().unwrap_err().to_string(),
            "anyhow says no"
        );
        assert_eq!(child_plain(), 7);
    }
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let parent = RunRecord::named(&runs, "parent");
    assert_eq!(
        parent.status, "FINISHED",
        "a failed child does not fail its parent"
    );
    assert_eq!(parent.children(&runs).len(), 4);
    assert_eq!(RunRecord::named(&runs, "ok_1").status, "FINISHED");
    assert_eq!(RunRecord::named(&runs, "plain").status, "FINISHED");
    let failed = RunRecord::named(&runs, "err_2");
    assert_eq!(failed.status, "FAILED");
    assert_eq!(
        failed.metrics["i"], 2.0,
        "what was logged before the error is kept"
    );
    assert_eq!(
        failed.tags.get("error").map(String::as_str),
        Some("loss diverged")
    );
    let failed = RunRecord::named(&runs, "anyhow_err");
    assert_eq!(failed.status, "FAILED");
    assert_eq!(
        failed.tags.get("error").map(String::as_str),
        Some("anyhow says no")
    );
    for run in &runs {
        assert!(run.end_time.is_some(), "{} has an end time", run.run_name);
    }
}

#[test]
fn a_panicking_child_fails_and_the_panic_propagates() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "status-panic");
    {
        let _parent = mlflow::start_run().name("parent").start();
        let caught = catch_unwind(child_panics);
        let payload = caught.expect_err("the panic must reach the caller");
        let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
        assert_eq!(message, "child exploded");
        // The stack is back to the parent.
        mlflow::log_metric("after_catch", 1.0).unwrap();
    }
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let parent = RunRecord::named(&runs, "parent");
    assert_eq!(parent.status, "FINISHED");
    assert_eq!(parent.metrics["after_catch"], 1.0);
    let child = RunRecord::named(&runs, "panics");
    assert_eq!(child.parent_run_id.as_deref(), Some(parent.run_id.as_str()));
    assert_eq!(child.status, "FAILED");
    assert_eq!(child.metrics["before_panic"], 1.0);
    assert!(child.end_time.is_some());
}

#[mlflow::parent_run(name = "doomed_parent")]
fn parent_with_panicking_child() {
    child_plain();
    child_panics();
}

#[test]
fn a_panic_fails_every_run_it_unwinds_through() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "status-panic-chain");
    assert!(catch_unwind(parent_with_panicking_child).is_err());
    assert_eq!(mlflow::active_run_id(), None, "every run was popped");
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    assert_eq!(RunRecord::named(&runs, "doomed_parent").status, "FAILED");
    assert_eq!(RunRecord::named(&runs, "panics").status, "FAILED");
    assert_eq!(RunRecord::named(&runs, "plain").status, "FINISHED");
}

#[test]
fn guards_and_closures_end_runs_as_told() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "status-imperative");
    let out: Result<(), TrainingDiverged> = mlflow::start_run()
        .name("closure_err")
        .try_run(|| Err(TrainingDiverged));
    assert!(out.is_err());
    let out = mlflow::start_run().name("closure_ok").run(|| 5);
    assert_eq!(out, 5);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        mlflow::start_run()
            .name("closure_panic")
            .run(|| -> u8 { panic!("in closure") })
    }));
    assert!(caught.is_err());
    mlflow::start_run()
        .name("killed")
        .start()
        .end(mlflow::RunStatus::Killed);
    drop(mlflow::start_run().name("dropped").start());
    assert_eq!(mlflow::active_run_id(), None);
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let status = |name: &str| RunRecord::named(&runs, name).status.clone();
    assert_eq!(status("closure_err"), "FAILED");
    assert_eq!(status("closure_ok"), "FINISHED");
    assert_eq!(status("closure_panic"), "FAILED");
    assert_eq!(status("killed"), "KILLED");
    assert_eq!(status("dropped"), "FINISHED");
}

#[mlflow::parent_run(name = "level_1")]
fn level_1() -> Result<(), TrainingDiverged> {
    mlflow::log_param("level", 1).unwrap();
    level_2(2)
}

#[mlflow::child_run(name = "level_{n}")]
fn level_2(n: u32) -> Result<(), TrainingDiverged> {
    mlflow::log_param("level", n).unwrap();
    level_3(n + 1);
    Ok(())
}

#[mlflow::child_run(name = "level_{n}")]
fn level_3(n: u32) {
    mlflow::log_param("level", n).unwrap();
    level_4(n + 1).unwrap_err();
}

#[mlflow::child_run(name = "level_{n}")]
fn level_4(n: u32) -> Result<(), TrainingDiverged> {
    mlflow::log_param("level", n).unwrap();
    Err(TrainingDiverged)
}

#[test]
fn four_levels_nest_and_end_independently() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "status-four-levels");
    level_1().unwrap();
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 4, "{runs:#?}");
    let mut parent: Option<&RunRecord> = None;
    for level in 1..=4 {
        let run = RunRecord::named(&runs, &format!("level_{level}"));
        assert_eq!(run.params["level"], level.to_string());
        assert_eq!(
            run.parent_run_id,
            parent.map(|p| p.run_id.clone()),
            "level {level}"
        );
        let expected = if level == 4 { "FAILED" } else { "FINISHED" };
        assert_eq!(run.status, expected, "level {level}");
        parent = Some(run);
    }
}
