//! `MlflowCheckpointer`: a burn training's checkpoints as MLflow logged models, on both
//! stores (the suite's `mlflow server` and a fresh embedded `mlflow.db`), read back with
//! MLflow's Python client (`mlflow.search_logged_models`, `MlflowClient.get_logged_model`,
//! `mlflow.models.Model.load`). Each test is its own process under nextest (the tracking
//! URI and the active experiment are process-wide).

mod support;

use std::path::Path;

use burn::train::checkpoint::FileCheckpointer;
use mlflow_test_support::{python, run_python, server_uri, unique_name};
use mlflow_tracking_burn::{MlflowCheckpointer, MlflowMetricLogger};
use mlflow_tracking_runtime as mlflow;
use serde_json::Value;
use support::{Recorder, Setup, kept_checkpoints};

/// Where a test logs: the tracking URI, its experiment, and the temporary folder of an
/// embedded store.
struct Target {
    uri: String,
    experiment: String,
    _dir: Option<tempfile::TempDir>,
}

/// The suite's server, or `None` (after saying why) outside CI without a venv.
fn server(prefix: &str) -> Option<Target> {
    let Some(uri) = server_uri() else {
        assert!(!mlflow_test_support::is_ci(), "no MLflow server under CI");
        eprintln!("skipped: no MLflow server (set MLFLOW_TEST_SERVER_URI)");
        return None;
    };
    Some(point_at(uri, None, None, prefix))
}

