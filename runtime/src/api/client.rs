//! A client that works on runs and experiments by id, without the run stack: for runs
//! created elsewhere (another process, the Python client), reading runs back, and managing
//! runs and experiments. Its methods are thin delegations to the functions that do the work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::experiments::{self, CreateExperiment};
use super::logged_models::{self, LogModel};
use super::model_search::SearchLoggedModels;
use super::search::{self, SearchExperiments, SearchRuns, Target};
use super::tables::LoadTable;
use super::{artifacts, dicts, inputs, run_admin};
use crate::base::config::TrackingUri;
use crate::base::datasets::{Dataset, DatasetInput};
use crate::base::error::Result;
#[cfg(feature = "image")]
use crate::base::images::Image;
use crate::base::logged_models::LoggedModel;
use crate::base::model::{Batch, Experiment, Metric, Run, RunStatus, RunUpdate};
use crate::base::search::FileInfo;
use crate::base::sync::lock;
use crate::base::table::Table;
use crate::base::validate;
use crate::runs::{MetricBuilder, RunHandle};
use crate::tracker::{self, Tracker};

/// Logs to runs by id and reads them back. Logging is queued and sent in the background
/// like everything else; reads see everything queued before them.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let client = mlflow::Client::new();
/// client.log_metric("0123456789abcdef0123456789abcdef", "loss", 0.25, 3)?;
/// client.flush()?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub struct Client {
    tracker: Arc<Tracker>,
    /// The registry's destination given by [`Client::with_registry_uri`]; else the registry
    /// URI in effect decides.
    registry: Option<Arc<Tracker>>,
    runs: Mutex<HashMap<String, RunHandle>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("tracking_uri", &self.tracker.uri())
            .finish()
    }
}

impl Client {
    /// A client for the tracking URI in effect (see [`get_tracking_uri`](crate::get_tracking_uri)).
    pub fn new() -> Client {
        Client {
            tracker: tracker::current(),
            registry: None,
            runs: Mutex::new(HashMap::new()),
        }
    }

    /// A client for another tracking URI, independent of the one in effect.
    pub fn with_tracking_uri(uri: &str) -> Result<Client> {
        Ok(Client {
            tracker: tracker::for_uri(uri)?,
            registry: None,
            runs: Mutex::new(HashMap::new()),
        })
    }

    /// This client with its model registry at `uri` (Python's
    /// `MlflowClient(registry_uri=uri)`), whatever [`set_registry_uri`](crate::set_registry_uri)
    /// or `MLFLOW_REGISTRY_URI` say.
    pub fn with_registry_uri(mut self, uri: &str) -> Result<Client> {
        let same = TrackingUri::parse(uri)?.require_store()?.to_string() == self.tracker.uri();
        self.registry = Some(if same {
            self.tracker.clone()
        } else {
            tracker::for_uri(uri)?
        });
        Ok(self)
    }

    /// The client's tracking destination.
    pub(super) fn tracking(&self) -> &Arc<Tracker> {
        &self.tracker
    }

    /// The client's registry destination: its own, else the registry URI's in effect.
    pub(super) fn registry(&self) -> Result<Arc<Tracker>> {
        match &self.registry {
            Some(registry) => Ok(registry.clone()),
            None => tracker::registry_for(&self.tracker),
        }
    }

    /// A handle to the run with this id, for logging to it.
    pub fn run(&self, run_id: &str) -> RunHandle {
        lock(&self.runs)
            .entry(run_id.to_owned())
            .or_insert_with(|| RunHandle::attached(self.tracker.clone(), run_id))
            .clone()
    }

    /// Logs a param to the run `run_id`, written as [`RunHandle::log_param`] writes it
    /// (floats and bools as Python writes them).
    pub fn log_param(&self, run_id: &str, key: &str, value: impl std::fmt::Display) -> Result<()> {
        self.run(run_id).log_param(key, value)
    }

    /// Logs a metric point to the run `run_id`.
    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> Result<()> {
        self.run(run_id).log_metric_with_step(key, value, step)
    }

    /// A metric point for the run `run_id`, to configure (step, timestamp) and log:
    /// `client.metric(run_id, "loss", 0.1).step(3).timestamp(ms).log()`; Python's
    /// `MlflowClient.log_metric(run_id, key, value, timestamp, step)`.
    pub fn metric(&self, run_id: &str, key: &str, value: f64) -> MetricBuilder {
        self.run(run_id).metric(key, value)
    }

    /// Sets a tag on the run `run_id`, written as [`RunHandle::set_tag`] writes it.
    pub fn set_tag(&self, run_id: &str, key: &str, value: impl std::fmt::Display) -> Result<()> {
        self.run(run_id).set_tag(key, value)
    }

