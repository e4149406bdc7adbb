//! Outages and the spill: once the store stays unreachable after the retries (or the queue
//! fills up while retrying), every operation goes to the spill file right away, so that
//! logging never stalls; the store is probed now and then, and when it answers the spill is
//! replayed into it, in order, before anything new is sent.
//!
//! The probe's schedule runs on tokio's clock, so that tests on a paused clock control it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::experiments::OfflinePlace;
use super::identity::{RunRef, RunSlot};
use super::spill::{self, Spill, SpillKv, SpillOp};
use crate::base::error::{Error, Result, warn};
use crate::base::model::{CreateRun, PARENT_RUN_ID_TAG, RunStatus};
use crate::store::Store;

/// How often a store that went down is probed.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// An outage under way.
#[derive(Debug)]
struct Outage {
    next_probe: Instant,
    /// The failure that started it.
    cause: Error,
    /// Whether the spill file has been announced on stderr.
    announced: bool,
}

/// The sender's offline side: the outage, if any, and the spill file.
#[derive(Debug, Default)]
pub(super) struct Offline {
    outage: Option<Outage>,
    spill: Spill,
    /// Ids of runs whose spilled creation a replay delivered, by spill reference: the
    /// file's later lines still name them by reference.
    created: HashMap<String, String>,
    /// The runs whose creation is in the spill, to tell them their id when it is replayed.
    spilled_runs: HashMap<String, Weak<RunSlot>>,
}

impl Offline {
    /// An offline side whose spill file goes into `dir` (else [`spill::SPILL_DIR_ENV`]).
    pub(super) fn new(dir: Option<PathBuf>) -> Offline {
        Offline {
            spill: Spill::new(dir),
            ..Offline::default()
        }
    }

    /// True while the store is unreachable: operations go to the spill.
    pub(super) fn is_down(&self) -> bool {
        self.outage.is_some()
    }

    /// When the store should next be probed, while it is down.
    pub(super) fn next_probe(&self) -> Option<Instant> {
        self.outage.as_ref().map(|o| o.next_probe)
    }

    /// Starts an outage caused by `cause` (or, during one, puts the next probe off).
    pub(super) fn enter(&mut self, cause: Error, location: &str) {
        let next_probe = Instant::now() + PROBE_INTERVAL;
        match &mut self.outage {
            Some(o) => o.next_probe = next_probe,
            None => {
                warn(&format!(
                    "the tracking store {location} is unreachable ({cause}); logging goes on and what cannot be delivered is written to a spill file, sent when the store is back"
                ));
                self.outage = Some(Outage {
                    next_probe,
                    cause,
                    announced: false,
                });
            }
        }
    }

    /// Appends `op` to the spill file. A spill that fails (disk full, read-only folder) is
    /// loss: the error says so.
    pub(super) fn write(&mut self, op: &SpillOp) -> Result<()> {
        self.spill.write(op).map_err(|e| Error::Undelivered {
            run: op.run_name().to_owned(),
            count: op.len(),
            source: Box::new(e),
        })?;
        if let Some(outage) = &mut self.outage
            && !outage.announced
        {
            outage.announced = true;
            eprintln!(
                "mlflow: writing undelivered tracking data to {}",
                self.spill_path()
            );
        }
        Ok(())
    }

    /// Writes a run's creation to the spill; returns its reference there.
    pub(super) fn write_create(
        &mut self,
        request: CreateRun,
        place: OfflinePlace,
        parent_ref: Option<String>,
        slot: &Arc<RunSlot>,
    ) -> Result<String> {
        let reference = format!(
            "{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().as_fields().0
        );
        let mut parent_run_id = None;
        let tags = request
            .tags
            .into_iter()
            .filter_map(|t| match t.key == PARENT_RUN_ID_TAG {
                true => {
                    parent_run_id = Some(t.value);
                    None
                }
                false => Some(SpillKv {
                    key: t.key,
                    value: t.value,
                }),
            })
            .collect();
        self.write(&SpillOp::CreateRun {
            run_ref: reference.clone(),
            run_name: request.run_name,
            experiment_id: place.experiment_id,
            experiment_name: place.experiment_name,
            parent_run_id,
            parent_ref,
            start_time: request.start_time,
            user_id: request.user_id,
            tags,
        })?;
        self.spilled_runs
            .insert(reference.clone(), Arc::downgrade(slot));
        Ok(reference)
    }

