//! Trial numbers that stay unique across processes, and that Python derives the same way.
//!
//! Python numbers a trial by the index of its point in the study run's `trial_id` metric
//! history, which races when several workers log at once (two points with one timestamp,
//! or a point stored late). Here numbers are claimed first with write-once records on the
//! study run: the params `trial_run.<n>` = the claiming process's writer id, written
//! synchronously. MLflow refuses to change a param's value, so only one writer can hold
//! `n`. The claimed numbers are always `0..L`, `L` the length of the `trial_id` history:
//! each claim starts at `L` and carries one point per number it claims.
//!
//! On a tracking server a process claims up to [`MAX_BLOCK`] numbers in one request (the
//! claims and their points in one batch: the server stores nothing of a batch whose param
//! it refuses, so the points land only with the claims), and starts its next claim where
//! its last one ended without reading the history first; a refusal means another writer
//! claimed meanwhile, and the claim starts again from the history's length. The embedded
//! store stores the rest of a batch whose param it refuses, so there one number is claimed
//! at a time, then its point written.

use std::collections::VecDeque;

use mlflow_tracking_runtime::model::{Batch, Metric, Param};
use mlflow_tracking_runtime::{Client, Error as TrackingError};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::{Error, Result};
use crate::layout::{CLAIM_PARAM_PREFIX, TRIAL_ID_METRIC, trial_id_value};

/// How many claims one request may try before giving up.
const ATTEMPTS: usize = 1000;

/// The most numbers claimed in one request: few enough that a study stopped early by an
/// error leaves few numbers unused, many enough that claiming costs a small part of a
/// request per trial.
pub(crate) const MAX_BLOCK: usize = 16;

/// How the claims and the `trial_id` points are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writes {
    /// In one batch, several numbers at once (an MLflow server).
    Together,
    /// One number at a time, its point after its claim (the embedded store).
    Apart,
}

/// What a claim tells the trial that takes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Claimed {
    /// The trial's number.
    pub(crate) number: u64,
    /// Whether someone else (another process, Python) added trials since this process last
    /// looked: the study's trials are worth reading back.
    pub(crate) others_wrote: bool,
}

/// The numbers a study has claimed and not yet handed out, shared by its workers. The next
/// claim is made on a thread of its own while the last claimed numbers are still being
/// used, so that trials do not wait for it.
#[derive(Debug, Clone)]
pub(crate) struct Claims(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    /// This process's id in the claims (the value of `trial_run.<n>`).
    writer: String,
    writes: Writes,
    state: Mutex<State>,
    /// Signalled when a claim under way ends.
    claimed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Claimed, not yet handed out.
    ready: VecDeque<u64>,
    /// Where the next claim starts when nobody else claimed meanwhile; `None`: read the
    /// history first.
    next: Option<u64>,
    /// A claim is under way (one at a time per process).
    claiming: bool,
    /// What a claim made ahead of time failed with, for the next trial to return.
    failed: Option<Error>,
    /// A claim saw others' numbers; the next trial reads back.
    others_wrote: bool,
}

/// Claim the next numbers ahead of time when this few are left.
const LOW: usize = 4;

impl Claims {
    pub(crate) fn new(writes: Writes) -> Claims {
        Claims(Arc::new(Shared {
            writer: writer_id(),
            writes,
            state: Mutex::new(State::default()),
            claimed: Condvar::new(),
        }))
    }

    /// Forgets where the next claim would start, so that it reads the history first: at the
    /// start of each `optimize`, when trials may have been added by Python since.
    pub(crate) fn reread(&self) {
        let mut state = self.0.state.lock();
        while state.claiming {
            self.0.claimed.wait(&mut state);
        }
        state.next = None;
        state.others_wrote = true;
    }

    /// A number for the next trial: one claimed earlier, or from a new claim of up to
    /// `wanted` numbers (at least 1, at most [`MAX_BLOCK`]); `wanted` counts the trials the
    /// caller still has to start, this one included.
    pub(crate) fn take(
        &self,
        client: &Arc<Client>,
        study_run_id: &str,
        wanted: usize,
    ) -> Result<Claimed> {
        let mut state = self.0.state.lock();
        loop {
            if let Some(e) = state.failed.take() {
                return Err(e);
            }
            if let Some(number) = state.ready.pop_front() {
                let others_wrote = std::mem::take(&mut state.others_wrote);
                let needed = wanted.saturating_sub(1);
                if !state.claiming && state.ready.len() <= LOW && needed > state.ready.len() {
                    let block = self.0.block(needed - state.ready.len());
                    self.claim_ahead(&mut state, client, study_run_id, block);
                }
                return Ok(Claimed {
                    number,
                    others_wrote,
                });
            }
            if state.claiming {
                self.0.claimed.wait(&mut state);
                continue;
            }
            let block = self.0.block(wanted);
            state.claiming = true;
            let expected = state.next;
            let claimed = MutexGuard::unlocked(&mut state, || {
                self.0.claim(client, study_run_id, expected, block)
            });
            state.claiming = false;
            self.0.claimed.notify_all();
            let (start, others_wrote) = claimed?;
            state.add(start, block, others_wrote);
        }
    }

    /// Starts a claim of `block` numbers on a thread of its own; the trials that run out of
    /// numbers before it ends wait for it.
    fn claim_ahead(
        &self,
        state: &mut State,
        client: &Arc<Client>,
        study_run_id: &str,
        block: usize,
    ) {
        state.claiming = true;
        let expected = state.next;
        let (shared, client, id) = (
            Arc::clone(&self.0),
            Arc::clone(client),
            study_run_id.to_owned(),
        );
        let spawned = std::thread::Builder::new()
            .name("mlflow-optimizer-claim".into())
            .spawn(move || {
                let claimed = shared.claim(&client, &id, expected, block);
                let mut state = shared.state.lock();
                state.claiming = false;
                match claimed {
                    Ok((start, others_wrote)) => state.add(start, block, others_wrote),
                    Err(e) => state.failed = Some(e),
                }
                shared.claimed.notify_all();
            });
        // Without a thread the claim is made when the numbers run out.
        if spawned.is_err() {
            state.claiming = false;
        }
    }
}

