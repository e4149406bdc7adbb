//! One script of the calls in the crate docs' Python-to-Rust table, run with the Python
//! client and with this crate on two fresh embedded stores, then both stores read back with
//! the Python client and compared: experiments and their tags, runs, their statuses,
//! lifecycle stages, params, tags (apart from the source tags each client sets about
//! itself), metric histories with their steps (timestamps where the script gives them),
//! artifact paths and the small artifacts' contents. A difference beyond the ones listed in
//! `KNOWN` fails the test.

use mlflow::{RunStatus, RunUpdate, Table};
use mlflow_test_support::{in_child, last_json, require_python, run_python_in, run_self};
use serde_json::{Value, json};

/// The Python side of the script.
const PYTHON: &str = r#"
import sys
import mlflow
from mlflow import MlflowClient

mlflow.set_tracking_uri(sys.argv[1])
c = MlflowClient()
mlflow.set_experiment("parity")
mlflow.set_experiment_tag("team", "vision")
other = mlflow.create_experiment("parity-other", tags={"k": "v"})
c.rename_experiment(other, "parity-renamed")
gone = mlflow.create_experiment("parity-gone")
mlflow.delete_experiment(gone)

with mlflow.start_run(run_name="parent", tags={"kind": "sweep"}, description="the parent run"):
    mlflow.log_param("lr", 1e-05)
    mlflow.log_param("flag", True)
    mlflow.log_param("n", 32)
    mlflow.log_params({"opt": "adam"})
    mlflow.log_params({"beta": 0.9})
    mlflow.log_metric("loss", 0.5)
    mlflow.log_metric("loss", 0.25, step=1)
    mlflow.log_metric("acc", 0.9, step=2, timestamp=1700000000000)
    mlflow.log_metrics({"m1": 1.0, "m2": 2.0}, step=3)
    mlflow.set_tag("phase", "train")
    mlflow.set_tags({"x": 1})
    mlflow.set_tags({"y": 2.5})
    mlflow.delete_tag("x")
    mlflow.log_text("hello", "notes/hello.txt")
    mlflow.log_dict({"b": 1, "a": [1, 2], "c": {"d": "e"}}, "config.json")
    mlflow.log_dict({"b": 1, "a": [1, 2], "c": {"d": "e"}}, "config.yaml")
    mlflow.log_table({"x": [1, 2], "y": ["a", "b"]}, "table.json")
    for i in range(2):
        with mlflow.start_run(run_name=f"child_{i}", nested=True):
            mlflow.log_metric("score", i / 2, step=i)
    mlflow.start_run(run_name="failed", nested=True)
    mlflow.end_run("FAILED")
    mlflow.start_run(run_name="killed", nested=True)
    mlflow.end_run("KILLED")
    run = mlflow.start_run(run_name="deleted", nested=True)
    mlflow.end_run()
    mlflow.delete_run(run.info.run_id)
    run = mlflow.start_run(run_name="restored", nested=True)
    mlflow.end_run()
    mlflow.delete_run(run.info.run_id)
    mlflow.restore_run(run.info.run_id)
    run = mlflow.start_run(run_name="before", nested=True)
    mlflow.end_run()
    c.update_run(run.info.run_id, name="renamed")
    run = mlflow.start_run(run_name="ended_at", nested=True)
    mlflow.end_run()
    c.set_terminated(run.info.run_id, "FINISHED", end_time=1700000001000)
print("{}")
"#;

/// Reads a store back with the Python client, in a form both clients should agree on.
const DUMP: &str = r#"
import json, sys
from mlflow import MlflowClient
from mlflow.entities import ViewType

c = MlflowClient(tracking_uri=sys.argv[1])
out = {"experiments": {}, "runs": {}}
for e in c.search_experiments(view_type=ViewType.ALL):
    tags = {k: v for k, v in e.tags.items() if not k.startswith("mlflow.")}
    out["experiments"][e.name] = {"tags": tags, "stage": e.lifecycle_stage}
exp = c.get_experiment_by_name("parity")
runs = c.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)
names = {r.info.run_id: r.info.run_name for r in runs}

def files(run_id, path=""):
    found = []
    for f in c.list_artifacts(run_id, path):
        found += files(run_id, f.path) if f.is_dir else [f.path]
    return found

SELF = ("mlflow.source.", "mlflow.user", "mlflow.rs.")
for r in runs:
    rid = r.info.run_id
    tags = {k: v for k, v in r.data.tags.items() if not k.startswith(SELF)}
    if "mlflow.parentRunId" in tags:
        tags["mlflow.parentRunId"] = names.get(tags["mlflow.parentRunId"], "?")
    metrics = {
        k: [[m.step, m.value, m.timestamp if m.timestamp == 1700000000000 else None]
            for m in sorted(c.get_metric_history(rid, k), key=lambda m: (m.step, m.value))]
        for k in r.data.metrics
    }
    contents = {}
    for path in files(rid):
        if path.endswith((".txt", ".json", ".yaml")):
            local = c.download_artifacts(rid, path)
            contents[path] = open(local).read()
    out["runs"][r.info.run_name] = {
        "status": r.info.status,
        "stage": r.info.lifecycle_stage,
        "params": r.data.params,
        "tags": tags,
        "metrics": metrics,
        "artifacts": contents,
        "end_time": r.info.end_time if r.info.end_time == 1700000001000 else r.info.end_time is not None,
    }
print(json.dumps(out, sort_keys=True))
"#;

