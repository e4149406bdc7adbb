//! Reporting logging failures that must not stop training: the first on stderr, every one
//! through `tracing`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts the failures of one logger or checkpointer and reports them.
#[derive(Debug)]
pub(crate) struct Reporter {
    /// What fails, for the messages: "the burn metric logger", "the burn checkpointer".
    what: &'static str,
    failures: AtomicUsize,
}

impl Reporter {
    pub(crate) fn new(what: &'static str) -> Self {
        Reporter {
            what,
            failures: AtomicUsize::new(0),
        }
    }

    /// Reports `error` of logging to the run named `run`: on stderr the first time (later
    /// ones are only traced), and as a `tracing` warning every time.
    pub(crate) fn report(&self, run: &str, error: &dyn std::fmt::Display) {
        if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
            eprintln!(
                "mlflow: {} could not log to run {run:?}: {error} (further failures are only traced)",
                self.what
            );
        }
        tracing::warn!(run, "{}: {error}", self.what);
    }
}
