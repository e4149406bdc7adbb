//! burn trainings logged with `MlflowMetricLogger`, read back with MLflow's Python client
//! from the suite's server. Each test is its own process under nextest (the tracking URI
//! and the active experiment are process-wide).

mod support;

use mlflow_test_support::{
    RunRecord, metric_history, read_runs, require_server, run_python, unique_name,
};
use mlflow_tracking_burn::{BurnRun, MlflowMetricLogger};
use mlflow_tracking_runtime as mlflow;
use support::{Recorder, Setup, TrialConfig, kept_checkpoints};

fn fresh_experiment(uri: &str, prefix: &str) -> String {
    mlflow::set_tracking_uri(uri).expect("set_tracking_uri");
    let experiment = unique_name(prefix);
    mlflow::set_experiment(&experiment).expect("set_experiment");
    experiment
}

fn only_run(uri: &str, experiment: &str) -> RunRecord {
    mlflow::flush().expect("flush");
    let runs = read_runs(uri, experiment);
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.into_iter().next().unwrap()
}

/// (step, value) of every point of `key`, by step.
fn history(uri: &str, run_id: &str, key: &str) -> Vec<(i64, f64)> {
    let mut points: Vec<(i64, f64)> = metric_history(uri, run_id, key)
        .into_iter()
        .map(|p| (p.step, p.value))
        .collect();
    points.sort_by_key(|p| p.0);
    points
}

#[test]
fn epoch_values_are_burns_under_split_keys_with_epoch_steps() {
    let uri = require_server!();
    let experiment = fresh_experiment(&uri, "burn-epochs");
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let run = mlflow::start_run().name("trial").start();
    let logger = MlflowMetricLogger::active().expect("inside a run");
    Setup::new(dir.path())
        .logger(logger)
        .logger(recorder.clone())
        .train();
    drop(run);

    let record = only_run(&uri, &experiment);
    assert_eq!(record.status, "FINISHED");
    assert_eq!(
        record.tags.get("burn.version").map(String::as_str),
        Some(mlflow_tracking_burn::BURN_VERSION)
    );
    assert!(mlflow_tracking_burn::BURN_VERSION.starts_with("0.22."));
    let keys: Vec<&str> = record.metrics.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["train/Loss", "valid/Loss"],
        "no per-batch keys by default"
    );
    for split in ["train", "valid"] {
        let expected: Vec<(i64, f64)> = recorder
            .finals(split, "Loss")
            .into_iter()
            .map(|(epoch, v)| (epoch as i64, v))
            .collect();
        assert_eq!(
            expected.iter().map(|p| p.0).collect::<Vec<_>>(),
            [1, 2, 3],
            "burn's epochs"
        );
        let logged = history(&uri, &record.run_id, &format!("{split}/Loss"));
        assert_eq!(logged, expected, "{split}/Loss");
    }
}

#[test]
fn burn_keeps_the_same_checkpoint_as_with_its_own_logger() {
    let uri = require_server!();
    let experiment = fresh_experiment(&uri, "burn-checkpoint");

    let own = tempfile::tempdir().unwrap();
    let mut setup = Setup::new(own.path());
    setup.checkpoint_worst_valid_loss = true;
    setup.train(); // burn's default file logger answers burn
    let with_burns_logger = kept_checkpoints(own.path());

    let ours = tempfile::tempdir().unwrap();
    let run = mlflow::start_run().name("trial").start();
    let mut setup = Setup::new(ours.path()).logger(MlflowMetricLogger::active().unwrap());
    setup.checkpoint_worst_valid_loss = true;
    setup.train();
    drop(run);
    let with_ours = kept_checkpoints(ours.path());

    assert_eq!(with_ours, with_burns_logger);
    assert_eq!(with_ours.len(), 1, "{with_ours:?}");
    // The kept epoch is the one whose valid loss in MLflow is highest, and not the last
    // epoch (what burn keeps when a logger answers it with no values).
    let record = only_run(&uri, &experiment);
    let valid = history(&uri, &record.run_id, "valid/Loss");
    let worst = valid
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|p| p.0 as usize)
        .unwrap();
    assert_eq!(with_ours, [worst], "{valid:?}");
    assert_ne!(
        worst, 3,
        "the test needs a best epoch other than the last: {valid:?}"
    );
}

