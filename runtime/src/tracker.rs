//! One tracking destination (a store and the background sender feeding it), and the
//! process-wide choice of destination.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use crate::config::{self, TrackingUri};
use crate::error::{Error, Result};
use crate::model::Experiment;
use crate::run::lock;
use crate::sender::{self, Command, ExperimentSel, Request};

/// How many logging calls may wait in the queue before callers feel back-pressure.
pub const QUEUE_CAPACITY: usize = 100_000;

/// How long the exit hook waits for queued data to be stored.
const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(120);

/// A tracking destination: commands go to its background sender in order.
#[derive(Debug)]
pub(crate) struct Tracker {
    uri_text: String,
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
    fn start(uri: Result<TrackingUri>) -> Arc<Tracker> {
        let (tx, rx) = flume::bounded(QUEUE_CAPACITY);
        let uri_text = match &uri {
            Ok(u) => u.to_string(),
            Err(e) => format!("<unusable tracking URI: {e}>"),
        };
        let client_ids = matches!(uri, Ok(TrackingUri::Sqlite(_)));
        sender::spawn(uri, rx);
        register_exit_hook();
        Arc::new(Tracker {
            uri_text,
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

    /// Waits until everything sent so far is stored; returns the failures since the last
    /// flush.
    pub(crate) fn flush(&self, timeout: Option<Duration>) -> Result<()> {
        let (reply, answer) = flume::bounded(1);
        self.send(Command::Flush(reply))?;
        let failures = match timeout {
            None => answer.recv().map_err(|_| Error::SenderStopped)?,
            Some(t) => answer.recv_timeout(t).map_err(|_| {
                Error::Config(format!(
                    "flush to {} did not finish within {} s",
                    self.uri_text,
                    t.as_secs()
                ))
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

    pub(crate) fn uri(&self) -> &str {
        &self.uri_text
    }

    fn set_experiment(&self, name: &str) -> Result<Experiment> {
        if name.trim().is_empty() {
            return Err(Error::Config("experiment name must not be empty".into()));
        }
        let name = name.to_owned();
        let experiment = self.request(Box::new(move |ctx| {
            Box::pin(async move { ctx.get_or_create_experiment(&name).await })
        }))?;
        *lock(&self.experiment_id) = Some(experiment.experiment_id.clone());
        Ok(experiment)
    }
}

struct Global {
    explicit_uri: Option<String>,
    current: Option<Arc<Tracker>>,
    /// Every tracker ever started: the exit hook flushes them all.
    all: Vec<Arc<Tracker>>,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    explicit_uri: None,
    current: None,
    all: Vec::new(),
});

/// The tracker for the tracking URI in effect, started on first use.
pub(crate) fn current() -> Arc<Tracker> {
    let mut g = lock(&GLOBAL);
    if let Some(t) = &g.current {
        return t.clone();
    }
    let tracker = Tracker::start(config::resolve_tracking_uri(g.explicit_uri.as_deref()));
    g.current = Some(tracker.clone());
    g.all.push(tracker.clone());
    tracker
}

/// A tracker of its own for `uri`, flushed at exit like the others.
pub(crate) fn for_uri(uri: &str) -> Result<Arc<Tracker>> {
    let tracker = Tracker::start(Ok(TrackingUri::parse(uri)?));
    lock(&GLOBAL).all.push(tracker.clone());
    Ok(tracker)
}

/// Sets the tracking URI for runs started from now on (runs already going keep theirs).
pub fn set_tracking_uri(uri: &str) -> Result<()> {
    let parsed = TrackingUri::parse(uri)?;
    let mut g = lock(&GLOBAL);
    let same = g
        .current
        .as_ref()
        .is_some_and(|t| t.uri_text == parsed.to_string());
    g.explicit_uri = Some(uri.trim().to_owned());
    if !same {
        g.current = None;
    }
    Ok(())
}

/// The tracking URI in effect (credentials redacted), as `set_tracking_uri`,
/// `MLFLOW_TRACKING_URI` or the default `sqlite:///mlflow.db` give it.
pub fn get_tracking_uri() -> String {
    let g = lock(&GLOBAL);
    match config::resolve_tracking_uri(g.explicit_uri.as_deref()) {
        Ok(uri) => uri.to_string(),
        Err(_) => g.explicit_uri.clone().unwrap_or_default(),
    }
}

/// Makes `name` the active experiment, creating it if it does not exist, and returns it.
/// Runs started afterwards without an explicit experiment go there.
///
/// This is the first contact with the store, so it waits for the answer and fails clearly
/// when the store cannot be reached.
pub fn set_experiment(name: &str) -> Result<Experiment> {
    current().set_experiment(name)
}

/// Waits until everything logged so far has been stored, and reports what could not be
/// (server errors, outages, runs that could not be created) since the last flush.
pub fn flush() -> Result<()> {
    let trackers = lock(&GLOBAL).all.clone();
    let mut failures = Vec::new();
    for t in trackers {
        match t.flush(None) {
            Ok(()) => {}
            Err(Error::Many(errs)) => failures.extend(errs),
            Err(e) => failures.push(e),
        }
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => Err(Error::Many(failures)),
    }
}

/// Flushes every tracker, each waiting at most `timeout`; for the signal handlers.
pub(crate) fn flush_all(timeout: Duration) -> Result<()> {
    let trackers = lock(&GLOBAL).all.clone();
    let mut failures = Vec::new();
    for t in trackers {
        if let Err(e) = t.flush(Some(timeout)) {
            failures.push(e);
        }
    }
    match failures.len() {
        0 => Ok(()),
        1 => Err(failures.remove(0)),
        _ => Err(Error::Many(failures)),
    }
}

/// `MLFLOW_RUN_ID` resumes the first top-level run of the process, as in the Python client,
/// which then forgets it.
pub(crate) fn take_resume_run_id() -> Option<String> {
    static TAKEN: AtomicBool = AtomicBool::new(false);
    let id = config::env_nonempty("MLFLOW_RUN_ID")?;
    (!TAKEN.swap(true, Ordering::AcqRel)).then_some(id)
}

/// Reports a failure that has no caller to return it to.
pub(crate) fn report(err: &Error) {
    tracing::error!("mlflow: {err}");
    eprintln!("mlflow: {err}");
}

/// Flushes every tracker when the process exits normally (`main` returns or
/// `std::process::exit`), so that nothing queued is lost.
fn register_exit_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `flush_at_exit` is an `extern "C" fn()` that never unwinds.
        let rc = unsafe { libc::atexit(flush_at_exit) };
        if rc != 0 {
            tracing::warn!(
                "mlflow: could not register the exit hook; call mlflow::flush() before exiting"
            );
        }
    });
}

extern "C" fn flush_at_exit() {
    let _ = std::panic::catch_unwind(|| {
        let trackers = match GLOBAL.try_lock() {
            Ok(g) => g.all.clone(),
            Err(_) => return,
        };
        for t in trackers {
            if let Err(e) = t.flush(Some(EXIT_FLUSH_TIMEOUT)) {
                report(&e);
            }
        }
    });
}
