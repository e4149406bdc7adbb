//! Load generator for `./scripts/bench.sh --only fleet`: a coordinator opens one parent run
//! and starts worker processes of this binary (`RunHandle::configure_worker`); each worker
//! logs its children, each with one param and one metric point per step, as a training
//! loop would (one `log_metric_with_step` call per step). Prints one JSON line of figures.
//!
//! ```text
//! bench_fleet WORKERS CHILDREN STEPS   # WORKERS processes x CHILDREN runs x STEPS points
//! ```
//!
//! The tracking URI is the one in effect (`MLFLOW_TRACKING_URI`, else `./mlflow.db`). The
//! time runs from before the parent starts to the end of the coordinator's `flush()`, after
//! every worker has exited (each worker flushes before it exits), so it includes storing
//! everything, process starts included.

use std::process::{Command, ExitCode};
use std::time::Instant;

const WORKER_FLAG: &str = "--bench-worker";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some(WORKER_FLAG) => numbers(&args[1..]).and_then(|n| match n[..] {
            [worker, children, steps] => worker_main(worker, children, steps),
            _ => Err(usage()),
        }),
        _ => numbers(&args).and_then(|n| match n[..] {
            [workers, children, steps] => coordinate(workers, children, steps),
            _ => Err(usage()),
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_fleet: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> String {
    "usage: bench_fleet WORKERS CHILDREN STEPS".to_owned()
}

fn numbers(args: &[String]) -> Result<Vec<u64>, String> {
    args.iter()
        .map(|a| a.parse::<u64>().map_err(|_| usage()))
        .collect()
}

fn coordinate(workers: u64, children: u64, steps: u64) -> Result<(), String> {
    let experiment = std::env::var("BENCH_EXPERIMENT").unwrap_or_else(|_| "bench-fleet".into());
    mlflow::set_experiment(&experiment).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let start = Instant::now();
    let parent = mlflow::start_run().name("fleet").start();
    let mut running = Vec::new();
    for w in 0..workers {
        let mut command = Command::new(&exe);
        command.args([
            WORKER_FLAG.to_owned(),
            w.to_string(),
            children.to_string(),
            steps.to_string(),
        ]);
        let worker = parent
            .handle()
            .configure_worker(&mut command)
            .map_err(|e| e.to_string())?;
        let child = command.spawn().map_err(|e| e.to_string())?;
        running.push((worker, child));
    }
    let mut failed = 0;
    for (worker, mut child) in running {
        let status = child.wait().map_err(|e| e.to_string())?;
        if !status.success() {
            failed += 1;
            let marked = worker.mark_killed().map_err(|e| e.to_string())?;
            eprintln!(
                "bench_fleet: worker {} failed ({status}); {} run(s) marked KILLED",
                worker.id(),
                marked.len()
            );
        }
    }
    parent.end(mlflow::RunStatus::Finished);
    mlflow::flush().map_err(|e| e.to_string())?;
    let total_s = start.elapsed().as_secs_f64();
    if failed > 0 {
        return Err(format!("{failed} worker(s) failed"));
    }
    let runs = workers * children;
    let points = runs * steps;
    println!(
        "{{\"client\":\"rust\",\"workers\":{workers},\"runs\":{runs},\"points\":{points},\"total_s\":{total_s:.6},\"runs_per_s\":{:.2},\"points_per_s\":{:.1}}}",
        runs as f64 / total_s,
        points as f64 / total_s
    );
    Ok(())
}

/// One worker's share: `children` runs nested under the coordinator's parent (from the
/// environment `configure_worker` set), each with `steps` points.
fn worker_main(worker: u64, children: u64, steps: u64) -> Result<(), String> {
    mlflow::install_signal_handlers().map_err(|e| e.to_string())?;
    for c in 0..children {
        let lr = 0.001 * (1 + (worker * children + c) % 10) as f64;
        mlflow::start_run()
            .name(format!("w{worker}-c{c}"))
            .param("lr", lr)
            .try_run(|| {
                for step in 0..steps {
                    let loss = (-(step as f64) * lr).exp();
                    mlflow::log_metric_with_step("loss", loss, step as i64)?;
                }
                Ok::<(), mlflow::Error>(())
            })
            .map_err(|e| e.to_string())?;
    }
    mlflow::flush().map_err(|e| e.to_string())
}
