//! What the logging calls store on a real `mlflow server`, value by value, and the errors
//! they return on the spot.
//!
//! old-mlflow: also runs against the old MLflow server (`MLFLOW_OLD_VERSION`, scripts/pins.env)
//! in scripts/test.sh's old-MLflow step, read back with that MLflow's client.

use std::fmt;

mod common;

use common::use_fresh_experiment;
use mlflow_test_support::{RunRecord, metric_history, read_runs, require_server};

/// The one run of `experiment`.
fn only_run(uri: &str, experiment: &str) -> RunRecord {
    let mut runs = read_runs(uri, experiment);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    runs.remove(0)
}

/// MLflow's SQL stores keep ±inf as ±`f64::MAX` (`sqlalchemy_store.py`), so that is what
/// the official client reads back from `mlflow server`; a store that kept inf is fine too.
fn is_stored_infinity(value: f64, sign: f64) -> bool {
    value == sign * f64::INFINITY || value == sign * f64::MAX
}

#[test]
fn non_finite_metrics_survive() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-non-finite");
    {
        let _run = mlflow::start_run().name("non-finite").start();
        mlflow::log_metric("nan", f64::NAN).unwrap();
        mlflow::log_metric("pos_inf", f64::INFINITY).unwrap();
        mlflow::log_metric("neg_inf", f64::NEG_INFINITY).unwrap();
        mlflow::log_metric("tiny", f64::MIN_POSITIVE).unwrap();
        mlflow::log_metric("negative_zero", -0.0).unwrap();
    }
    mlflow::flush().unwrap();
    let run = only_run(&uri, &experiment);
    assert!(run.metrics["nan"].is_nan(), "{:?}", run.metrics);
    assert!(
        is_stored_infinity(run.metrics["pos_inf"], 1.0),
        "{:?}",
        run.metrics
    );
    assert!(
        is_stored_infinity(run.metrics["neg_inf"], -1.0),
        "{:?}",
        run.metrics
    );
    assert_eq!(run.metrics["tiny"], f64::MIN_POSITIVE);
    assert_eq!(run.metrics["negative_zero"], 0.0);

    let history = metric_history(&uri, &run.run_id, "nan");
    assert_eq!(history.len(), 1);
    assert!(history[0].value.is_nan());
}

#[test]
fn steps_and_long_histories_are_kept_whole() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-history");
    // More points than one log-batch request may carry (1000).
    const POINTS: i64 = 2500;
    let before = now_millis();
    {
        let _run = mlflow::start_run().name("history").start();
        for step in 0..POINTS {
            mlflow::log_metric_with_step("loss", 1.0 / (step + 1) as f64, step).unwrap();
        }
        mlflow::log_metric_with_step("sparse", 1.0, 10).unwrap();
        mlflow::log_metric_with_step("sparse", 2.0, -3).unwrap();
        mlflow::log_metric("plain", 7.0).unwrap();
        mlflow::log_metrics([("a", 1.0), ("b", 2.0)]).unwrap();
        mlflow::log_metrics(vec![("a".to_string(), 3.0)]).unwrap();
    }
    mlflow::flush().unwrap();
    let after = now_millis();

    let run = only_run(&uri, &experiment);
    // "Latest" is the point with the greatest step.
    assert_eq!(run.metrics["loss"], 1.0 / POINTS as f64);
    assert_eq!(run.metrics["sparse"], 1.0);
    assert_eq!(run.metrics["plain"], 7.0);
    assert_eq!(run.metrics["b"], 2.0);

    let mut loss = metric_history(&uri, &run.run_id, "loss");
    assert_eq!(loss.len(), POINTS as usize);
    loss.sort_by_key(|p| p.step);
    for (step, point) in (0..POINTS).zip(&loss) {
        assert_eq!(point.step, step);
        assert_eq!(point.value, 1.0 / (step + 1) as f64);
        assert!(
            (before..=after).contains(&point.timestamp),
            "timestamp {}",
            point.timestamp
        );
    }
    let mut sparse: Vec<(i64, f64)> = metric_history(&uri, &run.run_id, "sparse")
        .iter()
        .map(|p| (p.step, p.value))
        .collect();
    sparse.sort_by_key(|&(step, _)| step);
    assert_eq!(sparse, [(-3, 2.0), (10, 1.0)]);
    let plain = metric_history(&uri, &run.run_id, "plain");
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].step, 0, "log_metric logs at step 0");
    assert_eq!(
        metric_history(&uri, &run.run_id, "a").len(),
        2,
        "metrics append"
    );
}

