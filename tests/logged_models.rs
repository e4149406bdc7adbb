//! Logged models (MLflow 3) from Rust, on both stores, read back with MLflow's official
//! Python client: `mlflow.models.Model.load("models:/<id>")` (the `MLmodel` file),
//! `mlflow.search_logged_models` (filters and ordering by linked metrics),
//! `run.outputs.model_outputs`, the model's params, tags and metrics, and its files
//! downloaded through `models:/<id>`.

mod stores;

use mlflow_test_support::run_python;
use stores::{Target, on_both_stores};

const READ_MODELS: &str = r#"
import json, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
c = MlflowClient()
exp = c.get_experiment_by_name(os.environ["EXP"])
best_id = os.environ["BEST"]
m = mlflow.models.Model.load(f"models:/{best_id}")
lm = c.get_logged_model(best_id)
found = mlflow.search_logged_models(
    experiment_ids=[exp.experiment_id],
    filter_string="metrics.acc > 0.6",
    order_by=[{"field_name": "metrics.acc", "ascending": False}],
    output_format="list",
)
outputs = {}
for r in c.search_runs([exp.experiment_id]):
    outputs[r.info.run_name] = [o.model_id for o in c.get_run(r.info.run_id).outputs.model_outputs]
d = mlflow.artifacts.download_artifacts(f"models:/{best_id}", dst_path=tempfile.mkdtemp())
# The client writes `registered_model_meta` beside what it downloads from `models:/`.
files = sorted(
    os.path.relpath(os.path.join(root, f), d)
    for root, _, fs in os.walk(d)
    for f in fs
    if f != "registered_model_meta"
)
with open(os.path.join(d, "MLmodel")) as f:
    mlmodel_text = f.read()
print(json.dumps({
    "mlmodel_text": mlmodel_text,
    "mlmodel_as_python_writes_it": m.to_yaml(),
    "flavors": m.flavors,
    "model_id": m.model_id,
    "model_uuid": m.model_uuid,
    "run_id": m.run_id,
    "artifact_path": m.artifact_path,
    "status": str(lm.status),
    "name": lm.name,
    "model_type": lm.model_type,
    "source_run_id": lm.source_run_id,
    "artifact_location": lm.artifact_location,
    "params": lm.params,
    "tags": lm.tags,
    "metrics": [
        [x.key, x.value, x.step, x.dataset_name, x.dataset_digest, x.run_id] for x in lm.metrics
    ],
    "found": [x.name for x in found],
    "outputs": outputs,
    "files": files,
}))
"#;

