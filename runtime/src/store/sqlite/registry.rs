//! Registered models in MLflow's `registered_models`, `registered_model_tags` and
//! `registered_model_aliases` tables, written as MLflow's `SqlAlchemyModelRegistryStore`
//! writes them: creation and last update times in milliseconds (a new version, a rename or a
//! deleted version touch the model's), tags and aliases merged, a deleted model taking its
//! versions along; the versions themselves are in `registry_versions`. The `workspace`
//! column keeps its default.

use rusqlite::{OptionalExtension, Transaction, params};

use super::file::DbFile;
use super::registry_versions::get_version;
use crate::base::error::{Error, Result};
use crate::base::registry::{ModelVersion, RegisteredModel};
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

pub(super) fn version_not_found(name: &str, version: u64) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Model Version (name={name}, version={version}) not found"),
    )
}

pub(super) fn i64_of(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

/// Fails unless the registered model exists.
pub(super) fn require_model(tx: &Transaction<'_>, db: &DbFile, name: &str) -> Result<()> {
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
    let tags = pairs(
        tx,
        db,
        "SELECT key, value FROM registered_model_tags WHERE name = ?1",
        name,
    )?;
    let mut model = RegisteredModel {
        name: name.to_owned(),
        creation_timestamp: row.0.unwrap_or_default(),
        last_updated_timestamp: row.1.unwrap_or_default(),
        description: row.2,
        tags: tags.into_iter().collect(),
        aliases: aliases(tx, db, name)?,
        latest_versions: Vec::new(),
    };
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

pub(super) fn aliases(
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

    /// Searches: filters on names and tags, pages with MLflow's tokens, prompts left out.
    #[tokio::test]
    async fn searches_filter_page_and_leave_prompts_out() {
        use crate::base::registry::SearchRegistryRequest;
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(&dir.path().join("mlflow.db"), &dir.path().join("mlruns")).unwrap();
        for (name, team) in [("a-net", "vision"), ("b-net", "nlp"), ("c-net", "vision")] {
            store
                .create_registered_model(name, &[("team".into(), team.into())], None)
                .await
                .unwrap();
            for _ in 0..2 {
                store
                    .create_model_version(&NewModelVersion::new(name, "/tmp/src"))
                    .await
                    .unwrap();
            }
        }
        store
            .create_registered_model(
                "a-prompt",
                &[("mlflow.prompt.is_prompt".into(), "true".into())],
                None,
            )
            .await
            .unwrap();
        let mut r = SearchRegistryRequest::new(1);
        r.filter = "tags.team = 'vision'".into();
        let first = store.search_registered_models(&r).await.unwrap();
        assert_eq!(first.items.len(), 1);
        assert_eq!(first.items[0].name, "a-net");
        r.page_token = first.next_page_token;
        let second = store.search_registered_models(&r).await.unwrap();
        assert_eq!(second.items[0].name, "c-net");
        assert_eq!(second.next_page_token, None);
        let all = store
            .search_registered_models(&SearchRegistryRequest::new(100))
            .await
            .unwrap();
        let names: Vec<_> = all.items.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["a-net", "b-net", "c-net"]);
        let mut prompts = SearchRegistryRequest::new(100);
        prompts.filter = "tags.`mlflow.prompt.is_prompt` = 'true'".into();
        let found = store.search_registered_models(&prompts).await.unwrap();
        assert_eq!(found.items.len(), 1);
        let mut versions = SearchRegistryRequest::new(100);
        versions.filter = "name IN ('a-net', 'c-net') AND version_number > 1".into();
        let found = store.search_model_versions(&versions).await.unwrap();
        let keys: Vec<_> = found
            .items
            .iter()
            .map(|v| (v.name.as_str(), v.version))
            .collect();
        // Newest first by default; the same time orders by name, then version descending.
        assert_eq!(keys.len(), 2);
        assert!(keys.contains(&("a-net", 2)) && keys.contains(&("c-net", 2)));
        let mut bad = SearchRegistryRequest::new(100);
        bad.filter = "params.x = '1'".into();
        let e = store.search_model_versions(&bad).await.unwrap_err();
        assert_eq!(e.error_code(), Some("INVALID_PARAMETER_VALUE"));
        let e = store
            .search_registered_models(&SearchRegistryRequest::new(1001))
            .await
            .unwrap_err();
        assert_eq!(e.error_code(), Some("INVALID_PARAMETER_VALUE"));
    }
}