struct Custom {
    depth: u8,
}

impl fmt::Display for Custom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "custom(depth={})", self.depth)
    }
}

#[test]
fn params_are_stored_as_python_writes_them() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-params");
    let long = "p".repeat(500);
    {
        let _run = mlflow::start_run().name("params").start();
        mlflow::log_param("int", 42).unwrap();
        mlflow::log_param("negative", -7_i64).unwrap();
        mlflow::log_param("float", 0.1).unwrap();
        mlflow::log_param("small", 1e-5).unwrap();
        mlflow::log_param("bool", true).unwrap();
        mlflow::log_param("char", 'c').unwrap();
        mlflow::log_param("str", "adam").unwrap();
        mlflow::log_param("string", String::from("with spaces and ünïcödé")).unwrap();
        mlflow::log_param("custom", Custom { depth: 3 }).unwrap();
        mlflow::log_param("empty", "").unwrap();
        mlflow::log_param("long", &long).unwrap();
        mlflow::log_params([("batch/a", 1), ("batch/b", 2)]).unwrap();
        mlflow::log_params(vec![("owned".to_string(), "yes".to_string())]).unwrap();
        // The same value again is accepted (params are write-once, not write-one-time).
        mlflow::log_param("int", 42).unwrap();
    }
    mlflow::flush().unwrap();

    let run = only_run(&uri, &experiment);
    let expected = [
        ("int", "42".to_string()),
        ("negative", "-7".to_string()),
        // Floats and bools as Python's `str()` writes them, the rest with `Display`.
        ("float", "0.1".to_string()),
        ("small", "1e-05".to_string()),
        ("bool", "True".to_string()),
        ("char", "c".to_string()),
        ("str", "adam".to_string()),
        ("string", "with spaces and ünïcödé".to_string()),
        ("custom", "custom(depth=3)".to_string()),
        ("empty", String::new()),
        ("long", long.clone()),
        ("batch/a", "1".to_string()),
        ("batch/b", "2".to_string()),
        ("owned", "yes".to_string()),
    ];
    for (key, value) in expected {
        assert_eq!(
            run.params.get(key),
            Some(&value),
            "param {key}: {:?}",
            run.params
        );
    }
    assert_eq!(run.params.len(), 14, "{:?}", run.params);
}

#[test]
fn tags_overwrite_last_write_wins() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-tags");
    {
        let _run = mlflow::start_run()
            .name("tags")
            .tag("from_builder", "b")
            .start();
        mlflow::set_tag("stage", "first").unwrap();
        mlflow::set_tag("stage", "second").unwrap();
        mlflow::set_tags([("stage", "third"), ("other", "x")]).unwrap();
        mlflow::set_tag("count", 3).unwrap();
        mlflow::flush().unwrap();
        // Across requests too.
        mlflow::set_tag("stage", "final").unwrap();
        mlflow::set_tag("from_builder", "overwritten").unwrap();
    }
    mlflow::flush().unwrap();

    let run = only_run(&uri, &experiment);
    assert_eq!(run.tags["stage"], "final");
    assert_eq!(run.tags["other"], "x");
    assert_eq!(run.tags["count"], "3");
    assert_eq!(run.tags["from_builder"], "overwritten");
}

#[test]
fn a_changed_param_is_refused_on_the_spot() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-param-changed");
    {
        let _run = mlflow::start_run().name("changed").start();
        mlflow::log_param("lr", 0.1).unwrap();
        match mlflow::log_param("lr", 0.2) {
            Err(mlflow::Error::ParamChanged { key, old, new, .. }) => {
                assert_eq!(
                    (key.as_str(), old.as_str(), new.as_str()),
                    ("lr", "0.1", "0.2")
                );
            }
            other => panic!("expected Error::ParamChanged, got {other:?}"),
        }
        // Also inside a batch.
        assert!(matches!(
            mlflow::log_params([("lr", "0.3")]),
            Err(mlflow::Error::ParamChanged { .. })
        ));
        mlflow::log_metric("still_logging", 1.0).unwrap();
    }
    // The refused value never reached the store, so nothing is left to report.
    mlflow::flush().unwrap();

    let run = only_run(&uri, &experiment);
    assert_eq!(run.params["lr"], "0.1");
    assert_eq!(run.metrics["still_logging"], 1.0);
    assert_eq!(run.status, "FINISHED");
}

