//! A sweep spread over worker processes: one coordinator run, N worker processes of this
//! same program, every trial a child run of the coordinator's run, all in one experiment.
//!
//! ```sh
//! cargo run --example distributed_sweep                      # 4 workers, 16 trials, ./mlflow.db
//! cargo run --example distributed_sweep -- --workers 8 --trials 32 --epochs 20
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example distributed_sweep
//! ```
//!
//! What it shows:
//!
//! - The coordinator opens the parent run (`#[mlflow::parent_run]`) and starts each worker
//!   with `std::env::current_exe()` and `--worker <index>`, after
//!   [`RunHandle::configure_worker`](mlflow::RunHandle::configure_worker) has set the
//!   worker's environment: the tracking URI (an embedded store's file as an absolute path),
//!   the parent's experiment, and `MLFLOW_RS_PARENT_RUN_ID`.
//! - A worker needs no MLflow code of its own for the nesting: its `#[mlflow::child_run]`
//!   trials have no active run, so they nest under the run named by
//!   `MLFLOW_RS_PARENT_RUN_ID`. It calls `mlflow::install_signal_handlers()`, so a SIGTERM or
//!   Ctrl-C ends its open trial KILLED.
//! - With the embedded default store, all processes write one `./mlflow.db` at once (one
//!   machine; not on a network file system). With `MLFLOW_TRACKING_URI` set to a tracking
//!   server, they all talk to it.
//! - A worker that exits abnormally (killed, crashed) leaves its open trial RUNNING; the
//!   coordinator ends it KILLED with [`Worker::mark_killed`](mlflow::Worker::mark_killed)
//!   and exits non-zero. Try `kill -9` on a worker while the sweep runs (`--epoch-ms 500`
//!   slows the trials down).
//! - At the end the coordinator searches the parent's children (`search_runs().children_of(..)`),
//!   ordered by the final loss, and prints the best trial.
//!
//! See the runs with `mlflow ui` in the same folder (embedded store) or in the server's UI.

use std::process::{Command, ExitCode};
use std::time::Duration;

/// The sweep's settings, from the command line.
#[derive(Debug, Clone, Copy)]
struct Settings {
    workers: u32,
    trials: u32,
    epochs: u32,
    epoch_ms: u64,
}

fn usage() -> ! {
    eprintln!(
        "usage: distributed_sweep [--workers N] [--trials T] [--epochs E] [--epoch-ms MS]\n\
         (workers are started by the coordinator with --worker <index>)"
    );
    std::process::exit(2)
}

fn parse_args() -> (Settings, Option<u32>) {
    let mut settings = Settings {
        workers: 4,
        trials: 16,
        epochs: 10,
        epoch_ms: 0,
    };
    let mut worker = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match arg.as_str() {
            "--workers" => settings.workers = value().clamp(1, 256) as u32,
            "--trials" => settings.trials = value().min(100_000) as u32,
            "--epochs" => settings.epochs = value().clamp(1, 100_000) as u32,
            "--epoch-ms" => settings.epoch_ms = value(),
            "--worker" => worker = Some(value() as u32),
            _ => usage(),
        }
    }
    (settings, worker)
}

