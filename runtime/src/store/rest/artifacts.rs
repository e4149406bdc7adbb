//! Artifacts through the server's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`),
//! for runs whose `artifact_uri` is `mlflow-artifacts:/<exp>/<run>/artifacts`; other roots
//! (local folders, `s3://`) are written directly (`store/artifact_roots.rs`).
//!
//! Bodies are streamed both ways (a 100 MB file never sits in memory) and every request is
//! retried like the rest of the REST store: an upload reopens the file for each attempt.
//! Transfers have no bound on their whole length, only on idle time
//! (`MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT`, as the Python client's `requests` timeout):
//! a multi-gigabyte file takes as long as it needs while it moves.

use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use backon::Retryable;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use url::Url;

use super::client::{ApiClient, Attempt, api_error};
use super::multipart;
use super::retry::{self, Failure, Idempotency};
use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;
use crate::store::artifact_roots as roots;

/// Read buffer for uploads: large enough for few syscalls, small next to any file.
pub(super) const UPLOAD_CHUNK: usize = 1024 * 1024;
/// Write buffer for downloads, for the same reason.
const DOWNLOAD_BUFFER: usize = 4 * 1024 * 1024;

const PROXY_SCHEME: &str = "mlflow-artifacts:";

#[derive(Deserialize)]
struct ListAnswer {
    #[serde(default)]
    files: Vec<FileJson>,
}

#[derive(Deserialize)]
struct FileJson {
    path: String,
    #[serde(default)]
    is_dir: bool,
    #[serde(default)]
    file_size: Option<serde_json::Value>,
}

/// `1/<run>/artifacts` from `mlflow-artifacts:/1/<run>/artifacts` (or with a host part).
pub(super) fn proxy_root(artifact_uri: &str) -> Option<&str> {
    let rest = artifact_uri.strip_prefix(PROXY_SCHEME)?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => &with_host[with_host.find('/').unwrap_or(with_host.len())..],
        None => rest,
    };
    Some(rest.trim_matches('/'))
}

pub(super) fn fatal(error: Error) -> Attempt {
    Attempt {
        failure: Failure::Status(400),
        retry_after: None,
        error,
    }
}

fn artifacts_base(store: &ApiClient) -> Result<Url> {
    endpoint_base(store, "artifacts")
}

/// `<server>/api/2.0/mlflow-artifacts/<what>` (`artifacts`, `mpu/create`, ...).
fn endpoint_base(store: &ApiClient, what: &str) -> Result<Url> {
    store
        .api
        .join(&format!("../mlflow-artifacts/{what}"))
        .map_err(|e| Error::Config(format!("bad artifact endpoint: {e}")))
}

fn artifact_url(store: &ApiClient, root: &str, rel: &str) -> Result<Url> {
    proxy_url(store, "artifacts", root, rel)
}

/// The URL of the proxy's endpoint `what` for `rel` under `root`, each segment encoded.
pub(super) fn proxy_url(store: &ApiClient, what: &str, root: &str, rel: &str) -> Result<Url> {
    let mut url = endpoint_base(store, what)?;
    {
        let mut segments = url
            .path_segments_mut()
            .map_err(|_| Error::Config("tracking URI cannot carry a path".into()))?;
        for s in root.split('/').chain(rel.split('/')) {
            if s.is_empty() || s == "." {
                continue;
            }
            if s == ".." {
                return Err(Error::InvalidArgument(format!(
                    "artifact path {rel:?} must stay inside the run's artifact folder"
                )));
            }
            segments.push(s);
        }
    }
    Ok(url)
}

/// The answer if it is a success; an attempt failure with the server's error otherwise.
pub(super) async fn checked(
    store: &ApiClient,
    url: &Url,
    resp: reqwest::Response,
) -> std::result::Result<reqwest::Response, Attempt> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let retry_after = resp
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry::parse_retry_after);
    let bytes = resp.bytes().await.map_err(|e| store.transport(url, &e))?;
    Err(Attempt {
        failure: Failure::Status(status.as_u16()),
        retry_after,
        error: api_error(status, &bytes),
    })
}

