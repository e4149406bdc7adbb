//! Starting a sender: its thread, its runtime, and the store it feeds.

use std::sync::Arc;

use super::command::Command;
use super::state::Sender;
use crate::base::config::{HttpSettings, TrackingUri};
use crate::base::error::{Error, Result, report};
use crate::store::Store;
use crate::store::rest::{GiveUp, RestStore};
use crate::store::sqlite::SqliteStore;

/// Starts the sender thread for `uri`, draining `rx` until every sender is gone.
pub(crate) fn spawn(uri: Result<TrackingUri>, rx: flume::Receiver<Command>) {
    let spawned = std::thread::Builder::new()
        .name("mlflow-sender".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(async move {
                    let store = open_store(uri, give_up(&rx)).await;
                    Sender::new(store).run(rx).await
                }),
                Err(e) => report(&Error::Config(format!(
                    "cannot start the mlflow runtime: {e}"
                ))),
            }
        });
    if let Err(e) = spawned {
        report(&Error::Config(format!(
            "cannot start the mlflow sender thread: {e}"
        )));
    }
}

/// Retrying is cut short when the queue is half full, so that logging never stalls on an
/// outage: what cannot be delivered goes to the spill instead.
fn give_up(rx: &flume::Receiver<Command>) -> GiveUp {
    let rx = rx.clone();
    Arc::new(move || rx.capacity().is_some_and(|cap| rx.len() * 2 >= cap))
}

async fn open_store(
    uri: Result<TrackingUri>,
    give_up: GiveUp,
) -> std::result::Result<Arc<dyn Store>, Error> {
    match uri? {
        TrackingUri::Rest(url) => Ok(Arc::new(
            RestStore::new(&url, HttpSettings::from_env()?)?.with_give_up(give_up),
        )),
        TrackingUri::Sqlite(path) => {
            let cwd = std::env::current_dir()
                .map_err(|e| Error::Config(format!("cannot read the working directory: {e}")))?;
            let db = cwd.join(&path);
            // MLflow's default artifact root next to a default SQLite store: ./mlruns.
            let artifacts = cwd.join("mlruns");
            let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&db, &artifacts))
                .await
                .map_err(|e| Error::Config(format!("opening the SQLite store panicked: {e}")))??;
            Ok(Arc::new(opened))
        }
    }
}
