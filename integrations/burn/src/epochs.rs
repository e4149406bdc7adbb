//! The epoch values the metric logger logged, shared with the checkpointers made from it:
//! burn saves a checkpoint on its own thread, and the logger may not have seen the end of
//! that epoch yet (burn hands metrics to its loggers on another thread), so a checkpointer
//! waits here until the epoch is complete.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How many completed epochs are kept for a checkpointer that has not asked for them yet
/// (burn's checkpointing strategy may skip epochs; nothing else ever removes them).
const KEPT_EPOCHS: usize = 16;

/// One epoch value as the logger logged it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) key: String,
    pub(crate) value: f64,
    /// Its timestamp (ms since the Unix epoch): logged again with the same one, the point
    /// is the same point of the run's history, now linked to a model.
    pub(crate) timestamp_ms: i64,
}

/// One epoch's values, as the logger logged them.
#[derive(Debug, Default)]
struct Epoch {
    values: Vec<Point>,
    complete: bool,
}

#[derive(Debug, Default)]
struct State {
    epochs: BTreeMap<usize, Epoch>,
    /// The logger is gone (training ended, or it was dropped unused): nothing more comes.
    closed: bool,
}

/// What waiting for an epoch found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EpochValues {
    /// Each epoch value logged for the epoch, in logging order.
    pub(crate) values: Vec<Point>,
    /// Whether the epoch was complete (its validation split ended, or a later epoch began)
    /// before the wait ended; `false` after a timeout or when the logger was dropped.
    pub(crate) complete: bool,
}

/// The board shared by a logger (writer) and its checkpointers (readers).
#[derive(Debug, Clone, Default)]
pub(crate) struct EpochBoard {
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl EpochBoard {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: still usable.
        self.shared
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records an epoch value of `epoch`. A value of a later epoch also completes the
    /// earlier ones.
    pub(crate) fn record(&self, epoch: usize, point: Point) {
        let mut state = self.state();
        let mut newly_complete = false;
        for (_, earlier) in state.epochs.range_mut(..epoch) {
            newly_complete |= !earlier.complete;
            earlier.complete = true;
        }
        state.epochs.entry(epoch).or_default().values.push(point);
        prune(&mut state);
        drop(state);
        if newly_complete {
            self.shared.1.notify_all();
        }
    }

    /// Marks `epoch` complete: its last split (validation) ended.
    pub(crate) fn complete(&self, epoch: usize) {
        let mut state = self.state();
        state.epochs.entry(epoch).or_default().complete = true;
        prune(&mut state);
        drop(state);
        self.shared.1.notify_all();
    }

    /// No more values will come; waiting checkpointers stop waiting.
    pub(crate) fn close(&self) {
        self.state().closed = true;
        self.shared.1.notify_all();
    }

    /// Waits up to `timeout` for `epoch` to be complete, then takes its values (the epoch
    /// and the ones before it are forgotten).
    pub(crate) fn take(&self, epoch: usize, timeout: Duration) -> EpochValues {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        loop {
            let complete = state.epochs.get(&epoch).is_some_and(|e| e.complete)
                || state
                    .epochs
                    .range((Bound::Excluded(epoch), Bound::Unbounded))
                    .next()
                    .is_some();
            let now = Instant::now();
            if complete || state.closed || now >= deadline {
                let values = state
                    .epochs
                    .remove(&epoch)
                    .map(|e| e.values)
                    .unwrap_or_default();
                state.epochs.retain(|&e, _| e > epoch);
                return EpochValues { values, complete };
            }
            state = self
                .shared
                .1
                .wait_timeout(state, deadline - now)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }
}

/// Forgets the oldest completed epochs beyond [`KEPT_EPOCHS`].
fn prune(state: &mut State) {
    while state.epochs.len() > KEPT_EPOCHS {
        match state.epochs.first_key_value() {
            Some((&oldest, e)) if e.complete => {
                state.epochs.remove(&oldest);
            }
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    fn p(key: &str, value: f64) -> Point {
        Point {
            key: key.to_owned(),
            value,
            timestamp_ms: 1,
        }
    }

    #[test]
    fn a_completed_epoch_is_taken_at_once() {
        let board = EpochBoard::default();
        board.record(1, p("train/Loss", 0.5));
        board.record(1, p("valid/Loss", 0.6));
        board.complete(1);
        let found = board.take(1, LONG);
        assert!(found.complete);
        assert_eq!(found.values, [p("train/Loss", 0.5), p("valid/Loss", 0.6)]);
        // Taken: a second look finds nothing.
        assert!(board.take(1, Duration::ZERO).values.is_empty());
    }

    #[test]
    fn a_checkpointer_waits_for_the_logger() {
        let board = EpochBoard::default();
        board.record(2, p("train/Loss", 0.4));
        let writer = board.clone();
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            writer.record(2, p("valid/Loss", 0.3));
            writer.complete(2);
        });
        let found = board.take(2, LONG);
        late.join().unwrap();
        assert!(found.complete);
        assert_eq!(found.values.len(), 2, "{found:?}");
    }

    #[test]
    fn a_later_epoch_completes_the_earlier_one() {
        let board = EpochBoard::default();
        board.record(1, p("train/Loss", 0.5));
        board.record(2, p("train/Loss", 0.4));
        let found = board.take(1, LONG);
        assert!(found.complete);
        assert_eq!(found.values, [p("train/Loss", 0.5)]);
    }

    #[test]
    fn waiting_ends_on_timeout_or_when_the_logger_is_gone() {
        let board = EpochBoard::default();
        board.record(1, p("train/Loss", 0.5));
        let found = board.take(1, Duration::from_millis(20));
        assert!(!found.complete);
        assert_eq!(found.values, [p("train/Loss", 0.5)]);

        let closer = board.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            closer.close();
        });
        let started = Instant::now();
        let found = board.take(5, LONG);
        t.join().unwrap();
        assert!(!found.complete);
        assert!(started.elapsed() < LONG);
    }

    #[test]
    fn epochs_no_checkpointer_asked_for_are_forgotten() {
        let board = EpochBoard::default();
        for epoch in 1..=100 {
            board.record(epoch, p("train/Loss", epoch as f64));
            board.complete(epoch);
        }
        assert!(board.state().epochs.len() <= KEPT_EPOCHS);
        assert_eq!(board.take(100, LONG).values.len(), 1);
    }
}
