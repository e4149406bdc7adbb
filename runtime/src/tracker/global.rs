//! The process-wide choice of destination: the tracking URI in effect, every destination
//! started (flushed at exit), and `MLFLOW_RUN_ID`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use super::destination::Tracker;
use crate::base::config::{self, TrackingUri};
use crate::base::env;
use crate::base::error::{Error, Result, report};
use crate::base::model::Experiment;
use crate::base::sync::lock;

/// How long the exit hook waits for queued data to be stored.
const EXIT_FLUSH_TIMEOUT: Duration = Duration::from_secs(120);

struct Global {
    explicit_uri: Option<String>,
    current: Option<Arc<Tracker>>,
    /// Every tracker ever started: the exit hook flushes them all.
    all: Vec<Arc<Tracker>>,
    /// Set by `set_registry_uri`.
    explicit_registry: Option<String>,
    /// The destination of a registry URI other than the tracking URI, started on first use.
    registry: Option<Arc<Tracker>>,
}

static GLOBAL: Mutex<Global> = Mutex::new(Global {
    explicit_uri: None,
    current: None,
    all: Vec::new(),
    explicit_registry: None,
    registry: None,
});

/// The tracker for the tracking URI in effect, started on first use.
pub(crate) fn current() -> Arc<Tracker> {
    let mut g = lock(&GLOBAL);
    if let Some(t) = &g.current {
        return t.clone();
    }
    let uri = config::resolve_tracking_uri(g.explicit_uri.as_deref());
    let tracker = Tracker::start(uri.and_then(TrackingUri::require_store));
    register_exit_hook();
    g.current = Some(tracker.clone());
    g.all.push(tracker.clone());
    tracker
}

/// A tracker of its own for `uri`, flushed at exit like the others.
pub(crate) fn for_uri(uri: &str) -> Result<Arc<Tracker>> {
    let tracker = Tracker::start(Ok(TrackingUri::parse(uri)?.require_store()?));
    register_exit_hook();
    lock(&GLOBAL).all.push(tracker.clone());
    Ok(tracker)
}

/// Sets the tracking URI for runs started from now on (runs already going keep theirs).
pub fn set_tracking_uri(uri: &str) -> Result<()> {
    let parsed = TrackingUri::parse(uri)?.require_store()?;
    let mut g = lock(&GLOBAL);
    let same = g
        .current
        .as_ref()
        .is_some_and(|t| t.uri() == parsed.to_string());
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

/// Sets the model registry's URI, as Python's `mlflow.set_registry_uri`: registry calls
/// (`register_model`, the registry methods of [`Client`](crate::Client), `models:/<name>/..`
/// downloads) go there from now on. Unset, `MLFLOW_REGISTRY_URI` decides, else the tracking
/// URI in effect. The same URIs as the tracking URI are accepted.
pub fn set_registry_uri(uri: &str) -> Result<()> {
    TrackingUri::parse(uri)?.require_store()?;
    lock(&GLOBAL).explicit_registry = Some(uri.trim().to_owned());
    Ok(())
}

/// The model registry's URI in effect (credentials redacted): `set_registry_uri`'s, else
/// `MLFLOW_REGISTRY_URI`, else the tracking URI.
pub fn get_registry_uri() -> String {
    let explicit = lock(&GLOBAL).explicit_registry.clone();
    match config::resolve_registry_uri(explicit.as_deref()) {
        Ok(Some(uri)) => uri.to_string(),
        Ok(None) => get_tracking_uri(),
        Err(_) => explicit.unwrap_or_default(),
    }
}

/// The destination that keeps the registry for calls whose tracking destination is
/// `tracking`: that one when the registry URI is unset or the same, else the registry URI's
/// own (started once).
pub(crate) fn registry_for(tracking: &Arc<Tracker>) -> Result<Arc<Tracker>> {
    let explicit = lock(&GLOBAL).explicit_registry.clone();
    let Some(uri) = config::resolve_registry_uri(explicit.as_deref())? else {
        return Ok(tracking.clone());
    };
    let uri = uri.require_store()?;
    if uri.to_string() == tracking.uri() {
        return Ok(tracking.clone());
    }
    {
        let g = lock(&GLOBAL);
        if let Some(current) = g.current.as_ref().filter(|t| t.uri() == uri.to_string()) {
            return Ok(current.clone());
        }
        if let Some(registry) = g.registry.as_ref().filter(|t| t.uri() == uri.to_string()) {
            return Ok(registry.clone());
        }
    }
    let tracker = Tracker::start(Ok(uri));
    register_exit_hook();
    let mut g = lock(&GLOBAL);
    g.all.push(tracker.clone());
    g.registry = Some(tracker.clone());
    Ok(tracker)
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
    let id = env::nonempty(env::RUN_ID)?;
    (!TAKEN.swap(true, Ordering::AcqRel)).then_some(id)
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
