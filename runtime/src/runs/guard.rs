//! The guard that keeps a run active on a thread and ends it when dropped.

use std::fmt;
use std::marker::PhantomData;

use super::cell::RunHandle;
use super::stack;
use crate::base::error::Result;
use crate::base::model::RunStatus;
use crate::base::outcome::Outcome;

/// The active run of a thread: created by [`RunBuilder::start`](crate::RunBuilder::start), it ends the run when
/// dropped: FINISHED, or FAILED while a panic unwinds. Not `Send`: it belongs to the thread
/// (or future) whose run stack it sits on.
#[must_use = "the run ends as soon as the guard is dropped"]
pub struct RunGuard {
    handle: RunHandle,
    done: bool,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for RunGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunGuard")
            .field("run", &self.handle)
            .finish()
    }
}

impl RunGuard {
    /// Guards `handle`, which the caller has just pushed on this thread's run stack.
    pub(super) fn new(handle: RunHandle) -> RunGuard {
        RunGuard {
            handle,
            done: false,
            _not_send: PhantomData,
        }
    }

    /// A handle to this run, to log to it or to hand it to other threads or tasks.
    pub fn handle(&self) -> RunHandle {
        self.handle.clone()
    }

    /// The run's id; see [`RunHandle::id`].
    pub fn id(&self) -> Result<String> {
        self.handle.id()
    }

    /// Ends the run with `status`.
    pub fn end(mut self, status: RunStatus) {
        self.finish(status, None, None);
    }

    /// Ends the run with `status` and the end time `end_time_ms` (milliseconds since the
    /// Unix epoch) instead of now, as Python's `MlflowClient().set_terminated(run_id,
    /// status, end_time)` does: for a run whose work ended earlier than the program.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let run = mlflow::start_run().name("replayed").start();
    /// run.end_at(mlflow::RunStatus::Finished, 1_700_000_000_000);
    /// ```
    pub fn end_at(mut self, status: RunStatus, end_time_ms: i64) {
        self.finish(status, None, Some(end_time_ms));
    }

    /// Ends the run as `outcome` says: FINISHED, or FAILED with the message in the `error`
    /// tag. A panic in progress always ends it FAILED.
    pub fn end_with(mut self, outcome: Outcome) {
        let (status, error) = outcome.into_parts();
        self.finish(status, error, None);
    }

    fn finish(&mut self, status: RunStatus, error: Option<String>, end_time: Option<i64>) {
        if self.done {
            return;
        }
        self.done = true;
        stack::remove(&self.handle);
        self.handle.end_from_guard(status, error, end_time);
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.finish(RunStatus::Finished, None, None);
    }
}
