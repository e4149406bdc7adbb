//! Artifacts in S3 and S3-compatible stores (`s3://bucket/prefix`; the `s3` feature), written
//! and read by this process directly, as MLflow's Python client does with boto3 when the
//! server hands out `s3://` artifact URIs (`--default-artifact-root s3://...` without the
//! artifact proxy).
//!
//! Through the Apache Arrow project's `object_store`: maintained, used by the Rust data
//! ecosystem (DataFusion, delta-rs, Polars), on the same reqwest and rustls as the REST store,
//! with SigV4 signing, retries and the credential providers of cloud machines built in, and
//! the same interface for Google Cloud Storage and Azure should they follow.
//!
//! Large files move in parts (`multipart.rs`): never more than a few parts in memory.

mod multipart;
mod settings;

use std::path::Path;

use object_store::ObjectStore;
use object_store::path::Path as Key;

use crate::base::error::{Error, Result, without_signatures};
use crate::base::search::FileInfo;

/// One object: its bucket, its key and its `s3://` URI for messages.
pub(super) struct Location {
    bucket: String,
    key: Key,
}

impl Location {
    /// The object `rel` under the root `bucket/prefix` (the URI after `s3://`).
    fn new(root: &str, rel: &str) -> Result<Location> {
        let (bucket, prefix) = split_root(root)?;
        let key = join_key(prefix, rel)?;
        Ok(Location {
            bucket: bucket.to_owned(),
            key: parse_key(&key)?,
        })
    }

    fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// An `object_store` failure on this object, as the crate reports it.
    fn error(&self, e: object_store::Error) -> Error {
        s3_error(&self.uri(), e)
    }
}

/// `bucket` and `prefix` (no slashes around it) of `bucket/prefix`.
fn split_root(root: &str) -> Result<(&str, &str)> {
    let (bucket, prefix) = root.split_once('/').unwrap_or((root, ""));
    if bucket.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "artifact URI s3://{root} names no bucket"
        )));
    }
    Ok((bucket, prefix.trim_matches('/')))
}

/// `prefix/rel`, refusing `..` so that nothing lands outside the root.
fn join_key(prefix: &str, rel: &str) -> Result<String> {
    let mut key = prefix.to_owned();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(Error::InvalidArgument(format!(
                "artifact path {rel:?} must stay inside the run's artifact folder"
            )));
        }
        if !key.is_empty() {
            key.push('/');
        }
        key.push_str(part);
    }
    Ok(key)
}

fn parse_key(key: &str) -> Result<Key> {
    Key::parse(key)
        .map_err(|e| Error::InvalidArgument(format!("S3 key {key:?} is not usable: {e}")))
}

/// Uploads `local_file` to `artifact_path` under `root` (`bucket/prefix`): small files in
/// one request, larger ones in parts.
pub(crate) async fn upload(root: &str, local_file: &Path, artifact_path: &str) -> Result<()> {
    let location = Location::new(root, artifact_path)?;
    let client = settings::client(&location.bucket)?;
    let size = tokio::fs::metadata(local_file)
        .await
        .map_err(|e| Error::io("artifact to upload", local_file, e))?
        .len();
    multipart::upload(client.as_ref(), &location, local_file, size).await
}

