//! Ctrl-C and SIGTERM: end the open runs KILLED, store what was logged (for a bounded
//! time), then let the signal do what it would have done. Opt-in through
//! [`install_signal_handlers`], since a library should not take signals over by itself.

use std::sync::Mutex;
use std::time::Duration;

use super::cell::RunHandle;
use super::live;
use crate::base::env;
use crate::base::error::{Error, Result, report};
use crate::base::model::RunStatus;
use crate::base::sync::lock;
use crate::tracker;

/// Environment variable bounding the flush after a signal, in seconds (default 10).
pub(crate) const SIGNAL_FLUSH_TIMEOUT_ENV: &str = env::SIGNAL_FLUSH_TIMEOUT;

const DEFAULT_SIGNAL_FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs handlers for SIGINT (Ctrl-C) and SIGTERM. On either signal, every run still
/// open is ended KILLED (children before parents), everything logged is stored, waiting
/// at most `MLFLOW_RS_SIGNAL_FLUSH_TIMEOUT` seconds (default 10), and then the signal is
/// raised again with its default disposition, so the process ends as it would have
/// without the handlers (killed by the signal, exit status 130 or 143 in a shell).
///
/// Without this call, a signal ends the process at once and the open runs stay RUNNING
/// with what was still queued lost. The Python client marks a run interrupted by Ctrl-C
/// FAILED (the `KeyboardInterrupt` leaves its `with` block as an exception); this crate
/// uses KILLED, MLflow's status for runs that were stopped.
///
/// Call it once, early in `main`; later calls do nothing. Fails when the handlers cannot
/// be registered.
pub fn install_signal_handlers() -> Result<()> {
    static INSTALLED: Mutex<bool> = Mutex::new(false);
    let mut installed = lock(&INSTALLED);
    if *installed {
        return Ok(());
    }
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| Error::Internal(format!("cannot install signal handlers: {e}")))?;
    std::thread::Builder::new()
        .name("mlflow-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                on_signal(signal);
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the signal thread: {e}")))?;
    *installed = true;
    Ok(())
}

fn on_signal(signal: i32) {
    let timeout = env::nonempty(SIGNAL_FLUSH_TIMEOUT_ENV)
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_SIGNAL_FLUSH_TIMEOUT);
    for cell in live::live_runs() {
        RunHandle { cell }.end(RunStatus::Killed, None);
    }
    if let Err(e) = tracker::flush_all(timeout) {
        report(&e);
    }
    // Gone from the registry, the handlers no longer catch it: the default action ends
    // the process with this signal.
    if let Err(e) = signal_hook::low_level::emulate_default_handler(signal) {
        eprintln!("mlflow: cannot re-raise signal {signal}: {e}");
        std::process::exit(128 + signal);
    }
}
