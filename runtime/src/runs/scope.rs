//! Runs that follow a future instead of a thread, and the explicit hand-off of a run to
//! another thread or task.
//!
//! A [`Scoped`] future carries its own run stack and installs it in the thread's stack for
//! the duration of each poll, then puts the thread's stack back. So a future that moves
//! between worker threads keeps its runs, two futures polled concurrently by `join!` each see
//! their own run, and nothing stays installed across `.await`. It works on any executor.

use std::fmt::{self, Display};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use super::builder::RunBuilder;
use super::cell::RunHandle;
use super::stack::{self, RunStack};
use crate::base::error::Result;
use crate::base::model::RunStatus;
use crate::base::outcome::Outcome;

pin_project_lite::pin_project! {
    /// A future that runs with its own run stack installed; see [`RunHandle::scope`] and
    /// [`ScopedRun::scope`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        #[pin]
        inner: F,
        stack: RunStack,
        // Only a run's own scope marks it panicked; a hand-off must not fail the parent
        // for a panic in a task that the parent may well survive.
        owns_top: bool,
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped")
            .field("runs", &self.stack)
            .finish_non_exhaustive()
    }
}

/// Puts the thread's own stack back when a poll ends, also when it unwinds; a panic that
/// passes through marks the innermost run as panicked, so that it ends FAILED even when an
/// executor catches the panic before the run's guard is dropped.
struct Installed<'a> {
    stack: &'a mut RunStack,
    owns_top: bool,
    /// A closure entered on this thread (not a future, which may be polled anywhere): the
    /// run that last ended inside it ended on this thread.
    on_this_thread: bool,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        stack::swap(self.stack);
        if self.on_this_thread
            && let Some(run) = self.stack.last_ended()
        {
            stack::record_ended(run);
        }
        if self.owns_top
            && std::thread::panicking()
            && let Some(run) = self.stack.top()
        {
            run.cell.panicked.store(true, Ordering::Release);
        }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        stack::swap(this.stack);
        let _restore = Installed {
            stack: this.stack,
            owns_top: *this.owns_top,
            on_this_thread: false,
        };
        this.inner.poll(cx)
    }
}

/// Runs `f` on this thread with `run` as the active run (and no other).
pub(super) fn enter<R>(run: &RunHandle, f: impl FnOnce() -> R) -> R {
    let mut stack = RunStack::of(vec![run.clone()]);
    stack::swap(&mut stack);
    let _restore = Installed {
        stack: &mut stack,
        owns_top: false,
        on_this_thread: true,
    };
    f()
}

/// `fut` with `run` as its active run while it is polled.
pub(super) fn scoped<F: Future>(run: &RunHandle, fut: F) -> Scoped<F> {
    Scoped {
        inner: fut,
        stack: RunStack::of(vec![run.clone()]),
        owns_top: false,
    }
}

/// A run for async code, made by [`RunBuilder::start_scoped`]: `Send`, it may be held across
/// `.await`. Code under it sees it as the active run only inside [`ScopedRun::scope`].
/// Dropped without an explicit end, it ends FINISHED, or FAILED if a panic passed through
/// one of its scoped futures or is unwinding now.
#[must_use = "the run ends as soon as it is dropped"]
pub struct ScopedRun {
    handle: RunHandle,
    /// The stack the run was started in, plus the run.
    stack: RunStack,
    done: bool,
    on_drop: RunStatus,
}

impl fmt::Debug for ScopedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedRun")
            .field("run", &self.handle)
            .finish()
    }
}

impl ScopedRun {
    /// A handle to this run.
    pub fn handle(&self) -> RunHandle {
        self.handle.clone()
    }

    /// The run's id; see [`RunHandle::id`].
    pub fn id(&self) -> Result<String> {
        self.handle.id()
    }

    /// Wraps `fut` so that, while it is polled, this run is the innermost active run (on top
    /// of the runs that were active where this run started).
    pub fn scope<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped {
            inner: fut,
            stack: self.stack.clone(),
            owns_top: true,
        }
    }

    /// Sets the status the run ends with when dropped without [`ScopedRun::end`] or
    /// [`ScopedRun::end_with`]: the macros use KILLED, since an `async fn` whose future is
    /// dropped before completion was cancelled.
    pub fn status_on_drop(mut self, status: RunStatus) -> Self {
        self.on_drop = status;
        self
    }

    /// Ends the run with `status`.
    pub fn end(mut self, status: RunStatus) {
        self.finish(status, None, None);
    }

    /// Ends the run with `status` and the end time `end_time_ms` (milliseconds since the
    /// Unix epoch) instead of now; see [`RunGuard::end_at`](crate::RunGuard::end_at).
    pub fn end_at(mut self, status: RunStatus, end_time_ms: i64) {
        self.finish(status, None, Some(end_time_ms));
    }

    /// Ends the run as `outcome` says: FINISHED, or FAILED with the message in the `error` tag.
    pub fn end_with(mut self, outcome: Outcome) {
        let (status, error) = outcome.into_parts();
        self.finish(status, error, None);
    }

    fn finish(&mut self, status: RunStatus, error: Option<String>, end_time: Option<i64>) {
        if self.done {
            return;
        }
        self.done = true;
        stack::record_ended(&self.handle);
        self.handle.end_from_guard(status, error, end_time);
    }
}

impl Drop for ScopedRun {
    fn drop(&mut self) {
        let status = self.on_drop;
        self.finish(status, None, None);
    }
}

impl RunBuilder {
    /// Starts the run for async code: it nests under the active run where this is called
    /// (inside an async fn, the run of the enclosing annotated future), but is not pushed on
    /// the thread's stack; wrap the work in [`ScopedRun::scope`].
    pub fn start_scoped(self) -> ScopedRun {
        let handle = self.launch();
        let stack = stack::snapshot().with(handle.clone());
        ScopedRun {
            handle,
            stack,
            done: false,
            on_drop: RunStatus::Finished,
        }
    }

    /// Runs the future `fut` inside the run: FINISHED when it completes, FAILED when it
    /// panics, KILLED when it is dropped before completing.
    pub async fn run_async<R>(self, fut: impl Future<Output = R>) -> R {
        let run = self.start_scoped().status_on_drop(RunStatus::Killed);
        let value = run.scope(fut).await;
        run.end(RunStatus::Finished);
        value
    }

    /// Like [`RunBuilder::run_async`], for futures that return `Result`: FAILED on `Err`, with
    /// the error's `Display` in the `error` tag.
    pub async fn try_run_async<T, E: Display>(
        self,
        fut: impl Future<Output = std::result::Result<T, E>>,
    ) -> std::result::Result<T, E> {
        let run = self.start_scoped().status_on_drop(RunStatus::Killed);
        let value = run.scope(fut).await;
        run.end_with(Outcome::of_result(&value));
        value
    }
}
