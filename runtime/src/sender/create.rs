//! Creating runs: from what the caller asked to the store's `CreateRun` (the experiment,
//! the system and parent tags, the run's name, the key that finds a run whose answer was
//! lost), or to the spill when the store is down; resuming a run by id (adopting a parent
//! from elsewhere).

use std::sync::Arc;

use super::batching::{dedup_last_wins, split, tag};
use super::command::{ExperimentSel, StartSpec};
use super::experiments::{Experiments, OfflinePlace, ParentExperiment};
use super::identity::{RunRef, RunSlot};
use super::offline::Offline;
use crate::base::error::{Error, Result};
use crate::base::model::{
    Batch, CreateRun, PARENT_RUN_ID_TAG, Run, RunInfo, RunStatus, RunTag, RunUpdate,
};
use crate::base::{system, validate};
use crate::store::Store;
use crate::store::common::is_outage;

/// A run to create: its slot, what the caller asked, the tags logged right after it (they
/// ride on the create request).
pub(super) struct Start {
    pub(super) slot: Arc<RunSlot>,
    pub(super) spec: StartSpec,
    pub(super) early_tags: Vec<RunTag>,
}

/// How a run's creation went, when it did not fail.
pub(super) enum Created {
    /// The store has it.
    Stored {
        id: String,
        experiment_id: String,
        /// The name the store has for it (a resumed run keeps its own).
        run_name: String,
    },
    /// Its creation waits in the spill file.
    Spilled {
        reference: String,
        /// Its experiment, when known offline.
        experiment_id: Option<String>,
    },
}

/// A creation made ready: its request for the store, or already done (resumed, spilled,
/// refused).
pub(super) enum Prepared {
    Send(CreateRequest),
    Done(Result<Created>),
}

/// A `runs/create` request to send, with the experiment it goes to.
pub(super) struct CreateRequest {
    pub(super) request: CreateRun,
    pub(super) experiment_id: String,
}

/// Where a new run goes: an experiment the store has, or what is known of it offline.
enum Placement {
    Online(String),
    Offline(OfflinePlace),
}

/// The parts of the sender a creation needs, borrowed for it.
pub(super) struct Creation<'a> {
    pub(super) store: &'a Arc<dyn Store>,
    pub(super) experiments: &'a mut Experiments,
    pub(super) offline: &'a mut Offline,
    /// Where data goes, for the outage's messages.
    pub(super) location: String,
    /// What the creation refused without stopping (tags with bad keys), to report.
    pub(super) refused: Vec<Error>,
}

