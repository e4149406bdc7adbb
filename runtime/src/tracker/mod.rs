//! Floor 4, destinations: a tracker is one tracking URI's store with the background sender
//! feeding it; the process keeps the one in effect and every one it started.

mod destination;
mod global;

pub use destination::QUEUE_CAPACITY;
pub(crate) use destination::Tracker;
pub(crate) use global::{current, flush_all, for_uri, registry_for, take_resume_run_id};
pub use global::{
    flush, get_registry_uri, get_tracking_uri, set_experiment, set_registry_uri, set_tracking_uri,
};
