//! Replays spill files (written when tracking data could not be delivered during an
//! outage) into the tracking server of `MLFLOW_TRACKING_URI`:
//!
//! ```text
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 cargo run --example replay -- mlflow-spill/*.jsonl
//! ```
//!
//! Delivered lines are removed from each file (and the file once empty); lines still
//! undeliverable stay, so running it again is safe.

use std::process::ExitCode;

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: replay <spill file>...");
        return ExitCode::from(2);
    }
    let mut ok = true;
    for path in &paths {
        match mlflow::replay_spill(path) {
            Ok(report) => {
                println!(
                    "{path}: {} delivered, {} refused, {} left for later",
                    report.delivered,
                    report.refused.len(),
                    report.remaining
                );
                for e in &report.refused {
                    eprintln!("  {e}");
                }
                ok &= report.refused.is_empty() && report.remaining == 0;
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
