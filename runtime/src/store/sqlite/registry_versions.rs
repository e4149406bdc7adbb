//! Model versions in MLflow's `model_versions` and `model_version_tags` tables, as
//! MLflow's `SqlAlchemyModelRegistryStore` writes them: numbered one above the highest
//! (deleted ones included) inside the write transaction, status `READY`, stage `None`,
//! `storage_location` resolved from a `models:/` source, a deleted version kept redacted as
//! `Deleted_Internal`; and the logged model tags `register_model` sets.

use rusqlite::{OptionalExtension, Transaction, params};

use super::file::DbFile;
use super::logged_models;
use super::registry::{DELETED, aliases, i64_of, require_model, version_not_found};
use crate::base::error::{Error, Result};
use crate::base::registry::{ModelUri, ModelVersion, NewModelVersion};
use crate::base::registry_rules as rules;

/// `create_model_version`: the next number inside this (immediate) transaction.
pub(super) fn create_version(
    tx: &Transaction<'_>,
    db: &DbFile,
    new: &NewModelVersion,
    now: i64,
) -> Result<ModelVersion> {
    rules::model_name(&new.name)?;
    for (k, v) in &new.tags {
        rules::tag(k, v)?;
    }
    let mut run_id = new.run_id.clone().filter(|r| !r.is_empty());
    let storage_location = match (&new.storage_location, ModelUri::parse(&new.source)) {
        (Some(given), _) => given.clone(),
        (None, Ok(Some(ModelUri::LoggedModel(id)))) => {
            let model =
                logged_models::get(tx, db, &id).map_err(|e| unfetchable(&new.source, &e))?;
            run_id = run_id.or(model.source_run_id);
            model.artifact_location
        }
        (None, Ok(Some(ModelUri::Version { name, version }))) => {
            download_uri(tx, db, &name, version).map_err(|e| unfetchable(&new.source, &e))?
        }
        (None, Ok(Some(_)) | Err(_)) => {
            return Err(unfetchable(
                &new.source,
                &Error::InvalidArgument("not a version of a registered model".into()),
            ));
        }
        (None, Ok(None)) => new.source.clone(),
    };
    if run_id.is_none()
        && let Some(id) = &new.model_id
        && let Ok(model) = logged_models::get(tx, db, id)
    {
        run_id = model.source_run_id;
    }
    require_model(tx, db, &new.name)?;
    tx.execute(
        "UPDATE registered_models SET last_updated_time = ?1 WHERE name = ?2",
        params![now, new.name],
    )
    .map_err(|e| db.err(e))?;
    let max: Option<i64> = tx
        .query_row(
            "SELECT MAX(version) FROM model_versions WHERE name = ?1",
            [&new.name],
            |r| r.get(0),
        )
        .map_err(|e| db.err(e))?;
    let version = max.unwrap_or(0) + 1;
    tx.execute(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, \
         description, user_id, current_stage, source, run_id, status, status_message, run_link, \
         storage_location) VALUES (?1, ?2, ?3, ?3, ?4, NULL, 'None', ?5, ?6, 'READY', NULL, NULL, ?7)",
        params![
            new.name,
            version,
            now,
            new.description,
            new.source,
            run_id,
            storage_location
        ],
    )
    .map_err(|e| db.err(e))?;
    for (k, v) in &new.tags {
        tx.execute(
            "INSERT OR REPLACE INTO model_version_tags (key, value, name, version) \
             VALUES (?1, ?2, ?3, ?4)",
            params![k, v, new.name, version],
        )
        .map_err(|e| db.err(e))?;
    }
    // As MLflow's SQL store: the version answered carries no `model_id` (no column keeps it).
    get_version(
        tx,
        db,
        &new.name,
        u64::try_from(version).unwrap_or_default(),
    )
}

fn unfetchable(source: &str, e: &Error) -> Error {
    let message = match e {
        Error::Api { message, .. } => message.clone(),
        other => other.to_string(),
    };
    Error::api(
        500,
        "INTERNAL_ERROR",
        format!(
            "Unable to fetch model from model URI source artifact location '{source}'.Error: {message}"
        ),
    )
}

