//! What a study costs a tracking server, counted exactly by a proxy in front of the suite's
//! real server: a short trial is its run's creation, one batch and its end; numbers are
//! claimed many at a time.

#[path = "../../../tests/faults_support/proxy.rs"]
#[allow(dead_code, unreachable_pub)]
mod proxy;

use mlflow::optimizer::optimizer::parameter::{FloatParam, IntParam};
use mlflow::optimizer::{Error, Study};
use mlflow_test_support::{require_server, unique_name};
use proxy::Proxy;

#[test]
fn a_short_trial_costs_three_requests_on_a_server() {
    let _ = require_server!();
    let uri = mlflow_test_support::server_uri().expect("checked by require_server!");
    let port: u16 = uri.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap();
    let proxy = Proxy::start(port);
    mlflow::set_tracking_uri(&proxy.uri()).unwrap();
    mlflow::set_experiment(&unique_name("optuna-requests")).unwrap();
    let study = Study::builder(unique_name("study"))
        .param("x", FloatParam::new(-10.0, 10.0))
        .param("n", IntParam::new(1, 5))
        .load_or_create()
        .unwrap();
    mlflow::flush().unwrap();
    let before = proxy.journal().len();

    let trials = 20;
    study
        .optimize(trials, |trial| {
            let (x, n) = (trial.suggest_float("x")?, trial.suggest_int("n")?);
            let value = (x - 2.0).powi(2) + n as f64;
            for step in 1..=3 {
                trial.report(step, value * (4 - step) as f64)?;
            }
            Ok::<_, Error>(value)
        })
        .unwrap();
    mlflow::flush().unwrap();

    let journal = proxy.journal().split_off(before);
    let count = |path: &str| journal.iter().filter(|j| j.path.ends_with(path)).count();
    let on_study = |j: &&proxy::Journal| j.body["run_id"] == study.run_id();
    let trial_batches = journal
        .iter()
        .filter(|j| j.path.ends_with("runs/log-batch"))
        .filter(|j| !on_study(j))
        .count();
    let claims = journal
        .iter()
        .filter(|j| j.path.ends_with("runs/log-batch"))
        .filter(on_study)
        .filter(|j| j.body["params"].as_array().is_some_and(|p| !p.is_empty()))
        .count();
    assert_eq!(count("runs/create"), trials, "one creation per trial");
    assert_eq!(trial_batches, trials, "one batch per trial: {journal:#?}");
    assert_eq!(count("runs/update"), trials, "one end per trial");
    assert_eq!(claims, 2, "20 numbers claimed as 16, then 4");
    // Reading back happens when `optimize` starts, not per trial.
    assert_eq!(count("runs/search"), 1);
    assert_eq!(count("metrics/get-history"), 1);
    let per_trial_paths = ["runs/create", "runs/log-batch", "runs/update"];
    let others: Vec<_> = journal
        .iter()
        .filter(|j| !per_trial_paths.iter().any(|p| j.path.ends_with(p)))
        .filter(|j| !j.path.ends_with("runs/search") && !j.path.ends_with("metrics/get-history"))
        .map(|j| j.path.clone())
        .collect();
    assert!(others.is_empty(), "no other requests: {others:?}");
}
