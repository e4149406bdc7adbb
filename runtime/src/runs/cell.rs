//! What a run is, shared by its handles and its guard: the sender's slot for it, its
//! destination, and the state only callers need; and `RunHandle`, the type callers hold
//! (its methods are in `handle.rs`, so that every part of the floor can name the type).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::monitor::RunMonitor;
use crate::sender::RunSlot;
use crate::tracker::Tracker;

/// What a run is, shared by its handles and its guard.
pub(crate) struct RunCell {
    /// What the sender knows of the run: local number, name, pending id.
    pub(crate) slot: Arc<RunSlot>,
    pub(crate) tracker: Arc<Tracker>,
    /// Params logged from this process, so that a changed value is refused on the spot.
    pub(crate) params: Mutex<HashMap<String, String>>,
    pub(crate) ended: AtomicBool,
    /// A panic unwound through a poll of a future scoped to this run.
    pub(crate) panicked: AtomicBool,
    /// Its system metrics monitoring, if any; stopped when it ends.
    pub(crate) monitor: RunMonitor,
}

impl RunCell {
    /// A run of `tracker` named `name`, with its id when the caller already knows it.
    pub(crate) fn new(tracker: Arc<Tracker>, name: String, id: Option<String>) -> RunCell {
        let slot = RunSlot::new(tracker.next_local_id(), name, id);
        RunCell::with_slot(tracker, slot)
    }

    /// The existing run `id` of `tracker`, started elsewhere.
    pub(crate) fn attached(tracker: Arc<Tracker>, id: &str) -> RunCell {
        let slot = RunSlot::attached(tracker.next_local_id(), id.to_owned());
        RunCell::with_slot(tracker, slot)
    }

    fn with_slot(tracker: Arc<Tracker>, slot: RunSlot) -> RunCell {
        RunCell {
            slot: Arc::new(slot),
            tracker,
            params: Mutex::new(HashMap::new()),
            ended: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
            monitor: RunMonitor::default(),
        }
    }

    /// The run's name.
    pub(crate) fn name(&self) -> &str {
        &self.slot.name
    }
}

impl fmt::Debug for RunCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunCell")
            .field("local_id", &self.slot.local_id)
            .field("name", &self.slot.name)
            .finish_non_exhaustive()
    }
}

/// A cheap, `Send + Sync + Clone` reference to a run, for logging to it from anywhere and
/// for handing it to another thread or task as a parent.
#[derive(Clone)]
pub struct RunHandle {
    pub(crate) cell: Arc<RunCell>,
}

impl fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field("name", &self.cell.name())
            .field("run_id", &self.cell.slot.known_id())
            .finish()
    }
}
