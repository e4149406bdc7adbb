//! The sender's behaviour, tested on the memory store through its stable entry points:
//! `Sender::new(store)`, `Sender::run(rx)` fed with `Command`s, and what ends up in the
//! store, what `Flush` answers and what the spill file holds. Every test runs on tokio's
//! paused clock ([`paused`]): delays and the outage probe take no wall time.
//!
//! - `create.rs`: runs before their data, children after parents, tags on the create
//!   request, experiments, resumed runs and parents from elsewhere;
//! - `commands.rs`: queries, failures from callers, ends with an error, logging after an
//!   end, the queue closing;
//! - `batching.rs`: merging, cutting to the limits, order, metric pieces in flight;
//! - `overlap.rs`: several requests under way (waves, ends side by side);
//! - `outage.rs`: the spill and its replay, lost answers;
//! - `refusals.rs`: what the store refuses, a store that fails to open;
//! - `open.rs`: `memory://` URIs through the sender's own thread.

mod batching;
mod commands;
mod create;
mod open;
mod outage;
mod overlap;
mod refusals;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::command::{Command, ExperimentSel, StartSpec};
use super::core::Sender;
use super::identity::RunSlot;
use crate::base::error::Error;
use crate::base::model::{Batch, Metric, Param, RunStatus, RunTag};
use crate::sender::spill::{SpillOp, read_spill};
use crate::store::Store;
use crate::store::memory::{Call, MemoryStore, Op};

/// Runs a test on a current-thread runtime whose clock is paused (it moves only when every
/// task waits, straight to the next timer), inside a `LocalSet`: the sender runs as a local
/// task, since the compiler cannot prove its future `Send` ("implementation of `Send` is not
/// general enough": higher-ranked lifetimes in the closures of `bounded` and `deliver`).
pub(super) fn paused<F: std::future::Future>(test: F) -> F::Output {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a runtime");
    tokio::task::LocalSet::new().block_on(&runtime, test)
}

/// A sender on a memory store, running as a local task of the test's paused runtime, with
/// a spill folder of its own.
pub(super) struct Harness {
    pub(super) store: Arc<MemoryStore>,
    tx: Option<flume::Sender<Command>>,
    task: Option<tokio::task::JoinHandle<()>>,
    spill: tempfile::TempDir,
    next_local: u64,
    /// Metric timestamps: every point logged is distinct.
    clock: i64,
}

impl Harness {
    /// Starts a sender on `store`; to be called inside [`paused`].
    pub(super) fn new(store: MemoryStore) -> Harness {
        let store = Arc::new(store);
        let dyn_store: Arc<dyn Store> = store.clone();
        Harness::with(store, Ok(dyn_store))
    }

    /// A sender on a memory store set to take `concurrency` requests of different runs at
    /// once.
    pub(super) fn concurrent(concurrency: usize) -> Harness {
        let store = MemoryStore::new();
        store.set_max_concurrent(concurrency);
        Harness::new(store)
    }

    /// A sender whose store failed to open with `error`.
    pub(super) fn unopened(error: Error) -> Harness {
        Harness::with(Arc::new(MemoryStore::new()), Err(error))
    }

    fn with(store: Arc<MemoryStore>, opened: Result<Arc<dyn Store>, Error>) -> Harness {
        let spill = tempfile::tempdir().expect("a temporary spill folder");
        let (tx, rx) = flume::bounded(crate::tracker::QUEUE_CAPACITY);
        let sender = Sender::new(opened, Some(spill.path().to_path_buf()));
        let task = tokio::task::spawn_local(sender.run(rx));
        Harness {
            store,
            tx: Some(tx),
            task: Some(task),
            spill,
            next_local: 1,
            clock: 1_700_000_000_000,
        }
    }

    pub(super) fn send(&self, command: Command) {
        self.tx
            .as_ref()
            .expect("the harness is running")
            .send(command)
            .expect("the sender is running");
    }

    /// Starts a run in the experiment `experiment`, under `parent`.
    pub(super) fn start_in(
        &mut self,
        name: &str,
        parent: Option<&Arc<RunSlot>>,
        experiment: ExperimentSel,
    ) -> Arc<RunSlot> {
        let run = Arc::new(RunSlot::new(self.next_local, name.to_owned(), None));
        self.next_local += 1;
        self.clock += 1;
        let spec = StartSpec {
            name: name.to_owned(),
            name_given: true,
            client_id: None,
            resume: None,
            user_tags: Vec::new(),
            parent: parent.cloned(),
            experiment,
            start_time: self.clock,
        };
        self.send(Command::Start {
            run: run.clone(),
            spec,
        });
        run
    }

    /// Starts a top-level run in the default experiment.
    pub(super) fn start(&mut self, name: &str) -> Arc<RunSlot> {
        self.start_in(name, None, ExperimentSel::Default)
    }

