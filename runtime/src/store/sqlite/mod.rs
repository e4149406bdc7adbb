//! The embedded default store: an SQLite file in MLflow's own schema.
// Stand-in until the SQLite store lands; it refuses to open.

use std::path::Path;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::model::{Batch, CreateRun, Experiment, Run, RunInfo, RunStatus};
use crate::store::Store;

/// The embedded store.
#[derive(Debug)]
pub struct SqliteStore {
    _private: (),
}

impl SqliteStore {
    /// Opens (or creates) the database at `db_path`.
    pub fn open(db_path: &Path, _default_artifact_root: &Path) -> Result<SqliteStore> {
        Err(Error::Config(format!(
            "SQLite store not available yet: {}",
            db_path.display()
        )))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_experiment_by_name(&self, _: &str) -> Result<Option<Experiment>> {
        unreachable!()
    }
    async fn get_experiment(&self, _: &str) -> Result<Option<Experiment>> {
        unreachable!()
    }
    async fn create_experiment(&self, _: &str) -> Result<String> {
        unreachable!()
    }
    async fn create_run(&self, _: &CreateRun) -> Result<RunInfo> {
        unreachable!()
    }
    async fn update_run(&self, _: &str, _: RunStatus, _: Option<i64>) -> Result<()> {
        unreachable!()
    }
    async fn log_batch(&self, _: &str, _: &Batch) -> Result<()> {
        unreachable!()
    }
    async fn get_run(&self, _: &str) -> Result<Run> {
        unreachable!()
    }
    fn location(&self) -> String {
        String::new()
    }
}
