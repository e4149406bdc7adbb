//! The spill file's lines: one operation each, as JSON.

use serde::{Deserialize, Serialize};

use crate::base::json_numbers::{de_f64, ser_f64};
use crate::base::model::{Batch, RunStatus};
use crate::sender::identity::RunRef;

/// A key and a value, as spilled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpillKv {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// One metric point, as spilled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpillMetric {
    /// Key.
    pub key: String,
    /// Value; non-finite values are written as strings.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Step.
    pub step: i64,
    /// The logged model the point is linked to (absent from older spill files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    /// The dataset the point was measured on: its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    /// The dataset the point was measured on: its digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

/// One operation that could not be delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum SpillOp {
    /// Create a run.
    CreateRun {
        /// This file's reference for the run, used by later lines.
        run_ref: String,
        /// The run's name.
        run_name: String,
        /// The experiment by id, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        experiment_id: Option<String>,
        /// The experiment by name (get or create), when the id was not known. With an id
        /// beside it (`MLFLOW_EXPERIMENT_NAME` and `MLFLOW_EXPERIMENT_ID` both set), the
        /// named experiment must have that id when it exists, as online. With neither an id
        /// nor a name, the run goes into its parent's experiment (a parent from another
        /// process, whose experiment was not known when the line was written).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        experiment_name: Option<String>,
        /// The parent's id in the store, when it had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_run_id: Option<String>,
        /// The parent's `run_ref` in this file, when it was spilled too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_ref: Option<String>,
        /// Milliseconds since the Unix epoch.
        start_time: i64,
        /// `mlflow.user`.
        user_id: String,
        /// Tags set at creation (without `mlflow.parentRunId`, which replay adds).
        tags: Vec<SpillKv>,
    },
    /// Log metrics, params and tags.
    LogBatch {
        /// The run's id in the store.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
        /// The run's `run_ref`, when it was spilled before being created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_ref: Option<String>,
        /// The run's name, for people reading the file.
        run_name: String,
        /// Metric points.
        metrics: Vec<SpillMetric>,
        /// Params.
        params: Vec<SpillKv>,
        /// Tags.
        tags: Vec<SpillKv>,
    },
    /// End a run.
    UpdateRun {
        /// The run's id in the store.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
        /// The run's `run_ref`, when it was spilled before being created.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_ref: Option<String>,
        /// The run's name, for people reading the file.
        run_name: String,
        /// `FINISHED`, `FAILED` or `KILLED`.
        status: String,
        /// Milliseconds since the Unix epoch.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_time: Option<i64>,
    },
}

impl SpillOp {
    /// The name of the run the operation is for.
    pub fn run_name(&self) -> &str {
        match self {
            SpillOp::CreateRun { run_name, .. }
            | SpillOp::LogBatch { run_name, .. }
            | SpillOp::UpdateRun { run_name, .. } => run_name,
        }
    }

    pub(crate) fn log_batch(run: &RunRef, run_name: &str, batch: &Batch) -> SpillOp {
        let (run_id, run_ref) = split(run);
        SpillOp::LogBatch {
            run_id,
            run_ref,
            run_name: run_name.to_owned(),
            metrics: batch
                .metrics
                .iter()
                .map(|m| SpillMetric {
                    key: m.key.clone(),
                    value: m.value,
                    timestamp: m.timestamp,
                    step: m.step,
                    model_id: m.model_id.clone(),
                    dataset_name: m.dataset_name.clone(),
                    dataset_digest: m.dataset_digest.clone(),
                })
                .collect(),
            params: batch.params.iter().map(|p| kv(&p.key, &p.value)).collect(),
            tags: batch.tags.iter().map(|t| kv(&t.key, &t.value)).collect(),
        }
    }

    pub(crate) fn update_run(
        run: &RunRef,
        run_name: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> SpillOp {
        let (run_id, run_ref) = split(run);
        SpillOp::UpdateRun {
            run_id,
            run_ref,
            run_name: run_name.to_owned(),
            status: status.as_str().to_owned(),
            end_time,
        }
    }

    /// How many metrics, params, tags or status changes this line carries.
    pub fn len(&self) -> usize {
        match self {
            SpillOp::CreateRun { .. } | SpillOp::UpdateRun { .. } => 1,
            SpillOp::LogBatch {
                metrics,
                params,
                tags,
                ..
            } => metrics.len() + params.len() + tags.len(),
        }
    }

    /// Always false: a line carries at least its operation.
    pub fn is_empty(&self) -> bool {
        false
    }
}

fn kv(key: &str, value: &str) -> SpillKv {
    SpillKv {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

/// A run as a spill line names it: by id, or by the reference of its spilled creation.
fn split(run: &RunRef) -> (Option<String>, Option<String>) {
    match run {
        RunRef::Id(id) => (Some(id.clone()), None),
        RunRef::Spilled(r) => (None, Some(r.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::model::{Metric, Param};

    #[test]
    fn lines_round_trip_with_non_finite_values() {
        let batch = Batch {
            metrics: [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.25]
                .into_iter()
                .enumerate()
                .map(|(i, value)| Metric {
                    key: format!("m{i}"),
                    value,
                    timestamp: 7,
                    step: i as i64,
                    model_id: None,
                    dataset_name: None,
                    dataset_digest: None,
                })
                .collect(),
            params: vec![Param {
                key: "lr".into(),
                value: "0.1".into(),
            }],
            tags: vec![],
        };
        let op = SpillOp::log_batch(&RunRef::Spilled("1-2".into()), "trial", &batch);
        let line = serde_json::to_string(&op).unwrap();
        assert!(line.contains(r#""op":"log_batch""#), "{line}");
        assert!(line.contains(r#""value":"NaN""#), "{line}");
        let back: SpillOp = serde_json::from_str(&line).unwrap();
        let SpillOp::LogBatch { metrics, .. } = &back else {
            panic!("{back:?}")
        };
        assert!(metrics[0].value.is_nan());
        assert_eq!(metrics[1].value, f64::INFINITY);
        assert_eq!(metrics[2].value, f64::NEG_INFINITY);
        assert_eq!(metrics[3].value, 0.25);
        assert_eq!(op.len(), 5);
    }
}
