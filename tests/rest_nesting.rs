//! The seed workload, 5 parent runs with 5 child runs each, logged to a real `mlflow server`
//! with the imperative API and with the macros, then read back with MLflow's own Python
//! client: nesting is the `mlflow.parentRunId` tag, and every run carries what the Python
//! client would have written.
//!
//! old-mlflow: also runs against the old MLflow server (`MLFLOW_OLD_VERSION`, scripts/pins.env)
//! in scripts/test.sh's old-MLflow step, read back with that MLflow's client.

mod common;

use common::use_fresh_experiment;
use mlflow_test_support::{RunRecord, read_runs, require_server, unique_name};

const PARAM1: [&str; 3] = ["x", "y", "z"];
const PARAM2: [&str; 3] = ["u", "v", "w"];

/// What each child logs; deterministic so that read-back can check every value.
fn log_child(i: usize, x: usize) -> mlflow::Result<()> {
    mlflow::log_param("param1", PARAM1[(i + x) % 3])?;
    mlflow::log_param("param2", PARAM2[(i * x) % 3])?;
    mlflow::log_metric("metric1", i as f64 / 10.0)?;
    mlflow::log_metric("metric2", x as f64 + 0.5)?;
    mlflow::set_tag("test_identifier", "default")?;
    Ok(())
}

/// Checks the 5 x 5 shape, names, statuses, values, system tags and times.
fn check_sweep(runs: &[RunRecord]) {
    assert_eq!(
        runs.len(),
        30,
        "5 parents + 25 children expected, got {runs:#?}"
    );
    let experiment_id = &runs[0].experiment_id;
    let parents: Vec<&RunRecord> = runs.iter().filter(|r| r.parent_run_id.is_none()).collect();
    assert_eq!(parents.len(), 5);
    for x in 0..5 {
        let parent = RunRecord::named(runs, &format!("parent_run_test_default_{x}"));
        assert_eq!(parent.parent_run_id, None);
        assert_eq!(parent.tags["test_identifier"], "default");
        let children = parent.children(runs);
        let names: Vec<&str> = children.iter().map(|c| c.run_name.as_str()).collect();
        let expected: Vec<String> = (0..5).map(|i| format!("run_{i}_test_{x}")).collect();
        assert_eq!(names, expected, "children of {}", parent.run_name);
        for (i, child) in children.iter().enumerate() {
            assert_eq!(child.params["param1"], PARAM1[(i + x) % 3]);
            assert_eq!(child.params["param2"], PARAM2[(i * x) % 3]);
            assert_eq!(child.metrics["metric1"], i as f64 / 10.0);
            assert_eq!(child.metrics["metric2"], x as f64 + 0.5);
            assert_eq!(child.tags["test_identifier"], "default");
            assert!(
                child.start_time >= parent.start_time,
                "child starts after its parent"
            );
            assert!(
                child.end_time <= parent.end_time,
                "child {} ends before its parent",
                child.run_name
            );
        }
    }
    for run in runs {
        assert_eq!(
            &run.experiment_id, experiment_id,
            "one experiment for the whole sweep"
        );
        assert_eq!(run.status, "FINISHED", "{}", run.run_name);
        check_system_tags(run);
        let end = run.end_time.expect("end_time set");
        assert!(
            run.start_time > 1_600_000_000_000,
            "start_time is epoch millis"
        );
        assert!(end >= run.start_time);
    }
}

fn check_system_tags(run: &RunRecord) {
    let tag = |key: &str| run.tags.get(key).map(String::as_str).unwrap_or_default();
    assert_eq!(tag("mlflow.runName"), run.run_name);
    assert!(
        !tag("mlflow.user").is_empty(),
        "mlflow.user on {}",
        run.run_name
    );
    assert!(
        !tag("mlflow.source.name").is_empty(),
        "mlflow.source.name on {}",
        run.run_name
    );
    assert_eq!(tag("mlflow.source.type"), "LOCAL");
}

