//! Experiments: creating one with its artifact location and tags, reading them back, making
//! one the active experiment by id, their tags, deleting, restoring and renaming them.
//!
//! Every call runs on the destination's background sender, after everything queued before
//! it, and waits for the store's answer: its error is the call's.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use super::search::Target;
use crate::base::env::{self, DefaultExperiment};
use crate::base::error::{Error, Result};
use crate::base::model::{Experiment, NewExperiment};
use crate::sender::{ExperimentSel, OpenedStore};
use crate::store::Store;
use crate::store::common::get_or_create_experiment;
use crate::tracker::{self, Tracker};

/// Runs `f` with the store on `tracker`'s sender, after everything queued before, and
/// waits for its answer.
pub(crate) fn call<T, F, Fut>(tracker: &Tracker, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            let store = ctx.get()?.clone();
            f(store).await
        })
    }))
}

/// Starts creating an experiment called `name`, as Python's
/// `mlflow.create_experiment(name, artifact_location, tags)`; see [`CreateExperiment`].
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let id = mlflow::create_experiment("vision-sweeps")
///     .artifact_location("s3://bucket/vision")
///     .tag("team", "vision")
///     .create()?;
/// mlflow::set_experiment_by_id(&id)?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn create_experiment(name: impl Into<String>) -> CreateExperiment {
    CreateExperiment::new(Target::Current, name.into())
}

/// An experiment to create, configured by chaining, then made with
/// [`CreateExperiment::create`], which returns its id.
///
/// Unlike [`set_experiment`](crate::set_experiment), which gets or creates, creating a name
/// that exists (deleted experiments included) is [`Error::Api`] with
/// `RESOURCE_ALREADY_EXISTS`.
#[derive(Debug, Clone)]
#[must_use = "an experiment is created by `.create()`"]
pub struct CreateExperiment {
    target: Target,
    experiment: NewExperiment,
}

impl CreateExperiment {
    pub(crate) fn new(target: Target, name: String) -> CreateExperiment {
        CreateExperiment {
            target,
            experiment: NewExperiment::named(name),
        }
    }

    /// Where the experiment's runs put their artifacts (`s3://...`, a local folder, ...).
    /// Without it the store chooses: a server its artifact root (`mlflow-artifacts:/<id>`
    /// when it serves artifacts), the embedded store `<artifact root>/<id>`. The embedded
    /// store makes a relative local path absolute, as MLflow does; a `runs:/` URI is refused.
    pub fn artifact_location(mut self, location: impl Into<String>) -> Self {
        self.experiment.artifact_location = Some(location.into());
        self
    }

    /// A tag set on the experiment at creation (the value formatted with `Display`); a later
    /// value for the same key wins.
    pub fn tag(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.experiment.tags.insert(key.into(), value.to_string());
        self
    }

    /// Several tags set at creation.
    pub fn tags<K: Into<String>, V: Display>(
        mut self,
        tags: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (key, value) in tags {
            self.experiment.tags.insert(key.into(), value.to_string());
        }
        self
    }

    /// Creates the experiment and returns its id. The store checks the name (not empty,
    /// unique) and the tags (keys as run tags', values at most 20,000 characters), with
    /// MLflow's codes and messages.
    pub fn create(self) -> Result<String> {
        if let Some(location) = &self.experiment.artifact_location
            && location.starts_with("runs:")
        {
            return Err(Error::api(
                400,
                "INVALID_PARAMETER_VALUE",
                format!("Artifact location cannot be a runs:/ URI. Given: '{location}'"),
            ));
        }
        let experiment = self.experiment;
        call(&self.target.tracker(), move |store| async move {
            store.create_experiment_with(&experiment).await
        })
    }
}

/// The experiment with id `experiment_id`, deleted or not, with its tags. One that does not
/// exist is [`Error::Api`] with `RESOURCE_DOES_NOT_EXIST`, as in Python.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let e = mlflow::get_experiment("1")?;
/// println!("{} {:?} {}", e.name, e.tag("team"), e.lifecycle_stage);
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn get_experiment(experiment_id: &str) -> Result<Experiment> {
    get_experiment_on(&tracker::current(), experiment_id)
}

/// The experiment called `name`, deleted or not; `None` when there is none.
pub fn get_experiment_by_name(name: &str) -> Result<Option<Experiment>> {
    get_experiment_by_name_on(&tracker::current(), name)
}

pub(crate) fn get_experiment_on(tracker: &Tracker, experiment_id: &str) -> Result<Experiment> {
    let id = experiment_id.to_owned();
    call(tracker, move |store| async move {
        store.get_experiment(&id).await?.ok_or_else(|| {
            Error::api(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                format!("No Experiment with id={id} exists"),
            )
        })
    })
}

pub(crate) fn get_experiment_by_name_on(
    tracker: &Tracker,
    name: &str,
) -> Result<Option<Experiment>> {
    let name = name.to_owned();
    call(tracker, move |store| async move {
        store.get_experiment_by_name(&name).await
    })
}

/// Makes the experiment with id `experiment_id` the active experiment, as Python's
/// `mlflow.set_experiment(experiment_id=...)`, and returns it: runs started afterwards
/// without an experiment of their own go there. It must exist
/// (`RESOURCE_DOES_NOT_EXIST` otherwise) and not be deleted (`INVALID_PARAMETER_VALUE`);
/// nothing is created.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let e = mlflow::set_experiment_by_id("3")?;
/// let run = mlflow::start_run().start(); // in experiment 3
/// # drop(run); let _ = e;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn set_experiment_by_id(experiment_id: &str) -> Result<Experiment> {
    if experiment_id.trim().is_empty() {
        return Err(Error::InvalidArgument(
            "experiment id must not be empty".into(),
        ));
    }
    let tracker = tracker::current();
    let experiment = get_experiment_on(&tracker, experiment_id.trim())?;
    if !experiment.is_active() {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "Cannot set a deleted experiment '{}' as the active experiment. You can restore \
                 the experiment, or permanently delete the experiment to create a new one.",
                experiment.name
            ),
        ));
    }
    tracker.use_experiment(experiment.experiment_id.clone());
    Ok(experiment)
}

