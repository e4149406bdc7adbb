//! Artifacts through the server's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`),
//! for runs whose `artifact_uri` is `mlflow-artifacts:/<exp>/<run>/artifacts`; other roots
//! that are local folders are written directly.
//!
//! Bodies are streamed both ways (a 100 MB file never sits in memory) and every request is
//! retried like the rest of the REST store: an upload reopens the file for each attempt.

use std::future::Future;
use std::path::Path;

use backon::Retryable;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use url::Url;

use super::retry::{self, Failure, Idempotency};
use super::{Attempt, RestStore, api_error};
use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;
use crate::store::local_artifacts as local;

/// Read buffer for uploads: large enough for few syscalls, small next to any file.
const UPLOAD_CHUNK: usize = 256 * 1024;

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
fn proxy_root(artifact_uri: &str) -> Option<&str> {
    let rest = artifact_uri.strip_prefix(PROXY_SCHEME)?;
    let rest = match rest.strip_prefix("//") {
        Some(with_host) => &with_host[with_host.find('/').unwrap_or(with_host.len())..],
        None => rest,
    };
    Some(rest.trim_matches('/'))
}

fn fatal(error: Error) -> Attempt {
    Attempt {
        failure: Failure::Status(400),
        retry_after: None,
        error,
    }
}

impl RestStore {
    fn artifacts_base(&self) -> Result<Url> {
        self.api
            .join("../mlflow-artifacts/artifacts")
            .map_err(|e| Error::Config(format!("bad artifact endpoint: {e}")))
    }

    fn artifact_url(&self, root: &str, rel: &str) -> Result<Url> {
        let mut url = self.artifacts_base()?;
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| Error::Config("tracking URI cannot carry a path".into()))?;
            for s in root.split('/').chain(rel.split('/')) {
                if s.is_empty() || s == "." {
                    continue;
                }
                if s == ".." {
                    return Err(Error::Config(format!(
                        "artifact path {rel:?} must stay inside the run's artifact folder"
                    )));
                }
                segments.push(s);
            }
        }
        Ok(url)
    }

    /// The answer if it is a success; an attempt failure with the server's error otherwise.
    async fn checked(
        &self,
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
        let bytes = resp.bytes().await.map_err(|e| self.transport(url, &e))?;
        Err(Attempt {
            failure: Failure::Status(status.as_u16()),
            retry_after,
            error: api_error(status, &bytes),
        })
    }

    async fn retrying<T, F, Fut>(&self, what: &str, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, Attempt>>,
    {
        let jitter = self.settings.backoff_jitter;
        let respect = self.settings.respect_retry_after;
        attempt
            .retry(retry::backoff(&self.settings))
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

    pub(super) async fn upload_artifact(
        &self,
        artifact_uri: &str,
        local_file: &Path,
        artifact_path: &str,
    ) -> Result<()> {
        let Some(root) = proxy_root(artifact_uri) else {
            return local::log_artifact(artifact_uri, local_file, artifact_path).await;
        };
        let url = self.artifact_url(root, artifact_path)?;
        let attempt = || async {
            let file = tokio::fs::File::open(local_file).await.map_err(|e| {
                fatal(Error::Config(format!(
                    "cannot read {}: {e}",
                    local_file.display()
                )))
            })?;
            let len = file
                .metadata()
                .await
                .map_err(|e| {
                    fatal(Error::Config(format!(
                        "cannot read {}: {e}",
                        local_file.display()
                    )))
                })?
                .len();
            let stream = tokio_util::io::ReaderStream::with_capacity(file, UPLOAD_CHUNK);
            let resp = self
                .http
                .client()
                .0
                .put(url.clone())
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, len)
                .body(reqwest::Body::wrap_stream(stream))
                .send()
                .await
                .map_err(|e| self.transport(&url, &e))?;
            self.checked(&url, resp).await.map(drop)
        };
        self.retrying(&format!("uploading artifact {artifact_path}"), attempt)
            .await
    }

    pub(super) async fn list_artifacts_rest(
        &self,
        artifact_uri: &str,
        path: &str,
    ) -> Result<Vec<FileInfo>> {
        let Some(root) = proxy_root(artifact_uri) else {
            return local::list_artifacts(artifact_uri, path).await;
        };
        let rel = path.trim_matches('/');
        let full = if rel.is_empty() {
            root.to_owned()
        } else {
            format!("{root}/{rel}")
        };
        let url = self.artifacts_base()?;
        let attempt = || async {
            let resp = self
                .http
                .client()
                .0
                .get(url.clone())
                .query(&[("path", full.as_str())])
                .send()
                .await
                .map_err(|e| self.transport(&url, &e))?;
            let resp = self.checked(&url, resp).await?;
            resp.bytes().await.map_err(|e| self.transport(&url, &e))
        };
        let bytes = self.retrying("listing artifacts", attempt).await?;
        let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
        let answer: ListAnswer = serde_json::from_slice(bytes).map_err(|e| Error::Transport {
            url: format!("{}{}", self.shown.trim_end_matches('/'), url.path()),
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

    pub(super) async fn download_artifact_rest(
        &self,
        artifact_uri: &str,
        path: &str,
        dest: &Path,
    ) -> Result<()> {
        let Some(root) = proxy_root(artifact_uri) else {
            return local::download_artifact(artifact_uri, path, dest).await;
        };
        let url = self.artifact_url(root, path)?;
        let attempt = || async {
            let resp = self
                .http
                .client()
                .0
                .get(url.clone())
                .send()
                .await
                .map_err(|e| self.transport(&url, &e))?;
            let mut resp = self.checked(&url, resp).await?;
            let io = |e: std::io::Error| {
                fatal(Error::Config(format!(
                    "cannot write {}: {e}",
                    dest.display()
                )))
            };
            let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
            while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport(&url, &e))? {
                file.write_all(&chunk).await.map_err(io)?;
            }
            file.flush().await.map_err(io)?;
            Ok(())
        };
        self.retrying(&format!("downloading artifact {path}"), attempt)
            .await
    }
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
                let mut len = 0usize;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h == "\r\n" {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
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

    fn store(uri: &str) -> RestStore {
        let settings = HttpSettings {
            max_retries: 3,
            backoff_factor: 0.01,
            backoff_jitter: 0.0,
            timeout: Duration::from_secs(10),
            respect_retry_after: true,
        };
        RestStore::new(&Url::parse(uri).unwrap(), settings).unwrap()
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
        rt.block_on(store(&uri).upload_artifact(
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
            .block_on(store(&uri).upload_artifact("mlflow-artifacts:/1/abc/artifacts", &file, "f"))
            .unwrap_err();
        assert!(matches!(err, Error::Api { status: 403, .. }), "{err}");
        assert_eq!(seen.lock().unwrap().len(), 1);
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
