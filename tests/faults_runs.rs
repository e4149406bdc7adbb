//! Runs under stress: a panic through nested runs, Ctrl-C and SIGTERM, and 16 threads
//! logging under one parent.

mod faults_support;

use std::process::Command;
use std::time::Duration;

use faults_support::bounded;
use mlflow_test_support::{
    CHILD_ENV, RunRecord, in_child, read_runs, require_server, run_python, unique_name,
};

/// Runs the test `name` of this binary in a new process that is expected to die; returns
/// its exit status.
fn run_dying(name: &'static str, env: Vec<(&'static str, String)>) -> std::process::ExitStatus {
    bounded(Duration::from_secs(120), move || {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new(exe);
        cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, name)
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env_remove("MLFLOW_RUN_ID")
            .env_remove("MLFLOW_EXPERIMENT_ID");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.status().unwrap()
    })
}

#[test]
fn a_panic_fails_the_child_then_the_parent_with_all_data_delivered() {
    if in_child() {
        let _parent = mlflow::start_run().name("parent").start();
        mlflow::log_param("p", 1).unwrap();
        let _child = mlflow::start_run().name("child").start();
        for s in 0..100 {
            mlflow::log_metric_with_step("m", s as f64, s).unwrap();
        }
        // No flush: the exit hook delivers what the panic left queued.
        panic!("boom");
    }
    let uri = require_server!();
    let experiment = unique_name("panic");
    let status = run_dying(
        "a_panic_fails_the_child_then_the_parent_with_all_data_delivered",
        vec![
            ("MLFLOW_TRACKING_URI", uri.clone()),
            ("MLFLOW_EXPERIMENT_NAME", experiment.clone()),
        ],
    );
    assert!(!status.success());
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 2);
    let parent = RunRecord::named(&runs, "parent");
    let child = RunRecord::named(&runs, "child");
    assert_eq!(child.status, "FAILED");
    assert_eq!(parent.status, "FAILED");
    assert_eq!(child.parent_run_id.as_deref(), Some(parent.run_id.as_str()));
    assert_eq!(parent.params.get("p").map(String::as_str), Some("1"));
    assert_eq!(child.metrics.get("m"), Some(&99.0));
}

fn signal_child() {
    mlflow::install_signal_handlers().unwrap();
    let _parent = mlflow::start_run().name("parent").start();
    mlflow::log_param("p", 1).unwrap();
    let _child = mlflow::start_run().name("child").start();
    mlflow::log_metric("m", 1.0).unwrap();
    mlflow::flush().unwrap();
    let signal = match std::env::var("SIGNAL").unwrap().as_str() {
        "INT" => libc::SIGINT,
        _ => libc::SIGTERM,
    };
    mlflow::log_metric("after_flush", 2.0).unwrap();
    // SAFETY: raising a signal in our own process.
    unsafe { libc::raise(signal) };
    std::thread::sleep(Duration::from_secs(60));
    unreachable!("the signal ends the process");
}

fn check_killed(signal: &str, expected: i32) {
    let uri = require_server!();
    let experiment = unique_name("signal");
    let status = run_dying(
        "signals_end_open_runs_killed_then_the_process_dies_of_the_signal",
        vec![
            ("MLFLOW_TRACKING_URI", uri.clone()),
            ("MLFLOW_EXPERIMENT_NAME", experiment.clone()),
            ("SIGNAL", signal.to_owned()),
        ],
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(expected), "{status:?}");
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 2);
    for r in &runs {
        assert_eq!(r.status, "KILLED", "{}", r.run_name);
    }
    let child = RunRecord::named(&runs, "child");
    assert_eq!(child.metrics.get("after_flush"), Some(&2.0));
}

#[test]
fn signals_end_open_runs_killed_then_the_process_dies_of_the_signal() {
    if in_child() {
        signal_child();
        return;
    }
    check_killed("INT", libc::SIGINT);
    check_killed("TERM", libc::SIGTERM);
}

#[test]
fn sixteen_threads_of_children_under_one_parent() {
    const THREADS: usize = 16;
    const METRICS: i64 = 10_000;
    if in_child() {
        let parent = mlflow::start_run().name("parent").start();
        let handle = parent.handle();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let handle = handle.clone();
                s.spawn(move || {
                    handle.enter(|| {
                        let _child = mlflow::start_run().name(format!("child-{t}")).start();
                        mlflow::log_param("thread", t).unwrap();
                        for step in 0..METRICS {
                            mlflow::log_metric_with_step(
                                "m",
                                (t as i64 * METRICS + step) as f64,
                                step,
                            )
                            .unwrap();
                        }
                    })
                });
            }
        });
        parent.end(mlflow::RunStatus::Finished);
        mlflow::flush().unwrap();
        return;
    }
    let uri = require_server!();
    let experiment = unique_name("threads");
    faults_support::run_child(
        "sixteen_threads_of_children_under_one_parent",
        vec![
            ("MLFLOW_TRACKING_URI".into(), uri.clone()),
            ("MLFLOW_EXPERIMENT_NAME".into(), experiment.clone()),
        ],
        Duration::from_secs(400),
    );
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), THREADS + 1);
    let parent = RunRecord::named(&runs, "parent");
    for t in 0..THREADS {
        let child = RunRecord::named(&runs, &format!("child-{t}"));
        assert_eq!(child.parent_run_id.as_deref(), Some(parent.run_id.as_str()));
        assert_eq!(child.params.get("thread"), Some(&t.to_string()));
        assert_eq!(child.status, "FINISHED");
    }
    // Every point under its own child: the values encode the thread.
    let json = run_python(
        r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(os.environ["URI"])
e = c.get_experiment_by_name(os.environ["EXP"])
out = {}
for r in c.search_runs([e.experiment_id], max_results=100):
    if r.info.run_name == "parent":
        continue
    h = c.get_metric_history(r.info.run_id, "m")
    t = int(r.data.params["thread"])
    ok = sorted(m.step for m in h) == list(range(10000)) and all(int(m.value) // 10000 == t for m in h)
    out[r.info.run_name] = [len(h), ok]
print(json.dumps(out))
"#,
        &[("URI", &uri), ("EXP", &experiment)],
    );
    let out = json.as_object().unwrap();
    assert_eq!(out.len(), THREADS);
    for (name, v) in out {
        assert_eq!(v[0].as_u64(), Some(METRICS as u64), "{name}");
        assert_eq!(
            v[1].as_bool(),
            Some(true),
            "{name}: points under the wrong run"
        );
    }
}
