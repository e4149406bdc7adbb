//! Logging to the active run: the free functions users call inside an annotated function
//! or under a run guard.

use std::fmt::Display;

use crate::base::error::{Error, Result};
use crate::runs::stack;
use crate::runs::{MetricBuilder, RunHandle};

/// A handle to the innermost active run of this thread (or task), if any: Python's
/// `mlflow.active_run()`, as a [`RunHandle`] to log to, to read the id from, or to hand to
/// another thread ([`RunHandle::enter`]) or task ([`RunHandle::scope`]).
pub fn active_run() -> Option<RunHandle> {
    stack::current()
}

/// The same as [`active_run`], under the name this crate used first.
#[deprecated(
    since = "0.2.0",
    note = "the same function as `active_run`, Python's name: use `active_run`"
)]
#[doc(hidden)]
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

/// Logs several metric points at `step` (one timestamp) on the active run: Python's
/// `log_metrics(metrics, step=step)`.
pub fn log_metrics_with_step<K: AsRef<str>>(
    metrics: impl IntoIterator<Item = (K, f64)>,
    step: i64,
) -> Result<()> {
    with_active(|r| r.log_metrics_with_step(metrics, step))
}

/// A metric point for the active run (resolved when it is logged), to configure and log:
/// `mlflow::metric("loss", 0.1).step(3).timestamp(ms).log()`; Python's `log_metric` with
/// `step=` and `timestamp=`. See [`MetricBuilder`].
pub fn metric(key: &str, value: f64) -> MetricBuilder {
    MetricBuilder::new(None, key, value)
}

/// Sets a tag on the active run; see [`RunHandle::set_tag`].
pub fn set_tag(key: &str, value: impl Display) -> Result<()> {
    with_active(|r| r.set_tag(key, value))
}

/// Sets several tags on the active run.
pub fn set_tags<K: AsRef<str>, V: Display>(tags: impl IntoIterator<Item = (K, V)>) -> Result<()> {
    with_active(|r| r.set_tags(tags))
}
