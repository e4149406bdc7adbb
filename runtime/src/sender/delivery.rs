//! Delivering runs' data: each run's batch cut to the store's limits and sent with several
//! metric pieces under way, then its status when it ends; the runs side by side, up to the
//! store's bound. What the store refused is narrowed down to the values it refused; what an
//! outage stopped comes back, in order, to be spilled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::batching::{metrics_only, normalize, split};
use super::bounded::bounded;
use super::isolate;
use crate::base::error::{Error, Result};
use crate::base::links;
use crate::base::model::{Batch, CreateRun, RunInfo, RunStatus, RunUpdate};
use crate::store::common::is_outage;
use crate::store::{BatchLimits, Store};

/// A run's status update, when it ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct StatusUpdate {
    pub(super) status: RunStatus,
    pub(super) end_time: i64,
}

/// One run's share of a delivery: its data, then its status when it ends.
pub(super) struct DeliveryJob {
    pub(super) run_id: String,
    /// The run's name, for messages and the spill.
    pub(super) run_name: String,
    pub(super) batch: Batch,
    pub(super) end: Option<StatusUpdate>,
}

impl DeliveryJob {
    /// How the run is named in errors: `name (id)`.
    pub(super) fn label(&self) -> String {
        format!("{} ({})", self.run_name, self.run_id)
    }
}

/// What became of a job.
#[derive(Default)]
pub(super) struct Delivered {
    /// What the store refused, each error with the values it lost.
    pub(super) errors: Vec<Error>,
    /// The outage that stopped the sending, if this run met it.
    pub(super) outage: Option<Error>,
    /// Pieces not stored because the store is unreachable, in the order to spill them.
    pub(super) unsent: Vec<Batch>,
    /// The status update's answer; `None` when it was not sent (the data did not all
    /// arrive, or the store went down).
    pub(super) ended: Option<Result<()>>,
}

/// How the requests of a delivery may be under way.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) limits: BatchLimits,
    /// Metric-only pieces of one run under way at once.
    pub(super) in_flight: usize,
    /// Requests of all runs under way at once.
    pub(super) concurrency: usize,
}

/// Delivers `jobs` side by side; the outcomes come back in the jobs' order.
pub(super) async fn deliver_all(
    store: &Arc<dyn Store>,
    bounds: Bounds,
    jobs: &mut [DeliveryJob],
) -> Vec<Delivered> {
    let lanes = Lanes::new(store.clone(), bounds);
    let lanes = &lanes;
    // The lanes bound what is under way; every job may wait for its turn at once.
    let all = jobs.len().max(1);
    bounded(jobs.iter_mut().map(|job| deliver_one(lanes, job)), all).await
}

/// What the requests of several runs under way together share: the store, the bound on
/// requests under way, and whether one of them found the store unreachable.
pub(super) struct Lanes {
    store: Arc<dyn Store>,
    limits: BatchLimits,
    in_flight: usize,
    /// Set once a request found the store unreachable: no new piece starts.
    down: AtomicBool,
    /// Bounds the runs with requests under way (1: one run at a time, its metric pieces
    /// still several at once).
    runs: Bound,
    /// Bounds the requests under way across runs.
    requests: Bound,
}

impl Lanes {
    pub(super) fn new(store: Arc<dyn Store>, bounds: Bounds) -> Lanes {
        let concurrency = bounds.concurrency.max(1);
        let in_flight = bounds.in_flight.max(1);
        Lanes {
            store,
            limits: bounds.limits,
            in_flight,
            down: AtomicBool::new(false),
            runs: Bound::new(concurrency),
            requests: Bound::new(concurrency.max(in_flight)),
        }
    }

    /// Requests of different runs that may be under way now, as the store says before each
    /// request: the REST store raises it once the first answers put the server far away,
    /// which happens while the first requests of a sweep are under way.
    fn concurrency(&self) -> usize {
        self.store.max_concurrent().max(1)
    }

    /// Resizes the bounds to what the store says now, so that requests already waiting for
    /// their turn go as soon as the bound grows.
    pub(super) fn follow_store(&self) {
        let want = self.concurrency();
        self.runs.resize(want);
        self.requests.resize(self.request_bound(want));
    }

    /// One run at a time still sends its metric pieces several at once.
    fn request_bound(&self, concurrency: usize) -> usize {
        if concurrency > 1 {
            concurrency
        } else {
            self.in_flight
        }
    }

    async fn run_permit(&self) -> Option<SemaphorePermit<'_>> {
        self.runs.resize(self.concurrency());
        self.runs.semaphore.acquire().await.ok()
    }

    async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        self.requests.resize(self.request_bound(self.concurrency()));
        self.requests.semaphore.acquire().await.ok()
    }
}

/// A bound on what is under way that follows the store's answer each time it is asked:
/// growing adds permits at once, shrinking takes back those not in use (the rest as they
/// come back and are asked for again).
struct Bound {
    semaphore: Semaphore,
    size: AtomicUsize,
}

