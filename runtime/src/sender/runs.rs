//! The run table: the runs the sender is feeding, each with what was logged to it and not
//! stored yet.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use super::identity::RunSlot;
use crate::base::model::Batch;

/// A run being fed.
pub(super) struct RunEntry {
    pub(super) slot: Arc<RunSlot>,
    /// The run's name in the store (a resumed run keeps its own), for the links printed when
    /// it ends.
    pub(super) stored_name: String,
    /// Logged and not stored yet.
    pub(super) pending: Batch,
}

/// The runs being fed, by their local number.
#[derive(Default)]
pub(super) struct RunTable {
    entries: HashMap<u64, RunEntry>,
}

impl RunTable {
    /// Records a run the sender created (or tried to).
    pub(super) fn started(&mut self, slot: Arc<RunSlot>, stored_name: String) {
        self.entries.insert(
            slot.local_id,
            RunEntry {
                slot,
                stored_name,
                pending: Batch::default(),
            },
        );
    }

    /// The entry of a run being logged to. A run not started by this sender (attached by
    /// id, or logged to after it ended) gets one when its id is known; `None` otherwise.
    pub(super) fn for_log(&mut self, slot: &Arc<RunSlot>) -> Option<&mut RunEntry> {
        match self.entries.entry(slot.local_id) {
            Entry::Occupied(e) => Some(e.into_mut()),
            Entry::Vacant(e) => {
                slot.known_id()?;
                Some(e.insert(RunEntry {
                    slot: slot.clone(),
                    stored_name: slot.name.clone(),
                    pending: Batch::default(),
                }))
            }
        }
    }

    /// Removes a run that ends.
    pub(super) fn remove(&mut self, local: u64) -> Option<RunEntry> {
        self.entries.remove(&local)
    }

    /// Takes what is pending for the run, if anything.
    pub(super) fn take_pending(&mut self, local: u64) -> Option<(Arc<RunSlot>, Batch)> {
        let entry = self.entries.get_mut(&local)?;
        if entry.pending.is_empty() {
            return None;
        }
        Some((entry.slot.clone(), std::mem::take(&mut entry.pending)))
    }

    /// The runs with something pending, in the order they were started here.
    pub(super) fn with_pending(&self) -> Vec<u64> {
        let mut locals: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| !e.pending.is_empty())
            .map(|(local, _)| *local)
            .collect();
        locals.sort_unstable();
        locals
    }
}
