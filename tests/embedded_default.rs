//! The embedded default: with no tracking URI configured, runs go to `./mlflow.db` in
//! MLflow's own SQLite schema, which MLflow's Python client (and so `mlflow ui`) reads as
//! is. Each test logs from a fresh process whose working directory is a temporary folder
//! (the working directory and the exit-time flush are process-wide), and that process
//! returns WITHOUT calling `flush()`: nothing may be lost.

use std::path::Path;

use mlflow_test_support::{
    RunRecord, in_child, metric_history, read_runs, require_python, run_self,
};

const EXPERIMENT: &str = "embedded-sweep";
const POINTS: i64 = 1500;

fn sqlite_uri(dir: &Path) -> String {
    format!("sqlite:///{}", dir.join("mlflow.db").display())
}

/// The child's part: a parent with three children, a long metric history, non-finite
/// values; then return without `flush()`.
fn log_sweep_without_flush() {
    let uri = mlflow::get_tracking_uri();
    assert!(
        uri.starts_with("sqlite:") && uri.ends_with("mlflow.db"),
        "default URI is {uri}"
    );
    mlflow::set_experiment(EXPERIMENT).unwrap();
    let _parent = mlflow::start_run().name("parent").start();
    mlflow::set_tag("test_identifier", "embedded").unwrap();
    for i in 0..3 {
        let _child = mlflow::start_run().name(format!("run_{i}")).start();
        mlflow::log_param("i", i).unwrap();
        mlflow::log_param("optimizer", "adam").unwrap();
        mlflow::log_metric("score", f64::from(i) / 4.0).unwrap();
        mlflow::set_tag("kind", "child").unwrap();
        mlflow::set_tag("kind", "child-final").unwrap();
    }
    let _history = mlflow::start_run().name("history").start();
    for step in 0..POINTS {
        mlflow::log_metric_with_step("loss", 1.0 / (step + 1) as f64, step).unwrap();
    }
    mlflow::log_metric("nan", f64::NAN).unwrap();
    mlflow::log_metric("pos_inf", f64::INFINITY).unwrap();
    mlflow::log_metric("neg_inf", f64::NEG_INFINITY).unwrap();
    // No flush: the guards drop here, then the process exits.
}

#[test]
fn default_uri_writes_mlflow_db_in_the_working_directory() {
    if in_child() {
        return log_sweep_without_flush();
    }
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    run_self(
        "default_uri_writes_mlflow_db_in_the_working_directory",
        Some(dir.path()),
        &[],
    );
    assert!(
        dir.path().join("mlflow.db").is_file(),
        "./mlflow.db was not created"
    );

    let uri = sqlite_uri(dir.path());
    let runs = read_runs(&uri, EXPERIMENT);
    assert_eq!(runs.len(), 5, "{runs:#?}");
    let parent = RunRecord::named(&runs, "parent");
    assert_eq!(parent.parent_run_id, None);
    assert_eq!(parent.tags["test_identifier"], "embedded");
    let children = parent.children(&runs);
    let names: Vec<&str> = children.iter().map(|c| c.run_name.as_str()).collect();
    assert_eq!(names, ["history", "run_0", "run_1", "run_2"]);
    for (i, child) in children[1..].iter().enumerate() {
        assert_eq!(child.params["i"], i.to_string());
        assert_eq!(child.params["optimizer"], "adam");
        assert_eq!(child.metrics["score"], i as f64 / 4.0);
        assert_eq!(child.tags["kind"], "child-final");
    }
    for run in &runs {
        assert_eq!(run.status, "FINISHED", "{}", run.run_name);
        assert!(
            run.end_time.is_some_and(|end| end >= run.start_time),
            "{}",
            run.run_name
        );
        assert_eq!(run.tags["mlflow.runName"], run.run_name);
        assert_eq!(run.tags["mlflow.source.type"], "LOCAL");
        assert!(!run.tags["mlflow.user"].is_empty());
        assert!(!run.tags["mlflow.source.name"].is_empty());
    }

    let history = RunRecord::named(&runs, "history");
    assert_eq!(history.metrics["loss"], 1.0 / POINTS as f64);
    assert!(history.metrics["nan"].is_nan());
    // As MLflow's own SQL store does: ±inf is kept as ±f64::MAX.
    let pos = history.metrics["pos_inf"];
    let neg = history.metrics["neg_inf"];
    assert!(pos == f64::MAX || pos == f64::INFINITY, "{pos}");
    assert!(neg == -f64::MAX || neg == f64::NEG_INFINITY, "{neg}");
    let mut loss = metric_history(&uri, &history.run_id, "loss");
    assert_eq!(
        loss.len(),
        POINTS as usize,
        "every point logged before exit is stored"
    );
    loss.sort_by_key(|p| p.step);
    assert!(loss.iter().zip(0..).all(|(p, step)| p.step == step));
}

#[mlflow::child_run(name = "child_{i}")]
fn macro_child(i: u32) {
    mlflow::log_metric("i", f64::from(i)).unwrap();
}

#[mlflow::parent_run(name = "macro_parent")]
fn macro_parent() {
    for i in 0..2 {
        macro_child(i);
    }
}

#[test]
fn macros_without_an_experiment_use_the_default_one() {
    if in_child() {
        return macro_parent();
    }
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    run_self(
        "macros_without_an_experiment_use_the_default_one",
        Some(dir.path()),
        &[],
    );

    let runs = read_runs(&sqlite_uri(dir.path()), "Default");
    assert_eq!(runs.len(), 3, "{runs:#?}");
    let parent = RunRecord::named(&runs, "macro_parent");
    assert_eq!(parent.experiment_id, "0");
    let children = parent.children(&runs);
    assert_eq!(children.len(), 2);
    for (i, child) in children.iter().enumerate() {
        assert_eq!(child.run_name, format!("child_{i}"));
        assert_eq!(child.metrics["i"], i as f64);
        assert_eq!(child.status, "FINISHED");
    }
}

#[test]
fn a_second_process_adds_to_the_same_database() {
    if in_child() {
        mlflow::set_experiment(EXPERIMENT).unwrap();
        let _run = mlflow::start_run()
            .name(std::env::var("RUN_NAME").unwrap())
            .start();
        mlflow::log_metric("m", 1.0).unwrap();
        return;
    }
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    for name in ["first", "second"] {
        run_self(
            "a_second_process_adds_to_the_same_database",
            Some(dir.path()),
            &[("RUN_NAME", name)],
        );
    }
    let runs = read_runs(&sqlite_uri(dir.path()), EXPERIMENT);
    let mut names: Vec<&str> = runs.iter().map(|r| r.run_name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"]);
    assert_eq!(runs[0].experiment_id, runs[1].experiment_id);
}
