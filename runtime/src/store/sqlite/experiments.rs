//! Experiments as MLflow's SQLAlchemy store keeps them: look-up, creation (with an artifact
//! location and tags), deletion and restoring (with their runs), renaming, tags.

use std::path::Path;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::deletion;
use super::file::DbFile;
use crate::base::error::Error;
use crate::base::model::{Experiment, NewExperiment};
use crate::base::validate;

/// MLflow's `MAX_EXPERIMENT_NAME_LENGTH`.
const MAX_NAME_LENGTH: usize = 500;

/// MLflow's `MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH` default.
const MAX_LOCATION_LENGTH: usize = 2048;

pub(super) const COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

/// An `experiments` row selected as [`COLUMNS`] lists them, without its tags (see
/// [`load_tags`]).
pub(super) fn from_row(row: &Row<'_>) -> rusqlite::Result<Experiment> {
    let mut e = Experiment::new(row.get::<_, i64>(0)?.to_string(), row.get::<_, String>(1)?);
    e.artifact_location = row.get::<_, Option<String>>(2)?.unwrap_or_default();
    e.lifecycle_stage = row
        .get::<_, Option<String>>(3)?
        .unwrap_or_else(|| "active".to_owned());
    e.creation_time = row.get(4)?;
    e.last_update_time = row.get(5)?;
    Ok(e)
}

/// Fills in the experiment's tags.
pub(super) fn load_tags(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment: &mut Experiment,
) -> Result<(), Error> {
    let id: i64 = experiment
        .experiment_id
        .parse()
        .map_err(|_| db.corrupt("experiment id is not an integer"))?;
    let mut stmt = tx
        .prepare_cached("SELECT key, value FROM experiment_tags WHERE experiment_id = ?1")
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
        })
        .map_err(|e| db.err(e))?;
    for row in rows {
        let (key, value) = row.map_err(|e| db.err(e))?;
        experiment.tags.insert(key, value.unwrap_or_default());
    }
    Ok(())
}

fn with_tags(
    tx: &Transaction<'_>,
    db: &DbFile,
    found: Option<Experiment>,
) -> Result<Option<Experiment>, Error> {
    match found {
        Some(mut e) => {
            load_tags(tx, db, &mut e)?;
            Ok(Some(e))
        }
        None => Ok(None),
    }
}

/// The experiment named `name` in the default workspace, deleted or not (as MLflow).
pub(super) fn by_name(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
) -> Result<Option<Experiment>, Error> {
    let sql = if db.has_workspace {
        format!("SELECT {COLUMNS} FROM experiments WHERE name = ?1 AND workspace = 'default'")
    } else {
        format!("SELECT {COLUMNS} FROM experiments WHERE name = ?1")
    };
    let found = tx
        .query_row(&sql, [name], from_row)
        .optional()
        .map_err(|e| db.err(e))?;
    with_tags(tx, db, found)
}

/// The experiment with id `experiment_id`, with its tags; ids that are not integers exist
/// nowhere.
pub(super) fn by_id(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
) -> Result<Option<Experiment>, Error> {
    let found = row_by_id(tx, db, experiment_id)?;
    with_tags(tx, db, found)
}

/// The experiment with id `experiment_id`, without its tags (for writes that need its stage
/// or location only).
pub(super) fn row_by_id(
    tx: &Transaction<'_>,
    db: &DbFile,
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
    .map_err(|e| db.err(e))
}

/// Which experiments an operation finds, as MLflow's `ViewType`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExperimentView {
    Active,
    Deleted,
    Any,
}

/// MLflow's `_get_experiment`: the id must be an integer, and the experiment must exist in
/// `stage`; the errors are MLflow's.
fn require(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
    stage: ExperimentView,
) -> Result<(i64, Experiment), Error> {
    let id = parse_id(experiment_id)?;
    let found = row_by_id(tx, db, &id.to_string())?.filter(|e| match stage {
        ExperimentView::Active => e.lifecycle_stage == "active",
        ExperimentView::Deleted => e.lifecycle_stage == "deleted",
        ExperimentView::Any => true,
    });
    found.map(|e| (id, e)).ok_or_else(|| {
        Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No Experiment with id={id} exists"),
        )
    })
}

/// MLflow's `_parse_experiment_id`, after the server's check of a missing id.
fn parse_id(experiment_id: &str) -> Result<i64, Error> {
    if experiment_id.is_empty() {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            "Missing value for required parameter 'experiment_id'.",
        ));
    }
    experiment_id.trim().parse().map_err(|_| {
        Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
            ),
        )
    })
}

