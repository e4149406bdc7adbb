//! Plain data types shared by every store: experiments, runs, and what is logged to them.

use std::fmt;

/// One point of a metric's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Metric key, validated like MLflow's server does.
    pub key: String,
    /// The value; NaN and infinities are allowed and encoded as MLflow expects.
    pub value: f64,
    /// Milliseconds since the Unix epoch, taken when the value was logged.
    pub timestamp: i64,
    /// Training step; 0 unless given.
    pub step: i64,
}

/// A run parameter: write-once per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Param key.
    pub key: String,
    /// Param value, already formatted with `Display`.
    pub value: String,
}

/// A run tag: last write wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTag {
    /// Tag key.
    pub key: String,
    /// Tag value.
    pub value: String,
}

/// Everything logged to one run in one go; maps onto one `runs/log-batch` request or one
/// SQLite transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Metric points, in logging order.
    pub metrics: Vec<Metric>,
    /// Params, in logging order.
    pub params: Vec<Param>,
    /// Tags, in logging order (a later tag with the same key wins).
    pub tags: Vec<RunTag>,
}

impl Batch {
    /// True when the batch carries nothing.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.params.is_empty() && self.tags.is_empty()
    }

    /// Number of entities (metrics + params + tags), the unit of MLflow's batch limits.
    pub fn len(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }

    /// Appends everything in `other`, keeping order.
    pub fn extend(&mut self, other: Batch) {
        self.metrics.extend(other.metrics);
        self.params.extend(other.params);
        self.tags.extend(other.tags);
    }
}

/// Lifecycle status of a run, as MLflow names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunStatus {
    /// The run is in progress.
    Running,
    /// The run is scheduled but not started.
    Scheduled,
    /// The run ended normally.
    Finished,
    /// The run ended with an error or a panic.
    Failed,
    /// The run was interrupted (for example by Ctrl-C).
    Killed,
}

impl RunStatus {
    /// The name MLflow uses on the wire and in its database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Parses MLflow's name for a status.
    pub fn parse(s: &str) -> Option<RunStatus> {
        Some(match s {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            _ => return None,
        })
    }

    /// True for FINISHED, FAILED and KILLED.
    pub fn is_terminated(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An MLflow experiment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experiment {
    /// Experiment id ("0" is the Default experiment).
    pub experiment_id: String,
    /// Unique experiment name.
    pub name: String,
    /// Where runs of this experiment put their artifacts.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// What a store needs to create a run.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateRun {
    /// Experiment the run belongs to.
    pub experiment_id: String,
    /// Run id chosen by the client. Stores that assign ids themselves (REST) ignore it;
    /// the embedded store uses it so that the id is known before the write lands.
    pub run_id: Option<String>,
    /// `mlflow.user`, also sent as the deprecated `user_id` field.
    pub user_id: String,
    /// Run name; always equal to the `mlflow.runName` tag in `tags`.
    pub run_name: String,
    /// Milliseconds since the Unix epoch.
    pub start_time: i64,
    /// Tags set at creation: system tags, `mlflow.runName`, `mlflow.parentRunId`, user tags.
    /// Keys are unique.
    pub tags: Vec<RunTag>,
}

/// Run metadata as a store reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The run's id (32 hex characters on MLflow's own stores).
    pub run_id: String,
    /// Experiment the run belongs to.
    pub experiment_id: String,
    /// Run name.
    pub run_name: String,
    /// User who started the run.
    pub user_id: String,
    /// Current status.
    pub status: RunStatus,
    /// Milliseconds since the Unix epoch.
    pub start_time: i64,
    /// Milliseconds since the Unix epoch, once the run ended.
    pub end_time: Option<i64>,
    /// Root URI of the run's artifacts.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// A run with its data: latest metric values, params and tags.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Latest value of each metric.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<RunTag>,
}

/// The tag MLflow nests runs by.
pub const PARENT_RUN_ID_TAG: &str = "mlflow.parentRunId";

/// The tag holding a run's description (the UI's "Description").
pub const NOTE_TAG: &str = "mlflow.note.content";

impl Run {
    /// The id of the run's parent (`mlflow.parentRunId`), for nested runs.
    pub fn parent_run_id(&self) -> Option<&str> {
        self.tag(PARENT_RUN_ID_TAG)
    }

    /// The value of tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// The value of param `key`, if logged.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.value.as_str())
    }

    /// The latest value of metric `key`, if logged.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.iter().find(|m| m.key == key).map(|m| m.value)
    }
}