#[test]
fn imperative_sweep_nests_five_children_under_each_parent() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "nesting-imperative");
    for x in 0..5 {
        let parent = mlflow::start_run()
            .name(format!("parent_run_test_default_{x}"))
            .start();
        mlflow::set_tag("test_identifier", "default").unwrap();
        for i in 0..5 {
            let _child = mlflow::start_run()
                .name(format!("run_{i}_test_{x}"))
                .start();
            log_child(i, x).unwrap();
        }
        drop(parent);
    }
    mlflow::flush().unwrap();
    check_sweep(&read_runs(&uri, &experiment));
}

#[mlflow::child_run(name = "run_{i}_test_{x}")]
fn macro_child(i: usize, x: usize) -> mlflow::Result<()> {
    log_child(i, x)
}

#[mlflow::parent_run(name = "parent_run_test_default_{x}")]
fn macro_parent(x: usize) -> mlflow::Result<()> {
    mlflow::set_tag("test_identifier", "default")?;
    for i in 0..5 {
        macro_child(i, x)?;
    }
    Ok(())
}

#[test]
fn macro_sweep_nests_five_children_under_each_parent() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "nesting-macros");
    for x in 0..5 {
        macro_parent(x).unwrap();
    }
    mlflow::flush().unwrap();
    check_sweep(&read_runs(&uri, &experiment));
}

#[test]
fn active_run_follows_the_stack() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "nesting-active");
    assert_eq!(mlflow::active_run_id(), None);
    let parent = mlflow::start_run().name("parent").start();
    let parent_id = parent.id().unwrap();
    assert_eq!(mlflow::active_run_id().as_deref(), Some(parent_id.as_str()));
    {
        let child = mlflow::start_run().name("child").start();
        let child_id = child.id().unwrap();
        assert_ne!(child_id, parent_id);
        assert_eq!(mlflow::active_run_id(), Some(child_id));
        assert_eq!(
            mlflow::active_run().unwrap().id().unwrap(),
            child.id().unwrap()
        );
    }
    assert_eq!(mlflow::active_run_id(), Some(parent_id.clone()));
    {
        // Inside a run, `top_level()` opts out of nesting.
        let _other = mlflow::start_run().name("sibling").top_level().start();
    }
    drop(parent);
    assert_eq!(mlflow::active_run_id(), None);
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 3);
    let parent = RunRecord::named(&runs, "parent");
    assert_eq!(parent.run_id, parent_id);
    assert_eq!(
        RunRecord::named(&runs, "child").parent_run_id,
        Some(parent_id)
    );
    assert_eq!(RunRecord::named(&runs, "sibling").parent_run_id, None);
}

#[test]
fn children_from_worker_threads_nest_under_an_explicit_parent() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "nesting-threads");
    let parent = mlflow::start_run().name("parent").start();
    let handle = parent.handle();
    std::thread::scope(|s| {
        for i in 0..4 {
            let handle = handle.clone();
            s.spawn(move || {
                let _child = mlflow::start_run()
                    .name(format!("worker_{i}"))
                    .parent(&handle)
                    .start();
                mlflow::log_metric("worker", i as f64).unwrap();
            });
        }
    });
    drop(parent);
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let parent = RunRecord::named(&runs, "parent");
    let children = parent.children(&runs);
    assert_eq!(children.len(), 4, "{runs:#?}");
    for (i, child) in children.iter().enumerate() {
        assert_eq!(child.run_name, format!("worker_{i}"));
        assert_eq!(child.metrics["worker"], i as f64);
        assert_eq!(child.status, "FINISHED");
    }
}

#[test]
fn builder_experiment_name_overrides_the_active_experiment() {
    let uri = require_server!();
    let _active = use_fresh_experiment(&uri, "nesting-active-experiment");
    let other = unique_name("nesting-builder-experiment");
    {
        let _parent = mlflow::start_run()
            .name("parent")
            .experiment_name(&other)
            .start();
        // A child goes where its parent is.
        let _child = mlflow::start_run().name("child").start();
        mlflow::log_param("p", 1).unwrap();
    }
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &other);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let parent = RunRecord::named(&runs, "parent");
    let child = RunRecord::named(&runs, "child");
    assert_eq!(child.parent_run_id.as_deref(), Some(parent.run_id.as_str()));
    assert_eq!(child.params["p"], "1");
}
