//! The crate's one error type.

use std::sync::Arc;

/// Everything that can go wrong when tracking.
///
/// Errors that the caller can know about on the spot (bad key, no active run, a changed
/// param) are returned by the logging call. What the store says later (server errors,
/// outages) is reported by [`flush`](crate::flush) and when a run ends.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tracking server answered with an MLflow error.
    #[error("MLflow server returned HTTP {status} {error_code}: {message}")]
    Api {
        /// HTTP status code.
        status: u16,
        /// MLflow's error code, such as `INVALID_PARAMETER_VALUE`.
        error_code: String,
        /// The server's message.
        message: String,
    },

    /// The server could not be reached, or its answer could not be read.
    #[error("request to {url} failed: {message}")]
    Transport {
        /// The request's URL, credentials redacted.
        url: String,
        /// What went wrong.
        message: String,
    },

    /// The tracking URI, an environment variable or another setting is unusable: fix the
    /// configuration named in the message.
    #[error("configuration error: {0}")]
    Config(String),

    /// An argument the call cannot work with (an empty experiment name, an artifact path
    /// that leaves the run's folder, a value that cannot be logged).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A local file or folder could not be read or written (the spill file, an artifact, a
    /// download's destination): the disk, the permissions, the path.
    #[error("{context} {}: {source}", path.display())]
    Io {
        /// What the file is, such as `spill file` or `artifact`.
        context: String,
        /// The file or folder.
        path: std::path::PathBuf,
        /// The operating system's error.
        #[source]
        source: Arc<std::io::Error>,
    },

    /// Something did not finish in the time it was given.
    #[error("{what} did not finish within {} s", after.as_secs_f64())]
    Timeout {
        /// What was waited for.
        what: String,
        /// How long.
        after: std::time::Duration,
    },

    /// A failure inside the crate that no setting or input explains (a broken invariant, a
    /// thread or runtime that could not start): please report it with its message.
    #[error("internal error in mlflow (please report it): {0}")]
    Internal(String),

    /// A logging call was made with no run active on this thread or task.
    #[error(
        "no active run: call this inside a #[mlflow::parent_run]/#[mlflow::child_run] function or while a `mlflow::start_run()` guard is alive"
    )]
    NoActiveRun,

    /// A key that MLflow would reject.
    #[error("invalid {kind} key {key:?}: {reason}")]
    InvalidKey {
        /// `param`, `metric` or `tag`.
        kind: &'static str,
        /// The offending key.
        key: String,
        /// Why it is rejected.
        reason: String,
    },

    /// A value that MLflow would reject.
    #[error("invalid value for {kind} {key:?}: {reason}")]
    InvalidValue {
        /// `param`, `metric` or `tag`.
        kind: &'static str,
        /// The key the value was logged under.
        key: String,
        /// Why it is rejected.
        reason: String,
    },

    /// A param was logged again with a different value; params are write-once.
    #[error("param {key:?} was already logged with value {old:?}; cannot change it to {new:?}")]
    ParamChanged {
        /// The param's key.
        key: String,
        /// The value logged first.
        old: String,
        /// The value refused.
        new: String,
    },

    /// The embedded SQLite store failed.
    #[error("SQLite store {path}: {message}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What went wrong.
        message: String,
        /// The underlying error, when there is one (a `rusqlite::Error`; reach it with
        /// `downcast_ref`). Typed as a trait object so that `Error` is the same type whichever
        /// stores the build includes.
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },

    /// A run could not be created, so data logged to it was not stored.
    #[error("run {run_name:?} could not be created: {source}")]
    RunNotCreated {
        /// The run's name.
        run_name: String,
        /// Why.
        #[source]
        source: Box<Error>,
    },

    /// A run could not be nested under the parent run it names (by
    /// [`parent_id`](crate::RunBuilder::parent_id), `MLFLOW_RS_PARENT_RUN_ID` or a handle
    /// attached by id): the parent does not exist in this store, is deleted, or the run to
    /// resume already has another parent.
    #[error("parent run {parent_run_id}: {reason}")]
    ParentRun {
        /// The parent's run id.
        parent_run_id: String,
        /// Why the run cannot nest under it.
        reason: String,
    },

    /// Data could not be delivered to the store.
    #[error("{count} value(s) for run {run:?} were not stored: {source}")]
    Undelivered {
        /// The run's id or name.
        run: String,
        /// How many metrics, params and tags were affected.
        count: usize,
        /// Why.
        #[source]
        source: Box<Error>,
    },

    /// Data could not be delivered and was written to a spill file instead (see
    /// `mlflow::spill`): it is sent when the store answers again, or by `replay_spill`.
    #[error(
        "{count} value(s) in {lines} operation(s) could not be delivered ({source}) and wait in the spill file {path}; they are sent when the store is back, or replay them with mlflow::replay_spill"
    )]
    Spilled {
        /// The spill file.
        path: String,
        /// Lines (operations) waiting in it.
        lines: usize,
        /// Metrics, params, tags and status changes in those lines.
        count: usize,
        /// Why they could not be delivered.
        #[source]
        source: Box<Error>,
    },

    /// The background sender is gone (the process is shutting down).
    #[error("the mlflow background sender has stopped")]
    SenderStopped,

    /// Several failures, reported together by [`flush`](crate::flush).
    #[error("{} failure(s) while storing tracking data; first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Many(Vec<Error>),
}

