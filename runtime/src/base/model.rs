//! Plain data types shared by every store: experiments, runs, and what is logged to them.

use std::collections::BTreeMap;
use std::fmt;

use crate::base::datasets::RunInputs;
use crate::base::logged_models::RunOutputs;

/// One point of a metric's history.
///
/// New fields may be added (it is `#[non_exhaustive]`): build one with [`Metric::new`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Metric {
    /// Metric key, validated like MLflow's server does.
    pub key: String,
    /// The value; NaN and infinities are allowed and encoded as MLflow expects.
    pub value: f64,
    /// Milliseconds since the Unix epoch, taken when the value was logged.
    pub timestamp: i64,
    /// Training step; 0 unless given.
    pub step: i64,
    /// The logged model the point is linked to (Python's `model_id=`): it shows on the
    /// model and orders `search_logged_models`.
    pub model_id: Option<String>,
    /// The name of the dataset the point was measured on (Python's `dataset=`).
    pub dataset_name: Option<String>,
    /// The digest of that dataset.
    pub dataset_digest: Option<String>,
}

impl Metric {
    /// A point of metric `key` at `step`, logged at `timestamp` (milliseconds since the Unix
    /// epoch).
    pub fn new(key: impl Into<String>, value: f64, timestamp: i64, step: i64) -> Metric {
        Metric {
            key: key.into(),
            value,
            timestamp,
            step,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        }
    }
}

/// A run parameter: write-once per run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Param key.
    pub key: String,
    /// Param value, as text (the logging calls write floats and bools as Python does).
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
///
/// New fields may be added (it is `#[non_exhaustive]`): build one with [`Experiment::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Experiment {
    /// Experiment id ("0" is the Default experiment).
    pub experiment_id: String,
    /// Unique experiment name.
    pub name: String,
    /// Where runs of this experiment put their artifacts.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// The experiment's tags, by key.
    pub tags: BTreeMap<String, String>,
    /// When it was created, milliseconds since the Unix epoch (`None` when the store does not
    /// say, as for experiments of old MLflow versions).
    pub creation_time: Option<i64>,
    /// When it was last created, renamed, deleted or restored, milliseconds since the Unix
    /// epoch (setting a tag does not count, as in MLflow).
    pub last_update_time: Option<i64>,
}

impl Experiment {
    /// The active experiment `experiment_id` named `name`, with no artifact location, no
    /// tags and no times.
    pub fn new(experiment_id: impl Into<String>, name: impl Into<String>) -> Experiment {
        Experiment {
            experiment_id: experiment_id.into(),
            name: name.into(),
            artifact_location: String::new(),
            lifecycle_stage: "active".into(),
            tags: BTreeMap::new(),
            creation_time: None,
            last_update_time: None,
        }
    }

    /// The value of tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    /// True unless the experiment is deleted.
    pub fn is_active(&self) -> bool {
        self.lifecycle_stage == "active"
    }
}

/// What a store needs to create an experiment: `experiments/create`'s fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NewExperiment {
    /// The unique name.
    pub name: String,
    /// Where its runs put their artifacts; `None` lets the store choose (the server's
    /// artifact root, or `<artifact root>/<id>` in the embedded store).
    pub artifact_location: Option<String>,
    /// Tags set at creation.
    pub tags: BTreeMap<String, String>,
}

impl NewExperiment {
    /// An experiment called `name`, with the store's artifact location and no tags.
    pub fn named(name: impl Into<String>) -> NewExperiment {
        NewExperiment {
            name: name.into(),
            ..NewExperiment::default()
        }
    }
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

/// A change to a run's info, as `runs/update` makes it: what is `None` stays as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunUpdate {
    /// The new status.
    pub status: Option<RunStatus>,
    /// The end time, milliseconds since the Unix epoch.
    pub end_time: Option<i64>,
    /// The new name (the `mlflow.runName` tag follows it).
    pub run_name: Option<String>,
}

impl RunUpdate {
    /// A run ending with `status` at `end_time`.
    pub fn ended(status: RunStatus, end_time: i64) -> RunUpdate {
        RunUpdate {
            status: Some(status),
            end_time: Some(end_time),
            run_name: None,
        }
    }

    /// The status only.
    pub fn status(status: RunStatus) -> RunUpdate {
        RunUpdate {
            status: Some(status),
            ..RunUpdate::default()
        }
    }

    /// The name only.
    pub fn renamed(run_name: impl Into<String>) -> RunUpdate {
        RunUpdate {
            run_name: Some(run_name.into()),
            ..RunUpdate::default()
        }
    }

    /// This update, with the status `status` too.
    pub fn with_status(mut self, status: RunStatus) -> RunUpdate {
        self.status = Some(status);
        self
    }

    /// This update, renaming the run to `run_name` too.
    pub fn with_name(mut self, run_name: impl Into<String>) -> RunUpdate {
        self.run_name = Some(run_name.into());
        self
    }

    /// This update, with the end time `end_time` (milliseconds since the Unix epoch) too.
    pub fn with_end_time(mut self, end_time: i64) -> RunUpdate {
        self.end_time = Some(end_time);
        self
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.status.is_none() && self.end_time.is_none() && self.run_name.is_none()
    }
}

/// Run metadata as a store reports it.
///
/// New fields may be added (it is `#[non_exhaustive]`): build one with [`RunInfo::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

impl RunInfo {
    /// An active, RUNNING run `run_id` of experiment `experiment_id`, started at
    /// `start_time`; its name, user and artifact URI empty.
    pub fn new(
        run_id: impl Into<String>,
        experiment_id: impl Into<String>,
        start_time: i64,
    ) -> RunInfo {
        RunInfo {
            run_id: run_id.into(),
            experiment_id: experiment_id.into(),
            run_name: String::new(),
            user_id: String::new(),
            status: RunStatus::Running,
            start_time,
            end_time: None,
            artifact_uri: String::new(),
            lifecycle_stage: "active".into(),
        }
    }
}

/// A run with its data: latest metric values, params and tags, its inputs and outputs.
///
/// New fields may be added (it is `#[non_exhaustive]`): build one with [`Run::new`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Latest value of each metric.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<RunTag>,
    /// What the run used: its datasets (Python's `run.inputs`).
    pub inputs: RunInputs,
    /// What the run made: its logged models (Python's `run.outputs`).
    pub outputs: RunOutputs,
}

/// The tag MLflow nests runs by.
pub const PARENT_RUN_ID_TAG: &str = "mlflow.parentRunId";

/// The tag holding a run's description (the UI's "Description").
pub const NOTE_TAG: &str = "mlflow.note.content";

impl Run {
    /// The run `info` with no metrics, params or tags yet.
    pub fn new(info: RunInfo) -> Run {
        Run {
            info,
            metrics: Vec::new(),
            params: Vec::new(),
            tags: Vec::new(),
            inputs: RunInputs::default(),
            outputs: RunOutputs::default(),
        }
    }

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