impl Creation<'_> {
    /// Everything of a creation before the store's `create_run`: the experiment, the tags,
    /// the parent; a resumed run, or one that goes to the spill, is done here.
    pub(super) async fn prepare(&mut self, start: Start) -> Result<Prepared> {
        let Start {
            slot,
            spec,
            early_tags,
        } = start;
        if let Some(id) = spec.resume.clone() {
            return Ok(Prepared::Done(self.resume(id, spec, early_tags).await));
        }
        // A child of a run that could not be created is not created either: it would land
        // outside the tree, in whatever experiment its parent's failure left it.
        if let Some(parent) = &spec.parent
            && let Some(why) = parent.failure()
        {
            return Err(parent_not_created(parent, &why));
        }
        let parent = self.parent_experiment(spec.parent.as_deref()).await?;
        let placement = self.placement(&spec.experiment, &parent).await?;
        // A run in another experiment than its parent starts at the top of its own.
        let nests = match &placement {
            Placement::Online(id) => parent.experiment.as_deref() == Some(id.as_str()),
            Placement::Offline(_) => spec.experiment == ExperimentSel::SameAsParent,
        };
        let (mut parent_id, mut parent_ref) = (None, None);
        if let Some(parent) = spec.parent.as_ref().filter(|_| nests) {
            match parent.target() {
                Ok(RunRef::Id(id)) => parent_id = Some(id),
                Ok(RunRef::Spilled(reference)) => parent_ref = Some(reference),
                Err(why) => return Err(parent_not_created(parent, &why)),
            }
        }
        let experiment_id = match &placement {
            Placement::Online(id) => Some(id.clone()),
            Placement::Offline(place) => place.experiment_id.clone(),
        };
        let (request, refused) = create_request(spec, early_tags, experiment_id, parent_id);
        self.refused.extend(refused);
        let place = match placement {
            Placement::Online(experiment_id) if !self.offline.is_down() && parent_ref.is_none() => {
                return Ok(Prepared::Send(CreateRequest {
                    request,
                    experiment_id,
                }));
            }
            Placement::Online(experiment_id) => OfflinePlace {
                experiment_id: Some(experiment_id),
                experiment_name: None,
            },
            Placement::Offline(place) => place,
        };
        Ok(Prepared::Done(
            self.spill(&slot, request, place, parent_ref),
        ))
    }

    /// The experiment of a new run's parent: online unless the store is down (or goes down
    /// now).
    async fn parent_experiment(&mut self, parent: Option<&RunSlot>) -> Result<ParentExperiment> {
        let online = (!self.offline.is_down()).then_some(self.store.as_ref());
        match self.experiments.parent(online, parent).await {
            Err(e) if is_outage(&e) => {
                self.offline.enter(e, &self.location);
                self.experiments.parent(None, parent).await
            }
            known => known,
        }
    }

    /// Where a new run goes: asked of the store unless it is down (or goes down now).
    async fn placement(
        &mut self,
        sel: &ExperimentSel,
        parent: &ParentExperiment,
    ) -> Result<Placement> {
        if !self.offline.is_down() {
            let parent_experiment = parent.experiment.as_deref();
            match self
                .experiments
                .online(self.store.as_ref(), sel, parent_experiment)
                .await
            {
                Ok(id) => return Ok(Placement::Online(id)),
                Err(e) if is_outage(&e) => self.offline.enter(e, &self.location),
                Err(e) => return Err(e),
            }
        }
        Ok(Placement::Offline(self.experiments.offline(sel, parent)))
    }

    /// Resumes the existing run `id` (`MLFLOW_RUN_ID`, `RunBuilder::resume`) as the Python
    /// client does: sets it RUNNING again (renamed when the caller named it), nested under a
    /// parent from elsewhere when it has none, then sets the tags the caller gave and those
    /// logged right after the start (a new run gets them with its creation).
    async fn resume(
        &mut self,
        id: String,
        spec: StartSpec,
        early_tags: Vec<RunTag>,
    ) -> Result<Created> {
        let store = self.store.as_ref();
        let existing = store.get_run(&id).await?;
        if existing.info.lifecycle_stage == "deleted" {
            return Err(Error::api(
                400,
                "INVALID_PARAMETER_VALUE",
                format!(
                    "cannot resume run {id}: it is deleted (restore it first: mlflow::Client::restore_run, or `mlflow runs restore --run-id {id}`)"
                ),
            ));
        }
        if let Some(parent) = spec.parent.as_deref().filter(|p| p.attached) {
            adopt(store, self.experiments, &existing, parent).await?;
        }
        let run_name = spec.name_given.then(|| spec.name.clone());
        let update = RunUpdate {
            run_name: run_name.clone(),
            ..RunUpdate::status(RunStatus::Running)
        };
        store.update_run(&id, &update).await?;
        let mut tags = Vec::new();
        for t in spec.user_tags.into_iter().chain(early_tags) {
            match validate::key("tag", &t.key) {
                Ok(()) => tags.push(t),
                Err(e) => self.refused.push(e),
            }
        }
        let batch = Batch {
            tags: dedup_last_wins(tags),
            ..Batch::default()
        };
        for piece in split(batch, store.limits()) {
            store.log_batch(&id, &piece).await?;
        }
        Ok(Created::Stored {
            id,
            experiment_id: existing.info.experiment_id,
            run_name: run_name.unwrap_or(existing.info.run_name),
        })
    }

    /// What the store's answer to a creation means: the run, or its creation in the spill
    /// when the store is unreachable (a creation is never sent twice).
    pub(super) fn answered(
        &mut self,
        slot: &Arc<RunSlot>,
        sent: CreateRequest,
        answer: Result<RunInfo>,
    ) -> Result<Created> {
        match answer {
            Ok(info) => Ok(Created::Stored {
                id: info.run_id,
                experiment_id: sent.experiment_id,
                run_name: sent.request.run_name,
            }),
            Err(e) if is_outage(&e) => {
                self.offline.enter(e, &self.location);
                let place = OfflinePlace {
                    experiment_id: Some(sent.experiment_id),
                    experiment_name: None,
                };
                self.spill(slot, sent.request, place, None)
            }
            Err(e) => Err(e),
        }
    }

    fn spill(
        &mut self,
        slot: &Arc<RunSlot>,
        request: CreateRun,
        place: OfflinePlace,
        parent_ref: Option<String>,
    ) -> Result<Created> {
        let experiment_id = place.experiment_id.clone();
        let reference = self
            .offline
            .write_create(request, place, parent_ref, slot)?;
        Ok(Created::Spilled {
            reference,
            experiment_id,
        })
    }
}

