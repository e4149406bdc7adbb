//! Artifact roots that the tracking server does not proxy, chosen by their scheme: a local
//! folder (`file://` or a path) or an object store (`s3://`, the `s3` feature). Every store
//! sends what is not its own here: the embedded store all of its runs (an experiment's
//! `artifact_location` may be `s3://`), the REST store the roots of a server started with
//! `--no-serve-artifacts`. Logged models' files go through the same three calls, with the
//! model's artifact location as the root.

use std::path::Path;

use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;
use crate::store::local_artifacts as local;
#[cfg(feature = "s3")]
use crate::store::s3;

/// Where the files under one artifact root live.
enum Root<'a> {
    Local,
    /// `s3://bucket/prefix`: the part after the scheme.
    #[cfg_attr(not(feature = "s3"), allow(dead_code))]
    S3(&'a str),
}

/// Object-store schemes the Python client serves that this crate does not (yet), with the
/// feature that would bring them.
const UNSERVED: [(&str, &str); 5] = [
    ("gs://", "Google Cloud Storage"),
    ("wasbs://", "Azure Blob Storage"),
    ("abfss://", "Azure Data Lake Storage"),
    ("hdfs://", "HDFS"),
    ("dbfs:/", "Databricks"),
];

fn root(artifact_uri: &str) -> Result<Root<'_>> {
    let lower = artifact_uri
        .get(..8)
        .unwrap_or(artifact_uri)
        .to_ascii_lowercase();
    if lower.starts_with("s3://") || lower.starts_with("s3a://") {
        let rest = &artifact_uri[artifact_uri.find("://").map_or(0, |i| i + 3)..];
        return s3_root(artifact_uri, rest);
    }
    if let Some((_, name)) = UNSERVED.iter().find(|(s, _)| lower.starts_with(s)) {
        return Err(Error::Config(format!(
            "artifact URI {artifact_uri:?}: {name} artifact stores are not supported by this crate; use an MLflow server that proxies artifacts (--serve-artifacts) or an s3:// store"
        )));
    }
    Ok(Root::Local)
}

#[cfg(feature = "s3")]
fn s3_root<'a>(_uri: &str, rest: &'a str) -> Result<Root<'a>> {
    Ok(Root::S3(rest))
}

#[cfg(not(feature = "s3"))]
fn s3_root<'a>(uri: &str, _rest: &'a str) -> Result<Root<'a>> {
    Err(Error::Config(format!(
        "artifact URI {uri:?} is in S3, which this build left out: enable the \"s3\" feature of mlflow-tracking"
    )))
}

/// Uploads the file `local_file` to `artifact_path` under the root `artifact_uri`.
pub(crate) async fn log_artifact(
    artifact_uri: &str,
    local_file: &Path,
    artifact_path: &str,
) -> Result<()> {
    match root(artifact_uri)? {
        Root::Local => local::log_artifact(artifact_uri, local_file, artifact_path).await,
        #[cfg(feature = "s3")]
        Root::S3(rest) => s3::upload(rest, local_file, artifact_path).await,
        #[cfg(not(feature = "s3"))]
        Root::S3(_) => unreachable_without_s3(),
    }
}

/// Lists what is directly under `path` (relative; empty for the root).
pub(crate) async fn list_artifacts(artifact_uri: &str, path: &str) -> Result<Vec<FileInfo>> {
    match root(artifact_uri)? {
        Root::Local => local::list_artifacts(artifact_uri, path).await,
        #[cfg(feature = "s3")]
        Root::S3(rest) => s3::list(rest, path).await,
        #[cfg(not(feature = "s3"))]
        Root::S3(_) => unreachable_without_s3(),
    }
}

/// Downloads the file `path` to the local file `dest`.
pub(crate) async fn download_artifact(artifact_uri: &str, path: &str, dest: &Path) -> Result<()> {
    match root(artifact_uri)? {
        Root::Local => local::download_artifact(artifact_uri, path, dest).await,
        #[cfg(feature = "s3")]
        Root::S3(rest) => s3::download(rest, path, dest).await,
        #[cfg(not(feature = "s3"))]
        Root::S3(_) => unreachable_without_s3(),
    }
}

/// True when files under `artifact_uri` are read by this process itself rather than
/// through a store: a local folder.
pub(crate) fn is_local(artifact_uri: &str) -> bool {
    matches!(root(artifact_uri), Ok(Root::Local)) && local::root(artifact_uri).is_ok()
}

#[cfg(not(feature = "s3"))]
fn unreachable_without_s3<T>() -> Result<T> {
    Err(Error::Internal(
        "an s3:// root was accepted in a build without the s3 feature".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_choose_the_backend() {
        assert!(matches!(root("/tmp/a"), Ok(Root::Local)));
        assert!(matches!(root("file:///tmp/a"), Ok(Root::Local)));
        let gcs = root("gs://b/x").err().unwrap().to_string();
        assert!(gcs.contains("Google Cloud Storage"), "{gcs}");
        match root("s3://bucket/1/abc/artifacts") {
            #[cfg(feature = "s3")]
            Ok(Root::S3(rest)) => assert_eq!(rest, "bucket/1/abc/artifacts"),
            #[cfg(not(feature = "s3"))]
            Err(Error::Config(m)) => assert!(m.contains("\"s3\" feature"), "{m}"),
            _ => panic!("s3:// not recognised"),
        }
    }
}
