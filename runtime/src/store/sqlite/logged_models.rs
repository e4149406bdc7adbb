//! Logged models in MLflow's `logged_models`, `logged_model_params`, `logged_model_tags`
//! and `logged_model_metrics` tables, and a run's outputs in `inputs` (`RUN_OUTPUT` →
//! `MODEL_OUTPUT`), written and read as MLflow's `SqlAlchemyStore` does.

use rusqlite::{OptionalExtension, Transaction, params};

use super::experiments;
use super::file::DbFile;
use super::metrics;
use super::runs::check_active;
use crate::base::error::Error;
use crate::base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel, RunOutputs,
};
use crate::base::model::Metric;
use crate::base::run_names::random_run_name;
use crate::base::time::now_ms;

/// `create_logged_model`: PENDING, `m-<uuid4 hex>`, its files under the experiment's
/// `models/<id>/artifacts`, a random name when none is given.
pub(super) fn create(
    tx: &Transaction<'_>,
    db: &DbFile,
    new: &NewLoggedModel,
) -> Result<LoggedModel, Error> {
    let experiment = experiments::row_by_id(tx, db, &new.experiment_id)?.ok_or_else(|| {
        Error::api(
            404,
            "RESOURCE_DOES_NOT_EXIST",
            format!("No Experiment with id={} exists", new.experiment_id),
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
    let model_id = format!("m-{}", uuid::Uuid::new_v4().simple());
    let location = format!(
        "{}/models/{model_id}/artifacts",
        experiment.artifact_location.trim_end_matches('/')
    );
    let name = if new.name.is_empty() {
        random_run_name()
    } else {
        new.name.clone()
    };
    let now = now_ms();
    let experiment_id: i64 = experiment.experiment_id.parse().unwrap_or_default();
    tx.execute(
        "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
         creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, model_type, \
         source_run_id, status_message) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, 'active', ?7, ?8, NULL)",
        params![
            model_id,
            experiment_id,
            name,
            location,
            now,
            LoggedModelStatus::Pending.to_int(),
            new.model_type,
            new.source_run_id
        ],
    )
    .map_err(|e| db.err(e))?;
    for (key, value) in &new.params {
        tx.execute(
            "INSERT OR REPLACE INTO logged_model_params (model_id, experiment_id, param_key, \
             param_value) VALUES (?1, ?2, ?3, ?4)",
            params![model_id, experiment_id, key, value],
        )
        .map_err(|e| db.err(e))?;
    }
    for (key, value) in &new.tags {
        tx.execute(
            "INSERT OR REPLACE INTO logged_model_tags (model_id, experiment_id, tag_key, \
             tag_value) VALUES (?1, ?2, ?3, ?4)",
            params![model_id, experiment_id, key, value],
        )
        .map_err(|e| db.err(e))?;
    }
    get(tx, db, &model_id)
}

fn not_found(model_id: &str) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Logged model with ID '{model_id}' not found."),
    )
}

