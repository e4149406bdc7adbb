//! Floor 7, the API the facade re-exports: logging to the active run, reading runs back,
//! artifacts (files, dicts, figures, tables, images), experiments, runs by id, the explicit
//! [`Client`], and replaying a spill file by hand.

pub(crate) mod artifacts;
mod client;
mod dicts;
mod experiments;
mod figures;
#[cfg(feature = "image")]
mod images;
mod inputs;
mod logged_models;
mod logging;
mod model_search;
mod model_uri;
mod registry;
mod registry_client;
mod registry_search;
mod replay;
mod run_admin;
mod run_calls;
pub(crate) mod search;
mod tables;

pub use artifacts::{
    download_artifacts, list_artifacts, log_artifact, log_artifact_to, log_artifacts,
    log_artifacts_to, log_json, log_text,
};
pub use client::Client;
pub use dicts::{load_dict, load_text, log_dict};
pub use experiments::{
    CreateExperiment, create_experiment, delete_experiment, delete_experiment_tag, get_experiment,
    get_experiment_by_name, restore_experiment, set_experiment_by_id, set_experiment_tag,
    set_experiment_tags,
};
pub use figures::log_figure;
#[cfg(feature = "image")]
pub use images::{load_image, log_image, log_image_artifact};
pub use inputs::{log_input, log_inputs};
pub use logged_models::{LogModel, get_logged_model, log_model, logged_model};
#[allow(deprecated)]
#[doc(hidden)]
pub use logging::current_run;
pub use logging::{
    active_run, active_run_id, log_metric, log_metric_with_step, log_metrics,
    log_metrics_with_step, log_param, log_params, metric, set_tag, set_tags,
};
pub use model_search::{SearchLoggedModels, search_logged_models};
pub use model_uri::download_artifacts_uri;
pub use registry::register_model;
pub use registry_search::{RegistrySearch, SearchModelVersions, SearchRegisteredModels};
pub use replay::replay_spill;
pub use run_admin::{
    delete_run, delete_tag, get_artifact_uri, get_parent_run, last_active_run, restore_run,
};
pub use search::{
    CLIENT_SEARCH_LIMIT, FLUENT_SEARCH_LIMIT, RunIter, SearchExperiments, SearchRuns,
    get_metric_history, get_run, quote, search_experiments, search_runs,
};
pub use tables::{LoadTable, load_table, log_table};
