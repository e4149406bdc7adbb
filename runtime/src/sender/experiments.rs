//! Which experiment a new run goes to, resolved once and cached as the Python client does.

use super::command::ExperimentSel;
use super::spill::is_outage;
use super::state::Sender;
use crate::base::config;
use crate::base::error::{Error, Result};

impl Sender {
    /// The experiment id for `sel`, asking the store when it is not known yet.
    pub(super) async fn online_experiment(
        &mut self,
        sel: ExperimentSel,
        parent_experiment: &Option<String>,
    ) -> Result<String> {
        match sel {
            ExperimentSel::Id(id) => Ok(id),
            ExperimentSel::Name(name) => self.experiment_by_name(&name).await,
            ExperimentSel::SameAsParent => match parent_experiment.clone() {
                Some(id) => Ok(id),
                None => self.default_experiment().await,
            },
            ExperimentSel::Default => self.default_experiment().await,
        }
    }

    pub(super) async fn experiment_by_name(&mut self, name: &str) -> Result<String> {
        if let Some(id) = self.experiments_by_name.get(name) {
            return Ok(id.clone());
        }
        let id = self.ctx.get_or_create_experiment(name).await?.experiment_id;
        self.experiments_by_name.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The experiment for runs that name none, resolved once as the Python client does.
    pub(super) async fn default_experiment(&mut self) -> Result<String> {
        if let Some(resolved) = &self.default_experiment {
            return resolved.clone();
        }
        let resolved = self.resolve_default_experiment().await;
        // An outage is no answer: ask again next time.
        if !matches!(&resolved, Err(e) if is_outage(e)) {
            self.default_experiment = Some(resolved.clone());
        }
        resolved
    }

    pub(super) async fn resolve_default_experiment(&mut self) -> Result<String> {
        let by_name = config::env_nonempty("MLFLOW_EXPERIMENT_NAME");
        let by_id = config::env_nonempty("MLFLOW_EXPERIMENT_ID");
        if let Some(name) = by_name {
            let id = self.experiment_by_name(&name).await?;
            if let Some(env_id) = by_id.filter(|env_id| *env_id != id) {
                return Err(Error::Config(format!(
                    "MLFLOW_EXPERIMENT_NAME={name:?} is experiment {id}, but MLFLOW_EXPERIMENT_ID={env_id}; set only one"
                )));
            }
            return Ok(id);
        }
        if let Some(id) = by_id {
            return match self.ctx.store()?.get_experiment(&id).await? {
                Some(e) => Ok(e.experiment_id),
                None => Err(Error::Config(format!(
                    "MLFLOW_EXPERIMENT_ID={id}: no such experiment"
                ))),
            };
        }
        Ok("0".into())
    }
}
