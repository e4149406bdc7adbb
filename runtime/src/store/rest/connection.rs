//! How connections to a tracking server are set up from the environment, as the Python
//! client reads it: credentials, TLS, requests in flight (connection reuse: `reuse.rs`).

use reqwest::header::HeaderValue;
use url::Url;

use crate::base::env;
use crate::base::error::{Error, Result};

/// Environment variable choosing how many log-batch requests of one run may be under way.
pub const IN_FLIGHT_ENV: &str = env::HTTP_IN_FLIGHT;

/// Default number of log-batch requests of one run under way at once.
pub const DEFAULT_IN_FLIGHT: usize = 4;

const MAX_IN_FLIGHT: usize = 32;

/// How many metric-only log-batch requests of one run may be under way at once. The
/// default, 4, matches `mlflow server`'s default uvicorn workers: measured on loopback, 4
/// concurrent requests take about 1.6x the points per second of one at a time.
/// `MLFLOW_RS_HTTP_IN_FLIGHT=1` sends strictly one request at a time.
pub(super) fn in_flight() -> Result<usize> {
    match env::nonempty(IN_FLIGHT_ENV) {
        None => Ok(DEFAULT_IN_FLIGHT),
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_IN_FLIGHT).contains(&n) => Ok(n),
            _ => Err(Error::Config(format!(
                "{IN_FLIGHT_ENV}={v:?}: expected a whole number from 1 to {MAX_IN_FLIGHT}"
            ))),
        },
    }
}

/// `Authorization` from the environment, as `rest_utils.http_request` builds it: Basic from
/// `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` wins over a Bearer
/// `MLFLOW_TRACKING_TOKEN`; credentials in the URI come last.
pub(super) fn auth_header(url: &Url) -> Result<Option<HeaderValue>> {
    use base64::Engine as _;
    let encode = |raw: &[u8]| base64::engine::general_purpose::STANDARD.encode(raw);
    let user = env::nonempty(env::TRACKING_USERNAME);
    let pass = env::nonempty(env::TRACKING_PASSWORD);
    let value = match (user, pass, env::nonempty(env::TRACKING_TOKEN)) {
        (Some(u), Some(p), _) => format!("Basic {}", encode(format!("{u}:{p}").as_bytes())),
        (_, _, Some(token)) => format!("Bearer {token}"),
        _ if !url.username().is_empty() => {
            let u = percent_decode(url.username());
            let p = url.password().map(percent_decode).unwrap_or_default();
            format!("Basic {}", encode(format!("{u}:{p}").as_bytes()))
        }
        _ => return Ok(None),
    };
    let mut header = HeaderValue::from_str(&value).map_err(|_| {
        Error::Config(
            "tracking credentials contain characters not allowed in an HTTP header".into(),
        )
    })?;
    header.set_sensitive(true);
    Ok(Some(header))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// TLS settings: verification on by default; `MLFLOW_TRACKING_SERVER_CERT_PATH` adds a CA,
/// `MLFLOW_TRACKING_CLIENT_CERT_PATH` a client certificate (PEM with its key), and
/// `MLFLOW_TRACKING_INSECURE_TLS=true` turns verification off, loudly.
pub(super) fn tls(mut builder: reqwest::ClientBuilder) -> Result<reqwest::ClientBuilder> {
    let read = |var: &str, path: &str| {
        std::fs::read(path).map_err(|e| Error::Config(format!("{var}={path}: {e}")))
    };
    let insecure = env::nonempty(env::TRACKING_INSECURE_TLS)
        .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"));
    let cert_path = env::nonempty(env::TRACKING_SERVER_CERT_PATH);
    if insecure && cert_path.is_some() {
        // The Python client refuses the pair the same way (MlflowHostCreds).
        return Err(Error::Config(
            "MLFLOW_TRACKING_INSECURE_TLS and MLFLOW_TRACKING_SERVER_CERT_PATH are both set: only one of these may be set (skip verification, or verify with that CA bundle)".into(),
        ));
    }
    if let Some(path) = cert_path {
        let pem = read("MLFLOW_TRACKING_SERVER_CERT_PATH", &path)?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            Error::Config(format!(
                "MLFLOW_TRACKING_SERVER_CERT_PATH={path}: not a PEM certificate: {e}"
            ))
        })?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    } else if insecure {
        tracing::warn!(
            "mlflow: MLFLOW_TRACKING_INSECURE_TLS is set: server certificates are NOT verified"
        );
        eprintln!(
            "mlflow: warning: MLFLOW_TRACKING_INSECURE_TLS is set: server certificates are NOT verified"
        );
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(path) = env::nonempty(env::TRACKING_CLIENT_CERT_PATH) {
        let pem = read("MLFLOW_TRACKING_CLIENT_CERT_PATH", &path)?;
        let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
            Error::Config(format!("MLFLOW_TRACKING_CLIENT_CERT_PATH={path}: need a PEM file with certificate and private key: {e}"))
        })?;
        builder = builder.identity(id);
    }
    Ok(builder)
}
