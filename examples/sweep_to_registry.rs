//! After the sweep: the seed workload (5 parent runs of 5 child runs each, in the experiment
//! "Nested Child Association"), where each child keeps its small model file as a logged
//! model (MLflow 3) with its metric linked to it; then the best child's model is registered
//! as `nested-child-association`, the alias `champion` points at that version, and the
//! model is downloaded back through `models:/nested-child-association@champion`.
//!
//! With no `MLFLOW_TRACKING_URI` it writes `./mlflow.db` (tracking and registry in one file:
//! `mlflow ui` in this folder shows the Models tab and the registry); with a tracking server
//! the runs, models and versions go there. Python finds the champion with
//! `MlflowClient().get_model_version_by_alias("nested-child-association", "champion")`.

use std::path::{Path, PathBuf};

use rand::prelude::IndexedRandom;

const MODEL_NAME: &str = "nested-child-association";

#[mlflow::child_run(name = "run_{i}_test_{test_no}")]
fn log_run(i: u32, test_no: u32, models: &Path) -> mlflow::Result<()> {
    let mut rng = rand::rng();
    let param1 = ["x", "y", "z"].choose(&mut rng).copied().unwrap_or("x");
    let param2 = ["u", "v", "w"].choose(&mut rng).copied().unwrap_or("u");
    mlflow::log_param("param1", param1)?;
    mlflow::log_param("param2", param2)?;
    let metric1 = rand::random::<f64>();
    // The "training" result: a small file standing for the model's weights.
    let file = models.join(format!("model_{test_no}_{i}.json"));
    std::fs::write(
        &file,
        format!("{{\"param1\": \"{param1}\", \"param2\": \"{param2}\"}}\n"),
    )
    .map_err(|e| mlflow::Error::io("model file", &file, e))?;
    let model = mlflow::logged_model("model", &file)
        .param("param1", param1)
        .param("param2", param2)
        .log()?;
    // The metric belongs to the run and to its model: the Models tab ranks by it.
    mlflow::metric("metric1", metric1).model(&model).log()?;
    mlflow::set_tag("test_identifier", "default")
}

#[mlflow::parent_run(name = "parent_run_test_default_{test_no}")]
fn execute_tuning(test_no: u32, models: &Path) -> mlflow::Result<()> {
    mlflow::set_tag("test_identifier", "default")?;
    for i in 0..5 {
        log_run(i, test_no, models)?;
    }
    Ok(())
}

fn main() -> mlflow::Result<()> {
    let experiment = mlflow::set_experiment("Nested Child Association")?;
    let models = std::env::temp_dir().join(format!("sweep-to-registry-{}", std::process::id()));
    std::fs::create_dir_all(&models).map_err(|e| mlflow::Error::io("models folder", &models, e))?;
    for test_no in 0..5 {
        execute_tuning(test_no, &models)?;
    }
    mlflow::flush()?;

    // Pick: the best model of the whole sweep, ranked by its linked metric.
    let best = mlflow::search_logged_models()
        .order_by(["metrics.metric1 DESC"])
        .first()?
        .ok_or_else(|| mlflow::Error::InvalidArgument("the sweep logged no model".into()))?;
    let metric1 = best.metric("metric1").unwrap_or(f64::NAN);
    println!("best model: {} (metric1 {metric1:.4})", best.model_id());

    // Register: a new version of the registered model, and the alias on it.
    let version = mlflow::register_model(&best.uri(), MODEL_NAME)?;
    let client = mlflow::Client::new();
    client.set_registered_model_alias(MODEL_NAME, "champion", version.version)?;
    client.set_model_version_tag(MODEL_NAME, version.version, "metric1", metric1)?;
    println!(
        "registered {MODEL_NAME} version {} as @champion",
        version.version
    );

    // Ship: the champion's files, through the registry.
    let dest: PathBuf = models.join("champion");
    let dir = mlflow::download_artifacts_uri(&format!("models:/{MODEL_NAME}@champion"), &dest)?;
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| mlflow::Error::io("download folder", &dir, e))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    files.sort();
    println!(
        "downloaded models:/{MODEL_NAME}@champion to {}: {}",
        dir.display(),
        files.join(", ")
    );
    let champion = client.get_model_version_by_alias(MODEL_NAME, "champion")?;
    assert_eq!(champion.version, version.version);
    let _ = std::fs::remove_dir_all(&models);

    println!(
        "Experiment {:?} (id {}) at {}; registry at {}.",
        experiment.name,
        experiment.experiment_id,
        mlflow::get_tracking_uri(),
        mlflow::get_registry_uri()
    );
    Ok(())
}
