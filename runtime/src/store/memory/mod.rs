//! Not for users: a store that lives in memory, for the sender's tests. It keeps MLflow's
//! rules for what the sender and the API use (`state.rs`, `admin.rs`, `batch.rs`,
//! `search.rs`, `artifacts.rs`), lets a test script faults per operation (`faults.rs`:
//! errors, delays on tokio's clock, an outage, lost answers, gates the test opens), and
//! writes down every call (`journal.rs`);
//! `control.rs` is what a test calls. Every call goes through `MemoryStore::call`:
//! journaled, then the faults, then the state.
//!
//! Built for the runtime's own tests and with the `testing` feature. `memory://<name>`
//! tracking URIs open the store registered under that name ([`MemoryStore::register`]);
//! a sender feeding a memory store runs on tokio's paused clock.
//!
//! A caveat of that clock for a sender on its own thread (`memory://` through a tracker):
//! its runtime is alone, so while the store is down and the queue empty the clock jumps from
//! one probe to the next, and the sender pings in a tight loop (thousands a second, each
//! journaled) until a command comes or the outage ends. Keep such outages short, or test
//! outages with the sender in the test's own runtime, as `sender/tests/` does.
//!
//! ```ignore
//! let store = MemoryStore::register("sweep-test");
//! store.set_max_concurrent(4);
//! let gate = store.pause(Op::CreateRun);
//! // ... start runs through `memory://sweep-test` ...
//! gate.arrived(2).await;
//! gate.open();
//! assert_eq!(store.count(Op::CreateRun), 2);
//! ```

mod admin;
mod artifacts;
mod batch;
mod control;
mod faults;
mod journal;
mod search;
mod state;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use async_trait::async_trait;

pub use faults::{ALWAYS, Gate, Op};
pub use journal::{Call, CallOutcome};

use faults::Faults;
use journal::Journal;
use state::State;

use crate::base::datasets::DatasetInput;
use crate::base::error::{Error, Result};
use crate::base::model::{
    Batch, CreateRun, Experiment, Metric, NewExperiment, Run, RunInfo, RunUpdate,
};
use crate::base::search::{FileInfo, Page, SearchExperimentsRequest, SearchRunsRequest};
use crate::base::sync::lock;
use crate::store::{BatchLimits, Store};

/// An MLflow tracking store in memory, with scripted faults and a journal of calls.
pub struct MemoryStore {
    settings: Mutex<StoreSettings>,
    state: Mutex<State>,
    faults: Faults,
    journal: Journal,
}

/// What the store tells the sender about itself.
#[derive(Debug, Clone)]
struct StoreSettings {
    limits: BatchLimits,
    max_in_flight: usize,
    max_concurrent: usize,
    client_run_ids: bool,
    location: String,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("location", &lock(&self.settings).location)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> MemoryStore {
        MemoryStore::new()
    }
}

/// The stores `memory://<name>` URIs open.
static REGISTRY: LazyLock<Mutex<HashMap<String, Arc<MemoryStore>>>> =
    LazyLock::new(Default::default);

impl MemoryStore {
    /// An empty store (the Default experiment "0" only) with `mlflow server`'s batch limits,
    /// one request at a time, server-chosen run ids.
    pub fn new() -> MemoryStore {
        MemoryStore {
            settings: Mutex::new(StoreSettings {
                limits: BatchLimits::MLFLOW_SERVER,
                max_in_flight: 1,
                max_concurrent: 1,
                client_run_ids: false,
                location: "memory://(unregistered)".to_owned(),
            }),
            state: Mutex::new(State::default()),
            faults: Faults::default(),
            journal: Journal::default(),
        }
    }

    /// A new store that `memory://<name>` opens, replacing any store registered under that
    /// name before (use a name per test).
    pub fn register(name: &str) -> Arc<MemoryStore> {
        let store = Arc::new(MemoryStore::new());
        store.set_location(format!("memory://{name}"));
        lock(&REGISTRY).insert(name.to_owned(), store.clone());
        store
    }

    /// The store registered under `name`.
    pub fn registered(name: &str) -> Option<Arc<MemoryStore>> {
        lock(&REGISTRY).get(name).cloned()
    }

    /// Forgets the store registered under `name`; senders that opened it keep it.
    pub fn unregister(name: &str) -> Option<Arc<MemoryStore>> {
        lock(&REGISTRY).remove(name)
    }

