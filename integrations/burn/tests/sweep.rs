//! The scenario: a `#[parent_run]` sweep over learning rates, one `#[child_run]` per
//! trial, each built with `MlflowMetricLogger::active()`; read back with the Python client.

mod support;

use mlflow_test_support::{RunRecord, read_runs, require_server, unique_name};
use mlflow_tracking_burn::MlflowMetricLogger;
use support::Setup;

const LRS: [f64; 2] = [0.001, 0.05];

#[mlflow::child_run(name = "lr_{lr}", params(lr))]
fn trial(lr: f64) -> Result<(), mlflow::Error> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut setup = Setup::new(dir.path()).logger(MlflowMetricLogger::active()?);
    setup.lr = lr;
    setup.epochs = 2;
    setup.train();
    Ok(())
}

#[mlflow::parent_run(name = "sweep")]
fn sweep() -> Result<String, mlflow::Error> {
    for lr in LRS {
        trial(lr)?;
    }
    Ok(mlflow::active_run_id().unwrap_or_default())
}

#[test]
fn child_runs_of_a_sweep_get_their_own_trainings_metrics() {
    let uri = require_server!();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name("burn-sweep");
    mlflow::set_experiment(&experiment).unwrap();
    let parent_id = sweep().expect("sweep");
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let parent = RunRecord::named(&runs, "sweep");
    assert_eq!(parent.run_id, parent_id);
    assert!(parent.metrics.is_empty(), "{:?}", parent.metrics);
    let children = parent.children(&runs);
    let names: Vec<&str> = children.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(names, ["lr_0.001", "lr_0.05"]);
    for child in &children {
        assert_eq!(child.status, "FINISHED");
        let keys: Vec<&str> = child.metrics.keys().map(String::as_str).collect();
        assert_eq!(keys, ["train/Loss", "valid/Loss"], "{}", child.run_name);
    }
    // Different learning rates train differently: each child got its own values.
    assert_ne!(children[0].metrics, children[1].metrics);

    let best = mlflow::search_runs()
        .experiment_names([experiment.as_str()])
        .children_of(&parent_id)
        .order_by(["metrics.`valid/Loss` ASC"])
        .first()
        .unwrap()
        .expect("a child");
    let lowest = children
        .iter()
        .min_by(|a, b| a.metrics["valid/Loss"].total_cmp(&b.metrics["valid/Loss"]))
        .unwrap();
    assert_eq!(best.info.run_name, lowest.run_name);
}
