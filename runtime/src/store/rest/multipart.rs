//! Large files through a proxying server in parts, as the Python client's
//! `HttpArtifactRepository._try_multipart_upload` sends them when
//! `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` is true, or unset and the server says it can
//! (`/server-info`): for a file of at least
//! `MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE` bytes the server creates the upload in its
//! object store and hands out one presigned URL per part (`mlflow-artifacts/mpu/create`),
//! the parts go straight to the object store, several at once, each streamed from its place
//! in the file and retried on its own, and the server completes the upload
//! (`mpu/complete`) or, after any failure, aborts it (`mpu/abort`), so that no half object
//! is left as if it were stored. A server whose store has no multipart uploads (a local
//! folder) says so, and the file goes in one request.
//!
//! The presigned URLs carry credentials in their query (`X-Amz-Credential`,
//! `X-Amz-Signature`): no error or log line shows a query.

use std::path::Path;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use url::Url;

use super::artifacts::{Progress, UPLOAD_CHUNK, checked, fatal, proxy_url, retrying};
use super::client::{ApiClient, Attempt, error_chain};
use super::retry::Failure;
use crate::base::env;
use crate::base::error::{Error, Result, warn, without_signatures};

/// Parts under way at once (the Python client's thread pool: `MLFLOW_... _NUM_MAX_THREADS`
/// is 8 per CPU, more than an object store gives one client; 8 fills a link).
const CONCURRENCY: usize = 8;
/// The message a server without multipart uploads answers `mpu/create` with.
const UNSUPPORTED: &str = "Multipart upload is not supported for the current artifact repository";

/// How a large file is cut, from MLflow's variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MultipartSettings {
    size: u64,
    part: u64,
}

impl MultipartSettings {
    /// The parts of `file` when it is large enough and multipart uploads are switched on
    /// (`MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD`, else the server's answer, asked only for a
    /// large file, as Python does); `None` otherwise.
    pub(super) async fn for_file(
        store: &ApiClient,
        file: &Path,
    ) -> Result<Option<MultipartSettings>> {
        let minimum: u64 = env::number(env::MULTIPART_UPLOAD_MINIMUM_FILE_SIZE, 500 << 20)?;
        let part: u64 = env::number(env::MULTIPART_UPLOAD_CHUNK_SIZE, 10 << 20)?;
        if part == 0 {
            return Err(Error::Config(format!(
                "{} must be a positive number of bytes",
                env::MULTIPART_UPLOAD_CHUNK_SIZE
            )));
        }
        let size = tokio::fs::metadata(file)
            .await
            .map_err(|e| Error::io("artifact to upload", file, e))?
            .len();
        if size < minimum || size == 0 {
            return Ok(None);
        }
        let (on, _) = store
            .switched_on(env::ENABLE_PROXY_MULTIPART_UPLOAD, |i| {
                i.multipart_uploads_enabled
            })
            .await?;
        if !on {
            return Ok(None);
        }
        Ok(Some(MultipartSettings { size, part }))
    }

    fn parts(&self) -> u64 {
        self.size.div_ceil(self.part)
    }
}

/// How a multipart upload ended when it did not fail.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum MpuOutcome {
    /// The object is complete in the store.
    Stored,
    /// The server's store has no multipart uploads: send the file in one request.
    Unsupported,
}

#[derive(Serialize)]
struct MpuCreateRequest<'a> {
    path: &'a str,
    num_parts: u64,
}

#[derive(Deserialize)]
struct CreateAnswer {
    upload_id: Option<String>,
    #[serde(default)]
    credentials: Vec<Credential>,
}

/// A part's presigned URL; never printed (no `Debug`).
#[derive(Deserialize)]
struct Credential {
    url: String,
    #[serde(deserialize_with = "number_or_string")]
    part_number: u64,
    #[serde(default)]
    headers: std::collections::HashMap<String, String>,
}

/// An int64 of MLflow's JSON: a number, or a string when the server writes it so.
fn number_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| serde::de::Error::custom("part number out of range")),
        serde_json::Value::String(s) => s.parse().map_err(serde::de::Error::custom),
        _ => Err(serde::de::Error::custom("part number is not a number")),
    }
}

#[derive(Serialize)]
struct Part {
    part_number: u64,
    etag: String,
    url: String,
}

#[derive(Serialize)]
struct CompleteRequest<'a> {
    path: &'a str,
    upload_id: &'a str,
    parts: Vec<Part>,
}

