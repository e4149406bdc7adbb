//! Storing what was logged: pending batches, cut to the store's limits and sent with
//! several metric pieces under way; the end of a run; what the store refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::batching::{metrics_only, normalize, split, tag};
use super::bounded::bounded;
use super::isolate;
use super::slot::RunSlot;
use super::spill::{RunRef, SpillOp, is_outage};
use super::state::{RunState, Sender};
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, RunStatus};
use crate::base::{links, validate};
use crate::store::{BatchLimits, Store};

impl Sender {
    pub(super) async fn log(&mut self, run: Arc<RunSlot>, batch: Batch) {
        let state = match self.runs.entry(run.local_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            // A run known by id (the Client) or logged to after it ended: feed it like others.
            std::collections::hash_map::Entry::Vacant(e) => match run.known_id() {
                Some(id) => e.insert(RunState {
                    slot: run.clone(),
                    run_name: run.name.clone(),
                    id: Ok(id),
                    spill_ref: None,
                    pending: Batch::default(),
                }),
                None => {
                    self.fail(Error::Undelivered {
                        run: run.name.clone(),
                        count: batch.len(),
                        source: Box::new(Error::Config("the run was never created".into())),
                    });
                    return;
                }
            },
        };
        if let (Err(e), None) = (&state.id, &state.spill_ref) {
            let err = Error::Undelivered {
                run: run.name.clone(),
                count: batch.len(),
                source: Box::new(e.clone()),
            };
            self.fail(err);
            return;
        }
        state.pending.extend(batch);
        if state.pending.len() >= self.send_at {
            self.send_pending(run.local_id).await;
        }
    }

    pub(super) async fn end(
        &mut self,
        run: Arc<RunSlot>,
        status: RunStatus,
        end_time: i64,
        error: Option<String>,
    ) {
        self.end_many(vec![Ending {
            run,
            status,
            end_time,
            error,
        }])
        .await;
    }

    /// Ends runs: each run's pending data, then its status, the runs side by side (up to
    /// [`Store::max_concurrent`](crate::store::Store::max_concurrent) requests under way),
    /// so that one run's status update need not wait for another run's data; then prints
    /// their links in order.
    pub(super) async fn end_many(&mut self, ends: Vec<Ending>) {
        let mut chains = Vec::new();
        for end in ends {
            let (target, run_name, mut pending) = match self.runs.remove(&end.run.local_id) {
                Some(state) => (self.run_ref(&state), Some(state.run_name), state.pending),
                None => (end.run.known_id().map(RunRef::Id), None, Batch::default()),
            };
            if let Some(message) = &end.error {
                let message = validate::truncate_value(
                    "tag",
                    "error",
                    message.clone(),
                    validate::MAX_TAG_VALUE_LENGTH,
                );
                pending.tags.push(tag("error", message));
            }
            match target {
                Some(RunRef::Id(id)) if self.outage.is_none() => chains.push(Chain {
                    end,
                    id,
                    run_name,
                    batch: pending,
                }),
                Some(target) => {
                    for piece in split(normalize(pending), self.limits) {
                        self.spill_op(&SpillOp::log_batch(&target, &end.run.name, &piece));
                    }
                    self.spill_end(&target, &end);
                }
                None => {}
            }
        }
        if chains.is_empty() {
            return;
        }
        let lanes = match self.lanes() {
            Ok(lanes) => lanes,
            Err(e) => {
                for chain in chains {
                    self.fail(Error::Undelivered {
                        run: format!("{} ({})", chain.end.run.name, chain.id),
                        count: chain.batch.len() + 1,
                        source: Box::new(e.clone()),
                    });
                }
                return;
            }
        };
        let lanes = &lanes;
        let mut outcomes: Vec<(Delivered, Option<Result<()>>)> = bounded(
            chains.iter_mut().map(|c| end_one(lanes, c)),
            self.concurrency(),
        )
        .await;
        for (delivered, update) in &mut outcomes {
            if let Some(e) = delivered.outage.take() {
                self.enter_outage(e);
            }
            if let Some(Err(e)) = update
                && is_outage(e)
            {
                self.enter_outage(e.clone());
            }
        }
        for (chain, (delivered, update)) in chains.into_iter().zip(outcomes) {
            let Chain {
                end, id, run_name, ..
            } = chain;
            for piece in &delivered.unsent {
                self.spill_piece(&id, &end.run.name, piece);
            }
            for e in delivered.errors {
                self.fail(e);
            }
            match update {
                Some(Ok(())) => self.print_links(end.run.local_id, &id, run_name).await,
                Some(Err(e)) if !is_outage(&e) => self.fail(Error::Undelivered {
                    run: format!("{} ({id})", end.run.name),
                    count: 1,
                    source: Box::new(e),
                }),
                // Not sent, or sent into the outage: its data went to the spill first.
                _ => self.spill_end(&RunRef::Id(id), &end),
            }
            // The run's experiment is still needed for children started after it ended,
            // which is rare; keep the map from growing with every run of a long sweep.
            if self.run_experiments.len() > 10_000 {
                self.run_experiments.remove(&end.run.local_id);
            }
        }
    }