/// Sets a tag on the active experiment (the one [`set_experiment`](crate::set_experiment) or
/// [`set_experiment_by_id`] chose, else the environment's, else the Default experiment), as
/// Python's `mlflow.set_experiment_tag`.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// mlflow::set_experiment("vision")?;
/// mlflow::set_experiment_tag("release.version", "2.2.0")?;
/// mlflow::delete_experiment_tag("release.version")?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn set_experiment_tag(key: &str, value: impl Display) -> Result<()> {
    set_experiment_tags([(key, value)])
}

/// Sets several tags on the active experiment, one after another, stopping at the first
/// refused.
pub fn set_experiment_tags<K: AsRef<str>, V: Display>(
    tags: impl IntoIterator<Item = (K, V)>,
) -> Result<()> {
    let tags: Vec<(String, String)> = tags
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_owned(), v.to_string()))
        .collect();
    let tracker = tracker::current();
    let active = tracker.active_experiment();
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            let id = active_experiment_id(&ctx, active).await?;
            let store = ctx.get()?;
            for (key, value) in &tags {
                store.set_experiment_tag(&id, key, value).await?;
            }
            Ok(())
        })
    }))
}

/// Deletes a tag of the active experiment; one it does not have is [`Error::Api`] with
/// `RESOURCE_DOES_NOT_EXIST`. MLflow 3 servers only (a 2.x server has no such endpoint).
pub fn delete_experiment_tag(key: &str) -> Result<()> {
    let key = key.to_owned();
    let tracker = tracker::current();
    let active = tracker.active_experiment();
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            let id = active_experiment_id(&ctx, active).await?;
            ctx.get()?.delete_experiment_tag(&id, &key).await
        })
    }))
}

/// The active experiment's id, by Python's `_get_experiment_id`: the one chosen, else
/// `MLFLOW_EXPERIMENT_NAME` (created if missing) or `MLFLOW_EXPERIMENT_ID` (which must
/// exist), else the Default experiment.
async fn active_experiment_id(ctx: &OpenedStore, active: ExperimentSel) -> Result<String> {
    let store = ctx.get()?.as_ref();
    match active {
        ExperimentSel::Id(id) => Ok(id),
        ExperimentSel::Name(name) => Ok(get_or_create_experiment(store, &name, None)
            .await?
            .experiment_id),
        ExperimentSel::Default | ExperimentSel::SameAsParent => match env::default_experiment() {
            DefaultExperiment::Named { name, expected_id } => {
                Ok(
                    get_or_create_experiment(store, &name, expected_id.as_deref())
                        .await?
                        .experiment_id,
                )
            }
            DefaultExperiment::Id(id) => match store.get_experiment(&id).await? {
                Some(e) => Ok(e.experiment_id),
                None => Err(env::missing_id(&id)),
            },
            DefaultExperiment::Default => Ok("0".into()),
        },
    }
}

/// Deletes the experiment `experiment_id` and its runs, as Python's
/// `mlflow.delete_experiment`: they are marked deleted (MLflow keeps them until `mlflow gc`),
/// and can be restored with [`restore_experiment`]. Its name stays taken. An experiment that
/// does not exist or is deleted already is [`Error::Api`] with `RESOURCE_DOES_NOT_EXIST`.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// mlflow::delete_experiment("4")?;
/// mlflow::restore_experiment("4")?; // and its runs
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn delete_experiment(experiment_id: &str) -> Result<()> {
    delete_experiment_on(&tracker::current(), experiment_id)
}

/// Restores the deleted experiment `experiment_id` and its runs; one that is not deleted
/// is [`Error::Api`] with `RESOURCE_DOES_NOT_EXIST`.
pub fn restore_experiment(experiment_id: &str) -> Result<()> {
    restore_experiment_on(&tracker::current(), experiment_id)
}

pub(crate) fn delete_experiment_on(tracker: &Tracker, experiment_id: &str) -> Result<()> {
    let id = experiment_id.to_owned();
    call(tracker, move |store| async move {
        store.delete_experiment(&id).await
    })
}

pub(crate) fn restore_experiment_on(tracker: &Tracker, experiment_id: &str) -> Result<()> {
    let id = experiment_id.to_owned();
    call(tracker, move |store| async move {
        store.restore_experiment(&id).await
    })
}

pub(crate) fn rename_experiment_on(
    tracker: &Tracker,
    experiment_id: &str,
    new_name: &str,
) -> Result<()> {
    let (id, name) = (experiment_id.to_owned(), new_name.to_owned());
    call(tracker, move |store| async move {
        store.rename_experiment(&id, &name).await
    })
}

pub(crate) fn set_experiment_tag_on(
    tracker: &Tracker,
    experiment_id: &str,
    key: &str,
    value: String,
) -> Result<()> {
    let (id, key) = (experiment_id.to_owned(), key.to_owned());
    call(tracker, move |store| async move {
        store.set_experiment_tag(&id, &key, &value).await
    })
}

pub(crate) fn delete_experiment_tag_on(
    tracker: &Tracker,
    experiment_id: &str,
    key: &str,
) -> Result<()> {
    let (id, key) = (experiment_id.to_owned(), key.to_owned());
    call(tracker, move |store| async move {
        store.delete_experiment_tag(&id, &key).await
    })
}