#[test]
fn burn_stops_early_at_the_same_epoch_as_with_its_own_logger() {
    let uri = require_server!();
    let experiment = fresh_experiment(&uri, "burn-early-stop");

    let own = tempfile::tempdir().unwrap();
    let burns = Recorder::default();
    let mut setup = Setup::new(own.path())
        .logger(burn::train::logger::FileMetricLogger::new(own.path()))
        .logger(burns.clone());
    setup.epochs = 5;
    setup.stop_when_valid_loss_stops_rising = true;
    setup.train();

    let ours = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let run = mlflow::start_run().name("trial").start();
    let mut setup = Setup::new(ours.path())
        .logger(MlflowMetricLogger::active().unwrap())
        .logger(recorder.clone());
    setup.epochs = 5;
    setup.stop_when_valid_loss_stops_rising = true;
    setup.train();
    drop(run);

    let with_burns_logger: Vec<usize> = burns.finals("valid", "Loss").iter().map(|p| p.0).collect();
    let with_ours: Vec<usize> = recorder
        .finals("valid", "Loss")
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(with_ours, with_burns_logger);
    assert!(with_ours.len() < 5, "stopped early: {with_ours:?}");
    let record = only_run(&uri, &experiment);
    let steps: Vec<usize> = history(&uri, &record.run_id, "valid/Loss")
        .iter()
        .map(|p| p.0 as usize)
        .collect();
    assert_eq!(steps, with_ours);
}

#[test]
fn every_n_batches_logs_batch_values_and_a_resumed_run_counts_on() {
    let uri = require_server!();
    let experiment = fresh_experiment(&uri, "burn-batches");
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let run = mlflow::start_run().name("trial").start();
    let handle = run.handle();
    let mut setup = Setup::new(dir.path())
        .logger(MlflowMetricLogger::new(handle.clone()).every_n_batches(3))
        .logger(recorder.clone());
    setup.epochs = 2;
    setup.train();
    mlflow::flush().unwrap();

    // 64 / 8 = 8 train batches and 32 / 8 = 4 valid batches per epoch, over 2 epochs.
    let run_id = handle.id().unwrap();
    let train = history(&uri, &run_id, "train/batch/Loss");
    let burn_train = recorder.batches("train", "Loss");
    assert_eq!(burn_train.len(), 16);
    let expected: Vec<(i64, f64)> = (1..=16)
        .filter(|i| i % 3 == 0)
        .map(|i| (i as i64, burn_train[i - 1]))
        .collect();
    assert_eq!(train, expected);
    let valid_steps: Vec<i64> = history(&uri, &run_id, "valid/batch/Loss")
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(valid_steps, [3, 6]);

    // A second training into the same run (as after a restart) continues the steps.
    let dir = tempfile::tempdir().unwrap();
    let mut setup =
        Setup::new(dir.path()).logger(MlflowMetricLogger::new(handle.clone()).every_n_batches(3));
    setup.epochs = 1;
    setup.train();
    drop(run);
    mlflow::flush().unwrap();
    let steps: Vec<i64> = history(&uri, &run_id, "train/batch/Loss")
        .iter()
        .map(|p| p.0)
        .collect();
    // Counting on from step 15: batches 16..=23, logged at 18 and 21.
    assert_eq!(steps, [3, 6, 9, 12, 15, 18, 21]);
    let valid_steps: Vec<i64> = history(&uri, &run_id, "valid/batch/Loss")
        .iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(valid_steps, [3, 6, 9]);
    let record = only_run(&uri, &experiment);
    assert_eq!(record.status, "FINISHED");
}

#[test]
fn metric_names_become_distinct_valid_keys_and_text_metrics_are_skipped() {
    let uri = require_server!();
    let experiment = fresh_experiment(&uri, "burn-names");
    let dir = tempfile::tempdir().unwrap();
    let recorder = Recorder::default();
    let run = mlflow::start_run().name("trial").start();
    let mut setup = Setup::new(dir.path())
        .logger(MlflowMetricLogger::active().unwrap())
        .logger(recorder.clone());
    setup.extra_metrics = true;
    setup.epochs = 2;
    setup.train();
    drop(run);

    let record = only_run(&uri, &experiment);
    let keys: Vec<&str> = record.metrics.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "train/Loss",
            "valid/Loss",
            "valid/Loss _x2_",
            "valid/Loss _x2__2",
            "valid/Top-K Accuracy _ TopK_5_",
        ]
    );
    for (key, name) in [
        ("valid/Loss _x2_", "Loss (x2)"),
        ("valid/Loss _x2__2", "Loss [x2]"),
        ("valid/Top-K Accuracy _ TopK_5_", "Top-K Accuracy @ TopK(5)"),
    ] {
        let expected: Vec<(i64, f64)> = recorder
            .finals("valid", name)
            .into_iter()
            .map(|(e, v)| (e as i64, v))
            .collect();
        assert_eq!(expected.len(), 2, "{name}");
        assert_eq!(history(&uri, &record.run_id, key), expected, "{key}");
    }
}

