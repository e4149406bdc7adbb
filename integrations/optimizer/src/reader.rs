//! Trials read back from the store: every finished or pruned child run of the study that
//! the buffer does not hold yet (written by Python, by another process, or before a
//! restart) becomes a `CompletedTrial` for the sampler and the pruner.

use std::collections::HashMap;

use mlflow_tracking_runtime::model::Run;
use mlflow_tracking_runtime::{Client, RunStatus};
use optimizer::TrialState;
use optimizer::sampler::CompletedTrial;

use crate::error::Result;
use crate::layout::{
    INTERMEDIATE_METRIC, INTERNAL_VALUE_PREFIX, NUMBER_TAG, PARAM_DIRECTIONS_TAG, VALUE_METRIC,
    distribution_class,
};
use crate::params::SearchSpace;
use crate::storage::Buffer;

/// Where a study's trials are.
pub(crate) struct Source<'a> {
    pub(crate) client: &'a Client,
    pub(crate) experiment_id: &'a str,
    pub(crate) study_run_id: &'a str,
    pub(crate) space: &'a SearchSpace,
}

/// Adds the study's ended trials that `buffer` lacks. Finished trials do not change, so each
/// is read once (its intermediate values with one more request).
pub(crate) fn refresh(source: &Source<'_>, buffer: &Buffer) -> Result<usize> {
    let runs = source
        .client
        .search_runs()
        .experiment_ids([source.experiment_id])
        .children_of(source.study_run_id)
        .max_results(100_000)
        .collect_all()?;
    let mut added = 0;
    for run in runs {
        let Some(number) = run.tag(NUMBER_TAG).and_then(|n| n.parse::<u64>().ok()) else {
            continue;
        };
        let state = match run.info.status {
            RunStatus::Finished => TrialState::Complete,
            RunStatus::Killed => TrialState::Pruned,
            _ => continue,
        };
        if buffer.contains(number) {
            continue;
        }
        if let Some(trial) = completed(source, &run, number, state)? {
            buffer.insert(trial);
            added += 1;
        }
    }
    Ok(added)
}

/// The trial a run holds, for the registered parameters; `None` for a finished run without
/// its value (Optuna would not count it as complete either).
fn completed(
    source: &Source<'_>,
    run: &Run,
    number: u64,
    state: TrialState,
) -> Result<Option<CompletedTrial<f64>>> {
    let value = run.metric(VALUE_METRIC);
    if state == TrialState::Complete && value.is_none() {
        return Ok(None);
    }
    let classes: HashMap<String, String> = run
        .tag(PARAM_DIRECTIONS_TAG)
        .and_then(|json| serde_json::from_str::<HashMap<String, String>>(json).ok())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(name, dist)| distribution_class(&dist).map(|c| (name, c)))
        .collect();
    let mut params = HashMap::new();
    let mut distributions = HashMap::new();
    let mut labels = HashMap::new();
    for (name, registered) in source.space.iter() {
        let key = format!("{INTERNAL_VALUE_PREFIX}{name}");
        let Some(internal) = run.tag(&key).and_then(|v| v.trim().parse::<f64>().ok()) else {
            continue;
        };
        let class = classes.get(name).map(String::as_str);
        if let Some(value) = registered.read_internal(class, internal) {
            params.insert(registered.id(), value);
            distributions.insert(registered.id(), registered.distribution());
            labels.insert(registered.id(), name.to_owned());
        }
    }
    let mut trial =
        CompletedTrial::new(number, params, distributions, labels, value.unwrap_or(0.0));
    trial.state = state;
    if run.metric(INTERMEDIATE_METRIC).is_some() {
        let history = source
            .client
            .get_metric_history(&run.info.run_id, INTERMEDIATE_METRIC)?;
        // One value per step, the last logged winning, as Python's dict does.
        let mut by_step: Vec<(u64, f64)> = Vec::new();
        for point in history {
            let Ok(step) = u64::try_from(point.step) else {
                continue;
            };
            match by_step.iter_mut().find(|(s, _)| *s == step) {
                Some(slot) => slot.1 = point.value,
                None => by_step.push((step, point.value)),
            }
        }
        by_step.sort_by_key(|(s, _)| *s);
        trial.intermediate_values = by_step;
    }
    Ok(Some(trial))
}
