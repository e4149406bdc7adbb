//! A segment of starts, logs and ends as the sender works through it: the runs to create (a
//! child once its parent's creation is settled), what was logged to each run and whether it
//! ends, and which runs have requests under way. The sender's loop (`steps.rs`) asks what
//! may go now and says what came back; nothing here does I/O.
//!
//! So each run goes at its own pace: its creation, then its data, then its end, while other
//! runs' requests are under way; nothing of one run waits for another run, but a child for
//! its parent's creation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use super::chunk::Chunk;
use super::command::Command;
use super::create::Start;
use super::delivery::StatusUpdate;
use super::identity::RunSlot;
use crate::base::model::Batch;

/// A run's end, as its `Command::End` said.
pub(super) struct Ending {
    pub(super) slot: Arc<RunSlot>,
    /// Its place among the segment's ends, in queue order: links are printed in it.
    pub(super) order: usize,
    pub(super) update: StatusUpdate,
    /// The error message of a run that failed, for its `error` tag.
    pub(super) error: Option<String>,
}

/// What a segment holds for one run: what was logged to it, and its end.
pub(super) struct RunWork {
    pub(super) slot: Arc<RunSlot>,
    pub(super) batch: Batch,
    pub(super) end: Option<Ending>,
}

/// Starts, logs and ends that may be handled out of queue order across runs, each run's
/// own in order.
#[derive(Default)]
pub(super) struct Segment {
    /// Runs started and not handed out for creation yet, in start order, with the tags
    /// logged right after them.
    waiting: Vec<Start>,
    /// Where each run of `waiting` is in it.
    waiting_at: HashMap<u64, usize>,
    /// Runs handed out for creation whose creation is not settled yet.
    creating: HashSet<u64>,
    /// Each run's logs and end not handed out yet, in order of first appearance.
    work: Vec<RunWork>,
    /// Where each run of `work` is in it.
    work_at: HashMap<u64, usize>,
    /// Runs with a delivery under way: their next data waits for it.
    busy: HashSet<u64>,
    /// Runs ended in the segment: another command for one of them starts a new segment.
    ended: HashSet<u64>,
    /// Starts, values and ends held here, not handed out yet: the sender takes in no more
    /// from the queue while it holds many, so that a fast producer meets the queue's bound.
    held: usize,
    /// Ends seen so far.
    ends: usize,
    /// Ends settled (their links, if any), by order, until every earlier one is.
    settled_ends: BTreeMap<usize, Option<String>>,
    /// The first end whose links are not printed yet.
    next_printed: usize,
}

impl Segment {
    /// A segment starting with `first`, with what follows it in `chunk`.
    pub(super) fn new(first: Command, chunk: &mut Chunk) -> Segment {
        let mut segment = Segment::default();
        segment.push(first);
        segment.take_from(chunk);
        segment
    }

    /// True when `cmd` may join the segment.
    fn admits(&self, cmd: &Command) -> bool {
        match cmd {
            // A run resumed by id starts a segment of its own: everything queued before it
            // is stored first, the run's creation and end too when this process created
            // it (the resume reads the run, then sets it RUNNING).
            Command::Start { spec, .. } if spec.resume.is_some() => false,
            Command::Start { .. } => true,
            Command::Log { run, .. } | Command::End { run, .. } => {
                !self.ended.contains(&run.local_id)
            }
            Command::Failed(_) | Command::Flush(_) | Command::Call(_) => false,
        }
    }

    /// Takes the commands at the front of `chunk` that may join, up to one that may not.
    pub(super) fn take_from(&mut self, chunk: &mut Chunk) {
        while let Some(cmd) = chunk.next_if(|cmd| self.admits(cmd)) {
            self.push(cmd);
        }
    }

