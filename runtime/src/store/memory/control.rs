//! What a test does with a memory store: its settings, the faults it scripts, the journal
//! and the state it reads.

use std::time::Duration;

use super::faults::{ALWAYS, Gate, Op};
use super::journal::Call;
use super::{MemoryStore, artifacts};
use crate::base::error::Error;
use crate::base::model::{Experiment, Metric, Run};
use crate::base::sync::lock;
use crate::store::BatchLimits;

impl MemoryStore {
    /// The batch limits the store advertises and enforces (MLflow's server's by default).
    pub fn set_limits(&self, limits: BatchLimits) {
        lock(&self.settings).limits = limits;
    }

    /// [`Store::max_in_flight`](crate::store::Store::max_in_flight) (1 by default).
    pub fn set_max_in_flight(&self, n: usize) {
        lock(&self.settings).max_in_flight = n;
    }

    /// [`Store::max_concurrent`](crate::store::Store::max_concurrent) (1 by default); asked by the sender before each group of
    /// requests, so a change takes effect at the next one.
    pub fn set_max_concurrent(&self, n: usize) {
        lock(&self.settings).max_concurrent = n;
    }

    /// Whether a client-chosen run id is used ([`Store::accepts_client_run_ids`](crate::store::Store::accepts_client_run_ids); false,
    /// as MLflow's server, by default).
    pub fn set_accepts_client_run_ids(&self, accepts: bool) {
        lock(&self.settings).client_run_ids = accepts;
    }

    /// [`Store::location`](crate::store::Store::location).
    pub fn set_location(&self, location: impl Into<String>) {
        lock(&self.settings).location = location.into();
    }

    /// The next `times` calls of `op` ([`ALWAYS`]: every one) fail with `error`, without
    /// effect. `Error::api(503, "TEMPORARILY_UNAVAILABLE", ..)` is what an overloaded server
    /// answers; `Error::api(400, "INVALID_PARAMETER_VALUE", ..)` a refusal.
    pub fn fail(&self, op: Op, times: usize, error: Error) {
        self.faults.fail(op, times, error);
    }

    /// The next `times` calls of `op` wait `by` on tokio's clock before they are handled
    /// (no wall time on a paused clock).
    pub fn delay(&self, op: Op, times: usize, by: Duration) {
        self.faults.delay(op, times, by);
    }

    /// The next `times` calls of `op` take effect, then the caller gets
    /// [`Error::Transport`], as when a connection drops before the answer.
    pub fn lose_answers(&self, op: Op, times: usize) {
        self.faults.lose(op, times);
    }

    /// Every call of `op` from now on waits at the returned gate until the test opens it.
    pub fn pause(&self, op: Op) -> Gate {
        self.faults.pause(op, ALWAYS)
    }

    /// The next `times` calls of `op` wait at the returned gate until the test opens it.
    pub fn pause_next(&self, op: Op, times: usize) -> Gate {
        self.faults.pause(op, times)
    }

    /// From now on every call, [`Store::ping`](crate::store::Store::ping) included, fails with [`Error::Transport`]
    /// without effect, until [`MemoryStore::end_outage`].
    pub fn start_outage(&self) {
        self.faults.set_outage(true);
    }

    /// Ends the outage.
    pub fn end_outage(&self) {
        self.faults.set_outage(false);
    }

    /// Whether the store is in an outage.
    pub fn in_outage(&self) -> bool {
        self.faults.outage()
    }

    /// Forgets every scripted fault (gates are opened) and ends the outage.
    pub fn clear_faults(&self) {
        self.faults.clear();
    }

    /// Every call so far, in the order they arrived.
    pub fn journal(&self) -> Vec<Call> {
        self.journal.calls()
    }

    /// The calls of `op`, in the order they arrived.
    pub fn calls(&self, op: Op) -> Vec<Call> {
        self.journal
            .calls()
            .into_iter()
            .filter(|c| c.op == op)
            .collect()
    }

    /// How many calls of `op` arrived.
    pub fn count(&self, op: Op) -> usize {
        self.calls(op).len()
    }

    /// The most calls of `op` under way at once so far.
    pub fn peak(&self, op: Op) -> usize {
        self.journal.peak(op)
    }

    /// The most calls of any operations under way at once so far.
    pub fn peak_all(&self) -> usize {
        self.journal.peak_all()
    }

    /// Forgets the calls so far, and the peaks.
    pub fn clear_journal(&self) {
        self.journal.clear();
    }

    /// Every experiment, by id.
    pub fn experiments(&self) -> Vec<Experiment> {
        lock(&self.state).experiments.clone()
    }

    /// The experiment called `name`.
    pub fn experiment_named(&self, name: &str) -> Option<Experiment> {
        lock(&self.state).experiment_by_name(name)
    }

    /// Every run as `runs/get` answers, in creation order.
    pub fn runs(&self) -> Vec<Run> {
        lock(&self.state).runs.iter().map(|r| r.to_run()).collect()
    }

    /// The run `run_id` as `runs/get` answers.
    pub fn run(&self, run_id: &str) -> Option<Run> {
        lock(&self.state).run(run_id).ok().map(|r| r.to_run())
    }

    /// The runs named `name`, in creation order.
    pub fn runs_named(&self, name: &str) -> Vec<Run> {
        self.runs()
            .into_iter()
            .filter(|r| r.info.run_name == name)
            .collect()
    }

    /// Every metric point of a run, in the order stored.
    pub fn points(&self, run_id: &str) -> Vec<Metric> {
        lock(&self.state)
            .run(run_id)
            .map(|r| r.metrics.clone())
            .unwrap_or_default()
    }

    /// The params of a run, in the order stored.
    pub fn params_in_order(&self, run_id: &str) -> Vec<(String, String)> {
        lock(&self.state)
            .run(run_id)
            .map(|r| {
                r.params
                    .iter()
                    .map(|p| (p.key.clone(), p.value.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The bytes of artifact `path` under a run's artifact root.
    pub fn artifact(&self, artifact_uri: &str, path: &str) -> Option<Vec<u8>> {
        lock(&self.state)
            .artifacts
            .get(&artifacts::key(artifact_uri, path))
            .cloned()
    }
}
