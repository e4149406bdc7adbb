//! Requests to an MLflow server: one client per server, with its connections, retries
//! with backoff as the Python client retries, the bound on the first contact, and MLflow's
//! errors kept with their code and message.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use backon::Retryable;
use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::connection::{auth_header, tls};
use super::retry::{self, Failure, Idempotency};
use super::reuse::Connections;
use super::wire::{ErrorBody, GetExperimentResponse};
use crate::base::config::{self, HttpSettings};
use crate::base::env;
use crate::base::error::{Error, Result, is_retry_status};
use crate::base::model::Experiment;

/// Environment variable bounding how long the first contact with a server may take.
pub const FIRST_CONTACT_TIMEOUT_ENV: &str = env::FIRST_CONTACT_TIMEOUT;

/// Default bound on the first contact, in seconds.
pub const DEFAULT_FIRST_CONTACT_TIMEOUT: Duration = Duration::from_secs(30);

/// Asked while a request is being retried: true when the caller would rather have the
/// failure now (its queue is filling up) than wait out the backoff.
pub type GiveUp = Arc<dyn Fn() -> bool + Send + Sync>;

/// The requests to one server.
pub(super) struct ApiClient {
    pub(super) http: Connections,
    /// For artifact downloads: no bound on a transfer's length, the read timeout (reset by
    /// every read) at `transfer_idle_timeout`.
    pub(super) downloads: reqwest::Client,
    /// For artifact uploads: no timeout at all here (reqwest's read timeout would run from
    /// the request's start, through a long upload); `artifacts.rs` watches for idle time.
    pub(super) uploads: reqwest::Client,
    /// For presigned URLs of the server's object store, downloads and uploads as above but
    /// without the server's credentials.
    pub(super) store_downloads: reqwest::Client,
    pub(super) store_uploads: reqwest::Client,
    /// What the server said it can do, asked once.
    server_info: std::sync::OnceLock<ServerInfo>,
    /// `<tracking uri>/api/2.0/mlflow/`, keeping any path prefix of the tracking URI.
    pub(super) api: Url,
    /// The tracking URI without credentials, for messages.
    pub(super) shown: String,
    pub(super) settings: HttpSettings,
    /// Set once the server has answered anything: until then, failures are bounded by
    /// `first_contact` instead of the full retry schedule.
    contacted: AtomicBool,
    first_contact: Duration,
    pub(super) give_up: Option<GiveUp>,
}

/// What a server says it can do (`/api/3.0/mlflow/server-info`); nothing for a server
/// that does not answer it (MLflow 2.x), as the Python client takes it.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub(super) struct ServerInfo {
    #[serde(default)]
    pub(super) multipart_uploads_enabled: bool,
    #[serde(default)]
    pub(super) multipart_downloads_enabled: bool,
}

/// One attempt's failure, kept with what the retry decision needs.
pub(super) struct Attempt {
    pub(super) failure: Failure,
    pub(super) retry_after: Option<Duration>,
    pub(super) error: Error,
}

