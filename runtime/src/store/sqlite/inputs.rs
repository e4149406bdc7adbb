//! A run's inputs in MLflow's `datasets`, `inputs` and `input_tags` tables, written as
//! `SqlAlchemyStore._log_inputs_impl` writes them and read as `_get_run_inputs` reads them.

use rusqlite::{OptionalExtension, Transaction, params};

use super::file::DbFile;
use super::runs::check_active;
use crate::base::datasets::{self, Dataset, DatasetInput, InputTag, RunInputs};
use crate::base::error::Error;

/// `runs/log-inputs`: each (name, digest) once per experiment in `datasets` (a dataset
/// logged before keeps its first source, schema and profile, as in MLflow), one `inputs` row
/// from it to the run (none when the run uses it already: its first tags stay), and the
/// tags of a new use in `input_tags`. Ids are uuid4 hex, as MLflow makes them.
pub(super) fn log(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    inputs: &[DatasetInput],
) -> Result<(), Error> {
    check_active(tx, db, run_id)?;
    let experiment_id: i64 = tx
        .query_row(
            "SELECT experiment_id FROM runs WHERE run_uuid = ?1",
            [run_id],
            |row| row.get(0),
        )
        .map_err(|e| db.err(e))?;
    for input in datasets::dedup(inputs) {
        let dataset_uuid = dataset_uuid(tx, db, experiment_id, &input.dataset)?;
        let used = tx
            .query_row(
                "SELECT 1 FROM inputs WHERE source_type = 'DATASET' AND source_id = ?1 \
                 AND destination_type = 'RUN' AND destination_id = ?2",
                params![dataset_uuid, run_id],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| db.err(e))?;
        if used.is_some() {
            continue;
        }
        let input_uuid = new_uuid();
        tx.execute(
            "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
             destination_id, step) VALUES (?1, 'DATASET', ?2, 'RUN', ?3, 0)",
            params![input_uuid, dataset_uuid, run_id],
        )
        .map_err(|e| db.err(e))?;
        for tag in &input.tags {
            // A key given twice: the last value, as one row per (input, name) allows.
            tx.execute(
                "INSERT OR REPLACE INTO input_tags (input_uuid, name, value) VALUES (?1, ?2, ?3)",
                params![input_uuid, tag.key, tag.value],
            )
            .map_err(|e| db.err(e))?;
        }
    }
    Ok(())
}

/// The id of the experiment's dataset (name, digest), made when missing.
fn dataset_uuid(
    tx: &Transaction<'_>,
    db: &DbFile,
    experiment_id: i64,
    d: &Dataset,
) -> Result<String, Error> {
    let found: Option<String> = tx
        .query_row(
            "SELECT dataset_uuid FROM datasets WHERE experiment_id = ?1 AND name = ?2 \
             AND digest = ?3",
            params![experiment_id, d.name, d.digest],
            |row| row.get(0),
        )
        .optional()
        .map_err(|e| db.err(e))?;
    if let Some(uuid) = found {
        return Ok(uuid);
    }
    let uuid = new_uuid();
    tx.execute(
        "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, dataset_source_type, \
         dataset_source, dataset_schema, dataset_profile) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            uuid,
            experiment_id,
            d.name,
            d.digest,
            d.source_type,
            d.source,
            d.schema,
            d.profile
        ],
    )
    .map_err(|e| db.err(e))?;
    Ok(uuid)
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The datasets the run used, in the order they were first logged, with their tags.
pub(super) fn read(tx: &Transaction<'_>, db: &DbFile, run_id: &str) -> Result<RunInputs, Error> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT i.input_uuid, d.name, d.digest, d.dataset_source_type, d.dataset_source, \
             d.dataset_schema, d.dataset_profile FROM inputs i \
             JOIN datasets d ON d.dataset_uuid = i.source_id \
             WHERE i.destination_type = 'RUN' AND i.destination_id = ?1 ORDER BY i.rowid",
        )
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([run_id], |row| {
            let mut dataset = Dataset::new(
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
            );
            dataset.schema = row.get(5)?;
            dataset.profile = row.get(6)?;
            Ok((row.get::<_, String>(0)?, dataset))
        })
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    let mut inputs = RunInputs::default();
    let mut tags = tx
        .prepare_cached("SELECT name, value FROM input_tags WHERE input_uuid = ?1 ORDER BY rowid")
        .map_err(|e| db.err(e))?;
    for (input_uuid, dataset) in rows {
        let mut input = DatasetInput::new(dataset, None);
        input.tags = tags
            .query_map([&input_uuid], |row| {
                Ok(InputTag::new(
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                ))
            })
            .map_err(|e| db.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db.err(e))?;
        inputs.dataset_inputs.push(input);
    }
    Ok(inputs)
}
