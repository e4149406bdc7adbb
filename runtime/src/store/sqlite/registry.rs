//! The model registry in MLflow's `registered_models`, `registered_model_tags`,
//! `registered_model_aliases`, `model_versions` and `model_version_tags` tables, written as
//! MLflow's `SqlAlchemyModelRegistryStore` writes them: creation and last update times in
//! milliseconds (a new version, a rename or a deleted version touch the model's), versions
//! numbered one above the highest (deleted ones included) inside the write transaction
//! (`BEGIN IMMEDIATE`: two processes never take the same number), status `READY`, stage
//! `None`, `storage_location` resolved from a `models:/` source; a deleted version keeps its
//! row, redacted, as `Deleted_Internal`. The `workspace` column keeps its default.

use rusqlite::{OptionalExtension, Transaction, params};

use super::file::DbFile;
use super::logged_models;
use crate::base::error::{Error, Result};
use crate::base::registry::{ModelUri, ModelVersion, NewModelVersion, RegisteredModel};
use crate::base::registry_rules as rules;

/// The stage of a deleted version (`STAGE_DELETED_INTERNAL`).
pub(super) const DELETED: &str = "Deleted_Internal";

pub(super) fn model_not_found(name: &str) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Registered Model with name={name} not found"),
    )
}

fn version_not_found(name: &str, version: u64) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Model Version (name={name}, version={version}) not found"),
    )
}

fn i64_of(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// Fails unless the registered model exists.
fn require_model(tx: &Transaction<'_>, db: &DbFile, name: &str) -> Result<()> {
    rules::model_name(name)?;
    let found: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM registered_models WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db.err(e))?;
    found.map(|_| ()).ok_or_else(|| model_not_found(name))
}

/// `create_registered_model`.
pub(super) fn create_model(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    tags: &[(String, String)],
    description: Option<&str>,
    now: i64,
) -> Result<RegisteredModel> {
    rules::model_name(name)?;
    for (k, v) in tags {
        rules::tag(k, v)?;
    }
    let exists: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM registered_models WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db.err(e))?;
    if exists.is_some() {
        return Err(Error::api(
            400,
            "RESOURCE_ALREADY_EXISTS",
            format!("Registered Model (name={name}) already exists."),
        ));
    }
    tx.execute(
        "INSERT INTO registered_models (name, creation_time, last_updated_time, description) \
         VALUES (?1, ?2, ?2, ?3)",
        params![name, now, description],
    )
    .map_err(|e| db.err(e))?;
    for (k, v) in tags {
        tx.execute(
            "INSERT OR REPLACE INTO registered_model_tags (key, value, name) VALUES (?1, ?2, ?3)",
            params![k, v, name],
        )
        .map_err(|e| db.err(e))?;
    }
    get_model(tx, db, name)
}

/// A registered model with its tags, aliases and the newest version of each stage.
pub(super) fn get_model(tx: &Transaction<'_>, db: &DbFile, name: &str) -> Result<RegisteredModel> {
    rules::model_name(name)?;
    let row = tx
        .query_row(
            "SELECT creation_time, last_updated_time, description FROM registered_models \
             WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()
        .map_err(|e| db.err(e))?
        .ok_or_else(|| model_not_found(name))?;
    let mut model = RegisteredModel::default();
    model.name = name.to_owned();
    model.creation_timestamp = row.0.unwrap_or_default();
    model.last_updated_timestamp = row.1.unwrap_or_default();
    model.description = row.2;
    model.tags = pairs(
        tx,
        db,
        "SELECT key, value FROM registered_model_tags WHERE name = ?1",
        name,
    )?
    .into_iter()
    .collect();
    model.aliases = aliases(tx, db, name)?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT MAX(version) FROM model_versions WHERE name = ?1 AND current_stage != ?2 \
             GROUP BY current_stage ORDER BY MAX(version)",
        )
        .map_err(|e| db.err(e))?;
    let latest = stmt
        .query_map(params![name, DELETED], |r| r.get::<_, i64>(0))
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .map_err(|e| db.err(e))?;
    for v in latest {
        let mut version = get_version(tx, db, name, u64::try_from(v).unwrap_or_default())?;
        // MLflow's latest versions carry no aliases.
        version.aliases.clear();
        model.latest_versions.push(version);
    }
    Ok(model)
}

