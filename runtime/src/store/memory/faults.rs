//! The memory store's script of faults: per kind of operation, errors for the next calls,
//! delays, lost answers and gates a test opens; and an outage of every operation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::base::error::Error;
use crate::base::sync::lock;

/// A count of calls that never runs out: the fault lasts until
/// [`clear_faults`](super::MemoryStore::clear_faults).
pub const ALWAYS: usize = usize::MAX;

/// The memory store's operations, as faults and the journal name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`Store::get_experiment_by_name`](crate::store::Store::get_experiment_by_name).
    GetExperimentByName,
    /// [`Store::get_experiment`](crate::store::Store::get_experiment).
    GetExperiment,
    /// [`Store::create_experiment`](crate::store::Store::create_experiment).
    CreateExperiment,
    /// [`Store::delete_experiment`](crate::store::Store::delete_experiment).
    DeleteExperiment,
    /// [`Store::restore_experiment`](crate::store::Store::restore_experiment).
    RestoreExperiment,
    /// [`Store::rename_experiment`](crate::store::Store::rename_experiment).
    RenameExperiment,
    /// [`Store::set_experiment_tag`](crate::store::Store::set_experiment_tag).
    SetExperimentTag,
    /// [`Store::delete_experiment_tag`](crate::store::Store::delete_experiment_tag).
    DeleteExperimentTag,
    /// [`Store::create_run`](crate::store::Store::create_run).
    CreateRun,
    /// [`Store::delete_run`](crate::store::Store::delete_run).
    DeleteRun,
    /// [`Store::restore_run`](crate::store::Store::restore_run).
    RestoreRun,
    /// [`Store::delete_tag`](crate::store::Store::delete_tag).
    DeleteTag,
    /// [`Store::update_run`](crate::store::Store::update_run).
    UpdateRun,
    /// [`Store::log_batch`](crate::store::Store::log_batch).
    LogBatch,
    /// [`Store::log_inputs`](crate::store::Store::log_inputs).
    LogInputs,
    /// [`Store::get_run`](crate::store::Store::get_run).
    GetRun,
    /// [`Store::search_runs`](crate::store::Store::search_runs).
    SearchRuns,
    /// [`Store::search_experiments`](crate::store::Store::search_experiments).
    SearchExperiments,
    /// [`Store::get_metric_history`](crate::store::Store::get_metric_history).
    GetMetricHistory,
    /// [`Store::log_artifact`](crate::store::Store::log_artifact).
    LogArtifact,
    /// [`Store::list_artifacts`](crate::store::Store::list_artifacts).
    ListArtifacts,
    /// [`Store::download_artifact`](crate::store::Store::download_artifact).
    DownloadArtifact,
    /// [`Store::ping`](crate::store::Store::ping).
    Ping,
}

impl Op {
    /// The REST endpoint the operation stands for, for messages.
    pub fn endpoint(self) -> &'static str {
        match self {
            Op::GetExperimentByName => "experiments/get-by-name",
            Op::GetExperiment => "experiments/get",
            Op::CreateExperiment => "experiments/create",
            Op::DeleteExperiment => "experiments/delete",
            Op::RestoreExperiment => "experiments/restore",
            Op::RenameExperiment => "experiments/update",
            Op::SetExperimentTag => "experiments/set-experiment-tag",
            Op::DeleteExperimentTag => "experiments/delete-experiment-tag",
            Op::CreateRun => "runs/create",
            Op::DeleteRun => "runs/delete",
            Op::RestoreRun => "runs/restore",
            Op::DeleteTag => "runs/delete-tag",
            Op::UpdateRun => "runs/update",
            Op::LogBatch => "runs/log-batch",
            Op::LogInputs => "runs/log-inputs",
            Op::GetRun => "runs/get",
            Op::SearchRuns => "runs/search",
            Op::SearchExperiments => "experiments/search",
            Op::GetMetricHistory => "metrics/get-history",
            Op::LogArtifact => "artifacts/upload",
            Op::ListArtifacts => "artifacts/list",
            Op::DownloadArtifact => "artifacts/download",
            Op::Ping => "health",
        }
    }
}

/// A gate that calls of one operation wait at until the test opens it (from
/// [`MemoryStore::pause`](super::MemoryStore::pause)). Clones share the gate.
#[derive(Debug, Clone)]
pub struct Gate {
    state: Arc<watch::Sender<GateState>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct GateState {
    open: bool,
    /// Calls that reached the gate, open or not.
    arrived: usize,
    /// Calls waiting at it now.
    waiting: usize,
}

impl Gate {
    fn new() -> Gate {
        Gate {
            state: Arc::new(watch::Sender::new(GateState::default())),
        }
    }