pub(super) async fn retrying<T, F, Fut>(store: &ApiClient, what: &str, attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, Attempt>>,
{
    let jitter = store.settings.backoff_jitter;
    let respect = store.settings.respect_retry_after;
    attempt
        .retry(retry::backoff(&store.settings))
        .sleep(tokio::time::sleep)
        .when(|a: &Attempt| retry::should_retry(a.failure, Idempotency::Safe))
        .adjust(move |a: &Attempt, next| {
            let next = next?;
            Some(match a.retry_after {
                Some(server_says) if respect => server_says,
                _ => retry::with_jitter(next, jitter),
            })
        })
        .notify(|a: &Attempt, wait| {
            tracing::warn!(
                "mlflow: {what} failed ({}); retrying in {:.1} s",
                a.error,
                wait.as_secs_f64()
            );
        })
        .await
        .map_err(|a| a.error)
}

/// When an upload last made progress: the body's chunks as the HTTP client takes them
/// (it takes the next only once the socket has room), then the body's end.
#[derive(Clone, Default)]
pub(super) struct Progress {
    /// Milliseconds since `start` of the last chunk taken.
    last_ms: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    start: Arc<OnceLock<Instant>>,
}

impl Progress {
    fn now_ms(&self) -> u64 {
        let start = *self.start.get_or_init(Instant::now);
        u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `stream`, noting each chunk the HTTP client takes, and its end.
    pub(super) fn watch<S, T, E>(
        &self,
        stream: S,
    ) -> impl futures_util::Stream<Item = std::result::Result<T, E>> + use<S, T, E>
    where
        S: futures_util::Stream<Item = std::result::Result<T, E>>,
    {
        self.now_ms();
        let progress = self.clone();
        let end = self.clone();
        stream
            .inspect(move |_| progress.last_ms.store(progress.now_ms(), Ordering::Relaxed))
            .chain(futures_util::stream::poll_fn(move |_| {
                end.last_ms.store(end.now_ms(), Ordering::Relaxed);
                end.done.store(true, Ordering::Relaxed);
                std::task::Poll::Ready(None)
            }))
    }

    /// Resolves once the upload made no progress for `idle`: no chunk taken (a stalled
    /// connection), or, once the body is all sent, no answer; true in the second case.
    pub(super) async fn stalled(&self, idle: Duration) -> bool {
        let check = (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        loop {
            tokio::time::sleep(check).await;
            let quiet = self
                .now_ms()
                .saturating_sub(self.last_ms.load(Ordering::Relaxed));
            if Duration::from_millis(quiet) >= idle {
                return self.done.load(Ordering::Relaxed);
            }
        }
    }
}

/// An upload that made no progress for `idle` (`sent`: the whole body went, and no answer
/// came): retried like a lost connection.
fn stalled(store: &ApiClient, url: &Url, idle: Duration, sent: bool) -> Attempt {
    let what = if sent { "no answer" } else { "no progress" };
    Attempt {
        failure: Failure::Transport,
        retry_after: None,
        error: Error::Transport {
            url: format!("{}{}", store.shown.trim_end_matches('/'), url.path()),
            message: format!(
                "{what} for {} s (MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT)",
                idle.as_secs_f64()
            ),
        },
    }
}

pub(super) async fn upload(
    store: &ApiClient,
    artifact_uri: &str,
    local_file: &Path,
    artifact_path: &str,
) -> Result<()> {
    let Some(root) = proxy_root(artifact_uri) else {
        return roots::log_artifact(artifact_uri, local_file, artifact_path).await;
    };
    if let Some(settings) = multipart::MultipartSettings::for_file(store, local_file).await?
        && multipart::upload(store, root, local_file, artifact_path, settings).await?
            == multipart::MpuOutcome::Stored
    {
        return Ok(());
    }
    let url = artifact_url(store, root, artifact_path)?;
    let attempt = || async {
        let file = tokio::fs::File::open(local_file)
            .await
            .map_err(|e| fatal(Error::io("artifact to upload", local_file, e)))?;
        let len = file
            .metadata()
            .await
            .map_err(|e| fatal(Error::io("artifact to upload", local_file, e)))?
            .len();
        let progress = Progress::default();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, UPLOAD_CHUNK);
        let stream = progress.watch(stream);
        let send = store
            .uploads
            .put(url.clone())
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(reqwest::Body::wrap_stream(stream))
            .send();
        let idle = store.settings.transfer_idle_timeout;
        let resp = tokio::select! {
            resp = send => resp.map_err(|e| store.transport(&url, &e))?,
            sent = progress.stalled(idle) => return Err(stalled(store, &url, idle, sent)),
        };
        checked(store, &url, resp).await.map(drop)
    };
    retrying(
        store,
        &format!("uploading artifact {artifact_path}"),
        attempt,
    )
    .await
}

pub(super) async fn list(
    store: &ApiClient,
    artifact_uri: &str,
    path: &str,
) -> Result<Vec<FileInfo>> {
    let Some(root) = proxy_root(artifact_uri) else {
        return roots::list_artifacts(artifact_uri, path).await;
    };
    let rel = path.trim_matches('/');
    let full = if rel.is_empty() {
        root.to_owned()
    } else {
        format!("{root}/{rel}")
    };
    let url = artifacts_base(store)?;
    let attempt = || async {
        let resp = store
            .http
            .client()
            .0
            .get(url.clone())
            .query(&[("path", full.as_str())])
            .send()
            .await
            .map_err(|e| store.transport(&url, &e))?;
        let resp = checked(store, &url, resp).await?;
        resp.bytes().await.map_err(|e| store.transport(&url, &e))
    };
    let bytes = retrying(store, "listing artifacts", attempt).await?;
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
    let answer: ListAnswer = serde_json::from_slice(bytes).map_err(|e| Error::Transport {
        url: format!("{}{}", store.shown.trim_end_matches('/'), url.path()),
        message: format!("unexpected answer: {e}"),
    })?;
    let mut out: Vec<FileInfo> = answer
        .files
        .into_iter()
        .map(|f| FileInfo {
            path: if rel.is_empty() {
                f.path
            } else {
                format!("{rel}/{}", f.path)
            },
            is_dir: f.is_dir,
            file_size: f.file_size.and_then(|v| match v {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            }),
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

pub(super) async fn download(
    store: &ApiClient,
    artifact_uri: &str,
    path: &str,
    dest: &Path,
) -> Result<()> {
    let Some(root) = proxy_root(artifact_uri) else {
        return roots::download_artifact(artifact_uri, path, dest).await;
    };
    let url = artifact_url(store, root, path)?;
    let attempt = || async {
        // The transfers' client: its read timeout is the idle timeout of the download.
        let resp = store
            .downloads
            .get(url.clone())
            .send()
            .await
            .map_err(|e| store.transport(&url, &e))?;
        let mut resp = checked(store, &url, resp).await?;
        let io = |e: std::io::Error| fatal(Error::io("download destination", dest, e));
        let file = tokio::fs::File::create(dest).await.map_err(io)?;
        // The body comes in chunks of a few KiB, and each write to a tokio file is a trip
        // to the blocking pool: gathered first, a 1 GiB download took 98 s instead of 11 s.
        let mut file = tokio::io::BufWriter::with_capacity(DOWNLOAD_BUFFER, file);
        while let Some(chunk) = resp.chunk().await.map_err(|e| store.transport(&url, &e))? {
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok(())
    };
    retrying(store, &format!("downloading artifact {path}"), attempt).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::config::HttpSettings;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Request lines and bodies a fake server received.
    type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

    /// A one-thread HTTP server answering `statuses` in turn (one request per connection),
    /// recording each request line and body.
    /// Reads a request's headers up to the blank line; returns its `Content-Length` (0 when
    /// none).
    fn content_length(reader: &mut impl BufRead) -> usize {
        let mut len = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            if h == "\r\n" || h.is_empty() {
                return len;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
    }

    fn fake_server(statuses: Vec<u16>) -> (String, Seen) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for status in statuses {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let len = content_length(&mut reader);
                let mut body = vec![0u8; len];
                reader.read_exact(&mut body).unwrap();
                log.lock().unwrap().push((line.trim().to_owned(), body));
                let text = if status == 200 {
                    "{}"
                } else {
                    "{\"error_code\":\"TEMPORARILY_UNAVAILABLE\",\"message\":\"busy\"}"
                };
                let mut stream = stream;
                write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                )
                .unwrap();
            }
        });
        (format!("http://{addr}"), seen)
    }

    fn store(uri: &str) -> ApiClient {
        let settings = HttpSettings {
            max_retries: 3,
            backoff_factor: 0.01,
            backoff_jitter: 0.0,
            timeout: Duration::from_secs(10),
            transfer_idle_timeout: Duration::from_secs(10),
            respect_retry_after: true,
        };
        ApiClient::new(&Url::parse(uri).unwrap(), settings).unwrap()
    }

    #[test]
    fn uploads_are_streamed_retried_and_url_encoded() {
        let (uri, seen) = fake_server(vec![503, 200]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("local.txt");
        std::fs::write(&file, b"payload bytes").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(upload(
            &store(&uri),
            "mlflow-artifacts:/1/abc/artifacts",
            &file,
            "dir/my file.txt",
        ))
        .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "one failure, one retry");
        for (line, body) in seen.iter() {
            assert_eq!(
                line,
                "PUT /api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/dir/my%20file.txt HTTP/1.1"
            );
            assert_eq!(body, b"payload bytes");
        }
    }

    #[test]
    fn client_errors_are_not_retried() {
        let (uri, seen) = fake_server(vec![403]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(upload(
                &store(&uri),
                "mlflow-artifacts:/1/abc/artifacts",
                &file,
                "f",
            ))
            .unwrap_err();
        assert!(matches!(err, Error::Api { status: 403, .. }), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    /// A server that reads each upload slowly, `chunk` bytes then a pause, and answers 200.
    fn slow_reader(chunk: usize, pause: Duration) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            reader.read_line(&mut String::new()).unwrap(); // the request line
            let mut len = content_length(&mut reader);
            let mut buf = vec![0u8; chunk];
            while len > 0 {
                let n = reader.read(&mut buf[..chunk.min(len)]).unwrap();
                len -= n;
                std::thread::sleep(pause);
            }
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            )
            .unwrap();
        });
        format!("http://{addr}")
    }

    /// A server that takes each upload's headers and then neither reads nor answers.
    fn stalling_server() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept() {
                held.push(stream);
            }
        });
        format!("http://{addr}")
    }

    fn store_with_idle(uri: &str, idle: Duration) -> ApiClient {
        let settings = HttpSettings {
            max_retries: 1,
            backoff_factor: 0.01,
            backoff_jitter: 0.0,
            // Far shorter than the transfers: they are bounded by idle time only.
            timeout: Duration::from_millis(200),
            transfer_idle_timeout: idle,
            respect_retry_after: true,
        };
        ApiClient::new(&Url::parse(uri).unwrap(), settings).unwrap()
    }

    fn big_file(dir: &Path, bytes: usize) -> std::path::PathBuf {
        let file = dir.join("big.bin");
        std::fs::write(&file, vec![7u8; bytes]).unwrap();
        file
    }

    #[test]
    fn a_transfer_longer_than_the_idle_timeout_goes_through_while_it_moves() {
        let uri = slow_reader(256 * 1024, Duration::from_millis(50));
        let dir = tempfile::tempdir().unwrap();
        let file = big_file(dir.path(), 16 * 1024 * 1024);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        rt.block_on(upload(
            &store_with_idle(&uri, Duration::from_secs(2)),
            "mlflow-artifacts:/1/abc/artifacts",
            &file,
            "big.bin",
        ))
        .expect("a slow transfer that keeps moving is not cut off");
        assert!(
            started.elapsed() > Duration::from_secs(2),
            "the transfer took longer than the idle timeout: {:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_stalled_upload_fails_after_the_idle_timeout() {
        let uri = stalling_server();
        let dir = tempfile::tempdir().unwrap();
        let file = big_file(dir.path(), 32 * 1024 * 1024);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = rt
            .block_on(upload(
                &store_with_idle(&uri, Duration::from_millis(500)),
                "mlflow-artifacts:/1/abc/artifacts",
                &file,
                "big.bin",
            ))
            .unwrap_err();
        assert!(err.to_string().contains("no progress"), "{err}");
    }

    #[test]
    fn proxy_roots() {
        assert_eq!(
            proxy_root("mlflow-artifacts:/1/abc/artifacts"),
            Some("1/abc/artifacts")
        );
        assert_eq!(
            proxy_root("mlflow-artifacts://host:5000/1/abc/artifacts"),
            Some("1/abc/artifacts")
        );
        assert_eq!(proxy_root("/tmp/x"), None);
    }
}