/// `finalize_logged_model`: the status and `last_updated_timestamp_ms`.
pub(super) fn finalize(
    tx: &Transaction<'_>,
    db: &DbFile,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<LoggedModel, Error> {
    let changed = tx
        .execute(
            "UPDATE logged_models SET status = ?1, last_updated_timestamp_ms = ?2 \
             WHERE model_id = ?3",
            params![status.to_int(), now_ms(), model_id],
        )
        .map_err(|e| db.err(e))?;
    if changed == 0 {
        return Err(not_found(model_id));
    }
    get(tx, db, model_id)
}

/// A model that is not deleted, with its tags, params and every metric point.
pub(super) fn get(tx: &Transaction<'_>, db: &DbFile, model_id: &str) -> Result<LoggedModel, Error> {
    let found = tx
        .query_row(
            "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
             last_updated_timestamp_ms, status, status_message, model_type, source_run_id \
             FROM logged_models WHERE model_id = ?1 AND lifecycle_stage != 'deleted'",
            [model_id],
            |row| {
                Ok(LoggedModel {
                    model_id: row.get(0)?,
                    experiment_id: row.get::<_, i64>(1)?.to_string(),
                    name: row.get(2)?,
                    artifact_location: row.get(3)?,
                    creation_timestamp: row.get(4)?,
                    last_updated_timestamp: row.get(5)?,
                    status: LoggedModelStatus::from_int(row.get(6)?)
                        .unwrap_or(LoggedModelStatus::Pending),
                    status_message: row.get(7)?,
                    model_type: row.get(8)?,
                    source_run_id: row.get(9)?,
                    tags: Default::default(),
                    params: Default::default(),
                    metrics: Vec::new(),
                })
            },
        )
        .optional()
        .map_err(|e| db.err(e))?;
    let mut model = found.ok_or_else(|| not_found(model_id))?;
    let pairs = |sql: &str| -> Result<Vec<(String, String)>, Error> {
        let mut stmt = tx.prepare_cached(sql).map_err(|e| db.err(e))?;
        let rows = stmt
            .query_map([model_id], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|e| db.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db.err(e))
    };
    model.tags = pairs("SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?1")?
        .into_iter()
        .collect();
    model.params =
        pairs("SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?1")?
            .into_iter()
            .collect();
    let mut stmt = tx
        .prepare_cached(
            "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, dataset_name, \
             dataset_digest FROM logged_model_metrics WHERE model_id = ?1 \
             ORDER BY metric_timestamp_ms, metric_step, metric_name",
        )
        .map_err(|e| db.err(e))?;
    model.metrics = stmt
        .query_map([model_id], |row| {
            let mut m = Metric::new(
                row.get::<_, String>(0)?,
                row.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN),
                row.get(2)?,
                row.get(3)?,
            );
            m.model_id = Some(model_id.to_owned());
            m.dataset_name = row.get(4)?;
            m.dataset_digest = row.get(5)?;
            Ok(m)
        })
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    Ok(model)
}

/// `log_outputs`: one `inputs` row per model, from the active run.
pub(super) fn log_outputs(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    models: &[LoggedModelOutput],
) -> Result<(), Error> {
    check_active(tx, db, run_id)?;
    for m in models {
        tx.execute(
            "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
             destination_id, step) VALUES (?1, 'RUN_OUTPUT', ?2, 'MODEL_OUTPUT', ?3, ?4)",
            params![
                uuid::Uuid::new_v4().simple().to_string(),
                run_id,
                m.model_id,
                m.step
            ],
        )
        .map_err(|e| db.err(e))?;
    }
    Ok(())
}

/// The models the run made, in the order they were recorded.
pub(super) fn read_outputs(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
) -> Result<RunOutputs, Error> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT destination_id, step FROM inputs WHERE source_type = 'RUN_OUTPUT' \
             AND source_id = ?1 AND destination_type = 'MODEL_OUTPUT' ORDER BY rowid",
        )
        .map_err(|e| db.err(e))?;
    let model_outputs = stmt
        .query_map([run_id], |row| {
            Ok(LoggedModelOutput::new(
                row.get::<_, String>(0)?,
                row.get(1)?,
            ))
        })
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    Ok(RunOutputs { model_outputs })
}

/// `_log_model_metrics`: the points of `metrics` linked to a model, also in
/// `logged_model_metrics` (a point already there is kept, as MLflow keeps it). The model
/// must exist.
pub(super) fn log_metrics(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    metrics: &[Metric],
) -> Result<(), Error> {
    let linked: Vec<&Metric> = metrics.iter().filter(|m| m.model_id.is_some()).collect();
    if linked.is_empty() {
        return Ok(());
    }
    let experiment_id: i64 = tx
        .query_row(
            "SELECT experiment_id FROM runs WHERE run_uuid = ?1",
            [run_id],
            |row| row.get(0),
        )
        .map_err(|e| db.err(e))?;
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
             metric_step, metric_value, experiment_id, run_id, dataset_uuid, dataset_name, \
             dataset_digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9) \
             ON CONFLICT DO NOTHING",
        )
        .map_err(|e| db.err(e))?;
    for m in linked {
        let model_id = m.model_id.as_deref().unwrap_or_default();
        let exists = tx
            .query_row(
                "SELECT 1 FROM logged_models WHERE model_id = ?1",
                [model_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| db.err(e))?;
        if exists.is_none() {
            return Err(not_found(model_id));
        }
        let (value, _) = metrics::encode_value(m.value);
        insert
            .execute(params![
                model_id,
                m.key,
                m.timestamp,
                m.step,
                value,
                experiment_id,
                run_id,
                m.dataset_name,
                m.dataset_digest
            ])
            .map_err(|e| db.err(e))?;
    }
    Ok(())
}