    /// Puts a run's end into the spill and says so.
    fn spill_end(&mut self, target: &RunRef, end: &Ending) {
        let op = SpillOp::update_run(target, &end.run.name, end.status, Some(end.end_time));
        self.spill_op(&op);
        self.report_spilled_end(&end.run.name, end.status);
    }

    /// What the requests of several runs sent together share.
    fn lanes(&self) -> Result<Lanes> {
        let concurrency = self.concurrency();
        Ok(Lanes {
            store: self.ctx.store()?.clone(),
            limits: self.limits,
            in_flight: self.in_flight,
            down: AtomicBool::new(false),
            permits: (concurrency > 1).then(|| Semaphore::new(concurrency)),
        })
    }

    pub(super) async fn send_all_pending(&mut self) {
        let mut locals: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, s)| !s.pending.is_empty())
            .map(|(k, _)| *k)
            .collect();
        // Runs in the order they were started here, not the map's.
        locals.sort_unstable();
        self.send_pending_of(&locals).await;
    }

    pub(super) async fn send_pending(&mut self, local: u64) {
        self.send_pending_of(&[local]).await;
    }

    /// Stores the pending data of `locals`: the runs' batches go out together (up to
    /// [`Store::max_concurrent`](crate::store::Store::max_concurrent) requests under way),
    /// each run's pieces in its own order (see [`deliver`]); during an outage, or for a run
    /// whose creation was spilled, to the spill.
    pub(super) async fn send_pending_of(&mut self, locals: &[u64]) {
        let mut jobs: Vec<(String, String, Batch)> = Vec::new();
        for &local in locals {
            let Some(state) = self.runs.get_mut(&local) else {
                continue;
            };
            if state.pending.is_empty() {
                continue;
            }
            let batch = std::mem::take(&mut state.pending);
            let name = state.slot.name.clone();
            match self.runs.get(&local).and_then(|s| self.run_ref(s)) {
                Some(RunRef::Id(id)) if self.outage.is_none() => jobs.push((id, name, batch)),
                Some(target) => {
                    for piece in split(normalize(batch), self.limits) {
                        self.spill_op(&SpillOp::log_batch(&target, &name, &piece));
                    }
                }
                None => {}
            }
        }
        if jobs.is_empty() {
            return;
        }
        let lanes = match self.lanes() {
            Ok(lanes) => lanes,
            Err(e) => {
                for (id, name, _) in jobs {
                    self.fail(Error::Undelivered {
                        run: format!("{name} ({id})"),
                        count: 0,
                        source: Box::new(e.clone()),
                    });
                }
                return;
            }
        };
        let lanes = &lanes;
        let sends = jobs
            .iter_mut()
            .map(|(id, name, batch)| deliver(lanes, id, name, std::mem::take(batch)));
        let mut outcomes: Vec<Delivered> = bounded(sends, self.concurrency()).await;
        // The outage first, so that the spill is announced as such.
        for out in &mut outcomes {
            if let Some(e) = out.outage.take() {
                self.enter_outage(e);
            }
        }
        for ((id, name, _), out) in jobs.iter().zip(outcomes) {
            for piece in &out.unsent {
                self.spill_piece(id, name, piece);
            }
            for e in out.errors {
                self.fail(e);
            }
        }
    }

    pub(super) fn spill_piece(&mut self, run_id: &str, run_name: &str, piece: &Batch) {
        let target = RunRef::Id(run_id.to_owned());
        self.spill_op(&SpillOp::log_batch(&target, run_name, piece));
    }

    /// Prints the links to a run that just ended, as the Python client does, when the
    /// store has a UI. A run attached by id has no experiment known here: it is read back.
    async fn print_links(&mut self, local: u64, run_id: &str, run_name: Option<String>) {
        if !links::enabled() {
            return;
        }
        let Ok(store) = self.ctx.store().cloned() else {
            return;
        };
        let Some(ui) = store.ui_base() else { return };
        let known = self.run_experiments.get(&local).cloned().zip(run_name);
        let (experiment_id, run_name) = match known {
            Some(known) => known,
            None => match store.get_run(run_id).await {
                Ok(run) => (run.info.experiment_id, run.info.run_name),
                Err(_) => return,
            },
        };
        // A closed stdout must not panic the sender, as println! would.
        let text = links::lines(&ui, &run_name, &experiment_id, run_id);
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    }
}