    fn unreachable(&self, op: Op, message: &str) -> Error {
        Error::Transport {
            url: format!("{}/{}", lock(&self.settings).location, op.endpoint()),
            message: message.to_owned(),
        }
    }

    /// One call: journaled, through the script's faults, then `effect` on the state.
    async fn call<T: Clone>(
        &self,
        call: Call,
        created: impl Fn(&T) -> Option<String>,
        effect: impl FnOnce(&mut State, &StoreSettings) -> Result<T>,
    ) -> Result<T> {
        let op = call.op;
        let seq = self.journal.arrive(call);
        let (answer, outcome, id) = self.perform(op, &created, effect).await;
        self.journal.finish(seq, op, outcome, id);
        answer
    }

    async fn perform<T: Clone>(
        &self,
        op: Op,
        created: &impl Fn(&T) -> Option<String>,
        effect: impl FnOnce(&mut State, &StoreSettings) -> Result<T>,
    ) -> (Result<T>, CallOutcome, Option<String>) {
        let down = "connection refused (a scripted outage of the memory store)";
        let plan = self.faults.plan(op);
        if self.faults.outage() {
            let e = self.unreachable(op, down);
            return (Err(e.clone()), CallOutcome::Failed(e), None);
        }
        if let Some(gate) = &plan.gate {
            gate.pass().await;
        }
        if let Some(by) = plan.delay {
            tokio::time::sleep(by).await;
        }
        if self.faults.outage() {
            let e = self.unreachable(op, down);
            return (Err(e.clone()), CallOutcome::Failed(e), None);
        }
        if let Some(e) = plan.fail {
            return (Err(e.clone()), CallOutcome::Failed(e), None);
        }
        let result = {
            let settings = lock(&self.settings).clone();
            effect(&mut lock(&self.state), &settings)
        };
        let id = result.as_ref().ok().and_then(created);
        if plan.lose {
            let message =
                "connection reset before the answer (a scripted lost answer: the call took effect)";
            return (Err(self.unreachable(op, message)), CallOutcome::Lost, id);
        }
        let outcome = match &result {
            Ok(_) => CallOutcome::Ok,
            Err(e) => CallOutcome::Refused(e.clone()),
        };
        (result, outcome, id)
    }
}

fn none<T>(_: &T) -> Option<String> {
    None
}

#[async_trait]
impl Store for MemoryStore {
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        let call = Call {
            experiment: Some(name.to_owned()),
            ..Call::of(Op::GetExperimentByName)
        };
        self.call(call, none, |s, _| Ok(s.experiment_by_name(name)))
            .await
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>> {
        let call = Call {
            experiment: Some(experiment_id.to_owned()),
            ..Call::of(Op::GetExperiment)
        };
        self.call(call, none, |s, _| Ok(s.experiment(experiment_id)))
            .await
    }

    async fn create_experiment_with(&self, experiment: &NewExperiment) -> Result<String> {
        let call = Call {
            experiment: Some(experiment.name.clone()),
            ..Call::of(Op::CreateExperiment)
        };
        self.call(call, none, |s, _| s.create_experiment(experiment))
            .await
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let call = Call {
            experiment: Some(experiment_id.to_owned()),
            ..Call::of(Op::DeleteExperiment)
        };
        self.call(call, none, |s, _| {
            admin::delete_experiment(s, experiment_id)
        })
        .await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let call = Call {
            experiment: Some(experiment_id.to_owned()),
            ..Call::of(Op::RestoreExperiment)
        };
        self.call(call, none, |s, _| {
            admin::restore_experiment(s, experiment_id)
        })
        .await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        let call = Call {
            experiment: Some(experiment_id.to_owned()),
            key: Some(new_name.to_owned()),
            ..Call::of(Op::RenameExperiment)
        };
        self.call(call, none, |s, _| {
            admin::rename_experiment(s, experiment_id, new_name)
        })
        .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        let call = Call {
            experiment: Some(experiment_id.to_owned()),
            key: Some(key.to_owned()),
            ..Call::of(Op::SetExperimentTag)
        };
        self.call(call, none, |s, _| {
            admin::set_experiment_tag(s, experiment_id, key, value)
        })
        .await
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let call = Call {
            experiment: Some(experiment_id.to_owned()),
            key: Some(key.to_owned()),
            ..Call::of(Op::DeleteExperimentTag)
        };
        self.call(call, none, |s, _| {
            admin::delete_experiment_tag(s, experiment_id, key)
        })
        .await
    }