    /// Writes a run's end to the spill and says so.
    pub(super) fn write_end(
        &mut self,
        target: &RunRef,
        run_name: &str,
        status: RunStatus,
        end_time: i64,
    ) -> Result<()> {
        self.write(&SpillOp::update_run(
            target,
            run_name,
            status,
            Some(end_time),
        ))?;
        eprintln!(
            "mlflow: run {run_name:?} ended {status} while the tracking store was unreachable; its data waits in the spill file {}",
            self.spill_path()
        );
        Ok(())
    }

    /// The error that says data waits in the spill file.
    pub(super) fn spilled_error(&self, location: &str) -> Error {
        Error::Spilled {
            path: self.spill_path(),
            lines: self.spill.pending,
            count: self.spill.values,
            source: Box::new(match &self.outage {
                Some(o) => o.cause.clone(),
                None => Error::Transport {
                    url: location.to_owned(),
                    message: "the store was unreachable".into(),
                },
            }),
        }
    }

    /// What the next flush reports about the spill: the data still waiting in it, if any.
    pub(super) fn waiting(&self, location: &str) -> Option<Error> {
        (self.spill.pending > 0).then(|| self.spilled_error(location))
    }

    fn spill_path(&self) -> String {
        self.spill
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    }

    /// When a probe is due (or always when `force`), asks the store whether it is back, and
    /// if so delivers the spill. Returns the failures to report.
    pub(super) async fn probe(&mut self, store: &Arc<dyn Store>, force: bool) -> Vec<Error> {
        let Some(outage) = &self.outage else {
            return Vec::new();
        };
        if !force && outage.next_probe > Instant::now() {
            return Vec::new();
        }
        if let Err(e) = store.ping().await {
            self.enter(e, &store.location());
            return Vec::new();
        }
        self.outage = None;
        self.replay(store).await
    }

    /// Delivers the spill file into `store`, in order; keeps what an outage stopped. Runs
    /// whose creation is delivered learn their id. Returns the failures to report.
    async fn replay(&mut self, store: &Arc<dyn Store>) -> Vec<Error> {
        let Some(path) = self.spill.path().map(|p| p.to_path_buf()) else {
            return Vec::new();
        };
        let ops = match spill::read_spill(&path) {
            Ok(ops) => ops,
            Err(e) => return vec![e],
        };
        let (outcome, remaining) = spill::replay_ops(store, &ops, &self.created).await;
        for (reference, id) in &outcome.created {
            if let Some(slot) = self
                .spilled_runs
                .remove(reference)
                .and_then(|w| w.upgrade())
            {
                slot.replayed(reference, id);
            }
            self.created.insert(reference.clone(), id.clone());
        }
        let mut refused = outcome.refused;
        if !remaining.is_empty()
            && let Some(cause) = refused.pop()
        {
            // The last refusal is the outage that stopped the replay.
            self.enter(cause, &store.location());
        }
        let mut failures: Vec<Error> = refused
            .into_iter()
            .map(|e| Error::Undelivered {
                run: format!("(spilled, {})", path.display()),
                count: 1,
                source: Box::new(e),
            })
            .collect();
        if let Err(e) = spill::rewrite(&path, &remaining) {
            failures.push(e);
        }
        if remaining.is_empty() {
            eprintln!(
                "mlflow: the tracking store {} is back; delivered {} spilled operation(s) from {}",
                store.location(),
                outcome.delivered,
                path.display()
            );
            self.spill.reset();
        } else {
            self.spill
                .reopen(remaining.len(), remaining.iter().map(SpillOp::len).sum());
        }
        failures
    }
}
