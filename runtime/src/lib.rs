//! Implementation detail of the `mlflow-tracking` crate (imported as `mlflow`): the run stack,
//! the stores and the background sender. Use the `mlflow` facade instead.
//!
//! The crate is built in floors, each importing only from the floors below it (see
//! `docs/architecture.md`; `cargo run -p mlflow-layer-check` checks it):
//!
//! 1. [`base`]: data and rules (model types, errors, configuration, validation, search
//!    requests and their grammar);
//! 2. [`store`]: the `Store` trait, the REST and the SQLite stores (the Cargo features `rest`
//!    and `sqlite`, both default; a URI whose store is left out is an `Error::Config`);
//! 3. `sender`: the background sender (batching, outages, the spill, pending run ids);
//! 4. `tracker`: one destination (a store plus its sender), and the process's choice of it;
//! 5. `monitor`: system metrics, sampled on one thread while runs live;
//! 6. `runs`: handles, builders, guards, the run stack, scoped futures, signals;
//! 7. `api`: what the facade re-exports (free logging functions, searches, artifacts,
//!    `Client`).
#![warn(missing_debug_implementations)]

pub mod base;
pub mod store;

mod sender;

mod tracker;

mod monitor;

mod runs;

mod api;

pub use base::{config, error, model, outcome};

pub use api::{
    Client, RunIter, SearchExperiments, SearchRuns, active_run, active_run_id, current_run,
    download_artifacts, get_metric_history, get_run, list_artifacts, log_artifact, log_artifact_to,
    log_artifacts, log_artifacts_to, log_json, log_metric, log_metric_with_step, log_metrics,
    log_param, log_params, log_text, quote, replay_spill, search_experiments, search_runs, set_tag,
    set_tags,
};
pub use base::error::{Error, Result};
pub use base::links::print_run_links;
pub use base::model::{Batch, Experiment, Metric, Param, Run, RunInfo, RunStatus, RunTag};
pub use base::outcome::Outcome;
pub use base::search::{FileInfo, Page, ViewType};
pub use monitor::{disable_system_metrics_logging, enable_system_metrics_logging};
pub use runs::{
    PARENT_RUN_ID_ENV, RunBuilder, RunGuard, RunHandle, Scoped, ScopedRun, Worker,
    install_signal_handlers, start_run,
};
pub use sender::spill::ReplayReport;
pub use tracker::{QUEUE_CAPACITY, flush, get_tracking_uri, set_experiment, set_tracking_uri};

/// The spill file: where data that could not be delivered during an outage goes, its
/// format, and how it is replayed.
pub mod spill {
    pub use crate::api::replay_spill;
    pub use crate::sender::spill::{
        ReplayReport, SPILL_DIR_ENV, SpillKv, SpillMetric, SpillOp, read_spill,
    };
}
