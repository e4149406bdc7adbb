//! A run's identity through its life, shared by its callers and the sender: the one place
//! that says whether the store has the run, under which id, and if not, why.
//!
//! ```text
//!            created                       replayed
//! Pending ────────────▶ Stored(id) ◀──────────────────── Spilled(ref)
//!    │  │                   ▲                                 ▲
//!    │  └── spilled ────────┼─────────────────────────────────┘
//!    │                      │ created / resumed
//!    │                Known(id) ── spilled ──▶ Spilled(ref)
//!    │                      │
//!    └──── failed ──────────┴── failed ──▶ Failed(error)
//! ```
//!
//! `Pending` is a run the store names (REST); `Known` a run whose id the caller knows before
//! the sender has stored it (a client-chosen id, a resumed run) or a run started elsewhere
//! (attached by id). Over REST a caller asking for the id waits while the run is pending.

use std::fmt;
use std::sync::{Condvar, Mutex};

use crate::base::error::{Error, Result};
use crate::base::sync::lock;

/// Where a run's operations go: its id in the store, or the reference of its creation in
/// the spill file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunRef {
    Id(String),
    Spilled(String),
}

/// Where a run stands with the store.
#[derive(Debug, Clone)]
enum Identity {
    /// Not created yet; the store will choose its id.
    Pending,
    /// Its id is known to the caller, not yet confirmed by the sender (or never: a run
    /// attached by id).
    Known(String),
    /// The store has it under this id.
    Stored(String),
    /// Its creation waits in the spill file under `reference`; callers asking for its id
    /// get `why`.
    Spilled { reference: String, why: Error },
    /// It could not be created (or resumed), for this reason.
    Failed(Error),
}

/// One run as the sender and its callers know it: a number local to its destination, its
/// name, and its [identity](self).
pub(crate) struct RunSlot {
    pub(crate) local_id: u64,
    pub(crate) name: String,
    /// A run this process did not start here: a handle attached by id, or a parent from
    /// another process. The sender learns its experiment from the store.
    pub(crate) attached: bool,
    identity: Mutex<Identity>,
    settled: Condvar,
}

impl fmt::Debug for RunSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunSlot")
            .field("local_id", &self.local_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RunSlot {
    /// A run whose id is `id` when the caller already knows it (a client-chosen id, a
    /// resumed run), else pending until the sender creates it.
    pub(crate) fn new(local_id: u64, name: String, id: Option<String>) -> RunSlot {
        RunSlot {
            local_id,
            name,
            attached: false,
            identity: Mutex::new(match id {
                Some(id) => Identity::Known(id),
                None => Identity::Pending,
            }),
            settled: Condvar::new(),
        }
    }

    /// The existing run `id`, started elsewhere or earlier.
    pub(crate) fn attached(local_id: u64, id: String) -> RunSlot {
        RunSlot {
            attached: true,
            ..RunSlot::new(local_id, id.clone(), Some(id))
        }
    }

    /// The store created (or resumed) the run under `id`.
    pub(crate) fn stored(&self, id: String) {
        self.settle(|_| Identity::Stored(id));
    }

    /// The run's creation went to the spill file under `reference`.
    pub(crate) fn spilled(&self, reference: String, why: Error) {
        self.settle(|_| Identity::Spilled { reference, why });
    }

    /// The run could not be created, or the caller could not even ask for it.
    pub(crate) fn failed(&self, why: Error) {
        self.settle(|_| Identity::Failed(why));
    }

    /// The replay of the spill created the run spilled under `reference` as `id`.
    pub(crate) fn replayed(&self, reference: &str, id: &str) {
        self.settle(|now| match now {
            Identity::Spilled { reference: r, .. } if r == reference => {
                Identity::Stored(id.to_owned())
            }
            other => other.clone(),
        });
    }

    fn settle(&self, next: impl FnOnce(&Identity) -> Identity) {
        let mut identity = lock(&self.identity);
        *identity = next(&identity);
        self.settled.notify_all();
    }

    /// The id, if known now, without waiting.
    pub(crate) fn known_id(&self) -> Option<String> {
        match &*lock(&self.identity) {
            Identity::Known(id) | Identity::Stored(id) => Some(id.clone()),
            _ => None,
        }
    }

    /// The id, waiting while the sender creates the run; why there is none otherwise.
    pub(crate) fn wait_id(&self) -> Result<String> {
        let mut identity = lock(&self.identity);
        loop {
            match &*identity {
                Identity::Known(id) | Identity::Stored(id) => return Ok(id.clone()),
                Identity::Spilled { why, .. } | Identity::Failed(why) => return Err(why.clone()),
                Identity::Pending => {
                    identity = self
                        .settled
                        .wait(identity)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
        }
    }

    /// Where the run's operations go: its id in the store, or its reference in the spill;
    /// why they cannot go anywhere otherwise.
    pub(crate) fn target(&self) -> Result<RunRef> {
        match &*lock(&self.identity) {
            Identity::Known(id) | Identity::Stored(id) => Ok(RunRef::Id(id.clone())),
            Identity::Spilled { reference, .. } => Ok(RunRef::Spilled(reference.clone())),
            Identity::Failed(why) => Err(why.clone()),
            Identity::Pending => Err(Error::Internal(format!(
                "run {:?} has no id yet where one is needed",
                self.name
            ))),
        }
    }

    /// True when the run could not be created: what is logged to it is lost.
    pub(crate) fn failure(&self) -> Option<Error> {
        match &*lock(&self.identity) {
            Identity::Failed(why) => Some(why.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spilled_error() -> Error {
        Error::Internal("spilled".into())
    }

    #[test]
    fn a_pending_run_is_stored_spilled_or_failed() {
        let slot = RunSlot::new(1, "r".into(), None);
        assert!(slot.known_id().is_none());
        assert!(slot.target().is_err());
        slot.stored("abc".into());
        assert_eq!(slot.wait_id().unwrap(), "abc");
        assert!(matches!(slot.target(), Ok(RunRef::Id(id)) if id == "abc"));

        let slot = RunSlot::new(2, "r".into(), None);
        slot.spilled("ref-1".into(), spilled_error());
        assert!(slot.wait_id().is_err());
        assert!(matches!(slot.target(), Ok(RunRef::Spilled(r)) if r == "ref-1"));
        slot.replayed("ref-2", "other");
        assert!(
            slot.known_id().is_none(),
            "another reference changes nothing"
        );
        slot.replayed("ref-1", "def");
        assert_eq!(slot.wait_id().unwrap(), "def");

        let slot = RunSlot::new(3, "r".into(), Some("known".into()));
        assert_eq!(slot.wait_id().unwrap(), "known");
        slot.failed(spilled_error());
        assert!(slot.wait_id().is_err() && slot.failure().is_some());
    }

    #[test]
    fn a_waiting_caller_wakes_when_the_run_is_created() {
        let slot = std::sync::Arc::new(RunSlot::new(1, "r".into(), None));
        let waiter = {
            let slot = slot.clone();
            std::thread::spawn(move || slot.wait_id())
        };
        slot.stored("abc".into());
        assert_eq!(waiter.join().unwrap().unwrap(), "abc");
    }
}
