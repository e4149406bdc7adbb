//! Experiments: look-up and creation, as MLflow's SQLAlchemy store does them.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::ctx::Ctx;
use crate::base::error::Error;
use crate::base::model::Experiment;

/// MLflow's `MAX_EXPERIMENT_NAME_LENGTH`.
const MAX_NAME_LENGTH: usize = 500;

pub(super) const COLUMNS: &str = "experiment_id, name, artifact_location, lifecycle_stage";

/// An `experiments` row selected as [`COLUMNS`] lists them.
pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        experiment_id: row.get::<_, i64>(0)?.to_string(),
        name: row.get(1)?,
        artifact_location: row.get::<_, Option<String>>(2)?.unwrap_or_default(),
        lifecycle_stage: row
            .get::<_, Option<String>>(3)?
            .unwrap_or_else(|| "active".to_owned()),
    })
}

/// The experiment named `name` in the default workspace, deleted or not (as MLflow).
pub(super) fn by_name(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    name: &str,
) -> Result<Option<Experiment>, Error> {
    let sql = if ctx.has_workspace {
        format!("SELECT {COLUMNS} FROM experiments WHERE name = ?1 AND workspace = 'default'")
    } else {
        format!("SELECT {COLUMNS} FROM experiments WHERE name = ?1")
    };
    tx.query_row(&sql, [name], from_row)
        .optional()
        .map_err(|e| ctx.err(e))
}

/// The experiment with id `experiment_id`; ids that are not integers exist nowhere.
pub(super) fn by_id(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    experiment_id: &str,
) -> Result<Option<Experiment>, Error> {
    let Ok(id) = experiment_id.parse::<i64>() else {
        return Ok(None);
    };
    tx.query_row(
        &format!("SELECT {COLUMNS} FROM experiments WHERE experiment_id = ?1"),
        [id],
        from_row,
    )
    .optional()
    .map_err(|e| ctx.err(e))
}

/// Creates an experiment with the next sequential id and `<artifact root>/<id>` as its
/// artifact location.
pub(super) fn create(
    tx: &Transaction<'_>,
    ctx: &Ctx,
    name: &str,
    now: i64,
) -> Result<String, Error> {
    if name.is_empty() {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid experiment name: ''. Experiment name must be a non-empty string.",
        ));
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Experiment name exceeds the maximum length of {MAX_NAME_LENGTH} characters"),
        ));
    }
    if by_name(tx, ctx, name)?.is_some() {
        return Err(already_exists(name));
    }
    let inserted = if ctx.has_workspace {
        tx.execute(
            "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time, \
             workspace) VALUES (?1, 'active', ?2, ?2, 'default')",
            params![name, now],
        )
    } else {
        tx.execute(
            "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time) \
             VALUES (?1, 'active', ?2, ?2)",
            params![name, now],
        )
    };
    match inserted {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            return Err(already_exists(name));
        }
        Err(e) => return Err(ctx.err(e)),
    }
    // MLflow also derives the location from the id the insert assigned.
    let id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE experiments SET artifact_location = ?1 WHERE experiment_id = ?2",
        params![format!("{}/{id}", ctx.artifact_root), id],
    )
    .map_err(|e| ctx.err(e))?;
    Ok(id.to_string())
}

fn already_exists(name: &str) -> Error {
    Error::api(
        400,
        "RESOURCE_ALREADY_EXISTS",
        format!("Experiment(name={name}) already exists."),
    )
}
