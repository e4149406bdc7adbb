//! Datasets as a run's inputs: `log_input` on the active run, and the functions
//! [`RunHandle`] and [`Client`](crate::Client) delegate to.
//!
//! A call waits until the run exists and what was queued before it is stored, then sends
//! `runs/log-inputs` (the embedded store writes MLflow's `datasets`, `inputs` and
//! `input_tags` rows); the store's error is the call's.

use super::experiments::call;
use crate::base::datasets::{self, Dataset, DatasetInput};
use crate::base::error::{Error, Result};
use crate::runs::RunHandle;
use crate::runs::stack;
use crate::tracker::Tracker;

/// Records `dataset` as an input of the active run, used in `context` (such as
/// `"training"`; stored as the input tag `mlflow.data.context`, as Python's
/// `mlflow.log_input(dataset, context=..)` stores it). The UI shows it on the run's page and
/// Python reads it in `run.inputs.dataset_inputs`; searches filter on it with
/// `datasets.name`, `datasets.digest` and `datasets.context`.
///
/// A dataset is kept once per experiment by (name, digest), and once per run: logging it
/// again adds nothing. A name, digest, source or tag longer than MLflow allows is
/// [`Error::InvalidArgument`]; without an active run, [`Error::NoActiveRun`] (Python starts a
/// run instead).
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let run = mlflow::start_run().name("train").start();
/// let train = mlflow::Dataset::from_file("seeds-train", "data/train.csv")?;
/// mlflow::log_input(&train, Some("training"))?;
/// let found = mlflow::search_runs()
///     .filter("datasets.name = 'seeds-train' AND datasets.context = 'training'")
///     .first()?;
/// # drop(run); let _ = found;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn log_input(dataset: &Dataset, context: Option<&str>) -> Result<()> {
    let run = stack::current().ok_or(Error::NoActiveRun)?;
    log_inputs_of(&run, vec![DatasetInput::new(dataset.clone(), context)])
}

/// Records several datasets as inputs of the active run at once, each with its own tags
/// (Python's `MlflowClient.log_inputs(run_id, datasets)`); see [`log_input`].
pub fn log_inputs(inputs: &[DatasetInput]) -> Result<()> {
    let run = stack::current().ok_or(Error::NoActiveRun)?;
    log_inputs_of(&run, inputs.to_vec())
}

/// Records `inputs` for `run`, once the run exists and what was queued before is stored.
pub(crate) fn log_inputs_of(run: &RunHandle, inputs: Vec<DatasetInput>) -> Result<()> {
    // Bad input fails before waiting for the run's id.
    datasets::validate(&inputs)?;
    log_inputs_on(&run.cell.tracker, &run.id()?, inputs)
}

/// `runs/log-inputs` for the run `run_id` of `tracker`'s destination; `inputs` checked.
fn log_inputs_on(tracker: &Tracker, run_id: &str, inputs: Vec<DatasetInput>) -> Result<()> {
    if inputs.is_empty() {
        return Ok(());
    }
    let id = run_id.to_owned();
    call(tracker, move |store| async move {
        store.log_inputs(&id, &inputs).await
    })
}
