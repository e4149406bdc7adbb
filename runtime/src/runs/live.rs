//! The registry of live runs (started, not ended), for ending them all on a signal.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::cell::RunCell;
use crate::base::sync::lock;

/// Runs started and not ended, in start order.
static LIVE: Mutex<Vec<(u64, Weak<RunCell>)>> = Mutex::new(Vec::new());
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Records a run that has just started.
pub(crate) fn register(cell: &Arc<RunCell>) {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut live = lock(&LIVE);
    live.push((seq, Arc::downgrade(cell)));
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
