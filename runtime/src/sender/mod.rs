//! The background sender: one thread per tracking destination, with its own tokio runtime,
//! that turns queued logging calls into as few store calls as the data allows.
//!
//! It is made of parts with one job each, composed by a small loop (`core.rs`) whose steps
//! (`steps.rs`) read top to bottom:
//!
//! - `chunk.rs`: queued commands cut into segments at the commands that must keep their
//!   place;
//! - `segment.rs`: a segment's runs to create, each run's logs and end, what is under way;
//! - `identity.rs`: a run's identity through its life (pending, stored, spilled, failed),
//!   shared with its callers;
//! - `runs.rs`: the run table, with what is pending for each run;
//! - `experiments.rs`: which experiment a new run goes to, online and offline;
//! - `create.rs`: from a start to the store's `CreateRun`, and resuming runs;
//! - `delivery.rs`: runs' data and ends sent side by side, cut to the store's limits;
//! - `offline.rs`: the outage and the spill file, the probe and the replay;
//! - `transfers.rs`: the runtime that moves artifact files beside the sender.
//!
//! Commands are handled in the order they were sent, keeping the ordering MLflow's
//! semantics need: a run is created before anything is logged to it, a child after its
//! parent, a run's data is stored before its status update, its params and tags in order.
//! Requests of different runs may be under way together (`MLFLOW_RS_HTTP_CONCURRENCY` over
//! REST); the metric-only pieces of a batch too, since MLflow does not care in which order
//! metric points arrive.

mod batching;
mod bounded;
mod chunk;
mod command;
mod core;
mod create;
mod delivery;
mod experiments;
mod identity;
mod isolate;
mod offline;
mod open;
mod runs;
mod segment;
pub(crate) mod spill;
mod steps;
pub(crate) mod transfers;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

pub(crate) use command::{Command, ExperimentSel, OpenedStore, Request, StartSpec};
pub(crate) use identity::RunSlot;
pub(crate) use open::spawn;
