//! Floor 7, the API the facade re-exports: logging to the active run, reading runs back,
//! artifacts, the explicit [`Client`], and replaying a spill file by hand.

pub(crate) mod artifacts;
mod client;
mod logging;
mod replay;
pub(crate) mod search;

pub use artifacts::{
    download_artifacts, list_artifacts, log_artifact, log_artifact_to, log_artifacts,
    log_artifacts_to, log_json, log_text,
};
pub use client::Client;
pub use logging::{
    active_run, active_run_id, current_run, log_metric, log_metric_with_step, log_metrics,
    log_param, log_params, set_tag, set_tags,
};
pub use replay::replay_spill;
pub use search::{
    RunIter, SearchExperiments, SearchRuns, get_metric_history, get_run, quote, search_experiments,
    search_runs,
};