/// A version that is not deleted, with its tags and aliases.
pub(super) fn get_version(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    version: u64,
) -> Result<ModelVersion> {
    rules::model_name(name)?;
    let row = tx
        .query_row(
            "SELECT creation_time, last_updated_time, description, source, run_id, run_link, \
             status, status_message FROM model_versions \
             WHERE name = ?1 AND version = ?2 AND current_stage != ?3",
            params![name, i64_of(version), DELETED],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()
        .map_err(|e| db.err(e))?
        .ok_or_else(|| version_not_found(name, version))?;
    let mut v = ModelVersion {
        name: name.to_owned(),
        version,
        creation_timestamp: row.0.unwrap_or_default(),
        last_updated_timestamp: row.1.unwrap_or_default(),
        description: row.2,
        source: row.3.unwrap_or_default(),
        run_id: row.4.filter(|s| !s.is_empty()),
        run_link: row.5.filter(|s| !s.is_empty()),
        status: row.6.unwrap_or_else(|| "READY".into()),
        status_message: row.7,
        ..ModelVersion::default()
    };
    let mut stmt = tx
        .prepare_cached(
            "SELECT key, value FROM model_version_tags WHERE name = ?1 AND version = ?2",
        )
        .map_err(|e| db.err(e))?;
    v.tags = stmt
        .query_map(params![name, i64_of(version)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .map_err(|e| db.err(e))?
        .map(|r| r.map(|(k, v)| (k, v.unwrap_or_default())))
        .collect::<rusqlite::Result<_>>()
        .map_err(|e| db.err(e))?;
    v.aliases = aliases(tx, db, name)?
        .into_iter()
        .filter(|(_, n)| *n == version)
        .map(|(a, _)| a)
        .collect();
    Ok(v)
}

/// `update_model_version`: the description and `last_updated_time`.
pub(super) fn update_version(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    version: u64,
    description: &str,
    now: i64,
) -> Result<ModelVersion> {
    get_version(tx, db, name, version)?;
    tx.execute(
        "UPDATE model_versions SET description = ?1, last_updated_time = ?2 \
         WHERE name = ?3 AND version = ?4",
        params![description, now, name, i64_of(version)],
    )
    .map_err(|e| db.err(e))?;
    get_version(tx, db, name, version)
}

/// `delete_model_version`: its aliases go, the row stays redacted as `Deleted_Internal`.
pub(super) fn delete_version(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    version: u64,
    now: i64,
) -> Result<()> {
    get_version(tx, db, name, version)?;
    let v = i64_of(version);
    tx.execute(
        "UPDATE registered_models SET last_updated_time = ?1 WHERE name = ?2",
        params![now, name],
    )
    .map_err(|e| db.err(e))?;
    tx.execute(
        "DELETE FROM registered_model_aliases WHERE name = ?1 AND version = ?2",
        params![name, v],
    )
    .map_err(|e| db.err(e))?;
    tx.execute(
        "UPDATE model_versions SET current_stage = ?1, last_updated_time = ?2, \
         description = NULL, user_id = NULL, source = 'REDACTED-SOURCE-PATH', \
         run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', status_message = NULL \
         WHERE name = ?3 AND version = ?4",
        params![DELETED, now, name, v],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `get_model_version_download_uri`: `storage_location`, else `source`.
pub(super) fn download_uri(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    version: u64,
) -> Result<String> {
    get_version(tx, db, name, version)?;
    let (storage, source): (Option<String>, Option<String>) = tx
        .query_row(
            "SELECT storage_location, source FROM model_versions WHERE name = ?1 AND version = ?2",
            params![name, i64_of(version)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(|e| db.err(e))?;
    Ok(storage
        .filter(|s| !s.is_empty())
        .or(source)
        .unwrap_or_default())
}

/// `set_model_version_tag`.
pub(super) fn set_version_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    version: u64,
    key: &str,
    value: &str,
) -> Result<()> {
    rules::tag(key, value)?;
    get_version(tx, db, name, version)?;
    tx.execute(
        "INSERT OR REPLACE INTO model_version_tags (key, value, name, version) \
         VALUES (?1, ?2, ?3, ?4)",
        params![key, value, name, i64_of(version)],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `delete_model_version_tag`: nothing when the tag is not there.
pub(super) fn delete_version_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    version: u64,
    key: &str,
) -> Result<()> {
    rules::tag_key(key)?;
    get_version(tx, db, name, version)?;
    tx.execute(
        "DELETE FROM model_version_tags WHERE name = ?1 AND version = ?2 AND key = ?3",
        params![name, i64_of(version), key],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `set_logged_model_tags` of the tracking store (the `mlflow.modelVersions` tag).
pub(super) fn set_logged_model_tags(
    tx: &Transaction<'_>,
    db: &DbFile,
    model_id: &str,
    tags: &[(String, String)],
) -> Result<()> {
    let model = logged_models::get(tx, db, model_id)?;
    let experiment_id: i64 = model.experiment_id.parse().unwrap_or_default();
    for (k, v) in tags {
        tx.execute(
            "INSERT OR REPLACE INTO logged_model_tags (model_id, experiment_id, tag_key, \
             tag_value) VALUES (?1, ?2, ?3, ?4)",
            params![model_id, experiment_id, k, v],
        )
        .map_err(|e| db.err(e))?;
    }
    Ok(())
}
