//! `log_table` and `load_table`, as the Python client has them: a table is a `.json` file
//! of the run in pandas' split layout, appended to when the run has it already, and listed
//! in the run's `mlflow.loggedArtifacts` tag, by which `load_table` finds the runs that
//! have it.

use serde_json::Value;

use super::artifacts;
use super::search::{SearchRuns, Target, quote};
use crate::base::error::{Error, Result, warn};
use crate::base::model::Run;
use crate::base::table::{self, LOGGED_ARTIFACTS_TAG, Table};
use crate::runs::RunHandle;

/// Logs `table` as the artifact file `artifact_file` of the active run, as Python's
/// `log_table` does ([`RunHandle::log_table`] and [`Client::log_table`](crate::Client::log_table)
/// log to a given run):
///
/// - the file is MLflow's table layout, pandas' `to_json(orient="split", index=False)`:
///   `{"columns":["inputs",..],"data":[["What is MLflow?",..],..]}` (non-ASCII as `\uXXXX`,
///   `/` as `\/`; floats keep every digit, where pandas rounds to 10);
/// - when the run has the file already, it is read and `table`'s rows are appended below
///   its own (`pandas.concat`: new columns at the end, `null` where a row has no value);
/// - the run's tag `mlflow.loggedArtifacts` lists the table (`[{"path": "eval.json",
///   "type": "table"}]`), by which [`load_table`] and Python's `mlflow.load_table` find it.
///
/// The name must end with `.json` (Python also writes `.parquet`) and may not hold `"`,
/// `'`, `,`, `:`, `[`, `]`, `{` or `}`, as in Python. Cells are JSON values; Python's image
/// cells (PIL images in a column) have no counterpart.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// use serde_json::json;
///
/// let _run = mlflow::start_run().start();
/// let table = mlflow::Table::from_columns([
///     ("inputs", vec![json!("What is MLflow?")]),
///     ("outputs", vec![json!("MLflow is ...")]),
/// ])?;
/// mlflow::log_table(&table, "qabot_eval_results.json")?;
/// mlflow::log_table(&table, "qabot_eval_results.json")?; // now two rows
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn log_table(table: &Table, artifact_file: &str) -> Result<()> {
    artifacts::active()?.log_table(table, artifact_file)
}

/// Starts reading the table `artifact_file` back from every run of the active experiment
/// that has it (Python's `load_table`); see [`LoadTable`].
pub fn load_table(artifact_file: &str) -> LoadTable {
    LoadTable {
        target: Target::Current,
        experiment_id: None,
        artifact_file: artifact_file.to_owned(),
        run_ids: Vec::new(),
        extra_columns: Vec::new(),
    }
}

/// Reading a table back from the runs that logged it, one after another in the order of a
/// run search (newest first), as Python's `load_table(artifact_file, run_ids,
/// extra_columns)` concatenates them. Configure by chaining, then [`LoadTable::load`].
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let table = mlflow::load_table("qabot_eval_results.json")
///     .extra_columns(["run_id"])
///     .load()?;
/// for row in table.rows() {
///     println!("{row:?}");
/// }
/// # Ok::<(), mlflow::Error>(())
/// ```
///
/// A run is found by its `mlflow.loggedArtifacts` tag, which [`log_table`] (of this crate or
/// Python's) sets. No run with the table is [`Error::Api`] with `RESOURCE_DOES_NOT_EXIST`,
/// as in Python; so is a run whose tag names the table but whose file is gone.
#[derive(Debug, Clone)]
#[must_use = "nothing is read until `.load()`"]
pub struct LoadTable {
    target: Target,
    experiment_id: Option<String>,
    artifact_file: String,
    run_ids: Vec<String>,
    extra_columns: Vec<String>,
}

impl LoadTable {
    pub(crate) fn on(target: Target, experiment_id: &str, artifact_file: &str) -> LoadTable {
        LoadTable {
            target,
            experiment_id: Some(experiment_id.to_owned()),
            ..load_table(artifact_file)
        }
    }