/// A fresh `mlflow.db` in a temporary folder, or `None` outside CI without a venv.
fn embedded(prefix: &str) -> Option<Target> {
    if python().is_none() {
        assert!(!mlflow_test_support::is_ci(), "no MLflow venv under CI");
        eprintln!("skipped: no MLflow venv (set MLFLOW_TEST_PYTHON)");
        return None;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().canonicalize().expect("canonical temp dir");
    let uri = format!("sqlite:///{}", path.join("mlflow.db").display());
    // The artifacts in the temporary folder too (the store's default is `./mlruns`).
    let artifacts = path.join("mlruns").display().to_string();
    Some(point_at(uri, Some(dir), Some(artifacts), prefix))
}

fn point_at(
    uri: String,
    dir: Option<tempfile::TempDir>,
    artifacts: Option<String>,
    prefix: &str,
) -> Target {
    mlflow::set_tracking_uri(&uri).expect("set_tracking_uri");
    let experiment = unique_name(prefix);
    if let Some(location) = artifacts {
        let id = mlflow::create_experiment(experiment.as_str())
            .artifact_location(location)
            .create()
            .expect("create_experiment");
        mlflow::set_experiment_by_id(&id).expect("set_experiment_by_id");
    } else {
        mlflow::set_experiment(&experiment).expect("set_experiment");
    }
    Target {
        uri,
        experiment,
        _dir: dir,
    }
}

/// Trains `epochs` epochs in a run named `trial` with the logger and the checkpointer
/// (burn's default strategy: the last two epochs and the best valid loss are kept).
/// Returns the run's id and what burn computed.
fn train_with_checkpoints(dir: &Path, epochs: usize) -> (String, Recorder) {
    let recorder = Recorder::default();
    let run = mlflow::start_run().name("trial").start();
    let logger = MlflowMetricLogger::active().expect("inside a run");
    let checkpoints = dir.join("checkpoint");
    let model = MlflowCheckpointer::new(&logger, &checkpoints);
    let mut setup = Setup::new(dir)
        .with(|t| {
            t.with_custom_checkpointers(
                model,
                FileCheckpointer::new(&checkpoints, "optim"),
                FileCheckpointer::new(&checkpoints, "scheduler"),
            )
        })
        .logger(logger)
        .logger(recorder.clone());
    setup.epochs = epochs;
    setup.train();
    let run_id = run.id().expect("run id");
    drop(run);
    mlflow::flush().expect("flush");
    (run_id, recorder)
}

const READ_CHECKPOINTS: &str = r#"
import json, os
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
c = MlflowClient()
exp = c.get_experiment_by_name(os.environ["EXP"])
run_id = os.environ["RUN"]
models = mlflow.search_logged_models(
    experiment_ids=[exp.experiment_id],
    filter_string=f"source_run_id = '{run_id}'",
    output_format="list",
)
def ordered(ascending):
    found = mlflow.search_logged_models(
        experiment_ids=[exp.experiment_id],
        filter_string=f"source_run_id = '{run_id}'",
        order_by=[{"field_name": "metrics.valid/Loss", "ascending": ascending}],
        max_results=1,
        output_format="list",
    )
    return found[0].tags.get("burn.epoch") if found else None
out = []
for m in models:
    lm = c.get_logged_model(m.model_id)
    out.append({
        "name": lm.name,
        "status": str(lm.status),
        "source_run_id": lm.source_run_id,
        "epoch": lm.tags.get("burn.epoch"),
        "burn_version": lm.tags.get("burn.version"),
        "flavors": sorted(mlflow.models.Model.load(f"models:/{lm.model_id}").flavors),
        "files": sorted(a.path for a in c.list_logged_model_artifacts(lm.model_id)),
        "metrics": sorted(
            [x.key, x.value, x.step, x.run_id] for x in (lm.metrics or [])
        ),
    })
out.sort(key=lambda m: int(m["epoch"]))
history = {
    key: sorted([p.step, p.value] for p in c.get_metric_history(run_id, key))
    for key in ("train/Loss", "valid/Loss")
}
outputs = sorted(o.model_id for o in c.get_run(run_id).outputs.model_outputs)
print(json.dumps({
    "models": out,
    "lowest": ordered(True),
    "highest": ordered(False),
    "history": history,
    "outputs": len(outputs),
}))
"#;

fn read_checkpoints(t: &Target, run_id: &str) -> Value {
    run_python(
        READ_CHECKPOINTS,
        &[("URI", &t.uri), ("EXP", &t.experiment), ("RUN", run_id)],
    )
}

/// Each epoch's checkpoint is a READY logged model of flavor `burn` with that epoch's
/// values linked at step = the epoch, and ordering by `metrics.valid/Loss` finds burn's
/// best and worst epochs.
fn each_checkpoint_is_a_logged_model_with_its_epoch_values(t: Target) {
    let dir = tempfile::tempdir().unwrap();
    let epochs = 3;
    let (run_id, recorder) = train_with_checkpoints(dir.path(), epochs);
    let found = read_checkpoints(&t, &run_id);

    let models = found["models"].as_array().expect("models");
    assert_eq!(models.len(), epochs, "one model per saved epoch: {found:#}");
    for (i, model) in models.iter().enumerate() {
        let epoch = i + 1;
        assert_eq!(model["name"], format!("model-{epoch}"), "{model:#}");
        assert_eq!(model["status"], "READY", "{model:#}");
        assert_eq!(model["source_run_id"], run_id.as_str());
        assert_eq!(model["epoch"], epoch.to_string());
        assert_eq!(model["burn_version"], mlflow_tracking_burn::BURN_VERSION);
        assert_eq!(model["flavors"], serde_json::json!(["burn"]));
        assert!(
            model["files"]
                .as_array()
                .unwrap()
                .contains(&Value::from(format!("model-{epoch}.bpk"))),
            "{model:#}"
        );
        let mut expected: Vec<Value> = ["train", "valid"]
            .iter()
            .map(|split| {
                let value = recorder
                    .finals(split, "Loss")
                    .into_iter()
                    .find(|(e, _)| *e == epoch)
                    .map(|(_, v)| v)
                    .expect("burn's value");
                serde_json::json!([format!("{split}/Loss"), value, epoch, run_id])
            })
            .collect();
        expected.sort_by_key(|v| v[0].as_str().unwrap().to_owned());
        assert_eq!(
            model["metrics"],
            Value::Array(expected),
            "epoch {epoch}'s values, linked at its step"
        );
    }
    assert_eq!(
        found["outputs"], epochs,
        "each model is an output of the run"
    );

    // Linking logged the same points again: the run's history still has one per epoch.
    for split in ["train", "valid"] {
        let expected: Vec<Value> = recorder
            .finals(split, "Loss")
            .into_iter()
            .map(|(e, v)| serde_json::json!([e, v]))
            .collect();
        assert_eq!(
            found["history"][format!("{split}/Loss")],
            Value::Array(expected)
        );
    }

    // The best (and worst) checkpoint, by ordering on the linked metric.
    let valid = recorder.finals("valid", "Loss");
    let by = |cmp: fn(&f64, &f64) -> std::cmp::Ordering| {
        valid
            .iter()
            .min_by(|a, b| cmp(&a.1, &b.1))
            .map(|p| p.0.to_string())
            .unwrap()
    };
    assert_eq!(found["lowest"], by(f64::total_cmp), "{valid:?}");
    assert_eq!(found["highest"], by(|a, b| b.total_cmp(a)), "{valid:?}");

    // burn's own files are as with its default checkpointers: the last two are kept.
    let kept = kept_checkpoints(dir.path());
    assert!(kept.ends_with(&[2, 3]), "{kept:?}");

    // From Rust: the same best checkpoint, one search away.
    let best = mlflow::search_logged_models()
        .filter(format!("source_run_id = '{run_id}'"))
        .order_by(["metrics.`valid/Loss` ASC"])
        .first()
        .expect("search")
        .expect("a model");
    assert_eq!(best.tag("burn.epoch"), found["lowest"].as_str());
}

#[test]
fn checkpoints_as_logged_models_on_the_embedded_store() {
    if let Some(t) = embedded("burn-ckpt") {
        each_checkpoint_is_a_logged_model_with_its_epoch_values(t);
    }
}

#[test]
fn checkpoints_as_logged_models_on_the_server() {
    if let Some(t) = server("burn-ckpt") {
        each_checkpoint_is_a_logged_model_with_its_epoch_values(t);
    }
}

/// A checkpoint burn saves for an epoch the logger never finishes (no logger registered
/// with the training) waits at most `wait_for_values`, then is logged without values; a
/// name MLflow would refuse is made valid.
#[test]
fn a_checkpointer_without_its_logger_logs_models_without_values() {
    let Some(t) = embedded("burn-ckpt-alone") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = mlflow::start_run().name("trial").start();
    let logger = MlflowMetricLogger::active().unwrap();
    let checkpoints = dir.path().join("checkpoint");
    let model = MlflowCheckpointer::new(&logger, &checkpoints)
        .name("net.v2")
        .wait_for_values(std::time::Duration::from_millis(100));
    let mut setup = Setup::new(dir.path()).with(|t| {
        t.with_custom_checkpointers(
            model,
            FileCheckpointer::new(&checkpoints, "optim"),
            FileCheckpointer::new(&checkpoints, "scheduler"),
        )
    });
    setup.epochs = 2;
    let started = std::time::Instant::now();
    setup.train();
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    drop(logger);
    let run_id = run.id().unwrap();
    drop(run);
    mlflow::flush().unwrap();
    let found = read_checkpoints(&t, &run_id);
    let models = found["models"].as_array().unwrap();
    let names: Vec<&str> = models.iter().map(|m| m["name"].as_str().unwrap()).collect();
    // burn's file names, made valid MLflow model names.
    assert_eq!(names, ["net_v2-1", "net_v2-2"]);
    for m in models {
        let epoch = m["epoch"].as_str().unwrap();
        assert!(
            m["files"]
                .as_array()
                .unwrap()
                .contains(&Value::from(format!("net.v2-{epoch}.bpk"))),
            "{m:#}"
        );
    }
    for m in models {
        assert_eq!(m["status"], "READY");
        assert_eq!(m["metrics"], serde_json::json!([]));
    }
}

/// The checkpoints of a run MLflow refuses to log to (deleted before training) are
/// reported on stderr, once, and training goes on with burn's files saved. Runs the
/// scenario in a child process to read its stderr.
#[test]
fn a_checkpoint_mlflow_refuses_is_reported_and_training_goes_on() {
    const NAME: &str = "a_checkpoint_mlflow_refuses_is_reported_and_training_goes_on";
    if !mlflow_test_support::in_child() {
        let output = mlflow_test_support::run_self(NAME, None, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reported = stderr
            .matches("mlflow: the burn checkpointer could not log to run")
            .count();
        assert_eq!(reported, 1, "reported once: {stderr}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    mlflow::set_tracking_uri(&format!("sqlite:///{}", path.join("mlflow.db").display())).unwrap();
    let experiment = unique_name("burn-ckpt-refused");
    let id = mlflow::create_experiment(experiment.as_str())
        .artifact_location(path.join("mlruns").display().to_string())
        .create()
        .unwrap();
    mlflow::set_experiment_by_id(&id).unwrap();
    let run = mlflow::start_run().name("trial").start();
    let run_id = run.id().unwrap();
    let logger = MlflowMetricLogger::active().unwrap();
    let checkpoints = path.join("checkpoint");
    let model = MlflowCheckpointer::new(&logger, &checkpoints);
    mlflow::flush().unwrap();
    mlflow::delete_run(&run_id).unwrap();
    let mut setup = Setup::new(&path)
        .with(|t| {
            t.with_custom_checkpointers(
                model,
                FileCheckpointer::new(&checkpoints, "optim"),
                FileCheckpointer::new(&checkpoints, "scheduler"),
            )
        })
        .logger(logger);
    setup.epochs = 2;
    setup.train();
    drop(run);
    let kept = kept_checkpoints(&path);
    assert_eq!(kept, [1, 2], "burn's files are saved");
    let models = mlflow::search_logged_models()
        .filter(format!("source_run_id = '{run_id}'"))
        .collect_all()
        .unwrap();
    // The store created the models before refusing the run's outputs: none is READY.
    assert!(
        models
            .iter()
            .all(|m| m.status != mlflow::LoggedModelStatus::Ready),
        "{models:?}"
    );
}
