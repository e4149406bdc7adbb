//! One study of N trials, for BENCHMARKS.md's optimizer section: with the `optimizer`
//! crate's in-memory storage (`--storage memory`) or stored in MLflow through
//! `mlflow::optimizer` (`--storage mlflow`, at `MLFLOW_TRACKING_URI`). Each trial suggests
//! two parameters, reports 3 intermediate values and sleeps `--sleep-ms` (the objective's
//! work). Prints one JSON line: trials, seconds, trials per second, ms per trial.
//! Requests are counted from the server's access log by the caller.

use std::time::{Duration, Instant};

use mlflow::optimizer::optimizer::parameter::{FloatParam, IntParam, Parameter};
use mlflow::optimizer::optimizer::sampler::random::RandomSampler;
use mlflow::optimizer::optimizer::{Direction, Study as MemoryStudy, Trial};
use mlflow::optimizer::{Error, Study};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn work(x: f64, n: i64, sleep: Duration) -> f64 {
    if !sleep.is_zero() {
        std::thread::sleep(sleep);
    }
    (x - 2.0).powi(2) + n as f64
}

fn main() -> Result<(), Error> {
    let trials: usize = arg("--trials").and_then(|v| v.parse().ok()).unwrap_or(200);
    let sleep = Duration::from_millis(arg("--sleep-ms").and_then(|v| v.parse().ok()).unwrap_or(0));
    let storage = arg("--storage").unwrap_or_else(|| "mlflow".to_owned());
    let started = Instant::now();
    // When the last trial ended; the rest is waiting for what is queued to be stored.
    let trials_done;
    if storage == "memory" {
        let study: MemoryStudy<f64> =
            MemoryStudy::with_sampler(Direction::Minimize, RandomSampler::with_seed(1));
        let (xp, np) = (
            FloatParam::new(-10.0, 10.0).name("x"),
            IntParam::new(1, 5).name("n"),
        );
        study
            .optimize(trials, |trial: &mut Trial| {
                let (x, n) = (xp.suggest(trial)?, np.suggest(trial)?);
                let v = work(x, n, sleep);
                for step in 1..=3 {
                    trial.report(step, v * (4 - step) as f64);
                }
                Ok::<_, mlflow::optimizer::optimizer::Error>(v)
            })
            .map_err(Error::from)?;
        trials_done = started.elapsed();
    } else {
        mlflow::set_experiment(
            &arg("--experiment").unwrap_or_else(|| "bench-optimizer".to_owned()),
        )?;
        let name = arg("--study").unwrap_or_else(|| format!("bench-{}", std::process::id()));
        let study = Study::builder(name)
            .sampler(RandomSampler::with_seed(1))
            .param("x", FloatParam::new(-10.0, 10.0))
            .param("n", IntParam::new(1, 5))
            .load_or_create()?;
        study.optimize(trials, |trial| {
            let (x, n) = (trial.suggest_float("x")?, trial.suggest_int("n")?);
            let v = work(x, n, sleep);
            for step in 1..=3 {
                trial.report(step, v * (4 - step) as f64)?;
            }
            Ok::<_, Error>(v)
        })?;
        trials_done = started.elapsed();
        mlflow::flush()?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"storage\": \"{storage}\", \"trials\": {trials}, \"sleep_ms\": {}, \"secs\": {secs:.3}, \"trials_secs\": {:.3}, \"trials_per_s\": {:.2}, \"ms_per_trial\": {:.2}}}",
        sleep.as_millis(),
        trials_done.as_secs_f64(),
        trials as f64 / secs,
        secs * 1000.0 / trials as f64
    );
    Ok(())
}
