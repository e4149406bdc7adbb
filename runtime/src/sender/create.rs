//! Creating runs: the experiment, the system and parent tags, then the store's create (or
//! the spill, during an outage).

use std::sync::Arc;

use super::batching::{dedup_last_wins, tag};
use super::command::{ExperimentSel, StartSpec};
use super::outage::Created;
use super::slot::RunSlot;
use super::spill::{RunRef, is_outage};
use super::state::{RunState, Sender};
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, CreateRun, RunStatus, RunTag};
use crate::base::{system, validate};

impl Sender {
    pub(super) async fn start(
        &mut self,
        run: Arc<RunSlot>,
        spec: StartSpec,
        early_tags: Vec<RunTag>,
    ) {
        let local = run.local_id;
        let result = self.create(spec, early_tags).await;
        let mut spill_ref = None;
        let mut stored_name = None;
        let id = match result {
            Ok(Created::Stored {
                id,
                experiment_id,
                run_name,
            }) => {
                self.run_experiments.insert(local, experiment_id);
                run.resolve_id(Ok(id.clone()));
                stored_name = Some(run_name);
                Ok(id)
            }
            Ok(Created::Spilled(reference, experiment_id)) => {
                if let Some(experiment_id) = experiment_id {
                    self.run_experiments.insert(local, experiment_id);
                }
                let err = Error::RunNotCreated {
                    run_name: run.name.clone(),
                    source: Box::new(self.spilled_error()),
                };
                run.resolve_id(Err(err.clone()));
                spill_ref = Some(reference);
                Err(err)
            }
            Err(e) => {
                let err = Error::RunNotCreated {
                    run_name: run.name.clone(),
                    source: Box::new(e),
                };
                run.resolve_id(Err(err.clone()));
                self.fail(err.clone());
                Err(err)
            }
        };
        self.runs.insert(
            local,
            RunState {
                run_name: stored_name.unwrap_or_else(|| run.name.clone()),
                slot: run,
                id,
                spill_ref,
                pending: Batch::default(),
            },
        );
    }

    /// Creates (or resumes) the run in the store; returns its id and experiment.
    pub(super) async fn create(
        &mut self,
        spec: StartSpec,
        early_tags: Vec<RunTag>,
    ) -> Result<Created> {
        let store = self.ctx.store()?.clone();
        if let Some(id) = spec.resume {
            let existing = store.get_run(&id).await?;
            store.update_run(&id, RunStatus::Running, None).await?;
            return Ok(Created::Stored {
                id,
                experiment_id: existing.info.experiment_id,
                run_name: existing.info.run_name,
            });
        }
        let parent_experiment = spec
            .parent
            .as_ref()
            .and_then(|p| self.run_experiments.get(&p.local_id).cloned());
        let same_as_parent = spec.experiment == ExperimentSel::SameAsParent;
        let experiment = match self.outage {
            Some(_) => Err(self.offline_experiment(&spec.experiment, &parent_experiment)),
            None => match self
                .online_experiment(spec.experiment.clone(), &parent_experiment)
                .await
            {
                Ok(id) => Ok(id),
                Err(e) if is_outage(&e) => {
                    self.enter_outage(e);
                    Err(self.offline_experiment(&spec.experiment, &parent_experiment))
                }
                Err(e) => return Err(e),
            },
        };
        let mut tags: Vec<RunTag> = system::tags().to_vec();
        let mut parent_ref = None;
        if let Some(parent) = &spec.parent {
            // A run in another experiment than its parent starts at the top of its own.
            let nests = match &experiment {
                Ok(id) => parent_experiment.as_deref() == Some(id.as_str()),
                Err(_) => same_as_parent,
            };
            if nests {
                match self.parent_ref(parent) {
                    Some(RunRef::Id(parent_id)) => tags.push(tag("mlflow.parentRunId", parent_id)),
                    Some(RunRef::Spilled(r)) => parent_ref = Some(r),
                    None => {
                        return Err(Error::Config(format!(
                            "its parent run {:?} was not created",
                            parent.name
                        )));
                    }
                }
            }
        }
        tags.push(tag("mlflow.runName", spec.name.clone()));
        for t in spec.user_tags.into_iter().chain(early_tags) {
            match validate::key("tag", &t.key) {
                Ok(()) => tags.push(t),
                Err(e) => self.fail(e),
            }
        }
        let tags = dedup_last_wins(tags);
        let find = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        // The server refuses a run_name that differs from the mlflow.runName tag.
        let run_name = find("mlflow.runName").unwrap_or(spec.name);
        let user_id = find("mlflow.user").unwrap_or_else(|| "unknown".into());
        let (experiment_id, experiment_name) = match experiment {
            Ok(id) => (Some(id), None),
            Err(offline) => offline,
        };
        let request = CreateRun {
            experiment_id: experiment_id.clone().unwrap_or_default(),
            run_id: spec.client_id,
            user_id,
            run_name,
            start_time: spec.start_time,
            tags,
        };
        if self.outage.is_none() && parent_ref.is_none() && experiment_id.is_some() {
            match store.create_run(&request).await {
                Ok(info) => {
                    return Ok(Created::Stored {
                        id: info.run_id,
                        experiment_id: experiment_id.unwrap_or_default(),
                        run_name: request.run_name,
                    });
                }
                Err(e) if is_outage(&e) => self.enter_outage(e),
                Err(e) => return Err(e),
            }
        }
        self.spill_create(request, experiment_id, experiment_name, parent_ref)
    }
}
