//! The sender during an outage: once the store stays unreachable after the retries (or
//! the queue fills up while retrying), every operation goes to the spill file right away,
//! so that logging never stalls; the store is probed now and then, and when it answers the
//! spill is replayed into it, in order, before anything new is sent.

use std::time::{Duration, Instant};

use super::command::ExperimentSel;
use super::slot::RunSlot;
use super::spill::{self, RunRef, SpillKv, SpillOp};
use super::state::{RunState, Sender};
use crate::base::config;
use crate::base::error::{Error, report};
use crate::base::model::CreateRun;

/// How often a store that went down is probed.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// What the sender knows about an ongoing outage.
#[derive(Debug)]
pub(super) struct Outage {
    next_probe: Instant,
    /// The failure that started it.
    cause: Error,
    /// Whether the spill file has been announced on stderr.
    announced: bool,
}

/// A run's creation: stored, or spilled (reference, experiment id when known).
pub(super) enum Created {
    Stored {
        id: String,
        experiment_id: String,
        /// The name the store has for it (a resumed run keeps its own).
        run_name: String,
    },
    Spilled(String, Option<String>),
}

impl Sender {
    /// How long until the next probe, while the store is down.
    pub(super) fn probe_in(&self) -> Option<Duration> {
        self.outage
            .as_ref()
            .map(|o| o.next_probe.saturating_duration_since(Instant::now()))
    }

    pub(super) fn enter_outage(&mut self, cause: Error) {
        match &mut self.outage {
            Some(o) => o.next_probe = Instant::now() + PROBE_INTERVAL,
            None => {
                report(&Error::Config(format!(
                    "the tracking store {} is unreachable ({cause}); logging goes on and what cannot be delivered is written to a spill file, sent when the store is back",
                    self.location()
                )));
                self.outage = Some(Outage {
                    next_probe: Instant::now() + PROBE_INTERVAL,
                    cause,
                    announced: false,
                });
            }
        }
    }

    pub(super) fn location(&self) -> String {
        self.ctx
            .store()
            .map(|s| s.location())
            .unwrap_or_else(|e| e.to_string())
    }

    /// Checks whether the store is back (when a probe is due, or always when `force`), and
    /// if so delivers the spill.
    pub(super) async fn probe(&mut self, force: bool) {
        let Some(outage) = &self.outage else { return };
        if !force && outage.next_probe > Instant::now() {
            return;
        }
        let Ok(store) = self.ctx.store().cloned() else {
            return;
        };
        if let Err(e) = store.ping().await {
            self.enter_outage(e);
            return;
        }
        self.outage = None;
        self.replay_own_spill().await;
    }

    pub(super) async fn replay_own_spill(&mut self) {
        let Some(path) = self.spill.path().map(|p| p.to_path_buf()) else {
            return;
        };
        let Ok(store) = self.ctx.store().cloned() else {
            return;
        };
        let ops = match spill::read_spill(&path) {
            Ok(ops) => ops,
            Err(e) => {
                self.fail(e);
                return;
            }
        };
        let (outcome, remaining) = spill::replay_ops(&store, &ops, &self.replayed_ids).await;
        for (reference, id) in &outcome.created {
            self.replayed_ids.insert(reference.clone(), id.clone());
        }
        for state in self.runs.values_mut() {
            if let Some(id) = state
                .spill_ref
                .as_ref()
                .and_then(|r| outcome.created.get(r))
            {
                state.id = Ok(id.clone());
                state.spill_ref = None;
            }
        }
        let mut refused = outcome.refused;
        if !remaining.is_empty() {
            // The last refusal is the outage that stopped the replay.
            if let Some(cause) = refused.pop() {
                self.enter_outage(cause);
            }
        }
        for e in refused {
            self.fail(Error::Undelivered {
                run: format!("(spilled, {})", path.display()),
                count: 1,
                source: Box::new(e),
            });
        }
        if let Err(e) = spill::rewrite(&path, &remaining) {
            self.fail(e);
        }
        if remaining.is_empty() {
            eprintln!(
                "mlflow: the tracking store {} is back; delivered {} spilled operation(s) from {}",
                self.location(),
                outcome.delivered,
                path.display()
            );
            self.spill.reset();
        } else {
            self.spill
                .reopen(remaining.len(), remaining.iter().map(SpillOp::len).sum());
        }
    }

    /// The error that says data waits in the spill file.
    pub(super) fn spilled_error(&self) -> Error {
        Error::Spilled {
            path: self
                .spill
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            lines: self.spill.pending,
            count: self.spill.values,
            source: Box::new(match &self.outage {
                Some(o) => o.cause.clone(),
                None => Error::Config("the store was unreachable".into()),
            }),
        }
    }