/// Why a child of a run that could not be created is not created.
fn parent_not_created(parent: &RunSlot, why: &Error) -> Error {
    Error::ParentRun {
        parent_run_id: format!("{:?}", parent.name),
        reason: format!("it could not be created: {why}"),
    }
}

/// The `CreateRun` for a run going into `experiment_id` (empty when only the replay will
/// know it) under the parent `parent_id`, if any; with the tags it refused (bad keys), which
/// do not stop the creation.
fn create_request(
    spec: StartSpec,
    early_tags: Vec<RunTag>,
    experiment_id: Option<String>,
    parent_id: Option<String>,
) -> (CreateRun, Vec<Error>) {
    let mut tags: Vec<RunTag> = system::tags().to_vec();
    if let Some(parent_id) = parent_id {
        tags.push(tag(PARENT_RUN_ID_TAG, parent_id));
    }
    tags.push(tag("mlflow.runName", spec.name.clone()));
    if spec.client_id.is_none() {
        // The server chooses the id: were the answer lost, the key finds the run again.
        let key = uuid::Uuid::new_v4().simple().to_string();
        tags.push(tag(system::CREATE_KEY_TAG, key));
    }
    let mut refused = Vec::new();
    for t in spec.user_tags.into_iter().chain(early_tags) {
        match validate::key("tag", &t.key) {
            Ok(()) => tags.push(t),
            Err(e) => refused.push(e),
        }
    }
    let tags = dedup_last_wins(tags);
    let find = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
    // The server refuses a run_name that differs from the mlflow.runName tag.
    let run_name = find("mlflow.runName").unwrap_or(spec.name);
    let user_id = find("mlflow.user").unwrap_or_else(|| "unknown".into());
    let request = CreateRun {
        experiment_id: experiment_id.unwrap_or_default(),
        run_id: spec.client_id,
        user_id,
        run_name,
        start_time: spec.start_time,
        tags,
    };
    (request, refused)
}

/// Nests the run being resumed under `parent`: sets its parent tag when it has none,
/// accepts the same parent, and refuses another one (the Python client silently overwrites
/// it: mlflow#15713).
async fn adopt(
    store: &dyn Store,
    experiments: &mut Experiments,
    resumed: &Run,
    parent: &RunSlot,
) -> Result<()> {
    let parent_experiment = experiments.attached_parent(store, parent).await?;
    let parent_id = parent.known_id().unwrap_or_default();
    let run_id = &resumed.info.run_id;
    match resumed.parent_run_id() {
        Some(existing) if existing == parent_id => return Ok(()),
        Some(existing) => {
            return Err(Error::ParentRun {
                parent_run_id: parent_id,
                reason: format!(
                    "the run to resume (MLFLOW_RUN_ID={run_id}) already has the parent run {existing}; a run's parent is never changed"
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
        tags: vec![tag(PARENT_RUN_ID_TAG, parent_id)],
        ..Batch::default()
    };
    store.log_batch(run_id, &batch).await
}