    /// Logs metrics (with their own timestamps and steps), params and tags to `run_id`.
    pub fn log_batch(&self, run_id: &str, batch: Batch) -> Result<()> {
        let run = self.run(run_id);
        run.log_params(batch.params.iter().map(|p| (&p.key, &p.value)))?;
        run.set_tags(batch.tags.iter().map(|t| (&t.key, &t.value)))?;
        for m in &batch.metrics {
            validate::key("metric", &m.key)?;
        }
        run.send_metrics(batch.metrics)
    }

    /// Stores `batch` on the run `run_id` and waits for the store's answer, after everything
    /// queued before it: Python's `log_batch(run_id, ..., synchronous=True)`. Unlike
    /// [`Client::log_batch`], nothing is checked or remembered in this process: a param that
    /// the run already holds with another value is the store's error, returned here (MLflow
    /// params are write-once, which makes this a way to claim a key once across processes).
    /// The batch goes to the store as it is, in one request (or one SQLite transaction),
    /// so it must fit MLflow's batch limits.
    pub fn log_batch_synchronous(&self, run_id: &str, batch: Batch) -> Result<()> {
        let id = run_id.to_owned();
        experiments::call(&self.tracker, move |store| async move {
            store.log_batch(&id, &batch).await
        })
    }

    /// Ends the run `run_id` with `status` (after its queued data).
    pub fn set_terminated(&self, run_id: &str, status: RunStatus) -> Result<()> {
        self.run(run_id).end(status, None);
        Ok(())
    }

    /// Ends the run `run_id` with `status` and the end time `end_time_ms` (milliseconds
    /// since the Unix epoch) instead of now: Python's `set_terminated(run_id, status,
    /// end_time)`. Unlike [`Client::set_terminated`], which is queued like logging, this
    /// waits for the store's answer, after everything queued before it (the run's own end
    /// through its guard included), and returns its error; a run that has ended already is
    /// ended again with this time, as MLflow allows.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let client = mlflow::Client::new();
    /// # let run_id = "0123456789abcdef0123456789abcdef";
    /// client.set_terminated_at(run_id, mlflow::RunStatus::Finished, 1_700_000_000_000)?;
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn set_terminated_at(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time_ms: i64,
    ) -> Result<()> {
        let update = RunUpdate::ended(status, end_time_ms);
        run_admin::update_run_on(&self.tracker, run_id, update)
    }

    /// Changes the run's status, name or end time, as far as `update` says (Python's
    /// `update_run(run_id, status, name)`; the `mlflow.runName` tag follows the name). An
    /// empty update asks nothing. Waits for the answer: a deleted run is
    /// [`Error::Api`](crate::Error::Api) with `INVALID_PARAMETER_VALUE`.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// use mlflow::RunUpdate;
    /// let client = mlflow::Client::new();
    /// # let run_id = "0123456789abcdef0123456789abcdef";
    /// client.update_run(run_id, RunUpdate::renamed("baseline"))?;
    /// client.update_run(run_id, RunUpdate::status(mlflow::RunStatus::Killed).with_name("stopped"))?;
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn update_run(&self, run_id: &str, update: RunUpdate) -> Result<()> {
        run_admin::update_run_on(&self.tracker, run_id, update)
    }

