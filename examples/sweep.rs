//! The seed workload: a hyperparameter sweep of 5 parent runs with 5 child runs each, in the
//! experiment "Nested Child Association".
//!
//! With no `MLFLOW_TRACKING_URI` it writes `./mlflow.db` (MLflow's own default); run
//! `mlflow ui` in the same folder to see the runs nested. With `MLFLOW_TRACKING_URI` set to a
//! tracking server, the runs go there.
//!
//! Afterwards it finds each parent's best child by `metric1`; `--seed-only` skips that and
//! runs the seed workload alone (what `./scripts/bench.sh` compares with the Python client).

use rand::prelude::IndexedRandom;
use rand_distr::{Distribution, Normal};

#[mlflow::child_run(name = "run_{i}_test_{test_no}")]
fn log_run(
    i: u32,
    test_no: u32,
    param1_choices: &[&str],
    param2_choices: &[&str],
    tag_ident: &str,
) {
    let mut rng = rand::rng();
    let gauss = Normal::new(5.0_f64, 2.5).expect("valid normal distribution");
    let logged = mlflow::log_param("param1", param1_choices.choose(&mut rng).unwrap_or(&"x"))
        .and_then(|()| mlflow::log_param("param2", param2_choices.choose(&mut rng).unwrap_or(&"u")))
        .and_then(|()| mlflow::log_metric("metric1", rand::random::<f64>()))
        .and_then(|()| mlflow::log_metric("metric2", gauss.sample(&mut rng).abs()))
        .and_then(|()| mlflow::set_tag("test_identifier", tag_ident));
    if let Err(e) = logged {
        eprintln!("run_{i}_test_{test_no}: {e}");
    }
}

#[mlflow::parent_run(name = "parent_run_test_{test_identifier}_{test_no}")]
fn execute_tuning(
    test_no: u32,
    param1_choices: &[&str],
    param2_choices: &[&str],
    test_identifier: &str,
) -> Option<mlflow::RunHandle> {
    if let Err(e) = mlflow::set_tag("test_identifier", test_identifier) {
        eprintln!("parent {test_no}: {e}");
    }
    for i in 0..5 {
        log_run(i, test_no, param1_choices, param2_choices, test_identifier);
    }
    // The handle, not the id: over REST an id is known only once the server created the
    // run, and waiting for it here would hold the next parent back a round trip.
    mlflow::active_run()
}

fn main() -> Result<(), mlflow::Error> {
    let experiment = mlflow::set_experiment("Nested Child Association")?;
    let param_1_values = ["x", "y", "z"];
    let param_2_values = ["u", "v", "w"];
    let mut parents = Vec::new();
    for x in 0..5 {
        if let Some(run) = execute_tuning(x, &param_1_values, &param_2_values, "default") {
            parents.push((format!("parent_run_test_default_{x}"), run));
        }
    }
    mlflow::flush()?;
    let parents = parents
        .into_iter()
        .map(|(name, run)| Ok((name, run.id()?)))
        .collect::<Result<Vec<_>, mlflow::Error>>()?;

    if !std::env::args().skip(1).any(|a| a == "--seed-only") {
        print_best_children(&parents)?;
    }

    let uri = mlflow::get_tracking_uri();
    println!(
        "Logged 5 parent runs with 5 child runs each to experiment {:?} (id {}) at {uri}.",
        experiment.name, experiment.experiment_id
    );
    if uri.starts_with("sqlite:") {
        println!(
            "See them nested with `mlflow ui` run in this folder, then open http://127.0.0.1:5000."
        );
    } else {
        println!("See them in that server's UI.");
    }
    Ok(())
}

/// Each parent's best child by metric1: one search per parent, sorted by the store.
fn print_best_children(parents: &[(String, String)]) -> Result<(), mlflow::Error> {
    println!(
        "{:<28} {:<16} {:>8}  param1 param2",
        "parent", "best child", "metric1"
    );
    for (name, id) in parents {
        let best = mlflow::search_runs()
            .children_of(id)
            .order_by(["metrics.metric1 DESC"])
            .first()?;
        match best {
            Some(run) => println!(
                "{name:<28} {:<16} {:>8.4}  {:<6} {}",
                run.info.run_name,
                run.metric("metric1").unwrap_or(f64::NAN),
                run.param("param1").unwrap_or("-"),
                run.param("param2").unwrap_or("-"),
            ),
            None => println!("{name:<28} (no children found)"),
        }
    }

    Ok(())
}