#[derive(Serialize)]
struct AbortRequest<'a> {
    path: &'a str,
    upload_id: &'a str,
}

/// Uploads `file` to `artifact_path` under the proxied root `root` in parts.
pub(super) async fn upload(
    store: &ApiClient,
    root: &str,
    file: &Path,
    artifact_path: &str,
    settings: MultipartSettings,
) -> Result<MpuOutcome> {
    // The endpoints take the folder in the URL and the file's name in the body (Python
    // sends the local path; the server keeps its base name).
    let (dir, name) = artifact_path
        .trim_matches('/')
        .rsplit_once('/')
        .unwrap_or(("", artifact_path.trim_matches('/')));
    let create = proxy_url(store, "mpu/create", root, dir)?;
    let body = MpuCreateRequest {
        path: name,
        num_parts: settings.parts(),
    };
    let answer: CreateAnswer =
        match post(store, &create, &body, "creating a multipart upload").await {
            Ok(a) => a,
            Err(Error::Api { message, .. }) if message.starts_with(UNSUPPORTED) => {
                return Ok(MpuOutcome::Unsupported);
            }
            Err(e) => return Err(e),
        };
    let upload_id = answer.upload_id.unwrap_or_default();
    match send_parts(store, file, name, settings, answer.credentials).await {
        Ok(parts) => {
            let complete = proxy_url(store, "mpu/complete", root, dir)?;
            let body = CompleteRequest {
                path: name,
                upload_id: &upload_id,
                parts,
            };
            match post::<_, serde_json::Value>(store, &complete, &body, "completing an upload")
                .await
            {
                Ok(_) => Ok(MpuOutcome::Stored),
                Err(e) => Err(abort(store, root, dir, name, &upload_id, e).await),
            }
        }
        Err(e) => Err(abort(store, root, dir, name, &upload_id, e).await),
    }
}

/// Aborts the upload after `cause`, and gives `cause` back to return.
async fn abort(
    store: &ApiClient,
    root: &str,
    dir: &str,
    name: &str,
    upload_id: &str,
    cause: Error,
) -> Error {
    let aborted = match proxy_url(store, "mpu/abort", root, dir) {
        Ok(url) => {
            let body = AbortRequest {
                path: name,
                upload_id,
            };
            post::<_, serde_json::Value>(store, &url, &body, "aborting an upload")
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    };
    if let Err(e) = aborted {
        warn(&format!(
            "could not abort the failed multipart upload of {name}: {e}; the object store may keep its parts until its lifecycle rules remove them"
        ));
    }
    cause
}

/// Every part, [`CONCURRENCY`] at a time; the parts with their ETags in order, or the first
/// failure (the parts still under way are dropped).
async fn send_parts(
    store: &ApiClient,
    file: &Path,
    name: &str,
    settings: MultipartSettings,
    mut credentials: Vec<Credential>,
) -> Result<Vec<Part>> {
    credentials.sort_by_key(|c| c.part_number);
    if credentials.len() as u64 != settings.parts() {
        return Err(Error::Transport {
            url: store.shown.clone(),
            message: format!(
                "the server handed out {} part URLs for {} parts of {name}",
                credentials.len(),
                settings.parts()
            ),
        });
    }
    let mut sent = futures_util::stream::iter(credentials)
        .map(|c| send_part(store, file, name, settings, c))
        .buffer_unordered(CONCURRENCY);
    let mut parts = Vec::new();
    while let Some(part) = sent.next().await {
        parts.push(part?);
    }
    parts.sort_by_key(|p| p.part_number);
    Ok(parts)
}

/// One part, from its place in the file, retried on its own.
async fn send_part(
    store: &ApiClient,
    file: &Path,
    name: &str,
    settings: MultipartSettings,
    credential: Credential,
) -> Result<Part> {
    let url = Url::parse(&credential.url).map_err(|_| Error::Transport {
        url: store.shown.clone(),
        message: format!(
            "the server handed out an unusable URL for part {} of {name}",
            credential.part_number
        ),
    })?;
    let offset = settings.part * credential.part_number.saturating_sub(1);
    let len = settings.part.min(settings.size.saturating_sub(offset));
    let idle = store.settings.transfer_idle_timeout;
    let attempt = || async {
        let io = |e| fatal(Error::io("artifact to upload", file, e));
        let mut reader = tokio::fs::File::open(file).await.map_err(io)?;
        reader
            .seek(std::io::SeekFrom::Start(offset))
            .await
            .map_err(io)?;
        let progress = Progress::default();
        let stream = tokio_util::io::ReaderStream::with_capacity(reader.take(len), UPLOAD_CHUNK);
        let mut request = store
            .store_uploads
            .put(url.clone())
            .header(CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(progress.watch(stream)));
        for (k, v) in &credential.headers {
            request = request.header(k.as_str(), v.as_str());
        }
        if !credential
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            request = request.header(CONTENT_TYPE, "application/octet-stream");
        }
        let resp = tokio::select! {
            resp = request.send() => resp.map_err(|e| part_transport(&url, e))?,
            sent = progress.stalled(idle) => return Err(part_stalled(&url, idle, sent)),
        };
        let resp = checked(store, &url, resp).await.map_err(|mut a| {
            a.error = clean(a.error);
            a
        })?;
        let etag = resp
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok(etag)
    };
    let what = format!("uploading part {} of {name}", credential.part_number);
    let etag = retrying(store, &what, attempt).await?;
    Ok(Part {
        part_number: credential.part_number,
        etag,
        url: credential.url,
    })
}

