//! Runs as the user holds them: a cheap handle to log to a run from anywhere.

use std::fmt::Display;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use std::future::Future;
use std::process::Command as ProcessCommand;

use super::cell::{RunCell, RunHandle};
use super::live;
use super::metric::MetricBuilder;
use super::scope::{self, Scoped};
use super::worker::{self, Worker};
use crate::base::error::{Error, Result, report};
use crate::base::model::{Batch, Metric, Param, RunStatus, RunTag};
use crate::base::python_str::python_str;
use crate::base::sync::lock;
use crate::base::time::now_ms;
use crate::base::validate;
use crate::sender::Command;
use crate::tracker::Tracker;

impl RunHandle {
    /// Runs `f` on this thread with this run as the active run (and no other): the hand-off
    /// for work started on another thread, such as a `std::thread::scope` worker. Runs
    /// started inside nest under this one.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let parent = mlflow::start_run().name("sweep").start();
    /// let handle = parent.handle();
    /// std::thread::scope(|s| {
    ///     s.spawn(|| handle.enter(|| {
    ///         let _child = mlflow::start_run().name("trial").start(); // nests under "sweep"
    ///         mlflow::log_metric("loss", 0.1)
    ///     }));
    /// });
    /// ```
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        scope::enter(self, f)
    }

    /// Attaches this run to a future: while it is polled, this run is the active run, so
    /// runs started inside nest under it. The hand-off for `tokio::spawn` and other
    /// executors; without it a spawned task starts with an empty stack.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// # async fn demo() {
    /// let run = mlflow::active_run().expect("inside a run");
    /// tokio::spawn(run.scope(async {
    ///     mlflow::log_metric("from_task", 1.0).ok();
    /// }));
    /// # }
    /// ```
    pub fn scope<F: Future>(&self, fut: F) -> Scoped<F> {
        scope::scoped(self, fut)
    }

    /// Sets up a worker process whose runs nest under this run: see [`Worker`]. Waits
    /// until the run exists (its id), then asks the store for its experiment.
    ///
    /// Fails when the run could not be created, or its tracking URI cannot be handed on.
    pub fn worker(&self) -> Result<Worker> {
        worker::worker_of(self)
    }

    /// Sets up `command` to run as a worker of this run, in one line: every run the child
    /// process starts where it would otherwise be top level (a `#[parent_run]`, a
    /// `start_run()` with no active run) nests under this run, in its experiment, on the
    /// same tracking URI. Returns the [`Worker`], for
    /// [`mark_killed`](Worker::mark_killed) once the child has exited.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let sweep = mlflow::start_run().name("sweep").start();
    /// let mut command = std::process::Command::new(std::env::current_exe()?);
    /// command.arg("--worker");
    /// let worker = sweep.handle().configure_worker(&mut command)?;
    /// let status = command.status()?;
    /// if !status.success() {
    ///     let marked = worker.mark_killed()?;
    ///     eprintln!("worker failed ({status}); {} run(s) marked KILLED", marked.len());
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn configure_worker(&self, command: &mut ProcessCommand) -> Result<Worker> {
        let worker = self.worker()?;
        worker.configure(command);
        Ok(worker)
    }

    /// The run's id. Over REST the server assigns it, so this waits until the run has been
    /// created (the background sender does that right away); the embedded store knows it at
    /// once. Fails when the run could not be created.
    pub fn id(&self) -> Result<String> {
        self.cell.slot.wait_id()
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        self.cell.name()
    }

    /// True when both handles refer to the same run.
    pub fn same_run(&self, other: &RunHandle) -> bool {
        Arc::ptr_eq(&self.cell, &other.cell)
    }

    /// Logs a param. The value is written as the Python client writes it (`str(value)`), so
    /// that filters written for Python runs match: an `f64` or `f32` as Python's
    /// `repr(float)` (`1e-05`, `1.0`, `1e+16`, `nan`), a `bool` as `True` or `False`, also
    /// behind references (`&f64`); any other type with its `Display`.
    ///
    /// Params are write-once: logging the same value again is fine; a different value is
    /// [`Error::ParamChanged`].
    pub fn log_param(&self, key: &str, value: impl Display) -> Result<()> {
        self.log_params([(key, value)])
    }

    /// Logs several params at once, each written as [`log_param`](RunHandle::log_param)
    /// writes it.
    pub fn log_params<K, V>(&self, params: impl IntoIterator<Item = (K, V)>) -> Result<()>
    where
        K: AsRef<str>,
        V: Display,
    {
        let mut batch = Batch::default();
        let mut seen = lock(&self.cell.params);
        let mut fresh: Vec<(String, String)> = Vec::new();
        // A bad entry is reported, and the others are still logged.
        let mut refused = Refused::default();
        for (k, v) in params {
            let key = k.as_ref();
            if let Err(e) = validate::key("param", key) {
                refused.push(e);
                continue;
            }
            let value = validate::truncate_value(
                "param",
                key,
                python_str(&v),
                validate::MAX_PARAM_VALUE_LENGTH,
            );
            let known = seen
                .get(key)
                .or_else(|| fresh.iter().find(|(fk, _)| fk == key).map(|(_, fv)| fv));
            match known {
                Some(old) if *old != value => refused.push(Error::ParamChanged {
                    key: key.to_owned(),
                    old: old.clone(),
                    new: value,
                }),
                Some(_) => {}
                None => fresh.push((key.to_owned(), value)),
            }
        }
        for (key, value) in fresh {
            seen.insert(key.clone(), value.clone());
            batch.params.push(Param { key, value });
        }
        drop(seen);
        self.send_batch(batch)?;
        refused.into_result()
    }

    /// Logs a metric point at step 0.
    pub fn log_metric(&self, key: &str, value: f64) -> Result<()> {
        self.log_metric_with_step(key, value, 0)
    }

    /// Logs a metric point at `step`.
    pub fn log_metric_with_step(&self, key: &str, value: f64, step: i64) -> Result<()> {
        validate::key("metric", key)?;
        self.send_batch(Batch {
            metrics: vec![Metric {
                key: key.to_owned(),
                value,
                timestamp: now_ms(),
                step,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            }],
            ..Batch::default()
        })
    }

    /// A metric point of this run, to configure (step, timestamp) and log:
    /// `run.metric("loss", 0.1).step(3).log()`; see [`MetricBuilder`].
    pub fn metric(&self, key: &str, value: f64) -> MetricBuilder {
        MetricBuilder::new(Some(self.clone()), key, value)
    }

    /// Logs several metric points at step 0 with one timestamp.
    pub fn log_metrics<K: AsRef<str>>(
        &self,
        metrics: impl IntoIterator<Item = (K, f64)>,
    ) -> Result<()> {
        self.log_metrics_with_step(metrics, 0)
    }

    /// Logs several metric points at `step` with one timestamp (Python's
    /// `log_metrics(metrics, step=...)`).
    pub fn log_metrics_with_step<K: AsRef<str>>(
        &self,
        metrics: impl IntoIterator<Item = (K, f64)>,
        step: i64,
    ) -> Result<()> {
        let timestamp = now_ms();
        let mut batch = Batch::default();
        let mut refused = Refused::default();
        for (k, value) in metrics {
            if let Err(e) = validate::key("metric", k.as_ref()) {
                refused.push(e);
                continue;
            }
            batch.metrics.push(Metric {
                key: k.as_ref().to_owned(),
                value,
                timestamp,
                step,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            });
        }
        self.send_batch(batch)?;
        refused.into_result()
    }

    /// Sets a tag, its value written as a param's is ([`log_param`](RunHandle::log_param)):
    /// floats and bools as Python writes them, anything else with its `Display`. The last
    /// value set wins.
    pub fn set_tag(&self, key: &str, value: impl Display) -> Result<()> {
        self.set_tags([(key, value)])
    }

    /// Sets several tags at once.
    pub fn set_tags<K, V>(&self, tags: impl IntoIterator<Item = (K, V)>) -> Result<()>
    where
        K: AsRef<str>,
        V: Display,
    {
        let mut batch = Batch::default();
        let mut refused = Refused::default();
        for (k, v) in tags {
            let key = k.as_ref();
            if let Err(e) = validate::key("tag", key) {
                refused.push(e);
                continue;
            }
            batch.tags.push(RunTag {
                key: key.to_owned(),
                value: validate::truncate_value(
                    "tag",
                    key,
                    python_str(&v),
                    validate::MAX_TAG_VALUE_LENGTH,
                ),
            });
        }
        self.send_batch(batch)?;
        refused.into_result()
    }

    /// Queues metric points that already carry their timestamps and steps.
    pub(crate) fn send_metrics(&self, metrics: Vec<Metric>) -> Result<()> {
        self.send_batch(Batch {
            metrics,
            ..Batch::default()
        })
    }

    /// A handle to an existing run known by id, outside the run stack.
    pub(crate) fn attached(tracker: Arc<Tracker>, run_id: &str) -> RunHandle {
        RunHandle {
            cell: Arc::new(RunCell::attached(tracker, run_id)),
        }
    }

    fn send_batch(&self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.cell.tracker.send(Command::Log {
            run: self.cell.slot.clone(),
            batch,
        })
    }

    /// Ends the run as its guard going out of scope asks (at `end_time`, else now), except
    /// that a panic unwinding now, or one that passed through a future scoped to this run,
    /// makes it FAILED.
    pub(crate) fn end_from_guard(
        &self,
        status: RunStatus,
        error: Option<String>,
        end_time: Option<i64>,
    ) {
        let panicked = std::thread::panicking() || self.cell.panicked.load(Ordering::Acquire);
        let status = if panicked { RunStatus::Failed } else { status };
        self.end_at(status, error, end_time.unwrap_or_else(now_ms));
    }

    /// Ends the run with `status` now, once; later calls do nothing.
    pub(crate) fn end(&self, status: RunStatus, error: Option<String>) {
        self.end_at(status, error, now_ms());
    }

    /// Ends the run with `status` at `end_time` (milliseconds since the Unix epoch), after
    /// its queued data, once; later calls do nothing.
    pub(crate) fn end_at(&self, status: RunStatus, error: Option<String>, end_time: i64) {
        if self.cell.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        live::unregister(&self.cell);
        self.cell.monitor.stop();
        let result = self.cell.tracker.send(Command::End {
            run: self.cell.slot.clone(),
            status,
            end_time,
            error,
        });
        if let Err(e) = result {
            report(&e);
        }
    }
}

/// The entries of a logging call that were refused; the call still logs the others.
#[derive(Default)]
struct Refused(Vec<Error>);

impl Refused {
    fn push(&mut self, e: Error) {
        self.0.push(e);
    }

    fn into_result(mut self) -> Result<()> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(self.0.remove(0)),
            _ => Err(Error::Many(self.0)),
        }
    }
}
