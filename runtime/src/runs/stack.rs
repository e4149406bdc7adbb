//! The stack of active runs. Per thread for synchronous code; a future carries its own
//! stack across `.await` (see the async support), and a spawned thread or task starts empty
//! unless it is handed a run explicitly.

use std::cell::RefCell;

use super::handle::RunHandle;

thread_local! {
    static STACK: RefCell<Vec<RunHandle>> = const { RefCell::new(Vec::new()) };
}

/// The innermost active run on this thread, if any.
pub(crate) fn current() -> Option<RunHandle> {
    STACK.with(|s| s.borrow().last().cloned())
}

/// Makes `run` the innermost active run.
pub(crate) fn push(run: RunHandle) {
    STACK.with(|s| s.borrow_mut().push(run));
}

/// Removes `run` from the stack. Normally it is the top; a guard dropped out of order is
/// removed where it is, so the rest of the stack stays intact.
pub(crate) fn remove(run: &RunHandle) {
    STACK.with(|s| {
        let mut stack = s.borrow_mut();
        if let Some(pos) = stack.iter().rposition(|r| r.same_run(run)) {
            stack.remove(pos);
        }
    });
}

/// A copy of this thread's stack, for a future that starts a run here and is polled
/// elsewhere.
pub(crate) fn snapshot() -> Vec<RunHandle> {
    STACK.with(|s| s.borrow().clone())
}

/// Swaps this thread's stack with `other`: a future or a hand-off installs its own stack for
/// the duration of a poll or a closure, then swaps back.
pub(crate) fn swap(other: &mut Vec<RunHandle>) {
    STACK.with(|s| std::mem::swap(&mut *s.borrow_mut(), other));
}