/// MLflow's `_check_experiment_is_active`.
fn check_active(experiment: &Experiment) -> Result<(), Error> {
    if experiment.is_active() {
        return Ok(());
    }
    Err(Error::api(
        400,
        "INVALID_PARAMETER_VALUE",
        format!(
            "The experiment {} must be in the 'active' state. Current state is {}.",
            experiment.experiment_id, experiment.lifecycle_stage
        ),
    ))
}

fn check_name(name: &str) -> Result<(), Error> {
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
    Ok(())
}

/// Creates an experiment with the next sequential id, its tags, and its artifact location:
/// the one given (a local path made absolute, as MLflow's `resolve_uri_if_local` does), or
/// `<artifact root>/<id>`.
pub(super) fn create(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment: &NewExperiment,
    now: i64,
) -> Result<String, Error> {
    let name = experiment.name.as_str();
    check_name(name)?;
    let location = match experiment.artifact_location.as_deref() {
        Some(given) if !given.is_empty() => Some(resolve_if_local(given)?),
        _ => None,
    };
    for (key, value) in &experiment.tags {
        validate::experiment_tag(key, value)?;
    }
    if by_name(tx, db, name)?.is_some() {
        return Err(already_exists(name));
    }
    let inserted = if db.has_workspace {
        tx.execute(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, \
             last_update_time, workspace) VALUES (?1, ?2, 'active', ?3, ?3, 'default')",
            params![name, location, now],
        )
    } else {
        tx.execute(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, \
             last_update_time) VALUES (?1, ?2, 'active', ?3, ?3)",
            params![name, location, now],
        )
    };
    match inserted {
        Ok(_) => {}
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            return Err(already_exists(name));
        }
        Err(e) => return Err(db.err(e)),
    }
    let id = tx.last_insert_rowid();
    if location.is_none() {
        // MLflow also derives the location from the id the insert assigned.
        tx.execute(
            "UPDATE experiments SET artifact_location = ?1 WHERE experiment_id = ?2",
            params![format!("{}/{id}", db.artifact_root), id],
        )
        .map_err(|e| db.err(e))?;
    }
    for (key, value) in &experiment.tags {
        tx.execute(
            "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?1, ?2, ?3)",
            params![key, value, id],
        )
        .map_err(|e| db.err(e))?;
    }
    Ok(id.to_string())
}

fn already_exists(name: &str) -> Error {
    Error::api(
        400,
        "RESOURCE_ALREADY_EXISTS",
        format!("Experiment(name={name}) already exists."),
    )
}

/// MLflow's `resolve_uri_if_local`: a relative path (plain or `file:`) made absolute against
/// the working directory; anything else as given. Then MLflow's length limit.
fn resolve_if_local(location: &str) -> Result<String, Error> {
    let absolute = |relative: &str| -> Result<String, Error> {
        let path = std::path::absolute(Path::new(relative))
            .map_err(|e| Error::io("artifact location", Path::new(relative), e))?;
        let text = path.to_str().ok_or_else(|| {
            Error::InvalidArgument(format!("artifact location {relative:?} is not valid UTF-8"))
        })?;
        Ok(text.trim_end_matches('/').to_owned())
    };
    let resolved = match scheme(location) {
        None if !location.starts_with('/') => absolute(location)?,
        Some("file") => {
            let rest = &location["file:".len()..];
            if rest.starts_with('/') {
                location.to_owned()
            } else {
                format!("file://{}", absolute(rest)?)
            }
        }
        _ => location.to_owned(),
    };
    if resolved.chars().count() > MAX_LOCATION_LENGTH {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "Invalid artifact path length. The length of the artifact path cannot be greater \
                 than {MAX_LOCATION_LENGTH} characters. To configure this limit, please set the \
                 MLFLOW_ARTIFACT_LOCATION_MAX_LENGTH environment variable."
            ),
        ));
    }
    Ok(resolved)
}

