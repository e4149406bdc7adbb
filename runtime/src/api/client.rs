//! A client that works on runs by id, without the run stack: for runs created elsewhere
//! (another process, the Python client) and for reading runs back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::artifacts;
use super::search::{self, SearchExperiments, SearchRuns, Target};
use crate::base::error::Result;
use crate::base::model::{Batch, Experiment, Metric, Run, RunStatus};
use crate::base::search::FileInfo;
use crate::base::sync::lock;
use crate::base::validate;
use crate::runs::RunHandle;
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
            runs: Mutex::new(HashMap::new()),
        }
    }

    /// A client for another tracking URI, independent of the one in effect.
    pub fn with_tracking_uri(uri: &str) -> Result<Client> {
        Ok(Client {
            tracker: tracker::for_uri(uri)?,
            runs: Mutex::new(HashMap::new()),
        })
    }

    /// A handle to the run with this id, for logging to it.
    pub fn run(&self, run_id: &str) -> RunHandle {
        lock(&self.runs)
            .entry(run_id.to_owned())
            .or_insert_with(|| RunHandle::attached(self.tracker.clone(), run_id))
            .clone()
    }

    /// Logs a param to the run `run_id`.
    pub fn log_param(&self, run_id: &str, key: &str, value: impl std::fmt::Display) -> Result<()> {
        self.run(run_id).log_param(key, value)
    }

    /// Logs a metric point to the run `run_id`.
    pub fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> Result<()> {
        self.run(run_id).log_metric_with_step(key, value, step)
    }

    /// Sets a tag on the run `run_id`.
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

    /// Ends the run `run_id` with `status` (after its queued data).
    pub fn set_terminated(&self, run_id: &str, status: RunStatus) -> Result<()> {
        self.run(run_id).end(status, None);
        Ok(())
    }

    /// Reads a run back: info, latest metrics, params and tags.
    pub fn get_run(&self, run_id: &str) -> Result<Run> {
        let id = run_id.to_owned();
        self.tracker.request(Box::new(move |ctx| {
            Box::pin(async move { ctx.store()?.get_run(&id).await })
        }))
    }

    /// A run search on this client's destination; see [`SearchRuns`].
    pub fn search_runs(&self) -> SearchRuns {
        SearchRuns::new(Target::Tracker(self.tracker.clone()))
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

    /// Looks an experiment up by name.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let name = name.to_owned();
        self.tracker.request(Box::new(move |ctx| {
            Box::pin(async move { ctx.store()?.get_experiment_by_name(&name).await })
        }))
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
