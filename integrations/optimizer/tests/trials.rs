//! Trials as runs: panics, bad input, parallel trials, pruning from stored trials and
//! several processes on one study; against the suite's server.

mod support;

use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mlflow::optimizer::optimizer::pruner::MedianPruner;
use mlflow::optimizer::{Direction, Error, Study, TrialPruned};
use mlflow_test_support::{
    assert_passed, in_child, read_runs, require_server, self_command, spawn_self, unique_name,
    wait_child,
};
use support::{objective, optuna_view, python_adds_trials, space};

fn setup(prefix: &str) -> (String, String) {
    let uri = require_server_uri();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name(prefix);
    mlflow::set_experiment(&experiment).unwrap();
    (uri, experiment)
}

fn require_server_uri() -> String {
    mlflow_test_support::server_uri().expect("checked by require_server!")
}

#[test]
fn a_panicking_objective_fails_its_trial_and_the_panic_goes_on() {
    let _ = require_server!();
    let (uri, experiment) = setup("optuna-panic");
    let study = space(Study::builder(unique_name("study")))
        .load_or_create()
        .unwrap();
    let caught = panic::catch_unwind(AssertUnwindSafe(|| {
        study.optimize(1, |trial| -> Result<f64, Error> {
            trial.suggest_float("x")?;
            panic!("kaboom");
        })
    }));
    let payload = caught.expect_err("the panic goes on");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"kaboom"));
    // The study goes on after a panic.
    study.optimize(1, |_| Ok::<_, Error>(1.0)).unwrap();
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let parent = runs.iter().find(|r| r.run_id == study.run_id()).unwrap();
    let mut children = parent.children(&runs);
    children.sort_by_key(|r| r.tags["numbers"].clone());
    assert_eq!(children.len(), 2);
    assert_eq!(children[0].status, "FAILED");
    assert_eq!(children[0].tags["sys_fail_reason"], "\"panic: kaboom\"");
    assert_eq!(children[1].status, "FINISHED");
    assert_eq!(
        parent.status, "RUNNING",
        "trials do not end the study's run"
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    let _ = require_server!();
    let (uri, experiment) = setup("optuna-bad-input");

    // A run of that name that is not a study.
    let plain = unique_name("plain");
    let run = mlflow::start_run().name(&plain).start();
    let plain_id = run.id().unwrap();
    drop(run);
    mlflow::flush().unwrap();
    let err = space(Study::builder(&plain)).load_or_create().unwrap_err();
    assert!(
        matches!(&err, Error::NotAStudy { run_id, .. } if *run_id == plain_id),
        "{err}"
    );
    assert!(err.to_string().contains("optuna.study_direction"), "{err}");

    // A direction mismatch on resume.
    let name = unique_name("study");
    let study = space(Study::builder(&name))
        .minimize()
        .load_or_create()
        .unwrap();
    let err = space(Study::builder(&name))
        .maximize()
        .load_or_create()
        .unwrap_err();
    assert!(matches!(err, Error::DirectionMismatch { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!("study {name:?} exists with direction MINIMIZE, not MAXIMIZE")
    );

    // A parameter name MLflow refuses, or registered twice.
    let err = Study::builder(unique_name("s"))
        .param(
            "a'b",
            mlflow::optimizer::optimizer::parameter::IntParam::new(1, 2),
        )
        .load_or_create()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidParam { .. }), "{err}");

    // A parameter the study does not know, or asked as another kind: the trial fails with
    // the reason, the study goes on.
    study
        .optimize(2, |trial| {
            if trial.number() == 0 {
                trial.suggest_float("lr")?;
            } else {
                trial.suggest_int("x")?;
            }
            Ok::<_, Error>(0.0)
        })
        .unwrap();
    mlflow::flush().unwrap();
    let runs = read_runs(&uri, &experiment);
    let parent = runs.iter().find(|r| r.run_id == study.run_id()).unwrap();
    let mut children = parent.children(&runs);
    children.sort_by_key(|r| r.tags["numbers"].clone());
    assert_eq!(children[0].status, "FAILED");
    assert!(
        children[0].tags["sys_fail_reason"]
            .contains("parameter \\\"lr\\\" is not registered with the study"),
        "{}",
        children[0].tags["sys_fail_reason"]
    );
    assert!(
        children[1].tags["sys_fail_reason"]
            .contains("registered as a float parameter, not a int one"),
        "{}",
        children[1].tags["sys_fail_reason"]
    );
}

