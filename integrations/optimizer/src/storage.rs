//! The `optimizer` crate's `Storage` for a study kept in MLflow: the crate's trial buffer
//! (which its samplers and pruners read), filled with this process's trials as they end
//! and with other writers' trials read back from the store ([`crate::reader`]).
//!
//! The trait cannot fail and gets no trial run, so the network work happens around it:
//! the study claims a number in MLflow before asking the crate for a trial, and hands it to
//! `next_trial_id` through a thread-local, so that the crate's trial id *is* the Optuna
//! number.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use optimizer::sampler::CompletedTrial;
use optimizer::storage::Storage;
use parking_lot::RwLock;

thread_local! {
    /// The number claimed for the trial this thread is about to ask for.
    static CLAIMED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Runs `ask` with `number` as the id the storage hands out on this thread.
pub(crate) fn with_number<T>(number: u64, ask: impl FnOnce() -> T) -> T {
    CLAIMED.with(|c| c.set(Some(number)));
    let value = ask();
    CLAIMED.with(|c| c.set(None));
    value
}

/// The trial buffer, shared by the storage the crate's `Study` owns and this crate's study.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    trials: Arc<RwLock<Vec<CompletedTrial<f64>>>>,
    /// Ids for trials asked without a claimed number (never by this crate's study): past
    /// every number seen.
    next: AtomicU64,
}

impl Buffer {
    /// True when the trial numbered `number` is in the buffer.
    pub(crate) fn contains(&self, number: u64) -> bool {
        self.trials.read().iter().any(|t| t.id == number)
    }

    /// Adds a trial, or replaces the one with its number.
    pub(crate) fn insert(&self, trial: CompletedTrial<f64>) {
        self.next.fetch_max(trial.id + 1, Ordering::SeqCst);
        let mut trials = self.trials.write();
        match trials.iter_mut().find(|t| t.id == trial.id) {
            Some(slot) => *slot = trial,
            None => trials.push(trial),
        }
    }

    /// A copy of every trial in the buffer.
    pub(crate) fn snapshot(&self) -> Vec<CompletedTrial<f64>> {
        self.trials.read().clone()
    }
}

/// The `Storage` handed to the `optimizer` crate's `Study`.
pub(crate) struct MlflowStorage(pub(crate) Arc<Buffer>);

impl Storage<f64> for MlflowStorage {
    fn push(&self, trial: CompletedTrial<f64>) {
        self.0.insert(trial);
    }

    fn trials_arc(&self) -> &Arc<RwLock<Vec<CompletedTrial<f64>>>> {
        &self.0.trials
    }

    fn next_trial_id(&self) -> u64 {
        match CLAIMED.with(Cell::take) {
            Some(number) => number,
            None => self.0.next.fetch_add(1, Ordering::SeqCst),
        }
    }

    fn peek_next_trial_id(&self) -> u64 {
        self.0.next.load(Ordering::SeqCst)
    }
}
