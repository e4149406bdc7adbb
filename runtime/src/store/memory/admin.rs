//! Deleting and restoring runs and experiments, renaming experiments, deleting run tags and
//! setting and deleting experiment tags, as MLflow's server (SQL backend) does them, its
//! errors included.

use super::state::{State, bad_request, no_experiment};
use crate::base::error::{Error, Result};
use crate::base::model::Experiment;
use crate::base::time::now_ms;
use crate::base::validate;

/// The server's refusal of a request without a required field.
fn missing(field: &str) -> Error {
    bad_request(format!("Missing value for required parameter '{field}'."))
}

/// Which experiments an operation finds, as MLflow's `ViewType`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExperimentStage {
    Active,
    Deleted,
    Any,
}

/// MLflow's `_get_experiment`: an integer id of an experiment in `stage`.
fn experiment<'a>(
    state: &'a mut State,
    id: &str,
    stage: ExperimentStage,
) -> Result<&'a mut Experiment> {
    if id.is_empty() {
        return Err(missing("experiment_id"));
    }
    let number: i64 = id.trim().parse().map_err(|_| {
        bad_request(format!(
            "Invalid experiment ID '{id}'. Experiment ID must be a valid integer."
        ))
    })?;
    state
        .experiment_mut(&number.to_string())
        .filter(|e| match stage {
            ExperimentStage::Active => e.is_active(),
            ExperimentStage::Deleted => e.lifecycle_stage == "deleted",
            ExperimentStage::Any => true,
        })
        .ok_or_else(|| no_experiment(&number.to_string()))
}

/// MLflow's `_check_experiment_is_active`.
fn active(e: &mut Experiment) -> Result<&mut Experiment> {
    if e.is_active() {
        return Ok(e);
    }
    Err(bad_request(format!(
        "The experiment {} must be in the 'active' state. Current state is {}.",
        e.experiment_id, e.lifecycle_stage
    )))
}

/// `runs/delete`: any run, deleted already or not.
pub(super) fn delete_run(state: &mut State, run_id: &str) -> Result<()> {
    set_run_stage(state, run_id, "deleted")
}

/// `runs/restore`: any run, deleted or not.
pub(super) fn restore_run(state: &mut State, run_id: &str) -> Result<()> {
    set_run_stage(state, run_id, "active")
}

fn set_run_stage(state: &mut State, run_id: &str, stage: &str) -> Result<()> {
    if run_id.is_empty() {
        return Err(missing("run_id"));
    }
    state.run_mut(run_id)?.info.lifecycle_stage = stage.to_owned();
    Ok(())
}

/// `runs/delete-tag`: an active run's tag, which must be there.
pub(super) fn delete_tag(state: &mut State, run_id: &str, key: &str) -> Result<()> {
    if run_id.is_empty() {
        return Err(missing("run_id"));
    }
    if key.is_empty() {
        return Err(missing("key"));
    }
    let row = state.active_run(run_id)?;
    let before = row.tags.len();
    row.tags.retain(|t| t.key != key);
    if row.tags.len() == before {
        return Err(Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No tag with name: {key} in run with id {run_id}"),
        ));
    }
    Ok(())
}

/// `experiments/delete`: an active experiment, and every run of it.
pub(super) fn delete_experiment(state: &mut State, id: &str) -> Result<()> {
    set_experiment_stage(state, id, ExperimentStage::Active, "deleted")
}

/// `experiments/restore`: a deleted experiment, and every run of it.
pub(super) fn restore_experiment(state: &mut State, id: &str) -> Result<()> {
    set_experiment_stage(state, id, ExperimentStage::Deleted, "active")
}

fn set_experiment_stage(
    state: &mut State,
    id: &str,
    from: ExperimentStage,
    to: &str,
) -> Result<()> {
    let e = experiment(state, id, from)?;
    e.lifecycle_stage = to.to_owned();
    e.last_update_time = Some(now_ms());
    let id = e.experiment_id.clone();
    for row in state.runs.iter_mut().filter(|r| r.info.experiment_id == id) {
        row.info.lifecycle_stage = to.to_owned();
    }
    Ok(())
}

/// `experiments/update`: an active experiment's new name, which no other experiment has
/// (the SQL store's unique index refuses it, and the server says `BAD_REQUEST`).
pub(super) fn rename_experiment(state: &mut State, id: &str, new_name: &str) -> Result<()> {
    if new_name.is_empty() {
        return Err(missing("new_name"));
    }
    let taken = state
        .experiment_by_name(new_name)
        .is_some_and(|other| other.experiment_id != id.trim());
    let e = experiment(state, id, ExperimentStage::Any)?;
    if !e.is_active() {
        return Err(Error::api(
            500,
            "INVALID_STATE",
            "Cannot rename a non-active experiment.",
        ));
    }
    if taken {
        return Err(Error::api(
            400,
            "BAD_REQUEST",
            "(sqlite3.IntegrityError) UNIQUE constraint failed: experiments.workspace, experiments.name",
        ));
    }
    e.name = new_name.to_owned();
    e.last_update_time = Some(now_ms());
    Ok(())
}

/// `experiments/set-experiment-tag`: a valid tag on an active experiment.
pub(super) fn set_experiment_tag(
    state: &mut State,
    id: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    if key.is_empty() {
        return Err(missing("key"));
    }
    validate::experiment_tag(key, value)?;
    let e = active(experiment(state, id, ExperimentStage::Any)?)?;
    e.tags.insert(key.to_owned(), value.to_owned());
    Ok(())
}

/// `experiments/delete-experiment-tag`: an active experiment's tag, which must be there.
pub(super) fn delete_experiment_tag(state: &mut State, id: &str, key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(missing("key"));
    }
    let e = active(experiment(state, id, ExperimentStage::Any)?)?;
    if e.tags.remove(key).is_none() {
        return Err(Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No tag with name: {key} in experiment with id {id}"),
        ));
    }
    Ok(())
}