impl Bound {
    fn new(size: usize) -> Bound {
        Bound {
            semaphore: Semaphore::new(size),
            size: AtomicUsize::new(size),
        }
    }

    fn resize(&self, want: usize) {
        let size = self.size.load(Ordering::Relaxed);
        if want > size {
            self.semaphore.add_permits(want - size);
            self.size.store(want, Ordering::Relaxed);
        } else if want < size {
            let taken = self.semaphore.forget_permits(size - want);
            self.size.fetch_sub(taken, Ordering::Relaxed);
        }
    }
}

/// Creates a run, in its turn among the requests under way.
pub(super) async fn create_run(lanes: &Lanes, request: &CreateRun) -> Result<RunInfo> {
    let _run = lanes.run_permit().await;
    let _permit = lanes.permit().await;
    let answer = lanes.store.create_run(request).await;
    if answer.as_ref().is_err_and(is_outage) {
        lanes.down.store(true, Ordering::Relaxed);
    }
    answer
}

/// Stores a job's data, then (unless the store went down meanwhile) its status.
pub(super) async fn deliver_one(lanes: &Lanes, job: &mut DeliveryJob) -> Delivered {
    let _run = lanes.run_permit().await;
    let batch = std::mem::take(&mut job.batch);
    let mut delivered = if batch.is_empty() {
        Delivered::default()
    } else {
        batch_pieces(lanes, &job.run_id, &job.run_name, batch).await
    };
    let Some(end) = job.end else {
        return delivered;
    };
    if lanes.down.load(Ordering::Relaxed) || !delivered.unsent.is_empty() {
        return delivered;
    }
    let _permit = lanes.permit().await;
    let update = lanes
        .store
        .update_run(&job.run_id, &RunUpdate::ended(end.status, end.end_time))
        .await;
    if update.as_ref().is_err_and(is_outage) {
        lanes.down.store(true, Ordering::Relaxed);
    }
    delivered.ended = Some(update);
    delivered
}

/// Stores a batch of any size, cut into pieces the store accepts. Metric-only pieces go out
/// up to `in_flight` at a time; a piece with params or tags goes alone, after everything
/// before it, so that their order is kept. Once the store is found unreachable (by this run
/// or another sending together), the pieces not stored are returned, to be spilled.
async fn batch_pieces(lanes: &Lanes, run_id: &str, run_name: &str, batch: Batch) -> Delivered {
    let store = &lanes.store;
    let mut out = Delivered::default();
    let mut pieces = split(normalize(batch), lanes.limits).into_iter().peekable();
    let mut running = FuturesUnordered::new();
    // Whether the piece under way has params or tags: nothing may overtake it.
    let mut ordered_running = false;
    loop {
        while !lanes.down.load(Ordering::Relaxed)
            && !ordered_running
            && running.len() < lanes.in_flight
        {
            let next = if running.is_empty() {
                pieces.next()
            } else {
                pieces.next_if(metrics_only)
            };
            let Some(piece) = next else { break };
            ordered_running = !metrics_only(&piece);
            running.push(async move {
                let _permit = lanes.permit().await;
                let result = store.log_batch(run_id, &piece).await;
                (piece, result)
            });
        }
        let Some((piece, result)) = running.next().await else {
            // Nothing under way and nothing started: done, or the store went down.
            out.unsent.extend(pieces);
            break;
        };
        ordered_running = false;
        let Err(e) = result else { continue };
        if is_outage(&e) {
            lanes.down.store(true, Ordering::Relaxed);
            out.outage.get_or_insert(e);
            out.unsent.push(piece);
            continue;
        }
        // Only what the store refused is lost: the rest of the piece goes again. Only a
        // piece with params makes more requests here, and such a piece went alone: none of
        // this run's pieces is under way (holding a permit) while this waits for one.
        let _permit = lanes.permit().await;
        for (lost, e) in isolate::after_refusal(store, run_id, &piece, e).await {
            out.errors.push(match e {
                Error::Undelivered { .. } => e,
                other => Error::Undelivered {
                    run: format!("{run_name} ({run_id})"),
                    count: lost.min(piece.len()),
                    source: Box::new(other),
                },
            });
        }
    }
    out
}

/// The links to a run that just ended, as the Python client prints them, when the store has a
/// UI. `known` is the run's experiment and name when the sender knows them; a run attached by
/// id is read back.
pub(super) async fn links_of(
    store: &Arc<dyn Store>,
    run_id: &str,
    known: Option<(String, String)>,
) -> Option<String> {
    if !links::enabled() {
        return None;
    }
    let ui = store.ui_base()?;
    let (experiment_id, run_name) = match known {
        Some(known) => known,
        None => {
            let run = store.get_run(run_id).await.ok()?;
            (run.info.experiment_id, run.info.run_name)
        }
    };
    Some(links::lines(&ui, &run_name, &experiment_id, run_id))
}

/// Prints links on stdout; a closed stdout must not panic the sender, as `println!` would.
pub(super) fn print_links(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
}
