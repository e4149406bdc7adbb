//! Where tracking data goes: the tracking URI and the settings read from the environment,
//! resolved as the Python client resolves them.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::base::env;
use crate::base::error::{Error, Result};

/// MLflow's own default since 3.7: an SQLite file in the working directory.
pub const DEFAULT_TRACKING_URI: &str = "sqlite:///mlflow.db";

/// A tracking URI this crate can serve.
#[derive(Clone, PartialEq, Eq)]
pub enum TrackingUri {
    /// An MLflow tracking server (`http://` or `https://`).
    Rest(Url),
    /// The embedded store: an SQLite file in MLflow's schema. Relative paths are relative to
    /// the working directory at the time the store is opened.
    Sqlite(PathBuf),
    /// Not for users: `memory://<name>`, the in-memory store of the tests registered under
    /// that name (built for the runtime's tests and with its `testing` feature).
    #[cfg(any(test, feature = "testing"))]
    #[doc(hidden)]
    Memory(String),
}

impl TrackingUri {
    /// Parses a tracking URI. URIs that MLflow accepts but this crate does not serve get an
    /// error that says what to use instead.
    pub fn parse(raw: &str) -> Result<TrackingUri> {
        let uri = raw.trim();
        if uri.is_empty() {
            return Err(Error::Config("the tracking URI is empty".into()));
        }
        let lower = uri.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let url = Url::parse(uri).map_err(|e| {
                Error::Config(format!("invalid tracking URI {}: {e}", redact_str(uri)))
            })?;
            return Ok(TrackingUri::Rest(url));
        }
        #[cfg(any(test, feature = "testing"))]
        if lower.starts_with("memory://") {
            let name = &uri["memory://".len()..];
            if name.is_empty() {
                return Err(Error::Config(format!(
                    "invalid memory tracking URI {uri:?}: it must name a registered store, such as memory://my-test"
                )));
            }
            return Ok(TrackingUri::Memory(name.to_owned()));
        }
        if let Some(rest) = lower.strip_prefix("sqlite:") {
            // sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy spells them.
            let path = &uri["sqlite:".len()..];
            let Some(path) = path.strip_prefix("///") else {
                return Err(Error::Config(format!(
                    "invalid SQLite tracking URI {uri:?}: use sqlite:///relative/path.db or sqlite:////absolute/path.db"
                )));
            };
            if path.is_empty() || rest.contains(":memory:") {
                return Err(Error::Config(format!(
                    "invalid SQLite tracking URI {uri:?}: it must name a database file, such as sqlite:///mlflow.db"
                )));
            }
            return Ok(TrackingUri::Sqlite(PathBuf::from(path)));
        }
        let scheme = match lower.split_once(':') {
            Some((s, _)) => s,
            None if lower == "databricks" || lower.starts_with("databricks-") => "databricks",
            None => "",
        };
        let hint = match scheme {
            "postgresql" | "postgres" | "mysql" | "mssql" | "postgresql+psycopg2" | "mysql+pymysql" => format!(
                "this crate writes SQLite files directly but not {scheme} databases; run `mlflow server --backend-store-uri {}` and set MLFLOW_TRACKING_URI=http://<host>:<port>",
                redact_str(uri)
            ),
            "databricks" | "databricks-uc" | "uc" => {
                "Databricks tracking is not supported; use an MLflow tracking server URL (http:// or https://) or sqlite:///mlflow.db".into()
            }
            "file" | "" => format!(
                "{uri:?} is a file-store path; MLflow's file store is in maintenance mode and disabled by default since MLflow 3.13. Use the default sqlite:///mlflow.db (move existing data with `mlflow migrate-filestore --source ./mlruns --target sqlite:///mlflow.db`) or a tracking server URL"
            ),
            other => format!(
                "unsupported tracking URI scheme {other:?}; use http://, https://, or sqlite:///path.db"
            ),
        };
        Err(Error::Config(hint))
    }

    /// The URI as another process must be given it: with its credentials (not the
    /// redacted display form), and an embedded store's file as an absolute path (relative
    /// to the working directory now), so that a worker started elsewhere finds it.
    pub fn for_other_processes(&self) -> Result<String> {
        match self {
            TrackingUri::Rest(url) => Ok(url.to_string()),
            TrackingUri::Sqlite(path) => {
                let path = std::path::absolute(path)
                    .map_err(|e| Error::io("cannot make absolute the database path", path, e))?;
                Ok(format!("sqlite:///{}", path.display()))
            }
            #[cfg(any(test, feature = "testing"))]
            TrackingUri::Memory(name) => Err(Error::Config(format!(
                "the memory store {name:?} lives in this process: another process cannot reach it"
            ))),
        }
    }

    /// True for the embedded SQLite store.
    pub fn is_sqlite(&self) -> bool {
        matches!(self, TrackingUri::Sqlite(_))
    }

    /// The URI itself when this build includes its store; else an [`Error::Config`] naming
    /// the Cargo feature that brings it (`rest` or `sqlite`, both on by default).
    pub fn require_store(self) -> Result<TrackingUri> {
        let (built, store, feature) = match &self {
            TrackingUri::Rest(_) => (
                cfg!(feature = "rest"),
                "the REST store (an MLflow tracking server)",
                "rest",
            ),
            TrackingUri::Sqlite(_) => (
                cfg!(feature = "sqlite"),
                "the embedded SQLite store",
                "sqlite",
            ),
            #[cfg(any(test, feature = "testing"))]
            TrackingUri::Memory(_) => return Ok(self),
        };
        if built {
            return Ok(self);
        }
        let instead = match (cfg!(feature = "rest"), cfg!(feature = "sqlite")) {
            (true, _) => {
                "; or use an http:// or https:// tracking server URI (mlflow::set_tracking_uri or MLFLOW_TRACKING_URI)"
            }
            (_, true) => {
                "; or use an sqlite:///path.db URI (mlflow::set_tracking_uri or MLFLOW_TRACKING_URI)"
            }
            (false, false) => "; this build has no store at all (neither \"rest\" nor \"sqlite\")",
        };
        Err(Error::Config(format!(
            "tracking URI \"{self}\" needs {store}, which this build left out: enable the \"{feature}\" feature of mlflow-tracking (on by default){instead}"
        )))
    }
}