#[test]
fn config_params_and_the_model_as_a_logged_model() {
    let uri = require_server!();
    let experiment = fresh_experiment(&uri, "burn-config");
    let dir = tempfile::tempdir().unwrap();
    let optimizer = burn::optim::AdamConfig::new().with_grad_clipping(Some(
        burn::optim::grad_clipping::GradientClippingConfig::Norm(1.5),
    ));
    let config = TrialConfig::new(optimizer);
    let run = mlflow::start_run().name("trial").start();
    mlflow_tracking_burn::log_config(&config).expect("log_config");
    let result = Setup::new(dir.path())
        .logger(MlflowMetricLogger::active().unwrap())
        .train();
    let model =
        mlflow_tracking_burn::log_model(result.model, dir.path().join("final")).expect("log_model");
    let file = dir.path().join("final.bpk");
    assert!(file.is_file(), "burn appended its extension");
    // Not a struct: a clear error, nothing logged.
    let err = run.handle().log_burn_config(&[1, 2]).unwrap_err();
    assert!(err.to_string().contains("struct or a map"), "{err}");
    let run_id = run.id().unwrap();
    drop(run);

    let record = only_run(&uri, &experiment);
    let param = |k: &str| record.params.get(k).map(String::as_str);
    assert_eq!(param("hidden"), Some("8"));
    assert_eq!(param("epochs"), Some("3"));
    assert_eq!(param("lr"), Some("0.05"));
    assert_eq!(param("widths"), Some("[16,8]"));
    assert_eq!(param("note"), None, "None is left out");
    assert_eq!(param("optimizer.beta_1"), Some("0.9"));
    assert_eq!(param("optimizer.beta_2"), Some("0.999"));
    assert_eq!(param("optimizer.grad_clipping"), Some("Norm"));
    assert_eq!(param("optimizer.grad_clipping.Norm"), Some("1.5"));
    assert!(
        record
            .params
            .keys()
            .all(|k| !k.starts_with("optimizer.weight_decay")),
        "{:?}",
        record.params
    );
    assert_eq!(
        record.tags.get("burn.version").map(String::as_str),
        Some(mlflow_tracking_burn::BURN_VERSION)
    );

    let found = run_python(
        r#"
import json, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
c = MlflowClient()
lm = c.get_logged_model(os.environ["MODEL"])
flavors = mlflow.models.Model.load(f"models:/{lm.model_id}").flavors
d = mlflow.artifacts.download_artifacts(f"models:/{lm.model_id}", dst_path=tempfile.mkdtemp())
files = sorted(
    [f, os.path.getsize(os.path.join(d, f))]
    for f in os.listdir(d)
    if f not in ("MLmodel", "registered_model_meta")
)
outputs = [o.model_id for o in c.get_run(os.environ["RUN"]).outputs.model_outputs]
print(json.dumps({
    "name": lm.name,
    "status": str(lm.status),
    "source_run_id": lm.source_run_id,
    "flavors": sorted(flavors),
    "burn_version": lm.tags.get("burn.version"),
    "files": files,
    "outputs": outputs,
}))
"#,
        &[("URI", &uri), ("RUN", &run_id), ("MODEL", model.model_id())],
    );
    let size = std::fs::metadata(&file).unwrap().len();
    assert_eq!(
        found,
        serde_json::json!({
            "name": "final",
            "status": "READY",
            "source_run_id": run_id,
            "flavors": ["burn"],
            "burn_version": mlflow_tracking_burn::BURN_VERSION,
            "files": [["final.bpk", size]],
            "outputs": [model.model_id()],
        })
    );
}

#[test]
fn active_outside_a_run_is_an_error() {
    let err = MlflowMetricLogger::active().unwrap_err();
    assert!(matches!(err, mlflow::Error::NoActiveRun), "{err}");
    let err = mlflow_tracking_burn::log_config(&TrialConfig::new(burn::optim::AdamConfig::new()))
        .unwrap_err();
    assert!(err.to_string().contains("no active run"), "{err}");
}
