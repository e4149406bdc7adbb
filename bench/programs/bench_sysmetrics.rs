//! The system metrics sampler's cost, for `./scripts/bench.sh --only sysmetrics`: one run that
//! lives SECONDS while the main thread sleeps, with system metrics on or off, logged to the
//! tracking URI in effect (the bench gives it a fresh `mlflow.db`). Prints one JSON line.
//!
//! ```text
//! bench_sysmetrics on|off SECONDS   # MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL sets the pace
//! ```
//!
//! Figures (Linux): the samples logged, the sampling thread's CPU time (its `schedstat`,
//! nanoseconds on the CPU, so sampling and logging, not the store's writes on the sender
//! thread), the whole process's CPU time (`getrusage`), and the peak RSS (`VmHWM`).

use std::time::Duration;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (on, seconds) = match args.as_slice() {
        [mode, secs] if matches!(mode.as_str(), "on" | "off") => match secs.parse::<f64>() {
            Ok(s) if s > 0.0 => (mode == "on", s),
            _ => usage(),
        },
        _ => usage(),
    };
    if let Err(e) = mlflow::set_experiment("bench-sysmetrics") {
        eprintln!("bench_sysmetrics: {e}");
        std::process::exit(1);
    }
    let run = mlflow::start_run()
        .name(if on { "on" } else { "off" })
        .log_system_metrics(on)
        .start();
    let id = run.id().unwrap_or_default();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    // Read before the run ends: the sampling thread is still there to be measured.
    let sampler_cpu_ns = thread_cpu_ns("mlflow-system-m");
    drop(run);
    if let Err(e) = mlflow::flush() {
        eprintln!("bench_sysmetrics: {e}");
        std::process::exit(1);
    }
    let samples = mlflow::get_metric_history(&id, "system/cpu_utilization_percentage")
        .map(|points| points.len())
        .unwrap_or(0);
    println!(
        "{{\"mode\":\"{}\",\"seconds\":{seconds},\"samples\":{samples},\"sampler_cpu_ns\":{},\"process_cpu_ms\":{:.3},\"peak_rss_kb\":{}}}",
        if on { "on" } else { "off" },
        sampler_cpu_ns.unwrap_or(0),
        process_cpu_ms(),
        peak_rss_kb().unwrap_or(0)
    );
}

fn usage() -> ! {
    eprintln!("usage: bench_sysmetrics on|off SECONDS");
    std::process::exit(2);
}

/// Nanoseconds on the CPU of this process's thread named `name` (as `comm` shows it,
/// at most 15 characters), from `/proc/self/task/*/schedstat`.
fn thread_cpu_ns(name: &str) -> Option<u64> {
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            return stat.split_whitespace().next()?.parse().ok();
        }
    }
    None
}

/// User plus system CPU time of the whole process, in milliseconds.
fn process_cpu_ms() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is writable memory of the right type, filled when the call returns 0.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return 0.0;
    }
    // SAFETY: `getrusage` returned 0, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
