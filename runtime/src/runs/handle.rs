//! Runs as the user holds them: a cheap handle to log to a run from anywhere.

use std::fmt::{self, Display};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::cell::RunCell;
use super::live;
use crate::base::error::{Error, Result, report};
use crate::base::model::{Batch, Metric, Param, RunStatus, RunTag};
use crate::base::sync::lock;
use crate::base::time::now_ms;
use crate::base::validate;
use crate::sender::Command;
use crate::tracker::Tracker;

/// A cheap, `Send + Sync + Clone` reference to a run, for logging to it from anywhere and
/// for handing it to another thread or task as a parent.
#[derive(Clone)]
pub struct RunHandle {
    pub(crate) cell: Arc<RunCell>,
}

impl fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field("name", &self.cell.name())
            .field("run_id", &self.cell.slot.known_id())
            .finish()
    }
}

impl RunHandle {
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

    /// Logs a param (formatted with `Display`). Params are write-once: logging the same
    /// value again is fine; a different value is [`Error::ParamChanged`].
    pub fn log_param(&self, key: &str, value: impl Display) -> Result<()> {
        self.log_params([(key, value)])
    }

    /// Logs several params at once.
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
                v.to_string(),
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
            }],
            ..Batch::default()
        })
    }

    /// Logs several metric points at step 0 with one timestamp.
    pub fn log_metrics<K: AsRef<str>>(
        &self,
        metrics: impl IntoIterator<Item = (K, f64)>,
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
                step: 0,
            });
        }
        self.send_batch(batch)?;
        refused.into_result()
    }

    /// Sets a tag (formatted with `Display`); the last value set wins.
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
                    v.to_string(),
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

    /// Ends the run with `status`, once; later calls do nothing.
    /// Ends the run as its guard going out of scope asks, except that a panic unwinding now,
    /// or one that passed through a future scoped to this run, makes it FAILED.
    pub(crate) fn end_from_guard(&self, status: RunStatus, error: Option<String>) {
        let panicked = std::thread::panicking() || self.cell.panicked.load(Ordering::Acquire);
        self.end(if panicked { RunStatus::Failed } else { status }, error);
    }

    pub(crate) fn end(&self, status: RunStatus, error: Option<String>) {
        if self.cell.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        live::unregister(&self.cell);
        self.cell.monitor.stop();
        let result = self.cell.tracker.send(Command::End {
            run: self.cell.slot.clone(),
            status,
            end_time: now_ms(),
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
