//! [burn](https://burn.dev) integration of `mlflow-tracking`, used as `mlflow::burn` (cargo
//! feature `burn` of `mlflow-tracking`).
//!
//! - [`MlflowMetricLogger`]: a burn-train metric logger; register it with
//!   `SupervisedTraining::with_metric_logger` and burn's metrics go to an MLflow run, epoch
//!   values as `train/Loss`, `valid/Loss`, ... with step = the epoch.
//! - [`log_config`]: a burn `Config` (any `serde::Serialize` value) as params, nested
//!   fields as dotted keys, and the tag `burn.version`.
//! - [`MlflowCheckpointer`] (opt-in): burn's model checkpointer that also logs each
//!   checkpoint as an MLflow logged model (flavor `burn`, tag `burn.epoch`) with its epoch's
//!   values linked to it, so the best checkpoint is one `mlflow::search_logged_models()`
//!   away. Made from the logger, registered with `with_custom_checkpointers`.
//! - [`log_model`]: saves the trained model with burn and logs the file as an MLflow logged
//!   model (flavor `burn`).
//!
//! ```no_run
//! use burn::train::{Learner, LearnerModel, SupervisedTraining};
//! use mlflow::burn::MlflowMetricLogger;
//!
//! // Inside a run, for example a `#[mlflow::child_run]` function:
//! fn train<M: LearnerModel>(
//!     training: SupervisedTraining<M>,
//!     learner: Learner<M>,
//! ) -> Result<M, mlflow::burn::Error> {
//!     let logger = MlflowMetricLogger::active()?; // the run active here, from burn's thread
//!     let result = training.with_metric_logger(logger).launch(learner);
//!     let model = mlflow::burn::log_model(result.model.clone(), "artifacts/model")?;
//!     println!("{}", model.uri()); // models:/m-…
//!     Ok(result.model)
//! }
//! ```
//!
//! # Checkpoints as logged models
//!
//! Opt-in: register an [`MlflowCheckpointer`], made from the training's logger, as burn's
//! model checkpointer. Each checkpoint burn saves (its files as burn writes them) becomes a
//! logged model `model-<epoch>` of the run, with the epoch's values linked at step = the
//! epoch; the run's best checkpoint is then one search away:
//!
//! ```no_run
//! use burn::train::checkpoint::FileCheckpointer;
//! use burn::train::{Learner, LearnerModel, SupervisedTraining};
//! use mlflow::burn::{MlflowCheckpointer, MlflowMetricLogger};
//!
//! fn train<M: LearnerModel>(
//!     training: SupervisedTraining<M>,
//!     learner: Learner<M>,
//! ) -> Result<(), Box<dyn std::error::Error>> {
//!     let logger = MlflowMetricLogger::active()?;
//!     let run_id = logger.run().id()?;
//!     let dir = std::path::Path::new("artifacts/checkpoint");
//!     training
//!         .with_custom_checkpointers(
//!             MlflowCheckpointer::new(&logger, dir), // model-<epoch>.bpk, logged
//!             FileCheckpointer::new(dir, "optim"),
//!             FileCheckpointer::new(dir, "scheduler"),
//!         )
//!         .with_metric_logger(logger)
//!         .launch(learner);
//!     mlflow::flush()?;
//!     // The run's checkpoint with the lowest validation loss:
//!     let best = mlflow::search_logged_models()
//!         .filter(format!("source_run_id = '{run_id}'"))
//!         .order_by(["metrics.`valid/Loss` ASC"])
//!         .first()?;
//!     if let Some(best) = best {
//!         println!("best: {} (epoch {:?})", best.uri(), best.tag("burn.epoch"));
//!     }
//!     Ok(())
//! }
//! ```
//!
//! # burn versions
//!
//! This crate implements burn-train's `MetricLogger` trait of burn **0.22** (`>=0.22.1,
//! <0.23`). burn's main branch changes that trait (0.23 pre-releases), so a project on burn
//! 0.23 gets two burn-train versions and a "trait `MetricLogger` is not implemented" error
//! until this crate supports it.

mod checkpointer;
mod epochs;
mod error;
mod flavor;
mod keys;
mod logger;
mod model;
mod params;
mod report;

use std::path::Path;

use burn_core::module::Module;
use mlflow_tracking_runtime::{LoggedModel, RunHandle};
use serde::Serialize;

pub use checkpointer::{DEFAULT_VALUES_WAIT, EPOCH_TAG, MlflowCheckpointer};
pub use error::{Error, Result};
pub use flavor::{BURN_FLAVOR, BURN_VERSION};
pub use logger::MlflowMetricLogger;
pub use params::flatten_params;

/// Logs `config` (a burn `Config`, or any `serde::Serialize` struct) as params of the run
/// active on this thread, as [`flatten_params`] flattens it, and sets the tag
/// `burn.version`. See [`BurnRun::log_burn_config`].
pub fn log_config<T: Serialize + ?Sized>(config: &T) -> Result<()> {
    active()?.log_burn_config(config)
}

/// Saves `model` at `path` with burn and logs the file as a logged model (flavor `burn`)
/// of the run active on this thread. See [`BurnRun::log_burn_model`].
pub fn log_model<M: Module>(model: M, path: impl AsRef<Path>) -> Result<LoggedModel> {
    active()?.log_burn_model(model, path)
}

fn active() -> Result<RunHandle> {
    mlflow_tracking_runtime::active_run()
        .ok_or(Error::Tracking(mlflow_tracking_runtime::Error::NoActiveRun))
}

/// The burn helpers as methods of a run handle, to log to a run other than the active one.
pub trait BurnRun {
    /// Logs `config` as params: nested fields as dotted keys (`optimizer.beta_1`), lists as
    /// JSON, `None` left out, enums as the variant name; and sets the tag `burn.version`.
    ///
    /// Errors: a value that is not a struct or map, a key MLflow refuses, or a param that
    /// was already logged with another value. The params that are valid are still logged.
    fn log_burn_config<T: Serialize + ?Sized>(&self, config: &T) -> Result<()>;

    /// Saves `model` with burn's `Module::save_file` at `path` (creating its folder) and
    /// logs the file burn wrote (burn appends its extension, `.bpk`, to a path without one)
    /// as an MLflow logged model (MLflow 3's `LoggedModel`) made by the run: flavor
    /// [`BURN_FLAVOR`], the tag `burn.version`, named after the file (`final.bpk` is the
    /// model `final`; characters MLflow refuses in a name, such as `.`, become `_`).
    /// Returns the model, READY: [`LoggedModel::uri`] (`models:/<id>`) downloads it, and
    /// `mlflow::metric(..).model(&model)` links values to it. Waits for the upload, like
    /// every artifact call.
    ///
    /// Needs MLflow 3 (a 3.x server or the embedded store); an MLflow 2 server is an
    /// [`Error::Tracking`] saying it has no logged models.
    fn log_burn_model<M: Module>(&self, model: M, path: impl AsRef<Path>) -> Result<LoggedModel>;
}

impl BurnRun for RunHandle {
    fn log_burn_config<T: Serialize + ?Sized>(&self, config: &T) -> Result<()> {
        let params = flatten_params(config)?;
        self.set_tag("burn.version", BURN_VERSION)?;
        self.log_params(params)?;
        Ok(())
    }

    fn log_burn_model<M: Module>(&self, model: M, path: impl AsRef<Path>) -> Result<LoggedModel> {
        model::save_and_log(self, model, path.as_ref())
    }
}