fn pairs(
    tx: &Transaction<'_>,
    db: &DbFile,
    sql: &str,
    name: &str,
) -> Result<Vec<(String, String)>> {
    let mut stmt = tx.prepare_cached(sql).map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([name], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    Ok(rows
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

fn aliases(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
) -> Result<std::collections::BTreeMap<String, u64>> {
    let mut stmt = tx
        .prepare_cached("SELECT alias, version FROM registered_model_aliases WHERE name = ?1")
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([name], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    Ok(rows
        .into_iter()
        .map(|(a, v)| (a, u64::try_from(v).unwrap_or_default()))
        .collect())
}

/// `rename_registered_model`: the model, its versions (their `last_updated_time` too), tags
/// and aliases follow the new name (`ON UPDATE CASCADE`).
pub(super) fn rename_model(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    new_name: &str,
    now: i64,
) -> Result<RegisteredModel> {
    rules::new_model_name(new_name)?;
    require_model(tx, db, name)?;
    let taken: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM registered_models WHERE name = ?1",
            [new_name],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db.err(e))?;
    if taken.is_some() && new_name != name {
        return Err(Error::api(
            400,
            "RESOURCE_ALREADY_EXISTS",
            format!("Registered Model (name={new_name}) already exists."),
        ));
    }
    tx.execute(
        "UPDATE registered_models SET name = ?1, last_updated_time = ?2 WHERE name = ?3",
        params![new_name, now, name],
    )
    .map_err(|e| db.err(e))?;
    tx.execute(
        "UPDATE model_versions SET last_updated_time = ?1 WHERE name = ?2",
        params![now, new_name],
    )
    .map_err(|e| db.err(e))?;
    get_model(tx, db, new_name)
}

/// `update_registered_model`: the description and `last_updated_time`.
pub(super) fn update_model(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    description: &str,
    now: i64,
) -> Result<RegisteredModel> {
    require_model(tx, db, name)?;
    tx.execute(
        "UPDATE registered_models SET description = ?1, last_updated_time = ?2 WHERE name = ?3",
        params![description, now, name],
    )
    .map_err(|e| db.err(e))?;
    get_model(tx, db, name)
}

/// `delete_registered_model`: the model with its versions, their tags, its tags and aliases.
pub(super) fn delete_model(tx: &Transaction<'_>, db: &DbFile, name: &str) -> Result<()> {
    require_model(tx, db, name)?;
    for sql in [
        "DELETE FROM model_version_tags WHERE name = ?1",
        "DELETE FROM model_versions WHERE name = ?1",
        "DELETE FROM registered_model_tags WHERE name = ?1",
        "DELETE FROM registered_model_aliases WHERE name = ?1",
        "DELETE FROM registered_models WHERE name = ?1",
    ] {
        tx.execute(sql, [name]).map_err(|e| db.err(e))?;
    }
    Ok(())
}

/// `set_registered_model_tag` (a merge: the value overwrites).
pub(super) fn set_model_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    key: &str,
    value: &str,
) -> Result<()> {
    rules::model_name(name)?;
    rules::tag(key, value)?;
    require_model(tx, db, name)?;
    tx.execute(
        "INSERT OR REPLACE INTO registered_model_tags (key, value, name) VALUES (?1, ?2, ?3)",
        params![key, value, name],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `delete_registered_model_tag`: nothing when the tag is not there.
pub(super) fn delete_model_tag(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    key: &str,
) -> Result<()> {
    rules::tag_key(key)?;
    require_model(tx, db, name)?;
    tx.execute(
        "DELETE FROM registered_model_tags WHERE name = ?1 AND key = ?2",
        params![name, key],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

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
    let mut created = get_version(
        tx,
        db,
        &new.name,
        u64::try_from(version).unwrap_or_default(),
    )?;
    created.model_id = new.model_id.clone();
    Ok(created)
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
    let mut v = ModelVersion::default();
    v.name = name.to_owned();
    v.version = version;
    v.creation_timestamp = row.0.unwrap_or_default();
    v.last_updated_timestamp = row.1.unwrap_or_default();
    v.description = row.2;
    v.source = row.3.unwrap_or_default();
    v.run_id = row.4.filter(|s| !s.is_empty());
    v.run_link = row.5.filter(|s| !s.is_empty());
    v.status = row.6.unwrap_or_else(|| "READY".into());
    v.status_message = row.7;
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

/// `set_registered_model_alias` (a merge: the alias moves).
pub(super) fn set_alias(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    alias: &str,
    version: u64,
) -> Result<()> {
    rules::model_name(name)?;
    rules::alias(alias)?;
    rules::alias_not_reserved(alias)?;
    get_version(tx, db, name, version)?;
    tx.execute(
        "INSERT OR REPLACE INTO registered_model_aliases (alias, version, name) \
         VALUES (?1, ?2, ?3)",
        params![alias, i64_of(version), name],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `delete_registered_model_alias`: nothing when the alias is not there.
pub(super) fn delete_alias(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    alias: &str,
) -> Result<()> {
    rules::model_name(name)?;
    rules::alias(alias)?;
    require_model(tx, db, name)?;
    tx.execute(
        "DELETE FROM registered_model_aliases WHERE name = ?1 AND alias = ?2",
        params![name, alias],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

/// `get_model_version_by_alias`; `latest` is the highest version.
pub(super) fn version_by_alias(
    tx: &Transaction<'_>,
    db: &DbFile,
    name: &str,
    alias: &str,
) -> Result<ModelVersion> {
    rules::model_name(name)?;
    rules::alias(alias)?;
    require_model(tx, db, name)?;
    if alias.eq_ignore_ascii_case("latest") {
        let max: Option<i64> = tx
            .query_row(
                "SELECT MAX(version) FROM model_versions WHERE name = ?1 AND current_stage != ?2",
                params![name, DELETED],
                |r| r.get(0),
            )
            .map_err(|e| db.err(e))?;
        let Some(max) = max else {
            return Err(Error::api(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                format!("Latest version not found for model {name}."),
            ));
        };
        return get_version(tx, db, name, u64::try_from(max).unwrap_or_default());
    }
    let version = aliases(tx, db, name)?.get(alias).copied().ok_or_else(|| {
        Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!("Registered model alias {alias} not found."),
        )
    })?;
    get_version(tx, db, name, version)
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

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::super::SqliteStore;
    use crate::base::logged_models::NewLoggedModel;
    use crate::base::model::CreateRun;
    use crate::base::registry::NewModelVersion;
    use crate::store::Store;
    use crate::store::registry::RegistryStore;

    type Row = (
        i64,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        String,
    );

    /// The rows are the ones MLflow's SQL registry writes for the same calls (read from a
    /// file the Python client wrote: `register_model("models:/<id>")` twice, an alias, a
    /// tag, the second version deleted).
    #[tokio::test]
    async fn rows_are_written_as_mlflows_sql_registry_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mlflow.db");
        let store = SqliteStore::open(&db, &dir.path().join("mlruns")).unwrap();
        let run = store
            .create_run(&CreateRun {
                experiment_id: "0".into(),
                run_id: None,
                user_id: "tester".into(),
                run_name: "r".into(),
                start_time: 1,
                tags: Vec::new(),
            })
            .await
            .unwrap();
        let mut new = NewLoggedModel::new("0".to_owned(), "net".to_owned());
        new.source_run_id = Some(run.run_id.clone());
        let model = store.create_logged_model(&new).await.unwrap();
        let source = format!("models:/{}", model.model_id);

        store
            .create_registered_model("reg", &[("team".into(), "v".into())], None)
            .await
            .unwrap();
        let v1 = store
            .create_model_version(&NewModelVersion::new("reg", source.clone()))
            .await
            .unwrap();
        assert_eq!(
            (v1.version, v1.run_id.as_deref()),
            (1, Some(run.run_id.as_str()))
        );
        store
            .set_registered_model_alias("reg", "champion", 1)
            .await
            .unwrap();
        store
            .set_model_version_tag("reg", 1, "k", "v")
            .await
            .unwrap();
        let v2 = store
            .create_model_version(&NewModelVersion::new("reg", source.clone()))
            .await
            .unwrap();
        assert_eq!(v2.version, 2);
        store.delete_model_version("reg", 2).await.unwrap();

        let conn = Connection::open(&db).unwrap();
        let rows: Vec<Row> = conn
            .prepare(
                "SELECT version, description, user_id, current_stage, source, run_id, status, \
                 status_message, run_link, storage_location FROM model_versions \
                 WHERE workspace = 'default' ORDER BY version",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let location = model.artifact_location.clone();
        assert_eq!(
            rows,
            [
                (
                    1,
                    None,
                    None,
                    "None".into(),
                    source.clone(),
                    run.run_id.clone(),
                    "READY".into(),
                    None,
                    None,
                    location.clone()
                ),
                (
                    2,
                    None,
                    None,
                    "Deleted_Internal".into(),
                    "REDACTED-SOURCE-PATH".into(),
                    "REDACTED-RUN-ID".into(),
                    "READY".into(),
                    None,
                    Some("REDACTED-RUN-LINK".into()),
                    location
                ),
            ]
        );
        let times: (i64, i64, i64, i64) = conn
            .query_row(
                "SELECT rm.creation_time, rm.last_updated_time, mv.creation_time, \
                 mv.last_updated_time FROM registered_models rm JOIN model_versions mv \
                 ON mv.name = rm.name AND mv.version = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert!(times.0 <= times.2 && times.2 == times.3, "{times:?}");
        assert!(
            times.1 >= times.2,
            "a new or deleted version touches the model: {times:?}"
        );
        let alias: (String, i64, String) = conn
            .query_row(
                "SELECT alias, version, workspace FROM registered_model_aliases WHERE name = 'reg'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(alias, ("champion".into(), 1, "default".into()));
        let tags: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM model_version_tags WHERE name = 'reg' AND version = 1 \
                 AND key = 'k' AND value = 'v'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tags, 1);
        // The deleted version is gone for readers, its number is not reused.
        assert_eq!(
            store
                .get_model_version("reg", 2)
                .await
                .unwrap_err()
                .error_code(),
            Some("RESOURCE_DOES_NOT_EXIST")
        );
        let v3 = store
            .create_model_version(&NewModelVersion::new("reg", source))
            .await
            .unwrap();
        assert_eq!(v3.version, 3);
        let rm = store.get_registered_model("reg").await.unwrap();
        assert_eq!(rm.latest_versions.len(), 1);
        assert_eq!(rm.latest_versions[0].version, 3);
        assert_eq!(rm.tags.get("team").map(String::as_str), Some("v"));
        // Deleting the model takes its versions, tags and aliases along.
        store.delete_registered_model("reg").await.unwrap();
        for table in [
            "registered_models",
            "model_versions",
            "model_version_tags",
            "registered_model_tags",
            "registered_model_aliases",
        ] {
            let n: i64 = conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }
}