    fn push(&mut self, cmd: Command) {
        match cmd {
            Command::Start { run, spec } => {
                self.held += 1;
                self.waiting_at.insert(run.local_id, self.waiting.len());
                self.waiting.push(Start {
                    slot: run,
                    spec,
                    early_tags: Vec::new(),
                });
            }
            Command::Log { run, mut batch } => {
                self.held += batch.len();
                // Tags logged right after the start ride on the create request.
                if let Some(&at) = self.waiting_at.get(&run.local_id) {
                    self.waiting[at].early_tags.append(&mut batch.tags);
                }
                if !batch.is_empty() {
                    self.work_of(&run).batch.extend(batch);
                }
            }
            Command::End {
                run,
                status,
                end_time,
                error,
            } => {
                self.held += 1;
                self.ended.insert(run.local_id);
                let order = self.ends;
                self.ends += 1;
                let work = self.work_of(&run);
                work.end = Some(Ending {
                    slot: run,
                    order,
                    update: StatusUpdate { status, end_time },
                    error,
                });
            }
            // `admits` keeps barriers out.
            Command::Failed(_) | Command::Flush(_) | Command::Call(_) => {}
        }
    }

    fn work_of(&mut self, run: &Arc<RunSlot>) -> &mut RunWork {
        let at = match self.work_at.get(&run.local_id) {
            Some(&at) => at,
            None => {
                self.work_at.insert(run.local_id, self.work.len());
                self.work.push(RunWork {
                    slot: run.clone(),
                    batch: Batch::default(),
                    end: None,
                });
                self.work.len() - 1
            }
        };
        &mut self.work[at]
    }

    /// Starts, values and ends held here, not handed out yet.
    pub(super) fn held(&self) -> usize {
        self.held
    }

    /// The runs that may be created now, in start order: those whose parent is not itself
    /// waiting or being created here. They count as being created until [`settled`].
    ///
    /// [`settled`]: Segment::settled
    pub(super) fn ready_starts(&mut self) -> Vec<Start> {
        if self.waiting.is_empty() {
            return Vec::new();
        }
        let unsettled: HashSet<u64> = self
            .waiting
            .iter()
            .map(|s| s.slot.local_id)
            .chain(self.creating.iter().copied())
            .collect();
        let (ready, still): (Vec<Start>, Vec<Start>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|s| {
                s.spec
                    .parent
                    .as_ref()
                    .is_none_or(|p| !unsettled.contains(&p.local_id))
            });
        self.waiting = still;
        self.waiting_at = positions(self.waiting.iter().map(|s| s.slot.local_id));
        for start in &ready {
            self.creating.insert(start.slot.local_id);
            self.held -= 1 + start.early_tags.len();
        }
        ready
    }

    /// The creation of run `local` is settled (stored, spilled or failed).
    pub(super) fn settled(&mut self, local: u64) {
        self.creating.remove(&local);
    }

    /// The runs whose logs and end may go now, in order of first appearance: those whose
    /// creation is settled and that have no delivery under way.
    pub(super) fn ready_work(&mut self) -> Vec<RunWork> {
        // Nothing being created or delivered (a run logging on and on): all of it goes.
        if self.waiting.is_empty() && self.creating.is_empty() && self.busy.is_empty() {
            self.work_at.clear();
            self.held = 0;
            return std::mem::take(&mut self.work);
        }
        let blocked: HashSet<u64> = self
            .waiting
            .iter()
            .map(|s| s.slot.local_id)
            .chain(self.creating.iter().copied())
            .chain(self.busy.iter().copied())
            .collect();
        let (ready, still): (Vec<RunWork>, Vec<RunWork>) = std::mem::take(&mut self.work)
            .into_iter()
            .partition(|w| !blocked.contains(&w.slot.local_id));
        self.work = still;
        self.work_at = positions(self.work.iter().map(|w| w.slot.local_id));
        for w in &ready {
            self.held -= w.batch.len() + usize::from(w.end.is_some());
        }
        ready
    }

    /// Run `local` has a delivery under way: its next data waits.
    pub(super) fn busy(&mut self, local: u64) {
        self.busy.insert(local);
    }

    /// Run `local`'s delivery came back.
    pub(super) fn idle(&mut self, local: u64) {
        self.busy.remove(&local);
    }

    /// The end `order` is settled, with the links to print for it (as the Python client
    /// prints them when a run ends); returns the links now due, in the order the runs ended.
    pub(super) fn end_settled(&mut self, order: usize, links: Option<String>) -> Vec<String> {
        self.settled_ends.insert(order, links);
        let mut due = Vec::new();
        while let Some(links) = self.settled_ends.remove(&self.next_printed) {
            due.extend(links);
            self.next_printed += 1;
        }
        due
    }

    /// True when nothing is waiting, being created, held or under way.
    pub(super) fn is_finished(&self) -> bool {
        self.waiting.is_empty()
            && self.creating.is_empty()
            && self.work.is_empty()
            && self.busy.is_empty()
    }
}

