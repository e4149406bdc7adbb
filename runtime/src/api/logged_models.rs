//! Logged models (MLflow 3): `log_model` and its builder [`LogModel`], for the active run, a
//! [`RunHandle`] or a run by id; reading one back. As the Python client's `log_model`: the
//! model is created PENDING with the run as its source run (its params are the caller's
//! and the run's, its tags the caller's and the process's `mlflow.user`/`mlflow.source.*`),
//! recorded as the run's output, the run's metrics at the model's step are linked to it,
//! its files and an `MLmodel` file are stored at its artifact location, and it is marked
//! READY, or FAILED when the files could not be stored (the call then returns that error).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::artifacts::{files_at, upload_to_root};
use super::experiments::call;
use crate::base::error::{Error, Result};
use crate::base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel,
};
use crate::base::mlmodel::mlmodel_yaml;
use crate::base::model::Batch;
use crate::base::python_str::python_str;
use crate::base::system;
use crate::base::time::now_ms;
use crate::runs::RunHandle;
use crate::runs::stack;
use crate::tracker::{self, Tracker};

/// Logs the file or folder at `path` as a logged model called `name`, made by the active
/// run, with the flavor `custom`; see [`logged_model`] for params, tags, the model type and
/// the flavor. Returns the model, READY: [`LoggedModel::uri`] (`models:/<id>`) loads it in
/// Python (`mlflow.models.Model.load`) and registers it.
///
/// Needs a tracking server of MLflow 3 (or the embedded store): an MLflow 2.x server has no
/// logged models, and the call is an [`Error::Api`] that says so. Without an active run,
/// [`Error::NoActiveRun`]; a `path` that does not exist, [`Error::Io`].
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let _run = mlflow::start_run().name("train").start();
/// std::fs::write("model.bin", b"weights")?;
/// let model = mlflow::log_model("net", "model.bin")?;
/// println!("{}", model.uri()); // models:/m-…
/// mlflow::metric("acc", 0.93).model(&model).log()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn log_model(name: &str, path: impl AsRef<Path>) -> Result<LoggedModel> {
    logged_model(name, path).log()
}

/// A logged model of the active run to configure by chaining, then [`LogModel::log`]:
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// # let _run = mlflow::start_run().start();
/// let model = mlflow::logged_model("net", "checkpoints/best")
///     .flavor("burn")
///     .model_type("classifier")
///     .param("hidden", 64)
///     .tag("seed", 7)
///     .log()?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn logged_model(name: &str, path: impl AsRef<Path>) -> LogModel {
    LogModel::new(None, name, path.as_ref())
}

/// Reads the logged model `model_id` back with its params, tags and metrics.
pub fn get_logged_model(model_id: &str) -> Result<LoggedModel> {
    get_logged_model_on(&tracker::current(), model_id)
}

/// A logged model to log, configured by chaining; made by [`logged_model`],
/// [`RunHandle::logged_model`] and [`Client::logged_model`](crate::Client::logged_model).
#[derive(Debug, Clone)]
#[must_use = "a model is logged by `.log()`"]
pub struct LogModel {
    /// The run that makes it; `None` for the active run when it is logged.
    run: Option<RunHandle>,
    name: String,
    path: PathBuf,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    model_type: Option<String>,
    flavor: String,
    step: i64,
}

impl LogModel {
    pub(crate) fn new(run: Option<RunHandle>, name: &str, path: &Path) -> LogModel {
        LogModel {
            run,
            name: name.to_owned(),
            path: path.to_path_buf(),
            params: Vec::new(),
            tags: Vec::new(),
            model_type: None,
            flavor: "custom".to_owned(),
            step: 0,
        }
    }

    /// A param of the model (written as Python's `str()` writes it). The run's params are
    /// the model's too, as in Python, and win over one of the same key given here.
    pub fn param(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.params.push((key.to_owned(), python_str(&value)));
        self
    }

    /// A tag of the model.
    pub fn tag(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.tags.push((key.to_owned(), python_str(&value)));
        self
    }

    /// A user-defined kind, such as `"classifier"`, to search and compare models by.
    pub fn model_type(mut self, model_type: &str) -> Self {
        self.model_type = Some(model_type.to_owned());
        self
    }

