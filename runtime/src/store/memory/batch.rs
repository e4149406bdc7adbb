//! `runs/log-batch` as MLflow's server handles it (`SqlAlchemyStore.log_batch`): the values
//! checked, the batch limits, duplicate param keys, the run, then params (write-once: a
//! changed value refuses the whole batch), metrics (appended; an exact duplicate point is
//! one point) and tags (last write wins).

use super::state::{State, bad_request, check_key, check_run_id};
use crate::base::error::Result;
use crate::base::model::{Batch, Param, RunTag};
use crate::base::validate::{MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH};
use crate::store::BatchLimits;

pub(super) fn log_batch(
    state: &mut State,
    run_id: &str,
    batch: &Batch,
    limits: BatchLimits,
) -> Result<()> {
    check_run_id(run_id)?;
    check_values(batch)?;
    check_limits(batch, limits)?;
    check_unique_params(&batch.params)?;
    let row = state.active_run(run_id)?;
    let mut changed = Vec::new();
    let mut new_params: Vec<Param> = Vec::new();
    for param in &batch.params {
        let value = truncated(&param.value, MAX_PARAM_VALUE_LENGTH);
        match row.params.iter().find(|p| p.key == param.key) {
            Some(old) if old.value != value => changed.push(format!(
                "{{'key': '{}', 'old_value': '{}', 'new_value': '{value}'}}",
                param.key, old.value
            )),
            Some(_) => {}
            None => new_params.push(Param {
                key: param.key.clone(),
                value,
            }),
        }
    }
    if !changed.is_empty() {
        return Err(bad_request(format!(
            "Changing param values is not allowed. Params were already logged='[{}]' for run ID='{run_id}'.",
            changed.join(", ")
        )));
    }
    row.params.extend(new_params);
    for point in &batch.metrics {
        // The SQL store's primary key spans key, value, timestamp and step.
        let identity = (
            point.key.clone(),
            point.timestamp,
            point.step,
            point.value.to_bits(),
        );
        if row.points.insert(identity) {
            row.metrics.push(point.clone());
        }
    }
    for tag in &batch.tags {
        row.set_tag(RunTag {
            key: tag.key.clone(),
            value: truncated(&tag.value, MAX_TAG_VALUE_LENGTH),
        });
    }
    Ok(())
}

/// `_validate_batch_log_data`: keys, metric timestamps.
fn check_values(batch: &Batch) -> Result<()> {
    for metric in &batch.metrics {
        check_key("metric", &metric.key)?;
        if metric.timestamp < 0 {
            return Err(bad_request(format!(
                "Invalid value {} for parameter 'timestamp' supplied: metric '{}' (value={}). Timestamp must be a nonnegative long (64-bit integer)",
                metric.timestamp, metric.key, metric.value
            )));
        }
    }
    for param in &batch.params {
        check_key("param", &param.key)?;
    }
    for tag in &batch.tags {
        check_key("tag", &tag.key)?;
    }
    Ok(())
}

/// `_validate_batch_log_limits`, with the server's words.
fn check_limits(batch: &Batch, limits: BatchLimits) -> Result<()> {
    let over = |what: &str, limit: usize, length: usize| {
        Err(bad_request(format!(
            "A batch logging request can contain at most {limit} {what}. Got {length} {what}. Please split up {what} across multiple requests and try again."
        )))
    };
    if batch.metrics.len() > limits.metrics {
        return over("metrics", limits.metrics, batch.metrics.len());
    }
    if batch.params.len() > limits.params {
        return over("params", limits.params, batch.params.len());
    }
    if batch.tags.len() > limits.tags {
        return over("tags", limits.tags, batch.tags.len());
    }
    if batch.len() > limits.entities {
        return over("metrics, params, and tags", limits.entities, batch.len());
    }
    Ok(())
}

/// `_validate_param_keys_unique`.
fn check_unique_params(params: &[Param]) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    let mut dupes: Vec<String> = Vec::new();
    for p in params {
        if seen.contains(&p.key.as_str()) {
            dupes.push(format!("'{}'", p.key));
        } else {
            seen.push(&p.key);
        }
    }
    if dupes.is_empty() {
        return Ok(());
    }
    Err(bad_request(format!(
        "Duplicate parameter keys have been submitted: [{}]. Please ensure the request contains only one param value per param key.",
        dupes.join(", ")
    )))
}

/// A value cut to `limit` characters, as the server does by default
/// (`MLFLOW_TRUNCATE_LONG_VALUES`).
fn truncated(value: &str, limit: usize) -> String {
    match value.char_indices().nth(limit) {
        Some((cut, _)) => value[..cut].to_owned(),
        None => value.to_owned(),
    }
}
