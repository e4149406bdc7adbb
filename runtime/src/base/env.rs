//! Every environment variable the crate reads, in one table, and the only reads of the
//! environment: MLflow's own variables, read as the Python client reads them, then the
//! crate's `MLFLOW_RS_*` tuning variables.

use std::str::FromStr;

use crate::base::error::{Error, Result};

// ---- MLflow's variables (the Python client's names and meanings) ----------------------

/// The tracking URI, when `set_tracking_uri` was not called.
pub const TRACKING_URI: &str = "MLFLOW_TRACKING_URI";
/// The model registry's URI, when `set_registry_uri` was not called; else the tracking URI.
pub const REGISTRY_URI: &str = "MLFLOW_REGISTRY_URI";
/// The experiment (by name, created if missing) for runs that name none.
pub const EXPERIMENT_NAME: &str = "MLFLOW_EXPERIMENT_NAME";
/// The experiment (by id) for runs that name none, when no name is set.
pub const EXPERIMENT_ID: &str = "MLFLOW_EXPERIMENT_ID";
/// A run to resume: the first top-level run of the process resumes it.
pub const RUN_ID: &str = "MLFLOW_RUN_ID";
/// Basic authentication's user (and `mlflow.user`).
pub const TRACKING_USERNAME: &str = "MLFLOW_TRACKING_USERNAME";
/// Basic authentication's password.
pub const TRACKING_PASSWORD: &str = "MLFLOW_TRACKING_PASSWORD";
/// A bearer token, when no user and password are set.
pub const TRACKING_TOKEN: &str = "MLFLOW_TRACKING_TOKEN";
/// A CA bundle (PEM) to verify the server with.
pub const TRACKING_SERVER_CERT_PATH: &str = "MLFLOW_TRACKING_SERVER_CERT_PATH";
/// `true` to skip verifying the server's certificate.
pub const TRACKING_INSECURE_TLS: &str = "MLFLOW_TRACKING_INSECURE_TLS";
/// A client certificate and key (PEM) for mutual TLS.
pub const TRACKING_CLIENT_CERT_PATH: &str = "MLFLOW_TRACKING_CLIENT_CERT_PATH";
/// Retries of a failed request (default 7, at most 10).
pub const HTTP_REQUEST_MAX_RETRIES: &str = "MLFLOW_HTTP_REQUEST_MAX_RETRIES";
/// Backoff factor in seconds (default 2, at most 120).
pub const HTTP_REQUEST_BACKOFF_FACTOR: &str = "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR";
/// Random extra backoff in seconds (default 1).
pub const HTTP_REQUEST_BACKOFF_JITTER: &str = "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER";
/// Timeout of one request in seconds (default 120).
pub const HTTP_REQUEST_TIMEOUT: &str = "MLFLOW_HTTP_REQUEST_TIMEOUT";
/// Seconds an artifact upload or download may go without progress before it fails (default:
/// `MLFLOW_HTTP_REQUEST_TIMEOUT`); an idle timeout, not a bound on the whole transfer.
pub const ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT: &str = "MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT";
/// Whether a `Retry-After` header is honoured (default true).
pub const HTTP_RESPECT_RETRY_AFTER_HEADER: &str = "MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER";
/// `true` to print no "View run" links when runs end.
pub const SUPPRESS_PRINTING_URL_TO_STDOUT: &str = "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT";
/// `true` to log system metrics for every run.
pub const ENABLE_SYSTEM_METRICS_LOGGING: &str = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING";
/// Seconds between system metrics samples (default 10).
pub const SYSTEM_METRICS_SAMPLING_INTERVAL: &str = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL";
/// Samples averaged into each logged system metrics value (default 1).
pub const SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING: &str =
    "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING";
/// A node id: system metrics are logged as `system/<node id>/...`.
pub const SYSTEM_METRICS_NODE_ID: &str = "MLFLOW_SYSTEM_METRICS_NODE_ID";
/// Extra tags for every run, as a JSON object (`{"team": "vision"}`): Python's
/// `SystemEnvironmentContext`. They override the other system tags; the caller's tags
/// override them.
pub const RUN_CONTEXT: &str = "MLFLOW_RUN_CONTEXT";

