//! The steps of a segment: each run goes at its own pace, its creation (a child's once its
//! parent's is settled), then its data, then its end, while other runs' requests are under
//! way, up to the store's bound; commands queued meanwhile join at once. Every store of data
//! goes through one delivery: to the store when it is up, else to the spill; then the outage
//! first, the unsent to the spill, the refusals reported, and for a run that ended its
//! links, or its end spilled.
//!
//! So a run is created before anything is logged to it, a child after its parent's create
//! came back (its request carries the parent's id), a run's data is stored before its
//! status, and one run's params and tags in order (one delivery of a run at a time).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::batching::{normalize, split, tag};
use super::chunk::{Chunk, MAX_CHUNK};
use super::command::Command;
use super::core::Sender;
use super::create::{CreateRequest, Created, Creation, Prepared, Start};
use super::delivery::{self, Delivered, DeliveryJob, Lanes, StatusUpdate};
use super::identity::{RunRef, RunSlot};
use super::segment::{Ending, RunWork, Segment};
use super::spill::SpillOp;
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, RunInfo};
use crate::base::validate;
use crate::store::common::is_outage;

/// What a delivery stores for one run: its data, and its end when it ends.
struct Work {
    slot: Arc<RunSlot>,
    batch: Batch,
    end: Option<StatusUpdate>,
    /// The run's name in the store, when the run table knew it (for the links).
    stored_name: Option<String>,
    /// The end's place among its segment's ends (the links are printed in that order).
    end_order: Option<usize>,
}

/// A delivery ready to go: the request's job, and the run it is for.
struct Planned {
    job: DeliveryJob,
    slot: Arc<RunSlot>,
    stored_name: Option<String>,
    end_order: Option<usize>,
}

/// What came back from a request under way in a segment.
enum Answer {
    Created {
        slot: Arc<RunSlot>,
        sent: CreateRequest,
        answer: Result<RunInfo>,
    },
    Delivered {
        planned: Planned,
        delivered: Delivered,
    },
}

/// The requests under way in a segment.
type UnderWay<'a> = FuturesUnordered<Pin<Box<dyn Future<Output = Answer> + 'a>>>;

/// Prints the links of runs that ended, in the order they ended.
fn print_due(links: Vec<String>) {
    for text in links {
        delivery::print_links(&text);
    }
}

impl Sender {
    /// Handles a segment: hands out what may go (creations, then data and ends), takes in
    /// what the caller queues meanwhile, and takes each answer as it comes back, until
    /// nothing is under way.
    pub(super) async fn segment(
        &mut self,
        mut segment: Box<Segment>,
        chunk: &mut Chunk,
        queue: &flume::Receiver<Command>,
    ) {
        let lanes = self
            .store
            .get()
            .ok()
            .map(|store| Lanes::new(store.clone(), self.bounds()));
        let mut under_way: UnderWay<'_> = FuturesUnordered::new();
        let mut queue_open = true;
        loop {
            self.dispatch(&mut segment, lanes.as_ref(), &mut under_way)
                .await;
            let taking = queue_open && chunk.is_empty() && segment.held() < MAX_CHUNK;
            let answer = tokio::select! {
                biased;
                answer = under_way.next() => answer,
                // Runs started while others' requests are under way go at once.
                next = queue.recv_async(), if taking => {
                    match next {
                        Ok(cmd) => {
                            chunk.push(cmd);
                            chunk.refill(queue);
                            segment.take_from(chunk);
                        }
                        Err(_) => queue_open = false,
                    }
                    continue;
                }
            };
            let Some(answer) = answer else { break };
            self.take_answer(answer, &mut segment).await;
            // An answer may have told the store how far away it is (see `Lanes`).
            if let Some(lanes) = &lanes {
                lanes.follow_store();
            }
        }
        if !segment.is_finished() {
            self.fail(Error::Internal(
                "a segment ended with work not handed out".into(),
            ));
        }
    }

