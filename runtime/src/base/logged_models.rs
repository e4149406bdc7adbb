//! Logged models (MLflow 3's `LoggedModel`): a model as an entity of its own, with its
//! status, params, tags and metrics; what creating one asks for; a run's outputs; and a
//! search for them.

use std::collections::BTreeMap;
use std::fmt;

use crate::base::model::Metric;

/// Where a logged model is in its life, as MLflow names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LoggedModelStatus {
    /// Created; its files are being stored.
    Pending,
    /// Its files are stored: it can be loaded.
    Ready,
    /// Its files could not be stored.
    Failed,
}

impl LoggedModelStatus {
    /// The name on the REST API (`LOGGED_MODEL_READY`, ..).
    pub fn as_proto(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::Failed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }

    /// Python's name (`READY`, ..), which MLflow's searches compare `status` with.
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "PENDING",
            LoggedModelStatus::Ready => "READY",
            LoggedModelStatus::Failed => "FAILED",
        }
    }

    /// The number in MLflow's `logged_models.status` column.
    pub fn to_int(self) -> i64 {
        match self {
            LoggedModelStatus::Pending => 1,
            LoggedModelStatus::Ready => 2,
            LoggedModelStatus::Failed => 3,
        }
    }

    /// The status of a `logged_models.status` value; `None` for 0 (unspecified) and unknown
    /// numbers.
    pub fn from_int(n: i64) -> Option<LoggedModelStatus> {
        Some(match n {
            1 => LoggedModelStatus::Pending,
            2 => LoggedModelStatus::Ready,
            3 => LoggedModelStatus::Failed,
            _ => return None,
        })
    }

    /// The status of a REST name or a Python name.
    pub fn parse(s: &str) -> Option<LoggedModelStatus> {
        Some(match s {
            "LOGGED_MODEL_PENDING" | "PENDING" => LoggedModelStatus::Pending,
            "LOGGED_MODEL_READY" | "READY" => LoggedModelStatus::Ready,
            "LOGGED_MODEL_UPLOAD_FAILED" | "FAILED" => LoggedModelStatus::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for LoggedModelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A logged model as a store reports it (Python's `mlflow.entities.LoggedModel`).
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoggedModel {
    /// Its id, `m-` and 32 hex characters on MLflow's own stores.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (the artifact name given to `log_model`).
    pub name: String,
    /// The root URI of its files.
    pub artifact_location: String,
    /// Milliseconds since the Unix epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the Unix epoch.
    pub last_updated_timestamp: i64,
    /// Its status.
    pub status: LoggedModelStatus,
    /// Why it failed, when a store keeps it.
    pub status_message: Option<String>,
    /// A user-defined kind, such as `"classifier"`.
    pub model_type: Option<String>,
    /// The run that made it.
    pub source_run_id: Option<String>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its params.
    pub params: BTreeMap<String, String>,
    /// Metric points linked to it (`mlflow::metric(..).model(&m)`).
    pub metrics: Vec<Metric>,
}

impl LoggedModel {
    /// Its id (`m-…`).
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Its URI, `models:/<model_id>`, which Python's `mlflow.<flavor>.load_model`,
    /// `mlflow.models.Model.load` and `mlflow.register_model` take.
    pub fn uri(&self) -> String {
        format!("models:/{}", self.model_id)
    }

    /// The value of tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// The value of param `key`, if set.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// The value of metric `key` logged last (the greatest step, then timestamp), if any.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.metrics
            .iter()
            .filter(|m| m.key == key)
            .max_by_key(|m| (m.step, m.timestamp))
            .map(|m| m.value)
    }
}

/// What creating a logged model asks a store for (`logged-models` create).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NewLoggedModel {
    /// The experiment it goes in.
    pub experiment_id: String,
    /// Its name; a store makes one up for an empty name.
    pub name: String,
    /// The run that made it.
    pub source_run_id: Option<String>,
    /// A user-defined kind.
    pub model_type: Option<String>,
    /// Its params, in order.
    pub params: Vec<(String, String)>,
    /// Its tags, in order.
    pub tags: Vec<(String, String)>,
}

impl NewLoggedModel {
    /// A model called `name` in experiment `experiment_id`, with nothing else yet.
    pub fn new(experiment_id: impl Into<String>, name: impl Into<String>) -> NewLoggedModel {
        NewLoggedModel {
            experiment_id: experiment_id.into(),
            name: name.into(),
            ..NewLoggedModel::default()
        }
    }
}

/// A model a run made (Python's `LoggedModelOutput`), at the run's step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggedModelOutput {
    /// The model's id.
    pub model_id: String,
    /// The run's step when the model was logged (0 unless given).
    pub step: i64,
}

impl LoggedModelOutput {
    /// The model `model_id`, made at `step`.
    pub fn new(model_id: impl Into<String>, step: i64) -> LoggedModelOutput {
        LoggedModelOutput {
            model_id: model_id.into(),
            step,
        }
    }
}

/// What a run made (Python's `run.outputs`): its logged models.
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunOutputs {
    /// The models the run logged, in order (Python's `run.outputs.model_outputs`).
    pub model_outputs: Vec<LoggedModelOutput>,
}

/// One `logged-models/search` request, as a store receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SearchLoggedModelsRequest {
    /// Experiments to search (ids).
    pub experiment_ids: Vec<String>,
    /// A filter in MLflow's grammar (`metrics.acc > 0.9 AND params.lr = '0.1'`); empty for
    /// none.
    pub filter: String,
    /// Page size.
    pub max_results: u32,
    /// `order_by` items such as `metrics.acc DESC` or `creation_timestamp ASC`.
    pub order_by: Vec<String>,
    /// The token of the page to read; `None` for the first.
    pub page_token: Option<String>,
}

impl SearchLoggedModelsRequest {
    /// The first page of up to `max_results` models of `experiment_ids`, unfiltered, in
    /// MLflow's default order (newest first).
    pub fn new(experiment_ids: Vec<String>, max_results: u32) -> SearchLoggedModelsRequest {
        SearchLoggedModelsRequest {
            experiment_ids,
            filter: String::new(),
            max_results,
            order_by: Vec::new(),
            page_token: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_mlflows_names_and_numbers() {
        for s in [
            LoggedModelStatus::Pending,
            LoggedModelStatus::Ready,
            LoggedModelStatus::Failed,
        ] {
            assert_eq!(LoggedModelStatus::from_int(s.to_int()), Some(s));
            assert_eq!(LoggedModelStatus::parse(s.as_proto()), Some(s));
            assert_eq!(LoggedModelStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(LoggedModelStatus::from_int(0), None);
    }
}