    /// Starts a child of `parent`, in its experiment.
    pub(super) fn child(&mut self, parent: &Arc<RunSlot>, name: &str) -> Arc<RunSlot> {
        self.start_in(name, Some(parent), ExperimentSel::SameAsParent)
    }

    pub(super) fn log(&self, run: &Arc<RunSlot>, batch: Batch) {
        self.send(Command::Log {
            run: run.clone(),
            batch,
        });
    }

    /// Logs one metric point, with a timestamp of its own.
    pub(super) fn metric(&mut self, run: &Arc<RunSlot>, key: &str, value: f64, step: i64) {
        self.clock += 1;
        let point = Metric {
            key: key.to_owned(),
            value,
            timestamp: self.clock,
            step,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        };
        self.log(run, metrics(vec![point]));
    }

    pub(super) fn param(&self, run: &Arc<RunSlot>, key: &str, value: &str) {
        self.log(run, params(&[(key, value)]));
    }

    pub(super) fn tag(&self, run: &Arc<RunSlot>, key: &str, value: &str) {
        self.log(run, tags(&[(key, value)]));
    }

    pub(super) fn end(&mut self, run: &Arc<RunSlot>) {
        self.end_with(run, RunStatus::Finished);
    }

    pub(super) fn end_with(&mut self, run: &Arc<RunSlot>, status: RunStatus) {
        self.clock += 1;
        self.send(Command::End {
            run: run.clone(),
            status,
            end_time: self.clock,
            error: None,
        });
    }

    /// Flushes: the failures since the last flush.
    pub(super) async fn flush(&self) -> Vec<Error> {
        let (reply, answer) = flume::bounded(1);
        self.send(Command::Flush(reply));
        answer
            .recv_async()
            .await
            .expect("the sender answers a flush")
    }

    /// Flushes and asserts that nothing failed.
    pub(super) async fn flush_ok(&self) {
        let failures = self.flush().await;
        assert!(failures.is_empty(), "unexpected failures: {failures:#?}");
    }

    /// The spill files in the sender's spill folder.
    pub(super) fn spill_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.spill.path())
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The operations waiting in the one spill file.
    pub(super) fn spilled(&self) -> Vec<SpillOp> {
        let files = self.spill_files();
        assert_eq!(files.len(), 1, "one spill file: {files:?}");
        read_spill(&files[0]).expect("a readable spill file")
    }

    /// Stops the sender (as when every tracker is gone) and waits for it to finish.
    pub(super) async fn stop(mut self) {
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.await.expect("the sender did not panic");
        }
    }
}

/// The id the store gave a run.
pub(super) fn id(run: &RunSlot) -> String {
    run.known_id()
        .unwrap_or_else(|| panic!("run {:?} has no id", run.name))
}

pub(super) fn metrics(points: Vec<Metric>) -> Batch {
    Batch {
        metrics: points,
        ..Batch::default()
    }
}

pub(super) fn params(pairs: &[(&str, &str)]) -> Batch {
    Batch {
        params: pairs
            .iter()
            .map(|(k, v)| Param {
                key: (*k).to_owned(),
                value: (*v).to_owned(),
            })
            .collect(),
        ..Batch::default()
    }
}

pub(super) fn tags(pairs: &[(&str, &str)]) -> Batch {
    Batch {
        tags: pairs
            .iter()
            .map(|(k, v)| RunTag {
                key: (*k).to_owned(),
                value: (*v).to_owned(),
            })
            .collect(),
        ..Batch::default()
    }
}

/// `n` points of metric `key`, steps from 0.
pub(super) fn points(key: &str, n: usize) -> Vec<Metric> {
    (0..n)
        .map(|i| Metric {
            key: key.to_owned(),
            value: i as f64,
            timestamp: 1_700_000_000_000 + i as i64,
            step: i as i64,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        })
        .collect()
}

/// The calls that reached the store's state (answered or lost), the pings left out.
pub(super) fn effective(store: &MemoryStore) -> Vec<Call> {
    store
        .journal()
        .into_iter()
        .filter(|c| c.op != Op::Ping && c.outcome.took_effect())
        .collect()
}

/// The run names of the `runs/create` calls, in the order they arrived.
pub(super) fn created_names(store: &MemoryStore) -> Vec<String> {
    store
        .calls(Op::CreateRun)
        .iter()
        .filter_map(|c| c.run_name().map(str::to_owned))
        .collect()
}

/// The `runs/create` call for the run named `name`.
pub(super) fn create_call(store: &MemoryStore, name: &str) -> Call {
    store
        .calls(Op::CreateRun)
        .into_iter()
        .find(|c| c.run_name() == Some(name))
        .unwrap_or_else(|| panic!("no runs/create for {name}"))
}

/// The calls of `op` for the run `run_id`.
pub(super) fn calls_for(store: &MemoryStore, op: Op, run_id: &str) -> Vec<Call> {
    store
        .calls(op)
        .into_iter()
        .filter(|c| c.run_id.as_deref() == Some(run_id))
        .collect()
}

/// `n` seconds on tokio's clock.
pub(super) fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