    /// Hands out what may go now: the runs that may be created, then the runs whose data
    /// and end may go; again while that settles more (a creation done at once, without a
    /// request, lets its children and its data go).
    async fn dispatch<'a>(
        &mut self,
        segment: &mut Segment,
        lanes: Option<&'a Lanes>,
        under_way: &mut UnderWay<'a>,
    ) {
        loop {
            let starts = segment.ready_starts();
            let work = segment.ready_work();
            if starts.is_empty() && work.is_empty() {
                return;
            }
            for start in starts {
                let slot = start.slot.clone();
                match (self.prepare(start).await, lanes) {
                    (Ok(Prepared::Send(sent)), Some(lanes)) => {
                        under_way.push(Box::pin(async move {
                            let answer = delivery::create_run(lanes, &sent.request).await;
                            Answer::Created { slot, sent, answer }
                        }));
                    }
                    (Ok(Prepared::Send(_)), None) => {
                        let why = Error::Internal("a creation without a store".into());
                        self.started(&slot, Err(why));
                        segment.settled(slot.local_id);
                    }
                    (Ok(Prepared::Done(result)), _) => {
                        self.started(&slot, result);
                        segment.settled(slot.local_id);
                    }
                    (Err(e), _) => {
                        self.started(&slot, Err(e));
                        segment.settled(slot.local_id);
                    }
                }
            }
            for w in work {
                let local = w.slot.local_id;
                let end_order = w.end.as_ref().map(|e| e.order);
                let Some(planned) = self.hand_out(w) else {
                    // An end spilled, or of a run never created: nothing to print for it.
                    if let Some(order) = end_order {
                        print_due(segment.end_settled(order, None));
                    }
                    continue;
                };
                let Some(lanes) = lanes else {
                    self.undelivered(&planned.job, Error::Internal("no store".into()));
                    continue;
                };
                segment.busy(local);
                under_way.push(Box::pin(async move {
                    let mut planned = planned;
                    let delivered = delivery::deliver_one(lanes, &mut planned.job).await;
                    Answer::Delivered { planned, delivered }
                }));
            }
        }
    }

    /// What came back: a creation settled, or a run's delivery done.
    async fn take_answer(&mut self, answer: Answer, segment: &mut Segment) {
        match answer {
            Answer::Created { slot, sent, answer } => {
                let result = match self.creation() {
                    Ok(mut creation) => {
                        let result = creation.answered(&slot, sent, answer);
                        let refused = std::mem::take(&mut creation.refused);
                        drop(creation);
                        refused.into_iter().for_each(|e| self.fail(e));
                        result
                    }
                    Err(e) => Err(e),
                };
                self.started(&slot, result);
                segment.settled(slot.local_id);
            }
            Answer::Delivered { planned, delivered } => {
                let local = planned.slot.local_id;
                let end_order = planned.end_order;
                let links = self.after_delivery(planned, delivered).await;
                if let Some(order) = end_order {
                    print_due(segment.end_settled(order, links));
                }
                segment.idle(local);
            }
        }
    }

    /// The parts a creation needs, or why there is no store to create in.
    fn creation(&mut self) -> Result<Creation<'_>> {
        let location = self.store.location();
        Ok(Creation {
            store: self.store.get()?,
            experiments: &mut self.experiments,
            offline: &mut self.offline,
            location,
            refused: Vec::new(),
        })
    }

    /// Prepares a run's creation (see [`Creation::prepare`]); reports the tags it refused.
    async fn prepare(&mut self, start: Start) -> Result<Prepared> {
        let mut creation = self.creation()?;
        let prepared = creation.prepare(start).await;
        let refused = std::mem::take(&mut creation.refused);
        drop(creation);
        for e in refused {
            self.fail(e);
        }
        prepared
    }

    /// Records how a run's creation went, in its identity and in the run table.
    fn started(&mut self, slot: &Arc<RunSlot>, result: Result<Created>) {
        let not_created = |source: Error| Error::RunNotCreated {
            run_name: slot.name.clone(),
            source: Box::new(source),
        };
        let stored_name = match result {
            Ok(Created::Stored {
                id,
                experiment_id,
                run_name,
            }) => {
                self.experiments.record(slot.local_id, experiment_id);
                slot.stored(id);
                run_name
            }
            Ok(Created::Spilled {
                reference,
                experiment_id,
            }) => {
                if let Some(experiment_id) = experiment_id {
                    self.experiments.record(slot.local_id, experiment_id);
                }
                let why = not_created(self.offline.spilled_error(&self.store.location()));
                slot.spilled(reference, why);
                slot.name.clone()
            }
            Err(e) => {
                let why = not_created(e);
                slot.failed(why.clone());
                self.fail(why);
                slot.name.clone()
            }
        };
        self.runs.started(slot.clone(), stored_name);
    }

    /// A run's logs join its pending batch; what may go now comes back planned: its end with
    /// everything pending, or, without an end, a pending batch grown large enough.
    fn hand_out(&mut self, w: RunWork) -> Option<Planned> {
        if !w.batch.is_empty() {
            self.add_pending(&w.slot, w.batch);
        }
        let work = match w.end {
            Some(end) => self.ending(end),
            None => {
                let entry = self.runs.for_log(&w.slot)?;
                if entry.pending.len() < self.send_at {
                    return None;
                }
                let (slot, batch) = self.runs.take_pending(w.slot.local_id)?;
                Work {
                    slot,
                    batch,
                    end: None,
                    stored_name: None,
                    end_order: None,
                }
            }
        };
        self.plan(work)
    }

    /// Adds logged values to their run's pending batch; refuses them for a run that could
    /// not be created.
    fn add_pending(&mut self, slot: &Arc<RunSlot>, batch: Batch) {
        let undelivered = |source: Error| Error::Undelivered {
            run: slot.name.clone(),
            count: batch.len(),
            source: Box::new(source),
        };
        if let Some(why) = slot.failure() {
            let err = undelivered(why);
            return self.fail(err);
        }
        let Some(entry) = self.runs.for_log(slot) else {
            let err = undelivered(Error::Internal(
                "a run logged to before the sender knew it".into(),
            ));
            return self.fail(err);
        };
        entry.pending.extend(batch);
    }

    /// A run's end: its pending data (with its `error` tag, if it failed), then its status.
    fn ending(&mut self, end: Ending) -> Work {
        let (mut batch, stored_name) = match self.runs.remove(end.slot.local_id) {
            Some(entry) => (entry.pending, Some(entry.stored_name)),
            None => (Batch::default(), None),
        };
        if let Some(message) = end.error {
            let max = validate::MAX_TAG_VALUE_LENGTH;
            let message = validate::truncate_value("tag", "error", message, max);
            batch.tags.push(tag("error", message));
        }
        Work {
            slot: end.slot,
            batch,
            end: Some(end.update),
            stored_name,
            end_order: Some(end.order),
        }
    }

    /// Stores everything pending, for the runs in the order they were started here.
    pub(super) async fn send_all_pending(&mut self) {
        let mut planned = Vec::new();
        for local in self.runs.with_pending() {
            let Some((slot, batch)) = self.runs.take_pending(local) else {
                continue;
            };
            let work = Work {
                slot,
                batch,
                end: None,
                stored_name: None,
                end_order: None,
            };
            planned.extend(self.plan(work));
        }
        if planned.is_empty() {
            return;
        }
        let store = match self.store.get() {
            Ok(store) => store.clone(),
            Err(e) => {
                for p in &planned {
                    self.undelivered(&p.job, e.clone());
                }
                return;
            }
        };
        let (mut jobs, runs): (Vec<DeliveryJob>, Vec<_>) =
            planned.into_iter().map(|p| (p.job, p.slot)).unzip();
        let outcomes = delivery::deliver_all(&store, self.bounds(), &mut jobs).await;
        // No ends here: nothing to print.
        for ((job, slot), delivered) in jobs.into_iter().zip(runs).zip(outcomes) {
            let planned = Planned {
                job,
                slot,
                stored_name: None,
                end_order: None,
            };
            self.after_delivery(planned, delivered).await;
        }
    }

    /// Where a run's data goes: a job for the store when the store has the run and is up;
    /// else the spill (`None`), or nowhere for a run that could not be created (its failure
    /// was reported, what was logged to it refused when logged).
    fn plan(&mut self, w: Work) -> Option<Planned> {
        match w.slot.target() {
            Ok(RunRef::Id(run_id)) if !self.offline.is_down() => Some(Planned {
                job: DeliveryJob {
                    run_id,
                    run_name: w.slot.name.clone(),
                    batch: w.batch,
                    end: w.end,
                },
                slot: w.slot,
                stored_name: w.stored_name,
                end_order: w.end_order,
            }),
            Ok(target) => {
                self.spill_work(&target, &w.slot.name, w.batch, w.end);
                None
            }
            Err(_) if w.slot.failure().is_some() => None,
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// Takes a delivery's outcome: the outage first (so that the spill is announced as such),
    /// the unsent to the spill, the refusals reported; for a run that ended, its links (to
    /// print), or its end spilled.
    async fn after_delivery(&mut self, planned: Planned, delivered: Delivered) -> Option<String> {
        let Planned {
            job,
            slot,
            stored_name,
            ..
        } = planned;
        if let Some(e) = delivered.outage {
            self.enter_outage(e);
        }
        if let Some(Err(e)) = &delivered.ended
            && is_outage(e)
        {
            self.enter_outage(e.clone());
        }
        let target = RunRef::Id(job.run_id.clone());
        for piece in delivered.unsent {
            self.spill(&SpillOp::log_batch(&target, &job.run_name, &piece));
        }
        for e in delivered.errors {
            self.fail(e);
        }
        let end = job.end?;
        let mut links = None;
        match delivered.ended {
            Some(Ok(())) => {
                if let Ok(store) = self.store.get().cloned() {
                    let experiment = self.experiments.of_run(slot.local_id);
                    let known = experiment.map(str::to_owned).zip(stored_name);
                    links = delivery::links_of(&store, &job.run_id, known).await;
                }
            }
            Some(Err(e)) if !is_outage(&e) => self.fail(Error::Undelivered {
                run: job.label(),
                count: 1,
                source: Box::new(e),
            }),
            // Not sent, or sent into the outage: its data went to the spill first.
            _ => self.spill_work(&target, &job.run_name, Batch::default(), Some(end)),
        }
        self.experiments.ended(slot.local_id);
        links
    }

    /// Reports a job that could not be sent at all.
    fn undelivered(&mut self, job: &DeliveryJob, why: Error) {
        self.fail(Error::Undelivered {
            run: job.label(),
            count: job.batch.len() + usize::from(job.end.is_some()),
            source: Box::new(why),
        });
    }

    /// Puts a run's data (cut to the store's limits) and its end, if any, into the spill.
    fn spill_work(
        &mut self,
        target: &RunRef,
        run_name: &str,
        batch: Batch,
        end: Option<StatusUpdate>,
    ) {
        for piece in split(normalize(batch), self.limits) {
            self.spill(&SpillOp::log_batch(target, run_name, &piece));
        }
        if let Some(end) = end
            && let Err(e) = self
                .offline
                .write_end(target, run_name, end.status, end.end_time)
        {
            self.fail(e);
        }
    }

    fn spill(&mut self, op: &SpillOp) {
        if let Err(e) = self.offline.write(op) {
            self.fail(e);
        }
    }
}