impl fmt::Display for TrackingUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrackingUri::Rest(url) => f.write_str(&redact(url)),
            TrackingUri::Sqlite(path) => write!(f, "sqlite:///{}", path.display()),
            #[cfg(any(test, feature = "testing"))]
            TrackingUri::Memory(name) => write!(f, "memory://{name}"),
        }
    }
}

impl fmt::Debug for TrackingUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrackingUri({self})")
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some("***"));
    }
    if !shown.username().is_empty() {
        let _ = shown.set_username("***");
    }
    shown.to_string()
}

fn redact_str(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) => redact(&url),
        Err(_) => uri.to_owned(),
    }
}

/// The tracking URI in effect: `explicit` (from `set_tracking_uri`), else
/// `MLFLOW_TRACKING_URI`, else [`DEFAULT_TRACKING_URI`].
pub fn resolve_tracking_uri(explicit: Option<&str>) -> Result<TrackingUri> {
    let from_env = env::nonempty(env::TRACKING_URI);
    let raw = explicit
        .map(str::to_owned)
        .or(from_env)
        .unwrap_or_else(|| DEFAULT_TRACKING_URI.to_owned());
    TrackingUri::parse(&raw)
}

/// The model registry's URI, as Python's `get_registry_uri` resolves it: the one set with
/// `set_registry_uri` (`explicit`), else `MLFLOW_REGISTRY_URI`, else `None`: the tracking URI
/// in effect.
pub fn resolve_registry_uri(explicit: Option<&str>) -> Result<Option<TrackingUri>> {
    explicit
        .map(str::to_owned)
        .or_else(|| env::nonempty(env::REGISTRY_URI))
        .map(|raw| TrackingUri::parse(&raw))
        .transpose()
}

/// Environment variable: how many requests of different runs the sender may have under
/// way at once, per destination.
pub const HTTP_CONCURRENCY_ENV: &str = env::HTTP_CONCURRENCY;

