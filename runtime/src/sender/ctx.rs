//! The store as requests run on the sender see it.

use std::sync::Arc;

use crate::base::error::{Error, Result};
use crate::base::model::Experiment;
use crate::store::Store;

/// The store as requests see it: it may have failed to open.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(super) store: std::result::Result<Arc<dyn Store>, Error>,
}

impl Ctx {
    pub(crate) fn store(&self) -> Result<&Arc<dyn Store>> {
        self.store.as_ref().map_err(Clone::clone)
    }

    /// Gets the experiment called `name`, creating it if missing, as `set_experiment` does.
    pub(crate) async fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        let store = self.store()?;
        if let Some(e) = store.get_experiment_by_name(name).await? {
            if e.lifecycle_stage == "deleted" {
                return Err(Error::Config(format!(
                    "experiment {name:?} is deleted; restore it (`mlflow experiments restore --experiment-id {}`) or use another name",
                    e.experiment_id
                )));
            }
            return Ok(e);
        }
        let id = match store.create_experiment(name).await {
            Ok(id) => id,
            // Another process may have created it between our lookup and our create (the
            // server then says RESOURCE_ALREADY_EXISTS, or, from a database that refused the
            // duplicate in its own words, something else: mlflow#4123), or a retried create
            // may have reached the server the first time. Whatever the error, the name is
            // read again, and only a name that is still missing makes it an error.
            Err(e) => match store.get_experiment_by_name(name).await {
                Ok(Some(existing)) => return Ok(existing),
                _ => return Err(e),
            },
        };
        Ok(store.get_experiment(&id).await?.unwrap_or(Experiment {
            experiment_id: id,
            name: name.to_owned(),
            artifact_location: String::new(),
            lifecycle_stage: "active".into(),
        }))
    }
}