    /// Only these runs (Python's `run_ids`); a run without the table is skipped, with a
    /// warning.
    pub fn run_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.run_ids.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Columns added to each run's rows from the run (Python's `extra_columns`): `run_id`,
    /// `experiment_id`, `status`, `artifact_uri`, `start_time`, `end_time` (milliseconds;
    /// Python gives pandas timestamps), `metrics.<key>`, `params.<key>`, `tags.<key>`
    /// (`null` for a run without it). A name the table has already gets an underscore.
    pub fn extra_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.extra_columns
            .extend(columns.into_iter().map(Into::into));
        self
    }

    /// Finds the runs and reads their tables into one.
    pub fn load(self) -> Result<Table> {
        let file = self.artifact_file.as_str();
        table::check_file_chars(file)?;
        let mut search =
            SearchRuns::new(self.target.clone(), usize::MAX).filter(table::search_filter(file));
        if let Some(id) = &self.experiment_id {
            search = search.experiment_ids([id.clone()]);
        }
        if !self.run_ids.is_empty() {
            let ids: Vec<String> = self.run_ids.iter().map(|id| quote(id)).collect();
            search = search.filter(format!("attributes.run_id IN ({})", ids.join(", ")));
        }
        // The search's LIKE also matches other names (`%` and `_` in it): the tag decides.
        let runs: Vec<Run> = search
            .collect_all()?
            .into_iter()
            .filter(|r| table::lists_table(r.tag(LOGGED_ARTIFACTS_TAG), file))
            .collect();
        if !self.run_ids.is_empty() && runs.len() != self.run_ids.len() {
            warn("Not all runs have the specified table artifact. Some runs will be skipped.");
        }
        if runs.is_empty() {
            return Err(Error::api(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                "No runs found with the corresponding table artifact.",
            ));
        }
        let tracker = self.target.tracker();
        let mut out: Option<Table> = None;
        for run in &runs {
            let bytes =
                artifacts::read_run_file(&tracker, &run.info.run_id, file)?.ok_or_else(|| {
                    Error::api(
                        404,
                        "RESOURCE_DOES_NOT_EXIST",
                        format!("Artifact {file} not found for run {}.", run.info.run_id),
                    )
                })?;
            let mut part = Table::from_file(&bytes, file)?;
            for column in &self.extra_columns {
                part.add_constant_column(column, run_field(run, column)?);
            }
            match &mut out {
                Some(all) => all.append(part),
                None => out = Some(part),
            }
        }
        Ok(out.unwrap_or_default())
    }
}

/// A run's value for an extra column, named as in Python's `search_runs` data frame.
fn run_field(run: &Run, column: &str) -> Result<Value> {
    let text = |s: Option<&str>| s.map_or(Value::Null, |s| Value::String(s.to_owned()));
    let info = &run.info;
    Ok(match column {
        "run_id" => Value::String(info.run_id.clone()),
        "experiment_id" => Value::String(info.experiment_id.clone()),
        "status" => Value::String(info.status.as_str().to_owned()),
        "artifact_uri" => Value::String(info.artifact_uri.clone()),
        "start_time" => Value::from(info.start_time),
        "end_time" => info.end_time.map_or(Value::Null, Value::from),
        _ => match column.split_once('.') {
            Some(("metrics", key)) => run.metric(key).map_or(Value::Null, Value::from),
            Some(("params", key)) => text(run.param(key)),
            Some(("tags", key)) => text(run.tag(key)),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "extra column {column:?}: not a column of a run search (run_id, \
                     experiment_id, status, artifact_uri, start_time, end_time, metrics.<key>, \
                     params.<key>, tags.<key>)"
                )));
            }
        },
    })
}

/// Logs `table` to `run`'s `artifact_file`, appending to the table there, and lists it in
/// the run's `mlflow.loggedArtifacts` tag.
pub(crate) fn log_to(run: &RunHandle, table: &Table, artifact_file: &str) -> Result<()> {
    table::check_file(artifact_file)?;
    let run_id = run.id()?;
    let tracker = &run.cell.tracker;
    let mut all = table.clone();
    if let Some(bytes) = artifacts::read_run_file(tracker, &run_id, artifact_file)? {
        all = Table::from_file(&bytes, artifact_file)?;
        all.append(table.clone());
    }
    artifacts::log_bytes(run, all.to_file()?.as_bytes(), artifact_file)?;
    let stored = super::search::get_run_on(tracker, &run_id)?;
    match table::logged_artifacts_with(stored.tag(LOGGED_ARTIFACTS_TAG), artifact_file)? {
        Some(tag) => run.set_tag(LOGGED_ARTIFACTS_TAG, tag),
        None => Ok(()),
    }
}
