//! [`MlflowCheckpointer`]: burn's file checkpointer for the model, logging each checkpoint
//! as an MLflow logged model with its epoch's values linked to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use burn_core::store::ModuleRecord;
use burn_train::checkpoint::{Checkpointer, CheckpointerError, FileCheckpointer};
use mlflow_tracking_runtime::{LoggedModel, RunHandle};

use crate::epochs::{EpochBoard, EpochValues};
use crate::flavor::{BURN_FLAVOR, BURN_VERSION, valid_model_name};
use crate::logger::MlflowMetricLogger;
use crate::report::Reporter;

/// The model tag holding the epoch of a checkpoint.
pub const EPOCH_TAG: &str = "burn.epoch";

/// How long a checkpoint waits, by default, for the metric logger to have the epoch's
/// values (see [`MlflowCheckpointer::wait_for_values`]).
pub const DEFAULT_VALUES_WAIT: Duration = Duration::from_secs(30);

/// burn-train's model checkpointer that also logs each checkpoint as an MLflow logged
/// model (MLflow 3's `LoggedModel`), so that the best checkpoint of a training is one
/// `mlflow::search_logged_models()` away.
///
/// It is made from the [`MlflowMetricLogger`] of the same training and registered with
/// `SupervisedTraining::with_custom_checkpointers` as the model's checkpointer, beside
/// burn's `FileCheckpointer`s for the optimizer and the scheduler (what
/// `with_default_checkpointers` registers):
///
/// ```no_run
/// use burn::train::checkpoint::FileCheckpointer;
/// use burn::train::{Learner, LearnerModel, SupervisedTraining};
/// use mlflow::burn::{MlflowCheckpointer, MlflowMetricLogger};
///
/// fn train<M: LearnerModel>(
///     training: SupervisedTraining<M>,
///     learner: Learner<M>,
///     dir: &std::path::Path,
/// ) -> Result<M, mlflow::burn::Error> {
///     let logger = MlflowMetricLogger::active()?;
///     let checkpoints = dir.join("checkpoint");
///     let result = training
///         .with_custom_checkpointers(
///             MlflowCheckpointer::new(&logger, &checkpoints),
///             FileCheckpointer::new(&checkpoints, "optim"),
///             FileCheckpointer::new(&checkpoints, "scheduler"),
///         )
///         .with_metric_logger(logger)
///         .launch(learner);
///     Ok(result.model)
/// }
/// ```
///
/// For each checkpoint burn saves (which epochs: burn's checkpointing strategy decides):
///
/// - the file is written by burn's `FileCheckpointer` (`<directory>/<name>-<epoch>.bpk`,
///   `model-3.bpk`), so burn restores and deletes it as without this crate;
/// - it is logged as a logged model named `<name>-<epoch>` of the logger's run, flavor
///   [`BURN_FLAVOR`], with the tags [`EPOCH_TAG`] (the epoch) and `burn.version`; the
///   model is READY once its file is stored, and the run's params are its params;
/// - the epoch values the logger logged for that epoch (`train/Loss`, `valid/Loss`, ...)
///   are logged again, linked to the model, with step = the epoch and the timestamp they
///   had (the same points of the run's history, now also the model's): the model's
///   metrics in the UI, and what `search_logged_models` filters and orders by
///   (`` order_by(["metrics.`valid/Loss` ASC"]) ``).
///
/// burn hands the values to its loggers on another thread than it saves checkpoints on, so
/// a checkpoint waits for the logger to have its epoch (at most
/// [`wait_for_values`](Self::wait_for_values), 30 s by default, after which it links what
/// it has and traces a warning). This happens on burn's checkpointer thread: training goes
/// on meanwhile.
///
/// The model is recorded as the run's output at step 0, as Python's `log_model` records it
/// by default; like Python, that also links the run's points at step 0, which burn's
/// logger never logs. When burn deletes an older checkpoint file, its logged model stays.
///
/// Errors: burn's file that cannot be written is burn's error (burn stops training, as
/// with its own checkpointer). A logged model or a value the store refuses is reported
/// once on stderr and through `tracing`, as the logger reports its failures; training goes
/// on.
#[derive(Debug)]
pub struct MlflowCheckpointer {
    files: FileCheckpointerFor,
    run: RunHandle,
    board: EpochBoard,
    wait: Duration,
    reporter: Reporter,
}

