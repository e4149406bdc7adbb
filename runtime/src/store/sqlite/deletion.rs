//! Marking runs deleted as MLflow's `_mark_run_deleted` does, for deleting a run and an
//! experiment with its runs alike.

use rusqlite::{OptionalExtension, Transaction, params};

use super::file::DbFile;
use crate::base::error::Error;

/// MLflow's `_mark_run_deleted`: the assessments whose metadata names the run as their
/// source go, and the run is marked deleted now.
pub(super) fn mark_run_deleted(
    tx: &Transaction<'_>,
    db: &DbFile,
    run_id: &str,
    now: i64,
) -> Result<(), Error> {
    if has_table(tx, db, "assessments")? {
        // MLflow matches the JSON text (`assessment_metadata.contains(...)`), as a LIKE,
        // which its SQLite sessions make case-sensitive.
        let pattern = format!("%\"mlflow.assessment.sourceRunId\": \"{run_id}\"%");
        tx.execute_batch("PRAGMA case_sensitive_like = true")
            .map_err(|e| db.err(e))?;
        tx.execute(
            "DELETE FROM assessments WHERE assessment_metadata LIKE ?1",
            [pattern],
        )
        .map_err(|e| db.err(e))?;
    }
    tx.execute(
        "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ?1 WHERE run_uuid = ?2",
        params![now, run_id],
    )
    .map_err(|e| db.err(e))?;
    Ok(())
}

fn has_table(tx: &Transaction<'_>, db: &DbFile, table: &str) -> Result<bool, Error> {
    tx.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(|e| db.err(e))
}
