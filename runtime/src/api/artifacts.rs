//! Logging files to runs and reading them back.
//!
//! Uploads run on the background sender after everything queued before them (so after the
//! run's creation), and the call **waits** until the upload is done: it returns the upload's
//! error, and the file may be changed or deleted once it returns. Metrics logged meanwhile
//! from other threads wait in the queue behind the upload.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;
use crate::runs::RunHandle;
use crate::runs::stack;
use crate::store::local_artifacts as local;
use crate::tracker::{self, Tracker};

/// Logs the file `local` at the root of the active run's artifacts.
pub fn log_artifact(local: impl AsRef<Path>) -> Result<()> {
    active()?.log_artifact(local)
}

/// Logs the file `local` into the folder `artifact_dir` of the active run's artifacts.
pub fn log_artifact_to(local: impl AsRef<Path>, artifact_dir: &str) -> Result<()> {
    active()?.log_artifact_to(local, artifact_dir)
}

/// Logs every file under the folder `dir` (recursively) at the root of the active run's
/// artifacts.
pub fn log_artifacts(dir: impl AsRef<Path>) -> Result<()> {
    active()?.log_artifacts(dir)
}

/// Logs every file under `dir` into the folder `artifact_dir` of the active run.
pub fn log_artifacts_to(dir: impl AsRef<Path>, artifact_dir: &str) -> Result<()> {
    active()?.log_artifacts_to(dir, artifact_dir)
}

/// Stores `text` as the artifact file `artifact_file` (e.g. `notes/summary.txt`) of the
/// active run.
pub fn log_text(text: &str, artifact_file: &str) -> Result<()> {
    active()?.log_text(text, artifact_file)
}

/// Stores `value` as pretty-printed JSON in the artifact file `artifact_file` of the active
/// run.
pub fn log_json<T: serde::Serialize + ?Sized>(value: &T, artifact_file: &str) -> Result<()> {
    active()?.log_json(value, artifact_file)
}

/// Lists the artifacts of run `run_id` directly under `path` (`""` for the root).
pub fn list_artifacts(run_id: &str, path: &str) -> Result<Vec<FileInfo>> {
    list_on(&tracker::current(), run_id, path)
}

/// Downloads the artifact file or folder `path` (`""` for all) of run `run_id` into the
/// local folder `dest_dir`; returns the local path of what was downloaded.
pub fn download_artifacts(run_id: &str, path: &str, dest_dir: impl AsRef<Path>) -> Result<PathBuf> {
    download_on(&tracker::current(), run_id, path, dest_dir.as_ref())
}

fn active() -> Result<RunHandle> {
    stack::current().ok_or(Error::NoActiveRun)
}

impl RunHandle {
    /// Logs the file `local` at the root of this run's artifacts; waits for the upload.
    pub fn log_artifact(&self, local: impl AsRef<Path>) -> Result<()> {
        self.log_artifact_to(local, "")
    }

    /// Logs the file `local` into the folder `artifact_dir` of this run's artifacts.
    pub fn log_artifact_to(&self, local: impl AsRef<Path>, artifact_dir: &str) -> Result<()> {
        let local = local.as_ref();
        let name = file_name(local)?;
        let dest = join_rel(artifact_dir, &name);
        self.upload(vec![(local.to_path_buf(), dest)])
    }

    /// Logs every file under `dir` (recursively) at the root of this run's artifacts.
    pub fn log_artifacts(&self, dir: impl AsRef<Path>) -> Result<()> {
        self.log_artifacts_to(dir, "")
    }

    /// Logs every file under `dir` into the folder `artifact_dir` of this run's artifacts.
    pub fn log_artifacts_to(&self, dir: impl AsRef<Path>, artifact_dir: &str) -> Result<()> {
        let mut files = Vec::new();
        walk(dir.as_ref(), artifact_dir.trim_matches('/'), &mut files)?;
        self.upload(files)
    }

    /// Stores `text` as the artifact file `artifact_file` of this run.
    pub fn log_text(&self, text: &str, artifact_file: &str) -> Result<()> {
        self.log_bytes(text.as_bytes(), artifact_file)
    }

