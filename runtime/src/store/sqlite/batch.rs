//! `log_batch`: params (write-once), metrics (append, plus `latest_metrics`) and tags
//! (last write wins), all in the caller's one transaction.

use std::sync::LazyLock;

use rusqlite::{ToSql, Transaction, params, params_from_iter};

use super::file::DbFile;
use super::metrics::{self, Stored};
use super::runs::{self, RUN_NAME_TAG};
use crate::base::error::Error;
use crate::base::model::{Batch, RunTag};

/// MLflow's `MAX_PARAM_VAL_LENGTH`; longer values are truncated, as MLflow does by default
/// (`MLFLOW_TRUNCATE_LONG_VALUES`).
const MAX_PARAM_VALUE: usize = 6000;
/// MLflow's `MAX_TAG_VAL_LENGTH`.
const MAX_TAG_VALUE: usize = 8000;

/// Stores the batch. Returns the params that were refused because they already hold a
/// different value; everything else in the batch is stored either way.
pub(super) fn log(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    batch: &Batch,
) -> Result<Vec<Error>, Error> {
    runs::check_active(tx, db, run_id)?;
    let refused = insert_params(tx, db, run_id, batch)?;
    insert_metrics(tx, db, run_id, batch)?;
    upsert_tags(tx, db, run_id, &batch.tags)?;
    Ok(refused)
}

fn insert_params(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    batch: &Batch,
) -> Result<Vec<Error>, Error> {
    let mut refused = Vec::new();
    if batch.params.is_empty() {
        return Ok(refused);
    }
    // A param stored earlier in this batch is visible to the next look-up, so a key repeated
    // within the batch follows the same write-once rule as one stored long ago.
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO params (key, value, run_uuid) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key, run_uuid) DO NOTHING RETURNING 1",
        )
        .map_err(|e| db.err(e))?;
    let mut existing = tx
        .prepare_cached("SELECT value FROM params WHERE key = ?1 AND run_uuid = ?2")
        .map_err(|e| db.err(e))?;
    for param in &batch.params {
        let value = truncate(&param.value, MAX_PARAM_VALUE);
        let inserted = insert
            .exists(params![param.key, value, run_id])
            .map_err(|e| db.err(e))?;
        if inserted {
            continue;
        }
        let old: String = existing
            .query_row(params![param.key, run_id], |row| row.get(0))
            .map_err(|e| db.err(e))?;
        if old != value {
            refused.push(Error::ParamChanged {
                key: param.key.clone(),
                old,
                new: value.to_owned(),
            });
        }
    }
    Ok(refused)
}

/// Metric rows per `INSERT` statement (6 variables each, well under SQLite's limit).
const ROWS_PER_INSERT: usize = 100;

static INSERT_MANY_METRICS: LazyLock<String> =
    LazyLock::new(|| insert_metrics_sql(ROWS_PER_INSERT));

/// An `INSERT` of `rows` metric points. The primary key spans every column, so a conflict
/// is an exact duplicate point: MLflow drops those silently, and so does this.
fn insert_metrics_sql(rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?, ?)"; rows].join(", ");
    format!(
        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES {values} \
         ON CONFLICT DO NOTHING"
    )
}

fn insert_metrics(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    batch: &Batch,
) -> Result<(), Error> {
    if batch.metrics.is_empty() {
        return Ok(());
    }
    let points: Vec<Stored<'_>> = batch.metrics.iter().map(Stored::encode).collect();
    // Many rows per statement: executing a statement costs more than adding a row to it.
    let mut chunks = points.chunks_exact(ROWS_PER_INSERT);
    let mut insert_many = tx
        .prepare_cached(&INSERT_MANY_METRICS)
        .map_err(|e| db.err(e))?;
    for chunk in chunks.by_ref() {
        let mut args: Vec<&dyn ToSql> = Vec::with_capacity(chunk.len() * 6);
        for p in chunk {
            args.extend([
                &p.key as &dyn ToSql,
                &p.value,
                &p.timestamp,
                &run_id,
                &p.step,
                &p.is_nan,
            ]);
        }
        insert_many
            .execute(params_from_iter(args))
            .map_err(|e| db.err(e))?;
    }
    let mut insert = tx
        .prepare_cached(&insert_metrics_sql(1))
        .map_err(|e| db.err(e))?;
    for p in chunks.remainder() {
        insert
            .execute(params![
                p.key,
                p.value,
                p.timestamp,
                run_id,
                p.step,
                p.is_nan
            ])
            .map_err(|e| db.err(e))?;
    }
    // One statement per key: the stored latest point is replaced only by a newer one,
    // compared in SQL exactly as `Stored::is_newer_than` does.
    let mut latest = tx
        .prepare_cached(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, \
             timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan \
             WHERE (excluded.step, excluded.timestamp, excluded.value) > \
             (latest_metrics.step, COALESCE(latest_metrics.timestamp, -1), latest_metrics.value)",
        )
        .map_err(|e| db.err(e))?;
    for p in metrics::latest_per_key(&points).values() {
        latest
            .execute(params![
                p.key,
                p.value,
                p.timestamp,
                p.step,
                p.is_nan,
                run_id
            ])
            .map_err(|e| db.err(e))?;
    }
    Ok(())
}

/// Inserts or overwrites tags; a later tag with the same key wins. Setting `mlflow.runName`
/// also renames the run, as MLflow does.
pub(super) fn upsert_tags(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    tags: &[RunTag],
) -> Result<(), Error> {
    if tags.is_empty() {
        return Ok(());
    }
    let mut upsert = tx
        .prepare_cached(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
        )
        .map_err(|e| db.err(e))?;
    for tag in tags {
        let value = truncate(&tag.value, MAX_TAG_VALUE);
        upsert
            .execute(params![tag.key, value, run_id])
            .map_err(|e| db.err(e))?;
        if tag.key == RUN_NAME_TAG {
            tx.execute(
                "UPDATE runs SET name = ?1 WHERE run_uuid = ?2",
                params![value, run_id],
            )
            .map_err(|e| db.err(e))?;
        }
    }
    Ok(())
}

/// The first `max` characters of `value`.
fn truncate(value: &str, max: usize) -> &str {
    match value.char_indices().nth(max) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn truncates_by_characters() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("", 0), "");
    }
}