    /// Says, when a run ends during an outage, where its data waits.
    pub(super) fn report_spilled_end(&self, run_name: &str, status: crate::base::model::RunStatus) {
        eprintln!(
            "mlflow: run {run_name:?} ended {status} while the tracking store was unreachable; its data waits in the spill file {}",
            self.spill
                .path()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }

    /// Adds the spill, if anything waits in it, to what the next flush reports.
    pub(super) fn report_spill(&mut self) {
        if self.spill.pending > 0 {
            let err = self.spilled_error();
            self.failures.push(err);
        }
    }

    pub(super) fn spill_op(&mut self, op: &SpillOp) {
        match self.spill.write(op) {
            Ok(()) => {
                if let Some(outage) = &mut self.outage
                    && !outage.announced
                {
                    outage.announced = true;
                    eprintln!(
                        "mlflow: writing undelivered tracking data to {}",
                        self.spill
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                // The spill itself failed (disk full, read-only folder): this is loss.
                self.fail(Error::Undelivered {
                    run: run_name(op),
                    count: op.len(),
                    source: Box::new(e),
                });
            }
        }
    }

    pub(super) fn spill_create(
        &mut self,
        request: CreateRun,
        experiment_id: Option<String>,
        experiment_name: Option<String>,
        parent_ref: Option<String>,
    ) -> crate::base::error::Result<Created> {
        let reference = format!(
            "{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().as_fields().0
        );
        let parent_run_id = request
            .tags
            .iter()
            .find(|t| t.key == "mlflow.parentRunId")
            .map(|t| t.value.clone());
        let op = SpillOp::CreateRun {
            run_ref: reference.clone(),
            run_name: request.run_name,
            experiment_id: experiment_id.clone(),
            experiment_name,
            parent_run_id,
            parent_ref,
            start_time: request.start_time,
            user_id: request.user_id,
            tags: request
                .tags
                .into_iter()
                .filter(|t| t.key != "mlflow.parentRunId")
                .map(|t| SpillKv {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
        };
        self.spill_op(&op);
        Ok(Created::Spilled(reference, experiment_id))
    }

    /// The experiment for `sel` from what is known without asking the store: an id, or a
    /// name to get or create at replay.
    pub(super) fn offline_experiment(
        &self,
        sel: &ExperimentSel,
        parent_experiment: &Option<String>,
    ) -> (Option<String>, Option<String>) {
        let default = || match &self.default_experiment {
            Some(Ok(id)) => (Some(id.clone()), None),
            _ => match (
                config::env_nonempty("MLFLOW_EXPERIMENT_NAME"),
                config::env_nonempty("MLFLOW_EXPERIMENT_ID"),
            ) {
                (Some(name), _) => match self.experiments_by_name.get(&name) {
                    Some(id) => (Some(id.clone()), None),
                    None => (None, Some(name)),
                },
                (None, Some(id)) => (Some(id), None),
                (None, None) => (Some("0".into()), None),
            },
        };
        match sel {
            ExperimentSel::Id(id) => (Some(id.clone()), None),
            ExperimentSel::Name(name) => match self.experiments_by_name.get(name) {
                Some(id) => (Some(id.clone()), None),
                None => (None, Some(name.clone())),
            },
            ExperimentSel::SameAsParent => match parent_experiment {
                Some(id) => (Some(id.clone()), None),
                None => default(),
            },
            ExperimentSel::Default => default(),
        }
    }

    /// Where a run's operations go: its id in the store, else its spill reference.
    pub(super) fn run_ref(&self, state: &RunState) -> Option<RunRef> {
        if let Ok(id) = &state.id {
            return Some(RunRef::Id(id.clone()));
        }
        let reference = state.spill_ref.as_ref()?;
        Some(match self.replayed_ids.get(reference) {
            Some(id) => RunRef::Id(id.clone()),
            None => RunRef::Spilled(reference.clone()),
        })
    }

    pub(super) fn parent_ref(&self, parent: &RunSlot) -> Option<RunRef> {
        if let Some(id) = parent.known_id() {
            return Some(RunRef::Id(id));
        }
        self.runs
            .get(&parent.local_id)
            .and_then(|state| self.run_ref(state))
    }
}

fn run_name(op: &SpillOp) -> String {
    match op {
        SpillOp::CreateRun { run_name, .. }
        | SpillOp::LogBatch { run_name, .. }
        | SpillOp::UpdateRun { run_name, .. } => run_name.clone(),
    }
}
