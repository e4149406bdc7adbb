//! The experiment resolver: which experiment a new run goes to, resolved once and cached as
//! the Python client does, online (asking the store) or offline (from what is known, for a
//! creation written to the spill).

use std::collections::HashMap;

use super::command::ExperimentSel;
use super::identity::RunSlot;
use crate::base::env::{self, DefaultExperiment};
use crate::base::error::{Error, Result};
use crate::base::model::Run;
use crate::store::Store;
use crate::store::common::{get_or_create_experiment, is_outage};

/// What is known of a new run's parent experiment before the run is created.
#[derive(Debug, Default)]
pub(super) struct ParentExperiment {
    /// The parent's experiment, when known.
    pub(super) experiment: Option<String>,
    /// The parent was started elsewhere and the store could not be asked (an outage): its
    /// experiment is looked up when the creation is replayed.
    pub(super) unresolved: bool,
}

/// Where a run created offline goes, as far as is known without the store.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct OfflinePlace {
    /// The experiment's id, when known.
    pub(super) experiment_id: Option<String>,
    /// The experiment's name, to get or create at replay; with an id beside it, the
    /// experiment of that name must have that id.
    pub(super) experiment_name: Option<String>,
}

/// Experiments resolved so far: by name, the default one, the runs' and the parents'.
#[derive(Default)]
pub(super) struct Experiments {
    by_name: HashMap<String, String>,
    /// The answer for runs that name none; an outage is no answer and is not kept.
    default: Option<Result<String>>,
    /// The experiment of each run created here, so that its children follow it.
    of_run: HashMap<u64, String>,
    /// Experiments of parents from elsewhere, by run id: asked of the store once.
    of_attached_parent: HashMap<String, Result<String>>,
}

impl Experiments {
    /// The experiment id for `sel`, asking `store` when it is not known yet.
    pub(super) async fn online(
        &mut self,
        store: &dyn Store,
        sel: &ExperimentSel,
        parent_experiment: Option<&str>,
    ) -> Result<String> {
        match (sel, parent_experiment) {
            (ExperimentSel::Id(id), _) => Ok(id.clone()),
            (ExperimentSel::Name(name), _) => self.by_name(store, name, None).await,
            (ExperimentSel::SameAsParent, Some(id)) => Ok(id.to_owned()),
            (ExperimentSel::SameAsParent | ExperimentSel::Default, _) => self.default(store).await,
        }
    }