fn main() -> ExitCode {
    let (settings, worker) = parse_args();
    let result = match worker {
        Some(index) => run_worker(index, settings),
        None => coordinate(settings),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("distributed_sweep: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// The worker: its share of the trials, each a child run of the coordinator's run.

/// A toy objective: the loss of a training run with this learning rate and width after
/// `epoch`. Its floor is lowest at lr = 0.03 and width = 64; small rates converge slowly.
fn loss_at(lr: f64, width: u32, epoch: u32) -> f64 {
    let distance =
        (lr.log10() - 0.03f64.log10()).powi(2) + (f64::from(width).log2() - 6.0).powi(2) / 8.0;
    let floor = 0.05 + 0.2 * distance;
    floor + (1.0 - floor) * (-f64::from(epoch + 1) * lr.sqrt()).exp()
}

/// Trial `t`'s hyperparameters: a grid over learning rate and width.
fn hyperparameters(t: u32) -> (f64, u32) {
    const LRS: [f64; 4] = [0.003, 0.01, 0.03, 0.1];
    const WIDTHS: [u32; 4] = [16, 32, 64, 128];
    (LRS[(t % 4) as usize], WIDTHS[((t / 4) % 4) as usize])
}

#[mlflow::child_run(name = "trial_{t}", params(lr, width), tags(kind = "trial"))]
fn trial(t: u32, lr: f64, width: u32, worker: u32, settings: Settings) -> mlflow::Result<f64> {
    mlflow::set_tag("worker", worker)?;
    let mut loss = f64::NAN;
    for epoch in 0..settings.epochs {
        loss = loss_at(lr, width, epoch);
        mlflow::log_metric_with_step("loss", loss, i64::from(epoch))?;
        mlflow::log_metric_with_step("accuracy", 1.0 - loss / 2.0, i64::from(epoch))?;
        if settings.epoch_ms > 0 {
            std::thread::sleep(Duration::from_millis(settings.epoch_ms));
        }
    }
    Ok(loss)
}

fn run_worker(index: u32, settings: Settings) -> Result<ExitCode, mlflow::Error> {
    mlflow::install_signal_handlers()?;
    let mine: Vec<u32> = (0..settings.trials)
        .filter(|t| t % settings.workers == index)
        .collect();
    for &t in &mine {
        let (lr, width) = hyperparameters(t);
        trial(t, lr, width, index, settings)?;
    }
    // Everything stored before the process says it is done (exit flushes too, but an
    // error found here is reported and makes the coordinator see a failed worker).
    mlflow::flush()?;
    println!("worker {index}: {} trial(s) done", mine.len());
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// The coordinator: the parent run, the workers, the summary.

/// What the coordinator learned from its workers.
struct Outcome {
    parent_id: String,
    failed: Vec<(u32, String)>,
}

#[mlflow::parent_run(name = "distributed_sweep", params(workers, trials, epochs))]
fn sweep(workers: u32, trials: u32, epochs: u32, settings: Settings) -> mlflow::Result<Outcome> {
    let parent = mlflow::active_run().expect("inside the parent run");
    let parent_id = parent.id()?;
    let exe = std::env::current_exe()
        .map_err(|e| mlflow::Error::io("cannot find this program", "current_exe", e))?;

    let mut started = Vec::new();
    for index in 0..workers {
        let mut command = Command::new(&exe);
        command
            .args(["--worker", &index.to_string()])
            .args(["--workers", &workers.to_string()])
            .args(["--trials", &trials.to_string()])
            .args(["--epochs", &epochs.to_string()])
            .args(["--epoch-ms", &settings.epoch_ms.to_string()]);
        let worker = parent.configure_worker(&mut command)?;
        match command.spawn() {
            Ok(child) => started.push((index, worker, child)),
            Err(e) => {
                let context = format!("cannot start worker {index} from");
                return Err(mlflow::Error::io(context, &exe, e));
            }
        }
    }
    println!("started {workers} worker(s) under run {parent_id}");

    let mut failed = Vec::new();
    for (index, worker, mut child) in started {
        let status = match child.wait() {
            Ok(status) => status,
            Err(e) => {
                failed.push((index, format!("cannot wait for it: {e}")));
                continue;
            }
        };
        if status.success() {
            continue;
        }
        // The worker's open trial (if any) is still RUNNING: end it KILLED.
        let marked = worker.mark_killed()?;
        println!(
            "worker {index} exited abnormally ({status}); marked {} run(s) KILLED: {marked:?}",
            marked.len()
        );
        failed.push((index, status.to_string()));
    }
    if !failed.is_empty() {
        mlflow::set_tag("failed_workers", failed.len())?;
    }
    Ok(Outcome { parent_id, failed })
}

fn coordinate(settings: Settings) -> Result<ExitCode, mlflow::Error> {
    let experiment = mlflow::set_experiment("Distributed Sweep")?;
    // The parent run ends FINISHED even when a worker failed: that worker's own trial
    // carries the failure (KILLED). `sweep` returns Err only when the coordinator failed.
    let outcome = sweep(settings.workers, settings.trials, settings.epochs, settings)?;
    mlflow::flush()?;

    let children = mlflow::Client::new()
        .search_runs()
        .experiment_ids([experiment.experiment_id.clone()])
        .children_of(&outcome.parent_id)
        .order_by(["metrics.loss ASC"])
        .collect_all()?;
    let finished = children
        .iter()
        .filter(|r| r.info.status == mlflow::RunStatus::Finished)
        .count();
    println!(
        "{} trial run(s) under {}: {finished} FINISHED",
        children.len(),
        outcome.parent_id
    );
    // The best finished trial (a killed one stopped early, its loss is not comparable).
    let best = children
        .iter()
        .find(|r| r.info.status == mlflow::RunStatus::Finished);
    match best {
        Some(best) => println!(
            "best: {} (worker {}) loss {:.4}, lr {}, width {}",
            best.info.run_name,
            best.tag("worker").unwrap_or("?"),
            best.metric("loss").unwrap_or(f64::NAN),
            best.param("lr").unwrap_or("?"),
            best.param("width").unwrap_or("?"),
        ),
        None => println!("no finished trials found"),
    }
    let uri = mlflow::get_tracking_uri();
    println!(
        "experiment {:?} (id {}) at {uri}",
        experiment.name, experiment.experiment_id
    );
    if outcome.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for (index, why) in &outcome.failed {
            eprintln!("worker {index} failed: {why}");
        }
        Ok(ExitCode::FAILURE)
    }
}