/// A URI's scheme as `urllib.parse` finds it: letters, digits, `+`, `-`, `.` before a `:`,
/// starting with a letter.
fn scheme(uri: &str) -> Option<&str> {
    let (scheme, _) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// `experiments/delete`: the experiment (which must be active) and all its runs deleted.
pub(super) fn delete(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
    now: i64,
) -> Result<(), Error> {
    let (id, _) = require(tx, db, experiment_id, ExperimentView::Active)?;
    set_stage(tx, db, id, "deleted", now)?;
    let runs = run_ids(tx, db, id)?;
    for run in runs {
        deletion::mark_run_deleted(tx, db, &run, now)?;
    }
    Ok(())
}

/// `experiments/restore`: the experiment (which must be deleted) and all its runs active.
pub(super) fn restore(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
    now: i64,
) -> Result<(), Error> {
    let (id, _) = require(tx, db, experiment_id, ExperimentView::Deleted)?;
    set_stage(tx, db, id, "active", now)?;
    tx.execute(
        "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = ?1",
        [id],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

fn set_stage(
    tx: &Transaction<'_>,
    db: &DbFile,
    id: i64,
    stage: &str,
    now: i64,
) -> Result<(), Error> {
    tx.execute(
        "UPDATE experiments SET lifecycle_stage = ?1, last_update_time = ?2 \
         WHERE experiment_id = ?3",
        params![stage, now, id],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

fn run_ids(tx: &Transaction<'_>, db: &DbFile, id: i64) -> Result<Vec<String>, Error> {
    let mut stmt = tx
        .prepare("SELECT run_uuid FROM runs WHERE experiment_id = ?1")
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([id], |row| row.get::<_, String>(0))
        .map_err(|e| db.err(e))?;
    rows.collect::<rusqlite::Result<Vec<String>>>()
        .map_err(|e| db.err(e))
}

/// `experiments/update`: a new name for an active experiment. A name another experiment
/// has is refused by the database's unique index, which MLflow reports as `BAD_REQUEST`
/// with the database's words.
pub(super) fn rename(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
    new_name: &str,
    now: i64,
) -> Result<(), Error> {
    check_name(new_name)?;
    let (id, experiment) = require(tx, db, experiment_id, ExperimentView::Any)?;
    if !experiment.is_active() {
        return Err(Error::api(
            500,
            "INVALID_STATE",
            "Cannot rename a non-active experiment.",
        ));
    }
    let renamed = tx.execute(
        "UPDATE experiments SET name = ?1, last_update_time = ?2 WHERE experiment_id = ?3",
        params![new_name, now, id],
    );
    match renamed {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => {
            let detail = match &e {
                rusqlite::Error::SqliteFailure(_, Some(message)) => message.clone(),
                other => other.to_string(),
            };
            Err(Error::api(
                400,
                "BAD_REQUEST",
                format!("(sqlite3.IntegrityError) {detail}"),
            ))
        }
        Err(e) => Err(db.err(e)),
    }
}

/// `experiments/set-experiment-tag`: sets or overwrites a tag of an active experiment
/// (the experiment's `last_update_time` stays, as in MLflow).
pub(super) fn set_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
    key: &str,
    value: &str,
) -> Result<(), Error> {
    validate::experiment_tag(key, value)?;
    let (id, experiment) = require(tx, db, experiment_id, ExperimentView::Any)?;
    check_active(&experiment)?;
    tx.execute(
        "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value",
        params![key, value, id],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `experiments/delete-experiment-tag`: the tag must be there, the experiment active.
pub(super) fn delete_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: &str,
    key: &str,
) -> Result<(), Error> {
    let (id, experiment) = require(tx, db, experiment_id, ExperimentView::Any)?;
    check_active(&experiment)?;
    let deleted = tx
        .execute(
            "DELETE FROM experiment_tags WHERE experiment_id = ?1 AND key = ?2",
            params![id, key],
        )
        .map_err(|e| db.err(e))?;
    if deleted == 0 {
        return Err(Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No tag with name: {key} in experiment with id {experiment_id}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_locations_are_made_absolute() {
        let cwd = std::env::current_dir().unwrap();
        let cwd = cwd.to_str().unwrap();
        assert_eq!(resolve_if_local("/abs/dir").unwrap(), "/abs/dir");
        assert_eq!(
            resolve_if_local("rel/dir").unwrap(),
            format!("{cwd}/rel/dir")
        );
        assert_eq!(
            resolve_if_local("rel/dir/").unwrap(),
            format!("{cwd}/rel/dir")
        );
        assert_eq!(
            resolve_if_local("file:rel").unwrap(),
            format!("file://{cwd}/rel")
        );
        assert_eq!(resolve_if_local("file:///abs").unwrap(), "file:///abs");
        assert_eq!(resolve_if_local("s3://b/p").unwrap(), "s3://b/p");
        assert_eq!(
            resolve_if_local("mlflow-artifacts:/x").unwrap(),
            "mlflow-artifacts:/x"
        );
        let long = format!("s3://b/{}", "p".repeat(2048));
        assert!(resolve_if_local(&long).is_err());
    }
}
