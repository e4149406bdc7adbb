//! Delivering spilled operations to a store, in order, stopping at the first outage.

use std::collections::HashMap;
use std::sync::Arc;

use super::format::SpillOp;
use crate::base::error::{Error, Result};
use crate::base::model::{Batch, CreateRun, Metric, Param, RunStatus, RunTag, RunUpdate};
use crate::base::search::{SearchRunsRequest, ViewType};
use crate::base::system::CREATE_KEY_TAG;
use crate::store::Store;
use crate::store::common::{get_or_create_experiment, is_outage};

/// What a replay did.
#[derive(Debug, Default)]
pub struct ReplayReport {
    /// Lines delivered.
    pub delivered: usize,
    /// Lines the store refused (bad input, a run that no longer exists), with why. They are
    /// not kept: sending them again would fail again.
    pub refused: Vec<Error>,
    /// Lines not delivered because the store could not be reached; they stay in the file.
    pub remaining: usize,
    /// Store ids of runs created by the replay, by their `run_ref`.
    pub created: HashMap<String, String>,
}

/// Replays `ops` into `store` in order, stopping at the first outage. `known` maps the
/// `run_ref`s already created (by an earlier, partial replay) to their ids.
pub(crate) async fn replay_ops(
    store: &Arc<dyn Store>,
    ops: &[SpillOp],
    known: &HashMap<String, String>,
) -> (ReplayReport, Vec<SpillOp>) {
    let mut report = ReplayReport::default();
    let mut ids = known.clone();
    for (i, op) in ops.iter().enumerate() {
        match replay_one(store, op, &mut ids, &mut report).await {
            Ok(()) => report.delivered += 1,
            Err(e) if is_outage(&e) => {
                report.remaining = ops.len() - i;
                report.refused.push(e);
                return (report, ops[i..].to_vec());
            }
            Err(e) => report.refused.push(e),
        }
    }
    (report, Vec::new())
}

fn resolve(
    ids: &HashMap<String, String>,
    run_id: &Option<String>,
    run_ref: &Option<String>,
    run_name: &str,
) -> Result<String> {
    if let Some(id) = run_id {
        return Ok(id.clone());
    }
    run_ref
        .as_ref()
        .and_then(|r| ids.get(r).cloned())
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "spilled operation for run {run_name:?} names no run created in this file"
            ))
        })
}

/// The run an earlier attempt of this creation left in the store, found by its
/// [`CREATE_KEY_TAG`]: its answer was lost, so it was spilled though it may have been acted on.
async fn created_before(
    store: &Arc<dyn Store>,
    experiment_id: &str,
    tags: &[RunTag],
) -> Result<Option<String>> {
    let Some(key) = tags
        .iter()
        .find(|t| t.key == CREATE_KEY_TAG)
        .map(|t| t.value.as_str())
        .filter(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric()))
    else {
        return Ok(None);
    };
    let found = store
        .search_runs(&SearchRunsRequest {
            experiment_ids: vec![experiment_id.to_owned()],
            filter: format!("tags.`{CREATE_KEY_TAG}` = '{key}'"),
            view: ViewType::All,
            max_results: 1,
            order_by: Vec::new(),
            page_token: None,
        })
        .await?;
    Ok(found.items.into_iter().next().map(|run| run.info.run_id))
}

async fn replay_one(
    store: &Arc<dyn Store>,
    op: &SpillOp,
    ids: &mut HashMap<String, String>,
    report: &mut ReplayReport,
) -> Result<()> {
    match op {
        SpillOp::CreateRun {
            run_ref,
            run_name,
            experiment_id,
            experiment_name,
            parent_run_id,
            parent_ref,
            start_time,
            user_id,
            tags,
        } => {
            if ids.contains_key(run_ref) {
                return Ok(());
            }
            let experiment_id = match (experiment_id, experiment_name, parent_run_id) {
                // A name and an id: MLFLOW_EXPERIMENT_NAME and _ID both set, checked as online.
                (expected, Some(name), _) => {
                    get_or_create_experiment(store.as_ref(), name, expected.as_deref())
                        .await?
                        .experiment_id
                }
                (Some(id), None, _) => id.clone(),
                // A parent from another process, whose experiment was not known offline.
                (None, None, Some(parent)) => store.get_run(parent).await?.info.experiment_id,
                (None, None, None) => "0".to_owned(),
            };
            let mut tags: Vec<RunTag> = tags
                .iter()
                .map(|t| RunTag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect();
            let parent = match (parent_run_id, parent_ref) {
                (Some(id), _) => Some(id.clone()),
                (None, Some(r)) => ids.get(r).cloned(),
                _ => None,
            };
            if let Some(parent) = parent {
                tags.retain(|t| t.key != "mlflow.parentRunId");
                tags.push(RunTag {
                    key: "mlflow.parentRunId".into(),
                    value: parent,
                });
            }
            // The creation may have reached the store before: then the run is there.
            if let Some(id) = created_before(store, &experiment_id, &tags).await? {
                ids.insert(run_ref.clone(), id.clone());
                report.created.insert(run_ref.clone(), id);
                return Ok(());
            }
            let info = store
                .create_run(&CreateRun {
                    experiment_id,
                    run_id: Some(uuid::Uuid::new_v4().simple().to_string()),
                    user_id: user_id.clone(),
                    run_name: run_name.clone(),
                    start_time: *start_time,
                    tags,
                })
                .await?;
            ids.insert(run_ref.clone(), info.run_id.clone());
            report.created.insert(run_ref.clone(), info.run_id);
            Ok(())
        }
        SpillOp::LogBatch {
            run_id,
            run_ref,
            run_name,
            metrics,
            params,
            tags,
        } => {
            let id = resolve(ids, run_id, run_ref, run_name)?;
            let batch = Batch {
                metrics: metrics
                    .iter()
                    .map(|m| Metric {
                        key: m.key.clone(),
                        value: m.value,
                        timestamp: m.timestamp,
                        step: m.step,
                        model_id: m.model_id.clone(),
                        dataset_name: m.dataset_name.clone(),
                        dataset_digest: m.dataset_digest.clone(),
                    })
                    .collect(),
                params: params
                    .iter()
                    .map(|p| Param {
                        key: p.key.clone(),
                        value: p.value.clone(),
                    })
                    .collect(),
                tags: tags
                    .iter()
                    .map(|t| RunTag {
                        key: t.key.clone(),
                        value: t.value.clone(),
                    })
                    .collect(),
            };
            store.log_batch(&id, &batch).await
        }
        SpillOp::UpdateRun {
            run_id,
            run_ref,
            run_name,
            status,
            end_time,
        } => {
            let id = resolve(ids, run_id, run_ref, run_name)?;
            let status = RunStatus::parse(status).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "spilled run status {status:?} is not an MLflow status"
                ))
            })?;
            let update = RunUpdate {
                end_time: *end_time,
                ..RunUpdate::status(status)
            };
            store.update_run(&id, &update).await
        }
    }
}
