//! [`MlflowMetricLogger`]: burn-train's `MetricLogger` that logs to an MLflow run.

use std::collections::HashMap;
use std::thread::JoinHandle;

use burn_train::logger::{InMemoryMetricLogger, MetricLogger};
use burn_train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn_train::metric::{MetricDefinition, MetricId, NumericEntry};
use mlflow_tracking_runtime::{Error as TrackingError, RunHandle};

use crate::epochs::{EpochBoard, Point};
use crate::flavor::BURN_VERSION;
use crate::keys::{MetricKeys, split_prefix};
use crate::report::Reporter;

/// A burn-train metric logger that logs burn's metrics to an MLflow run.
///
/// Register it with `SupervisedTraining::with_metric_logger`. burn moves it to its
/// event-store thread; it logs to the run it was given from there, through the run's
/// background sender, so training never waits for the store.
///
/// - At the end of each split's epoch, each numeric metric's epoch value (burn's `Final`
///   mean) is logged as `"{split}/{metric name}"` (`train/Loss`, `valid/Accuracy`) with
///   step = the epoch, counted from 1 as burn counts it.
/// - With [`every_n_batches(n)`](Self::every_n_batches), every n-th batch's values are
///   also logged, as `"{split}/batch/{metric name}"`, with step = the number of batches
///   of that split seen so far (on a resumed run, counting on from the highest step those
///   keys already have).
/// - Metric names are turned into keys MLflow accepts (characters other than letters,
///   digits, `_ - . : ` and space become `_`); names that would become the same key get
///   `_2`, `_3`, ... appended, in the order burn first reports them. Text metrics are not
///   logged.
/// - burn asks its loggers for past values to choose the checkpoint to keep and to stop
///   early; this logger answers exactly as burn's `InMemoryMetricLogger` does, so those
///   decisions are the same as with burn's own logger.
///
/// A value the store refuses, or a run that ended before training did, is reported once
/// on stderr and through `tracing`; training goes on.
///
/// To log burn's checkpoints as MLflow logged models with these epoch values linked to
/// them, make an [`MlflowCheckpointer`](crate::MlflowCheckpointer) from this logger.
pub struct MlflowMetricLogger {
    run: RunHandle,
    mirror: InMemoryMetricLogger,
    names: HashMap<MetricId, String>,
    keys: MetricKeys,
    every_n_batches: usize,
    batches: HashMap<String, i64>,
    resume: Resume,
    /// The epoch values, for the checkpointers made from this logger.
    board: EpochBoard,
    reporter: Reporter,
}

impl std::fmt::Debug for MlflowMetricLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowMetricLogger")
            .field("run", &self.run)
            .field("every_n_batches", &self.every_n_batches)
            .finish_non_exhaustive()
    }
}

/// The highest step of each metric key of the run, needed to continue per-batch steps.
#[derive(Default)]
enum Resume {
    /// Per-batch logging is off.
    #[default]
    Unused,
    /// Being read on a helper thread, so that neither the caller nor burn waits for it.
    Pending(JoinHandle<HashMap<String, i64>>),
    Ready(HashMap<String, i64>),
}

impl MlflowMetricLogger {
    /// A logger for the run active on this thread, for example inside a
    /// `#[mlflow::child_run]` function. Fails with `Error::NoActiveRun` outside a run.
    pub fn active() -> Result<Self, TrackingError> {
        mlflow_tracking_runtime::active_run()
            .map(Self::new)
            .ok_or(TrackingError::NoActiveRun)
    }

    /// A logger for `run`, from any thread.
    ///
    /// Sets the run's tag `burn.version` to [`BURN_VERSION`](crate::BURN_VERSION).
    pub fn new(run: RunHandle) -> Self {
        let logger = MlflowMetricLogger {
            run,
            mirror: InMemoryMetricLogger::new(),
            names: HashMap::new(),
            keys: MetricKeys::default(),
            every_n_batches: 0,
            batches: HashMap::new(),
            resume: Resume::Unused,
            board: EpochBoard::default(),
            reporter: Reporter::new("the burn metric logger"),
        };
        if let Err(e) = logger.run.set_tag("burn.version", BURN_VERSION) {
            logger.report(e);
        }
        logger
    }

    /// Also logs every `n`-th batch's metric values (`0`, the default, logs epoch values
    /// only). See the type's documentation for keys and steps.
    ///
    /// To continue the steps of a resumed run, the run's metrics are read once, on a helper
    /// thread, from the tracking URI of the process (`mlflow::set_tracking_uri`); when that
    /// read fails the steps start at 1 and a warning is traced.
    pub fn every_n_batches(mut self, n: usize) -> Self {
        self.every_n_batches = n;
        if n > 0 && matches!(self.resume, Resume::Unused) {
            self.resume = start_resume_lookup(&self.run);
        }
        self
    }

    /// The run this logger logs to.
    pub fn run(&self) -> &RunHandle {
        &self.run
    }

    /// The board the checkpointers made from this logger read the epoch values from.
    pub(crate) fn board(&self) -> &EpochBoard {
        &self.board
    }

