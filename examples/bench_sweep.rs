//! The seed workload exactly, for `./scripts/bench.sh`: 5 parent runs with 5 child runs each in
//! the experiment "Nested Child Association", and nothing else (`examples/sweep.rs` also
//! searches for each parent's best child afterwards, which the reference Python script does
//! not). With no `MLFLOW_TRACKING_URI` it writes `./mlflow.db`.

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
) {
    if let Err(e) = mlflow::set_tag("test_identifier", test_identifier) {
        eprintln!("parent {test_no}: {e}");
    }
    for i in 0..5 {
        log_run(i, test_no, param1_choices, param2_choices, test_identifier);
    }
}

fn main() -> Result<(), mlflow::Error> {
    let experiment = mlflow::set_experiment("Nested Child Association")?;
    let param_1_values = ["x", "y", "z"];
    let param_2_values = ["u", "v", "w"];
    for x in 0..5 {
        execute_tuning(x, &param_1_values, &param_2_values, "default");
    }
    mlflow::flush()?;
    println!(
        "Logged 5 parent runs with 5 child runs each to experiment {:?} (id {}).",
        experiment.name, experiment.experiment_id
    );
    Ok(())
}
