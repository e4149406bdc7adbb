//! What callers send the sender (commands, run starts, one-off requests), and the store as
//! those requests see it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::identity::RunSlot;
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, Experiment, RunStatus, RunTag};
use crate::store::Store;
use crate::store::common::get_or_create_experiment;

/// The store a sender feeds, as requests run on the sender see it: it may have failed to
/// open, and then every request gets why.
#[derive(Clone, Debug)]
pub(crate) struct OpenedStore(std::result::Result<Arc<dyn Store>, Error>);

impl OpenedStore {
    pub(crate) fn new(store: std::result::Result<Arc<dyn Store>, Error>) -> OpenedStore {
        OpenedStore(store)
    }

    /// The store, or why it could not be opened.
    pub(crate) fn get(&self) -> Result<&Arc<dyn Store>> {
        self.0.as_ref().map_err(Clone::clone)
    }

    /// Where data goes, for messages: the store's location, or why there is none.
    pub(crate) fn location(&self) -> String {
        match &self.0 {
            Ok(store) => store.location(),
            Err(e) => e.to_string(),
        }
    }

    /// Gets the experiment called `name`, creating it if missing, as `set_experiment` does.
    pub(crate) async fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        get_or_create_experiment(self.get()?.as_ref(), name, None).await
    }
}

/// A boxed future run on the sender.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A query or one-off call run on the sender in queue order; it gets the store.
pub(crate) type Request<T> = Box<dyn FnOnce(OpenedStore) -> BoxFuture<Result<T>> + Send>;

/// Which experiment a new run goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExperimentSel {
    /// This experiment id.
    Id(String),
    /// The experiment with this name, created if missing.
    Name(String),
    /// `MLFLOW_EXPERIMENT_NAME` / `MLFLOW_EXPERIMENT_ID`, else the Default experiment "0".
    Default,
    /// The parent run's experiment.
    SameAsParent,
}

/// What the caller knew when it started a run.
#[derive(Debug)]
pub(crate) struct StartSpec {
    pub(crate) name: String,
    /// Whether the caller named the run (a resumed run is renamed only then).
    pub(crate) name_given: bool,
    pub(crate) client_id: Option<String>,
    pub(crate) resume: Option<String>,
    pub(crate) user_tags: Vec<RunTag>,
    pub(crate) parent: Option<Arc<RunSlot>>,
    pub(crate) experiment: ExperimentSel,
    pub(crate) start_time: i64,
}

/// A unit of work for the sender.
pub(crate) enum Command {
    Start {
        run: Arc<RunSlot>,
        spec: StartSpec,
    },
    Log {
        run: Arc<RunSlot>,
        batch: Batch,
    },
    End {
        run: Arc<RunSlot>,
        status: RunStatus,
        end_time: i64,
        error: Option<String>,
    },
    /// A failure found on the caller's side with no caller to return it to: kept for
    /// `flush()` like the sender's own.
    Failed(Error),
    /// Store everything pending, then answer with the failures since the last flush.
    Flush(flume::Sender<Vec<Error>>),
    /// Store everything pending, then run this.
    Call(Box<dyn FnOnce(OpenedStore) -> BoxFuture<()> + Send>),
}