fn models_are_logged_models(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("best");
    std::fs::create_dir_all(folder.join("weights")).unwrap();
    std::fs::write(folder.join("config.json"), b"{}").unwrap();
    std::fs::write(folder.join("weights").join("model.bin"), b"\x00\x01").unwrap();
    let file = dir.path().join("small.bin");
    std::fs::write(&file, b"small").unwrap();
    let eval = mlflow::Dataset::new("seeds-eval", "0badc0de", "local", "{}");

    let best = {
        let _run = mlflow::start_run().name("trial-best").start();
        mlflow::log_param("lr", 0.1).unwrap();
        mlflow::log_metric("loss", 0.25).unwrap();
        let model = mlflow::logged_model("net", &folder)
            .flavor("burn")
            .model_type("classifier")
            .param("hidden", 64)
            .tag("seed", 7)
            .log()
            .unwrap();
        assert_eq!(model.status, mlflow::LoggedModelStatus::Ready);
        assert_eq!(model.uri(), format!("models:/{}", model.model_id()));
        mlflow::metric("acc", 0.9)
            .step(1)
            .model(&model)
            .dataset(&eval)
            .log()
            .unwrap();
        model
    };
    let other = {
        let run = mlflow::start_run().name("trial-other").start();
        let model = run.handle().log_model("net", &file).unwrap();
        run.handle().metric("acc", 0.7).model(&model).log().unwrap();
        model
    };
    {
        let _run = mlflow::start_run().name("trial-worst").start();
        let model = mlflow::log_model("net", &file).unwrap();
        mlflow::metric("acc", 0.1).model(&model).log().unwrap();
    }
    mlflow::flush().unwrap();

    let out = run_python(
        READ_MODELS,
        &[
            ("URI", &t.uri),
            ("EXP", &t.experiment),
            ("BEST", best.model_id()),
        ],
    );
    assert_eq!(out["flavors"], serde_json::json!({"burn": {}}), "{out}");
    // The file is what Python's `Model.to_yaml` writes for the model it loaded from it.
    assert_eq!(out["mlmodel_text"], out["mlmodel_as_python_writes_it"]);
    assert_eq!(out["model_id"], best.model_id());
    assert_eq!(out["model_uuid"], best.model_id());
    assert_eq!(out["status"], "READY");
    assert_eq!(out["name"], "net");
    assert_eq!(out["model_type"], "classifier");
    let run_id = best.source_run_id.as_deref().unwrap();
    assert_eq!(out["run_id"], run_id);
    assert_eq!(out["source_run_id"], run_id);
    assert_eq!(out["artifact_path"], best.artifact_location.as_str());
    assert_eq!(out["artifact_location"], best.artifact_location.as_str());
    assert_eq!(
        out["params"],
        serde_json::json!({"hidden": "64", "lr": "0.1"})
    );
    assert_eq!(out["tags"]["seed"], "7");
    assert!(out["tags"]["mlflow.user"].is_string(), "{out}");
    // The run's point at the model's step (0) is linked, as Python links it; then acc.
    let metrics = out["metrics"].as_array().unwrap();
    assert!(
        metrics.contains(&serde_json::json!(["loss", 0.25, 0, null, null, run_id])),
        "{out}"
    );
    assert!(
        metrics.contains(&serde_json::json!([
            "acc",
            0.9,
            1,
            "seeds-eval",
            "0badc0de",
            run_id
        ])),
        "{out}"
    );
    assert_eq!(out["found"], serde_json::json!(["net", "net"]));
    assert_eq!(
        out["outputs"]["trial-best"],
        serde_json::json!([best.model_id()])
    );
    assert_eq!(
        out["outputs"]["trial-other"],
        serde_json::json!([other.model_id()])
    );
    assert_eq!(
        out["files"],
        serde_json::json!(["MLmodel", "config.json", "weights/model.bin"])
    );

    // This crate reads the same answers.
    let found = mlflow::search_logged_models()
        .filter("metrics.acc > 0.6")
        .order_by(["metrics.acc DESC"])
        .collect_all()
        .unwrap();
    let ids: Vec<_> = found.iter().map(|m| m.model_id()).collect();
    assert_eq!(ids, [best.model_id(), other.model_id()]);
    let first = mlflow::search_logged_models()
        .filter("params.hidden = '64' AND tags.seed = '7' AND model_type = 'classifier'")
        .first()
        .unwrap()
        .expect("the best model");
    assert_eq!(first.model_id(), best.model_id());
    assert_eq!(first.metric("acc"), Some(0.9));
    let back = mlflow::get_logged_model(best.model_id()).unwrap();
    assert_eq!(back.param("lr"), Some("0.1"));
    let outputs = mlflow::get_run(run_id).unwrap().outputs.model_outputs;
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].model_id, best.model_id());
    let all = mlflow::search_logged_models().collect_all().unwrap();
    assert_eq!(all.len(), 3);
}

fn bad_models_are_clear_errors(t: &Target) {
    let _ = t;
    let missing = {
        let _run = mlflow::start_run().name("bad").start();
        mlflow::log_model("net", "/nonexistent/model.bin").unwrap_err()
    };
    assert!(matches!(missing, mlflow::Error::Io { .. }), "{missing}");
    let none = mlflow::log_model("net", "Cargo.toml").unwrap_err();
    assert!(matches!(none, mlflow::Error::NoActiveRun), "{none}");
    let unknown = mlflow::get_logged_model("m-00000000000000000000000000000000").unwrap_err();
    assert_eq!(
        unknown.error_code(),
        Some("RESOURCE_DOES_NOT_EXIST"),
        "{unknown}"
    );
    let bad = mlflow::search_logged_models()
        .filter("metrics.acc >")
        .collect_all()
        .unwrap_err();
    assert_eq!(bad.error_code(), Some("INVALID_PARAMETER_VALUE"), "{bad}");
}

/// Files that cannot be stored (the experiment's artifact location is under a regular
/// file): the call returns the upload's error and the model is FAILED, as Python's
/// `log_model` leaves it.
fn a_model_whose_files_cannot_be_stored_is_failed(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    let experiment = format!("{}-unwritable", t.experiment);
    let id = mlflow::create_experiment(experiment.as_str())
        .artifact_location(blocker.join("artifacts").to_str().unwrap())
        .create()
        .unwrap();
    let model_file = dir.path().join("model.bin");
    std::fs::write(&model_file, b"weights").unwrap();
    let err = {
        let _run = mlflow::start_run()
            .name("unstorable")
            .experiment_id(&id)
            .start();
        mlflow::log_model("net", &model_file).unwrap_err()
    };
    assert!(matches!(err, mlflow::Error::Io { .. }), "{err}");
    let models = mlflow::search_logged_models()
        .experiment_ids([id.as_str()])
        .collect_all()
        .unwrap();
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].status, mlflow::LoggedModelStatus::Failed);
    let out = run_python(
        r#"
import json, os
import mlflow
mlflow.set_tracking_uri(os.environ["URI"])
print(json.dumps(str(mlflow.get_logged_model(os.environ["MODEL"]).status)))
"#,
        &[("URI", &t.uri), ("MODEL", models[0].model_id())],
    );
    assert_eq!(out, "FAILED");
}

on_both_stores!(
    models_are_logged_models,
    bad_models_are_clear_errors,
    a_model_whose_files_cannot_be_stored_is_failed
);
