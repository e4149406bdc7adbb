//! The server dies mid-sweep and comes back: nothing lost, nothing twice. Each test runs in
//! a fresh process (its own tracker, environment and server), killing and restarting a
//! real `mlflow server` on the same port over the same SQLite file.

mod faults_support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use faults_support::{env_with, run_child, spill_files};
use mlflow_test_support::{
    RunRecord, ServerGuard, in_child, read_runs, require_python, run_python, unique_name,
};

const TRIALS: usize = 6;
const STEPS: i64 = 50;

/// One trial: a child run with a param, a tag and a metric history.
fn trial(i: usize) {
    let child = mlflow::start_run().name(format!("trial-{i}")).start();
    mlflow::log_param("i", i).unwrap();
    mlflow::set_tag("kind", format!("k{i}")).unwrap();
    for s in 0..STEPS {
        mlflow::log_metric_with_step("loss", i as f64 + s as f64 / 100.0, s).unwrap();
    }
    drop(child);
}

/// Counts metric points per run with the official client, in one Python process.
fn history_lengths(uri: &str, experiment: &str) -> std::collections::BTreeMap<String, usize> {
    let json = run_python(
        r#"
import json, os
from mlflow import MlflowClient
from mlflow.entities import ViewType
c = MlflowClient(os.environ["URI"])
e = c.get_experiment_by_name(os.environ["EXP"])
out = {}
for r in c.search_runs([e.experiment_id], run_view_type=ViewType.ALL, max_results=1000):
    out[r.info.run_name] = len(c.get_metric_history(r.info.run_id, "loss"))
print(json.dumps(out))
"#,
        &[("URI", uri), ("EXP", experiment)],
    );
    json.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap() as usize))
        .collect()
}

/// Every trial arrived exactly once, under the right parent, FINISHED, with all its data.
fn check_sweep(uri: &str, experiment: &str) {
    let runs = read_runs(uri, experiment);
    let names: Vec<&str> = runs.iter().map(|r| r.run_name.as_str()).collect();
    assert_eq!(
        runs.len(),
        TRIALS + 1,
        "one run each, no duplicates: {names:?}"
    );
    let sweep = RunRecord::named(&runs, "sweep");
    assert_eq!(sweep.status, "FINISHED");
    for i in 0..TRIALS {
        let run = RunRecord::named(&runs, &format!("trial-{i}"));
        assert_eq!(run.status, "FINISHED", "trial-{i}");
        assert_eq!(run.parent_run_id.as_deref(), Some(sweep.run_id.as_str()));
        assert_eq!(
            run.params.get("i").map(String::as_str),
            Some(&*i.to_string())
        );
        assert_eq!(run.tags.get("kind"), Some(&format!("k{i}")));
    }
    let lengths = history_lengths(uri, experiment);
    for i in 0..TRIALS {
        assert_eq!(
            lengths.get(&format!("trial-{i}")).copied(),
            Some(STEPS as usize),
            "trial-{i}: every metric point exactly once: {lengths:?}"
        );
    }
}

/// Runs the test `name` in a child process with `max_retries` retries and a fresh spill
/// folder (`MLFLOW_RS_SPILL_DIR`), bounded.
fn run_child_spilling(name: &'static str, max_retries: &str) {
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().display().to_string();
    let env = env_with(&[
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", max_retries),
        ("MLFLOW_RS_SPILL_DIR", &spill_dir),
    ]);
    run_child(name, env, Duration::from_secs(300));
}

/// The child's side of a test: a server of its own over a fresh SQLite file, with logging
/// going to a fresh experiment in it.
struct OwnServer {
    server: ServerGuard,
    uri: String,
    experiment: String,
    /// `MLFLOW_RS_SPILL_DIR`, as the parent set it.
    spill_dir: PathBuf,
    // Dropped last: the server is gone before its files are removed.
    _dir: tempfile::TempDir,
}

fn own_server(experiment_prefix: &str) -> OwnServer {
    let dir = tempfile::tempdir().unwrap();
    let server = faults_support::start(dir.path());
    let uri = server.uri().to_owned();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name(experiment_prefix);
    mlflow::set_experiment(&experiment).unwrap();
    OwnServer {
        server,
        uri,
        experiment,
        spill_dir: PathBuf::from(std::env::var("MLFLOW_RS_SPILL_DIR").unwrap()),
        _dir: dir,
    }
}

#[test]
fn retries_ride_out_a_server_restart() {
    if in_child() {
        let own = own_server("restart");
        let mut server = Some(own.server);
        let sweep = mlflow::start_run().name("sweep").start();
        let mut restarted = None;
        for i in 0..TRIALS {
            if i == 2 {
                mlflow::flush().unwrap();
                let mut server = server.take().unwrap();
                server.kill();
                // Logging goes on while the server is down; it comes back a moment later.
                restarted = Some(std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(1));
                    server.restart();
                    server
                }));
            }
            trial(i);
        }
        sweep.end(mlflow::RunStatus::Finished);
        mlflow::flush().expect("everything delivered once the server is back");
        let _server = restarted.unwrap().join().unwrap();
        check_sweep(&own.uri, &own.experiment);
        assert!(spill_files(&own.spill_dir).is_empty());
        return;
    }
    require_python!();
    run_child_spilling("retries_ride_out_a_server_restart", "10");
}

