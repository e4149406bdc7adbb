//! The runtime that moves artifact bytes beside the sender: uploads and downloads run on
//! their own threads, so that a multi-gigabyte file never holds back the metrics of any run
//! (the sender goes on delivering while it moves), and the CPU a transfer needs (signing
//! and hashing S3 parts, TLS) is not taken from the sender's one thread. One runtime for the
//! process, started on first use; the caller waits for its transfer's result.

use std::sync::OnceLock;

use super::command::BoxFuture;
use crate::base::error::{Error, Result};

/// What runs beside the sender once the sender has prepared it (a store and a run's artifact
/// root, say): gets what the preparation returned.
pub(crate) type TransferJob<P, T> = Box<dyn FnOnce(P) -> BoxFuture<Result<T>> + Send>;

/// Worker threads of the transfer runtime: transfers wait on the network and the disk
/// mostly; two keep one busy signing while another moves bytes.
const WORKERS: usize = 2;

/// Runs `job` on the transfer runtime and waits for its result.
pub(crate) fn run<T: Send + 'static>(job: BoxFuture<Result<T>>) -> Result<T> {
    static RUNTIME: OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .thread_name("mlflow-transfer")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    let runtime = runtime
        .as_ref()
        .map_err(|e| Error::Internal(format!("cannot start the mlflow transfer runtime: {e}")))?;
    let (reply, answer) = flume::bounded(1);
    runtime.spawn(async move {
        let _ = reply.send(job.await);
    });
    answer
        .recv()
        .map_err(|_| Error::Internal("an artifact transfer stopped before its end".into()))?
}
