//! Artifacts of the memory store: bytes kept in memory under `<artifact_uri>/<path>`, listed
//! folder by folder as MLflow's artifact repositories list them.

use std::path::Path;

use super::state::{State, bad_request};
use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;

/// The key of artifact `path` under the root `artifact_uri`.
pub(super) fn key(artifact_uri: &str, path: &str) -> String {
    format!(
        "{}/{}",
        artifact_uri.trim_end_matches('/'),
        path.trim_matches('/')
    )
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("{what} {}: {e}", path.display()))
}

pub(super) async fn read_local(local: &Path) -> Result<Vec<u8>> {
    tokio::fs::read(local)
        .await
        .map_err(|e| io("cannot read", local, e))
}

pub(super) async fn write_local(dest: &Path, bytes: &[u8]) -> Result<()> {
    tokio::fs::write(dest, bytes)
        .await
        .map_err(|e| io("cannot write", dest, e))
}

pub(super) fn put(state: &mut State, artifact_uri: &str, path: &str, bytes: Vec<u8>) -> Result<()> {
    if path.split('/').any(|part| part == "..") || path.trim_matches('/').is_empty() {
        return Err(bad_request(format!(
            "artifact path {path:?} must name a file inside the run's artifact folder"
        )));
    }
    state.artifacts.insert(key(artifact_uri, path), bytes);
    Ok(())
}

pub(super) fn get(state: &State, artifact_uri: &str, path: &str) -> Result<Vec<u8>> {
    state
        .artifacts
        .get(&key(artifact_uri, path))
        .cloned()
        .ok_or_else(|| {
            Error::api(
                404,
                "RESOURCE_DOES_NOT_EXIST",
                format!("No artifact {path:?} under {artifact_uri}"),
            )
        })
}

/// What lies directly under `path` (relative; empty for the root), folders included.
pub(super) fn list(state: &State, artifact_uri: &str, path: &str) -> Vec<FileInfo> {
    let folder = path.trim_matches('/');
    let prefix = match folder {
        "" => format!("{}/", artifact_uri.trim_end_matches('/')),
        _ => format!("{}/", key(artifact_uri, folder)),
    };
    let mut found: Vec<FileInfo> = Vec::new();
    for (stored, bytes) in state.artifacts.range(prefix.clone()..) {
        let Some(rest) = stored.strip_prefix(&prefix) else {
            break;
        };
        let (name, is_dir) = match rest.split_once('/') {
            Some((dir, _)) => (dir, true),
            None => (rest, false),
        };
        let path = match folder {
            "" => name.to_owned(),
            _ => format!("{folder}/{name}"),
        };
        if found.last().is_some_and(|f| f.path == path) {
            continue;
        }
        found.push(FileInfo {
            path,
            is_dir,
            file_size: (!is_dir).then_some(bytes.len() as u64),
        });
    }
    found
}
