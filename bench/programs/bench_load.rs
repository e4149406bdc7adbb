//! Load generator for `./scripts/bench.sh`: logs a known amount of data to the tracking URI in
//! effect (`MLFLOW_TRACKING_URI`, else `./mlflow.db`) and prints one JSON line of figures.
//!
//! ```text
//! bench_load points N   # N metric points (one key, steps 0..N) into one run
//! bench_load runs N     # one parent with N child runs, each as in the seed sweep
//! bench_load paced N    # N training steps of 2 ms, one metric point each, into one run
//! ```
//!
//! Times are measured from before the first run starts to the end of `flush()`, so they
//! include storing everything, not only enqueueing it; `flush_s` is the part after the
//! last call (in `paced` mode: how long `flush()` takes after a training loop's end).

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mode, n) = match args.as_slice() {
        [mode, n] => match n.replace('_', "").parse::<u64>() {
            Ok(n) => (mode.clone(), n),
            Err(_) => usage(),
        },
        _ => usage(),
    };
    let experiment = std::env::var("BENCH_EXPERIMENT").unwrap_or_else(|_| "bench-load".into());
    if let Err(e) = mlflow::set_experiment(&experiment) {
        eprintln!("bench_load: {e}");
        std::process::exit(1);
    }
    let start = Instant::now();
    let enqueued = match mode.as_str() {
        "points" => points(n),
        "runs" => runs(n),
        "paced" => paced(n),
        _ => usage(),
    };
    let enqueue_s = enqueued.duration_since(start).as_secs_f64();
    let flushed = mlflow::flush();
    let total_s = start.elapsed().as_secs_f64();
    let flush_s = enqueued.elapsed().as_secs_f64();
    if let Err(e) = flushed {
        eprintln!("bench_load: {e}");
        std::process::exit(1);
    }
    println!(
        "{{\"mode\":\"{mode}\",\"n\":{n},\"enqueue_s\":{enqueue_s:.6},\"total_s\":{total_s:.6},\"flush_s\":{flush_s:.6},\"per_s\":{:.1},\"peak_rss_kb\":{}}}",
        n as f64 / total_s,
        peak_rss_kb().unwrap_or(0)
    );
}

fn usage() -> ! {
    eprintln!("usage: bench_load (points|runs|paced) N");
    std::process::exit(2);
}

/// N points of one metric into one run; returns when the last one is enqueued.
fn points(n: u64) -> Instant {
    let run = mlflow::start_run().name(format!("points-{n}")).start();
    for step in 0..n {
        let value = (step as f64 * 1e-3).sin();
        if let Err(e) = mlflow::log_metric_with_step("loss", value, step as i64) {
            eprintln!("bench_load: {e}");
            std::process::exit(1);
        }
    }
    let enqueued = Instant::now();
    drop(run);
    enqueued
}

/// N steps of a training loop that computes for 2 ms per step and logs one point; returns
/// when the run has ended.
fn paced(n: u64) -> Instant {
    let run = mlflow::start_run().name(format!("paced-{n}")).start();
    for step in 0..n {
        std::thread::sleep(std::time::Duration::from_millis(2));
        if let Err(e) = mlflow::log_metric_with_step("loss", 1.0 / (step + 1) as f64, step as i64) {
            eprintln!("bench_load: {e}");
            std::process::exit(1);
        }
    }
    drop(run);
    Instant::now()
}

/// One parent with N children, each with the seed sweep's child payload.
fn runs(n: u64) -> Instant {
    let parent = mlflow::start_run().name(format!("runs-{n}")).start();
    let _ = mlflow::set_tag("test_identifier", "bench");
    for i in 0..n {
        let _child = mlflow::start_run().name(format!("run_{i}")).start();
        let logged = mlflow::log_param("param1", "x")
            .and_then(|()| mlflow::log_param("param2", "u"))
            .and_then(|()| mlflow::log_metric("metric1", 0.5))
            .and_then(|()| mlflow::log_metric("metric2", 4.2))
            .and_then(|()| mlflow::set_tag("test_identifier", "bench"));
        if let Err(e) = logged {
            eprintln!("bench_load: {e}");
            std::process::exit(1);
        }
    }
    let enqueued = Instant::now();
    drop(parent);
    enqueued
}

/// The process's peak resident set (VmHWM), in KiB, on Linux.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
