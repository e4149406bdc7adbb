//! System metrics as the Python client logs them: the switches and their precedence, the
//! keys and steps, nested runs, the node id, windows of several samples, the window a run's
//! end cuts short, and a resumed run. Read back with MLflow's Python client, on both stores.
//!
//! The `MLFLOW_SYSTEM_METRICS_*` variables are set for a fresh process (`run_self`) that
//! runs the scenario, as a user would set them; samples come every 0.2 s. The tests wait
//! for metrics to be there (read through the crate), never for a time.

#[allow(unused_macros, unused_imports)]
mod stores;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mlflow_test_support::{RunRecord, in_child, run_python, run_self};
use stores::{Target, named};

const CPU: &str = "system/cpu_utilization_percentage";

/// The keys logged on any machine (no GPU here).
const HOST_KEYS: [&str; 8] = [
    "cpu_utilization_percentage",
    "system_memory_usage_megabytes",
    "system_memory_usage_percentage",
    "disk_usage_percentage",
    "disk_usage_megabytes",
    "disk_available_megabytes",
    "network_receive_megabytes",
    "network_transmit_megabytes",
];

/// `scenario!(name, [VAR => value, ..])`: the module `name` with the tests `server` and
/// `embedded`, each running `fn name(&Target)` in a fresh process with these variables and
/// a sampling interval of 0.2 s.
macro_rules! scenario {
    ($name:ident, [$($var:literal => $value:literal),* $(,)?]) => {
        mod $name {
            use super::stores::{Backend, target};

            fn in_fresh_process(backend: Backend, test: &str) {
                if mlflow_test_support::in_child() {
                    if let Some(t) = target(backend, stringify!($name)) {
                        super::$name(&t);
                    }
                    return;
                }
                mlflow_test_support::run_self(
                    test,
                    None,
                    &[("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2"), $(($var, $value)),*],
                );
            }

            #[test]
            fn server() {
                in_fresh_process(Backend::Server, concat!(stringify!($name), "::server"));
            }

            #[test]
            fn embedded() {
                in_fresh_process(Backend::Embedded, concat!(stringify!($name), "::embedded"));
            }
        }
    };
}

/// Waits until `run` has `n` points of `key`, read through the crate (which flushes first).
fn wait_for_points(run: &mlflow::RunHandle, key: &str, n: usize) {
    let id = run.id().expect("run id");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let points = mlflow::get_metric_history(&id, key).expect("metric history");
        if points.len() >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{key} of {} has {} points, not {n}, after a minute",
            run.name(),
            points.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn system_keys(run: &RunRecord) -> Vec<&str> {
    run.metrics
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("system/"))
        .collect()
}

/// Every point of every `system/` metric of `run`, by key, sorted by step: one Python call.
fn system_history(t: &Target, run: &RunRecord) -> BTreeMap<String, Vec<(i64, f64)>> {
    const SCRIPT: &str = r#"
import json, os
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=os.environ["READBACK_URI"])
run_id = os.environ["READBACK_RUN_ID"]
keys = [k for k in client.get_run(run_id).data.metrics if k.startswith("system/")]
print(json.dumps({k: sorted([m.step, m.value] for m in client.get_metric_history(run_id, k))
                  for k in keys}))
"#;
    let json = run_python(
        SCRIPT,
        &[("READBACK_URI", &t.uri), ("READBACK_RUN_ID", &run.run_id)],
    );
    serde_json::from_value(json).expect("{key: [[step, value]]}")
}