/// Default of [`HTTP_CONCURRENCY_ENV`] for a server near by (under 20 ms of round trip, as
/// the first answers tell): measured against a default 4-worker `mlflow server` on
/// loopback, 2 to 4 requests at once take the seed sweep about 25% less time than 8 (the
/// server's SQLite writes contend), and against `--workers 1`, 8 take about 20% more than 4.
pub const DEFAULT_HTTP_CONCURRENCY_NEAR: usize = 4;

/// Default of [`HTTP_CONCURRENCY_ENV`] for a server farther away: requests waiting on the
/// round trip do not load the server, and 8 hide a 50 ms round trip where 4 do not.
pub const DEFAULT_HTTP_CONCURRENCY_FAR: usize = 8;

const MAX_HTTP_CONCURRENCY: usize = 64;

/// How many requests of different runs (creates, batches, status updates) a destination
/// may have under way at once, when `MLFLOW_RS_HTTP_CONCURRENCY` sets it (1 to 64); `None`
/// leaves it to the distance ([`DEFAULT_HTTP_CONCURRENCY_NEAR`],
/// [`DEFAULT_HTTP_CONCURRENCY_FAR`]). 1 sends the requests of different runs one after
/// another. The metric-only pieces of one run follow `MLFLOW_RS_HTTP_IN_FLIGHT` within this
/// bound. A server on SQLite may answer `database is locked` under much concurrency: such
/// answers are retried, and a lower number avoids them.
pub fn http_concurrency() -> Result<Option<usize>> {
    match env::nonempty(HTTP_CONCURRENCY_ENV) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_HTTP_CONCURRENCY).contains(&n) => Ok(Some(n)),
            _ => Err(Error::Config(format!(
                "{HTTP_CONCURRENCY_ENV}={v:?}: expected a whole number from 1 to {MAX_HTTP_CONCURRENCY}"
            ))),
        },
    }
}

/// The Python client's limit on `MLFLOW_HTTP_REQUEST_MAX_RETRIES`.
const MAX_RETRIES_LIMIT: u32 = 10;

/// The Python client's limit on `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`.
const MAX_BACKOFF_FACTOR_LIMIT: f64 = 120.0;

/// HTTP settings, named and defaulted as in the Python client.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// `MLFLOW_HTTP_REQUEST_MAX_RETRIES` (default 7; more than 10 is refused, as Python
    /// refuses it).
    pub max_retries: u32,
    /// `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` (default 2 s; more than 120 is refused).
    pub backoff_factor: f64,
    /// `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` (default 1 s).
    pub backoff_jitter: f64,
    /// `MLFLOW_HTTP_REQUEST_TIMEOUT` (default 120 s), per request.
    pub timeout: Duration,
    /// `MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT` (default: `timeout`): how long an artifact
    /// transfer may go without progress. Not a bound on the whole transfer, which may take
    /// as long as the file needs.
    pub transfer_idle_timeout: Duration,
    /// `MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER` (default true).
    pub respect_retry_after: bool,
}

