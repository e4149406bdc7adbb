//! Reading runs back with MLflow's official Python client, the judge of compatibility.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::python::run_python;

/// One run as `MlflowClient().search_runs` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// `info.run_name`.
    pub run_name: String,
    /// The experiment's id.
    pub experiment_id: String,
    /// `RUNNING`, `FINISHED`, `FAILED`, `KILLED` or `SCHEDULED`.
    pub status: String,
    /// The `mlflow.parentRunId` tag: the only thing that makes a run nested.
    pub parent_run_id: Option<String>,
    /// Params.
    pub params: BTreeMap<String, String>,
    /// Latest value of each metric. NaN and infinities survive the trip (but note that
    /// MLflow's SQL stores keep ±inf as ±`f64::MAX`).
    pub metrics: BTreeMap<String, f64>,
    /// All tags, system tags included.
    pub tags: BTreeMap<String, String>,
    /// Milliseconds since the Unix epoch.
    pub start_time: i64,
    /// Milliseconds since the Unix epoch; `None` while running.
    pub end_time: Option<i64>,
}

impl RunRecord {
    /// The run called `name` in `runs`; panics, listing the names, when there is none.
    pub fn named<'a>(runs: &'a [RunRecord], name: &str) -> &'a RunRecord {
        runs.iter().find(|r| r.run_name == name).unwrap_or_else(|| {
            let names: Vec<&str> = runs.iter().map(|r| r.run_name.as_str()).collect();
            panic!("no run named {name:?} among {names:?}")
        })
    }

    /// The runs in `runs` whose parent is this run, sorted by name.
    pub fn children<'a>(&self, runs: &'a [RunRecord]) -> Vec<&'a RunRecord> {
        let mut children: Vec<&RunRecord> = runs
            .iter()
            .filter(|r| r.parent_run_id.as_deref() == Some(self.run_id.as_str()))
            .collect();
        children.sort_by(|a, b| a.run_name.cmp(&b.run_name));
        children
    }
}

/// One point of a metric's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// The value (NaN and infinities preserved).
    pub value: f64,
    /// The step.
    pub step: i64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// Python side: non-finite floats become strings, because JSON has no NaN.
const PRELUDE: &str = r#"
import json, math, os
from mlflow.tracking import MlflowClient

def enc(x):
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x

client = MlflowClient(tracking_uri=os.environ["READBACK_URI"])
"#;

const READ_RUNS: &str = r#"
from mlflow.entities import ViewType
out = []
exp = client.get_experiment_by_name(os.environ["READBACK_EXPERIMENT"])
token = None
while exp is not None:
    page = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL,
                              max_results=1000, page_token=token)
    for r in page:
        out.append({
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "experiment_id": r.info.experiment_id,
            "status": r.info.status,
            "parent_run_id": r.data.tags.get("mlflow.parentRunId"),
            "params": r.data.params,
            "metrics": {k: enc(v) for k, v in r.data.metrics.items()},
            "tags": r.data.tags,
            "start_time": r.info.start_time,
            "end_time": r.info.end_time,
        })
    token = page.token
    if not token:
        break
print(json.dumps(out, allow_nan=False))
"#;

const METRIC_HISTORY: &str = r#"
hist = client.get_metric_history(os.environ["READBACK_RUN_ID"], os.environ["READBACK_KEY"])
print(json.dumps([{"value": enc(m.value), "step": m.step, "timestamp": m.timestamp} for m in hist],
                 allow_nan=False))
"#;

/// Every run (active or deleted) of experiment `experiment_name` at `tracking_uri` (an
/// `http://` server or a `sqlite:///` file), read with `MlflowClient().search_runs`.
/// Empty when the experiment does not exist.
pub fn read_runs(tracking_uri: &str, experiment_name: &str) -> Vec<RunRecord> {
    let script = format!("{PRELUDE}{READ_RUNS}");
    let json = run_python(
        &script,
        &[
            ("READBACK_URI", tracking_uri),
            ("READBACK_EXPERIMENT", experiment_name),
        ],
    );
    as_array(&json).iter().map(run_record).collect()
}

/// The full history of metric `key` of run `run_id`, as `get_metric_history` returns it.
pub fn metric_history(tracking_uri: &str, run_id: &str, key: &str) -> Vec<MetricPoint> {
    let script = format!("{PRELUDE}{METRIC_HISTORY}");
    let json = run_python(
        &script,
        &[
            ("READBACK_URI", tracking_uri),
            ("READBACK_RUN_ID", run_id),
            ("READBACK_KEY", key),
        ],
    );
    as_array(&json)
        .iter()
        .map(|p| MetricPoint {
            value: float(&p["value"]),
            step: p["step"]
                .as_i64()
                .unwrap_or_else(|| panic!("metric point without step: {p}")),
            timestamp: p["timestamp"]
                .as_i64()
                .unwrap_or_else(|| panic!("metric point without timestamp: {p}")),
        })
        .collect()
}

fn run_record(v: &Value) -> RunRecord {
    let string = |key: &str| v[key].as_str().map(str::to_owned);
    let strings = |key: &str| -> BTreeMap<String, String> {
        v[key]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    };
    RunRecord {
        run_id: string("run_id").unwrap_or_else(|| panic!("run without id: {v}")),
        run_name: string("run_name").unwrap_or_default(),
        experiment_id: string("experiment_id").unwrap_or_default(),
        status: string("status").unwrap_or_default(),
        parent_run_id: string("parent_run_id"),
        params: strings("params"),
        metrics: v["metrics"]
            .as_object()
            .map(|o| o.iter().map(|(k, x)| (k.clone(), float(x))).collect())
            .unwrap_or_default(),
        tags: strings("tags"),
        start_time: v["start_time"].as_i64().unwrap_or_default(),
        end_time: v["end_time"].as_i64(),
    }
}

fn as_array(v: &Value) -> &[Value] {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("expected a JSON array, got {v}"))
}

/// A number, or one of the strings the Python side uses for non-finite values.
fn float(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        _ => v
            .as_f64()
            .unwrap_or_else(|| panic!("not a metric value: {v}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_non_finite_values() {
        assert!(float(&Value::from("NaN")).is_nan());
        assert_eq!(float(&Value::from("Infinity")), f64::INFINITY);
        assert_eq!(float(&Value::from("-Infinity")), f64::NEG_INFINITY);
        assert_eq!(float(&serde_json::json!(1.5)), 1.5);
        assert_eq!(float(&serde_json::json!(3)), 3.0);
    }
}
