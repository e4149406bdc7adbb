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
use crate::base::model::{Batch, CreateRun, RunInfo, RunStatus, RunTag};
use crate::base::{system, validate};

impl Sender {
    pub(super) async fn start(
        &mut self,
        run: Arc<RunSlot>,
        spec: StartSpec,
        early_tags: Vec<RunTag>,
    ) {
        let result = self.create(spec, early_tags).await;
        self.started(run, result);
    }

    /// Records how a run's creation went: resolves its slot, keeps its state.
    pub(super) fn started(&mut self, run: Arc<RunSlot>, result: Result<Created>) {
        let local = run.local_id;
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
        match self.prepare_create(spec, early_tags).await? {
            Prepared::Done(created) => Ok(created),
            Prepared::Request(request) => {
                let answer = self.ctx.store()?.clone().create_run(&request.request).await;
                self.create_answered(request, answer)
            }
        }
    }

    /// Everything of a creation before the store's `create_run`: the experiment, the tags,
    /// the parent; a resumed run, or one that goes to the spill, is done here.
    pub(super) async fn prepare_create(
        &mut self,
        spec: StartSpec,
        early_tags: Vec<RunTag>,
    ) -> Result<Prepared> {
        let store = self.ctx.store()?.clone();
        if let Some(id) = spec.resume {
            let existing = store.get_run(&id).await?;
            if let Some(parent) = spec.parent.as_deref().filter(|p| p.attached) {
                self.adopt(&existing, parent).await?;
            }
            store.update_run(&id, RunStatus::Running, None).await?;
            return Ok(Prepared::Done(Created::Stored {
                id,
                experiment_id: existing.info.experiment_id,
                run_name: existing.info.run_name,
            }));
        }
        let same_as_parent = spec.experiment == ExperimentSel::SameAsParent;
        let parent = self.parent_experiment(spec.parent.as_deref()).await?;
        let experiment = match self.outage {
            Some(_) => Err(self.offline_for(&spec.experiment, &parent)),
            None => match self
                .online_experiment(spec.experiment.clone(), &parent.experiment)
                .await
            {
                Ok(id) => Ok(id),
                Err(e) if is_outage(&e) => {
                    self.enter_outage(e);
                    Err(self.offline_for(&spec.experiment, &parent))
                }
                Err(e) => return Err(e),
            },
        };
        let parent_experiment = parent.experiment;
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
        if spec.client_id.is_none() {
            // The server chooses the id: were the answer lost, the key finds the run again.
            let key = uuid::Uuid::new_v4().simple().to_string();
            tags.push(tag(system::CREATE_KEY_TAG, key));
        }
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
        if self.outage.is_none()
            && parent_ref.is_none()
            && let Some(experiment_id) = experiment_id
        {
            return Ok(Prepared::Request(CreateRequest {
                request,
                experiment_id,
            }));
        }
        self.spill_create(request, experiment_id, experiment_name, parent_ref)
            .map(Prepared::Done)
    }

    /// What the store's answer to a prepared creation means: the run, or its creation in
    /// the spill when the store is unreachable (a creation is never sent twice).
    pub(super) fn create_answered(
        &mut self,
        prepared: CreateRequest,
        answer: Result<RunInfo>,
    ) -> Result<Created> {
        match answer {
            Ok(info) => Ok(Created::Stored {
                id: info.run_id,
                experiment_id: prepared.experiment_id,
                run_name: prepared.request.run_name,
            }),
            Err(e) if is_outage(&e) => {
                self.enter_outage(e);
                self.spill_create(prepared.request, Some(prepared.experiment_id), None, None)
            }
            Err(e) => Err(e),
        }
    }
}

/// A creation made ready: its request for the store, or already done.
pub(super) enum Prepared {
    Done(Created),
    Request(CreateRequest),
}

/// A `runs/create` request to send, with the experiment it goes to.
pub(super) struct CreateRequest {
    pub(super) request: CreateRun,
    pub(super) experiment_id: String,
}

/// What is known of a new run's parent experiment before the run is created.
pub(super) struct ParentExperiment {
    /// The parent's experiment, when known.
    pub(super) experiment: Option<String>,
    /// The parent was started elsewhere and the store could not be asked (an outage): its
    /// experiment is looked up when the creation is replayed.
    pub(super) unresolved: bool,
}

impl Sender {
    /// The experiment of a new run's parent: remembered for parents created here, asked of
    /// the store (once) for parents from elsewhere.
    async fn parent_experiment(&mut self, parent: Option<&RunSlot>) -> Result<ParentExperiment> {
        let mut known = ParentExperiment {
            experiment: None,
            unresolved: false,
        };
        let Some(parent) = parent else {
            return Ok(known);
        };
        if !parent.attached {
            known.experiment = self.run_experiments.get(&parent.local_id).cloned();
            return Ok(known);
        }
        if self.outage.is_some() {
            // Only what was learnt before the outage; the store is not asked now.
            match parent
                .known_id()
                .and_then(|id| self.attached_parents.get(&id))
            {
                Some(answer) => known.experiment = Some(answer.clone()?),
                None => known.unresolved = true,
            }
            return Ok(known);
        }
        match self.attached_parent_experiment(parent).await {
            Ok(id) => known.experiment = Some(id),
            Err(e) if is_outage(&e) => {
                self.enter_outage(e);
                known.unresolved = true;
            }
            Err(e) => return Err(e),
        }
        Ok(known)
    }

    /// The experiment for a run created during an outage: an id, a name, or neither (then
    /// the replay puts the run into its parent's experiment, looked up then).
    fn offline_for(
        &self,
        sel: &ExperimentSel,
        parent: &ParentExperiment,
    ) -> (Option<String>, Option<String>) {
        if parent.unresolved && *sel == ExperimentSel::SameAsParent {
            return (None, None);
        }
        self.offline_experiment(sel, &parent.experiment)
    }
}
