//! The ordering rules under reordering delays: the suite's server behind the delay proxy,
//! each connection (each request, on plain http's fresh connections) delayed by a random
//! 0-50 ms, so that requests sent together arrive in any order. A sweep whose requests go
//! out together must still nest every run, end each with its own status, keep the last value
//! of a tag set twice, and store every value exactly once, as MLflow's Python client reads
//! them back. Checks behaviour, never timings.

mod common;

use std::time::Duration;

use mlflow_test_support::{
    DelayProxy, DelaySpec, RunRecord, metric_history, read_runs, require_server,
};

const PARENTS: usize = 3;
const CHILDREN: usize = 4;
const STEPS: i64 = 20;

fn value(p: usize, c: usize, step: i64) -> f64 {
    (p * 100 + c) as f64 + step as f64 / 64.0
}

#[mlflow::child_run(name = "p{p}_c{c}")]
fn child(p: usize, c: usize) -> Result<(), String> {
    mlflow::log_params([("p", p), ("c", c)]).unwrap();
    mlflow::set_tag("stage", "first").unwrap();
    for step in 0..STEPS {
        mlflow::log_metric_with_step("loss", value(p, c, step), step).unwrap();
    }
    mlflow::set_tag("stage", "last").unwrap();
    // One child of each parent fails: its status must not be another run's.
    if c == CHILDREN - 1 {
        return Err(format!("child {c} gave up"));
    }
    Ok(())
}

#[mlflow::parent_run(name = "parent_{p}")]
fn parent(p: usize) {
    for c in 0..CHILDREN {
        let _ = child(p, c);
    }
}

#[test]
fn a_sweep_survives_requests_arriving_out_of_order() {
    let uri = require_server!();
    // Fresh connections, so that each request gets a delay of its own. This test is alone
    // in its binary and sets the variable before any store is built.
    unsafe { std::env::set_var("MLFLOW_RS_HTTP_KEEPALIVE", "false") };
    let upstream = uri.trim_start_matches("http://").to_owned();
    let proxy = DelayProxy::start(
        upstream.as_str(),
        DelaySpec::with_rtt(Duration::ZERO).reorder(Duration::from_millis(50)),
    );
    let experiment = common::use_fresh_experiment(&proxy.uri(), "reordering");
    for p in 0..PARENTS {
        parent(p);
    }
    mlflow::flush().expect("everything stored");

    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), PARENTS * (1 + CHILDREN));
    for p in 0..PARENTS {
        let parent = RunRecord::named(&runs, &format!("parent_{p}"));
        assert_eq!(parent.status, "FINISHED");
        assert_eq!(parent.parent_run_id, None);
        let children = parent.children(&runs);
        assert_eq!(children.len(), CHILDREN, "children of parent_{p}");
        for c in 0..CHILDREN {
            let run = RunRecord::named(&runs, &format!("p{p}_c{c}"));
            assert_eq!(run.parent_run_id.as_deref(), Some(parent.run_id.as_str()));
            let expected = if c == CHILDREN - 1 {
                "FAILED"
            } else {
                "FINISHED"
            };
            assert_eq!(run.status, expected, "{}", run.run_name);
            assert_eq!(run.params["p"], p.to_string());
            assert_eq!(run.params["c"], c.to_string());
            assert_eq!(run.tags["stage"], "last", "the tag's last value wins");
            let history = metric_history(&uri, &run.run_id, "loss");
            let mut points: Vec<(i64, f64)> = history.iter().map(|m| (m.step, m.value)).collect();
            points.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let expected: Vec<(i64, f64)> = (0..STEPS).map(|s| (s, value(p, c, s))).collect();
            assert_eq!(
                points, expected,
                "every point of {} exactly once",
                run.run_name
            );
        }
    }
    assert!(
        proxy.connections() > 0,
        "the requests went through the proxy"
    );
}
