//! Datasets as a run's inputs (`mlflow::log_input`), on both stores, read back with MLflow's
//! official Python client: `run.inputs.dataset_inputs` (name, digest, source, schema,
//! profile, the context tag), and runs found by `datasets.` filters both by Python and by
//! this crate.

mod stores;

use mlflow_test_support::run_python;
use stores::{Target, on_both_stores};

const READ_INPUTS: &str = r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
exp = c.get_experiment_by_name(os.environ["EXP"])
out = {}
for r in c.search_runs([exp.experiment_id]):
    out[r.info.run_name] = [
        {
            "name": i.dataset.name,
            "digest": i.dataset.digest,
            "source_type": i.dataset.source_type,
            "source": i.dataset.source,
            "schema": i.dataset.schema,
            "profile": i.dataset.profile,
            "tags": {t.key: t.value for t in i.tags},
        }
        for i in c.get_run(r.info.run_id).inputs.dataset_inputs
    ]
found = c.search_runs(
    [exp.experiment_id],
    filter_string="datasets.name = 'seeds-train' AND datasets.context = 'training'",
)
out["found"] = sorted(r.info.run_name for r in found)
print(json.dumps(out))
"#;

fn datasets_are_run_inputs(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("train.csv");
    std::fs::write(&csv, "x,y\n1,2\n3,4\n").unwrap();
    let train = mlflow::Dataset::from_file("seeds-train", &csv)
        .unwrap()
        .with_schema(r#"{"mlflow_colspec": [{"type": "long", "name": "x"}]}"#)
        .with_profile(r#"{"num_rows": 2}"#);
    let eval = mlflow::Dataset::new("seeds-eval", "0badc0de", "http", r#"{"url": "https://x"}"#);
    {
        let _run = mlflow::start_run().name("trial").start();
        mlflow::log_metric("loss", 0.5).unwrap();
        mlflow::log_input(&train, Some("training")).unwrap();
        mlflow::log_input(&eval, None).unwrap();
        // Logged again: nothing added.
        mlflow::log_input(&train, Some("training")).unwrap();
    }
    let other = mlflow::start_run().name("eval-only").start();
    let mut tagged = mlflow::DatasetInput::new(train.clone(), Some("eval"));
    tagged.tags.push(mlflow::InputTag::new("fold", "3"));
    other.handle().log_inputs(&[tagged]).unwrap();
    drop(other);
    mlflow::flush().unwrap();

    let out = run_python(READ_INPUTS, &[("URI", &t.uri), ("EXP", &t.experiment)]);
    let trial = out["trial"].as_array().expect("trial's inputs");
    assert_eq!(trial.len(), 2, "{out}");
    let first = &trial[0];
    let second = &trial[1];
    let (t_in, e_in) = if first["name"] == "seeds-train" {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(t_in["digest"], mlflow::file_digest(&csv).unwrap().as_str());
    assert_eq!(t_in["source_type"], "local");
    assert_eq!(t_in["source"], train.source.as_str());
    assert_eq!(t_in["schema"], train.schema.as_deref().unwrap());
    assert_eq!(t_in["profile"], r#"{"num_rows": 2}"#);
    assert_eq!(t_in["tags"]["mlflow.data.context"], "training");
    assert_eq!(e_in["digest"], "0badc0de");
    assert_eq!(e_in["source_type"], "http");
    assert_eq!(e_in["tags"], serde_json::json!({}));
    assert_eq!(out["eval-only"][0]["tags"]["fold"], "3");
    assert_eq!(out["eval-only"][0]["tags"]["mlflow.data.context"], "eval");
    assert_eq!(out["found"], serde_json::json!(["trial"]));

    // This crate reads them back and searches them the same way.
    let run = mlflow::search_runs()
        .filter("datasets.digest = '0badc0de'")
        .first()
        .unwrap()
        .expect("the trial, by its dataset's digest");
    assert_eq!(run.info.run_name, "trial");
    let inputs = mlflow::get_run(&run.info.run_id)
        .unwrap()
        .inputs
        .dataset_inputs;
    let train_in = inputs
        .iter()
        .find(|i| i.dataset.name == "seeds-train")
        .expect("seeds-train");
    assert_eq!(train_in.dataset, train);
    assert_eq!(train_in.context(), Some("training"));
    let by_context = mlflow::search_runs()
        .filter("datasets.context = 'eval'")
        .collect_all()
        .unwrap();
    let names: Vec<_> = by_context
        .iter()
        .map(|r| r.info.run_name.as_str())
        .collect();
    assert_eq!(names, ["eval-only"]);
}

fn bad_datasets_are_clear_errors(t: &Target) {
    let _ = t;
    let run = mlflow::start_run().name("bad").start();
    let long = mlflow::Dataset::new("d", "x".repeat(37), "local", "{}");
    let err = run.handle().log_input(&long, None).unwrap_err();
    assert!(
        matches!(err, mlflow::Error::InvalidArgument(_)) && err.to_string().contains("digest"),
        "{err}"
    );
    let missing = mlflow::Dataset::from_file("d", "/nonexistent/file.csv").unwrap_err();
    assert!(matches!(missing, mlflow::Error::Io { .. }), "{missing}");
    drop(run);
    let none = mlflow::log_input(&mlflow::Dataset::new("d", "1", "local", "{}"), None);
    assert!(matches!(none, Err(mlflow::Error::NoActiveRun)), "{none:?}");
}

on_both_stores!(datasets_are_run_inputs, bad_datasets_are_clear_errors);