    async fn create_run(&self, request: &CreateRun) -> Result<RunInfo> {
        let call = Call {
            experiment: Some(request.experiment_id.clone()),
            create: Some(request.clone()),
            ..Call::of(Op::CreateRun)
        };
        let created = |info: &RunInfo| Some(info.run_id.clone());
        self.call(call, created, |s, settings| {
            s.create_run(request, settings.client_run_ids)
        })
        .await
    }

    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<()> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            status: update.status.map(|status| (status, update.end_time)),
            ..Call::of(Op::UpdateRun)
        };
        self.call(call, none, |s, _| s.update_run(run_id, update))
            .await
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            ..Call::of(Op::DeleteRun)
        };
        self.call(call, none, |s, _| admin::delete_run(s, run_id))
            .await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            ..Call::of(Op::RestoreRun)
        };
        self.call(call, none, |s, _| admin::restore_run(s, run_id))
            .await
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            key: Some(key.to_owned()),
            ..Call::of(Op::DeleteTag)
        };
        self.call(call, none, |s, _| admin::delete_tag(s, run_id, key))
            .await
    }

    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            batch: Some(batch.clone()),
            ..Call::of(Op::LogBatch)
        };
        self.call(call, none, |s, settings| {
            batch::log_batch(s, run_id, batch, settings.limits)
        })
        .await
    }

    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            ..Call::of(Op::LogInputs)
        };
        self.call(call, none, |s, _| s.log_inputs(run_id, datasets))
            .await
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            ..Call::of(Op::GetRun)
        };
        self.call(call, none, |s, _| s.run(run_id).map(|r| r.to_run()))
            .await
    }

    async fn search_runs(&self, request: &SearchRunsRequest) -> Result<Page<Run>> {
        let call = Call {
            experiment: Some(request.experiment_ids.join(",")),
            filter: Some(request.filter.clone()),
            ..Call::of(Op::SearchRuns)
        };
        self.call(call, none, |s, _| search::search_runs(s, request))
            .await
    }

    async fn search_experiments(
        &self,
        request: &SearchExperimentsRequest,
    ) -> Result<Page<Experiment>> {
        let call = Call {
            filter: Some(request.filter.clone()),
            ..Call::of(Op::SearchExperiments)
        };
        self.call(call, none, |s, _| search::search_experiments(s, request))
            .await
    }

    async fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let call = Call {
            run_id: Some(run_id.to_owned()),
            ..Call::of(Op::GetMetricHistory)
        };
        self.call(call, none, |s, _| s.history(run_id, key)).await
    }

    async fn log_artifact(
        &self,
        artifact_uri: &str,
        local: &std::path::Path,
        artifact_path: &str,
    ) -> Result<()> {
        let bytes = artifacts::read_local(local).await?;
        self.call(Call::of(Op::LogArtifact), none, |s, _| {
            artifacts::put(s, artifact_uri, artifact_path, bytes)
        })
        .await
    }

    async fn list_artifacts(&self, artifact_uri: &str, path: &str) -> Result<Vec<FileInfo>> {
        self.call(Call::of(Op::ListArtifacts), none, |s, _| {
            Ok(artifacts::list(s, artifact_uri, path))
        })
        .await
    }

    async fn download_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        dest: &std::path::Path,
    ) -> Result<()> {
        let bytes = self
            .call(Call::of(Op::DownloadArtifact), none, |s, _| {
                artifacts::get(s, artifact_uri, path)
            })
            .await?;
        artifacts::write_local(dest, &bytes).await
    }

    fn limits(&self) -> BatchLimits {
        lock(&self.settings).limits
    }

    fn max_in_flight(&self) -> usize {
        lock(&self.settings).max_in_flight
    }

    fn max_concurrent(&self) -> usize {
        lock(&self.settings).max_concurrent
    }

    fn accepts_client_run_ids(&self) -> bool {
        lock(&self.settings).client_run_ids
    }

    fn location(&self) -> String {
        lock(&self.settings).location.clone()
    }

    async fn ping(&self) -> Result<()> {
        self.call(Call::of(Op::Ping), none, |_, _| Ok(())).await
    }
}
