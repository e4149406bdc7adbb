//! The embedded default store: an SQLite file in MLflow's own schema, so that `mlflow ui`
//! (or `mlflow server --backend-store-uri sqlite:///...`) shows what Rust logged, and runs
//! from Python and Rust live side by side in one file.
//!
//! - A fresh (empty) file gets the complete schema of the pinned MLflow (3.17.2, alembic head
//!   [`PINNED_HEAD`]) and the rows MLflow itself puts there, in one transaction. A file made
//!   by MLflow is written into as it is, after checking the columns this store writes.
//! - Rows are written as MLflow's `SqlAlchemyStore` writes them (see the sub-modules).
//! - Several processes may write the same file at once: see the `tx` module for locking.
//!   The journal mode is left as it is (MLflow's default rollback journal for files this
//!   store creates): WAL would be persistent in the file, change it for every MLflow process
//!   that opens it, need the `-wal`/`-shm` side files to travel with a copied `mlflow.db`,
//!   and does not work on network file systems.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, Transaction};

use super::{BatchLimits, Store};
use crate::base::datasets::{self, DatasetInput};
use crate::base::error::Error;
use crate::base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel, SearchLoggedModelsRequest,
};
use crate::base::model::{
    Batch, CreateRun, Experiment, Metric, NewExperiment, Run, RunInfo, RunUpdate,
};
use crate::base::search::{Page, SearchExperimentsRequest, SearchRunsRequest};

mod batch;
mod deletion;
mod experiments;
mod file;
mod inputs;
mod logged_models;
mod metrics;
mod model_search;
mod registry;
mod registry_search;
mod registry_store;
mod registry_versions;
mod runs;
mod schema;
mod search;
mod sql_parts;
mod tx;

use file::DbFile;
pub use schema::{KNOWN_HEADS, PINNED_HEAD};
pub(crate) use tx::is_busy;

/// How large one `log_batch` may be: the store writes a batch in one local transaction, so
/// it can take far more than a server's request limits.
pub const SQLITE_LIMITS: BatchLimits = BatchLimits {
    metrics: 10_000,
    params: 10_000,
    tags: 10_000,
    entities: 10_000,
};

/// The embedded store: MLflow's tracking tables in an SQLite file.
///
/// Cheap to clone; clones share one connection. Blocking database work runs on tokio's
/// blocking pool, so the methods of [`Store`] must be called inside a tokio runtime.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    db: DbFile,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("uri", &self.inner.db.uri)
            .field("artifact_root", &self.inner.db.artifact_root)
            .field("schema_head", &self.inner.db.head)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (or creates) the database at `db_path`. New experiments put their artifacts
    /// under `default_artifact_root` (made absolute, as MLflow does: `<root>/<experiment id>`).
    ///
    /// Errors: [`Error::Config`] when the file is not an SQLite database, not an MLflow
    /// database, or an MLflow database whose schema this store cannot write into (the message
    /// says to run `mlflow db upgrade`), or cannot be opened; [`Error::Sqlite`] when SQLite
    /// fails otherwise.
    ///
    /// This blocks (it may wait for another process's write lock): call it outside async code
    /// or through `tokio::task::spawn_blocking`.
    pub fn open(db_path: &Path, default_artifact_root: &Path) -> Result<SqliteStore, Error> {
        let db_path = absolute(db_path)?;
        let path = utf8(&db_path)?.to_owned();
        let uri = format!("sqlite:///{path}");
        let root = absolute(default_artifact_root)?;
        let artifact_root = utf8(&root)?.trim_end_matches('/').to_owned();

        let explain = |e| schema::explain_open_error(e, &uri, &path);
        let mut conn =
            Connection::open(&db_path).map_err(|e| explain(Error::sqlite(path.clone(), e)))?;
        configure(&conn).map_err(|e| explain(Error::sqlite(path.clone(), e)))?;
        let info = tx::write(&mut conn, &path, |tx| {
            schema::prepare(tx, &uri, &path, &artifact_root, now_millis())
        })
        .map_err(explain)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                db: DbFile {
                    path,
                    uri,
                    artifact_root,
                    has_workspace: info.has_workspace,
                    head: info.head,
                },
            }),
        })
    }

    /// The alembic migration head recorded in the database.
    pub fn schema_head(&self) -> &str {
        &self.inner.db.head
    }

    /// The absolute path of the database file.
    pub fn path(&self) -> &Path {
        Path::new(&self.inner.db.path)
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnMut(&Transaction<'_>, &DbFile) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        self.blocking(move |conn, db| {
            let mut f = f;
            tx::write(conn, &db.path, |tx| f(tx, db))
        })
        .await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnMut(&Transaction<'_>, &DbFile) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        self.blocking(move |conn, db| {
            let mut f = f;
            tx::read(conn, &db.path, |tx| f(tx, db))
        })
        .await
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &DbFile) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        let inner = Arc::clone(&self.inner);
        let path = inner.db.path.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while the lock was held cannot leave a transaction open: rusqlite's
            // `Transaction` rolls back on drop, so the connection is still sound.
            let mut conn = inner.conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn, &inner.db)
        })
        .await
        .map_err(|e| Error::Sqlite {
            path,
            message: format!("database worker failed: {e}"),
            source: None,
        })?
    }
}

/// Connection settings MLflow's SQLAlchemy store also uses.
fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(tx::BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|e| Error::io("database path", path, e))
}

