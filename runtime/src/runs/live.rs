//! The registry of live runs (started or resumed here, not ended), for ending them all on a
//! signal, and at exit.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};

use super::cell::{RunCell, RunHandle};
use crate::base::model::RunStatus;
use crate::base::sync::lock;

/// Runs started and not ended, in start order.
static LIVE: Mutex<Vec<(u64, Weak<RunCell>)>> = Mutex::new(Vec::new());
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Records a run that has just started (or been resumed).
pub(crate) fn register(cell: &Arc<RunCell>) {
    register_exit_hook();
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut live = lock(&LIVE);
    live.push((seq, Arc::downgrade(cell)));
}

/// At a normal exit (`main` returns, or `std::process::exit`, which skips destructors and so
/// the guards'), the runs still open end FINISHED, as the Python client's atexit hook ends
/// its active run. Registered on the first run, after the trackers' exit flush (the run's
/// tracker started first): `atexit` runs the last registered first, so the ends are queued
/// before that flush waits for everything queued. Runs started elsewhere (a coordinator's
/// parent, a run attached by id) are never in the registry, so never ended here.
fn register_exit_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `end_open_runs` is an `extern "C" fn()` that never unwinds.
        if unsafe { libc::atexit(end_open_runs) } != 0 {
            tracing::warn!("mlflow: could not register the exit hook that ends open runs");
        }
    });
}

extern "C" fn end_open_runs() {
    let _ = std::panic::catch_unwind(|| {
        for cell in live_runs() {
            RunHandle { cell }.end(RunStatus::Finished, None);
        }
    });
}

/// Forgets a run that has ended (and any run whose handles are all gone).
pub(crate) fn unregister(cell: &Arc<RunCell>) {
    let target = Arc::as_ptr(cell);
    lock(&LIVE).retain(|(_, w)| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), target));
}

/// The runs started and not ended, most recently started first (so children come before
/// their parents).
pub(crate) fn live_runs() -> Vec<Arc<RunCell>> {
    let live = lock(&LIVE);
    let mut runs: Vec<(u64, Arc<RunCell>)> = live
        .iter()
        .filter_map(|(seq, w)| w.upgrade().map(|c| (*seq, c)))
        .collect();
    runs.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    runs.into_iter().map(|(_, cell)| cell).collect()
}