/// A run ending, as its `Command::End` said.
pub(super) struct Ending {
    pub(super) run: Arc<RunSlot>,
    pub(super) status: RunStatus,
    pub(super) end_time: i64,
    pub(super) error: Option<String>,
}

/// A run being ended: its status, its id in the store, its name there, its last data.
struct Chain {
    end: Ending,
    id: String,
    run_name: Option<String>,
    batch: Batch,
}

/// Stores a run's last data, then (unless the store went down meanwhile) its status.
async fn end_one(lanes: &Lanes, chain: &mut Chain) -> (Delivered, Option<Result<()>>) {
    let batch = std::mem::take(&mut chain.batch);
    let delivered = if batch.is_empty() {
        Delivered::default()
    } else {
        deliver(lanes, &chain.id, &chain.end.run.name, batch).await
    };
    if lanes.down.load(Ordering::Relaxed) || !delivered.unsent.is_empty() {
        return (delivered, None);
    }
    let _permit = lanes.permit().await;
    let end = &chain.end;
    let update = lanes
        .store
        .update_run(&chain.id, end.status, Some(end.end_time))
        .await;
    if update.as_ref().is_err_and(is_outage) {
        lanes.down.store(true, Ordering::Relaxed);
    }
    (delivered, Some(update))
}

/// What the requests of several runs sent together share.
struct Lanes {
    store: Arc<dyn Store>,
    limits: BatchLimits,
    /// Metric-only pieces of one run under way at once.
    in_flight: usize,
    /// Set once a request found the store unreachable: no new piece starts.
    down: AtomicBool,
    /// Bounds the requests under way across runs, when runs send together.
    permits: Option<Semaphore>,
}

impl Lanes {
    async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        match &self.permits {
            Some(permits) => permits.acquire().await.ok(),
            None => None,
        }
    }
}

/// What became of one run's batch.
#[derive(Default)]
struct Delivered {
    /// What the store refused, each error with the values it lost.
    errors: Vec<Error>,
    /// The outage that stopped the sending, if this run met it.
    outage: Option<Error>,
    /// Pieces not stored because the store is unreachable, in the order to spill them.
    unsent: Vec<Batch>,
}

/// Stores a batch of any size, cut into pieces the store accepts. Metric-only pieces go out
/// up to `in_flight` at a time; a piece with params or tags goes alone, after everything
/// before it, so that their order is kept. Once the store is found unreachable (by this run
/// or another sending together), the pieces not stored are returned, to be spilled.
async fn deliver(lanes: &Lanes, run_id: &str, run_name: &str, batch: Batch) -> Delivered {
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
