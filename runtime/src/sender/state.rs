//! The sender's state and its loop: commands are taken in chunks and handled in order, or,
//! when the store takes several requests at once, in phases (`overlap.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use super::batching::take_early_tags;
use super::command::Command;
use super::ctx::Ctx;
use super::outage::Outage;
use super::slot::RunSlot;
use super::spill::Spill;
use crate::base::error::{Error, Result, report};
use crate::base::model::Batch;
use crate::store::{BatchLimits, Store};

/// How many queued commands are taken at once before the store is called.
pub(super) const MAX_CHUNK: usize = 4096;

/// With requests sent concurrently, how many pieces per request slot a run gathers before
/// sending. Measured against a 4-worker server (100,000 points, 4 in flight): 1 reaches
/// about 0.7 of the server's concurrent ceiling, 4 about 0.9, 8 no more than 4.
const PIECES_PER_SLOT: usize = 4;

/// What the sender knows about a run it is feeding.
pub(super) struct RunState {
    pub(super) slot: Arc<RunSlot>,
    /// The run's name in the store, for the links printed when it ends.
    pub(super) run_name: String,
    /// The store's id, or why the run does not exist there.
    pub(super) id: Result<String>,
    /// The run's reference in the spill file, when its creation was spilled.
    pub(super) spill_ref: Option<String>,
    pub(super) pending: Batch,
}

pub(super) struct Sender {
    pub(super) ctx: Ctx,
    pub(super) limits: BatchLimits,
    /// Metric-only batches of one run that may be under way at once.
    pub(super) in_flight: usize,
    /// A run's pending values are sent once there are this many.
    pub(super) send_at: usize,
    pub(super) runs: HashMap<u64, RunState>,
    /// Experiment ids the sender resolved, by run, so that children follow their parent.
    pub(super) run_experiments: HashMap<u64, String>,
    pub(super) experiments_by_name: HashMap<String, String>,
    pub(super) default_experiment: Option<Result<String>>,
    /// Experiments of parents from elsewhere, by run id: looked up once per process.
    pub(super) attached_parents: HashMap<String, Result<String>>,
    pub(super) failures: Vec<Error>,
    pub(super) spill: Spill,
    /// Set while the store is unreachable: operations go to the spill.
    pub(super) outage: Option<Outage>,
    /// Ids of runs whose creation was spilled and later replayed, by spill reference.
    pub(super) replayed_ids: HashMap<String, String>,
    /// The queue, for commands that arrive while a chunk is being handled (`overlap.rs`).
    pub(super) queue: Option<flume::Receiver<Command>>,
}

impl Sender {
    pub(super) fn new(store: std::result::Result<Arc<dyn Store>, Error>) -> Sender {
        let limits = store
            .as_ref()
            .map(|s| s.limits())
            .unwrap_or(BatchLimits::MLFLOW_SERVER);
        let in_flight = store.as_ref().map_or(1, |s| s.max_in_flight().max(1));
        if let Err(e) = &store {
            report(e);
        }
        // With several requests under way, a send holds enough pieces to keep them all busy
        // most of the time: the window empties only at the end of each send.
        let send_at = match in_flight {
            1 => limits.entities,
            n => limits.entities * n * PIECES_PER_SLOT,
        };
        Sender {
            ctx: Ctx { store },
            limits,
            in_flight,
            send_at,
            runs: HashMap::new(),
            run_experiments: HashMap::new(),
            experiments_by_name: HashMap::new(),
            default_experiment: None,
            attached_parents: HashMap::new(),
            failures: Vec::new(),
            spill: Spill::default(),
            outage: None,
            replayed_ids: HashMap::new(),
            queue: None,
        }
    }

    pub(super) async fn run(mut self, rx: flume::Receiver<Command>) {
        self.queue = Some(rx.clone());
        loop {
            let next = match self.probe_in() {
                None => rx.recv_async().await,
                // While the store is down, wake up now and then to see whether it is back.
                Some(wait) => match tokio::time::timeout(wait, rx.recv_async()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.probe(false).await;
                        continue;
                    }
                },
            };
            let Ok(first) = next else { break };
            let mut chunk: Vec<Option<Command>> = vec![Some(first)];
            while chunk.len() < MAX_CHUNK {
                match rx.try_recv() {
                    Ok(cmd) => chunk.push(Some(cmd)),
                    Err(_) => break,
                }
            }
            self.probe(false).await;
            self.process(chunk).await;
            // Nothing more waiting: store what is pending rather than hold it for later.
            if rx.is_empty() {
                self.send_all_pending().await;
            }
        }
        self.send_all_pending().await;
    }

    pub(super) async fn process(&mut self, mut chunk: Vec<Option<Command>>) {
        if self.concurrency() > 1 {
            return self.process_overlapped(chunk).await;
        }
        for i in 0..chunk.len() {
            self.handle(&mut chunk, i).await;
        }
    }

    /// Handles the command at `i`, alone; the commands after it are there for a start to
    /// take the tags logged right after it.
    pub(super) async fn handle(&mut self, chunk: &mut [Option<Command>], i: usize) {
        let Some(cmd) = chunk[i].take() else { return };
        match cmd {
            Command::Start { run, spec } => {
                // Tags logged right after the start ride on the create request.
                let early_tags = take_early_tags(&mut chunk[i + 1..], run.local_id);
                self.start(run, spec, early_tags).await;
            }
            Command::Log { run, batch } => self.log(run, batch).await,
            Command::End {
                run,
                status,
                end_time,
                error,
            } => self.end(run, status, end_time, error).await,
            Command::Failed(err) => self.fail(err),
            Command::Flush(reply) => {
                self.send_all_pending().await;
                self.probe(true).await;
                self.report_spill();
                let _ = reply.send(std::mem::take(&mut self.failures));
            }
            Command::Call(call) => {
                self.send_all_pending().await;
                call(self.ctx.clone()).await;
            }
        }
    }

    /// Requests of different runs that may be under way at once (1: one after another), as
    /// the store says now (the REST store adapts it to the server's distance).
    pub(super) fn concurrency(&self) -> usize {
        self.ctx
            .store()
            .map_or(1, |store| store.max_concurrent().max(1))
    }

    pub(super) fn fail(&mut self, err: Error) {
        report(&err);
        self.failures.push(err);
    }
}