/// Differences kept on purpose, as (JSON pointer, reason); see the crate docs' "Coming
/// from Python".
const KNOWN: &[(&str, &str)] = &[];

/// The Rust side of the script, in a process of its own (the tracking URI is process-wide).
fn rust_side() -> mlflow::Result<()> {
    mlflow::set_experiment("parity")?;
    mlflow::set_experiment_tag("team", "vision")?;
    let client = mlflow::Client::new();
    let other = mlflow::create_experiment("parity-other")
        .tag("k", "v")
        .create()?;
    client.rename_experiment(&other, "parity-renamed")?;
    let gone = mlflow::create_experiment("parity-gone").create()?;
    mlflow::delete_experiment(&gone)?;

    let parent = mlflow::start_run()
        .name("parent")
        .tag("kind", "sweep")
        .description("the parent run")
        .start();
    mlflow::log_param("lr", 1e-05)?;
    mlflow::log_param("flag", true)?;
    mlflow::log_param("n", 32)?;
    mlflow::log_params([("opt", "adam")])?;
    mlflow::log_params([("beta", 0.9)])?;
    mlflow::log_metric("loss", 0.5)?;
    mlflow::log_metric_with_step("loss", 0.25, 1)?;
    mlflow::metric("acc", 0.9)
        .step(2)
        .timestamp(1_700_000_000_000)
        .log()?;
    mlflow::log_metrics_with_step([("m1", 1.0), ("m2", 2.0)], 3)?;
    mlflow::set_tag("phase", "train")?;
    mlflow::set_tags([("x", 1)])?;
    mlflow::set_tags([("y", 2.5)])?;
    mlflow::delete_tag("x")?;
    mlflow::log_text("hello", "notes/hello.txt")?;
    // A struct keeps the field order a Python dict keeps; `json!` would sort the keys.
    #[derive(serde::Serialize)]
    struct Config {
        b: i32,
        a: Vec<i32>,
        c: std::collections::BTreeMap<&'static str, &'static str>,
    }
    let dict = Config {
        b: 1,
        a: vec![1, 2],
        c: [("d", "e")].into(),
    };
    mlflow::log_dict(&dict, "config.json")?;
    mlflow::log_dict(&dict, "config.yaml")?;
    let table = Table::from_columns([
        ("x", vec![json!(1), json!(2)]),
        ("y", vec![json!("a"), json!("b")]),
    ])?;
    mlflow::log_table(&table, "table.json")?;
    for i in 0..2 {
        let _child = mlflow::start_run().name(format!("child_{i}")).start();
        mlflow::log_metric_with_step("score", i as f64 / 2.0, i)?;
    }
    mlflow::start_run()
        .name("failed")
        .start()
        .end(RunStatus::Failed);
    mlflow::start_run()
        .name("killed")
        .start()
        .end(RunStatus::Killed);
    let run = mlflow::start_run().name("deleted").start();
    let deleted = run.id()?;
    drop(run);
    mlflow::delete_run(&deleted)?;
    let run = mlflow::start_run().name("restored").start();
    let restored = run.id()?;
    drop(run);
    mlflow::delete_run(&restored)?;
    mlflow::restore_run(&restored)?;
    let run = mlflow::start_run().name("before").start();
    let renamed = run.id()?;
    drop(run);
    client.update_run(&renamed, RunUpdate::renamed("renamed"))?;
    mlflow::start_run()
        .name("ended_at")
        .start()
        .end_at(RunStatus::Finished, 1_700_000_001_000);
    drop(parent);
    mlflow::flush()
}

/// The places where two JSON documents differ, as JSON pointers with both values.
fn differences(path: &str, python: &Value, rust: &Value, out: &mut Vec<String>) {
    match (python, rust) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let p = format!("{path}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => differences(&p, x, y, out),
                    (x, y) => out.push(format!("{p}: python {x:?}, rust {y:?}")),
                }
            }
        }
        (a, b) if a != b => out.push(format!("{path}: python {a}, rust {b}")),
        _ => {}
    }
}

#[test]
fn the_same_calls_store_the_same_things() {
    if in_child() {
        rust_side().expect("the Rust side of the script");
        return;
    }
    require_python!();
    let (python_dir, rust_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let uri = |dir: &tempfile::TempDir| {
        format!(
            "sqlite:///{}",
            dir.path()
                .canonicalize()
                .unwrap()
                .join("mlflow.db")
                .display()
        )
    };
    let (python_uri, rust_uri) = (uri(&python_dir), uri(&rust_dir));
    run_python_in(python_dir.path(), PYTHON, &[&python_uri]);
    run_self(
        "the_same_calls_store_the_same_things",
        Some(rust_dir.path()),
        &[("MLFLOW_TRACKING_URI", &rust_uri)],
    );
    let read =
        |dir: &tempfile::TempDir, uri: &str| last_json(&run_python_in(dir.path(), DUMP, &[uri]));
    let python = read(&python_dir, &python_uri);
    let rust = read(&rust_dir, &rust_uri);
    let mut found = Vec::new();
    differences("", &python, &rust, &mut found);
    found.retain(|d| !KNOWN.iter().any(|(pointer, _)| d.starts_with(pointer)));
    assert!(
        found.is_empty(),
        "{} difference(s) between what Python and Rust stored:\n{}",
        found.len(),
        found.join("\n")
    );
    assert_eq!(python["runs"].as_object().unwrap().len(), 9, "{python}");
}
