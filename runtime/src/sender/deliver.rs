//! Storing what was logged: pending batches, cut to the store's limits and sent with
//! several metric pieces under way; the end of a run; what the store refused.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::batching::{metrics_only, normalize, split, tag};
use super::isolate;
use super::slot::RunSlot;
use super::spill::{RunRef, SpillOp, is_outage};
use super::state::{RunState, Sender};
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, RunStatus};
use crate::base::{links, validate};

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
        let local = run.local_id;
        if let Some(message) = error
            && let Some(state) = self.runs.get_mut(&local)
        {
            state.pending.tags.push(tag(
                "error",
                validate::truncate_value("tag", "error", message, validate::MAX_TAG_VALUE_LENGTH),
            ));
        }
        self.send_pending(local).await;
        let (target, run_name) = match self.runs.remove(&local) {
            Some(state) => (self.run_ref(&state), Some(state.run_name)),
            None => (run.known_id().map(RunRef::Id), None),
        };
        let id = match target {
            Some(RunRef::Id(id)) if self.outage.is_none() => id,
            Some(target) => {
                let op = SpillOp::update_run(&target, &run.name, status, Some(end_time));
                self.spill_op(&op);
                self.report_spilled_end(&run.name, status);
                return;
            }
            None => return,
        };
        let stored = match self.ctx.store() {
            Ok(store) => store.clone().update_run(&id, status, Some(end_time)).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            if is_outage(&e) {
                self.enter_outage(e);
                let op = SpillOp::update_run(&RunRef::Id(id), &run.name, status, Some(end_time));
                self.spill_op(&op);
                self.report_spilled_end(&run.name, status);
                return;
            }
            self.fail(Error::Undelivered {
                run: format!("{} ({id})", run.name),
                count: 1,
                source: Box::new(e),
            });
        } else {
            self.print_links(local, &id, run_name).await;
        }
        // The run's experiment is still needed for children started after it ended, which
        // is rare; keep the map from growing with every run of a long sweep otherwise.
        if self.run_experiments.len() > 10_000 {
            self.run_experiments.remove(&local);
        }
    }

    pub(super) async fn send_all_pending(&mut self) {
        let locals: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, s)| !s.pending.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for local in locals {
            self.send_pending(local).await;
        }
    }

    pub(super) async fn send_pending(&mut self, local: u64) {
        let Some(state) = self.runs.get_mut(&local) else {
            return;
        };
        if state.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut state.pending);
        let name = state.slot.name.clone();
        let id = match self.runs.get(&local).and_then(|s| self.run_ref(s)) {
            Some(RunRef::Id(id)) if self.outage.is_none() => id,
            Some(target) => {
                for piece in split(normalize(batch), self.limits) {
                    self.spill_op(&SpillOp::log_batch(&target, &name, &piece));
                }
                return;
            }
            None => return,
        };
        if let Err(e) = self.store_batch(&id, &name, batch).await {
            let e = match e {
                Error::Undelivered { .. } => e,
                other => Error::Undelivered {
                    run: format!("{name} ({id})"),
                    count: 0,
                    source: Box::new(other),
                },
            };
            self.fail(e);
        }
    }

    /// Stores a batch of any size, cut into pieces the store accepts. Metric-only pieces go
    /// out up to [`Store::max_in_flight`] at a time; a piece with params or tags goes alone,
    /// after everything before it, so that their order is kept.
    pub(super) async fn store_batch(
        &mut self,
        run_id: &str,
        run_name: &str,
        batch: Batch,
    ) -> Result<()> {
        let store = self.ctx.store()?.clone();
        let mut first_error = None;
        let mut pieces = split(normalize(batch), self.limits).into_iter().peekable();
        let mut running = FuturesUnordered::new();
        // Whether the piece under way has params or tags: nothing may overtake it.
        let mut ordered_running = false;
        loop {
            while self.outage.is_none() && !ordered_running && running.len() < self.in_flight {
                let next = if running.is_empty() {
                    pieces.next()
                } else {
                    pieces.next_if(metrics_only)
                };
                let Some(piece) = next else { break };
                ordered_running = !metrics_only(&piece);
                let store = &store;
                running.push(async move {
                    let result = store.log_batch(run_id, &piece).await;
                    (piece, result)
                });
            }
            let Some((piece, result)) = running.next().await else {
                // Nothing under way and nothing started: done, or the store went down.
                for piece in pieces {
                    self.spill_piece(run_id, run_name, &piece);
                }
                break;
            };
            ordered_running = false;
            let Err(e) = result else { continue };
            if is_outage(&e) {
                self.enter_outage(e);
                self.spill_piece(run_id, run_name, &piece);
                continue;
            }
            // Only what the store refused is lost: the rest of the piece goes again.
            for (lost, e) in isolate::after_refusal(&store, run_id, &piece, e).await {
                let e = match e {
                    Error::Undelivered { .. } => e,
                    other => Error::Undelivered {
                        run: format!("{run_name} ({run_id})"),
                        count: lost.min(piece.len()),
                        source: Box::new(other),
                    },
                };
                if first_error.is_none() {
                    first_error = Some(e);
                } else {
                    self.fail(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
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
