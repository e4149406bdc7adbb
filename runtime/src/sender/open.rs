//! Starting a sender: its thread, its runtime, and the store it feeds, as requests run on
//! the sender see it.

use std::sync::Arc;

use super::command::Command;
use super::core::Sender;
use crate::base::config::TrackingUri;
use crate::base::error::{Error, Result, report};
use crate::store::Store;
#[cfg(feature = "rest")]
use crate::store::rest::{GiveUp, RestStore};
#[cfg(feature = "sqlite")]
use crate::store::sqlite::SqliteStore;

/// Starts the sender thread for `uri`, draining `rx` until every sender is gone.
pub(crate) fn spawn(uri: Result<TrackingUri>, rx: flume::Receiver<Command>) {
    let spawned = std::thread::Builder::new()
        .name("mlflow-sender".into())
        .spawn(move || {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            builder.enable_all();
            // A memory store's sender runs on a paused clock: the probe interval and the
            // store's scripted delays take no wall time.
            #[cfg(any(test, feature = "testing"))]
            if matches!(uri, Ok(TrackingUri::Memory(_))) {
                builder.start_paused(true);
            }
            let runtime = builder.build();
            match runtime {
                Ok(rt) => rt.block_on(async move {
                    let store = open_store(uri, &rx).await;
                    Sender::new(store, None).run(rx).await
                }),
                Err(e) => report(&Error::Internal(format!(
                    "cannot start the mlflow runtime: {e}"
                ))),
            }
        });
    if let Err(e) = spawned {
        report(&Error::Internal(format!(
            "cannot start the mlflow sender thread: {e}"
        )));
    }
}

/// Retrying is cut short when the queue is half full, so that logging never stalls on an
/// outage: what cannot be delivered goes to the spill instead.
#[cfg(feature = "rest")]
fn give_up(rx: &flume::Receiver<Command>) -> GiveUp {
    let rx = rx.clone();
    Arc::new(move || rx.capacity().is_some_and(|cap| rx.len() * 2 >= cap))
}

/// The store for `uri`; a URI whose store this build left out is an [`Error::Config`] that
/// names the Cargo feature (see [`TrackingUri::require_store`]).
#[cfg_attr(not(feature = "rest"), allow(unused_variables))]
async fn open_store(
    uri: Result<TrackingUri>,
    rx: &flume::Receiver<Command>,
) -> std::result::Result<Arc<dyn Store>, Error> {
    match uri?.require_store()? {
        #[cfg(feature = "rest")]
        TrackingUri::Rest(url) => Ok(Arc::new(
            RestStore::new(&url, crate::base::config::HttpSettings::from_env()?)?
                .with_give_up(give_up(rx)),
        )),
        #[cfg(feature = "sqlite")]
        TrackingUri::Sqlite(path) => {
            let cwd =
                std::env::current_dir().map_err(|e| Error::io("working directory", ".", e))?;
            let db = cwd.join(&path);
            // MLflow's default artifact root next to a default SQLite store: ./mlruns.
            let artifacts = cwd.join("mlruns");
            let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&db, &artifacts))
                .await
                .map_err(|e| {
                    Error::Internal(format!("opening the SQLite store panicked: {e}"))
                })??;
            Ok(Arc::new(opened))
        }
        #[cfg(any(test, feature = "testing"))]
        TrackingUri::Memory(name) => match crate::store::memory::MemoryStore::registered(&name) {
            Some(store) => Ok(store),
            None => Err(Error::Config(format!(
                "no memory store is registered as {name:?} (MemoryStore::register)"
            ))),
        },
        // Only reached for a store left out, which `require_store` has refused already.
        #[allow(unreachable_patterns)]
        other => Err(Error::Config(format!(
            "no store for the tracking URI {other}"
        ))),
    }
}
