//! Starting runs: the builder, and what every way to start a run has in common.

use std::fmt::Display;
use std::sync::Arc;

use super::cell::RunCell;
use super::cell::RunHandle;
use super::guard::RunGuard;
use super::{live, stack, worker};
use crate::base::error::report;
use crate::base::model::{NOTE_TAG, RunStatus, RunTag};
use crate::base::outcome::Outcome;
use crate::base::python_str::python_str;
use crate::base::run_names::random_run_name;
use crate::base::time::now_ms;
use crate::base::validate;
use crate::sender::{Command, ExperimentSel, StartSpec};
use crate::tracker;

/// Where a new run's parent comes from.
#[derive(Debug, Clone)]
enum ParentChoice {
    /// The innermost active run of this thread or task, if any.
    Active,
    /// This run, wherever it lives.
    Explicit(RunHandle),
    /// The run with this id, started elsewhere (another process or machine).
    Id(String),
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
    description: Option<String>,
    system_metrics: Option<bool>,
    /// An existing run to resume instead of creating one.
    resume: Option<String>,
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
        description: None,
        system_metrics: None,
        resume: None,
    }
}

impl RunBuilder {
    /// The run's name (shown in the UI and stored as the `mlflow.runName` tag). Without one,
    /// a name is made up as MLflow makes one up (`adaptable-owl-412`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A tag set when the run is created, its value written as a param's is (see
    /// [`RunHandle::log_param`](crate::RunHandle::log_param)). Invalid keys are reported by
    /// `flush()`.
    pub fn tag(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.tags.push(RunTag {
            key: key.into(),
            value: python_str(&value),
        });
        self
    }

    /// The run's description, shown in the UI (the `mlflow.note.content` tag, as the Python
    /// client's `description=` sets it). A `mlflow.note.content` set with
    /// [`tag`](RunBuilder::tag) wins over it; an empty description sets nothing.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// A param logged when the run starts, written now as
    /// [`RunHandle::log_param`](crate::RunHandle::log_param) writes it (floats and bools as
    /// Python writes them). Invalid keys are reported by `flush()`.
    pub fn param(mut self, key: impl Into<String>, value: impl Display) -> Self {
        self.params.push((key.into(), python_str(&value)));
        self
    }

    /// Nests the run under `parent` instead of the active run: the hand-off for work started
    /// on another thread or task.
    pub fn parent(mut self, parent: &RunHandle) -> Self {
        self.parent = ParentChoice::Explicit(parent.clone());
        self
    }

    /// Nests the run under the run with this id, which lives in another process or on
    /// another machine (a coordinator's parent run, say): the hand-off for worker
    /// processes. The run goes into the parent's experiment, which is looked up once per
    /// process. [`RunHandle::configure_worker`](crate::RunHandle::configure_worker) sets
    /// `MLFLOW_RS_PARENT_RUN_ID` instead, which needs no code in the worker.
    ///
    /// When the parent does not exist in this run's store, or is deleted, the run is not
    /// created: `start()` still returns at once, and [`RunHandle::id`] and
    /// [`flush`](crate::flush) report an [`Error::ParentRun`](crate::Error::ParentRun)
    /// naming the parent. A parent that has ended is fine (its status is left alone).
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let parent_id = std::env::args().nth(1).expect("usage: worker <parent run id>");
    /// mlflow::start_run().parent_id(parent_id).name("trial-7").run(|| {
    ///     mlflow::log_metric("loss", 0.25)
    /// })?;
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn parent_id(mut self, run_id: impl Into<String>) -> Self {
        self.parent = ParentChoice::Id(run_id.into());
        self
    }

    /// Starts a top-level run even when another run is active (or
    /// `MLFLOW_RS_PARENT_RUN_ID` is set).
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