    fn log_points(&mut self, update: &MetricsUpdate, epoch: usize, split: &Split) {
        let is_final = update
            .entries_numeric
            .iter()
            .any(|e| matches!(e.numeric_entry, Some(NumericEntry::Final(_))));
        let prefix = split_prefix(split);
        let for_checkpoints = is_final && matches!(split, Split::Train | Split::Valid);
        let step = if is_final {
            i64::try_from(epoch).unwrap_or(i64::MAX)
        } else {
            match self.batch_step(&prefix) {
                Some(step) => step,
                None => return,
            }
        };
        for numeric in &update.entries_numeric {
            let Some(entry) = &numeric.numeric_entry else {
                continue; // a metric with no value for this batch yet
            };
            if is_final != matches!(entry, NumericEntry::Final(_)) {
                continue;
            }
            let Some(name) = self.names.get(&numeric.entry.metric_id) else {
                continue; // burn sends every definition first; nothing to name this by
            };
            let segment = self.keys.segment(name);
            let key = if is_final {
                format!("{prefix}/{segment}")
            } else {
                format!("{prefix}/batch/{segment}")
            };
            let timestamp_ms = now_ms();
            let logged = self
                .run
                .metric(&key, entry.current())
                .step(step)
                .timestamp(timestamp_ms)
                .log();
            if let Err(e) = logged {
                self.report(e);
            } else if for_checkpoints {
                let point = Point {
                    key,
                    value: entry.current(),
                    timestamp_ms,
                };
                self.board.record(epoch, point);
            }
        }
    }

    /// Counts one batch of the split; the step to log it at when it is one of every n.
    fn batch_step(&mut self, prefix: &str) -> Option<i64> {
        if self.every_n_batches == 0 {
            return None;
        }
        let count = match self.batches.get_mut(prefix) {
            Some(count) => count,
            None => {
                let start = self.resumed_step(prefix);
                self.batches.entry(prefix.to_owned()).or_insert(start)
            }
        };
        *count += 1;
        let n = i64::try_from(self.every_n_batches).unwrap_or(i64::MAX);
        (*count % n == 0).then_some(*count)
    }

    /// The highest step the run already has for the split's per-batch keys (0 for none).
    fn resumed_step(&mut self, prefix: &str) -> i64 {
        self.resume = match std::mem::take(&mut self.resume) {
            Resume::Pending(handle) => Resume::Ready(handle.join().unwrap_or_default()),
            other => other,
        };
        let Resume::Ready(steps) = &self.resume else {
            return 0;
        };
        let batch_prefix = format!("{prefix}/batch/");
        steps
            .iter()
            .filter(|(key, _)| key.starts_with(&batch_prefix))
            .map(|(_, step)| *step)
            .max()
            .unwrap_or(0)
            .max(0)
    }

    fn report(&self, error: TrackingError) {
        self.reporter.report(self.run.name(), &error);
    }
}

impl Drop for MlflowMetricLogger {
    fn drop(&mut self) {
        // Training is over: a checkpointer waiting for values stops waiting.
        self.board.close();
    }
}

/// Now, in milliseconds since the Unix epoch, as the run's points are timestamped.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads the run's metric keys and their highest steps on a helper thread.
fn start_resume_lookup(run: &RunHandle) -> Resume {
    let run = run.clone();
    let spawned = std::thread::Builder::new()
        .name("mlflow-burn-resume".to_owned())
        .spawn(move || match run.id().and_then(|id| mlflow_tracking_runtime::get_run(&id)) {
            Ok(found) => found
                .metrics
                .into_iter()
                .map(|m| (m.key, m.step))
                .collect(),
            Err(e) => {
                tracing::warn!(
                    run = run.name(),
                    "burn metric logger: cannot read the run's metrics, per-batch steps start at 1: {e}"
                );
                HashMap::new()
            }
        });
    match spawned {
        Ok(handle) => Resume::Pending(handle),
        Err(e) => {
            tracing::warn!(
                "burn metric logger: cannot start a thread, per-batch steps start at 1: {e}"
            );
            Resume::Ready(HashMap::new())
        }
    }
}

impl MetricLogger for MlflowMetricLogger {
    fn log(&mut self, mut update: MetricsUpdate, epoch: usize, split: &Split) {
        self.log_points(&update, epoch, split);
        // The in-memory logger panics on an entry without a definition; burn always sends
        // the definitions first, but a panic here would take burn's event thread down.
        update
            .entries
            .retain(|e| self.names.contains_key(&e.metric_id));
        update
            .entries_numeric
            .retain(|e| self.names.contains_key(&e.entry.metric_id));
        self.mirror.log(update, epoch, split);
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &Split,
    ) -> Result<Vec<NumericEntry>, String> {
        self.mirror.read_numeric(name, epoch, split)
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .insert(definition.metric_id.clone(), definition.name.to_string());
        self.mirror.log_metric_definition(definition);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        // Validation is an epoch's last split: its values are all logged.
        if matches!(summary.split, Split::Valid) {
            self.board.complete(summary.epoch_number);
        }
        self.mirror.log_epoch_summary(summary);
    }
}