/// Every host key under `prefix`, with steps `first, first + 1, ..` (one point each) and
/// plausible values; returns the number of points.
fn assert_sampled(t: &Target, run: &RunRecord, prefix: &str, first: i64) -> usize {
    let history = system_history(t, run);
    let name = &run.run_name;
    let mut points = 0;
    for key in HOST_KEYS {
        let full = format!("{prefix}{key}");
        let Some(series) = history.get(&full) else {
            panic!("{name}: no {full} in {:?}", history.keys());
        };
        let steps: Vec<i64> = series.iter().map(|(step, _)| *step).collect();
        let expected: Vec<i64> = (first..first + steps.len() as i64).collect();
        assert_eq!(steps, expected, "{name}: steps of {full}");
        points = series.len();
        for &(_, v) in series {
            match key {
                k if k.ends_with("_percentage") => {
                    assert!((0.0..=100.0).contains(&v), "{name}: {full} = {v}")
                }
                "system_memory_usage_megabytes" | "disk_usage_megabytes" => {
                    assert!(v > 0.0, "{name}: {full} = {v}")
                }
                _ => assert!(v >= 0.0 && v.is_finite(), "{name}: {full} = {v}"),
            }
            if !key.starts_with("network_") {
                assert_eq!(
                    (v * 10.0).round() / 10.0,
                    v,
                    "{name}: {full} = {v}: one decimal"
                );
            }
        }
    }
    points
}

// MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING turns it on for every run, nested ones too.
scenario!(variable_enables_every_run_nested_too, ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING" => "true"]);
fn variable_enables_every_run_nested_too(t: &Target) {
    let parent = mlflow::start_run().name("parent").start();
    let child = mlflow::start_run().name("child").start();
    wait_for_points(&child.handle(), CPU, 2);
    wait_for_points(&parent.handle(), CPU, 2);
    drop(child);
    drop(parent);
    let runs = t.runs();
    assert_sampled(t, named(&runs, "parent"), "system/", 0);
    assert_sampled(t, named(&runs, "child"), "system/", 0);
    stores::assert_child_of(&runs, "child", "parent");
}

// The builder wins over the functions, which win over the variable.
scenario!(builder_over_function_over_variable, ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING" => "true"]);
fn builder_over_function_over_variable(t: &Target) {
    // Each "off" run lives as long as an "on" run that gets samples.
    let from_variable = mlflow::start_run().name("variable_on").top_level().start();
    let builder_off = mlflow::start_run()
        .name("builder_off")
        .top_level()
        .log_system_metrics(false)
        .start();
    mlflow::disable_system_metrics_logging();
    let function_off = mlflow::start_run().name("function_off").top_level().start();
    let builder_on = mlflow::start_run()
        .name("builder_on")
        .top_level()
        .log_system_metrics(true)
        .start();
    mlflow::enable_system_metrics_logging();
    let function_on = mlflow::start_run().name("function_on").top_level().start();
    for on in [&from_variable, &builder_on, &function_on] {
        wait_for_points(&on.handle(), CPU, 2);
    }
    drop((
        function_on,
        builder_on,
        function_off,
        builder_off,
        from_variable,
    ));
    let runs = t.runs();
    for name in ["variable_on", "builder_on", "function_on"] {
        assert_sampled(t, named(&runs, name), "system/", 0);
    }
    for name in ["builder_off", "function_off"] {
        assert_eq!(
            system_keys(named(&runs, name)),
            Vec::<&str>::new(),
            "{name}"
        );
    }
}

#[mlflow::parent_run(name = "macro_parent", system_metrics = false)]
fn macro_parent() {
    macro_child();
}

#[mlflow::child_run(name = "macro_child", system_metrics = true)]
fn macro_child() {
    wait_for_points(&mlflow::active_run().expect("the child run"), CPU, 2);
}

#[mlflow::parent_run(name = "macro_default")]
fn macro_default() {
    macro_child();
}

// The macro argument: off on the parent, on in its child; without it, the variable (unset:
// off) decides.
scenario!(macro_argument, []);
fn macro_argument(t: &Target) {
    macro_parent();
    macro_default();
    let runs = t.runs();
    assert_eq!(
        system_keys(named(&runs, "macro_parent")),
        Vec::<&str>::new()
    );
    assert_eq!(
        system_keys(named(&runs, "macro_default")),
        Vec::<&str>::new()
    );
    for child in runs.iter().filter(|r| r.run_name == "macro_child") {
        assert_sampled(t, child, "system/", 0);
    }
}

// MLFLOW_SYSTEM_METRICS_NODE_ID goes between `system/` and the key.
scenario!(node_id_prefix, [
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING" => "1",
    "MLFLOW_SYSTEM_METRICS_NODE_ID" => "node_7",
]);
fn node_id_prefix(t: &Target) {
    let run = mlflow::start_run().name("node").start();
    wait_for_points(&run.handle(), "system/node_7/cpu_utilization_percentage", 2);
    drop(run);
    let runs = t.runs();
    let run = named(&runs, "node");
    assert_sampled(t, run, "system/node_7/", 0);
    assert!(
        system_keys(run)
            .iter()
            .all(|k| k.starts_with("system/node_7/"))
    );
}

// Three samples per log: each logged value is their mean, rounded to one decimal.
scenario!(samples_before_logging, [
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING" => "true",
    "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING" => "3",
]);
fn samples_before_logging(t: &Target) {
    let run = mlflow::start_run().name("three").start();
    wait_for_points(&run.handle(), CPU, 2);
    drop(run);
    let runs = t.runs();
    assert_sampled(t, named(&runs, "three"), "system/", 0);
}

// A window the run's end cuts short is not logged (Python's monitor stops without logging
// it): with 1000 samples per log, a run that ends after a few samples has no system metrics,
// while a run with 1 sample per log next to it has.
scenario!(a_window_cut_short_is_not_logged, [
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING" => "true",
    "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING" => "1000",
]);
fn a_window_cut_short_is_not_logged(t: &Target) {
    let short = mlflow::start_run().name("cut_short").top_level().start();
    // Settings are read when each run starts, so this one logs every sample.
    // SAFETY: this process runs this one test, and its threads read the environment through
    // `std::env`, whose lock orders the reads with this write.
    unsafe { std::env::set_var("MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING", "1") };
    let witness = mlflow::start_run().name("witness").top_level().start();
    wait_for_points(&witness.handle(), CPU, 3);
    drop((witness, short));
    let runs = t.runs();
    assert_eq!(system_keys(named(&runs, "cut_short")), Vec::<&str>::new());
    assert_sampled(t, named(&runs, "witness"), "system/", 0);
}

// A run resumed through MLFLOW_RUN_ID continues after its highest `system/` step.
scenario!(a_resumed_run_continues_its_steps, ["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING" => "true"]);
fn a_resumed_run_continues_its_steps(t: &Target) {
    let run = mlflow::start_run().name("resumed").start();
    let id = run.id().expect("run id");
    wait_for_points(&run.handle(), CPU, 2);
    drop(run);
    mlflow::flush().expect("flush");
    let before = mlflow::get_metric_history(&id, CPU).expect("metric history");
    let last = before.iter().map(|p| p.step).max().expect("points");
    run_self(
        "resume_in_a_fresh_process",
        None,
        &[
            ("MLFLOW_TRACKING_URI", t.uri.as_str()),
            ("MLFLOW_RUN_ID", id.as_str()),
            ("RESUME_AFTER", &last.to_string()),
        ],
    );
    let runs = t.runs();
    let run = named(&runs, "resumed");
    assert_eq!(run.run_id, id);
    // The first life's steps, then the second's, with no gap and no repeat.
    let points = assert_sampled(t, run, "system/", 0);
    assert!(
        points >= before.len() + 2,
        "{points} points, {} before",
        before.len()
    );
}

/// The second life of `a_resumed_run_continues_its_steps`'s run (does nothing on its own).
#[test]
fn resume_in_a_fresh_process() {
    if !in_child() || std::env::var("RESUME_AFTER").is_err() {
        return;
    }
    let last: i64 = std::env::var("RESUME_AFTER").unwrap().parse().unwrap();
    let run = mlflow::start_run().name("resumed").start();
    let id = run.id().expect("run id");
    assert_eq!(
        Some(id.as_str()),
        std::env::var("MLFLOW_RUN_ID").ok().as_deref()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mlflow::get_metric_history(&id, CPU)
        .expect("history")
        .iter()
        .any(|m| m.step > last + 1)
    {
        assert!(
            Instant::now() < deadline,
            "no new system metrics after a minute"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(run);
    mlflow::flush().expect("flush");
}
