//! Implementation detail of the `mlflow-tracking` crate (imported as `mlflow`): the run stack,
//! the stores and the background sender. Use the `mlflow` facade instead.
#![warn(missing_debug_implementations)]

pub mod artifacts;
mod client;
pub mod config;
mod context;
pub mod error;
mod isolate;
mod logging;
pub mod model;
pub mod outcome;
pub mod query;
mod run;
mod scope;
mod sender;
mod signals;
pub mod spill;
pub mod store;
mod system;
mod time;
mod tracker;
mod validate;

pub use artifacts::{
    download_artifacts, list_artifacts, log_artifact, log_artifact_to, log_artifacts,
    log_artifacts_to, log_json, log_text,
};
pub use client::Client;
pub use error::{Error, Result};
pub use logging::{
    active_run, active_run_id, current_run, log_metric, log_metric_with_step, log_metrics,
    log_param, log_params, set_tag, set_tags,
};
pub use model::{Batch, Experiment, Metric, Param, Run, RunInfo, RunStatus, RunTag};
pub use outcome::Outcome;
pub use query::{
    FileInfo, Page, RunIter, SearchExperiments, SearchRuns, ViewType, get_metric_history, get_run,
    search_experiments, search_runs,
};
pub use run::{RunBuilder, RunGuard, RunHandle, start_run};
pub use scope::{Scoped, ScopedRun};
pub use signals::install_signal_handlers;
pub use spill::{ReplayReport, replay_spill};
pub use tracker::{QUEUE_CAPACITY, flush, get_tracking_uri, set_experiment, set_tracking_uri};

#[cfg(test)]
mod props;
