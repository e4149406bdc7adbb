//! Per-call cost of `mlflow::log_metric` on the caller's thread: validation and enqueueing,
//! the part a training loop pays. Run by `./scripts/bench.sh` (or `cargo bench --bench
//! log_metric`); never part of the test suite.
//!
//! Destinations: the embedded SQLite store in a temp dir, always; a tracking server when
//! `MLFLOW_BENCH_REST_URI` names one (the bench script starts one). Each is measured from
//! one thread (time per call) and from 8 threads at once (`8-threads-x100`: time for each of
//! the 8 threads to make 100 calls, i.e. divide by 800 for the wall time per call).
//!
//! The queue holds `QUEUE_CAPACITY` commands; a sample that logged more than the store drains
//! in the meantime would measure the store, not the call. So calls are timed in bursts of at
//! most [`BURST`] and the queue is flushed, untimed, between bursts.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

/// Calls per timed burst, well below the queue's capacity.
const BURST: u64 = 20_000;
const THREADS: u64 = 8;

/// Times `iters` calls of `log_metric` on `run` from the current thread, flushing between
/// bursts outside the timed part.
fn timed_calls(run: &mlflow::RunHandle, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iters {
        let n = (iters - done).min(BURST);
        let t = run.enter(|| {
            let start = Instant::now();
            for i in 0..n {
                let _ = black_box(mlflow::log_metric("loss", black_box(i as f64)));
            }
            start.elapsed()
        });
        total += t;
        done += n;
        if done < iters {
            let _ = mlflow::flush();
        }
    }
    total
}

/// Calls each of the 8 threads makes per criterion iteration: one iteration is
/// `THREADS * PER_THREAD` calls, so the time per iteration divided by that is the cost of a
/// call with 8 threads logging at once (wall time, all cores).
const PER_THREAD: u64 = 100;

/// The 8 threads live for the whole sample; between bursts they wait on a barrier while this
/// thread flushes, so neither thread starts nor flushes are timed.
fn timed_calls_threads(run: &mlflow::RunHandle, iters: u64) -> Duration {
    let per_burst = (BURST / (THREADS * PER_THREAD)).max(1);
    let mut bursts = Vec::new();
    let mut left = iters;
    while left > 0 {
        let n = left.min(per_burst);
        bursts.push(n * PER_THREAD);
        left -= n;
    }
    let barrier = Barrier::new(THREADS as usize + 1);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let (barrier, bursts) = (&barrier, &bursts);
            s.spawn(move || {
                run.enter(|| {
                    for &calls in bursts {
                        barrier.wait();
                        for i in 0..calls {
                            let _ = black_box(mlflow::log_metric("loss", black_box(i as f64)));
                        }
                        barrier.wait();
                    }
                })
            });
        }
        let mut total = Duration::ZERO;
        for _ in &bursts {
            barrier.wait();
            let start = Instant::now();
            barrier.wait();
            total += start.elapsed();
            let _ = mlflow::flush();
        }
        total
    })
}

fn bench_destination(c: &mut Criterion, label: &str, uri: &str, quick: bool) {
    if let Err(e) = mlflow::set_tracking_uri(uri) {
        eprintln!("skipping {label}: {e}");
        return;
    }
    if let Err(e) = mlflow::set_experiment("bench-log-metric") {
        eprintln!("skipping {label}: {e}");
        return;
    }
    let guard = mlflow::start_run()
        .name(format!("log_metric-{label}"))
        .top_level()
        .start();
    let run = guard.handle();
    let mut group = c.benchmark_group(format!("log_metric/{label}"));
    // Over REST every sample's points are drained at the server's pace between bursts, so
    // keep the number of calls modest there.
    // Each timed millisecond is ~5,000 points the store must take in between bursts: at the
    // server's ~50,000 points/s, 100 ms of calls cost ~10 s of draining.
    let (warm, measure, samples) = match (label, quick) {
        ("rest", true) => (30, 50, 10),
        ("rest", false) => (50, 100, 10),
        (_, true) => (100, 150, 10),
        (_, false) => (200, 300, 20),
    };
    group
        .warm_up_time(Duration::from_millis(warm))
        .measurement_time(Duration::from_millis(measure))
        .sample_size(samples);
    group.bench_function("1-thread", |b| {
        b.iter_custom(|iters| timed_calls(&run, iters))
    });
    group.bench_function("8-threads-x100", |b| {
        b.iter_custom(|iters| timed_calls_threads(&run, iters))
    });
    group.finish();
    if let Err(e) = mlflow::flush() {
        eprintln!("{label}: {e}");
    }
    drop(guard);
}

fn benches(c: &mut Criterion) {
    let quick = std::env::var("MLFLOW_BENCH_QUICK").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite:///{}", dir.path().join("bench.db").display());
    bench_destination(c, "sqlite", &sqlite, quick);
    if let Ok(uri) = std::env::var("MLFLOW_BENCH_REST_URI") {
        bench_destination(c, "rest", &uri, quick);
    }
    let _ = mlflow::flush();
}

criterion_group!(log_metric, benches);
criterion_main!(log_metric);