impl ApiClient {
    /// A client for the server at `url`, with credentials, TLS and HTTP settings read from
    /// the environment as the Python client reads them.
    pub(super) fn new(url: &Url, settings: HttpSettings) -> Result<ApiClient> {
        let shown = config::redact(url);
        let mut api = url.clone();
        let prefix = api.path().trim_end_matches('/').to_owned();
        api.set_path(&format!("{prefix}/api/2.0/mlflow/"));
        api.set_query(None);
        let mut headers = HeaderMap::new();
        if let Some(auth) = auth_header(url)? {
            headers.insert(AUTHORIZATION, auth);
        }
        // The server may leave Nagle on; on our side every request goes out at once.
        let builder = || {
            tls(reqwest::Client::builder()
                .tcp_nodelay(true)
                .timeout(settings.timeout)
                .connect_timeout(settings.timeout.min(Duration::from_secs(30)))
                .user_agent(concat!("mlflow-tracking-rust/", env!("CARGO_PKG_VERSION")))
                .default_headers(headers.clone()))
        };
        let http = Connections::new(url, builder)?;
        let idle = settings.transfer_idle_timeout;
        let transfers = |builder: reqwest::ClientBuilder| {
            tls(builder
                .tcp_nodelay(true)
                .connect_timeout(idle.min(Duration::from_secs(30)))
                .user_agent(concat!("mlflow-tracking-rust/", env!("CARGO_PKG_VERSION")))
                .default_headers(headers.clone()))?
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
        };
        let downloads = transfers(reqwest::Client::builder().read_timeout(idle))?;
        let uploads = transfers(reqwest::Client::builder())?;
        // Presigned URLs carry their own signature: the server's credentials must not go
        // with them (an object store refuses two kinds of authentication, and the
        // credentials are not its business).
        let to_store = |builder: reqwest::ClientBuilder| {
            tls(builder
                .tcp_nodelay(true)
                .connect_timeout(idle.min(Duration::from_secs(30)))
                .user_agent(concat!("mlflow-tracking-rust/", env!("CARGO_PKG_VERSION"))))?
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
        };
        let store_downloads = to_store(reqwest::Client::builder().read_timeout(idle))?;
        let store_uploads = to_store(reqwest::Client::builder())?;
        // Credentials live in the Authorization header; keep them out of request URLs.
        let _ = api.set_username("");
        let _ = api.set_password(None);
        let first_contact = match env::nonempty(FIRST_CONTACT_TIMEOUT_ENV) {
            None => DEFAULT_FIRST_CONTACT_TIMEOUT,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(secs) if secs.is_finite() && secs > 0.0 => Duration::from_secs_f64(secs),
                _ => {
                    return Err(Error::Config(format!(
                        "{FIRST_CONTACT_TIMEOUT_ENV}={v:?} is not a positive number of seconds"
                    )));
                }
            },
        };
        Ok(ApiClient {
            http,
            downloads,
            uploads,
            store_downloads,
            store_uploads,
            server_info: std::sync::OnceLock::new(),
            api,
            shown,
            settings,
            contacted: AtomicBool::new(false),
            first_contact,
            give_up: None,
        })
    }

    /// The server's answer to `/server-info`, asked once.
    pub(super) async fn server_info(&self) -> ServerInfo {
        if let Some(info) = self.server_info.get() {
            return *info;
        }
        let asked = async {
            let url = self.api.join("../../3.0/mlflow/server-info").ok()?;
            let resp = self.downloads.get(url).send().await.ok()?;
            if !resp.status().is_success() {
                return None;
            }
            resp.json::<ServerInfo>().await.ok()
        };
        let info = asked.await.unwrap_or_default();
        *self.server_info.get_or_init(|| info)
    }

    /// A `MLFLOW_ENABLE_PROXY_MULTIPART_*` switch: its value when set (and that it was),
    /// else the server's answer.
    pub(super) async fn switched_on(
        &self,
        variable: &str,
        by_server: fn(ServerInfo) -> bool,
    ) -> Result<(bool, bool)> {
        let set = env::flag(variable)
            .map_err(|v| Error::Config(format!("{variable}={v:?}: expected true or false")))?;
        Ok(match set {
            Some(on) => (on, true),
            None => (by_server(self.server_info().await), false),
        })
    }

    /// The error for a first contact that failed: it names the server and what to check.
    pub(super) fn first_contact_error(&self, waited: Duration, last: Option<String>) -> Error {
        Error::Transport {
            url: self.shown.clone(),
            message: format!(
                "cannot reach the MLflow tracking server at {} (gave up after {:.0} s{}). Check that the server is running and reachable from here, and that MLFLOW_TRACKING_URI (or mlflow::set_tracking_uri) names it; {FIRST_CONTACT_TIMEOUT_ENV} sets this limit (default {} s)",
                self.shown,
                waited.as_secs_f64(),
                last.map(|l| format!("; last error: {l}"))
                    .unwrap_or_default(),
                DEFAULT_FIRST_CONTACT_TIMEOUT.as_secs()
            ),
        }
    }

    pub(super) fn endpoint(&self, path: &str) -> Result<Url> {
        self.api
            .join(path)
            .map_err(|e| Error::Config(format!("bad endpoint {path}: {e}")))
    }

    /// Sends one request with retries and decodes the answer.
    pub(super) async fn call<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<T> {
        let url = self.endpoint(path)?;
        let body = match body {
            Some(b) => Some(
                serde_json::to_vec(b)
                    .map_err(|e| Error::Internal(format!("cannot encode {path} request: {e}")))?,
            ),
            None => None,
        };
        let jitter = self.settings.backoff_jitter;
        let respect = self.settings.respect_retry_after;
        let last_error: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
        // Giving up is only safe between attempts: a request abandoned in flight may still
        // be acted on by the server, and a run created twice.
        let backing_off = AtomicBool::new(false);
        let attempt = || {
            backing_off.store(false, Ordering::Release);
            self.attempt(method.clone(), &url, query, body.clone())
        };
        let retried = attempt
            .retry(retry::backoff(&self.settings))
            .sleep(tokio::time::sleep)
            .when(|a: &Attempt| retry::should_retry(a.failure, idempotency))
            .adjust(move |a: &Attempt, next| {
                let next = next?;
                let wait = match a.retry_after {
                    Some(server_says) if respect => server_says,
                    _ => retry::with_jitter(next, jitter),
                };
                Some(wait)
            })
            .notify(|a: &Attempt, wait| {
                backing_off.store(true, Ordering::Release);
                if let Ok(mut last) = last_error.lock() {
                    *last = Some(a.error.to_string());
                }
                tracing::warn!(
                    "mlflow: {} failed ({}); retrying in {:.1} s",
                    path,
                    a.error,
                    wait.as_secs_f64()
                );
            });
        let last = || last_error.lock().ok().and_then(|l| l.clone());
        let started = Instant::now();
        let first_contact = !self.contacted.load(Ordering::Acquire);
        let limit = if first_contact {
            self.first_contact
        } else {
            // Later requests ride outages out; only the caller's queue cuts them short.
            Duration::MAX
        };
        let give_up = async {
            match &self.give_up {
                Some(give_up) => loop {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    if give_up() && backing_off.load(Ordering::Acquire) {
                        break;
                    }
                },
                None => std::future::pending::<()>().await,
            }
        };
        let outcome = tokio::select! {
            r = retried => Some(r.map_err(|a| a.error)),
            _ = tokio::time::sleep(limit) => None,
            _ = give_up => {
                let message = format!(
                    "gave up retrying {path} because the logging queue is full{}",
                    last().map(|l| format!("; last error: {l}")).unwrap_or_default()
                );
                Some(Err(Error::Transport { url: self.shown_url(path), message }))
            }
        };
        let bytes = match outcome {
            Some(Ok(bytes)) => bytes,
            Some(Err(e)) if first_contact && !self.contacted.load(Ordering::Acquire) => {
                return Err(self.first_contact_error(started.elapsed(), Some(e.to_string())));
            }
            Some(Err(e)) => return Err(e),
            None => return Err(self.first_contact_error(started.elapsed(), last())),
        };
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        serde_json::from_slice(bytes).map_err(|e| Error::Transport {
            url: self.shown_url(path),
            message: format!("unexpected answer: {e}"),
        })
    }

    pub(super) async fn attempt(
        &self,
        method: Method,
        url: &Url,
        query: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> std::result::Result<Vec<u8>, Attempt> {
        let (http, via) = self.http.client();
        let mut req = http.request(method, url.clone());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let transport = |e: reqwest::Error| self.transport(url, &e);
        let sent = Instant::now();
        let resp = req.send().await.map_err(transport)?;
        self.http.timed(sent.elapsed(), via);
        self.contacted.store(true, Ordering::Release);
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let bytes = resp.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(Attempt {
            failure: retry::failure_of(status.as_u16(), &bytes),
            retry_after,
            error: api_error(status, &bytes),
        })
    }

    /// A failed attempt that got no answer: a refused connection surely never reached the
    /// server, anything else may have.
    pub(super) fn transport(&self, url: &Url, e: &reqwest::Error) -> Attempt {
        Attempt {
            failure: if e.is_connect() {
                Failure::Connect
            } else {
                Failure::Transport
            },
            retry_after: None,
            error: Error::Transport {
                url: format!("{}{}", self.shown.trim_end_matches('/'), url.path()),
                message: error_chain(e),
            },
        }
    }

    pub(super) fn shown_url(&self, path: &str) -> String {
        format!("{}/api/2.0/mlflow/{path}", self.shown.trim_end_matches('/'))
    }

    /// An experiment looked up by `query`; MLflow's 404 becomes `None`.
    pub(super) async fn find_experiment(
        &self,
        path: &str,
        query: (&str, &str),
    ) -> Result<Option<Experiment>> {
        match self.get::<GetExperimentResponse>(path, &[query]).await {
            Ok(r) => Ok(Some(r.experiment.into())),
            Err(Error::Api { error_code, .. }) if error_code == "RESOURCE_DOES_NOT_EXIST" => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T> {
        self.call::<(), T>(Method::GET, path, query, None, Idempotency::Safe)
            .await
    }

    pub(super) async fn post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency: Idempotency,
    ) -> Result<T> {
        self.call(Method::POST, path, &[], Some(body), idempotency)
            .await
    }

    /// One attempt, no retries: `Ok` when the server answers at all (a refusal too).
    pub(super) async fn ping(&self) -> Result<()> {
        let url = self.endpoint("experiments/get-by-name")?;
        let probe = self.attempt(Method::GET, &url, &[("experiment_name", "Default")], None);
        match tokio::time::timeout(self.settings.timeout.min(Duration::from_secs(10)), probe).await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(a)) => match a.failure {
                Failure::Status(s) if !is_retry_status(s) => Ok(()),
                _ => Err(a.error),
            },
            Err(_) => Err(Error::Transport {
                url: self.shown_url("experiments/get-by-name"),
                message: "no answer".into(),
            }),
        }
    }
}

/// Maps an error answer to [`Error::Api`], keeping the server's code and message; bodies
/// that are not MLflow JSON (a proxy's HTML page) are kept as text.
pub(super) fn api_error(status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) if !b.error_code.is_empty() || !b.message.is_empty() => Error::Api {
            status: status.as_u16(),
            error_code: b.error_code,
            message: b.message,
        },
        _ => Error::Api {
            status: status.as_u16(),
            error_code: format!("HTTP_{}", status.as_u16()),
            message: String::from_utf8_lossy(&body[..body.len().min(2000)])
                .trim()
                .to_owned(),
        },
    }
}

/// reqwest's top-level message is terse ("error sending request"); the cause says why.
pub(super) fn error_chain(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