#[test]
fn parallel_trials_nest_under_the_study_never_under_each_other() {
    let _ = require_server!();
    let (uri, experiment) = setup("optuna-parallel");
    // A run the caller has open does not become the trials' parent either.
    let outer = mlflow::start_run().name("outer").start();
    let study = space(Study::builder(unique_name("study")))
        .load_or_create()
        .unwrap();
    let records = Mutex::new(BTreeMap::new());
    let slow = objective(&records);
    let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
    study
        .optimize_parallel(8, 4, |trial| {
            most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(300));
            let value = slow(trial);
            running.fetch_sub(1, Ordering::SeqCst);
            value
        })
        .unwrap();
    let most = most.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "trials ran {most} at once");
    drop(outer);
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    let parent = runs.iter().find(|r| r.run_id == study.run_id()).unwrap();
    assert!(
        !parent.tags.contains_key("mlflow.parentRunId"),
        "the study is top level"
    );
    let children = parent.children(&runs);
    let mut numbers: Vec<u64> = children
        .iter()
        .map(|r| r.tags["numbers"].parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..8).collect::<Vec<_>>());
    for child in &children {
        assert!(
            child.metrics.contains_key("own_metric"),
            "{}",
            child.run_name
        );
        assert!(child.children(&runs).is_empty(), "no trial under another");
    }
    assert_eq!(runs.len(), 10, "outer, study and 8 trials");
}

#[test]
fn pruning_decides_from_trials_stored_by_others() {
    let _ = require_server!();
    let (uri, _experiment) = setup("optuna-pruning");
    let name = unique_name("study");
    let study = space(Study::builder(&name))
        .pruner(MedianPruner::new(Direction::Minimize))
        .load_or_create()
        .unwrap();
    // Python completes trials whose value at step 1 is at most 3 x (144 + 5 + 0.5).
    python_adds_trials(&uri, &name, study.experiment_id(), 2, false);
    let decisions = Mutex::new(Vec::new());
    study
        .optimize(1, |trial| {
            trial.report(1, 1e9)?;
            let prune = trial.should_prune();
            decisions.lock().unwrap().push(prune);
            if prune {
                return Err(TrialPruned.into());
            }
            Ok::<_, Error>(1e9)
        })
        .unwrap();
    assert_eq!(*decisions.lock().unwrap(), [true]);
    mlflow::flush().unwrap();
    let view = optuna_view(&uri, &study);
    let last = view["trials"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["state"], "PRUNED", "{view}");
    assert_eq!(last["value"].as_f64(), Some(1e9));
    assert_eq!(last["intermediate"], serde_json::json!([[1, 1e9]]));
}

const WORKERS: usize = 4;
const PER_WORKER: usize = 5;

/// One worker process: loads the study by name and runs its trials.
#[test]
fn worker_process() {
    if !in_child() {
        return;
    }
    let uri = std::env::var("MLFLOW_TRACKING_URI").unwrap();
    mlflow::set_tracking_uri(&uri).unwrap();
    // Launched by `configure_worker`, the process finds the study's experiment in
    // `MLFLOW_EXPERIMENT_ID`; launched by hand, it is told.
    let mut builder = space(Study::builder(std::env::var("STUDY").unwrap()));
    if let Ok(experiment_id) = std::env::var("EXP") {
        builder = builder.experiment_id(experiment_id);
    }
    let study = builder.load_or_create().unwrap();
    let records = Mutex::new(BTreeMap::new());
    study.optimize(PER_WORKER, objective(&records)).unwrap();
    mlflow::flush().unwrap();
}

/// Waits for the worker processes, then checks what Optuna reads: trials numbered
/// `0..workers * PER_WORKER`, each once.
fn workers_numbered_every_trial_once(
    children: Vec<std::process::Child>,
    uri: &str,
    study: &Study,
    workers: usize,
) {
    for child in children {
        let output = wait_child(child, Instant::now() + Duration::from_secs(240));
        assert_passed("worker_process", &output);
    }
    let view = optuna_view(uri, study);
    let numbers: Vec<u64> = view["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (0..(workers * PER_WORKER) as u64).collect::<Vec<_>>()
    );
}

