//! The database file as every operation sees it: what it needs besides the connection.

use crate::base::error::Error;

/// What every operation needs to know besides the connection.
#[derive(Debug, Clone)]
pub(super) struct DbFile {
    /// The database file, for error messages.
    pub(super) path: String,
    /// `sqlite:///<absolute path>`.
    pub(super) uri: String,
    /// Absolute default artifact root, without a trailing slash.
    pub(super) artifact_root: String,
    /// Whether `experiments.workspace` exists.
    pub(super) has_workspace: bool,
    /// The alembic head recorded in the file.
    pub(super) head: String,
}

impl DbFile {
    pub(super) fn err(&self, e: rusqlite::Error) -> Error {
        Error::sqlite(self.path.clone(), e)
    }

    pub(super) fn corrupt(&self, message: &str) -> Error {
        Error::Sqlite {
            path: self.path.clone(),
            message: message.to_owned(),
            source: None,
        }
    }
}
