//! The spill: operations the store could not take (an outage outlasted the retries) are
//! written to a local JSON-lines file instead of being dropped, and replayed later, by the
//! background sender itself once the store answers again, or by [`replay_spill`].
//!
//! # Location
//!
//! `$MLFLOW_RS_SPILL_DIR/<pid>-<unix seconds>.jsonl`, where `MLFLOW_RS_SPILL_DIR` defaults to
//! `./mlflow-spill` (relative to the working directory when the first operation is
//! spilled). The file is created only when something is spilled, and removed once every
//! operation in it has been delivered.
//!
//! # Format
//!
//! One JSON object per line, in the order the operations were made, tagged by `op`:
//!
//! ```text
//! {"op":"create_run","run_ref":"4242-7","run_name":"trial-3","experiment_id":"1","parent_run_id":"ab12…","start_time":1700000000000,"user_id":"me","tags":[{"key":"mlflow.runName","value":"trial-3"}]}
//! {"op":"log_batch","run_id":"ab34…","run_name":"trial-2","metrics":[{"key":"loss","value":"NaN","timestamp":1700000000001,"step":3}],"params":[],"tags":[]}
//! {"op":"update_run","run_ref":"4242-7","run_name":"trial-3","status":"FINISHED","end_time":1700000000500}
//! ```
//!
//! A run is named by `run_id` when the store had created it, else by `run_ref`, the
//! reference of a `create_run` line earlier in the same file (`parent_ref` likewise for a
//! parent). Non-finite metric values are written `"NaN"`, `"Infinity"` and `"-Infinity"`.
//! Credentials never appear in a spill file.
//!
//! # Replaying twice
//!
//! Replaying is idempotent where MLflow allows it: params with the same value are accepted
//! again, tags overwrite, and a metric point with the same key, value, timestamp and step is
//! one row in MLflow's SQL stores (its primary key). A `create_run` line replayed twice
//! creates two runs, so a file is rewritten without the lines already delivered.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Batch, CreateRun, Metric, Param, RunStatus, RunTag};
use crate::store::Store;
use crate::store::rest::wire::{de_f64, ser_f64};

/// Environment variable choosing the spill folder.
pub const SPILL_DIR_ENV: &str = "MLFLOW_RS_SPILL_DIR";

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
        /// The experiment by name (get or create), when the id was not known.
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

/// Which run an operation is about: the store's id or a reference in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RunRef {
    Id(String),
    Spilled(String),
}

impl RunRef {
    fn split(&self) -> (Option<String>, Option<String>) {
        match self {
            RunRef::Id(id) => (Some(id.clone()), None),
            RunRef::Spilled(r) => (None, Some(r.clone())),
        }
    }
}

