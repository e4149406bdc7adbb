//! Tuning with a real optimizer: TPE over the learning rate and batch size of a small
//! plain-Rust model (a linear regression trained by mini-batch SGD), with a median pruner
//! that stops trials whose validation loss, reported every epoch, is worse than the median
//! of the trials before them. 30 trials, 4 at once. The study is stored as Python's Optuna
//! `MlflowStorage` stores it: `optuna.load_study(study_name="optimizer-sweep",
//! storage=MlflowStorage(experiment_id=...))` reads it.
//!
//! `cargo run --example optimizer_sweep --features optimizer` writes `./mlflow.db`; with
//! `MLFLOW_TRACKING_URI=http://...` the study goes to that server. `-- --trials 12
//! --workers 2 --study NAME` change the defaults. Run it again and the study resumes: its
//! new trials are numbered after the old ones, and TPE learns from every trial stored.

use mlflow::optimizer::optimizer::parameter::{FloatParam, IntParam};
use mlflow::optimizer::optimizer::prelude::{MedianPruner, TpeSampler};
use mlflow::optimizer::{Direction, Error, Study, TrialPruned};

const EPOCHS: u64 = 8;
const FEATURES: usize = 4;

/// A synthetic regression problem: y = w·x + b + noise, split into training and validation.
struct Data {
    train: Vec<([f64; FEATURES], f64)>,
    valid: Vec<([f64; FEATURES], f64)>,
}

impl Data {
    fn new(n: usize) -> Data {
        // A fixed linear congruential generator: every run trains on the same data.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let w = [1.5, -2.0, 0.5, 3.0];
        let rows: Vec<([f64; FEATURES], f64)> = (0..n)
            .map(|_| {
                let x = [next(), next(), next(), next()];
                let y = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + 0.7 + 0.05 * next();
                (x, y)
            })
            .collect();
        let split = n * 4 / 5;
        Data {
            train: rows[..split].to_vec(),
            valid: rows[split..].to_vec(),
        }
    }
}

/// The model: weights and a bias.
struct Linear {
    w: [f64; FEATURES],
    b: f64,
}

impl Linear {
    fn predict(&self, x: &[f64; FEATURES]) -> f64 {
        x.iter().zip(self.w).map(|(a, b)| a * b).sum::<f64>() + self.b
    }

    fn mse(&self, rows: &[([f64; FEATURES], f64)]) -> f64 {
        rows.iter()
            .map(|(x, y)| (self.predict(x) - y).powi(2))
            .sum::<f64>()
            / rows.len() as f64
    }

    /// One epoch of mini-batch SGD.
    fn epoch(&mut self, rows: &[([f64; FEATURES], f64)], lr: f64, batch: usize) {
        for chunk in rows.chunks(batch) {
            let (mut gw, mut gb) = ([0.0; FEATURES], 0.0);
            for (x, y) in chunk {
                let err = self.predict(x) - y;
                for (g, xi) in gw.iter_mut().zip(x) {
                    *g += 2.0 * err * xi;
                }
                gb += 2.0 * err;
            }
            let n = chunk.len() as f64;
            for (w, g) in self.w.iter_mut().zip(gw) {
                *w -= lr * g / n;
            }
            self.b -= lr * gb / n;
        }
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Error> {
    let trials: usize = arg("--trials").and_then(|v| v.parse().ok()).unwrap_or(30);
    let workers: usize = arg("--workers").and_then(|v| v.parse().ok()).unwrap_or(4);
    let name = arg("--study").unwrap_or_else(|| "optimizer-sweep".to_owned());
    mlflow::set_experiment("Optimizer Sweep")?;
    let data = Data::new(2_000);

    let study = Study::builder(&name)
        .minimize()
        .sampler(TpeSampler::new())
        .pruner(
            MedianPruner::new(Direction::Minimize)
                .n_warmup_steps(2)
                .n_min_trials(5),
        )
        .param("lr", FloatParam::new(1e-4, 0.5).log_scale())
        .param("batch_size", IntParam::new(8, 256).log_scale())
        .load_or_create()?;

    study.optimize_parallel(trials, workers, |trial| -> Result<f64, Error> {
        let lr = trial.suggest_float("lr")?;
        let batch = trial.suggest_int("batch_size")?;
        let mut model = Linear {
            w: [0.0; FEATURES],
            b: 0.0,
        };
        let mut valid = f64::INFINITY;
        for epoch in 1..=EPOCHS {
            model.epoch(&data.train, lr, usize::try_from(batch).unwrap_or(32));
            let train = model.mse(&data.train);
            valid = model.mse(&data.valid);
            // Plain logging inside the objective goes to the trial's run.
            mlflow::log_metrics_with_step(
                [("train_mse", train), ("valid_mse", valid)],
                epoch as i64,
            )?;
            trial.report(epoch, valid)?;
            if trial.should_prune() {
                return Err(TrialPruned.into());
            }
        }
        Ok(valid)
    })?;
    mlflow::flush()?;

    // The answer, as any MLflow user finds it: the study's finished trial with the lowest
    // value (pruned trials are KILLED).
    let best = mlflow::search_runs()
        .children_of(study.run_id())
        .filter("attributes.status = 'FINISHED'")
        .order_by(["metrics.value ASC"])
        .first()?;
    match best {
        Some(run) => println!(
            "best trial {} ({}): valid_mse {:.6} with lr {} and batch_size {}",
            run.tag("numbers").unwrap_or("?"),
            run.info.run_id,
            run.metric("value").unwrap_or(f64::NAN),
            run.param("lr").unwrap_or("?"),
            run.param("batch_size").unwrap_or("?"),
        ),
        None => println!("no trial finished"),
    }
    let pruned = mlflow::search_runs()
        .children_of(study.run_id())
        .filter("attributes.status = 'KILLED'")
        .collect_all()?
        .len();
    println!(
        "study {:?} (run {}, experiment {}): {pruned} trial(s) pruned",
        study.name(),
        study.run_id(),
        study.experiment_id()
    );
    Ok(())
}
