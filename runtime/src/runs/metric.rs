//! One metric point with everything MLflow records about it, configured by chaining: its
//! step and timestamp, the logged model and the dataset it was measured for.

use super::cell::RunHandle;
use super::stack;
use crate::base::datasets::Dataset;
use crate::base::error::{Error, Result};
use crate::base::logged_models::LoggedModel;
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
/// // Linked to a logged model and measured on a dataset (Python's `model_id=`, `dataset=`):
/// let model = mlflow::log_model("net", "model.bin")?;
/// let eval = mlflow::Dataset::new("seeds-eval", "0badc0de", "local", "{}");
/// mlflow::metric("acc", 0.9).step(3).model(&model).dataset(&eval).log()?;
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
    model_id: Option<String>,
    dataset: Option<(String, String)>,
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
            model_id: None,
            dataset: None,
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

    /// Links the point to the logged model `model` (Python's `model_id=`): it is stored for
    /// the run as always, and also for the model, where the UI's Models tab shows it and
    /// [`search_logged_models`](crate::search_logged_models) filters and orders by it.
    pub fn model(mut self, model: &LoggedModel) -> Self {
        self.model_id = Some(model.model_id.clone());
        self
    }

    /// Links the point to the logged model with id `model_id`; see [`MetricBuilder::model`].
    pub fn model_id(mut self, model_id: impl Into<String>) -> Self {
        self.model_id = Some(model_id.into());
        self
    }

    /// Records the dataset the value was measured on (its name and digest; Python's
    /// `dataset=`), as MLflow keeps it with a point linked to a model.
    pub fn dataset(mut self, dataset: &Dataset) -> Self {
        self.dataset = Some((dataset.name.clone(), dataset.digest.clone()));
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
        let mut point = Metric::new(self.key, self.value, timestamp, self.step);
        point.model_id = self.model_id;
        (point.dataset_name, point.dataset_digest) = self.dataset.unzip();
        run.send_metrics(vec![point])
    }
}
