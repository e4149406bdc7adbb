//! One metric point with everything MLflow records about it, configured by chaining: its
//! step and timestamp (later: the model and dataset it was measured for).

use super::cell::RunHandle;
use super::stack;
use crate::base::error::{Error, Result};
use crate::base::model::Metric;
use crate::base::time::now_ms;
use crate::base::validate;

/// A metric point to log, configured by chaining, then [`log`](MetricBuilder::log)ged: made by
/// [`metric`](crate::metric) (for the active run), [`RunHandle::metric`] and
/// [`Client::metric`](crate::Client::metric). Python's `log_metric(key, value, step=,
/// timestamp=)`.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// # let _run = mlflow::start_run().start();
/// mlflow::metric("val_loss", 0.25).step(3).log()?;
/// mlflow::metric("wall_clock", 12.5).timestamp(1_700_000_000_000).log()?;
/// # Ok::<(), mlflow::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a metric is logged by `.log()`"]
pub struct MetricBuilder {
    /// The run, or `None` for the active run when it is logged.
    run: Option<RunHandle>,
    key: String,
    value: f64,
    step: i64,
    timestamp: Option<i64>,
}

impl MetricBuilder {
    /// A point of `key` for `run` (the active run when `None`), at step 0, timestamped when
    /// logged.
    pub(crate) fn new(run: Option<RunHandle>, key: &str, value: f64) -> MetricBuilder {
        MetricBuilder {
            run,
            key: key.to_owned(),
            value,
            step: 0,
            timestamp: None,
        }
    }

    /// The training step (default 0).
    pub fn step(mut self, step: i64) -> Self {
        self.step = step;
        self
    }

    /// When the value was measured, in milliseconds since the Unix epoch (default: when it
    /// is logged). MLflow refuses negative timestamps.
    pub fn timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }

    /// Logs the point: checks it and queues it, as [`RunHandle::log_metric`] does.
    pub fn log(self) -> Result<()> {
        validate::key("metric", &self.key)?;
        let timestamp = self.timestamp.unwrap_or_else(now_ms);
        if timestamp < 0 {
            return Err(Error::InvalidValue {
                kind: "metric",
                key: self.key,
                reason: format!(
                    "timestamp {timestamp} is negative; MLflow takes milliseconds since the Unix epoch"
                ),
            });
        }
        let run = match self.run {
            Some(run) => run,
            None => stack::current().ok_or(Error::NoActiveRun)?,
        };
        run.send_metrics(vec![Metric::new(
            self.key, self.value, timestamp, self.step,
        )])
    }
}
