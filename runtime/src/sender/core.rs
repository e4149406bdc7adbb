//! The sender's loop: it takes queued commands a chunk at a time, handles each segment of
//! starts, logs and ends in phases (`steps.rs`), and each barrier (a flush, a call, a
//! reported failure) after everything before it; while the store is down, it probes it.

use std::path::PathBuf;
use std::sync::Arc;

use super::chunk::{Barrier, Chunk, Next};
use super::command::{Command, OpenedStore};
use super::delivery::Bounds;
use super::experiments::Experiments;
use super::offline::Offline;
use super::runs::RunTable;
use crate::base::error::{Error, report};
use crate::store::{BatchLimits, Store};

/// With requests sent concurrently, how many pieces per request slot a run gathers before
/// sending. Measured against a 4-worker server (100,000 points, 4 in flight): 1 reaches
/// about 0.7 of the server's concurrent ceiling, 4 about 0.9, 8 no more than 4.
const PIECES_PER_SLOT: usize = 4;

/// The background sender of one destination, made of parts with one job each.
pub(crate) struct Sender {
    pub(super) store: OpenedStore,
    /// The runs being fed and what is pending for them.
    pub(super) runs: RunTable,
    /// Which experiment new runs go to.
    pub(super) experiments: Experiments,
    /// The outage, if any, and the spill file.
    pub(super) offline: Offline,
    pub(super) limits: BatchLimits,
    /// Metric-only batches of one run that may be under way at once.
    pub(super) in_flight: usize,
    /// A run's pending values are sent once there are this many.
    pub(super) send_at: usize,
    /// Failures since the last flush.
    failures: Vec<Error>,
}

impl Sender {
    /// A sender for `store` (or for the reason it could not be opened), spilling into
    /// `spill_dir` (default: `MLFLOW_RS_SPILL_DIR`, else `./mlflow-spill`).
    pub(crate) fn new(
        store: std::result::Result<Arc<dyn Store>, Error>,
        spill_dir: Option<PathBuf>,
    ) -> Sender {
        if let Err(e) = &store {
            report(e);
        }
        let limits = store
            .as_ref()
            .map_or(BatchLimits::MLFLOW_SERVER, |s| s.limits());
        let in_flight = store.as_ref().map_or(1, |s| s.max_in_flight().max(1));
        // With several requests under way, a send holds enough pieces to keep them all busy
        // most of the time: the window empties only at the end of each send.
        let send_at = match in_flight {
            1 => limits.entities,
            n => limits.entities * n * PIECES_PER_SLOT,
        };
        Sender {
            store: OpenedStore::new(store),
            runs: RunTable::default(),
            experiments: Experiments::default(),
            offline: Offline::new(spill_dir),
            limits,
            in_flight,
            send_at,
            failures: Vec::new(),
        }
    }

    /// Handles what `queue` brings until every caller is gone, then stores what is left.
    pub(crate) async fn run(mut self, queue: flume::Receiver<Command>) {
        while let Some(first) = self.next_command(&queue).await {
            let mut chunk = Chunk::new(first, &queue);
            self.probe(false).await;
            while let Some(next) = chunk.next() {
                match next {
                    Next::Segment(segment) => self.segment(segment, &mut chunk, &queue).await,
                    Next::Barrier(barrier) => self.barrier(barrier).await,
                }
            }
            // Nothing more waiting: store what is pending rather than hold it for later.
            if queue.is_empty() {
                self.send_all_pending().await;
            }
        }
        self.send_all_pending().await;
    }

    /// The next queued command, probing the store when a probe is due while it is down;
    /// `None` once every caller is gone.
    async fn next_command(&mut self, queue: &flume::Receiver<Command>) -> Option<Command> {
        loop {
            let Some(due) = self.offline.next_probe() else {
                return queue.recv_async().await.ok();
            };
            match tokio::time::timeout_at(due, queue.recv_async()).await {
                Ok(next) => return next.ok(),
                Err(_) => self.probe(false).await,
            }
        }
    }

    async fn barrier(&mut self, barrier: Barrier) {
        match barrier {
            Barrier::Failed(err) => self.fail(err),
            Barrier::Flush(reply) => {
                self.send_all_pending().await;
                self.probe(true).await;
                if let Some(waiting) = self.offline.waiting(&self.store.location()) {
                    self.failures.push(waiting);
                }
                let _ = reply.send(std::mem::take(&mut self.failures));
            }
            Barrier::Call(call) => {
                self.send_all_pending().await;
                call(self.store.clone()).await;
            }
        }
    }

    /// When a probe is due (or always when `force`) during an outage, asks the store
    /// whether it is back, and if so delivers the spill.
    async fn probe(&mut self, force: bool) {
        let Ok(store) = self.store.get().cloned() else {
            return;
        };
        for e in self.offline.probe(&store, force).await {
            self.fail(e);
        }
    }

    /// How a delivery's requests may be under way, as the store says now (the REST store
    /// adapts its bound to the server's distance).
    pub(super) fn bounds(&self) -> Bounds {
        Bounds {
            limits: self.limits,
            in_flight: self.in_flight,
            concurrency: self.concurrency(),
        }
    }

    /// Requests of different runs that may be under way at once (1: one after another).
    pub(super) fn concurrency(&self) -> usize {
        self.store
            .get()
            .map_or(1, |store| store.max_concurrent().max(1))
    }

    pub(super) fn enter_outage(&mut self, cause: Error) {
        let location = self.store.location();
        self.offline.enter(cause, &location);
    }

    /// Reports a failure now and keeps it for the next flush.
    pub(super) fn fail(&mut self, err: Error) {
        report(&err);
        self.failures.push(err);
    }
}
