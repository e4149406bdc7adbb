//! Runs as the user holds them: a cheap handle, a builder, and the guard that ends the run.

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::context;
use crate::error::{Error, Result};
use crate::model::{Batch, Metric, Param, RunStatus, RunTag};
use crate::outcome::Outcome;
use crate::sender::{Command, ExperimentSel, StartSpec};
use crate::time::now_ms;
use crate::tracker::{self, Tracker};
use crate::validate;

/// What a run is, shared by its handles, its guard and the background sender.
pub(crate) struct RunCell {
    pub(crate) local_id: u64,
    pub(crate) name: String,
    pub(crate) tracker: Arc<Tracker>,
    id: Mutex<IdState>,
    id_ready: Condvar,
    /// Params logged from this process, so that a changed value is refused on the spot.
    params: Mutex<HashMap<String, String>>,
    ended: AtomicBool,
    /// A panic unwound through a poll of a future scoped to this run.
    pub(crate) panicked: AtomicBool,
}

impl fmt::Debug for RunCell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunCell")
            .field("local_id", &self.local_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

enum IdState {
    Pending,
    Ready(String),
    Failed(Error),
}

impl RunCell {
    /// Records the id the store gave the run (or why it has none) and wakes waiters.
    pub(crate) fn resolve_id(&self, id: Result<String>) {
        let mut state = lock(&self.id);
        if matches!(*state, IdState::Pending) {
            *state = match id {
                Ok(id) => IdState::Ready(id),
                Err(e) => IdState::Failed(e),
            };
        }
        self.id_ready.notify_all();
    }

    /// The id if already known, without waiting.
    pub(crate) fn known_id(&self) -> Option<String> {
        match &*lock(&self.id) {
            IdState::Ready(id) => Some(id.clone()),
            _ => None,
        }
    }

    fn wait_id(&self) -> Result<String> {
        let mut state = lock(&self.id);
        loop {
            match &*state {
                IdState::Ready(id) => return Ok(id.clone()),
                IdState::Failed(e) => return Err(e.clone()),
                IdState::Pending => {
                    state = self
                        .id_ready
                        .wait(state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }
        }
    }
}

/// Locks a mutex, recovering the data if another thread panicked while holding it: the
/// data guarded here stays consistent across a panic, and user code must never panic
/// because of ours.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A cheap, `Send + Sync + Clone` reference to a run, for logging to it from anywhere and
/// for handing it to another thread or task as a parent.
#[derive(Clone)]
pub struct RunHandle {
    pub(crate) cell: Arc<RunCell>,
}

impl fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunHandle")
            .field("name", &self.cell.name)
            .field("run_id", &self.cell.known_id())
            .finish()
    }
}

impl RunHandle {
    /// The run's id. Over REST the server assigns it, so this waits until the run has been
    /// created (the background sender does that right away); the embedded store knows it at
    /// once. Fails when the run could not be created.
    pub fn id(&self) -> Result<String> {
        self.cell.wait_id()
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        &self.cell.name
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
            cell: Arc::new(RunCell {
                local_id: tracker.next_local_id(),
                name: run_id.to_owned(),
                tracker,
                id: Mutex::new(IdState::Ready(run_id.to_owned())),
                id_ready: Condvar::new(),
                params: Mutex::new(HashMap::new()),
                ended: AtomicBool::new(false),
                panicked: AtomicBool::new(false),
            }),
        }
    }

    fn send_batch(&self, batch: Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.cell.tracker.send(Command::Log {
            run: self.cell.clone(),
            batch,
        })
    }

    /// Ends the run with `status`, once; later calls do nothing.
    pub(crate) fn end(&self, status: RunStatus, error: Option<String>) {
        if self.cell.ended.swap(true, Ordering::AcqRel) {
            return;
        }
        crate::signals::unregister(&self.cell);
        let result = self.cell.tracker.send(Command::End {
            run: self.cell.clone(),
            status,
            end_time: now_ms(),
            error,
        });
        if let Err(e) = result {
            tracker::report(&e);
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

/// Where a new run's parent comes from.
#[derive(Debug, Clone)]
enum ParentChoice {
    /// The innermost active run of this thread or task, if any.
    Active,
    /// This run, wherever it lives.
    Explicit(RunHandle),
    /// None: a top-level run.
    TopLevel,
}

/// Configures a run before it starts; made by [`start_run`].
#[derive(Debug, Clone)]
#[must_use = "a RunBuilder does nothing until `.start()` or `.run(..)`"]
pub struct RunBuilder {
    name: Option<String>,
    tags: Vec<RunTag>,
    params: Vec<(String, String)>,
    parent: ParentChoice,
    experiment: Option<ExperimentSel>,
}

/// Starts configuring a new run. By default it nests under the active run of the current
/// thread (or task), or starts a top-level run when there is none.
pub fn start_run() -> RunBuilder {
    RunBuilder {
        name: None,
        tags: Vec::new(),
        params: Vec::new(),
        parent: ParentChoice::Active,
        experiment: None,
    }
}

impl RunBuilder {
    /// The run's name (shown in the UI and stored as the `mlflow.runName` tag). Without one,
    /// a random name is chosen.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A tag set when the run is created. Invalid keys are reported by `flush()`.
    pub fn tag(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.tags.push(RunTag {
            key: key.into(),
            value: value.to_string(),
        });
        self
    }

    /// A param logged when the run starts (formatted with `Display` now). Invalid keys are
    /// reported by `flush()`.
    pub fn param(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.params.push((key.into(), value.to_string()));
        self
    }

    /// Nests the run under `parent` instead of the active run: the hand-off for work started
    /// on another thread or task.
    pub fn parent(mut self, parent: &RunHandle) -> Self {
        self.parent = ParentChoice::Explicit(parent.clone());
        self
    }

    /// Starts a top-level run even when another run is active.
    pub fn top_level(mut self) -> Self {
        self.parent = ParentChoice::TopLevel;
        self
    }

    /// Puts the run into the experiment named `name` (created if missing). A run whose
    /// experiment differs from its parent's starts at the top level of its own experiment.
    pub fn experiment_name(mut self, name: impl Into<String>) -> Self {
        self.experiment = Some(ExperimentSel::Name(name.into()));
        self
    }

    /// Puts the run into the experiment with this id.
    pub fn experiment_id(mut self, id: impl Into<String>) -> Self {
        self.experiment = Some(ExperimentSel::Id(id.into()));
        self
    }

    /// Starts the run and makes it the active run of this thread until the guard drops.
    ///
    /// This never fails and never waits for the network: the run is created by the
    /// background sender, and a failure (server down, bad URI, invalid tag) is reported by
    /// [`flush`](crate::flush), at run end and on stderr, while the code under the run goes on.
    pub fn start(self) -> RunGuard {
        let handle = self.launch();
        context::push(handle.clone());
        RunGuard {
            handle,
            done: false,
            _not_send: PhantomData,
        }
    }

    /// Runs `f` inside the run: FINISHED when it returns, FAILED when it panics (the panic
    /// goes on). For closures returning `Result`, see [`RunBuilder::try_run`].
    pub fn run<R>(self, f: impl FnOnce() -> R) -> R {
        let guard = self.start();
        let value = f();
        guard.end(RunStatus::Finished);
        value
    }

    /// Runs `f` inside the run: FINISHED on `Ok`, FAILED on `Err` (with the error's
    /// `Display` in the `error` tag) or panic.
    pub fn try_run<T, E: Display>(
        self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let guard = self.start();
        let value = f();
        guard.end_with(match &value {
            Ok(_) => Outcome::Finished,
            Err(e) => Outcome::Failed(e.to_string()),
        });
        value
    }

    /// Creates the run without touching the run stack: the common part of every way to
    /// start a run.
    pub(crate) fn launch(self) -> RunHandle {
        let parent = match self.parent {
            ParentChoice::Active => context::current(),
            ParentChoice::Explicit(p) => Some(p),
            ParentChoice::TopLevel => None,
        };
        let tracker = match &parent {
            Some(p) => p.cell.tracker.clone(),
            None => tracker::current(),
        };
        let experiment = match (self.experiment, &parent) {
            (Some(sel), _) => sel,
            (None, Some(_)) => ExperimentSel::SameAsParent,
            (None, None) => tracker.active_experiment(),
        };
        let resume = if parent.is_none() {
            tracker::take_resume_run_id()
        } else {
            None
        };
        let name = self
            .name
            .or_else(|| {
                self.tags
                    .iter()
                    .rev()
                    .find(|t| t.key == "mlflow.runName")
                    .map(|t| t.value.clone())
            })
            .unwrap_or_else(random_run_name);
        let client_id = match &resume {
            Some(id) => Some(id.clone()),
            None if tracker.accepts_client_run_ids() => {
                Some(uuid::Uuid::new_v4().simple().to_string())
            }
            None => None,
        };
        let cell = Arc::new(RunCell {
            local_id: tracker.next_local_id(),
            name: name.clone(),
            tracker: tracker.clone(),
            id: Mutex::new(match &client_id {
                Some(id) => IdState::Ready(id.clone()),
                None => IdState::Pending,
            }),
            id_ready: Condvar::new(),
            params: Mutex::new(HashMap::new()),
            ended: AtomicBool::new(false),
            panicked: AtomicBool::new(false),
        });
        crate::signals::register(&cell);
        let spec = StartSpec {
            name,
            client_id,
            resume,
            user_tags: self.tags,
            parent: parent.map(|p| p.cell),
            experiment,
            start_time: now_ms(),
        };
        if let Err(e) = tracker.send(Command::Start {
            run: cell.clone(),
            spec,
        }) {
            cell.resolve_id(Err(e.clone()));
            tracker::report(&e);
        }
        let handle = RunHandle { cell };
        if !self.params.is_empty()
            && let Err(e) = handle.log_params(self.params)
        {
            let _ = tracker.send(Command::Failed(e));
        }
        handle
    }
}

/// MLflow names unnamed runs itself (`adjective-animal-123`); a client-side name keeps the
/// name known before the server answers.
fn random_run_name() -> String {
    format!("run-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// The active run of a thread: created by [`RunBuilder::start`], it ends the run when
/// dropped: FINISHED, or FAILED while a panic unwinds. Not `Send`: it belongs to the thread
/// (or future) whose run stack it sits on.
#[must_use = "the run ends as soon as the guard is dropped"]
pub struct RunGuard {
    handle: RunHandle,
    done: bool,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for RunGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunGuard")
            .field("run", &self.handle)
            .finish()
    }
}

impl RunGuard {
    /// A handle to this run, to log to it or to hand it to other threads or tasks.
    pub fn handle(&self) -> RunHandle {
        self.handle.clone()
    }

    /// The run's id; see [`RunHandle::id`].
    pub fn id(&self) -> Result<String> {
        self.handle.id()
    }

    /// Ends the run with `status`.
    pub fn end(mut self, status: RunStatus) {
        self.finish(status, None);
    }

    /// Ends the run as `outcome` says: FINISHED, or FAILED with the message in the `error`
    /// tag. A panic in progress always ends it FAILED.
    pub fn end_with(mut self, outcome: Outcome) {
        match outcome {
            Outcome::Finished => self.finish(RunStatus::Finished, None),
            Outcome::Failed(msg) => self.finish(RunStatus::Failed, Some(msg)),
        }
    }

    fn finish(&mut self, status: RunStatus, error: Option<String>) {
        if self.done {
            return;
        }
        self.done = true;
        context::remove(&self.handle);
        let status = if std::thread::panicking() {
            RunStatus::Failed
        } else {
            status
        };
        self.handle.end(status, error);
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.finish(RunStatus::Finished, None);
    }
}