/// `true` to upload large files through a proxying server in parts, to presigned URLs of its
/// object store (`mlflow-artifacts/mpu/*`); unset: as the server's `/server-info` says, as
/// in Python.
pub const ENABLE_PROXY_MULTIPART_UPLOAD: &str = "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD";
/// Files of at least this many bytes go up in parts through the proxy (default 500 MiB).
pub const MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: &str = "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE";
/// The size of each part of a proxied multipart upload, in bytes (default 10 MiB).
pub const MULTIPART_UPLOAD_CHUNK_SIZE: &str = "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE";
/// `true`/`false`: downloads from a proxying server through presigned URLs, in ranges
/// (unset: as the server's `/server-info` says).
pub const ENABLE_PROXY_MULTIPART_DOWNLOAD: &str = "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD";
/// Bytes per range of a presigned download.
pub const MULTIPART_DOWNLOAD_CHUNK_SIZE: &str = "MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE";
/// The S3 API's address for `s3://` artifact URIs (MinIO, moto, another S3-compatible store).
pub const S3_ENDPOINT_URL: &str = "MLFLOW_S3_ENDPOINT_URL";
/// `true` to skip verifying the S3 endpoint's certificate.
pub const S3_IGNORE_TLS: &str = "MLFLOW_S3_IGNORE_TLS";
/// `path` (the default for a custom endpoint) or `virtual`: how bucket names go in S3 URLs.
pub const BOTO_CLIENT_ADDRESSING_STYLE: &str = "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE";

// ---- The AWS SDK's variables (as boto3 reads them) -------------------------------------

/// Every `AWS_*` variable is handed to the S3 client (`object_store` knows the keys, region,
/// session token, endpoint and the providers of cloud machines); these few are read here too.
pub const AWS_PREFIX: &str = "AWS_";
/// The profile of the shared credential and config files (default `default`).
pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// The shared credentials file (default `~/.aws/credentials`).
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
/// The shared config file (default `~/.aws/config`).
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
/// The access key id; with the secret key, it wins over the files.
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
/// The web identity token file (Kubernetes' IRSA): the SDK's provider wins over the files.
pub const AWS_WEB_IDENTITY_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
/// The region (`AWS_DEFAULT_REGION` is the other name boto3 reads).
pub const AWS_REGION: &str = "AWS_REGION";
/// The region, as boto3 names it first.
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";

/// What `getpass.getuser()` reads, in its order, after [`TRACKING_USERNAME`].
pub(crate) const LOGIN_NAMES: [&str; 4] = ["LOGNAME", "USER", "LNAME", "USERNAME"];

// ---- The crate's own variables ---------------------------------------------------------

/// Where spill files go (default `./mlflow-spill`).
pub const SPILL_DIR: &str = "MLFLOW_RS_SPILL_DIR";
/// Requests of different runs under way at once, per destination (1 to 64; default 4 for a
/// server near by, 8 for one 20 ms or more away).
pub const HTTP_CONCURRENCY: &str = "MLFLOW_RS_HTTP_CONCURRENCY";
/// Metric-only batches of one run under way at once (default 4).
pub const HTTP_IN_FLIGHT: &str = "MLFLOW_RS_HTTP_IN_FLIGHT";
/// How long the first contact with a server may take before it counts as down (seconds).
pub const FIRST_CONTACT_TIMEOUT: &str = "MLFLOW_RS_FIRST_CONTACT_TIMEOUT";
/// `true`, `false` or `auto`: whether connections are kept alive.
pub const HTTP_KEEPALIVE: &str = "MLFLOW_RS_HTTP_KEEPALIVE";
/// How long Ctrl-C and SIGTERM wait for queued data to be stored (seconds).
pub const SIGNAL_FLUSH_TIMEOUT: &str = "MLFLOW_RS_SIGNAL_FLUSH_TIMEOUT";
/// The run that a worker process's top-level runs nest under (set by `configure_worker`).
pub const PARENT_RUN_ID: &str = "MLFLOW_RS_PARENT_RUN_ID";
/// The worker's number, recorded as the `mlflow.rs.workerId` tag (set by
/// `configure_worker`).
pub const WORKER_ID: &str = "MLFLOW_RS_WORKER_ID";

