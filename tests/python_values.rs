//! Values as the Python client writes them, on both stores: float and bool params and tags
//! (through `log_param`, `log_params`, the builder and a macro argument) found by filters
//! written for Python runs, with MLflow's Python client; an unnamed run's name in MLflow's
//! shape; the tags of `MLFLOW_RUN_CONTEXT`.

mod stores;

use mlflow_test_support::run_python;
use stores::{Target, on_both_stores};

#[mlflow::child_run(name = "macro", params(lr, shuffle, scale, decay))]
fn trial(lr: f64, shuffle: bool, scale: f32, decay: &f64) -> f64 {
    lr * f64::from(scale) * decay * f64::from(u8::from(shuffle))
}

/// Every run of the experiment by name, and the names of the runs each filter finds; the
/// filters are written in Python, their values by Python's `str()`.
const SEARCH: &str = r#"
import json, os
from mlflow.tracking import MlflowClient
from mlflow.utils import name_utils
client = MlflowClient(tracking_uri=os.environ["URI"])
exp = client.get_experiment_by_name(os.environ["EXPERIMENT"]).experiment_id
filters = [
    f"params.lr = '{1e-05}'",
    f"params.shuffle = '{True}'",
    f"params.scale = '{0.1}' and params.decay = '{1e16}'",
    f"params.one = '{1.0}' and params.small = '{0.0001}'",
    f"tags.stage = '{100.0}' and tags.done = '{False}'",
]
found = {f: sorted(r.info.run_name for r in client.search_runs([exp], filter_string=f))
         for f in filters}
runs = {r.info.run_name: r.data.tags for r in client.search_runs([exp])}
def mlflow_shape(name):
    parts = name.split("-")
    return (len(name) <= 20 and len(parts) == 3
            and parts[0] in name_utils._GENERATOR_PREDICATES
            and parts[1] in name_utils._GENERATOR_NOUNS
            and parts[2].isdigit() and 0 <= int(parts[2]) <= 1000)
print(json.dumps({
    "found": found,
    "shapes": {name: mlflow_shape(name) for name in runs},
    "context": {name: [tags.get("context.team"), tags.get("context.n")]
                for name, tags in runs.items()},
}))
"#;

fn python_filters_find_rust_values(t: &Target) {
    // Read once, when the process creates its first run: set before that. Under nextest
    // (the suite's runner) each test has a process of its own; under `cargo test` the other
    // test of this file sets the same value.
    unsafe {
        std::env::set_var(
            "MLFLOW_RUN_CONTEXT",
            r#"{"context.team": "vision", "context.n": 3}"#,
        );
    }
    let unnamed = mlflow::start_run()
        .param("lr", 1e-5)
        .tag("stage", 100.0)
        .start();
    let generated = unnamed.handle().name().to_owned();
    mlflow::log_param("shuffle", true).unwrap();
    let floats = std::collections::BTreeMap::from([("one", 1.0), ("small", 0.0001)]);
    mlflow::log_params(&floats).unwrap();
    mlflow::set_tag("done", false).unwrap();
    trial(1e-5, true, 0.1, &1e16);
    drop(unnamed);
    {
        let _plain = mlflow::start_run().name("plain").start();
        mlflow::log_param("lr", 0.00001_f64.to_string()).unwrap(); // "0.00001": Rust's text
    }
    mlflow::flush().unwrap();

    let out = run_python(SEARCH, &[("URI", &t.uri), ("EXPERIMENT", &t.experiment)]);
    let found = |filter: &str| -> Vec<String> {
        serde_json::from_value(out["found"][filter].clone()).expect("names")
    };
    let mut both = vec![generated.clone(), "macro".to_owned()];
    both.sort();
    assert_eq!(found("params.lr = '1e-05'"), both, "{out}");
    assert_eq!(found("params.shuffle = 'True'"), both, "{out}");
    assert_eq!(
        found("params.scale = '0.1' and params.decay = '1e+16'"),
        ["macro"]
    );
    assert_eq!(
        found("params.one = '1.0' and params.small = '0.0001'"),
        [generated.as_str()]
    );
    assert_eq!(
        found("tags.stage = '100.0' and tags.done = 'False'"),
        [generated.as_str()]
    );
    assert_eq!(out["shapes"][&generated], true, "{generated}: {out}");
    assert_eq!(out["context"]["plain"], serde_json::json!(["vision", "3"]));
}

on_both_stores!(python_filters_find_rust_values);
