//! Parents from elsewhere: runs this process did not start (a coordinator's run in another
//! process, a handle attached by id). Their experiment comes from the store, once.

use super::slot::RunSlot;
use super::spill::is_outage;
use super::state::Sender;
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, PARENT_RUN_ID_TAG, Run, RunTag};

impl Sender {
    /// The experiment of `parent`, a run started elsewhere; the store is asked once per
    /// parent and process. An outage is returned as is (and not remembered), so that the
    /// caller can spill; anything else becomes an [`Error::ParentRun`] naming the parent.
    pub(super) async fn attached_parent_experiment(&mut self, parent: &RunSlot) -> Result<String> {
        let Some(id) = parent.known_id() else {
            return Err(Error::Config(format!(
                "its parent run {:?} has no id",
                parent.name
            )));
        };
        if let Some(known) = self.attached_parents.get(&id) {
            return known.clone();
        }
        let store = self.ctx.store()?.clone();
        let found = match store.get_run(&id).await {
            Err(e) if is_outage(&e) => return Err(e),
            found => found,
        };
        let answer = parent_experiment(&id, found, &store.location());
        self.attached_parents.insert(id, answer.clone());
        answer
    }

    /// Nests the run being resumed (`MLFLOW_RUN_ID`) under `parent`: sets its parent tag when
    /// it has none, accepts the same parent, and refuses another one (the Python client
    /// silently overwrites it: mlflow#15713).
    pub(super) async fn adopt(&mut self, resumed: &Run, parent: &RunSlot) -> Result<()> {
        let parent_experiment = self.attached_parent_experiment(parent).await?;
        let parent_id = parent.known_id().unwrap_or_default();
        let run_id = &resumed.info.run_id;
        match resumed.tags.iter().find(|t| t.key == PARENT_RUN_ID_TAG) {
            Some(t) if t.value == parent_id => return Ok(()),
            Some(t) => {
                return Err(Error::ParentRun {
                    parent_run_id: parent_id,
                    reason: format!(
                        "the run to resume (MLFLOW_RUN_ID={run_id}) already has the parent run {}; a run's parent is never changed",
                        t.value
                    ),
                });
            }
            None => {}
        }
        if resumed.info.experiment_id != parent_experiment {
            return Err(Error::ParentRun {
                parent_run_id: parent_id,
                reason: format!(
                    "the run to resume (MLFLOW_RUN_ID={run_id}) is in experiment {}, the parent in experiment {parent_experiment}; runs nest only within one experiment",
                    resumed.info.experiment_id
                ),
            });
        }
        let batch = Batch {
            tags: vec![RunTag {
                key: PARENT_RUN_ID_TAG.to_owned(),
                value: parent_id,
            }],
            ..Batch::default()
        };
        self.ctx.store()?.clone().log_batch(run_id, &batch).await
    }
}

/// What the store's answer about parent `id` means for a run nesting under it.
fn parent_experiment(id: &str, found: Result<Run>, location: &str) -> Result<String> {
    let reason = match found {
        Ok(run) if run.info.lifecycle_stage == "deleted" => {
            "it is deleted (restore it with `mlflow runs restore --run-id ...`, or nest under another run)".to_owned()
        }
        Ok(run) => return Ok(run.info.experiment_id),
        Err(e) if e.error_code() == Some("RESOURCE_DOES_NOT_EXIST") => {
            format!("no such run in {location} (is the parent in another store?)")
        }
        Err(e) => format!("cannot read it: {e}"),
    };
    Err(Error::ParentRun {
        parent_run_id: id.to_owned(),
        reason,
    })
}
