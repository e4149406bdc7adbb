//! What callers of any store do the same way: getting or creating an experiment when
//! other processes may do so at once, and telling an outage from a refusal.

use crate::base::env;
use crate::base::error::{Error, Result};
use crate::base::model::Experiment;
use crate::store::Store;

/// True for errors that say the store is unreachable or overloaded, rather than that the
/// request is wrong: the ones worth keeping for later.
pub(crate) fn is_outage(e: &Error) -> bool {
    match e {
        Error::Transport { .. } => true,
        Error::Api { status, .. } => crate::base::error::is_retry_status(*status),
        // Other processes kept the embedded store's file locked through every retry.
        #[cfg(feature = "sqlite")]
        Error::Sqlite { .. } => crate::store::sqlite::is_busy(e),
        Error::Undelivered { source, .. } | Error::RunNotCreated { source, .. } => {
            is_outage(source)
        }
        _ => false,
    }
}

/// Gets the experiment called `name`, creating it if missing, as `set_experiment` does.
/// When it exists and `expected_id` is given (`MLFLOW_EXPERIMENT_NAME` and
/// `MLFLOW_EXPERIMENT_ID` both set), it must have that id, as the Python client requires; a
/// missing one is created whatever the id says, as Python does.
pub(crate) async fn get_or_create_experiment(
    store: &dyn Store,
    name: &str,
    expected_id: Option<&str>,
) -> Result<Experiment> {
    if let Some(e) = store.get_experiment_by_name(name).await? {
        if e.lifecycle_stage == "deleted" {
            return Err(Error::api(
                400,
                "INVALID_PARAMETER_VALUE",
                format!(
                    "experiment {name:?} is deleted; restore it (`mlflow experiments restore --experiment-id {}`) or use another name",
                    e.experiment_id
                ),
            ));
        }
        if let Some(expected) = expected_id.filter(|id| *id != e.experiment_id) {
            return Err(env::id_mismatch(name, expected, &e.experiment_id));
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
    Ok(store
        .get_experiment(&id)
        .await?
        .unwrap_or_else(|| Experiment::new(id, name)))
}