impl SpillOp {
    pub(crate) fn log_batch(run: &RunRef, run_name: &str, batch: &Batch) -> SpillOp {
        let (run_id, run_ref) = run.split();
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
        let (run_id, run_ref) = run.split();
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

/// The spill file of one background sender: created on first use, appended to, flushed
/// after every line so that a crash loses nothing written.
#[derive(Debug, Default)]
pub(crate) struct Spill {
    path: Option<PathBuf>,
    file: Option<std::fs::File>,
    /// Lines written and not yet delivered.
    pub(crate) pending: usize,
    /// Metrics, params, tags and status changes in those lines.
    pub(crate) values: usize,
}

impl Spill {
    /// Where this sender's spill goes (whether or not it exists yet).
    fn choose_path() -> PathBuf {
        let dir = crate::config::env_nonempty(SPILL_DIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("mlflow-spill"));
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let mut n = 0;
        loop {
            let name = match n {
                0 => format!("{}-{secs}.jsonl", std::process::id()),
                _ => format!("{}-{secs}-{n}.jsonl", std::process::id()),
            };
            let path = dir.join(name);
            if !path.exists() {
                return path;
            }
            n += 1;
        }
    }

    /// The file, when something has been spilled.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Appends one operation.
    pub(crate) fn write(&mut self, op: &SpillOp) -> Result<()> {
        if self.file.is_none() {
            let path = self.path.clone().unwrap_or_else(Spill::choose_path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| io_error(&path, e))?;
            self.path = Some(path);
            self.file = Some(file);
        }
        let path = self.path.clone().unwrap_or_default();
        let mut line = serde_json::to_vec(op)
            .map_err(|e| Error::Config(format!("cannot encode a spill line: {e}")))?;
        line.push(b'\n');
        if let Some(file) = self.file.as_mut() {
            file.write_all(&line).map_err(|e| io_error(&path, e))?;
            file.flush().map_err(|e| io_error(&path, e))?;
        }
        self.pending += 1;
        self.values += op.len();
        Ok(())
    }

    /// Forgets the file after its lines were delivered (the replay removed it).
    pub(crate) fn reset(&mut self) {
        *self = Spill::default();
    }

    /// After the replay rewrote the file with the lines still undelivered: the next line
    /// is appended to the new file.
    pub(crate) fn reopen(&mut self, pending: usize, values: usize) {
        self.file = None;
        self.pending = pending;
        self.values = values;
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("spill file {}: {e}", path.display()))
}

/// Reads a spill file.
pub fn read_spill(path: &Path) -> Result<Vec<SpillOp>> {
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Error::Config(format!("spill file {} line {}: {e}", path.display(), i + 1))
            })
        })
        .collect()
}

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

/// True for errors that say the store is unreachable or overloaded, rather than that the
/// request is wrong: the ones worth keeping for later.
pub(crate) fn is_outage(e: &Error) -> bool {
    match e {
        Error::Transport { .. } => true,
        Error::Api { status, .. } => crate::store::rest::is_retry_status(*status),
        Error::Undelivered { source, .. } | Error::RunNotCreated { source, .. } => {
            is_outage(source)
        }
        _ => false,
    }
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
            Error::Config(format!(
                "spilled operation for run {run_name:?} names no run created in this file"
            ))
        })
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
            let experiment_id = match (experiment_id, experiment_name) {
                (Some(id), _) => id.clone(),
                (None, Some(name)) => match store.get_experiment_by_name(name).await? {
                    Some(e) => e.experiment_id,
                    None => store.create_experiment(name).await?,
                },
                (None, None) => "0".to_owned(),
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
                Error::Config(format!(
                    "spilled run status {status:?} is not an MLflow status"
                ))
            })?;
            store.update_run(&id, status, *end_time).await
        }
    }
}

/// Writes `ops` back to `path`, or removes it when none are left.
pub(crate) fn rewrite(path: &Path, ops: &[SpillOp]) -> Result<()> {
    if ops.is_empty() {
        return match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(path, e)),
        };
    }
    let mut text = Vec::new();
    for op in ops {
        let line = serde_json::to_vec(op)
            .map_err(|e| Error::Config(format!("cannot encode a spill line: {e}")))?;
        text.extend_from_slice(&line);
        text.push(b'\n');
    }
    let tmp = path.with_extension("jsonl.tmp");
    std::fs::write(&tmp, &text).map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

/// Replays a spill file (see the [module docs](self)) into the store of the tracking URI in
/// effect, after everything queued before. Lines delivered are removed from the file, and
/// the file once empty; lines the store refused are reported and dropped; lines not
/// delivered because the store is still unreachable stay in the file.
pub fn replay_spill(path: impl AsRef<Path>) -> Result<ReplayReport> {
    let path = path.as_ref().to_path_buf();
    crate::tracker::current().request(Box::new(move |ctx| {
        Box::pin(async move {
            let store = ctx.store()?.clone();
            let ops = read_spill(&path)?;
            let (report, remaining) = replay_ops(&store, &ops, &HashMap::new()).await;
            rewrite(&path, &remaining)?;
            Ok(report)
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
