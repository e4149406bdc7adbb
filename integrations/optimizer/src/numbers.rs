//! Trial numbers that stay unique across processes, and that Python derives the same way.
//!
//! Python numbers a trial by the index of its point in the study run's `trial_id` metric
//! history, which races when several workers log at once (two points with one timestamp,
//! or a point stored late). Here a number is claimed first with a write-once record on the
//! study run: the param `trial_run.<n>` = the trial's run id, written synchronously. MLflow
//! refuses to change a param's value, so only one run can hold `n`; a refused claim tries
//! the next number. The `trial_id` point is written with the claim (one request to a
//! server, which stores nothing of a refused batch) or right after it (the embedded store),
//! so that the history's length, which the next claimer and Python start from, counts this
//! trial.

use mlflow_tracking_runtime::model::{Batch, Metric, Param};
use mlflow_tracking_runtime::{Client, Error as TrackingError};

use crate::error::{Error, Result};
use crate::layout::{CLAIM_PARAM_PREFIX, TRIAL_ID_METRIC, trial_id_value};

/// How many numbers one trial tries before giving up.
const ATTEMPTS: usize = 1000;

/// How the claim and the `trial_id` point are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Writes {
    /// In one batch: an MLflow server logs a batch's params first and stores nothing of a
    /// batch whose param it refuses, so the point lands only with the claim (one request).
    Together,
    /// In two batches, the point after the claim: the embedded store stores the rest of a
    /// batch whose param it refuses.
    Apart,
}

/// Claims a number for the trial run `run_id` on the study run `study_run_id`.
pub(crate) fn claim(
    client: &Client,
    study_run_id: &str,
    run_id: &str,
    writes: Writes,
) -> Result<u64> {
    let history = client.get_metric_history(study_run_id, TRIAL_ID_METRIC)?;
    let mut number = history.len() as u64;
    for _ in 0..ATTEMPTS {
        let mut claim = Batch {
            params: vec![Param {
                key: format!("{CLAIM_PARAM_PREFIX}{number}"),
                value: run_id.to_owned(),
            }],
            ..Batch::default()
        };
        if writes == Writes::Together {
            claim.metrics.push(point(run_id));
        }
        match client.log_batch_synchronous(study_run_id, claim) {
            Ok(()) if writes == Writes::Together => return Ok(number),
            Ok(()) => return write_point(client, study_run_id, run_id, number),
            Err(e) if is_taken(&e) => number += 1,
            // Two writers inserting one new key at once: the loser's store may answer with
            // its database's error instead of MLflow's (SQLite's UNIQUE constraint, as a
            // 400). What the study run holds then says who has the number.
            Err(e @ TrackingError::Api { .. }) => {
                let study = client.get_run(study_run_id)?;
                match study.param(&format!("{CLAIM_PARAM_PREFIX}{number}")) {
                    Some(holder) if holder == run_id => {
                        // Ours after all (an answer lost and the request retried): the
                        // point may be stored already.
                        let value = trial_id_value(run_id);
                        let history = client.get_metric_history(study_run_id, TRIAL_ID_METRIC)?;
                        if history.iter().any(|m| m.value == value) {
                            return Ok(number);
                        }
                        return write_point(client, study_run_id, run_id, number);
                    }
                    Some(_) => number += 1,
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

/// Logs the trial's `trial_id` point on the study run, once its number is claimed.
fn write_point(client: &Client, study_run_id: &str, run_id: &str, number: u64) -> Result<u64> {
    let batch = Batch {
        metrics: vec![point(run_id)],
        ..Batch::default()
    };
    client.log_batch_synchronous(study_run_id, batch)?;
    Ok(number)
}

/// The trial's point of the study run's `trial_id` metric (step 1, as Python logs it).
fn point(run_id: &str) -> Metric {
    Metric::new(TRIAL_ID_METRIC, trial_id_value(run_id), now_ms(), 1)
}

/// A param that holds another value: another run holds the number.
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
