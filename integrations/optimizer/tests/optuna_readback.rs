//! A study run from Rust, read back by Python Optuna (`optuna.load_study` with MLflow's
//! `MlflowStorage`) and by the Python MLflow client, on a server and on the embedded store;
//! Python adding trials and Rust resuming with them, and the reverse.

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;

use mlflow::optimizer::Study;
use mlflow::optimizer::optimizer::sampler::random::RandomSampler;
use mlflow_test_support::{read_runs, require_python, require_server, unique_name};
use serde_json::Value;
use support::{Recorded, objective, optuna_view, python_adds_trials, space};

const TRIALS: usize = 10;

/// Runs the study, then checks Optuna's and the MLflow client's view of it.
fn rust_study_reads_back(uri: &str) {
    mlflow::set_tracking_uri(uri).unwrap();
    let experiment = unique_name("optuna-readback");
    mlflow::set_experiment(&experiment).unwrap();
    let name = unique_name("study");
    let study = space(Study::builder(&name))
        .sampler(RandomSampler::with_seed(7))
        .load_or_create()
        .unwrap();
    let records = Mutex::new(BTreeMap::new());
    study.optimize(TRIALS, objective(&records)).unwrap();
    mlflow::flush().unwrap();
    let records = records.into_inner().unwrap();
    assert_eq!(
        records.keys().copied().collect::<Vec<_>>(),
        (0..TRIALS as u64).collect::<Vec<_>>()
    );

    let view = optuna_view(uri, &study);
    assert_eq!(view["direction"], "MINIMIZE");
    let trials = view["trials"].as_array().unwrap();
    assert_eq!(trials.len(), TRIALS, "{view}");
    for t in trials {
        let number = t["number"].as_u64().unwrap();
        let want = &records[&number];
        assert_eq!(t["state"], want.state, "trial {number}: {t}");
        assert_eq!(t["value"].as_f64(), want.value, "trial {number}: {t}");
        let params: BTreeMap<String, String> = serde_json::from_value(t["params"].clone()).unwrap();
        assert_eq!(params, want.params, "trial {number}");
        let intermediate: Vec<(u64, f64)> =
            serde_json::from_value(t["intermediate"].clone()).unwrap();
        assert_eq!(intermediate, want.intermediate, "trial {number}");
        assert_eq!(t["user_attrs"]["label"], format!("t{number}"));
        if want.state == "FAIL" {
            assert_eq!(
                t["system_attrs"]["fail_reason"],
                "invalid study name \"boom\": it must not be empty and at most 250 characters"
            );
        }
    }
    // The same best trial on both sides, and on the study run's own tags.
    let best = study.best_trial().unwrap();
    assert_eq!(view["best"]["number"].as_u64(), Some(best.number), "{view}");
    assert_eq!(view["best"]["value"].as_f64(), Some(best.value));
    let best_params: BTreeMap<String, String> =
        serde_json::from_value(view["best"]["params"].clone()).unwrap();
    assert_eq!(best_params, best.params);
    let expected_best = records
        .iter()
        .filter(|(_, r)| r.state == "COMPLETE")
        .min_by(|a, b| a.1.value.partial_cmp(&b.1.value).unwrap())
        .unwrap();
    assert_eq!(best.number, *expected_best.0);

    // The MLflow client: the study run and its children, as Optuna's layout has them.
    let runs = read_runs(uri, &experiment);
    let parent = runs.iter().find(|r| r.run_id == study.run_id()).unwrap();
    assert_eq!(parent.run_name, name);
    assert_eq!(parent.tags["optuna.study_direction"], "MINIMIZE");
    assert_eq!(parent.tags["best_trial.number"], best.number.to_string());
    assert_eq!(parent.tags["best_trial.params.act"], best.params["act"]);
    assert_eq!(parent.status, "RUNNING");
    let children = parent.children(&runs);
    assert_eq!(children.len(), TRIALS);
    for child in children {
        let number: u64 = child.tags["numbers"].parse().unwrap();
        let want: &Recorded = &records[&number];
        let status = match want.state {
            "COMPLETE" => "FINISHED",
            "PRUNED" => "KILLED",
            _ => "FAILED",
        };
        assert_eq!(child.status, status, "trial {number}");
        assert_eq!(child.params, want.params, "trial {number}");
        assert!(
            child.metrics.contains_key("own_metric"),
            "the objective's own logging goes to the trial"
        );
        assert!(child.tags["param_directions"].contains("CategoricalDistribution"));
    }
}

#[test]
fn a_rust_study_reads_back_in_optuna_on_the_server() {
    let uri = require_server!();
    rust_study_reads_back(&uri);
}

#[test]
fn a_rust_study_reads_back_in_optuna_on_the_embedded_store() {
    let _python = require_python!();
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    rust_study_reads_back(&uri);
}

fn numbers_of(view: &Value) -> Vec<u64> {
    view["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["number"].as_u64().unwrap())
        .collect()
}

#[test]
fn python_adds_trials_and_rust_resumes_with_them() {
    let uri = require_server!();
    mlflow::set_tracking_uri(&uri).unwrap();
    mlflow::set_experiment(&unique_name("optuna-resume")).unwrap();
    let name = unique_name("study");
    let records = Mutex::new(BTreeMap::new());
    let study = space(Study::builder(&name)).load_or_create().unwrap();
    study.optimize(4, objective(&records)).unwrap();
    mlflow::flush().unwrap();

    let added = python_adds_trials(&uri, &name, study.experiment_id(), 3, false);
    assert_eq!(added["numbers"], serde_json::json!([0, 1, 2, 3, 4, 5, 6]));

    // A new study object, as after a restart: it reads back Rust's and Python's trials.
    let resumed = space(Study::builder(&name)).load_or_create().unwrap();
    assert_eq!(resumed.run_id(), study.run_id());
    let known: Vec<u64> = {
        let mut ids: Vec<u64> = resumed.trials().iter().map(|t| t.id).collect();
        ids.sort_unstable();
        ids
    };
    // 0, 2 complete and 1 pruned from Rust (3 failed: not kept), 4..=6 from Python.
    assert_eq!(known, [0, 1, 2, 4, 5, 6]);
    resumed.optimize(3, objective(&records)).unwrap();
    mlflow::flush().unwrap();
    let view = optuna_view(&uri, &resumed);
    assert_eq!(numbers_of(&view), (0..10).collect::<Vec<_>>());
}

#[test]
fn a_study_started_by_python_continues_in_rust() {
    let uri = require_server!();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name("optuna-from-python");
    mlflow::set_experiment(&experiment).unwrap();
    let experiment_id = mlflow::get_experiment_by_name(&experiment)
        .unwrap()
        .unwrap()
        .experiment_id;
    let name = unique_name("study");
    python_adds_trials(&uri, &name, &experiment_id, 3, true);

    let study = space(Study::builder(&name)).load_or_create().unwrap();
    assert_eq!(study.trials().len(), 3, "Python's trials are read back");
    let records = Mutex::new(BTreeMap::new());
    study.optimize(3, objective(&records)).unwrap();
    mlflow::flush().unwrap();
    let numbers: Vec<u64> = records.lock().unwrap().keys().copied().collect();
    assert_eq!(numbers, [3, 4, 5]);
    let view = optuna_view(&uri, &study);
    assert_eq!(numbers_of(&view), (0..6).collect::<Vec<_>>());
    let best = study.best_trial().unwrap();
    assert_eq!(view["best"]["number"].as_u64(), Some(best.number));
}
