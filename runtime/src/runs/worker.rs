//! Worker processes: a run hands itself to a child process as its parent, and the
//! coordinator marks the runs of a worker that died without ending them.

use std::process::Command;
use std::sync::Arc;

use super::cell::RunHandle;
use crate::base::env;
use crate::base::error::Result;
use crate::base::model::{RunStatus, RunUpdate};
use crate::base::search::{SearchRunsRequest, ViewType};
use crate::base::system::{WORKER_ID_ENV, WORKER_TAG};
use crate::base::time::now_ms;
use crate::tracker::Tracker;

/// The environment variable that nests a process's top-level runs under a run from
/// elsewhere (the crate's own: the Python client has none).
pub const PARENT_RUN_ID_ENV: &str = env::PARENT_RUN_ID;

/// Variables a worker must not inherit from its coordinator: `MLFLOW_RUN_ID` would make
/// its first run resume the coordinator's, and `MLFLOW_EXPERIMENT_NAME` could contradict
/// the experiment id it is given.
const NOT_INHERITED: [&str; 2] = ["MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_NAME"];

/// The parent run id from the environment, for runs that would otherwise be top level.
pub(crate) fn parent_from_env() -> Option<String> {
    env::nonempty(PARENT_RUN_ID_ENV).map(|id| id.trim().to_owned())
}

/// A worker process of a run, as [`RunHandle::worker`] or
/// [`RunHandle::configure_worker`] set it up: the environment it is started with, and the
/// worker id that tags every run it creates (`mlflow.rs.workerId`), so that the
/// coordinator can find them if the worker dies.
#[derive(Debug, Clone)]
pub struct Worker {
    id: String,
    parent_run_id: String,
    experiment_id: String,
    tracking_uri: String,
    tracker: Arc<Tracker>,
}

impl Worker {
    /// The worker's id: the value of its runs' `mlflow.rs.workerId` tag.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The run the worker's runs nest under.
    pub fn parent_run_id(&self) -> &str {
        &self.parent_run_id
    }

    /// The variables to set in the worker's environment: `MLFLOW_TRACKING_URI` (with its
    /// credentials; an embedded store's file as an absolute path), `MLFLOW_EXPERIMENT_ID`
    /// (the parent's), `MLFLOW_RS_PARENT_RUN_ID` and `MLFLOW_RS_WORKER_ID`. For launchers
    /// other than [`std::process::Command`] (a job script, a pod spec); also unset the
    /// variables [`Worker::unset_env`] names.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MLFLOW_TRACKING_URI", self.tracking_uri.clone()),
            ("MLFLOW_EXPERIMENT_ID", self.experiment_id.clone()),
            (PARENT_RUN_ID_ENV, self.parent_run_id.clone()),
            (WORKER_ID_ENV, self.id.clone()),
        ]
    }

    /// The variables a worker must not inherit: `MLFLOW_RUN_ID` (its first run would
    /// resume the coordinator's run) and `MLFLOW_EXPERIMENT_NAME`.
    pub fn unset_env(&self) -> &'static [&'static str] {
        &NOT_INHERITED
    }

    /// Sets up `command`'s environment as [`Worker::env`] and [`Worker::unset_env`] say.
    pub fn configure(&self, command: &mut Command) {
        for name in NOT_INHERITED {
            command.env_remove(name);
        }
        command.envs(self.env());
    }

    /// Ends the worker's runs that are still RUNNING as KILLED, and returns their ids: for
    /// a worker that died without ending them (SIGKILL, out of memory). Call it once the
    /// worker has exited; it searches the parent's experiment and waits for the store.
    pub fn mark_killed(&self) -> Result<Vec<String>> {
        let request = SearchRunsRequest {
            experiment_ids: vec![self.experiment_id.clone()],
            filter: format!(
                "tags.`{WORKER_TAG}` = '{}' and attributes.status = 'RUNNING'",
                self.id
            ),
            view: ViewType::ActiveOnly,
            max_results: 1000,
            order_by: Vec::new(),
            page_token: None,
        };
        self.tracker.request(Box::new(move |ctx| {
            Box::pin(async move {
                let store = ctx.get()?.clone();
                let mut running = Vec::new();
                let mut page_request = request;
                // Every page first: ending runs while paging through a status filter
                // would shift the pages.
                loop {
                    let page = store.search_runs(&page_request).await?;
                    running.extend(page.items.into_iter().map(|r| r.info.run_id));
                    match page.next_page_token {
                        Some(token) => page_request.page_token = Some(token),
                        None => break,
                    }
                }
                let end_time = now_ms();
                for id in &running {
                    store
                        .update_run(id, &RunUpdate::ended(RunStatus::Killed, end_time))
                        .await?;
                }
                Ok(running)
            })
        }))
    }
}

/// Sets up a worker process whose runs nest under `run`: waits until the run exists (its
/// id), then asks the store for its experiment.
pub(super) fn worker_of(run: &RunHandle) -> Result<Worker> {
    let parent_run_id = run.id()?;
    let tracker = run.cell.tracker.clone();
    let tracking_uri = tracker.uri_for_workers()?;
    let id = parent_run_id.clone();
    let experiment_id = tracker.request(Box::new(move |ctx| {
        Box::pin(async move { Ok(ctx.get()?.get_run(&id).await?.info.experiment_id) })
    }))?;
    Ok(Worker {
        id: uuid::Uuid::new_v4().simple().to_string(),
        parent_run_id,
        experiment_id,
        tracking_uri,
        tracker,
    })
}
