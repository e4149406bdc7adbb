//! Transactions that survive other processes writing the same file.
//!
//! Every write starts with `BEGIN IMMEDIATE`: the write lock is taken up front, so a
//! transaction never has to upgrade a read lock to a write lock, the one case where SQLite
//! gives up with `SQLITE_BUSY` without waiting. The connection's busy timeout makes SQLite
//! wait for other writers (Python's SQLAlchemy store waits the same way, 20 s). When even
//! that runs out, the whole transaction is retried a bounded number of times.

use std::thread;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use crate::base::error::Error;

/// How long SQLite itself waits for a lock before reporting `SQLITE_BUSY`.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Whole-transaction attempts when the busy timeout ran out.
const MAX_ATTEMPTS: u32 = 4;

/// Runs `f` in a write transaction and commits it, retrying on a busy database.
///
/// `f` may run more than once, so it must derive everything from the database it sees.
pub(super) fn write<T>(
    conn: &mut Connection,
    path: &str,
    f: impl FnMut(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    run(conn, path, TransactionBehavior::Immediate, f)
}

/// Runs `f` in a read transaction, so that it sees one consistent snapshot.
pub(super) fn read<T>(
    conn: &mut Connection,
    path: &str,
    f: impl FnMut(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    run(conn, path, TransactionBehavior::Deferred, f)
}

fn run<T>(
    conn: &mut Connection,
    path: &str,
    behavior: TransactionBehavior,
    mut f: impl FnMut(&Transaction<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = conn
            .transaction_with_behavior(behavior)
            .map_err(|e| Error::sqlite(path, e))
            .and_then(|tx| {
                let value = f(&tx)?;
                tx.commit().map_err(|e| Error::sqlite(path, e))?;
                Ok(value)
            });
        match result {
            Err(e) if is_busy(&e) && attempt < MAX_ATTEMPTS => {
                tracing::debug!(
                    path,
                    attempt,
                    "SQLite database busy; retrying the transaction"
                );
                thread::sleep(backoff(attempt));
            }
            other => return other,
        }
    }
}

/// True when the error is SQLite saying another connection holds the lock. Once the
/// retries here are used up, the sender treats it as an outage: the operation goes to the
/// spill and is replayed when the file is free again.
pub(crate) fn is_busy(error: &Error) -> bool {
    match error {
        Error::Sqlite {
            source: Some(source),
            ..
        } => matches!(
            source
                .downcast_ref::<rusqlite::Error>()
                .and_then(rusqlite::Error::sqlite_error_code),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
        ),
        _ => false,
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = 50u64 << attempt.min(6);
    Duration::from_millis(base + rand::random_range(0..base))
}