    /// Deletes the run `run_id`; see [`delete_run`](crate::delete_run).
    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        run_admin::delete_run_on(&self.tracker, run_id)
    }

    /// Restores the run `run_id`; see [`restore_run`](crate::restore_run).
    pub fn restore_run(&self, run_id: &str) -> Result<()> {
        run_admin::restore_run_on(&self.tracker, run_id)
    }

    /// Deletes the tag `key` of the run `run_id`, after what this client queued before; see
    /// [`RunHandle::delete_tag`].
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        run_admin::delete_tag_on(&self.tracker, run_id, key)
    }

    /// Records `dataset` as an input of the run `run_id`, used in `context`, after what this
    /// client queued before; see [`log_input`](crate::log_input).
    pub fn log_input(&self, run_id: &str, dataset: &Dataset, context: Option<&str>) -> Result<()> {
        let input = DatasetInput::new(dataset.clone(), context);
        inputs::log_inputs_of(&self.run(run_id), vec![input])
    }

    /// Records several datasets as inputs of the run `run_id`, as Python's
    /// `MlflowClient.log_inputs(run_id, datasets)`.
    pub fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        inputs::log_inputs_of(&self.run(run_id), datasets.to_vec())
    }

    /// Logs the file or folder at `path` as a logged model called `name` made by the run
    /// `run_id`; see [`log_model`](crate::log_model).
    pub fn log_model(
        &self,
        run_id: &str,
        name: &str,
        path: impl AsRef<std::path::Path>,
    ) -> Result<LoggedModel> {
        self.logged_model(run_id, name, path).log()
    }

    /// A logged model of the run `run_id` to configure by chaining; see
    /// [`logged_model`](crate::logged_model).
    pub fn logged_model(
        &self,
        run_id: &str,
        name: &str,
        path: impl AsRef<std::path::Path>,
    ) -> LogModel {
        LogModel::new(Some(self.run(run_id)), name, path.as_ref())
    }

    /// Reads the logged model `model_id` back; see [`get_logged_model`](crate::get_logged_model).
    pub fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        logged_models::get_logged_model_on(&self.tracker, model_id)
    }

    /// A logged model search on this client's destination; see [`SearchLoggedModels`].
    pub fn search_logged_models(&self) -> SearchLoggedModels {
        SearchLoggedModels::new(Target::Tracker(self.tracker.clone()))
    }

    /// The parent of the run `run_id`, read back; `None` for a top-level run.
    pub fn get_parent_run(&self, run_id: &str) -> Result<Option<Run>> {
        run_admin::parent_run_on(&self.tracker, run_id)
    }

    /// Reads a run back: info, latest metrics, params and tags.
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        let id = run_id.to_owned();
        self.tracker.request(Box::new(move |ctx| {
            Box::pin(async move { ctx.get()?.get_run(&id).await })
        }))
    }

    /// A run search on this client's destination; see [`SearchRuns`]. As
    /// `MlflowClient.search_runs`, it returns one page of at most [`CLIENT_SEARCH_LIMIT`](crate::CLIENT_SEARCH_LIMIT) runs
    /// unless [`SearchRuns::max_results`] says otherwise.
    pub fn search_runs(&self) -> SearchRuns {
        SearchRuns::new(
            Target::Tracker(self.tracker.clone()),
            search::CLIENT_SEARCH_LIMIT,
        )
    }

    /// An experiment search on this client's destination; see [`SearchExperiments`].
    pub fn search_experiments(&self) -> SearchExperiments {
        SearchExperiments::new(Target::Tracker(self.tracker.clone()))
    }

    /// Every point logged for metric `key` of run `run_id`.
    pub fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        search::get_metric_history_on(&self.tracker, run_id, key)
    }

    /// Uploads the file `local` into the folder `artifact_dir` (`""` for the root) of the
    /// run `run_id`; waits for the upload.
    pub fn log_artifact(
        &self,
        run_id: &str,
        local: impl AsRef<std::path::Path>,
        artifact_dir: &str,
    ) -> Result<()> {
        self.run(run_id).log_artifact_to(local, artifact_dir)
    }

    /// Lists the artifacts of run `run_id` directly under `path` (`""` for the root).
    pub fn list_artifacts(&self, run_id: &str, path: &str) -> Result<Vec<FileInfo>> {
        artifacts::list_on(&self.tracker, run_id, path)
    }

    /// Downloads the artifact file or folder `path` of run `run_id` into `dest_dir`;
    /// returns the local path of what was downloaded.
    pub fn download_artifacts(
        &self,
        run_id: &str,
        path: &str,
        dest_dir: impl AsRef<std::path::Path>,
    ) -> Result<std::path::PathBuf> {
        artifacts::download_on(&self.tracker, run_id, path, dest_dir.as_ref())
    }

    /// Stores `text` as the artifact file `artifact_file` of the run `run_id`.
    pub fn log_text(&self, run_id: &str, text: &str, artifact_file: &str) -> Result<()> {
        self.run(run_id).log_text(text, artifact_file)
    }

    /// Stores `value` as JSON, or YAML for `.yaml`/`.yml` names, in the artifact file
    /// `artifact_file` of the run `run_id`; see [`log_dict`](crate::log_dict).
    pub fn log_dict<T: serde::Serialize + ?Sized>(
        &self,
        run_id: &str,
        value: &T,
        artifact_file: &str,
    ) -> Result<()> {
        self.run(run_id).log_dict(value, artifact_file)
    }

    /// Stores a rendered figure as the artifact file `artifact_file` of the run `run_id`;
    /// see [`log_figure`](crate::log_figure).
    pub fn log_figure(
        &self,
        run_id: &str,
        figure: impl AsRef<[u8]>,
        artifact_file: &str,
    ) -> Result<()> {
        self.run(run_id).log_figure(figure, artifact_file)
    }

    /// Logs `table` to the `.json` file `artifact_file` of the run `run_id`, appending to the
    /// table there; see [`log_table`](crate::log_table).
    pub fn log_table(&self, run_id: &str, table: &Table, artifact_file: &str) -> Result<()> {
        self.run(run_id).log_table(table, artifact_file)
    }

    /// Starts reading the table `artifact_file` back from the runs of experiment
    /// `experiment_id` that have it; see [`LoadTable`].
    pub fn load_table(&self, experiment_id: &str, artifact_file: &str) -> LoadTable {
        LoadTable::on(
            Target::Tracker(self.tracker.clone()),
            experiment_id,
            artifact_file,
        )
    }

    /// Logs `image` under `key` at `step` to the run `run_id`, for the UI's image grid; see
    /// [`log_image`](crate::log_image) (feature `image`).
    #[cfg(feature = "image")]
    pub fn log_image(
        &self,
        run_id: &str,
        key: &str,
        image: impl Into<Image>,
        step: i64,
    ) -> Result<()> {
        self.run(run_id).log_image(key, image, step)
    }

    /// Stores `image` as the artifact file `artifact_file` of the run `run_id`; see
    /// [`log_image_artifact`](crate::log_image_artifact) (feature `image`).
    #[cfg(feature = "image")]
    pub fn log_image_artifact(
        &self,
        run_id: &str,
        image: impl Into<Image>,
        artifact_file: &str,
    ) -> Result<()> {
        self.run(run_id).log_image_artifact(image, artifact_file)
    }

    /// The text of the artifact file `artifact_uri` names, runs by id looked up through this
    /// client; see [`load_text`](crate::load_text).
    pub fn load_text(&self, artifact_uri: &str) -> Result<String> {
        dicts::load_text_on(&self.tracker, artifact_uri)
    }

    /// The artifact file `artifact_uri` names, read as JSON or YAML into `T`; see
    /// [`load_dict`](crate::load_dict).
    pub fn load_dict<T: serde::de::DeserializeOwned>(&self, artifact_uri: &str) -> Result<T> {
        dicts::load_dict_on(&self.tracker, artifact_uri)
    }

    /// The image in the artifact file `artifact_uri` names; see
    /// [`load_image`](crate::load_image) (feature `image`).
    #[cfg(feature = "image")]
    pub fn load_image(&self, artifact_uri: &str) -> Result<Image> {
        super::images::load_on(&self.tracker, artifact_uri)
    }

    /// Looks an experiment up by name.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        experiments::get_experiment_by_name_on(&self.tracker, name)
    }

    /// The experiment `experiment_id`; see [`get_experiment`](crate::get_experiment).
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        experiments::get_experiment_on(&self.tracker, experiment_id)
    }

    /// Starts creating an experiment on this client's destination; see
    /// [`CreateExperiment`].
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let client = mlflow::Client::with_tracking_uri("http://127.0.0.1:5000")?;
    /// let id = client.create_experiment("nlp").tag("team", "nlp").create()?;
    /// client.set_experiment_tag(&id, "stage", "dev")?;
    /// client.rename_experiment(&id, "nlp-2024")?;
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn create_experiment(&self, name: impl Into<String>) -> CreateExperiment {
        CreateExperiment::new(Target::Tracker(self.tracker.clone()), name.into())
    }

    /// Deletes the experiment `experiment_id` and its runs; see
    /// [`delete_experiment`](crate::delete_experiment).
    pub fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        experiments::delete_experiment_on(&self.tracker, experiment_id)
    }

    /// Restores the deleted experiment `experiment_id` and its runs.
    pub fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        experiments::restore_experiment_on(&self.tracker, experiment_id)
    }

    /// Renames the active experiment `experiment_id`. A deleted one is
    /// [`Error::Api`](crate::Error::Api) with `INVALID_STATE`; a name another experiment has
    /// is refused by the store (MLflow's SQL stores: `BAD_REQUEST`).
    pub fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        experiments::rename_experiment_on(&self.tracker, experiment_id, new_name)
    }

    /// Sets a tag on the experiment `experiment_id` (the value formatted with `Display`).
    pub fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: impl std::fmt::Display,
    ) -> Result<()> {
        experiments::set_experiment_tag_on(&self.tracker, experiment_id, key, value.to_string())
    }

    /// Deletes the tag `key` of the experiment `experiment_id`. MLflow 3 servers only: a 2.x
    /// server has no such endpoint and answers 404 with a page of HTML (the error's code is
    /// `HTTP_404`).
    pub fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        experiments::delete_experiment_tag_on(&self.tracker, experiment_id, key)
    }

    /// Waits until everything this client's destination has queued is stored.
    pub fn flush(&self) -> Result<()> {
        self.tracker.flush(None)
    }
}

impl Default for Client {
    fn default() -> Self {
        Client::new()
    }
}
