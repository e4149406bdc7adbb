//! The stack of active runs, and the last run that ended on it. Per thread for synchronous
//! code; a future carries its own stack across `.await` (see the async support), and a
//! spawned thread or task starts empty unless it is handed a run explicitly.

use std::cell::RefCell;

use super::cell::RunHandle;

/// A thread's runs, or a scoped future's: the active runs, innermost last, and the run that
/// last ended there (what Python's `last_active_run` reads, per thread as in Python).
#[derive(Debug, Default, Clone)]
pub(crate) struct RunStack {
    runs: Vec<RunHandle>,
    last_ended: Option<RunHandle>,
}

impl RunStack {
    const fn new() -> RunStack {
        RunStack {
            runs: Vec::new(),
            last_ended: None,
        }
    }

    /// A stack of these active runs, none ended yet.
    pub(crate) fn of(runs: Vec<RunHandle>) -> RunStack {
        RunStack {
            runs,
            last_ended: None,
        }
    }

    /// The innermost active run.
    pub(crate) fn top(&self) -> Option<&RunHandle> {
        self.runs.last()
    }

    /// The run that last ended on this stack.
    pub(crate) fn last_ended(&self) -> Option<&RunHandle> {
        self.last_ended.as_ref()
    }

    /// This stack with `run` pushed on top.
    pub(crate) fn with(mut self, run: RunHandle) -> RunStack {
        self.runs.push(run);
        self
    }
}

thread_local! {
    static STACK: RefCell<RunStack> = const { RefCell::new(RunStack::new()) };
}

/// The innermost active run on this thread, if any.
pub(crate) fn current() -> Option<RunHandle> {
    STACK.with(|s| s.borrow().runs.last().cloned())
}

/// Makes `run` the innermost active run.
pub(crate) fn push(run: RunHandle) {
    STACK.with(|s| s.borrow_mut().runs.push(run));
}

/// Removes an ending run from the stack and records it as the last run that ended here.
/// Normally it is the top; a guard dropped out of order is removed where it is, so the rest
/// of the stack stays intact.
pub(crate) fn remove(run: &RunHandle) {
    STACK.with(|s| {
        let mut stack = s.borrow_mut();
        if let Some(pos) = stack.runs.iter().rposition(|r| r.same_run(run)) {
            stack.runs.remove(pos);
        }
        stack.last_ended = Some(run.clone());
    });
}

/// Records `run`, which ended here without being on the stack (a scoped run), as the last
/// run that ended here.
pub(crate) fn record_ended(run: &RunHandle) {
    STACK.with(|s| s.borrow_mut().last_ended = Some(run.clone()));
}

/// The run that last ended on this thread (or in this scoped future).
pub(crate) fn last_ended() -> Option<RunHandle> {
    STACK.with(|s| s.borrow().last_ended.clone())
}

/// A copy of this thread's active runs, for a future that starts a run here and is polled
/// elsewhere.
pub(crate) fn snapshot() -> RunStack {
    STACK.with(|s| RunStack::of(s.borrow().runs.clone()))
}

/// Swaps this thread's stack with `other`: a future or a hand-off installs its own stack for
/// the duration of a poll or a closure, then swaps back.
pub(crate) fn swap(other: &mut RunStack) {
    STACK.with(|s| std::mem::swap(&mut *s.borrow_mut(), other));
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::runs::scope;
    use crate::store::memory::MemoryStore;
    use crate::tracker::{self, Tracker};

    fn tracker() -> Arc<Tracker> {
        MemoryStore::register("stack-tests");
        tracker::for_uri("memory://stack-tests").unwrap()
    }

    fn is(run: Option<RunHandle>, expected: &RunHandle) -> bool {
        run.is_some_and(|r| r.same_run(expected))
    }

    #[test]
    fn the_last_ended_run_is_per_thread_and_per_scoped_future() {
        let t = tracker();
        let [a, b, c, d] = ["a", "b", "c", "d"].map(|id| RunHandle::attached(t.clone(), id));
        assert!(last_ended().is_none());
        push(a.clone());
        remove(&a);
        assert!(current().is_none());
        assert!(is(last_ended(), &a));

        // A closure entered on this thread: what ends inside ended on this thread.
        scope::enter(&b, || {
            push(c.clone());
            remove(&c);
        });
        assert!(is(last_ended(), &c));

        // A future carries its own: what ends inside stays with it.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let inside = runtime.block_on(scope::scoped(&b, async {
            push(d.clone());
            remove(&d);
            last_ended()
        }));
        assert!(is(inside, &d));
        assert!(is(last_ended(), &c));

        // Another thread has its own.
        assert!(std::thread::spawn(last_ended).join().unwrap().is_none());
    }
}
