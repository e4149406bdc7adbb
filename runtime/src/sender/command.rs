//! What callers send the sender: commands, run starts, and one-off requests.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::ctx::Ctx;
use super::slot::RunSlot;
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, RunStatus, RunTag};

/// A boxed future run on the sender.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A query or one-off call run on the sender in queue order; it gets the store.
pub(crate) type Request<T> = Box<dyn FnOnce(Ctx) -> BoxFuture<Result<T>> + Send>;

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
    Call(Box<dyn FnOnce(Ctx) -> BoxFuture<()> + Send>),
}