#[test]
fn logging_outside_a_run_is_no_active_run() {
    let uri = require_server!();
    mlflow::set_tracking_uri(&uri).unwrap();
    assert!(matches!(
        mlflow::log_param("p", 1),
        Err(mlflow::Error::NoActiveRun)
    ));
    assert!(matches!(
        mlflow::log_metric("m", 1.0),
        Err(mlflow::Error::NoActiveRun)
    ));
    assert!(matches!(
        mlflow::log_metric_with_step("m", 1.0, 2),
        Err(mlflow::Error::NoActiveRun)
    ));
    assert!(matches!(
        mlflow::set_tag("t", "v"),
        Err(mlflow::Error::NoActiveRun)
    ));
    assert!(matches!(
        mlflow::log_metrics([("m", 1.0)]),
        Err(mlflow::Error::NoActiveRun)
    ));
    assert!(matches!(
        mlflow::log_params([("p", 1)]),
        Err(mlflow::Error::NoActiveRun)
    ));
    assert!(matches!(
        mlflow::set_tags([("t", "v")]),
        Err(mlflow::Error::NoActiveRun)
    ));
    // Unlike Python, nothing was started implicitly.
    assert_eq!(mlflow::active_run_id(), None);
}

#[test]
fn invalid_keys_are_refused_on_the_spot() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-invalid-keys");
    let too_long = "k".repeat(251);
    {
        let _run = mlflow::start_run().name("keys").start();
        for key in [
            "bad key!",
            "../escape",
            "/absolute",
            "a\nb",
            too_long.as_str(),
        ] {
            match mlflow::log_metric(key, 1.0) {
                Err(mlflow::Error::InvalidKey { kind, key: k, .. }) => {
                    assert_eq!(kind, "metric");
                    assert_eq!(k, key);
                }
                other => panic!("metric key {key:?}: expected Error::InvalidKey, got {other:?}"),
            }
            assert!(
                matches!(
                    mlflow::log_param(key, 1),
                    Err(mlflow::Error::InvalidKey { kind: "param", .. })
                ),
                "param key {key:?}"
            );
            assert!(
                matches!(
                    mlflow::set_tag(key, 1),
                    Err(mlflow::Error::InvalidKey { kind: "tag", .. })
                ),
                "tag key {key:?}"
            );
        }
        // What MLflow allows: word characters, `-`, `.`, ` `, `:` and `/`.
        mlflow::log_metric("ok/key-1.2 x:y", 1.0).unwrap();
        mlflow::log_metric(&"k".repeat(250), 1.0).unwrap();
    }
    mlflow::flush().unwrap();
    let run = only_run(&uri, &experiment);
    assert_eq!(run.metrics.len(), 2, "{:?}", run.metrics);
    assert_eq!(run.status, "FINISHED");
}

#[test]
fn client_logs_to_a_run_by_id() {
    let uri = require_server!();
    let experiment = use_fresh_experiment(&uri, "values-client");
    let run_id = {
        let run = mlflow::start_run().name("client").start();
        run.id().unwrap()
    };
    mlflow::flush().unwrap();

    let client = mlflow::Client::with_tracking_uri(&uri).unwrap();
    client.log_metric(&run_id, "late", 1.5, 3).unwrap();
    client.log_param(&run_id, "added", "later").unwrap();
    client.set_tag(&run_id, "note", "by client").unwrap();
    client.flush().unwrap();

    let run = client.get_run(&run_id).unwrap();
    assert_eq!(run.info.run_id, run_id);
    assert_eq!(run.info.run_name, "client");
    assert_eq!(run.info.status, mlflow::RunStatus::Finished);
    assert_eq!(run.metric("late"), Some(1.5));
    assert_eq!(run.param("added"), Some("later"));
    assert_eq!(run.tag("note"), Some("by client"));

    let record = only_run(&uri, &experiment);
    assert_eq!(record.metrics["late"], 1.5);
    assert_eq!(metric_history(&uri, &run_id, "late")[0].step, 3);
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