// ---- Readers ---------------------------------------------------------------------------

/// A variable's value, when set and not blank.
pub fn nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Every variable whose name starts with `prefix`, with a value that is not blank.
#[cfg(feature = "s3")]
pub(crate) fn with_prefix(prefix: &str) -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, v)| k.starts_with(prefix) && !v.trim().is_empty())
        .collect()
}

/// The home folder, for files such as `~/.aws/credentials`.
#[cfg(feature = "s3")]
pub(crate) fn home() -> Option<std::path::PathBuf> {
    nonempty("HOME").map(std::path::PathBuf::from)
}

/// A variable's value as set, blank or not.
pub(crate) fn raw(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A boolean variable as the Python client reads one (`_BooleanEnvironmentVariable`): `true`,
/// `false`, `1` or `0` in any case. `Ok(None)` when unset; `Err(value)` for anything else,
/// which Python refuses and each caller reports in its own words.
pub(crate) fn flag(name: &str) -> std::result::Result<Option<bool>, String> {
    let Some(value) = nonempty(name) else {
        return Ok(None);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(Some(true)),
        "false" | "0" => Ok(Some(false)),
        _ => Err(value),
    }
}

/// A numeric variable, `default` when unset; a value that does not parse is an error rather
/// than a silent default.
pub(crate) fn number<T: FromStr>(name: &str, default: T) -> Result<T> {
    match nonempty(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| Error::Config(format!("{name}={v:?} is not a valid number"))),
    }
}

/// The experiment for runs that name none and for searches that name none, as the
/// environment chooses it. The same rule online and offline (see the sender's experiment
/// resolver), and for searches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DefaultExperiment {
    /// `MLFLOW_EXPERIMENT_NAME`: this experiment, created if missing. When
    /// `MLFLOW_EXPERIMENT_ID` is set too, an existing experiment of that name must have that
    /// id (`INVALID_PARAMETER_VALUE` otherwise, as in Python); a missing one is created
    /// whatever the id says, as Python does.
    Named {
        /// The experiment's name.
        name: String,
        /// `MLFLOW_EXPERIMENT_ID`, when set beside the name.
        expected_id: Option<String>,
    },
    /// `MLFLOW_EXPERIMENT_ID` alone: this experiment, which must exist.
    Id(String),
    /// Neither: MLflow's Default experiment, "0".
    Default,
}

/// The experiment the environment names for runs that name none (Python's
/// `_get_experiment_id_from_env`).
pub(crate) fn default_experiment() -> DefaultExperiment {
    let id = nonempty(EXPERIMENT_ID).map(|id| id.trim().to_owned());
    match nonempty(EXPERIMENT_NAME) {
        Some(name) => DefaultExperiment::Named {
            name,
            expected_id: id,
        },
        None => match id {
            Some(id) => DefaultExperiment::Id(id),
            None => DefaultExperiment::Default,
        },
    }
}

/// The error for an experiment named by `MLFLOW_EXPERIMENT_NAME` whose id is not the
/// `MLFLOW_EXPERIMENT_ID` set beside it, in Python's words.
pub(crate) fn id_mismatch(name: &str, expected_id: &str, found_id: &str) -> Error {
    Error::api(
        400,
        "INVALID_PARAMETER_VALUE",
        format!(
            "the {EXPERIMENT_ID} environment variable value `{expected_id}` does not match the experiment id `{found_id}` for experiment name `{name}` ({EXPERIMENT_NAME}); set only one"
        ),
    )
}

/// The error for `MLFLOW_EXPERIMENT_ID` naming no experiment, in Python's words.
pub(crate) fn missing_id(id: &str) -> Error {
    Error::api(
        400,
        "INVALID_PARAMETER_VALUE",
        format!(
            "the {EXPERIMENT_ID} environment variable value `{id}` does not exist in the tracking store; provide a valid experiment id"
        ),
    )
}