/// Posts JSON to one of the proxy's multipart endpoints, with the REST store's retries.
async fn post<B: Serialize, T: serde::de::DeserializeOwned>(
    store: &ApiClient,
    url: &Url,
    body: &B,
    what: &str,
) -> Result<T> {
    let json = serde_json::to_vec(body)
        .map_err(|e| Error::Internal(format!("cannot encode the request for {what}: {e}")))?;
    let attempt = || async {
        let resp = store
            .uploads
            .post(url.clone())
            .timeout(store.settings.timeout)
            .header(CONTENT_TYPE, "application/json")
            .body(json.clone())
            .send()
            .await
            .map_err(|e| store.transport(url, &e))?;
        let resp = checked(store, url, resp).await?;
        resp.bytes().await.map_err(|e| store.transport(url, &e))
    };
    let bytes = retrying(store, what, attempt).await?;
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
    serde_json::from_slice(bytes).map_err(|e| Error::Transport {
        url: format!("{}{}", store.shown.trim_end_matches('/'), url.path()),
        message: format!("unexpected answer to {what}: {e}"),
    })
}

/// Where a presigned URL points, without its query (the signature and credential).
pub(super) fn shown(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// An object store's refusal of a part (its body may quote the signed request), or a body
/// that could not be read (reqwest's message names the URL).
pub(super) fn clean(error: Error) -> Error {
    match error {
        Error::Api {
            status,
            error_code,
            message,
        } => Error::Api {
            status,
            error_code,
            message: without_signatures(&message),
        },
        Error::Transport { url, message } => Error::Transport {
            url: without_signatures(&url),
            message: without_signatures(&message),
        },
        other => other,
    }
}

pub(super) fn part_transport(url: &Url, e: reqwest::Error) -> Attempt {
    let failure = if e.is_connect() {
        Failure::Connect
    } else {
        Failure::Transport
    };
    // reqwest's message names the URL, query and all: not this one.
    let e = e.without_url();
    Attempt {
        failure,
        retry_after: None,
        error: Error::Transport {
            url: shown(url),
            message: without_signatures(&error_chain(&e)),
        },
    }
}

/// A part that made no progress for `idle` (`sent`: all of it went and no answer came).
fn part_stalled(url: &Url, idle: Duration, sent: bool) -> Attempt {
    let what = if sent { "no answer" } else { "no progress" };
    Attempt {
        failure: Failure::Transport,
        retry_after: None,
        error: Error::Transport {
            url: shown(url),
            message: format!(
                "{what} for {} s (MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT)",
                idle.as_secs_f64()
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presigned_urls_are_shown_without_their_query() {
        let url = Url::parse("http://127.0.0.1:9/b/k?partNumber=1&X-Amz-Signature=abc").unwrap();
        assert_eq!(shown(&url), "http://127.0.0.1:9/b/k");
    }

    #[test]
    fn parts_cover_the_file() {
        let s = MultipartSettings { size: 25, part: 10 };
        assert_eq!(s.parts(), 3);
        let s = MultipartSettings { size: 20, part: 10 };
        assert_eq!(s.parts(), 2);
    }
}