    /// The flavor named in the `MLmodel` file (default `custom`), such as `burn`; the file
    /// lists it with no configuration.
    pub fn flavor(mut self, flavor: &str) -> Self {
        self.flavor = flavor.to_owned();
        self
    }

    /// The run's step the model belongs to (default 0): recorded with the run's output, and
    /// the run's metric points at this step are linked to the model, as Python does.
    pub fn step(mut self, step: i64) -> Self {
        self.step = step;
        self
    }

    /// Creates the model, stores its files and marks it READY; see [`log_model`].
    pub fn log(self) -> Result<LoggedModel> {
        if self.flavor.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "a model's flavor must not be empty".into(),
            ));
        }
        let files = files_at(&self.path)?;
        if files.iter().any(|(_, name)| name == "MLmodel") {
            return Err(Error::InvalidArgument(format!(
                "{} holds an MLmodel file: log_model writes its own",
                self.path.display()
            )));
        }
        let run = match self.run.clone() {
            Some(run) => run,
            None => stack::current().ok_or(Error::NoActiveRun)?,
        };
        let run_id = run.id()?;
        let tracker = &run.cell.tracker;
        let model = create(tracker, &run_id, &self)?;
        let mlmodel = mlmodel_yaml(
            &model.model_id,
            &model.artifact_location,
            &self.flavor,
            Some(&run_id),
            now_ms(),
        )?;
        let stored = upload_to_root(
            tracker,
            model.artifact_location.clone(),
            files,
            &[(mlmodel.as_bytes(), "MLmodel")],
        );
        let status = match &stored {
            Ok(()) => LoggedModelStatus::Ready,
            Err(_) => LoggedModelStatus::Failed,
        };
        let finalized = finalize_on(tracker, &model.model_id, status);
        stored?;
        finalized
    }
}

/// Creates the model for `run_id`, records it as the run's output and links the run's
/// points at the model's step to it, in one call on the sender (after what was queued
/// before: the run's params and metrics are stored).
fn create(tracker: &Tracker, run_id: &str, m: &LogModel) -> Result<LoggedModel> {
    let run_id = run_id.to_owned();
    let (name, model_type, step) = (m.name.clone(), m.model_type.clone(), m.step);
    let (given_params, given_tags) = (m.params.clone(), m.tags.clone());
    call(tracker, move |store| async move {
        let run = store.get_run(&run_id).await?;
        let mut params: BTreeMap<String, String> = given_params.into_iter().collect();
        params.extend(run.params.iter().map(|p| (p.key.clone(), p.value.clone())));
        let mut tags: BTreeMap<String, String> = system::tags()
            .iter()
            .filter(|t| t.key == "mlflow.user" || t.key.starts_with("mlflow.source."))
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect();
        tags.extend(given_tags);
        let mut new = NewLoggedModel::new(run.info.experiment_id.clone(), name);
        new.source_run_id = Some(run_id.clone());
        new.model_type = model_type;
        new.params = params.into_iter().collect();
        new.tags = tags.into_iter().collect();
        let model = store.create_logged_model(&new).await?;
        let output = LoggedModelOutput::new(model.model_id.clone(), step);
        store.log_outputs(&run_id, &[output]).await?;
        // Python's `log_model_metrics_for_step`: the run's points at this step, linked.
        let mut linked = Batch::default();
        for latest in &run.metrics {
            for mut point in store.get_metric_history(&run_id, &latest.key).await? {
                if point.step == step && point.model_id.is_none() {
                    point.model_id = Some(model.model_id.clone());
                    linked.metrics.push(point);
                }
            }
        }
        if !linked.is_empty() {
            store.log_batch(&run_id, &linked).await?;
        }
        Ok(model)
    })
}

pub(crate) fn finalize_on(
    tracker: &Tracker,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<LoggedModel> {
    let id = model_id.to_owned();
    call(tracker, move |store| async move {
        store.finalize_logged_model(&id, status).await
    })
}

pub(crate) fn get_logged_model_on(tracker: &Tracker, model_id: &str) -> Result<LoggedModel> {
    let id = model_id.to_owned();
    call(tracker, move |store| async move {
        store.get_logged_model(&id).await
    })
}
