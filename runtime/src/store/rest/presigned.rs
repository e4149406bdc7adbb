//! Downloads straight from a proxying server's object store, as the pinned Python client's
//! `MlflowArtifactsRepository._download_file` does them: when the server says
//! `multipart_downloads_enabled` in `/api/3.0/mlflow/server-info` (a server whose artifact
//! destination can presign, such as S3), or `MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD` says
//! true, the client asks `mlflow-artifacts/presigned/<path>` for a presigned URL and the
//! file's size, then fetches byte ranges of `MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE` (100 MiB)
//! several at once, each streamed to its place in the file and retried on its own. Through
//! the server's own GET a gigabyte took 7-9x longer than this way. The same answer switches
//! proxied multipart uploads on while `MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD` is unset.
//!
//! The presigned URL carries credentials in its query: no error or log line shows it.

use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::Path;

use futures_util::StreamExt;
use reqwest::header::RANGE;
use serde::Deserialize;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use url::Url;

use super::artifacts::{checked, fatal, proxy_root, proxy_url, retrying};
use super::client::{ApiClient, Attempt};
use super::multipart::{clean, part_transport, shown};
use super::retry::Failure;
use crate::base::env;
use crate::base::error::{Error, Result, warn};

/// Ranges under way at once.
const CONCURRENCY: usize = 8;
/// `MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE`'s default in the pinned client.
const DEFAULT_CHUNK: u64 = 100 << 20;
/// Write buffer of one range: the body arrives in pieces of a few KiB.
const WRITE_BUFFER: usize = 4 << 20;

/// A presigned download as the server hands it out; never printed (no `Debug`).
#[derive(Deserialize)]
struct Presigned {
    url: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    file_size: Option<serde_json::Value>,
}

/// Downloads `rel` of a proxied `artifact_uri` to `dest` through a presigned URL when the
/// server offers them. `false`: the caller downloads through the server's own GET.
pub(super) async fn download(
    store: &ApiClient,
    artifact_uri: &str,
    rel: &str,
    dest: &Path,
) -> Result<bool> {
    let Some(root) = proxy_root(artifact_uri) else {
        return Ok(false);
    };
    let (on, forced) = store
        .switched_on(env::ENABLE_PROXY_MULTIPART_DOWNLOAD, |i| {
            i.multipart_downloads_enabled
        })
        .await?;
    if !on {
        return Ok(false);
    }
    let chunk: u64 = env::number(env::MULTIPART_DOWNLOAD_CHUNK_SIZE, DEFAULT_CHUNK)?;
    if chunk == 0 {
        return Err(Error::Config(format!(
            "{} must be a positive number of bytes",
            env::MULTIPART_DOWNLOAD_CHUNK_SIZE
        )));
    }
    let presigned = match presign(store, root, rel).await {
        Ok(p) => p,
        // Forced on against a server that cannot presign: Python warns and falls back.
        Err(Error::Api { status, .. }) if forced && (status == 501 || status == 404) => {
            warn(&format!(
                "{} is true but the server cannot presign downloads (HTTP {status}): \
                 downloading {rel} through the server",
                env::ENABLE_PROXY_MULTIPART_DOWNLOAD
            ));
            return Ok(false);
        }
        Err(e) => return Err(e),
    };
    let size = match &presigned.file_size {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let Some(size) = size else {
        return Ok(false);
    };
    let url = Url::parse(&presigned.url).map_err(|_| Error::Transport {
        url: store.shown.clone(),
        message: format!("the server handed out an unusable download URL for {rel}"),
    })?;
    let fetched = fetch(store, &url, &presigned.headers, size, chunk, dest).await;
    if fetched.is_err() {
        let _ = tokio::fs::remove_file(dest).await;
    }
    fetched.map(|()| true)
}

async fn presign(store: &ApiClient, root: &str, rel: &str) -> Result<Presigned> {
    let url = proxy_url(store, "presigned", root, rel)?;
    let attempt = || async {
        let resp = store
            .downloads
            .get(url.clone())
            .send()
            .await
            .map_err(|e| store.transport(&url, &e))?;
        let resp = checked(store, &url, resp).await?;
        resp.bytes().await.map_err(|e| store.transport(&url, &e))
    };
    let bytes = retrying(store, &format!("presigning artifact {rel}"), attempt).await?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Transport {
        url: format!("{}{}", store.shown.trim_end_matches('/'), url.path()),
        message: format!("unexpected answer to presigning {rel}: {e}"),
    })
}

/// Every range of the file, [`CONCURRENCY`] at a time, each written at its place.
async fn fetch(
    store: &ApiClient,
    url: &Url,
    headers: &HashMap<String, String>,
    size: u64,
    chunk: u64,
    dest: &Path,
) -> Result<()> {
    let io = |e| Error::io("download destination", dest, e);
    let file = tokio::fs::File::create(dest).await.map_err(io)?;
    file.set_len(size).await.map_err(io)?;
    drop(file);
    let ranges = (0..size.div_ceil(chunk)).map(|i| (i * chunk, ((i + 1) * chunk).min(size)));
    let mut under_way = futures_util::stream::iter(ranges)
        .map(|(start, end)| fetch_range(store, url, headers, start, end, dest))
        .buffer_unordered(CONCURRENCY);
    while let Some(done) = under_way.next().await {
        done?;
    }
    Ok(())
}

/// Bytes `start..end` of the object, retried on their own.
async fn fetch_range(
    store: &ApiClient,
    url: &Url,
    headers: &HashMap<String, String>,
    start: u64,
    end: u64,
    dest: &Path,
) -> Result<()> {
    let attempt = || async {
        let io = |e| fatal(Error::io("download destination", dest, e));
        let mut request = store
            .store_downloads
            .get(url.clone())
            .header(RANGE, format!("bytes={start}-{}", end - 1));
        for (k, v) in headers {
            request = request.header(k.as_str(), v.as_str());
        }
        let resp = request.send().await.map_err(|e| part_transport(url, e))?;
        let mut resp = checked(store, url, resp).await.map_err(|mut a| {
            a.error = clean(a.error);
            a
        })?;
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(dest)
            .await
            .map_err(io)?;
        file.seek(SeekFrom::Start(start)).await.map_err(io)?;
        let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
        let mut got = 0u64;
        while let Some(bytes) = resp.chunk().await.map_err(|e| part_transport(url, e))? {
            got += bytes.len() as u64;
            if got > end - start {
                break;
            }
            file.write_all(&bytes).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        if got != end - start {
            // A store that ignored the range, or a body cut short: try the range again.
            return Err(Attempt {
                failure: Failure::Transport,
                retry_after: None,
                error: Error::Transport {
                    url: shown(url),
                    message: format!(
                        "bytes {start}-{} of the object came back as {got} bytes",
                        end - 1
                    ),
                },
            });
        }
        Ok(())
    };
    retrying(
        store,
        &format!("downloading bytes {start}-{} of an artifact", end - 1),
        attempt,
    )
    .await
}
