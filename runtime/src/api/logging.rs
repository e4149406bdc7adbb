//! Logging to the active run: the free functions users call inside an annotated function
//! or under a run guard.

use std::fmt::Display;

use crate::base::error::{Error, Result};
use crate::runs::RunHandle;
use crate::runs::stack;

/// The innermost active run of this thread (or task), if any.
pub fn active_run() -> Option<RunHandle> {
    stack::current()
}

/// A handle to the innermost active run, to hand to another thread ([`RunHandle::enter`])
/// or task ([`RunHandle::scope`]); the same as [`active_run`].
pub fn current_run() -> Option<RunHandle> {
    stack::current()
}

/// The id of the innermost active run, if any. Over REST this waits until the server has
/// created the run; `None` also when it could not be created (see [`flush`](crate::flush)).
pub fn active_run_id() -> Option<String> {
    active_run()?.id().ok()
}

fn with_active<T>(f: impl FnOnce(&RunHandle) -> Result<T>) -> Result<T> {
    match stack::current() {
        Some(run) => f(&run),
        None => Err(Error::NoActiveRun),
    }
}

/// Logs a param on the active run; see [`RunHandle::log_param`].
pub fn log_param(key: &str, value: impl Display) -> Result<()> {
    with_active(|r| r.log_param(key, value))
}

/// Logs several params on the active run.
pub fn log_params<K: AsRef<str>, V: Display>(
    params: impl IntoIterator<Item = (K, V)>,
) -> Result<()> {
    with_active(|r| r.log_params(params))
}

/// Logs a metric point (step 0) on the active run.
pub fn log_metric(key: &str, value: f64) -> Result<()> {
    with_active(|r| r.log_metric(key, value))
}

/// Logs a metric point at `step` on the active run.
pub fn log_metric_with_step(key: &str, value: f64, step: i64) -> Result<()> {
    with_active(|r| r.log_metric_with_step(key, value, step))
}

/// Logs several metric points (step 0, one timestamp) on the active run.
pub fn log_metrics<K: AsRef<str>>(metrics: impl IntoIterator<Item = (K, f64)>) -> Result<()> {
    with_active(|r| r.log_metrics(metrics))
}

/// Sets a tag on the active run.
pub fn set_tag(key: &str, value: impl Display) -> Result<()> {
    with_active(|r| r.set_tag(key, value))
}

/// Sets several tags on the active run.
pub fn set_tags<K: AsRef<str>, V: Display>(tags: impl IntoIterator<Item = (K, V)>) -> Result<()> {
    with_active(|r| r.set_tags(tags))
}