    /// The experiment called `name`, created if missing (see [`get_or_create_experiment`]).
    async fn by_name(
        &mut self,
        store: &dyn Store,
        name: &str,
        expected_id: Option<&str>,
    ) -> Result<String> {
        if let Some(id) = self.by_name.get(name) {
            return match expected_id.filter(|e| e != id) {
                Some(expected) => Err(env::id_mismatch(name, expected, id)),
                None => Ok(id.clone()),
            };
        }
        let id = get_or_create_experiment(store, name, expected_id)
            .await?
            .experiment_id;
        self.by_name.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The experiment for runs that name none, resolved once by the environment's rule
    /// ([`env::default_experiment`]).
    async fn default(&mut self, store: &dyn Store) -> Result<String> {
        if let Some(resolved) = &self.default {
            return resolved.clone();
        }
        let resolved = match env::default_experiment() {
            DefaultExperiment::Named { name, expected_id } => {
                self.by_name(store, &name, expected_id.as_deref()).await
            }
            DefaultExperiment::Id(id) => match store.get_experiment(&id).await {
                Ok(Some(e)) => Ok(e.experiment_id),
                Ok(None) => Err(env::missing_id(&id)),
                Err(e) => Err(e),
            },
            DefaultExperiment::Default => Ok("0".into()),
        };
        if !matches!(&resolved, Err(e) if is_outage(e)) {
            self.default = Some(resolved.clone());
        }
        resolved
    }

    /// Where a run goes when the store cannot be asked: an id, or a name to get or create at
    /// replay (or neither: the replay puts the run into its parent's experiment, looked up
    /// then). The same rule as [`Experiments::online`], from what is known.
    pub(super) fn offline(&self, sel: &ExperimentSel, parent: &ParentExperiment) -> OfflinePlace {
        let id = |id: &str| OfflinePlace {
            experiment_id: Some(id.to_owned()),
            experiment_name: None,
        };
        let name = |name: &str, expected_id: Option<String>| match self.by_name.get(name) {
            Some(known) => id(known),
            None => OfflinePlace {
                experiment_id: expected_id,
                experiment_name: Some(name.to_owned()),
            },
        };
        let default = || match &self.default {
            Some(Ok(known)) => id(known),
            _ => match env::default_experiment() {
                DefaultExperiment::Named {
                    name: n,
                    expected_id,
                } => name(&n, expected_id),
                DefaultExperiment::Id(known) => id(&known),
                DefaultExperiment::Default => id("0"),
            },
        };
        match (sel, &parent.experiment) {
            (ExperimentSel::Id(known), _) => id(known),
            (ExperimentSel::Name(n), _) => name(n, None),
            (ExperimentSel::SameAsParent, Some(known)) => id(known),
            (ExperimentSel::SameAsParent, None) if parent.unresolved => OfflinePlace::default(),
            (ExperimentSel::SameAsParent | ExperimentSel::Default, _) => default(),
        }
    }

    /// The experiment of a new run's parent: remembered for parents created here, asked of
    /// the store (once) for parents from elsewhere, unless `store` is `None` (offline).
    pub(super) async fn parent(
        &mut self,
        store: Option<&dyn Store>,
        parent: Option<&RunSlot>,
    ) -> Result<ParentExperiment> {
        let Some(parent) = parent else {
            return Ok(ParentExperiment::default());
        };
        if !parent.attached {
            return Ok(ParentExperiment {
                experiment: self.of_run.get(&parent.local_id).cloned(),
                unresolved: false,
            });
        }
        let Some(store) = store else {
            // Only what was learnt before the outage; the store is not asked now.
            return match parent
                .known_id()
                .and_then(|id| self.of_attached_parent.get(&id))
            {
                Some(answer) => Ok(ParentExperiment {
                    experiment: Some(answer.clone()?),
                    unresolved: false,
                }),
                None => Ok(ParentExperiment {
                    experiment: None,
                    unresolved: true,
                }),
            };
        };
        Ok(ParentExperiment {
            experiment: Some(self.attached_parent(store, parent).await?),
            unresolved: false,
        })
    }

    /// The experiment of `parent`, a run started elsewhere; the store is asked once per
    /// parent and process. An outage is returned as is (and not remembered), so that the
    /// caller can spill; anything else becomes an [`Error::ParentRun`] naming the parent.
    pub(super) async fn attached_parent(
        &mut self,
        store: &dyn Store,
        parent: &RunSlot,
    ) -> Result<String> {
        let Some(id) = parent.known_id() else {
            return Err(Error::Internal(format!(
                "the attached parent run {:?} has no id",
                parent.name
            )));
        };
        if let Some(known) = self.of_attached_parent.get(&id) {
            return known.clone();
        }
        let found = match store.get_run(&id).await {
            Err(e) if is_outage(&e) => return Err(e),
            found => found,
        };
        let answer = parent_answer(&id, found, &store.location());
        self.of_attached_parent.insert(id, answer.clone());
        answer
    }

    /// Remembers the experiment of a run created here.
    pub(super) fn record(&mut self, local: u64, experiment_id: String) {
        self.of_run.insert(local, experiment_id);
    }

    /// The experiment of a run created here, if known.
    pub(super) fn of_run(&self, local: u64) -> Option<&str> {
        self.of_run.get(&local).map(String::as_str)
    }

    /// Forgets an ended run's experiment once many are kept: it is still needed for
    /// children started after their parent ended, which is rare, and a long sweep must not
    /// grow the map forever.
    pub(super) fn ended(&mut self, local: u64) {
        if self.of_run.len() > 10_000 {
            self.of_run.remove(&local);
        }
    }
}

/// What the store's answer about parent `id` means for a run nesting under it.
fn parent_answer(id: &str, found: Result<Run>, location: &str) -> Result<String> {
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
