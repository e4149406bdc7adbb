//! One tracking destination: a store and the background sender feeding it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::base::config::TrackingUri;
use crate::base::error::{Error, Result};
use crate::base::model::Experiment;
use crate::base::sync::lock;
use crate::sender::transfers::{self, TransferJob};
use crate::sender::{self, Command, ExperimentSel, Request};

/// How many logging calls may wait in the queue before callers feel back-pressure.
pub const QUEUE_CAPACITY: usize = 100_000;

/// A tracking destination: commands go to its background sender in order.
#[derive(Debug)]
pub(crate) struct Tracker {
    uri_text: String,
    /// The URI itself, credentials included, for handing to worker processes.
    target: Option<TrackingUri>,
    client_ids: bool,
    tx: flume::Sender<Command>,
    next_local: AtomicU64,
    /// Set by `set_experiment`; otherwise runs go to the environment's or the Default one.
    experiment_id: Mutex<Option<String>>,
}

impl Tracker {
    /// Starts the background sender for `uri`. A URI that cannot be used still gives a
    /// tracker, whose sender reports the error for everything sent to it, so that code
    /// under an annotated function keeps running.
    pub(super) fn start(uri: Result<TrackingUri>) -> Arc<Tracker> {
        let (tx, rx) = flume::bounded(QUEUE_CAPACITY);
        let uri_text = match &uri {
            Ok(u) => u.to_string(),
            Err(e) => format!("<unusable tracking URI: {e}>"),
        };
        let client_ids = matches!(uri, Ok(TrackingUri::Sqlite(_)));
        let target = uri.as_ref().ok().cloned();
        sender::spawn(uri, rx);
        Arc::new(Tracker {
            uri_text,
            target,
            client_ids,
            tx,
            next_local: AtomicU64::new(1),
            experiment_id: Mutex::new(None),
        })
    }

    pub(crate) fn send(&self, cmd: Command) -> Result<()> {
        self.tx.send(cmd).map_err(|_| Error::SenderStopped)
    }

    /// Runs `request` on the background sender after everything queued before it, and
    /// waits for its answer.
    pub(crate) fn request<T: Send + 'static>(&self, request: Request<T>) -> Result<T> {
        let (reply, answer) = flume::bounded(1);
        self.send(Command::Call(Box::new(move |ctx| {
            Box::pin(async move {
                let value = request(ctx).await;
                let _ = reply.send(value);
            })
        })))?;
        answer.recv().map_err(|_| Error::SenderStopped)?
    }

    /// Runs `prepare` on the background sender after everything queued before it (it finds
    /// the store and a run's artifact root, say), then `job` with its result on the transfer
    /// runtime, beside the sender: the metrics of every run keep flowing while a file moves.
    /// Waits for `job`'s result.
    pub(crate) fn transfer<P: Send + 'static, T: Send + 'static>(
        &self,
        prepare: Request<P>,
        job: TransferJob<P, T>,
    ) -> Result<T> {
        // A memory store's sender runs on a paused clock that its scripted delays rely on:
        // its transfers stay on the sender.
        #[cfg(any(test, feature = "testing"))]
        if matches!(self.target, Some(TrackingUri::Memory(_))) {
            return self.request(Box::new(move |ctx| {
                Box::pin(async move { job(prepare(ctx).await?).await })
            }));
        }
        let prepared = self.request(prepare)?;
        transfers::run(job(prepared))
    }

    /// Waits until everything sent so far is stored; returns the failures since the last
    /// flush.
    pub(crate) fn flush(&self, timeout: Option<Duration>) -> Result<()> {
        let (reply, answer) = flume::bounded(1);
        self.send(Command::Flush(reply))?;
        let failures = match timeout {
            None => answer.recv().map_err(|_| Error::SenderStopped)?,
            Some(t) => answer.recv_timeout(t).map_err(|_| Error::Timeout {
                what: format!("flush to {}", self.uri_text),
                after: t,
            })?,
        };
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.into_iter().next().unwrap_or(Error::SenderStopped)),
            _ => Err(Error::Many(failures)),
        }
    }

    pub(crate) fn next_local_id(&self) -> u64 {
        self.next_local.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn accepts_client_run_ids(&self) -> bool {
        self.client_ids
    }

    pub(crate) fn active_experiment(&self) -> ExperimentSel {
        match &*lock(&self.experiment_id) {
            Some(id) => ExperimentSel::Id(id.clone()),
            None => ExperimentSel::Default,
        }
    }

    /// Makes `experiment_id` the experiment runs that name none go to; the caller checked
    /// that it exists and is active.
    pub(crate) fn use_experiment(&self, experiment_id: String) {
        *lock(&self.experiment_id) = Some(experiment_id);
    }

    pub(crate) fn uri(&self) -> &str {
        &self.uri_text
    }

    /// The URI as another process must be given it (see
    /// [`TrackingUri::for_other_processes`]).
    pub(crate) fn uri_for_workers(&self) -> Result<String> {
        match &self.target {
            Some(uri) => uri.for_other_processes(),
            None => Err(Error::Config(format!(
                "no usable tracking URI to hand to a worker: {}",
                self.uri_text
            ))),
        }
    }

    pub(super) fn set_experiment(&self, name: &str) -> Result<Experiment> {
        if name.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "experiment name must not be empty".into(),
            ));
        }
        let name = name.to_owned();
        let experiment = self.request(Box::new(move |ctx| {
            Box::pin(async move { ctx.get_or_create_experiment(&name).await })
        }))?;
        *lock(&self.experiment_id) = Some(experiment.experiment_id.clone());
        Ok(experiment)
    }
}
