//! Bad input gets a clear error, and the rest of the batch still lands; checked against a
//! real server and the official client.

use mlflow::{Error, RunStatus};
use mlflow_test_support::{RunRecord, read_runs, require_server, run_python, unique_name};

/// Every error inside `e` (through `Many` and `Undelivered`).
fn flatten(e: &Error) -> Vec<&Error> {
    match e {
        Error::Many(es) => es.iter().flat_map(flatten).collect(),
        Error::Undelivered { source, .. } => {
            let mut v = vec![e];
            v.extend(flatten(source));
            v
        }
        other => vec![other],
    }
}

#[test]
fn a_bad_key_is_refused_and_the_rest_of_the_call_lands() {
    let uri = require_server!();
    let (_, experiment) = setup_with(&uri);
    let run = mlflow::start_run()
        .name("keys")
        .experiment_name(&experiment)
        .start();
    let err =
        mlflow::log_params([("good", "1"), ("bad key!", "2"), ("also_good", "3")]).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidKey { key, .. } if key == "bad key!"),
        "{err}"
    );
    let err = mlflow::log_metrics([("m1", 1.0), ("/abs", 2.0), ("m2", 3.0)]).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidKey { key, .. } if key == "/abs"),
        "{err}"
    );
    let err = mlflow::set_tags([("t1", "a"), ("a//b", "b")]).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidKey { key, .. } if key == "a//b"),
        "{err}"
    );
    run.end(RunStatus::Finished);
    mlflow::flush().unwrap();
    let runs = read_runs(&uri, &experiment);
    let r = RunRecord::named(&runs, "keys");
    assert_eq!(r.params.len(), 2, "{:?}", r.params);
    assert_eq!(r.metrics.get("m1"), Some(&1.0));
    assert_eq!(r.metrics.get("m2"), Some(&3.0));
    assert_eq!(r.tags.get("t1").map(String::as_str), Some("a"));
}

fn setup_with(uri: &str) -> (String, String) {
    mlflow::set_tracking_uri(uri).unwrap();
    (uri.to_owned(), unique_name("bad-input"))
}