fn utf8(path: &Path) -> Result<&str, Error> {
    path.to_str().ok_or_else(|| {
        Error::Config(format!(
            "path {} is not valid UTF-8, which MLflow's database cannot record",
            path.display()
        ))
    })
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[async_trait]
impl Store for SqliteStore {
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, Error> {
        let name = name.to_owned();
        self.read(move |tx, db| experiments::by_name(tx, db, &name))
            .await
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>, Error> {
        let id = experiment_id.to_owned();
        self.read(move |tx, db| experiments::by_id(tx, db, &id))
            .await
    }

    async fn create_experiment_with(&self, experiment: &NewExperiment) -> Result<String, Error> {
        let experiment = experiment.clone();
        self.write(move |tx, db| experiments::create(tx, db, &experiment, now_millis()))
            .await
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<(), Error> {
        let id = experiment_id.to_owned();
        self.write(move |tx, db| experiments::delete(tx, db, &id, now_millis()))
            .await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<(), Error> {
        let id = experiment_id.to_owned();
        self.write(move |tx, db| experiments::restore(tx, db, &id, now_millis()))
            .await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<(), Error> {
        let (id, name) = (experiment_id.to_owned(), new_name.to_owned());
        self.write(move |tx, db| experiments::rename(tx, db, &id, &name, now_millis()))
            .await
    }

    async fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        let (id, key, value) = (experiment_id.to_owned(), key.to_owned(), value.to_owned());
        self.write(move |tx, db| experiments::set_tag(tx, db, &id, &key, &value))
            .await
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<(), Error> {
        let (id, key) = (experiment_id.to_owned(), key.to_owned());
        self.write(move |tx, db| experiments::delete_tag(tx, db, &id, &key))
            .await
    }

    async fn delete_run(&self, run_id: &str) -> Result<(), Error> {
        let run_id = run_id.to_owned();
        self.write(move |tx, db| runs::delete(tx, db, &run_id, now_millis()))
            .await
    }

    async fn restore_run(&self, run_id: &str) -> Result<(), Error> {
        let run_id = run_id.to_owned();
        self.write(move |tx, db| runs::restore(tx, db, &run_id))
            .await
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), Error> {
        let (run_id, key) = (run_id.to_owned(), key.to_owned());
        self.write(move |tx, db| runs::delete_tag(tx, db, &run_id, &key))
            .await
    }

    async fn create_run(&self, request: &CreateRun) -> Result<RunInfo, Error> {
        let request = request.clone();
        let run_id = request
            .run_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        self.write(move |tx, db| runs::create(tx, db, &request, &run_id))
            .await
    }

    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<(), Error> {
        let run_id = run_id.to_owned();
        let update = update.clone();
        self.write(move |tx, db| runs::update(tx, db, &run_id, &update))
            .await
    }

    /// Stores the whole batch in one transaction. A param that already holds a different
    /// value is not changed and is reported as [`Error::ParamChanged`] (several as
    /// [`Error::Many`]), but, unlike MLflow, which rejects the whole batch, everything else in
    /// the batch is stored.
    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let run_id = run_id.to_owned();
        let batch = batch.clone();
        let mut refused = self
            .write(move |tx, db| {
                let refused = batch::log(tx, db, &run_id, &batch)?;
                // Points linked to a model go to the model too, in the same transaction.
                logged_models::log_metrics(tx, db, &run_id, &batch.metrics)?;
                Ok(refused)
            })
            .await?;
        match refused.len() {
            0 => Ok(()),
            1 => Err(refused.remove(0)),
            _ => Err(Error::Many(refused)),
        }
    }

    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<(), Error> {
        datasets::validate(datasets)?;
        let run_id = run_id.to_owned();
        let datasets = datasets.to_vec();
        self.write(move |tx, db| inputs::log(tx, db, &run_id, &datasets))
            .await
    }

    async fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel, Error> {
        let model = model.clone();
        self.write(move |tx, db| logged_models::create(tx, db, &model))
            .await
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, Error> {
        let model_id = model_id.to_owned();
        self.write(move |tx, db| logged_models::finalize(tx, db, &model_id, status))
            .await
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, Error> {
        let model_id = model_id.to_owned();
        self.read(move |tx, db| logged_models::get(tx, db, &model_id))
            .await
    }

    async fn log_outputs(&self, run_id: &str, models: &[LoggedModelOutput]) -> Result<(), Error> {
        let run_id = run_id.to_owned();
        let models = models.to_vec();
        self.write(move |tx, db| logged_models::log_outputs(tx, db, &run_id, &models))
            .await
    }

    async fn search_logged_models(
        &self,
        request: &SearchLoggedModelsRequest,
    ) -> Result<Page<LoggedModel>, Error> {
        let query = model_search::ModelQuery::build(request)?;
        self.read(move |tx, db| query.run(tx, db)).await
    }

    async fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), Error> {
        let (model_id, tags) = (model_id.to_owned(), tags.to_vec());
        self.write(move |tx, db| registry_versions::set_logged_model_tags(tx, db, &model_id, &tags))
            .await
    }

    fn registry(&self) -> Option<&dyn crate::store::registry::RegistryStore> {
        Some(self)
    }

    async fn get_run(&self, run_id: &str) -> Result<Run, Error> {
        let run_id = run_id.to_owned();
        self.read(move |tx, db| search::run_with_io(tx, db, &run_id))
            .await
    }

    async fn search_runs(&self, r: &SearchRunsRequest) -> Result<Page<Run>, Error> {
        self.search_runs_sql(r).await
    }

    async fn search_experiments(
        &self,
        r: &SearchExperimentsRequest,
    ) -> Result<Page<Experiment>, Error> {
        self.search_experiments_sql(r).await
    }

    async fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, Error> {
        self.metric_history_sql(run_id, key).await
    }

    fn limits(&self) -> BatchLimits {
        SQLITE_LIMITS
    }

    fn accepts_client_run_ids(&self) -> bool {
        true
    }

    fn location(&self) -> String {
        self.inner.db.uri.clone()
    }
}

#[cfg(test)]
mod tests;