/// Lists what is directly under `path` of `root`, as MLflow's `S3ArtifactRepository` does:
/// prefixes are folders, a file's own path lists as nothing.
pub(crate) async fn list(root: &str, path: &str) -> Result<Vec<FileInfo>> {
    let (bucket, prefix) = split_root(root)?;
    let dir = join_key(prefix, path)?;
    let client = settings::client(bucket)?;
    let listed_in = if dir.is_empty() {
        None
    } else {
        Some(parse_key(&dir)?)
    };
    let shown = format!("s3://{bucket}/{dir}");
    let listed = client
        .list_with_delimiter(listed_in.as_ref())
        .await
        .map_err(|e| s3_error(&shown, e))?;
    let relative = |key: &str| -> String {
        let rel = if prefix.is_empty() {
            key
        } else {
            key.strip_prefix(prefix)
                .map_or(key, |k| k.trim_start_matches('/'))
        };
        rel.trim_end_matches('/').to_owned()
    };
    let mut out: Vec<FileInfo> = listed
        .common_prefixes
        .iter()
        .map(|p| FileInfo {
            path: relative(p.as_ref()),
            is_dir: true,
            file_size: None,
        })
        .chain(
            listed
                .objects
                .iter()
                // Folder markers (empty keys ending in `/`), as MLflow skips them.
                .filter(|o| !(o.size == 0 && o.location.as_ref().ends_with('/')))
                .map(|o| FileInfo {
                    path: relative(o.location.as_ref()),
                    is_dir: false,
                    file_size: Some(o.size),
                }),
        )
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Downloads the object `path` of `root` to `dest`, streamed (in parts when large).
pub(crate) async fn download(root: &str, path: &str, dest: &Path) -> Result<()> {
    let location = Location::new(root, path)?;
    let client = settings::client(&location.bucket)?;
    multipart::download(client.as_ref(), &location, dest).await
}

/// An `object_store` error as MLflow's S3 repository reports boto3's (`BOTO_TO_MLFLOW_ERROR`):
/// S3's own code kept in the message, MLflow's code beside it; an error without an answer
/// from S3 (refused connection, timeout) is a transport error.
fn s3_error(uri: &str, e: object_store::Error) -> Error {
    use object_store::Error as E;
    let text = without_signatures(&chain(&e));
    let s3_code = tag(&text, "Code");
    let (status, code) = match (&e, s3_code.as_deref()) {
        (E::NotFound { .. }, _) | (_, Some("NoSuchBucket" | "NoSuchKey" | "NoSuchUpload")) => {
            (404, "RESOURCE_DOES_NOT_EXIST")
        }
        (E::Unauthenticated { .. }, _)
        | (_, Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken")) => {
            (401, "UNAUTHENTICATED")
        }
        (E::PermissionDenied { .. }, _) | (_, Some("AccessDenied")) => (403, "PERMISSION_DENIED"),
        (_, Some(_)) => (status_of(&text).unwrap_or(500), "INTERNAL_ERROR"),
        (_, None) => match status_of(&text) {
            Some(status) => (status, "INTERNAL_ERROR"),
            None => {
                return Error::Transport {
                    url: uri.to_owned(),
                    message: text,
                };
            }
        },
    };
    let message = match (s3_code, tag(&text, "Message")) {
        (Some(c), Some(m)) => format!("{uri}: S3 says {c}: {m}"),
        (Some(c), None) => format!("{uri}: S3 says {c}"),
        _ => format!("{uri}: {text}"),
    };
    Error::Api {
        status,
        error_code: code.to_owned(),
        message,
    }
}

/// The error and its sources, which say why (object_store's top line is terse).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The text of `<name>...</name>` in S3's XML error body.
fn tag(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))?;
    Some(text[start..start + end].trim().to_owned())
}

/// The HTTP status in object_store's message ("... status code: 404 Not Found ...").
fn status_of(text: &str) -> Option<u16> {
    let at = text.find("status code: ")? + "status code: ".len();
    text.get(at..at + 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_and_keys() {
        assert_eq!(
            split_root("b/1/r/artifacts/").unwrap(),
            ("b", "1/r/artifacts")
        );
        assert_eq!(split_root("b").unwrap(), ("b", ""));
        assert!(split_root("/x").is_err());
        assert_eq!(join_key("1/r", "d/./f.txt").unwrap(), "1/r/d/f.txt");
        assert_eq!(join_key("", "f").unwrap(), "f");
        assert!(join_key("1/r", "../x").is_err());
        let l = Location::new("b/1/r/artifacts", "a b#c.txt").unwrap();
        assert_eq!(l.uri(), "s3://b/1/r/artifacts/a b#c.txt");
    }

    #[test]
    fn s3_errors_keep_codes_and_no_secrets() {
        let body = "Error performing PUT http://h/b/k?X-Amz-Signature=sekrit in 1ms - Server returned non-2xx status code: 404 Not Found: <Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        let e = object_store::Error::Generic {
            store: "S3",
            source: body.into(),
        };
        let err = s3_error("s3://b/k", e);
        let shown = err.to_string();
        assert!(matches!(err, Error::Api { status: 404, .. }), "{shown}");
        assert!(
            shown.contains("NoSuchBucket") && !shown.contains("sekrit"),
            "{shown}"
        );
        let e = object_store::Error::Generic {
            store: "S3",
            source: "error sending request: connection refused".into(),
        };
        assert!(matches!(s3_error("s3://b/k", e), Error::Transport { .. }));
    }
}
