//! Runs: creation, status updates, deleting and restoring, deleting a tag, reading a run
//! back.

use rusqlite::{OptionalExtension, Transaction, params};

use super::file::DbFile;
use super::{batch, deletion, experiments, metrics};
use crate::base::error::Error;
use crate::base::model::{CreateRun, Metric, Param, Run, RunInfo, RunStatus, RunTag, RunUpdate};
use crate::base::run_names::random_run_name;

/// The tag holding a run's name; MLflow keeps it equal to `runs.name`.
pub(super) const RUN_NAME_TAG: &str = "mlflow.runName";

/// Creates a run with status RUNNING, the way MLflow's `SqlAlchemyStore.create_run` does.
pub(super) fn create(
    tx: &Transaction<'_>,
    db: &DbFile,
    request: &CreateRun,
    run_id: &str,
) -> Result<RunInfo, Error> {
    validate_run_id(run_id)?;
    let experiment = experiments::row_by_id(tx, db, &request.experiment_id)?.ok_or_else(|| {
        Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No Experiment with id={} exists", request.experiment_id),
        )
    })?;
    if experiment.lifecycle_stage != "active" {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "The experiment {} must be in the 'active' state. Current state is {}.",
                experiment.experiment_id, experiment.lifecycle_stage
            ),
        ));
    }
    let name_tag = request.tags.iter().find(|t| t.key == RUN_NAME_TAG);
    if let Some(tag) = name_tag
        && !request.run_name.is_empty()
        && tag.value != request.run_name
    {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with \
                 different values (run_name='{}', mlflow.runName='{}').",
                request.run_name, tag.value
            ),
        ));
    }
    let run_name = match (request.run_name.as_str(), name_tag) {
        ("", Some(tag)) => tag.value.clone(),
        ("", None) => random_run_name(),
        (name, _) => name.to_owned(),
    };
    let artifact_uri = format!(
        "{}/{run_id}/artifacts",
        experiment.artifact_location.trim_end_matches('/')
    );
    let experiment_id: i64 = experiment
        .experiment_id
        .parse()
        .map_err(|_| db.corrupt("experiment id is not an integer"))?;
    let inserted = tx.execute(
        "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, \
         status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, \
         experiment_id) \
         VALUES (?1, ?2, 'UNKNOWN', '', '', ?3, 'RUNNING', ?4, NULL, '', 'active', ?5, ?6)",
        params![
            run_id,
            run_name,
            request.user_id,
            request.start_time,
            artifact_uri,
            experiment_id
        ],
    );
    match inserted {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            return Err(Error::api(
                400,
                "RESOURCE_ALREADY_EXISTS",
                format!("Run with id={run_id} already exists"),
            ));
        }
        Err(e) => return Err(db.err(e)),
    }
    let mut tags = request.tags.clone();
    if name_tag.is_none() {
        tags.push(RunTag {
            key: RUN_NAME_TAG.to_owned(),
            value: run_name.clone(),
        });
    }
    batch::upsert_tags(tx, db, run_id, &tags)?;
    Ok(RunInfo {
        run_id: run_id.to_owned(),
        experiment_id: experiment.experiment_id,
        run_name,
        user_id: request.user_id.clone(),
        status: RunStatus::Running,
        start_time: request.start_time,
        end_time: None,
        artifact_uri,
        lifecycle_stage: "active".to_owned(),
    })
}

/// MLflow's run id rule, narrowed to the 32 characters its `run_uuid` column is declared with.
fn validate_run_id(run_id: &str) -> Result<(), Error> {
    let ok = (1..=32).contains(&run_id.len())
        && run_id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Invalid run ID: '{run_id}'"),
        ))
    }
}

/// Fails unless the run exists and is active, as every MLflow write does.
pub(super) fn check_active(tx: &Transaction<'_>, db: &DbFile, run_id: &str) -> Result<(), Error> {
    let stage: Option<Option<String>> = tx
        .query_row(
            "SELECT lifecycle_stage FROM runs WHERE run_uuid = ?1",
            [run_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| db.err(e))?;
    match stage {
        None => Err(not_found(run_id)),
        Some(Some(stage)) if stage != "active" => Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("The run {run_id} must be in the 'active' state. Current state is {stage}."),
        )),
        Some(_) => Ok(()),
    }
}

/// `runs/delete`: the run marked deleted, with `deleted_time`, whatever its stage (as
/// MLflow's `delete_run`, which does not check it).
pub(super) fn delete(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    now: i64,
) -> Result<(), Error> {
    require(tx, db, run_id)?;
    deletion::mark_run_deleted(tx, db, run_id, now)
}

