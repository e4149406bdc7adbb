//! The memory store's journal: every call, in the order calls arrived, with what it carried
//! and how it ended, for exact request counts and ordering in tests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::faults::Op;
use crate::base::error::Error;
use crate::base::model::{Batch, CreateRun, RunStatus};
use crate::base::sync::lock;

/// How a call ended.
#[derive(Debug, Clone)]
pub enum CallOutcome {
    /// Still under way (waiting at a gate, delayed, or being handled).
    Pending,
    /// Done and answered.
    Ok,
    /// Refused by the store's rules (what MLflow would refuse), with MLflow's error.
    Refused(Error),
    /// Failed by the script (an error or the outage), without effect.
    Failed(Error),
    /// Took effect (or was refused), but the answer was lost: the caller got
    /// [`Error::Transport`].
    Lost,
}

impl CallOutcome {
    /// True for a call answered with success.
    pub fn is_ok(&self) -> bool {
        matches!(self, CallOutcome::Ok)
    }

    /// True for a call that reached the store's state: answered with success, or lost after
    /// taking effect.
    pub fn took_effect(&self) -> bool {
        matches!(self, CallOutcome::Ok | CallOutcome::Lost)
    }
}

/// One call to the memory store.
#[derive(Debug, Clone)]
pub struct Call {
    /// Its place in the order of arrival, from 0.
    pub seq: usize,
    /// The operation.
    pub op: Op,
    /// The run it concerns; for [`Op::CreateRun`], the id the store gave the run (once it
    /// took effect).
    pub run_id: Option<String>,
    /// The experiment it concerns: an id, or a name for the by-name operations.
    pub experiment: Option<String>,
    /// [`Op::CreateRun`]: the request.
    pub create: Option<CreateRun>,
    /// [`Op::LogBatch`]: the batch.
    pub batch: Option<Batch>,
    /// [`Op::UpdateRun`]: the status and end time.
    pub status: Option<(RunStatus, Option<i64>)>,
    /// [`Op::SearchRuns`], [`Op::SearchExperiments`]: the filter.
    pub filter: Option<String>,
    /// [`Op::DeleteTag`], [`Op::SetExperimentTag`], [`Op::DeleteExperimentTag`]: the tag's
    /// key; [`Op::RenameExperiment`]: the new name.
    pub key: Option<String>,
    /// When it arrived, on tokio's clock, since the store's first call.
    pub at: Duration,
    /// When it was answered, likewise.
    pub done_at: Option<Duration>,
    /// How it ended.
    pub outcome: CallOutcome,
}

impl Call {
    /// A call of `op` carrying nothing yet.
    pub(super) fn of(op: Op) -> Call {
        Call {
            seq: 0,
            op,
            run_id: None,
            experiment: None,
            create: None,
            batch: None,
            status: None,
            filter: None,
            key: None,
            at: Duration::ZERO,
            done_at: None,
            outcome: CallOutcome::Pending,
        }
    }

    /// The run name a [`Op::CreateRun`] asked for.
    pub fn run_name(&self) -> Option<&str> {
        self.create.as_ref().map(|c| c.run_name.as_str())
    }

    /// Metrics, params and tags of a [`Op::LogBatch`] (0 for other calls).
    pub fn batch_len(&self) -> usize {
        self.batch.as_ref().map_or(0, Batch::len)
    }
}

#[derive(Debug, Default)]
struct Recorded {
    calls: Vec<Call>,
    /// Calls forgotten by [`Journal::clear`]: the first kept call's number.
    offset: usize,
    /// The clock's reading at the first call.
    base: Option<Instant>,
    under_way: HashMap<Op, usize>,
    peak: HashMap<Op, usize>,
    /// Calls of any operation under way, and the most at once.
    all_under_way: usize,
    all_peak: usize,
}

impl Recorded {
    fn since_base(&mut self) -> Duration {
        let now = Instant::now();
        now.saturating_duration_since(*self.base.get_or_insert(now))
    }
}

/// Every call, in order of arrival.
#[derive(Debug, Default)]
pub(super) struct Journal {
    inner: Mutex<Recorded>,
}

impl Journal {
    /// Records a call arriving; returns its number.
    pub(super) fn arrive(&self, mut call: Call) -> usize {
        let mut inner = lock(&self.inner);
        call.seq = inner.offset + inner.calls.len();
        call.at = inner.since_base();
        let now = inner.under_way.entry(call.op).or_default();
        *now += 1;
        let now = *now;
        let peak = inner.peak.entry(call.op).or_default();
        *peak = (*peak).max(now);
        inner.all_under_way += 1;
        inner.all_peak = inner.all_peak.max(inner.all_under_way);
        let seq = call.seq;
        inner.calls.push(call);
        seq
    }

    /// Records how call `seq` ended, and the run id it created, if any.
    pub(super) fn finish(&self, seq: usize, op: Op, outcome: CallOutcome, created: Option<String>) {
        let mut inner = lock(&self.inner);
        let done = inner.since_base();
        if let Some(n) = inner.under_way.get_mut(&op) {
            *n = n.saturating_sub(1);
        }
        inner.all_under_way = inner.all_under_way.saturating_sub(1);
        let Some(index) = seq.checked_sub(inner.offset) else {
            return;
        };
        let call = &mut inner.calls[index];
        call.done_at = Some(done);
        call.outcome = outcome;
        if created.is_some() {
            call.run_id = created;
        }
    }

    pub(super) fn calls(&self) -> Vec<Call> {
        lock(&self.inner).calls.clone()
    }

    pub(super) fn peak(&self, op: Op) -> usize {
        lock(&self.inner).peak.get(&op).copied().unwrap_or(0)
    }

    pub(super) fn peak_all(&self) -> usize {
        lock(&self.inner).all_peak
    }

    /// Forgets the calls so far (and the peaks); the clock's base stays.
    pub(super) fn clear(&self) {
        let mut inner = lock(&self.inner);
        inner.offset += inner.calls.len();
        inner.calls.clear();
        inner.peak.clear();
        let under_way = inner.under_way.clone();
        inner.peak.extend(under_way);
        inner.all_peak = inner.all_under_way;
    }
}