    /// Resumes the existing run `run_id` instead of creating one, as the Python client's
    /// `start_run(run_id=...)`: the run is set RUNNING again, renamed when
    /// [`name`](RunBuilder::name) is given, and gets the tags, params and description given
    /// here; it keeps its experiment and parent. A deleted or unknown run is not resumed:
    /// [`RunHandle::id`] and [`flush`](crate::flush) report why.
    ///
    /// ```no_run
    /// # use mlflow_tracking_runtime as mlflow;
    /// let run = mlflow::start_run().resume("0123456789abcdef0123456789abcdef").start();
    /// mlflow::log_metric("loss", 0.1)?;
    /// drop(run); // ends it FINISHED again
    /// # Ok::<(), mlflow::Error>(())
    /// ```
    pub fn resume(mut self, run_id: impl Into<String>) -> Self {
        self.resume = Some(run_id.into());
        self
    }

    /// Logs system metrics (`system/cpu_utilization_percentage`, ...) while the run lives,
    /// or not, whatever [`enable_system_metrics_logging`](crate::enable_system_metrics_logging)
    /// and `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING` say.
    pub fn log_system_metrics(mut self, enabled: bool) -> Self {
        self.system_metrics = Some(enabled);
        self
    }

    /// Starts the run and makes it the active run of this thread until the guard drops.
    ///
    /// This never fails and never waits for the network: the run is created by the
    /// background sender, and a failure (server down, bad URI, invalid tag) is reported by
    /// [`flush`](crate::flush), at run end and on stderr, while the code under the run goes on.
    pub fn start(self) -> RunGuard {
        let handle = self.launch();
        stack::push(handle.clone());
        RunGuard::new(handle)
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
        guard.end_with(Outcome::of_result(&value));
        value
    }

    /// Creates the run without touching the run stack: the common part of every way to
    /// start a run.
    pub(crate) fn launch(self) -> RunHandle {
        // A parent from the environment is where the run would otherwise be top level.
        let mut from_env = false;
        let parent = match self.parent {
            ParentChoice::Active => stack::current().or_else(|| {
                let id = worker::parent_from_env()?;
                from_env = true;
                Some(RunHandle::attached(tracker::current(), &id))
            }),
            ParentChoice::Explicit(p) => Some(p),
            ParentChoice::Id(id) => Some(RunHandle::attached(tracker::current(), &id)),
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
        let resume = match self.resume {
            Some(id) => Some(id),
            None if parent.is_none() || from_env => tracker::take_resume_run_id(),
            None => None,
        };
        let name_given = self.name.is_some() || self.tags.iter().any(|t| t.key == "mlflow.runName");
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
        let resumed = resume.is_some();
        // Under a parent from elsewhere the run may not be created (no such parent): its
        // id is then not known until the sender has checked, so that `id()` can say so.
        let known_id = match &parent {
            Some(p) if p.cell.slot.attached => None,
            _ => client_id.clone(),
        };
        let cell = Arc::new(RunCell::new(tracker.clone(), name.clone(), known_id));
        live::register(&cell);
        let spec = StartSpec {
            name,
            name_given,
            client_id,
            resume,
            user_tags: with_description(self.tags, self.description),
            parent: parent.map(|p| p.cell.slot.clone()),
            experiment,
            start_time: now_ms(),
        };
        if let Err(e) = tracker.send(Command::Start {
            run: cell.slot.clone(),
            spec,
        }) {
            cell.slot.failed(e.clone());
            report(&e);
        }
        cell.monitor
            .start(self.system_metrics, &tracker, &cell.slot, resumed);
        let handle = RunHandle { cell };
        if !self.params.is_empty()
            && let Err(e) = handle.log_params(self.params)
        {
            let _ = tracker.send(Command::Failed(e));
        }
        handle
    }
}

/// The tags a run starts with: the description first, so that an explicit
/// `mlflow.note.content` tag, which comes later, wins (tags are last-write-wins).
fn with_description(tags: Vec<RunTag>, description: Option<String>) -> Vec<RunTag> {
    match description.filter(|d| !d.is_empty()) {
        Some(value) => std::iter::once(RunTag {
            key: NOTE_TAG.to_owned(),
            value: validate::truncate_value("tag", NOTE_TAG, value, validate::MAX_TAG_VALUE_LENGTH),
        })
        .chain(tags)
        .collect(),
        None => tags,
    }
}
