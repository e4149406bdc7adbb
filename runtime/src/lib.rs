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
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod base;
pub mod store;

mod sender;

mod tracker;

mod monitor;

mod runs;

mod api;

pub use base::{config, error, model, outcome};

/// The `image` crate (the version [`Image`] converts from), for programs that build images
/// with it (feature `image`).
#[cfg(feature = "image")]
pub use ::image;
#[allow(deprecated)]
#[doc(hidden)]
pub use api::current_run;
pub use api::{
    CLIENT_SEARCH_LIMIT, Client, FLUENT_SEARCH_LIMIT, LoadTable, LogModel, RunIter,
    SearchExperiments, SearchLoggedModels, SearchRuns, active_run, active_run_id,
    download_artifacts, get_logged_model, get_metric_history, get_run, list_artifacts, load_dict,
    load_table, load_text, log_artifact, log_artifact_to, log_artifacts, log_artifacts_to,
    log_dict, log_figure, log_input, log_inputs, log_json, log_metric, log_metric_with_step,
    log_metrics, log_metrics_with_step, log_model, log_param, log_params, log_table, log_text,
    logged_model, metric, quote, replay_spill, search_experiments, search_logged_models,
    search_runs, set_tag, set_tags,
};
pub use api::{
    CreateExperiment, create_experiment, delete_experiment, delete_experiment_tag, delete_run,
    delete_tag, get_artifact_uri, get_experiment, get_experiment_by_name, get_parent_run,
    last_active_run, restore_experiment, restore_run, set_experiment_by_id, set_experiment_tag,
    set_experiment_tags,
};
pub use api::{
    RegistrySearch, SearchModelVersions, SearchRegisteredModels, download_artifacts_uri,
    register_model,
};
#[cfg(feature = "image")]
pub use api::{load_image, log_image, log_image_artifact};
pub use base::datasets::{
    DATASET_CONTEXT_TAG, Dataset, DatasetInput, InputTag, RunInputs, digest_of_bytes, file_digest,
};
pub use base::error::{Error, Result};
#[cfg(feature = "image")]
pub use base::images::Image;
pub use base::links::print_run_links;
pub use base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel, RunOutputs,
    SearchLoggedModelsRequest,
};
pub use base::mlmodel::MLMODEL_MLFLOW_VERSION;
pub use base::model::{
    Batch, Experiment, Metric, Param, Run, RunInfo, RunStatus, RunTag, RunUpdate,
};
pub use base::outcome::Outcome;
pub use base::registry::{ModelVersion, NewModelVersion, RegisteredModel, SearchRegistryRequest};
pub use base::search::{FileInfo, Page, ViewType};
pub use base::table::Table;
pub use monitor::{disable_system_metrics_logging, enable_system_metrics_logging};
pub use runs::{
    MetricBuilder, PARENT_RUN_ID_ENV, RunBuilder, RunGuard, RunHandle, Scoped, ScopedRun, Worker,
    install_signal_handlers, start_run,
};
pub use sender::spill::ReplayReport;
pub use tracker::{
    QUEUE_CAPACITY, flush, get_registry_uri, get_tracking_uri, set_experiment, set_registry_uri,
    set_tracking_uri,
};

/// The spill file: where data that could not be delivered during an outage goes, its
/// format, and how it is replayed.
pub mod spill {
    pub use crate::api::replay_spill;
    pub use crate::sender::spill::{
        ReplayReport, SPILL_DIR_ENV, SpillKv, SpillMetric, SpillOp, read_spill,
    };
}
