//! Pending run ids: what a caller and the sender share about one run. Over REST the server
//! assigns a run's id, so a caller that asks for it waits here until the sender has
//! created the run (or failed to).

use std::fmt;
use std::sync::{Condvar, Mutex};

use crate::base::error::{Error, Result};
use crate::base::sync::lock;

/// One run as the sender knows it: a number local to its destination, its name, and the
/// id the store gave it.
pub(crate) struct RunSlot {
    pub(crate) local_id: u64,
    pub(crate) name: String,
    /// A run this process did not start here: a handle attached by id, or a parent from
    /// another process. The sender learns its experiment from the store.
    pub(crate) attached: bool,
    id: Mutex<IdState>,
    id_ready: Condvar,
}

impl fmt::Debug for RunSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunSlot")
            .field("local_id", &self.local_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

enum IdState {
    Pending,
    Ready(String),
    Failed(Error),
}

impl RunSlot {
    /// A run whose id is `id` when the caller already knows it (a client-chosen id, a
    /// resumed or attached run), else pending until the sender creates it.
    pub(crate) fn new(local_id: u64, name: String, id: Option<String>) -> RunSlot {
        RunSlot {
            local_id,
            name,
            attached: false,
            id: Mutex::new(match id {
                Some(id) => IdState::Ready(id),
                None => IdState::Pending,
            }),
            id_ready: Condvar::new(),
        }
    }

    /// The existing run `id`, started elsewhere or earlier.
    pub(crate) fn attached(local_id: u64, id: String) -> RunSlot {
        RunSlot {
            attached: true,
            ..RunSlot::new(local_id, id.clone(), Some(id))
        }
    }

    /// Records the id the store gave the run (or why it has none) and wakes waiters.
    pub(crate) fn resolve_id(&self, id: Result<String>) {
        let mut state = lock(&self.id);
        if matches!(*state, IdState::Pending) {
            *state = match id {
                Ok(id) => IdState::Ready(id),
                Err(e) => IdState::Failed(e),
            };
        }
        self.id_ready.notify_all();
    }

    /// The id if already known, without waiting.
    pub(crate) fn known_id(&self) -> Option<String> {
        match &*lock(&self.id) {
            IdState::Ready(id) => Some(id.clone()),
            _ => None,
        }
    }

    /// The id, waiting until the sender knows it.
    pub(crate) fn wait_id(&self) -> Result<String> {
        let mut state = lock(&self.id);
        loop {
            match &*state {
                IdState::Ready(id) => return Ok(id.clone()),
                IdState::Failed(e) => return Err(e.clone()),
                IdState::Pending => {
                    state = self
                        .id_ready
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
        }
    }
}