#[test]
fn a_changed_param_names_key_old_and_new_and_the_rest_lands() {
    let uri = require_server!();
    let (_, experiment) = setup_with(&uri);
    let run = mlflow::start_run()
        .name("changed")
        .experiment_name(&experiment)
        .start();
    mlflow::log_param("a", "1").unwrap();
    let err = mlflow::log_params([("a", "2"), ("b", "3")]).unwrap_err();
    match &err {
        Error::ParamChanged { key, old, new } => {
            assert_eq!((key.as_str(), old.as_str(), new.as_str()), ("a", "1", "2"))
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(text.contains("\"a\"") && text.contains("\"1\"") && text.contains("\"2\""));
    run.end(RunStatus::Finished);
    mlflow::flush().unwrap();
    let r = read_runs(&uri, &experiment).remove(0);
    assert_eq!(r.params.get("a").map(String::as_str), Some("1"));
    assert_eq!(r.params.get("b").map(String::as_str), Some("3"));
}

#[test]
fn a_conflict_found_by_the_server_loses_only_that_param() {
    let uri = require_server!();
    let (_, experiment) = setup_with(&uri);
    let run = mlflow::start_run()
        .name("resumed")
        .experiment_name(&experiment)
        .start();
    mlflow::log_param("p", "1").unwrap();
    let id = run.id().unwrap();
    run.end(RunStatus::Finished);
    mlflow::flush().unwrap();
    // As a run resumed elsewhere (MLFLOW_RUN_ID): this handle has never seen "p".
    let client = mlflow::Client::new();
    let handle = client.run(&id);
    handle
        .log_params([("p", "2"), ("q", "3"), ("r", "4")])
        .unwrap();
    handle.log_metric("after", 5.0).unwrap();
    handle.set_tag("t", "x").unwrap();
    let err = client
        .flush()
        .expect_err("the server refuses the changed param");
    let changed: Vec<_> = flatten(&err)
        .into_iter()
        .filter_map(|e| match e {
            Error::ParamChanged { key, old, new } => Some((key.clone(), old.clone(), new.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        changed,
        vec![("p".to_owned(), "1".to_owned(), "2".to_owned())],
        "{err}"
    );
    let r = read_runs(&uri, &experiment).remove(0);
    assert_eq!(r.params.get("p").map(String::as_str), Some("1"));
    assert_eq!(r.params.get("q").map(String::as_str), Some("3"));
    assert_eq!(r.params.get("r").map(String::as_str), Some("4"));
    assert_eq!(r.metrics.get("after"), Some(&5.0));
    assert_eq!(r.tags.get("t").map(String::as_str), Some("x"));
}

#[test]
fn long_values_are_truncated_as_the_official_client_does() {
    let uri = require_server!();
    let (_, experiment) = setup_with(&uri);
    let run = mlflow::start_run()
        .name("long")
        .experiment_name(&experiment)
        .start();
    mlflow::log_param("p", "x".repeat(7000)).unwrap();
    mlflow::set_tag("t", "é".repeat(9000)).unwrap();
    run.end(RunStatus::Finished);
    mlflow::flush().unwrap();
    let r = read_runs(&uri, &experiment).remove(0);
    assert_eq!(r.params["p"], "x".repeat(6000));
    assert_eq!(r.tags["t"], "é".repeat(8000));
}

#[test]
fn non_finite_metrics_round_trip_like_the_official_client() {
    let uri = require_server!();
    let (_, experiment) = setup_with(&uri);
    let run = mlflow::start_run()
        .name("rust")
        .experiment_name(&experiment)
        .start();
    for (step, v) in [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        1.5,
        -0.0,
        f64::MAX,
    ]
    .into_iter()
    .enumerate()
    {
        mlflow::log_metric_with_step("v", v, step as i64).unwrap();
    }
    run.end(RunStatus::Finished);
    mlflow::flush().unwrap();
    let json = run_python(
        r#"
import json, math, os, sys
import mlflow
from mlflow import MlflowClient
def enc(x):
    if math.isnan(x): return "NaN"
    if math.isinf(x): return "Infinity" if x > 0 else "-Infinity"
    return x
mlflow.set_tracking_uri(os.environ["URI"])
mlflow.set_experiment(os.environ["EXP"])
with mlflow.start_run(run_name="python"):
    for step, v in enumerate([float("nan"), float("inf"), float("-inf"), 1.5, -0.0, sys.float_info.max]):
        mlflow.log_metric("v", v, step=step)
c = MlflowClient()
e = c.get_experiment_by_name(os.environ["EXP"])
out = {}
for r in c.search_runs([e.experiment_id]):
    h = sorted(c.get_metric_history(r.info.run_id, "v"), key=lambda m: m.step)
    out[r.info.run_name] = [enc(m.value) for m in h]
print(json.dumps(out))
"#,
        &[("URI", &uri), ("EXP", &experiment)],
    );
    assert_eq!(json["rust"], json["python"], "{json}");
    // MLflow's SQL store keeps NaN and turns the infinities into +/- f64::MAX, for the
    // official client's values and ours alike.
    assert_eq!(json["rust"][0], "NaN");
    assert_eq!(json["rust"][1].as_f64(), Some(f64::MAX));
    assert_eq!(json["rust"][2].as_f64(), Some(-f64::MAX));
}

#[test]
fn keys_are_checked_as_the_server_checks_them() {
    let uri = require_server!();
    let (_, experiment) = setup_with(&uri);
    let keys = [
        "loss",
        "train/loss",
        "a b",
        "a:b",
        "a-b.c_d",
        "ümlaut",
        "a..b",
        "x/y/z",
        "",
        "bad key!",
        "/abs",
        "a//b",
        "a/./b",
        "a/../b",
        "..",
        ".",
        "a/",
        "tab\t",
        "semi;colon",
        "q?",
        "pct%",
        &"k".repeat(250),
        &"k".repeat(251),
    ];
    let run = mlflow::start_run()
        .name("keys")
        .experiment_name(&experiment)
        .start();
    let id = run.id().unwrap();
    let ours: Vec<bool> = keys
        .iter()
        .map(|k| mlflow::log_metric(k, 1.0).is_ok())
        .collect();
    run.end(RunStatus::Finished);
    mlflow::flush().unwrap();
    // The server's verdict, asked directly over REST (the Python client would check first).
    let keys_json = serde_json::to_string(&keys).unwrap();
    let json = run_python(
        r#"
import json, os, urllib.request, urllib.error
uri, run_id = os.environ["URI"], os.environ["RUN"]
out = []
for k in json.loads(os.environ["KEYS"]):
    body = json.dumps({"run_id": run_id, "metrics": [{"key": k, "value": 1.0, "timestamp": 1, "step": 7}]}).encode()
    req = urllib.request.Request(uri + "/api/2.0/mlflow/runs/log-batch", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req)
        out.append(True)
    except urllib.error.HTTPError as e:
        out.append(False)
print(json.dumps(out))
"#,
        &[("URI", &uri), ("RUN", &id), ("KEYS", &keys_json)],
    );
    let server: Vec<bool> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    for ((k, o), s) in keys.iter().zip(&ours).zip(&server) {
        assert_eq!(
            o, s,
            "key {k:?}: this crate accepts={o}, the server accepts={s}"
        );
    }
}

#[test]
fn non_finite_metrics_round_trip_through_the_embedded_store_too() {
    if mlflow_test_support::in_child() {
        let run = mlflow::start_run().name("rust").start();
        for (step, v) in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.5,
            -0.0,
            f64::MAX,
        ]
        .into_iter()
        .enumerate()
        {
            mlflow::log_metric_with_step("v", v, step as i64).unwrap();
        }
        run.end(RunStatus::Finished);
        mlflow::flush().unwrap();
        return;
    }
    mlflow_test_support::require_python!();
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("m.db").display());
    let experiment = unique_name("non-finite-sqlite");
    mlflow_test_support::run_self(
        "non_finite_metrics_round_trip_through_the_embedded_store_too",
        Some(dir.path()),
        &[
            ("MLFLOW_TRACKING_URI", &uri),
            ("MLFLOW_EXPERIMENT_NAME", &experiment),
        ],
    );
    let json = run_python(
        r#"
import json, math, os, sys
import mlflow
from mlflow import MlflowClient
def enc(x):
    if math.isnan(x): return "NaN"
    if math.isinf(x): return "Infinity" if x > 0 else "-Infinity"
    return x
mlflow.set_tracking_uri(os.environ["URI"])
mlflow.set_experiment(os.environ["EXP"])
with mlflow.start_run(run_name="python"):
    for step, v in enumerate([float("nan"), float("inf"), float("-inf"), 1.5, -0.0, sys.float_info.max]):
        mlflow.log_metric("v", v, step=step)
c = MlflowClient()
e = c.get_experiment_by_name(os.environ["EXP"])
out = {}
for r in c.search_runs([e.experiment_id]):
    h = sorted(c.get_metric_history(r.info.run_id, "v"), key=lambda m: m.step)
    out[r.info.run_name] = [enc(m.value) for m in h]
print(json.dumps(out))
"#,
        &[("URI", &uri), ("EXP", &experiment)],
    );
    assert_eq!(json["rust"], json["python"], "{json}");
    assert_eq!(json["rust"][0], "NaN");
}