/// Four worker processes on one study at `uri`: every number used once, and Python's next
/// trial gets the next one.
fn processes_share_one_study(uri: &str) {
    mlflow::set_tracking_uri(uri).unwrap();
    mlflow::set_experiment(&unique_name("optuna-processes")).unwrap();
    let name = unique_name("study");
    let study = space(Study::builder(&name)).load_or_create().unwrap();
    let env = [
        ("MLFLOW_TRACKING_URI", uri),
        ("STUDY", name.as_str()),
        ("EXP", study.experiment_id()),
    ];
    let children: Vec<_> = (0..WORKERS)
        .map(|_| spawn_self(self_command("worker_process", None, &env)))
        .collect();
    workers_numbered_every_trial_once(children, uri, &study, WORKERS);
    let added = python_adds_trials(uri, &name, study.experiment_id(), 1, false);
    let all = added["numbers"].as_array().unwrap();
    assert_eq!(all.len(), WORKERS * PER_WORKER + 1);
    assert_eq!(
        all.last().unwrap().as_u64(),
        Some((WORKERS * PER_WORKER) as u64)
    );
}

#[test]
fn several_processes_share_one_study_on_the_server() {
    let uri = require_server!();
    processes_share_one_study(&uri);
}

/// Workers launched as `configure_worker` launches them: told nothing but the study's
/// name, they find its experiment and server, and their trials nest under the study.
#[test]
fn workers_launched_by_configure_worker_share_the_study() {
    let uri = require_server!();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name("optuna-configured");
    mlflow::set_experiment(&experiment).unwrap();
    let name = unique_name("study");
    let study = space(Study::builder(&name)).load_or_create().unwrap();
    let workers = 2;
    let children: Vec<_> = (0..workers)
        .map(|_| {
            let mut command = self_command("worker_process", None, &[("STUDY", name.as_str())]);
            command.env_remove("MLFLOW_TRACKING_URI");
            study.run().configure_worker(&mut command).unwrap();
            spawn_self(command)
        })
        .collect();
    workers_numbered_every_trial_once(children, &uri, &study, workers);
    let runs = read_runs(&uri, &experiment);
    let parent = runs.iter().find(|r| r.run_id == study.run_id()).unwrap();
    assert_eq!(parent.children(&runs).len(), workers * PER_WORKER);
    assert_eq!(
        runs.len(),
        1 + workers * PER_WORKER,
        "no other runs: {runs:#?}"
    );
}

/// Two servers over one PostgreSQL database behind nginx: the claims of processes whose
/// requests land on different servers still give every number once.
#[test]
fn several_processes_share_one_study_on_the_fleet() {
    let fleet = mlflow_test_support::require_fleet!();
    processes_share_one_study(fleet.uri());
}

#[test]
fn several_processes_share_one_study_in_one_mlflow_db() {
    let _python = mlflow_test_support::require_python!();
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    processes_share_one_study(&uri);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_trials_run_on_blocking_threads_under_the_study() {
    let _ = require_server!();
    let (uri, experiment) = setup("optuna-async");
    let study = std::sync::Arc::new(
        space(Study::builder(unique_name("study")))
            .load_or_create()
            .unwrap(),
    );
    let records: &'static Mutex<BTreeMap<u64, support::Recorded>> =
        Box::leak(Box::new(Mutex::new(BTreeMap::new())));
    study
        .optimize_async(6, 3, objective(records))
        .await
        .unwrap();
    mlflow::flush().unwrap();
    let runs = read_runs(&uri, &experiment);
    let parent = runs.iter().find(|r| r.run_id == study.run_id()).unwrap();
    let mut numbers: Vec<u64> = parent
        .children(&runs)
        .iter()
        .map(|r| r.tags["numbers"].parse().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..6).collect::<Vec<_>>());
    assert_eq!(
        runs.len(),
        7,
        "the study and its 6 trials, nothing nested deeper"
    );
}