/// `runs/restore`: the run active again and its `deleted_time` cleared, whatever its stage.
pub(super) fn restore(tx: &Transaction<'_>, db: &DbFile, run_id: &str) -> Result<(), Error> {
    require(tx, db, run_id)?;
    tx.execute(
        "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?1",
        [run_id],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `runs/delete-tag`: the run must be active and have the tag.
pub(super) fn delete_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    key: &str,
) -> Result<(), Error> {
    require(tx, db, run_id)?;
    check_active(tx, db, run_id)?;
    let deleted = tx
        .execute(
            "DELETE FROM tags WHERE run_uuid = ?1 AND key = ?2",
            params![run_id, key],
        )
        .map_err(|e| db.err(e))?;
    if deleted == 0 {
        return Err(Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No tag with name: {key} in run with id {run_id}"),
        ));
    }
    Ok(())
}

/// The run must exist; an empty id is refused as the server refuses it.
fn require(tx: &Transaction<'_>, db: &DbFile, run_id: &str) -> Result<(), Error> {
    if run_id.is_empty() {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            "Missing value for required parameter 'run_id'.",
        ));
    }
    let found = tx
        .query_row("SELECT 1 FROM runs WHERE run_uuid = ?1", [run_id], |_| {
            Ok(())
        })
        .optional()
        .map_err(|e| db.err(e))?;
    found.ok_or_else(|| not_found(run_id))
}

fn not_found(run_id: &str) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Run with id={run_id} not found"),
    )
}

/// Sets the status, and the end time when given.
pub(super) fn update(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    update: &RunUpdate,
) -> Result<(), Error> {
    check_active(tx, db, run_id)?;
    tx.execute(
        "UPDATE runs SET status = COALESCE(?1, status), end_time = COALESCE(?2, end_time) \
         WHERE run_uuid = ?3",
        params![
            update.status.map(RunStatus::as_str),
            update.end_time,
            run_id
        ],
    )
    .map_err(|e| db.err(e))?;
    if let Some(name) = update.run_name.as_deref().filter(|n| !n.is_empty()) {
        // As MLflow's SQL store: the name, and the mlflow.runName tag with it.
        let tag = RunTag {
            key: RUN_NAME_TAG.to_owned(),
            value: name.to_owned(),
        };
        super::batch::upsert_tags(tx, db, run_id, &[tag])?;
    }
    Ok(())
}

/// Reads a run with its latest metrics, params and tags (each sorted by key); its inputs
/// and outputs are `search::run_with_io`'s.
pub(super) fn get(tx: &Transaction<'_>, db: &DbFile, run_id: &str) -> Result<Run, Error> {
    let info = tx
        .query_row(
            "SELECT run_uuid, experiment_id, name, user_id, status, start_time, end_time, \
             artifact_uri, lifecycle_stage FROM runs WHERE run_uuid = ?1",
            [run_id],
            |row| {
                Ok((
                    RunInfo {
                        run_id: row.get(0)?,
                        experiment_id: row
                            .get::<_, Option<i64>>(1)?
                            .map(|id| id.to_string())
                            .unwrap_or_default(),
                        run_name: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        user_id: row.get::<_, Option<String>>(3)?.unwrap_or_default(),
                        status: RunStatus::Running,
                        start_time: row.get::<_, Option<i64>>(5)?.unwrap_or_default(),
                        end_time: row.get(6)?,
                        artifact_uri: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
                        lifecycle_stage: row
                            .get::<_, Option<String>>(8)?
                            .unwrap_or_else(|| "active".to_owned()),
                    },
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(|e| db.err(e))?;
    let Some((mut info, status)) = info else {
        return Err(not_found(run_id));
    };
    let status = status.unwrap_or_default();
    info.status = RunStatus::parse(&status)
        .ok_or_else(|| db.corrupt(&format!("run {run_id} has unknown status {status:?}")))?;

    let metrics = query(
        tx,
        db,
        "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ?1 \
         ORDER BY key",
        run_id,
        |row| {
            Ok(Metric {
                key: row.get(0)?,
                value: metrics::decode_value(row.get(1)?, row.get(4)?),
                timestamp: row.get::<_, Option<i64>>(2)?.unwrap_or_default(),
                step: row.get(3)?,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            })
        },
    )?;
    let params = query(
        tx,
        db,
        "SELECT key, value FROM params WHERE run_uuid = ?1 ORDER BY key",
        run_id,
        |row| {
            Ok(Param {
                key: row.get(0)?,
                value: row.get(1)?,
            })
        },
    )?;
    let tags = query(
        tx,
        db,
        "SELECT key, value FROM tags WHERE run_uuid = ?1 ORDER BY key",
        run_id,
        |row| {
            Ok(RunTag {
                key: row.get(0)?,
                value: row.get::<_, Option<String>>(1)?.unwrap_or_default(),
            })
        },
    )?;
    let mut run = Run::new(info);
    (run.metrics, run.params, run.tags) = (metrics, params, tags);
    Ok(run)
}

fn query<T>(
    tx: &Transaction<'_>,
    db: &DbFile,
    sql: &str,
    run_id: &str,
    map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, Error> {
    let mut stmt = tx.prepare_cached(sql).map_err(|e| db.err(e))?;
    let rows = stmt.query_map([run_id], map).map_err(|e| db.err(e))?;
    rows.collect::<rusqlite::Result<Vec<T>>>()
        .map_err(|e| db.err(e))
}