impl HttpSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<HttpSettings> {
        let max_retries: u32 = env::number(env::HTTP_REQUEST_MAX_RETRIES, 7)?;
        let backoff_factor: f64 = env::number(env::HTTP_REQUEST_BACKOFF_FACTOR, 2.0)?;
        let backoff_jitter: f64 = env::number(env::HTTP_REQUEST_BACKOFF_JITTER, 1.0)?;
        let timeout: f64 = env::number(env::HTTP_REQUEST_TIMEOUT, 120.0)?;
        let transfer_idle: f64 = env::number(env::ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT, timeout)?;
        let respect_retry_after = match env::nonempty(env::HTTP_RESPECT_RETRY_AFTER_HEADER) {
            None => true,
            Some(v) => !matches!(v.trim().to_ascii_lowercase().as_str(), "false" | "0" | "no"),
        };
        let non_negative = |v: f64| v.is_finite() && v >= 0.0;
        let valid = non_negative(backoff_factor)
            && non_negative(backoff_jitter)
            && timeout.is_finite()
            && timeout > 0.0
            && transfer_idle.is_finite()
            && transfer_idle > 0.0;
        if !valid {
            return Err(Error::Config(
                "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, _JITTER must be >= 0, and MLFLOW_HTTP_REQUEST_TIMEOUT and MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT > 0".into(),
            ));
        }
        // Refused above the Python client's limits, as it refuses them, not clamped.
        if max_retries > MAX_RETRIES_LIMIT {
            return Err(Error::Config(format!(
                "{}={max_retries}: the configured max_retries value ({max_retries}) is in excess of the maximum allowable retries ({MAX_RETRIES_LIMIT})",
                env::HTTP_REQUEST_MAX_RETRIES
            )));
        }
        if backoff_factor > MAX_BACKOFF_FACTOR_LIMIT {
            return Err(Error::Config(format!(
                "{}={backoff_factor}: the configured backoff_factor value ({backoff_factor}) is in excess of the maximum allowable backoff_factor limit ({MAX_BACKOFF_FACTOR_LIMIT})",
                env::HTTP_REQUEST_BACKOFF_FACTOR
            )));
        }
        Ok(HttpSettings {
            max_retries,
            backoff_factor,
            backoff_jitter,
            timeout: Duration::from_secs_f64(timeout),
            transfer_idle_timeout: Duration::from_secs_f64(transfer_idle),
            respect_retry_after,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_get_credentials_and_absolute_paths() {
        let rest = TrackingUri::parse("https://user:s3cret@mlflow.example:8443/base").unwrap();
        assert_eq!(
            rest.for_other_processes().unwrap(),
            "https://user:s3cret@mlflow.example:8443/base"
        );
        assert!(
            !rest.to_string().contains("s3cret"),
            "the display form stays redacted"
        );
        let relative = TrackingUri::parse("sqlite:///runs/mlflow.db").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            relative.for_other_processes().unwrap(),
            format!("sqlite:///{}", cwd.join("runs/mlflow.db").display())
        );
        let absolute = TrackingUri::parse("sqlite:////tmp/x/mlflow.db").unwrap();
        assert_eq!(
            absolute.for_other_processes().unwrap(),
            "sqlite:////tmp/x/mlflow.db"
        );
    }

    #[test]
    fn parses_supported_uris() {
        assert!(matches!(
            TrackingUri::parse("http://127.0.0.1:5000").unwrap(),
            TrackingUri::Rest(_)
        ));
        assert_eq!(
            TrackingUri::parse("sqlite:///mlflow.db").unwrap(),
            TrackingUri::Sqlite("mlflow.db".into())
        );
        assert_eq!(
            TrackingUri::parse("sqlite:////tmp/x/m.db").unwrap(),
            TrackingUri::Sqlite("/tmp/x/m.db".into())
        );
    }

    #[test]
    fn rejects_unserved_uris_with_advice() {
        for (uri, needle) in [
            ("postgresql://u:p@h/db", "mlflow server --backend-store-uri"),
            ("databricks", "Databricks"),
            ("file:///tmp/mlruns", "migrate-filestore"),
            ("./mlruns", "sqlite:///mlflow.db"),
            ("ftp://x", "unsupported"),
            ("sqlite://rel.db", "sqlite:///"),
        ] {
            let err = TrackingUri::parse(uri).unwrap_err().to_string();
            assert!(err.contains(needle), "{uri}: {err}");
        }
        let err = TrackingUri::parse("postgresql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn a_store_left_out_is_a_config_error_naming_its_feature() {
        for (uri, feature, built) in [
            (
                "https://u:pw@example.invalid/",
                "rest",
                cfg!(feature = "rest"),
            ),
            ("sqlite:///mlflow.db", "sqlite", cfg!(feature = "sqlite")),
        ] {
            let parsed = TrackingUri::parse(uri).unwrap();
            match parsed.clone().require_store() {
                Ok(same) => assert!(built && same == parsed, "{uri}"),
                Err(Error::Config(message)) => {
                    assert!(!built, "{uri}: {message}");
                    let needle = format!("enable the \"{feature}\" feature of mlflow-tracking");
                    assert!(message.contains(&needle), "{message}");
                    assert!(!message.contains("pw"), "{message}");
                }
                Err(other) => panic!("{uri}: {other:?}"),
            }
        }
    }

    #[test]
    fn redacts_credentials() {
        let uri = TrackingUri::parse("https://bob:hunter2@example.invalid/path").unwrap();
        let shown = uri.to_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("bob"),
            "{shown}"
        );
    }
}