/// Each run's position in a list of runs.
fn positions(locals: impl Iterator<Item = u64>) -> HashMap<u64, usize> {
    locals.enumerate().map(|(at, local)| (local, at)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::model::{RunStatus, RunTag};
    use crate::sender::chunk::Next;
    use crate::sender::command::{ExperimentSel, StartSpec};

    fn start(local: u64, parent: Option<&Arc<RunSlot>>) -> (Arc<RunSlot>, Command) {
        let slot = Arc::new(RunSlot::new(local, format!("r{local}"), None));
        let spec = StartSpec {
            name: slot.name.clone(),
            name_given: true,
            client_id: None,
            resume: None,
            user_tags: Vec::new(),
            parent: parent.cloned(),
            experiment: ExperimentSel::Default,
            start_time: 0,
        };
        let cmd = Command::Start {
            run: slot.clone(),
            spec,
        };
        (slot, cmd)
    }

    fn log_tag(slot: &Arc<RunSlot>) -> Command {
        Command::Log {
            run: slot.clone(),
            batch: Batch {
                tags: vec![RunTag {
                    key: "k".into(),
                    value: "v".into(),
                }],
                ..Batch::default()
            },
        }
    }

    fn end(slot: &Arc<RunSlot>) -> Command {
        Command::End {
            run: slot.clone(),
            status: RunStatus::Finished,
            end_time: 0,
            error: None,
        }
    }

    #[test]
    fn each_run_goes_once_its_creation_is_settled() {
        let (tx, rx) = flume::unbounded();
        let (a, start_a) = start(1, None);
        let (b, start_b) = start(2, Some(&a));
        let (c, start_c) = start(3, None);
        for cmd in [
            start_b,
            log_tag(&b),
            end(&b),
            start_c,
            end(&c),
            end(&a),
            log_tag(&b),
        ] {
            tx.send(cmd).unwrap();
        }
        tx.send(Command::Failed(crate::base::error::Error::NoActiveRun))
            .unwrap();
        let mut chunk = Chunk::new(start_a, &rx);
        let Some(Next::Segment(mut segment)) = chunk.next() else {
            panic!("a segment first")
        };

        // a and c first; b waits for its parent; its tag rides on its creation.
        let ready: Vec<u64> = segment
            .ready_starts()
            .iter()
            .map(|s| s.slot.local_id)
            .collect();
        assert_eq!(ready, [1, 3]);
        assert!(
            segment.ready_work().is_empty(),
            "nothing before its creation"
        );
        segment.settled(3);
        let work = segment.ready_work();
        assert_eq!(work.len(), 1, "c ends while a is still being created");
        assert!(work[0].end.is_some() && work[0].slot.local_id == 3);
        segment.settled(1);
        let b_start = segment.ready_starts();
        assert_eq!(b_start.len(), 1);
        assert_eq!(b_start[0].early_tags.len(), 1);
        let work = segment.ready_work();
        assert_eq!(work.len(), 1, "a's end; b is being created");
        segment.settled(2);
        let work = segment.ready_work();
        assert!(work[0].batch.is_empty() && work[0].end.is_some(), "b's end");
        assert!(segment.is_finished());
        assert_eq!(segment.held(), 0);

        // The log of b after its end starts the next segment, then the barrier.
        let Some(Next::Segment(mut next)) = chunk.next() else {
            panic!("the log after the end")
        };
        assert_eq!(next.ready_work().len(), 1);
        assert!(matches!(chunk.next(), Some(Next::Barrier(_))));
        assert!(chunk.next().is_none());
    }

    #[test]
    fn a_run_with_a_delivery_under_way_waits() {
        let (_tx, rx) = flume::unbounded::<Command>();
        let (a, start_a) = start(1, None);
        let mut chunk = Chunk::new(start_a, &rx);
        let Some(Next::Segment(mut segment)) = chunk.next() else {
            panic!()
        };
        segment.ready_starts();
        segment.settled(1);
        segment.busy(1);
        segment.push(log_tag(&a));
        assert!(segment.ready_work().is_empty());
        segment.idle(1);
        assert_eq!(segment.ready_work().len(), 1);
        assert!(segment.is_finished());
    }
}
