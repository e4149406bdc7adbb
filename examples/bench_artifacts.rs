//! One artifact transfer measured, for `bench/programs/artifacts.py` (never part of the
//! tests): uploads the file given, downloads it back, and meanwhile logs a metric every
//! 20 ms from another thread and waits for each to be stored (`flush`), to measure how long
//! metrics wait while a large file moves. Prints one JSON line: upload and download
//! seconds, the metric delivery latencies (median, p99, max, count) during the upload and
//! (median, p99) with nothing moving, and the process's peak RSS.
//!
//! ```text
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --release --features s3 \
//!     --example bench_artifacts -- /tmp/big.bin /tmp/download-dir
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() -> Result<(), mlflow::Error> {
    let args: Vec<String> = std::env::args().collect();
    let (file, dest) = match args.as_slice() {
        [_, file, dest] => (file.clone(), dest.clone()),
        _ => {
            eprintln!("usage: bench_artifacts FILE DOWNLOAD_DIR");
            std::process::exit(2);
        }
    };
    mlflow::set_experiment("bench-artifacts")?;
    let run = mlflow::start_run().name("transfer").start();
    let run_id = run.id()?;
    let handle = run.handle();
    // Warm up: the run exists and a metric has been stored before the clock starts.
    handle.log_metric("warmup", 0.0)?;
    mlflow::flush()?;

    // The same wait with nothing moving, to read the figures during the transfer against.
    let mut idle = Vec::new();
    for step in 0..50 {
        let sent = Instant::now();
        handle.log_metric_with_step("idle", f64::from(step), i64::from(step))?;
        mlflow::flush()?;
        idle.push(sent.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(20));
    }
    idle.sort_by(f64::total_cmp);

    let moving = Arc::new(AtomicBool::new(true));
    let metrics = {
        let (moving, handle) = (moving.clone(), handle.clone());
        std::thread::spawn(move || {
            let mut waits = Vec::new();
            let mut step = 0;
            while moving.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let _ = handle.log_metric_with_step("during_upload", step as f64, step);
                let _ = mlflow::flush();
                waits.push(sent.elapsed().as_secs_f64() * 1000.0);
                step += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            waits
        })
    };
    let started = Instant::now();
    handle.log_artifact(&file)?;
    let upload = started.elapsed().as_secs_f64();
    moving.store(false, Ordering::Relaxed);
    let mut waits = metrics.join().unwrap_or_default();
    waits.sort_by(f64::total_cmp);

    let name = std::path::Path::new(&file)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .to_owned();
    let started = Instant::now();
    let local = mlflow::download_artifacts(&run_id, &name, &dest)?;
    let download = started.elapsed().as_secs_f64();
    let same_size = std::fs::metadata(&local).map(|m| m.len()).unwrap_or(0)
        == std::fs::metadata(&file).map(|m| m.len()).unwrap_or(1);
    drop(run);
    mlflow::flush()?;
    println!(
        "{{\"upload_s\": {upload:.3}, \"download_s\": {download:.3}, \"same_size\": {same_size}, \"metric_wait_ms\": {{\"p50\": {:.1}, \"p99\": {:.1}, \"max\": {:.1}, \"n\": {}}}, \"idle_wait_ms\": {{\"p50\": {:.1}, \"p99\": {:.1}}}, \"peak_rss_mb\": {:.1}}}",
        quantile(&waits, 0.5),
        quantile(&waits, 0.99),
        waits.last().copied().unwrap_or(0.0),
        waits.len(),
        quantile(&idle, 0.5),
        quantile(&idle, 0.99),
        peak_rss_mb()
    );
    Ok(())
}