/// burn's file checkpointer, and the directory and name it writes with.
struct FileCheckpointerFor {
    inner: FileCheckpointer,
    directory: PathBuf,
    name: String,
}

impl std::fmt::Debug for FileCheckpointerFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileCheckpointer")
            .field("directory", &self.directory)
            .field("name", &self.name)
            .finish()
    }
}

impl FileCheckpointerFor {
    fn new(directory: PathBuf, name: String) -> Self {
        FileCheckpointerFor {
            inner: FileCheckpointer::new(&directory, &name),
            directory,
            name,
        }
    }

    /// The file burn's `FileCheckpointer` writes for `epoch`.
    fn path(&self, epoch: usize) -> PathBuf {
        self.directory.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl MlflowCheckpointer {
    /// A checkpointer writing the model's checkpoints to `directory` as burn's
    /// `FileCheckpointer::new(directory, "model")` does, and logging them to `logger`'s run
    /// with `logger`'s epoch values.
    ///
    /// `logger` must be the metric logger registered with the same training: its values are
    /// the ones linked. Creates `directory` when missing, as burn does.
    pub fn new(logger: &MlflowMetricLogger, directory: impl AsRef<Path>) -> Self {
        MlflowCheckpointer {
            files: FileCheckpointerFor::new(directory.as_ref().to_path_buf(), "model".into()),
            run: logger.run().clone(),
            board: logger.board().clone(),
            wait: DEFAULT_VALUES_WAIT,
            reporter: Reporter::new("the burn checkpointer"),
        }
    }

    /// The checkpoints' name (default `model`): the files are `<name>-<epoch>.bpk`, as
    /// burn's `FileCheckpointer::new(directory, name)` names them, and the logged models
    /// `<name>-<epoch>`, with the characters MLflow refuses in a model's name (`/ : . % " '`
    /// and `\`) replaced by `_`.
    pub fn name(mut self, name: &str) -> Self {
        self.files = FileCheckpointerFor::new(self.files.directory, name.to_owned());
        self
    }

    /// How long a checkpoint waits for the metric logger to have its epoch's values
    /// (default [`DEFAULT_VALUES_WAIT`]).
    pub fn wait_for_values(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The run the checkpoints are logged to.
    pub fn run(&self) -> &RunHandle {
        &self.run
    }

    /// Logs the checkpoint file of `epoch` and links `values` to it.
    fn log_checkpoint(&self, epoch: usize, values: &EpochValues) -> Option<LoggedModel> {
        let name = valid_model_name(&format!("{}-{epoch}", self.files.name));
        let logged = self
            .run
            .logged_model(&name, self.files.path(epoch))
            .flavor(BURN_FLAVOR)
            .tag(EPOCH_TAG, epoch)
            .tag("burn.version", BURN_VERSION)
            .log();
        let model = match logged {
            Ok(model) => model,
            Err(e) => {
                self.reporter.report(self.run.name(), &e);
                return None;
            }
        };
        let step = i64::try_from(epoch).unwrap_or(i64::MAX);
        for point in &values.values {
            let linked = self
                .run
                .metric(&point.key, point.value)
                .step(step)
                .timestamp(point.timestamp_ms)
                .model(&model)
                .log();
            if let Err(e) = linked {
                self.reporter.report(self.run.name(), &e);
            }
        }
        Some(model)
    }
}

impl Checkpointer<ModuleRecord> for MlflowCheckpointer {
    fn save(&self, epoch: usize, record: ModuleRecord) -> Result<(), CheckpointerError> {
        Checkpointer::<ModuleRecord>::save(&self.files.inner, epoch, record)?;
        let values = self.board.take(epoch, self.wait);
        if !values.complete {
            tracing::warn!(
                run = self.run.name(),
                epoch,
                "burn checkpointer: the metric logger had not finished the epoch; linking the {} values it had",
                values.values.len()
            );
        }
        self.log_checkpoint(epoch, &values);
        Ok(())
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        Checkpointer::<ModuleRecord>::delete(&self.files.inner, epoch)
    }

    fn restore(&self, epoch: usize) -> Result<ModuleRecord, CheckpointerError> {
        Checkpointer::<ModuleRecord>::restore(&self.files.inner, epoch)
    }
}