    /// Lets the calls waiting, and every later one, through.
    pub fn open(&self) {
        self.state.send_modify(|s| s.open = true);
    }

    /// Whether [`Gate::open`] was called.
    pub fn is_open(&self) -> bool {
        self.state.borrow().open
    }

    /// How many calls have reached the gate so far (waiting or let through).
    pub fn arrivals(&self) -> usize {
        self.state.borrow().arrived
    }

    /// How many calls wait at the gate now.
    pub fn waiting(&self) -> usize {
        self.state.borrow().waiting
    }

    /// Waits until `n` calls have reached the gate in all.
    pub async fn arrived(&self, n: usize) {
        let mut rx = self.state.subscribe();
        // The sender half lives as long as `self`: the wait cannot fail.
        let _ = rx.wait_for(|s| s.arrived >= n).await;
    }

    /// A call's side: counts it, then waits until the gate is open.
    pub(super) async fn pass(&self) {
        let mut rx = self.state.subscribe();
        self.state.send_modify(|s| {
            s.arrived += 1;
            s.waiting += 1;
        });
        // Counted out also when the call is dropped while it waits.
        struct Leave<'a>(&'a watch::Sender<GateState>);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.send_modify(|s| s.waiting -= 1);
            }
        }
        let _leave = Leave(&self.state);
        let _ = rx.wait_for(|s| s.open).await;
    }
}

/// What a scripted fault does to a call.
#[derive(Debug)]
enum Action {
    /// The call fails with this error and has no effect.
    Fail(Error),
    /// The call waits this long (on tokio's clock) before it is handled.
    Delay(Duration),
    /// The call takes effect, then the caller gets [`Error::Transport`].
    Lose,
    /// The call waits at the gate until it is open.
    Pause(Gate),
}

#[derive(Debug)]
struct Rule {
    op: Op,
    /// Calls it still applies to.
    left: usize,
    action: Action,
}

/// The faults one call meets, taken from the script when it arrives.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) gate: Option<Gate>,
    pub(super) delay: Option<Duration>,
    pub(super) fail: Option<Error>,
    pub(super) lose: bool,
}

/// The script: rules per operation, and whether the store is down.
#[derive(Debug, Default)]
pub(super) struct Faults {
    rules: Mutex<Vec<Rule>>,
    outage: Mutex<bool>,
}

impl Faults {
    /// Takes the faults for a call of `op` that arrives now: of each kind, the first rule
    /// for `op` that still applies (used up when its count runs out).
    pub(super) fn plan(&self, op: Op) -> Plan {
        let mut rules = lock(&self.rules);
        let mut plan = Plan::default();
        let mut taken = [false; 4];
        for rule in rules.iter_mut().filter(|r| r.op == op && r.left > 0) {
            let kind = match &rule.action {
                Action::Fail(_) => 0,
                Action::Delay(_) => 1,
                Action::Lose => 2,
                Action::Pause(_) => 3,
            };
            if std::mem::replace(&mut taken[kind], true) {
                continue;
            }
            if rule.left != ALWAYS {
                rule.left -= 1;
            }
            match &rule.action {
                Action::Fail(e) => plan.fail = Some(e.clone()),
                Action::Delay(d) => plan.delay = Some(*d),
                Action::Lose => plan.lose = true,
                Action::Pause(g) => plan.gate = Some(g.clone()),
            }
        }
        rules.retain(|r| r.left > 0);
        plan
    }

    fn add(&self, op: Op, times: usize, action: Action) {
        if times > 0 {
            lock(&self.rules).push(Rule {
                op,
                left: times,
                action,
            });
        }
    }

    pub(super) fn fail(&self, op: Op, times: usize, error: Error) {
        self.add(op, times, Action::Fail(error));
    }

    pub(super) fn delay(&self, op: Op, times: usize, by: Duration) {
        self.add(op, times, Action::Delay(by));
    }

    pub(super) fn lose(&self, op: Op, times: usize) {
        self.add(op, times, Action::Lose);
    }

    pub(super) fn pause(&self, op: Op, times: usize) -> Gate {
        let gate = Gate::new();
        self.add(op, times, Action::Pause(gate.clone()));
        gate
    }

    /// Forgets every rule; gates handed out are opened, so that no call waits for ever.
    pub(super) fn clear(&self) {
        for rule in lock(&self.rules).drain(..) {
            if let Action::Pause(gate) = rule.action {
                gate.open();
            }
        }
        *lock(&self.outage) = false;
    }

    pub(super) fn set_outage(&self, down: bool) {
        *lock(&self.outage) = down;
    }

    pub(super) fn outage(&self) -> bool {
        *lock(&self.outage)
    }
}
