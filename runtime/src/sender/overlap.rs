//! The requests of different runs under way together. A chunk of queued commands is cut
//! into segments at the commands that must keep their place (`Flush`, `Call`, `Failed`, and
//! a command for a run that already ended in the segment); within a segment, in phases:
//!
//! 1. the runs started are created in waves: first those whose parent exists (or that have
//!    none), then their children, and so on; each wave is prepared in order, its
//!    `runs/create` requests go out together, and the answers are taken in order; after
//!    each wave, a segment that reaches the end of its chunk takes in the commands queued
//!    meanwhile, whose runs join the next wave;
//! 2. the logged values join their run's pending batch, as one at a time;
//! 3. each run that ends stores its pending batch, then its status, beside the others
//!    (`deliver.rs`), then the links are printed in order.
//!
//! So a run is created before anything is logged to it, a child after its parent's create
//! came back (its request carries the parent's id), and a run's data is stored before its
//! status; the order of a run's params and tags is kept by [`Sender::send_pending_of`].

use std::collections::HashSet;
use std::sync::Arc;

use super::batching::take_early_tags;
use super::bounded::bounded;
use super::command::{Command, StartSpec};
use super::create::{CreateRequest, Prepared};
use super::deliver::Ending;
use super::outage::Created;
use super::slot::RunSlot;
use super::state::{MAX_CHUNK, Sender};
use crate::base::error::{Error, Result};
use crate::base::model::RunTag;

/// A run to create: its slot, what the caller asked, the tags logged right after it.
type Start = (Arc<RunSlot>, StartSpec, Vec<RunTag>);

/// A creation of a wave, between its preparation and its answer.
enum Step {
    Send(CreateRequest),
    Done(Result<Created>),
}

impl Sender {
    /// Handles a chunk with the requests of different runs under way together.
    pub(super) async fn process_overlapped(&mut self, mut chunk: Vec<Option<Command>>) {
        let mut i = 0;
        while i < chunk.len() {
            match &chunk[i] {
                Some(Command::Start { .. } | Command::Log { .. } | Command::End { .. }) => {
                    let end = segment_end(&chunk, i);
                    i = self.segment(&mut chunk, i, end).await;
                }
                _ => {
                    self.handle(&mut chunk, i).await;
                    i += 1;
                }
            }
        }
    }

    /// The commands `from..to`: starts, logs and ends, each run's in order. A segment that
    /// reaches the end of the chunk takes in what was queued while its runs were being
    /// created, so that runs started meanwhile join its next wave instead of waiting for
    /// its end (a sweep's parents do not wait for each other). Returns where it ended.
    async fn segment(
        &mut self,
        chunk: &mut Vec<Option<Command>>,
        from: usize,
        mut to: usize,
    ) -> usize {
        let mut starts: Vec<Start> = Vec::new();
        let mut seen = from;
        loop {
            take_starts(chunk, seen, to, &mut starts);
            seen = to;
            if starts.is_empty() {
                break;
            }
            let waiting: HashSet<u64> = starts.iter().map(|(run, ..)| run.local_id).collect();
            let (wave, later): (Vec<Start>, Vec<Start>) = starts.into_iter().partition(|s| {
                s.1.parent
                    .as_ref()
                    .is_none_or(|p| !waiting.contains(&p.local_id))
            });
            starts = later;
            // A wave is never empty (a parent is started before its child), but were it so,
            // the rest goes as one wave rather than never.
            if wave.is_empty() {
                self.create_wave(std::mem::take(&mut starts)).await;
            } else {
                self.create_wave(wave).await;
            }
            if to == chunk.len() && self.take_queued(chunk) {
                to = segment_end(chunk, from);
            }
        }
        let mut ends = Vec::new();
        for cmd in chunk[from..to].iter_mut() {
            match cmd.take() {
                Some(Command::Log { run, batch }) => self.log(run, batch).await,
                Some(Command::End {
                    run,
                    status,
                    end_time,
                    error,
                }) => ends.push(Ending {
                    run,
                    status,
                    end_time,
                    error,
                }),
                _ => {}
            }
        }
        if !ends.is_empty() {
            self.end_many(ends).await;
        }
        to
    }

    /// Appends what is waiting in the queue to `chunk`; true when anything was.
    fn take_queued(&self, chunk: &mut Vec<Option<Command>>) -> bool {
        let Some(queue) = &self.queue else {
            return false;
        };
        let before = chunk.len();
        while chunk.len() < MAX_CHUNK {
            match queue.try_recv() {
                Ok(cmd) => chunk.push(Some(cmd)),
                Err(_) => break,
            }
        }
        chunk.len() > before
    }

    /// Creates runs none of which is another's parent: prepared in order, created
    /// together, the answers taken in order (so that, when the store went down, the
    /// creations that failed go to the spill in the order they were started).
    async fn create_wave(&mut self, wave: Vec<Start>) {
        let mut steps = Vec::with_capacity(wave.len());
        for (run, spec, early_tags) in wave {
            let step = match self.prepare_create(spec, early_tags).await {
                Ok(Prepared::Request(request)) => Step::Send(request),
                Ok(Prepared::Done(created)) => Step::Done(Ok(created)),
                Err(e) => Step::Done(Err(e)),
            };
            steps.push((run, step));
        }
        let answers: Vec<Option<Result<_>>> = match self.ctx.store().cloned() {
            Ok(store) => {
                let store = &store;
                let creates = steps.iter().map(|(_, step)| async move {
                    match step {
                        Step::Send(r) => Some(store.create_run(&r.request).await),
                        Step::Done(_) => None,
                    }
                });
                bounded(creates, self.concurrency()).await
            }
            // Without a store nothing was prepared to send.
            Err(e) => steps
                .iter()
                .map(|(_, step)| matches!(step, Step::Send(_)).then(|| Err(e.clone())))
                .collect(),
        };
        for ((run, step), answer) in steps.into_iter().zip(answers) {
            let result = match (step, answer) {
                (Step::Send(request), Some(answer)) => self.create_answered(request, answer),
                (Step::Done(result), _) => result,
                (Step::Send(_), None) => Err(Error::Config("the creation was not sent".into())),
            };
            self.started(run, result);
        }
    }
}

/// Moves the starts among `chunk[from..to]` to `starts`, each with the tags logged right
/// after it (they ride on the create request).
fn take_starts(chunk: &mut [Option<Command>], from: usize, to: usize, starts: &mut Vec<Start>) {
    for i in from..to {
        if let Some(Command::Start { .. }) = &chunk[i]
            && let Some(Command::Start { run, spec }) = chunk[i].take()
        {
            let early_tags = take_early_tags(&mut chunk[i + 1..], run.local_id);
            starts.push((run, spec, early_tags));
        }
    }
}

/// Where the segment that starts at `from` ends: at a command that must keep its place, or
/// at a log or end of a run that already ended within the segment.
fn segment_end(chunk: &[Option<Command>], from: usize) -> usize {
    let mut ended = HashSet::new();
    for (i, cmd) in chunk.iter().enumerate().skip(from) {
        match cmd {
            None | Some(Command::Start { .. }) => {}
            Some(Command::Log { run, .. }) => {
                if ended.contains(&run.local_id) {
                    return i;
                }
            }
            Some(Command::End { run, .. }) => {
                if !ended.insert(run.local_id) {
                    return i;
                }
            }
            Some(Command::Failed(_) | Command::Flush(_) | Command::Call(_)) => return i,
        }
    }
    chunk.len()
}