    /// Stores `value` as pretty-printed JSON in the artifact file `artifact_file`.
    pub fn log_json<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
        artifact_file: &str,
    ) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::InvalidValue {
            kind: "artifact",
            key: artifact_file.to_owned(),
            reason: format!("cannot be serialized as JSON: {e}"),
        })?;
        self.log_bytes(&bytes, artifact_file)
    }

    /// Lists this run's artifacts directly under `path` (`""` for the root).
    pub fn list_artifacts(&self, path: &str) -> Result<Vec<FileInfo>> {
        list_on(&self.cell.tracker, &self.id()?, path)
    }

    fn log_bytes(&self, bytes: &[u8], artifact_file: &str) -> Result<()> {
        let name = artifact_file.trim_matches('/');
        if name.is_empty() {
            return Err(Error::Config("artifact file name must not be empty".into()));
        }
        let tmp = TempFile::new(bytes)?;
        self.upload(vec![(tmp.path.clone(), name.to_owned())])
    }

    fn upload(&self, files: Vec<(PathBuf, String)>) -> Result<()> {
        // Waiting for the id orders the upload after the run's creation.
        let run_id = self.id()?;
        upload_on(&self.cell.tracker, run_id, files)
    }
}

pub(crate) fn upload_on(
    tracker: &Tracker,
    run_id: String,
    files: Vec<(PathBuf, String)>,
) -> Result<()> {
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            let store = ctx.store()?.clone();
            let uri = store.get_run(&run_id).await?.info.artifact_uri;
            for (local, dest) in files {
                store.log_artifact(&uri, &local, &dest).await?;
            }
            Ok(())
        })
    }))
}

pub(crate) fn list_on(tracker: &Tracker, run_id: &str, path: &str) -> Result<Vec<FileInfo>> {
    let (run_id, path) = (run_id.to_owned(), path.trim_matches('/').to_owned());
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            let store = ctx.store()?.clone();
            let uri = store.get_run(&run_id).await?.info.artifact_uri;
            store.list_artifacts(&uri, &path).await
        })
    }))
}

pub(crate) fn download_on(
    tracker: &Arc<Tracker>,
    run_id: &str,
    path: &str,
    dest_dir: &Path,
) -> Result<PathBuf> {
    let (run_id, path) = (run_id.to_owned(), path.trim_matches('/').to_owned());
    let dest_dir = dest_dir.to_path_buf();
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            let store = ctx.store()?.clone();
            let uri = store.get_run(&run_id).await?.info.artifact_uri;
            let target = local::join(&dest_dir, &path)?;
            // As in MLflow: a path with something listed under it is a folder.
            let mut stack = vec![path.clone()];
            let mut first = true;
            while let Some(dir) = stack.pop() {
                let listing = store.list_artifacts(&uri, &dir).await?;
                if first && listing.is_empty() && !path.is_empty() {
                    make_parent(&target).await?;
                    store.download_artifact(&uri, &path, &target).await?;
                    return Ok(target);
                }
                first = false;
                tokio::fs::create_dir_all(local::join(&dest_dir, &dir)?)
                    .await
                    .map_err(|e| {
                        Error::Config(format!("cannot create {}: {e}", dest_dir.display()))
                    })?;
                for f in listing {
                    if f.is_dir {
                        stack.push(f.path);
                    } else {
                        let file = local::join(&dest_dir, &f.path)?;
                        make_parent(&file).await?;
                        store.download_artifact(&uri, &f.path, &file).await?;
                    }
                }
            }
            Ok(target)
        })
    }))
}

async fn make_parent(file: &Path) -> Result<()> {
    if let Some(dir) = file.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(())
}

fn file_name(local: &Path) -> Result<String> {
    local
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Error::Config(format!("{} is not a file name", local.display())))
}

fn join_rel(dir: &str, name: &str) -> String {
    let dir = dir.trim_matches('/');
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<(PathBuf, String)>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::Config(format!("cannot read folder {}: {e}", dir.display())))?;
    let mut entries: Vec<_> = entries
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::Config(format!("cannot read folder {}: {e}", dir.display())))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = file_name(&path)?;
        let dest = join_rel(rel, &name);
        if path.is_dir() {
            walk(&path, &dest, out)?;
        } else {
            out.push((path, dest));
        }
    }
    Ok(())
}

/// A file holding bytes to upload, removed when dropped.
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    fn new(bytes: &[u8]) -> Result<TempFile> {
        let dir = std::env::temp_dir().join(format!("mlflow-rs-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::Config(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join("artifact");
        std::fs::write(&path, bytes)
            .map_err(|e| Error::Config(format!("cannot write {}: {e}", path.display())))?;
        Ok(TempFile { path })
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
