//! Floor 2, the stores: the one interface every backend implements, and its two backends,
//! each behind the Cargo feature of its name (`rest`, `sqlite`; both on by default). The
//! in-memory store of the tests is built for them and with the `testing` feature.

use async_trait::async_trait;

use crate::base::datasets::DatasetInput;
use crate::base::error::Error;
use crate::base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel, SearchLoggedModelsRequest,
};
use crate::base::model::{
    Batch, CreateRun, Experiment, Metric, NewExperiment, Run, RunInfo, RunUpdate,
};
use crate::base::search::{FileInfo, Page, SearchExperimentsRequest, SearchRunsRequest};
use registry::RegistryStore;

pub(crate) mod artifact_roots;
pub(crate) mod common;
#[cfg(test)]
mod conformance;
pub(crate) mod local_artifacts;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod memory;
pub mod registry;
#[cfg(feature = "rest")]
pub mod rest;
#[cfg(feature = "s3")]
pub(crate) mod s3;
#[cfg(feature = "sqlite")]
pub mod sqlite;

/// What the crate needs from a tracking backend. Implemented by the REST store (any MLflow
/// tracking server) and the embedded SQLite store (MLflow's own schema).
///
/// Every method runs on the crate's background runtime, never on a user's thread.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Looks an experiment up by name; `Ok(None)` when there is none.
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, Error>;

    /// Looks an experiment up by id; `Ok(None)` when there is none.
    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>, Error>;

    /// Creates an experiment called `name`, with the store's artifact location and no tags,
    /// and returns its id; see [`Store::create_experiment_with`].
    async fn create_experiment(&self, name: &str) -> Result<String, Error> {
        self.create_experiment_with(&NewExperiment::named(name))
            .await
    }

    /// Creates an experiment with its artifact location and tags, and returns its id
    /// (`experiments/create`). A name that exists already (deleted experiments included)
    /// gives [`Error::Api`] with code `RESOURCE_ALREADY_EXISTS`; an empty name, a bad tag
    /// key or a too long value `INVALID_PARAMETER_VALUE`.
    async fn create_experiment_with(&self, experiment: &NewExperiment) -> Result<String, Error>;

    /// Marks an active experiment deleted, and every run of it (`experiments/delete`):
    /// `lifecycle_stage` `deleted`, `last_update_time` and the runs' `deleted_time` now. An
    /// experiment that does not exist or is deleted already is `RESOURCE_DOES_NOT_EXIST`.
    async fn delete_experiment(&self, experiment_id: &str) -> Result<(), Error>;

    /// Makes a deleted experiment active again, and every run of it
    /// (`experiments/restore`); one that is not deleted is `RESOURCE_DOES_NOT_EXIST`.
    async fn restore_experiment(&self, experiment_id: &str) -> Result<(), Error>;

    /// Renames an active experiment (`experiments/update`). A deleted one is `INVALID_STATE`;
    /// a name another experiment has is refused by the database (MLflow's SQL stores say
    /// `BAD_REQUEST`).
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<(), Error>;

    /// Sets a tag on an active experiment, overwriting its value
    /// (`experiments/set-experiment-tag`).
    async fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), Error>;

    /// Deletes a tag of an active experiment (`experiments/delete-experiment-tag`, MLflow
    /// 3.x); a tag that is not there is `RESOURCE_DOES_NOT_EXIST`.
    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<(), Error>;

    /// Creates a run with status RUNNING.
    async fn create_run(&self, request: &CreateRun) -> Result<RunInfo, Error>;

    /// Changes a run's status, end time or name, as far as `update` says; a deleted run is
    /// `INVALID_PARAMETER_VALUE`, as MLflow refuses it.
    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<(), Error>;

    /// Marks a run deleted (`runs/delete`): `lifecycle_stage` `deleted` and `deleted_time`
    /// now, also when it is deleted already. An unknown run is `RESOURCE_DOES_NOT_EXIST`.
    async fn delete_run(&self, run_id: &str) -> Result<(), Error>;

    /// Makes a run active again (`runs/restore`), also one that is not deleted.
    async fn restore_run(&self, run_id: &str) -> Result<(), Error>;

    /// Deletes a tag of an active run (`runs/delete-tag`); a tag that is not there is
    /// `RESOURCE_DOES_NOT_EXIST`, a deleted run `INVALID_PARAMETER_VALUE`.
    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), Error>;

    /// Stores a batch that already respects the backend's limits (see [`Store::limits`]).
    /// Params are write-once: a different value for an existing key is
    /// `INVALID_PARAMETER_VALUE`. Tags overwrite. Metrics append.
    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<(), Error>;

    /// Records datasets as inputs of an active run (`runs/log-inputs`), as MLflow's stores
    /// do: a dataset is kept once per experiment by (name, digest), and used once per run
    /// (logging it again adds nothing, its first tags stay). The inputs are checked already
    /// (`base::datasets::validate`).
    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<(), Error>;

    /// Creates a logged model (MLflow 3's `logged-models` create), PENDING, with its params
    /// and tags; the store picks its id (`m-<32 hex>`) and its artifact location (the
    /// experiment's, then `models/<id>/artifacts`). A store without logged models (MLflow
    /// 2.x over REST, the memory store) answers an error naming the missing feature.
    async fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel, Error> {
        let _ = model;
        Err(no_logged_models(&self.location()))
    }

    /// Sets a logged model's status (READY once its files are stored, FAILED when they
    /// could not be) and returns the model.
    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, Error> {
        let _ = (model_id, status);
        Err(no_logged_models(&self.location()))
    }

    /// Reads a logged model back with its params, tags and metrics; an unknown id is
    /// `RESOURCE_DOES_NOT_EXIST`.
    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, Error> {
        let _ = model_id;
        Err(no_logged_models(&self.location()))
    }

    /// Records models as outputs of an active run (`runs/outputs`).
    async fn log_outputs(&self, run_id: &str, models: &[LoggedModelOutput]) -> Result<(), Error> {
        let _ = (run_id, models);
        Err(no_logged_models(&self.location()))
    }

    /// One page of a logged model search, in MLflow's grammar and order.
    async fn search_logged_models(
        &self,
        request: &SearchLoggedModelsRequest,
    ) -> Result<Page<LoggedModel>, Error> {
        let _ = request;
        Err(no_logged_models(&self.location()))
    }

    /// Sets tags of a logged model (`logged-models/<id>/tags`), overwriting their values.
    async fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), Error> {
        let _ = (model_id, tags);
        Err(no_logged_models(&self.location()))
    }

    /// The model registry this store keeps, if it keeps one (see [`RegistryStore`]).
    fn registry(&self) -> Option<&dyn RegistryStore> {
        None
    }

    /// Reads a run back with its latest metrics, params and tags, its inputs and outputs.
    async fn get_run(&self, run_id: &str) -> Result<Run, Error>;

    /// One page of a run search, in MLflow's grammar and order.
    async fn search_runs(&self, request: &SearchRunsRequest) -> Result<Page<Run>, Error>;

    /// One page of an experiment search.
    async fn search_experiments(
        &self,
        request: &SearchExperimentsRequest,
    ) -> Result<Page<Experiment>, Error>;

    /// Every point of metric `key` of a run, in the store's order.
    async fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, Error>;

    /// Uploads the file `local` to `artifact_path` (a relative file path) under the run's
    /// artifact root `artifact_uri`. The default writes into local roots (`file://` or a
    /// plain absolute path) and object stores (`s3://`, with the `s3` feature).
    async fn log_artifact(
        &self,
        artifact_uri: &str,
        local: &std::path::Path,
        artifact_path: &str,
    ) -> Result<(), Error> {
        artifact_roots::log_artifact(artifact_uri, local, artifact_path).await
    }

    /// Lists the artifacts directly under `path` (relative; empty for the root).
    async fn list_artifacts(&self, artifact_uri: &str, path: &str) -> Result<Vec<FileInfo>, Error> {
        artifact_roots::list_artifacts(artifact_uri, path).await
    }

    /// Downloads the artifact file `path` to the local file `dest`.
    async fn download_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        dest: &std::path::Path,
    ) -> Result<(), Error> {
        artifact_roots::download_artifact(artifact_uri, path, dest).await
    }

    /// How large a single [`Store::log_batch`] call may be.
    fn limits(&self) -> BatchLimits {
        BatchLimits::MLFLOW_SERVER
    }

    /// How many metric-only [`Store::log_batch`] calls for one run may be under way at
    /// once. A tracking server handles requests in parallel (4 uvicorn workers by
    /// default), so keeping several batches in flight raises throughput; order between
    /// metric points does not matter to MLflow. Params and tags are always sent one batch
    /// at a time, in order.
    fn max_in_flight(&self) -> usize {
        1
    }

    /// How many requests of different runs (creates, batches, status updates) the sender
    /// may have under way at once; asked before each group of requests, so that a store may
    /// adapt it. The REST store reads `MLFLOW_RS_HTTP_CONCURRENCY` (default 4 for a server
    /// near by, 8 for one 20 ms of round trip away or farther); 1, the default, sends them
    /// one after another, as the embedded store wants (one connection: concurrency would
    /// bring nothing).
    fn max_concurrent(&self) -> usize {
        1
    }

    /// Whether the store takes client-chosen run ids ([`CreateRun::run_id`]).
    fn accepts_client_run_ids(&self) -> bool {
        false
    }

    /// A printable description of where data goes (credentials redacted).
    fn location(&self) -> String;

    /// The address of the store's web UI, for the links printed when a run ends; `None`
    /// for stores without one (the embedded store).
    fn ui_base(&self) -> Option<String> {
        None
    }

    /// One cheap request without retries: `Ok` when the store answers at all. The sender
    /// uses it to find out whether a store it saw go down is back.
    async fn ping(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The error of a store that keeps no logged models.
fn no_logged_models(location: &str) -> Error {
    Error::Config(format!(
        "the store {location} does not keep logged models (MLflow 3's LoggedModel)"
    ))
}

/// Size limits for one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Metrics per batch.
    pub metrics: usize,
    /// Params per batch.
    pub params: usize,
    /// Tags per batch.
    pub tags: usize,
    /// Metrics + params + tags per batch.
    pub entities: usize,
}

impl BatchLimits {
    /// The limits `mlflow server` enforces on `runs/log-batch`.
    pub const MLFLOW_SERVER: BatchLimits = BatchLimits {
        metrics: 1000,
        params: 100,
        tags: 100,
        entities: 1000,
    };
}
