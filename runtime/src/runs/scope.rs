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
use super::handle::RunHandle;
use super::stack;
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
        stack: Vec<RunHandle>,
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
    stack: &'a mut Vec<RunHandle>,
    owns_top: bool,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        stack::swap(self.stack);
        if self.owns_top
            && std::thread::panicking()
            && let Some(run) = self.stack.last()
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
        };
        this.inner.poll(cx)
    }
}

impl RunHandle {
    /// Runs `f` on this thread with this run as the active run (and no other): the hand-off
    /// for work started on another thread, such as a `std::thread::scope` worker. Runs
    /// started inside nest under this one.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let parent = mlflow::start_run().name("sweep").start();
    /// let handle = parent.handle();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| handle.enter(|| {
    ///         let _child = mlflow::start_run().name("trial").start(); // nests under "sweep"
    ///         mlflow::log_metric("loss", 0.1)
    ///     }));
    /// });
    /// ```
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let mut stack = vec![self.clone()];
        stack::swap(&mut stack);
        let _restore = Installed {
            stack: &mut stack,
            owns_top: false,
        };
        f()
    }

    /// Attaches this run to a future: while it is polled, this run is the active run, so
    /// runs started inside nest under it. The hand-off for `tokio::spawn` and other
    /// executors; without it a spawned task starts with an empty stack.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// # async fn demo() {
    /// let run = mlflow::current_run().expect("inside a run");
    /// tokio::spawn(run.scope(async {
    ///     mlflow::log_metric("from_task", 1.0).ok();
    /// }));
    /// # }
    /// ```
    pub fn scope<F: Future>(&self, fut: F) -> Scoped<F> {
        Scoped {
            inner: fut,
            stack: vec![self.clone()],
            owns_top: false,
        }
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
    stack: Vec<RunHandle>,
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
        self.finish(status, None);
    }

    /// Ends the run as `outcome` says: FINISHED, or FAILED with the message in the `error` tag.
    pub fn end_with(mut self, outcome: Outcome) {
        let (status, error) = outcome.into_parts();
        self.finish(status, error);
    }

    fn finish(&mut self, status: RunStatus, error: Option<String>) {
        if self.done {
            return;
        }
        self.done = true;
        self.handle.end_from_guard(status, error);
    }
}

impl Drop for ScopedRun {
    fn drop(&mut self) {
        let status = self.on_drop;
        self.finish(status, None);
    }
}

impl RunBuilder {
    /// Starts the run for async code: it nests under the active run where this is called
    /// (inside an async fn, the run of the enclosing annotated future), but is not pushed on
    /// the thread's stack; wrap the work in [`ScopedRun::scope`].
    pub fn start_scoped(self) -> ScopedRun {
        let handle = self.launch();
        let mut stack = stack::snapshot();
        stack.push(handle.clone());
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
