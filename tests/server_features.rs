//! What a server of either MLflow major version gives: against MLflow 3 a model is a logged
//! model; against MLflow 2.x, which has no logged models, `log_model` is an error that names
//! the missing feature, and nothing else the run logs is lost: its params, metrics and
//! datasets are stored. Read back through the store.
//!
//! old-mlflow: also runs against the old MLflow server (`MLFLOW_OLD_VERSION`, scripts/pins.env)
//! in scripts/test.sh's old-MLflow step.

mod common;

use common::use_fresh_experiment;
use mlflow_test_support::{http_get, require_server};

/// The server's MLflow major version (`GET /version`), 0 when it does not say.
fn server_major(uri: &str) -> u32 {
    http_get(uri, "/version")
        .and_then(|v| v.trim().split('.').next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn log_model_is_a_logged_model_on_mlflow_3_and_a_clear_error_on_mlflow_2() {
    let uri = require_server!();
    let major = server_major(&uri);
    assert!(major >= 2, "the server says no version at {uri}");
    use_fresh_experiment(&uri, "server-features");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("weights.bin");
    std::fs::write(&file, b"weights").unwrap();
    let data = dir.path().join("train.csv");
    std::fs::write(&data, "x,y\n1,2\n").unwrap();

    let run = mlflow::start_run().name("features").start();
    mlflow::log_param("lr", 0.1).unwrap();
    mlflow::log_metric("loss", 0.5).unwrap();
    let dataset = mlflow::Dataset::from_file("train", &data).unwrap();
    mlflow::log_input(&dataset, Some("training")).unwrap();
    let logged = mlflow::log_model("net", &file);
    mlflow::log_metric("loss", 0.25).unwrap();
    let run_id = run.id().unwrap();
    run.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();

    if major >= 3 {
        let model = logged.expect("a logged model on MLflow 3");
        assert!(model.model_id().starts_with("m-"), "{}", model.model_id());
    } else {
        let err = logged.expect_err("MLflow 2.x has no logged models");
        let text = err.to_string();
        assert!(
            text.contains("no logged models") && text.contains("MLflow 3"),
            "the error names the missing feature: {text}"
        );
    }
    // Nothing else of the run is lost.
    let stored = mlflow::Client::new().get_run(&run_id).unwrap();
    assert_eq!(stored.param("lr"), Some("0.1"));
    assert_eq!(stored.metric("loss"), Some(0.25));
    assert_eq!(stored.info.status, mlflow::RunStatus::Finished);
    let inputs = &stored.inputs.dataset_inputs;
    assert_eq!(inputs.len(), 1, "{inputs:?}");
    assert_eq!(inputs[0].dataset.name, "train");
    assert_eq!(inputs[0].dataset.digest, dataset.digest);
}
