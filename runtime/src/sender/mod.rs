//! The background sender: one thread per tracking destination, with its own tokio runtime,
//! that turns queued logging calls into as few store calls as the data allows.
//!
//! Commands are handled in the order they were sent, or, when the store takes several
//! requests at once (`MLFLOW_RS_HTTP_CONCURRENCY` over REST), with the requests of
//! different runs under way together (`overlap.rs`), keeping the ordering MLflow's semantics
//! need: a run is created before anything is logged to it, a child after its parent, a
//! run's data is stored before its status update. Consecutive
//! logging calls for a run are merged into one batch, cut to the store's limits; the
//! metric-only pieces of a batch may be under way together, since MLflow does not care in
//! which order metric points arrive.

mod batching;
mod bounded;
mod command;
mod create;
mod ctx;
mod deliver;
mod experiments;
mod isolate;
mod open;
mod outage;
mod overlap;
mod parents;
mod slot;
pub(crate) mod spill;
mod state;

#[cfg(test)]
mod props;

pub(crate) use command::{Command, ExperimentSel, Request, StartSpec};
pub(crate) use ctx::Ctx;
pub(crate) use open::spawn;
pub(crate) use slot::RunSlot;