impl State {
    fn add(&mut self, start: u64, block: usize, others_wrote: bool) {
        let count = block as u64;
        self.ready.extend(start..start + count);
        self.next = Some(start + count);
        self.others_wrote |= others_wrote;
    }
}

impl Shared {
    /// How many numbers one claim takes when `wanted` are needed.
    fn block(&self, wanted: usize) -> usize {
        match self.writes {
            Writes::Together => wanted.clamp(1, MAX_BLOCK),
            Writes::Apart => 1,
        }
    }

    /// Claims `block` numbers from `expected` (or from the history's length), moving on
    /// while others hold them. Returns the first number and whether others were seen.
    fn claim(
        &self,
        client: &Client,
        study_run_id: &str,
        expected: Option<u64>,
        block: usize,
    ) -> Result<(u64, bool)> {
        let mut others_wrote = false;
        let mut start = match expected {
            Some(n) => n,
            None => history_len(client, study_run_id)?,
        };
        for _ in 0..ATTEMPTS {
            let batch = self.batch(start, block);
            match client.log_batch_synchronous(study_run_id, batch) {
                Ok(()) if self.writes == Writes::Together => return Ok((start, others_wrote)),
                Ok(()) => {
                    self.write_point(client, study_run_id, start)?;
                    return Ok((start, others_wrote));
                }
                Err(e) if is_taken(&e) => {
                    others_wrote = true;
                    // Others' claims come with their points: the history's length is where
                    // the free numbers start (never behind what was just refused).
                    start = history_len(client, study_run_id)?.max(start + 1);
                }
                // Two writers inserting one new key at once: the loser's store may answer
                // with its database's error instead of MLflow's (SQLite's UNIQUE
                // constraint, as a 400). What the study run holds then says who has it.
                Err(e @ TrackingError::Api { .. }) => {
                    let study = client.get_run(study_run_id)?;
                    match study.param(&claim_key(start)) {
                        Some(holder) if holder == self.writer => {
                            // Ours after all (an answer lost and the request retried).
                            if self.writes == Writes::Apart {
                                self.write_point_once(client, study_run_id, start)?;
                            }
                            return Ok((start, others_wrote));
                        }
                        Some(_) => {
                            others_wrote = true;
                            start = history_len(client, study_run_id)?.max(start + 1);
                        }
                        // Nobody holds the number: the refusal was about something else.
                        None => return Err(e.into()),
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::NoTrialNumber {
            study_run_id: study_run_id.to_owned(),
            attempts: ATTEMPTS,
        })
    }

    /// The claims of `block` numbers from `start`, with their points when they go together.
    fn batch(&self, start: u64, block: usize) -> Batch {
        let numbers = start..start + block as u64;
        let mut batch = Batch {
            params: numbers
                .clone()
                .map(|n| Param {
                    key: claim_key(n),
                    value: self.writer.clone(),
                })
                .collect(),
            ..Batch::default()
        };
        if self.writes == Writes::Together {
            let now = now_ms();
            batch.metrics = numbers.map(|n| self.point(n, now)).collect();
        }
        batch
    }

    /// The `trial_id` point of number `n` (step 1, as Python logs it): its value need only
    /// differ from other points' (Python looks up its own trial's point by value).
    fn point(&self, n: u64, timestamp: i64) -> Metric {
        let value = trial_id_value(&format!("{}/{n}", self.writer));
        Metric::new(TRIAL_ID_METRIC, value, timestamp, 1)
    }

    fn write_point(&self, client: &Client, study_run_id: &str, n: u64) -> Result<()> {
        let batch = Batch {
            metrics: vec![self.point(n, now_ms())],
            ..Batch::default()
        };
        client.log_batch_synchronous(study_run_id, batch)?;
        Ok(())
    }

    /// Writes the point of a claim whose answer was lost, unless it is stored already.
    fn write_point_once(&self, client: &Client, study_run_id: &str, n: u64) -> Result<()> {
        let value = self.point(n, 0).value;
        let history = client.get_metric_history(study_run_id, TRIAL_ID_METRIC)?;
        if history.iter().any(|m| m.value == value) {
            return Ok(());
        }
        self.write_point(client, study_run_id, n)
    }
}

fn claim_key(n: u64) -> String {
    format!("{CLAIM_PARAM_PREFIX}{n}")
}

fn history_len(client: &Client, study_run_id: &str) -> Result<u64> {
    Ok(client
        .get_metric_history(study_run_id, TRIAL_ID_METRIC)?
        .len() as u64)
}

/// An id for this process's claims: host, process id and the time it was made, so that a
/// restarted process on the same host does not take the claims of its former self for
/// its own.
fn writer_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{host}/{}/{nanos}", std::process::id())
}

/// A param that holds another value: another writer holds the number.
fn is_taken(e: &TrackingError) -> bool {
    match e {
        TrackingError::ParamChanged { .. } => true,
        TrackingError::Many(all) => all.iter().all(is_taken),
        // MLflow's refusal to change a param; other refusals (a deleted study run, ...) are
        // told apart by reading the study run.
        TrackingError::Api {
            error_code,
            message,
            ..
        } => error_code == "INVALID_PARAMETER_VALUE" && message.contains("Changing param value"),
        _ => false,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