#[test]
fn a_long_outage_spills_and_the_spill_is_delivered_when_the_server_is_back() {
    if in_child() {
        let mut own = own_server("spill");
        let sweep = mlflow::start_run().name("sweep").start();
        trial(0);
        trial(1);
        mlflow::flush().unwrap();
        own.server.kill();
        // Far beyond the retries: logging must not stall, and nothing may be dropped.
        let started = Instant::now();
        for i in 2..TRIALS {
            trial(i);
        }
        let err = mlflow::flush().expect_err("undelivered data is reported");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "logging stalled for {:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(text.contains("spill file"), "{text}");
        let files = spill_files(&own.spill_dir);
        assert_eq!(files.len(), 1, "{files:?}");
        let lines = mlflow::spill::read_spill(&files[0]).unwrap();
        let creates = lines
            .iter()
            .filter(|l| matches!(l, mlflow::spill::SpillOp::CreateRun { .. }))
            .count();
        assert_eq!(creates, TRIALS - 2, "{lines:?}");
        own.server.restart();
        mlflow::flush().expect("the spill is delivered once the server answers");
        assert!(
            spill_files(&own.spill_dir).is_empty(),
            "delivered spill removed"
        );
        sweep.end(mlflow::RunStatus::Finished);
        mlflow::flush().unwrap();
        check_sweep(&own.uri, &own.experiment);
        return;
    }
    require_python!();
    run_child_spilling(
        "a_long_outage_spills_and_the_spill_is_delivered_when_the_server_is_back",
        "1",
    );
}

#[test]
fn first_contact_fails_fast_and_a_spill_file_replays_later() {
    if in_child() {
        match std::env::var("PHASE").unwrap().as_str() {
            "log" => {
                let uri = std::env::var("MLFLOW_TRACKING_URI").unwrap();
                let started = Instant::now();
                let err = mlflow::set_experiment("unreachable").expect_err("no server");
                let waited = started.elapsed();
                let text = err.to_string();
                assert!(waited < Duration::from_secs(15), "took {waited:?}: {text}");
                assert!(text.contains(uri.trim_end_matches('/')), "{text}");
                assert!(text.contains("MLFLOW_TRACKING_URI"), "{text}");
                // Runs started anyway are kept, not lost.
                let sweep = mlflow::start_run().name("sweep").start();
                for i in 0..TRIALS {
                    trial(i);
                }
                sweep.end(mlflow::RunStatus::Finished);
                let err = mlflow::flush().expect_err("spilled");
                assert!(matches!(err, mlflow::Error::Spilled { .. }), "{err}");
            }
            "replay" => {
                let path = std::env::var("SPILL_FILE").unwrap();
                let report = mlflow::replay_spill(&path).unwrap();
                assert!(report.refused.is_empty(), "{:?}", report.refused);
                assert_eq!(report.remaining, 0);
                assert!(report.delivered > TRIALS);
                assert!(!std::path::Path::new(&path).exists());
            }
            other => panic!("{other}"),
        }
        return;
    }
    require_python!();
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().display().to_string();
    let experiment = unique_name("replay");
    let dead = format!("http://127.0.0.1:{}", mlflow_test_support::free_port());
    let env = env_with(&[
        ("MLFLOW_RS_SPILL_DIR", spill_dir.as_str()),
        ("MLFLOW_RS_FIRST_CONTACT_TIMEOUT", "3"),
        ("MLFLOW_TRACKING_URI", dead.as_str()),
        ("MLFLOW_EXPERIMENT_NAME", experiment.as_str()),
        ("PHASE", "log"),
    ]);
    let name = "first_contact_fails_fast_and_a_spill_file_replays_later";
    run_child(name, env, Duration::from_secs(120));
    let files = spill_files(spill.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let dir = tempfile::tempdir().unwrap();
    let server = faults_support::start(dir.path());
    let uri = server.uri().to_owned();
    let file = files[0].display().to_string();
    let env = env_with(&[
        ("MLFLOW_TRACKING_URI", uri.as_str()),
        ("SPILL_FILE", file.as_str()),
        ("PHASE", "replay"),
    ]);
    run_child(name, env, Duration::from_secs(120));
    check_sweep(&uri, &experiment);
}

#[test]
fn logging_never_stalls_while_retries_are_long() {
    if in_child() {
        let mut own = own_server("stall");
        let run = mlflow::start_run().name("busy").start();
        mlflow::log_metric("warmup", 0.0).unwrap();
        mlflow::flush().unwrap();
        own.server.kill();
        // The official schedule would retry the first failed request for minutes; the
        // queue must keep draining meanwhile.
        let n: i64 = 100_000; // the queue holds 100,000 calls
        let started = Instant::now();
        for step in 0..n {
            mlflow::log_metric_with_step("m", step as f64, step).unwrap();
        }
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(30),
            "logging stalled for {took:?}"
        );
        let err = mlflow::flush().expect_err("spilled while down");
        assert!(matches!(err, mlflow::Error::Spilled { .. }), "{err}");
        assert_eq!(spill_files(&own.spill_dir).len(), 1);
        own.server.restart();
        mlflow::flush().expect("delivered from the spill");
        run.end(mlflow::RunStatus::Finished);
        mlflow::flush().unwrap();
        let lengths = run_python(
            r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(os.environ["URI"])
e = c.get_experiment_by_name(os.environ["EXP"])
r = c.search_runs([e.experiment_id])[0]
print(json.dumps([len(c.get_metric_history(r.info.run_id, "m")), r.info.status]))
"#,
            &[("URI", &own.uri), ("EXP", &own.experiment)],
        );
        assert_eq!(lengths, serde_json::json!([n, "FINISHED"]));
        return;
    }
    require_python!();
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().display().to_string();
    // The official defaults: 7 retries, factor 2 (minutes of backoff).
    let env = vec![("MLFLOW_RS_SPILL_DIR".to_owned(), spill_dir)];
    run_child(
        "logging_never_stalls_while_retries_are_long",
        env,
        Duration::from_secs(400),
    );
}
