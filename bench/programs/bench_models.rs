//! Logged models and the registry at scale, for BENCHMARKS.md's "After the sweep" section
//! (issue 21), at `MLFLOW_TRACKING_URI`, on what `bench/programs/models.py` set up (untimed,
//! by Python). `--experiment-id ID`: times, as the median of `--reps` repetitions, the
//! first 100 models with `metrics.acc > 0.5` by `metrics.acc` descending, and every model
//! of the experiment page by page. `--register FILE --name NAME`: registers each logged
//! model whose id is a line of FILE as a version of NAME (`register_model("models:/<id>",
//! NAME)`), timed as a whole. Prints one JSON line.

use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

fn main() -> Result<(), mlflow::Error> {
    if let Some(file) = arg("--register") {
        return register(&file, &arg("--name").expect("--name"));
    }
    let experiment = arg("--experiment-id").expect("--experiment-id");
    let reps: usize = arg("--reps").and_then(|v| v.parse().ok()).unwrap_or(5);
    let (mut top, mut all) = (Vec::new(), Vec::new());
    let mut counts = (0, 0);
    for _ in 0..reps {
        let started = Instant::now();
        let best = mlflow::search_logged_models()
            .experiment_ids([experiment.as_str()])
            .filter("metrics.acc > 0.5")
            .order_by(["metrics.acc DESC"])
            .max_results(100)
            .collect_all()?;
        top.push(started.elapsed());
        let started = Instant::now();
        let every = mlflow::search_logged_models()
            .experiment_ids([experiment.as_str()])
            .collect_all()?;
        all.push(started.elapsed());
        counts = (best.len(), every.len());
    }
    println!(
        "{{\"client\": \"rust\", \"top_100_ms\": {:.1}, \"top_count\": {}, \"all_ms\": {:.1}, \"all_count\": {}}}",
        median(top),
        counts.0,
        median(all),
        counts.1
    );
    Ok(())
}

fn register(file: &str, name: &str) -> Result<(), mlflow::Error> {
    let ids = std::fs::read_to_string(file).expect("the file of model ids");
    let ids: Vec<&str> = ids.lines().filter(|l| !l.is_empty()).collect();
    let started = Instant::now();
    let mut last = 0;
    for id in &ids {
        last = mlflow::register_model(&format!("models:/{id}"), name)?.version;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"client\": \"rust\", \"versions\": {}, \"last_version\": {last}, \"register_s\": {secs:.3}}}",
        ids.len()
    );
    Ok(())
}