impl Error {
    /// MLflow's error code when the server (or the embedded store, which uses the same
    /// codes) gave one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api { error_code, .. } => Some(error_code),
            Error::ParamChanged { .. }
            | Error::InvalidKey { .. }
            | Error::InvalidValue { .. }
            | Error::InvalidArgument(_) => Some("INVALID_PARAMETER_VALUE"),
            _ => None,
        }
    }

    /// Builds an MLflow-style error as the embedded store reports it.
    pub fn api(status: u16, error_code: &str, message: impl Into<String>) -> Error {
        Error::Api {
            status,
            error_code: error_code.to_owned(),
            message: message.into(),
        }
    }

    /// A failed read or write of the local file `path`; `context` says what the file is.
    pub fn io(
        context: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
        source: std::io::Error,
    ) -> Error {
        Error::Io {
            context: context.into(),
            path: path.into(),
            source: Arc::new(source),
        }
    }

    /// Wraps an error of the SQLite library for the database at `path`.
    pub fn sqlite(
        path: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Sqlite {
            path: path.into(),
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }
}

/// HTTP status codes the official client retries: the server is overloaded or down, not
/// refusing the request.
pub(crate) const RETRY_CODES: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// True for the HTTP statuses the official client retries (408, 429, 500, 502, 503, 504).
pub(crate) fn is_retry_status(status: u16) -> bool {
    RETRY_CODES.contains(&status)
}

/// Query parameters of presigned URLs that grant access: their values never go into an
/// error, a log line or a spill file.
#[cfg(any(feature = "rest", feature = "s3", test))]
const SIGNED_PARAMS: [&str; 5] = [
    "x-amz-signature=",
    "x-amz-credential=",
    "x-amz-security-token=",
    "signature=",
    "awsaccesskeyid=",
];

/// `text` with the values of presigned URLs' signing parameters (`X-Amz-Signature`,
/// `X-Amz-Credential`, `X-Amz-Security-Token`, ...) replaced by `***`.
#[cfg(any(feature = "rest", feature = "s3", test))]
pub(crate) fn without_signatures(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let hit = SIGNED_PARAMS.iter().find(|p| {
            lower[i..].starts_with(*p)
                && (i == 0 || matches!(text.as_bytes()[i - 1], b'?' | b'&' | b'-' | b' '))
        });
        match hit {
            Some(p) => {
                out.push_str(&text[i..i + p.len()]);
                out.push_str("***");
                i += p.len();
                while i < text.len()
                    && !matches!(text.as_bytes()[i], b'&' | b' ' | b'"' | b'\'' | b')' | b'<')
                {
                    i += 1;
                }
            }
            None => {
                let c = text[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Says something worth knowing that is not a failure (an outage began: logging goes on).
pub(crate) fn warn(message: &str) {
    tracing::warn!("mlflow: {message}");
    eprintln!("mlflow: {message}");
}

/// Reports a failure that has no caller to return it to.
pub(crate) fn report(err: &Error) {
    tracing::error!("mlflow: {err}");
    eprintln!("mlflow: {err}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_taken_out() {
        let url =
            "PUT http://h/b/k?partNumber=1&X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc123 failed";
        let shown = without_signatures(url);
        assert!(
            !shown.contains("abc123") && !shown.contains("AKIA"),
            "{shown}"
        );
        assert!(
            shown.contains("partNumber=1") && shown.ends_with(" failed"),
            "{shown}"
        );
        assert_eq!(without_signatures("plain é text"), "plain é text");
    }
}
