//! Logging files to runs and reading them back: listing, downloading, and reading one file
//! into memory (by run and path, or by artifact URI).
//!
//! Uploads start once everything queued before them is handled (so after the run's
//! creation), and the call **waits** until the upload is done: it returns the upload's
//! error, and the file may be changed or deleted once it returns. The bytes move beside the
//! background sender (`sender/transfers.rs`): metrics logged meanwhile, from this run or any
//! other, are delivered while a large file is on its way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::base::artifact_uri::ArtifactUri;
use crate::base::error::{Error, Result};
use crate::base::search::FileInfo;
use crate::runs::RunHandle;
use crate::runs::stack;
use crate::sender::OpenedStore;
use crate::store::Store;
use crate::store::artifact_roots;
use crate::store::local_artifacts as local;
use crate::tracker::{self, Tracker};

/// The store, as the sender prepares a transfer.
type StoreOnly = Arc<dyn Store>;
/// The store and a run's artifact root.
type RunRoot = (Arc<dyn Store>, String);

/// Prepares a transfer of `run_id`'s artifacts on the sender: the store and the run's root.
fn run_root(run_id: String) -> crate::sender::Request<RunRoot> {
    Box::new(move |ctx: OpenedStore| {
        Box::pin(async move {
            let store = ctx.get()?.clone();
            let uri = store.get_run(&run_id).await?.info.artifact_uri;
            Ok((store, uri))
        })
    })
}

/// Prepares a transfer that needs only the store.
fn store_only() -> crate::sender::Request<StoreOnly> {
    Box::new(|ctx: OpenedStore| Box::pin(async move { Ok(ctx.get()?.clone()) }))
}

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

/// The run the free functions log to: the innermost active one.
pub(crate) fn active() -> Result<RunHandle> {
    stack::current().ok_or(Error::NoActiveRun)
}

/// Logs the file `local` into the folder `artifact_dir` of `run`'s artifacts.
pub(crate) fn log_file(run: &RunHandle, local: &Path, artifact_dir: &str) -> Result<()> {
    let name = file_name(local)?;
    let dest = join_rel(artifact_dir, &name);
    upload(run, vec![(local.to_path_buf(), dest)])
}

/// Logs every file under `dir` into the folder `artifact_dir` of `run`'s artifacts.
pub(crate) fn log_folder(run: &RunHandle, dir: &Path, artifact_dir: &str) -> Result<()> {
    let mut files = Vec::new();
    walk(dir, artifact_dir.trim_matches('/'), &mut files)?;
    upload(run, files)
}

/// Stores `value` as pretty-printed JSON in the artifact file `artifact_file` of `run`.
pub(crate) fn log_json_to<T: serde::Serialize + ?Sized>(
    run: &RunHandle,
    value: &T,
    artifact_file: &str,
) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::InvalidValue {
        kind: "artifact",
        key: artifact_file.to_owned(),
        reason: format!("cannot be serialized as JSON: {e}"),
    })?;
    log_bytes(run, &bytes, artifact_file)
}

/// Lists `run`'s artifacts directly under `path`.
pub(crate) fn list_of(run: &RunHandle, path: &str) -> Result<Vec<FileInfo>> {
    list_on(&run.cell.tracker, &run.id()?, path)
}

/// Stores `bytes` as the artifact file `artifact_file` of `run`.
pub(crate) fn log_bytes(run: &RunHandle, bytes: &[u8], artifact_file: &str) -> Result<()> {
    log_bytes_many(run, &[(bytes, artifact_file)])
}

/// Stores each `(bytes, artifact_file)` as a file of `run`, in order, in one request.
pub(crate) fn log_bytes_many(run: &RunHandle, files: &[(&[u8], &str)]) -> Result<()> {
    let mut temps = Vec::with_capacity(files.len());
    let mut uploads = Vec::with_capacity(files.len());
    for (bytes, artifact_file) in files {
        let name = artifact_file.trim_matches('/');
        if name.is_empty() {
            return Err(Error::InvalidArgument(
                "artifact file name must not be empty".into(),
            ));
        }
        let tmp = TempFile::new(bytes)?;
        uploads.push((tmp.path.clone(), name.to_owned()));
        temps.push(tmp);
    }
    upload(run, uploads)
}

/// The file `path` of run `run_id` read into memory, or `None` when the run's listing of
/// its folder has no such file (as the Python client looks for a table before appending).
pub(crate) fn read_run_file(
    tracker: &Tracker,
    run_id: &str,
    path: &str,
) -> Result<Option<Vec<u8>>> {
    let (run_id, path) = (run_id.to_owned(), path.trim_matches('/').to_owned());
    let tmp = TempFile::new(&[])?;
    let dest = tmp.path.clone();
    let found = tracker.transfer(
        run_root(run_id),
        Box::new(move |(store, uri)| {
            Box::pin(async move {
                let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
                let listed = store.list_artifacts(&uri, dir).await?;
                if !listed.iter().any(|f| !f.is_dir && f.path == path) {
                    return Ok(false);
                }
                store.download_artifact(&uri, &path, &dest).await?;
                Ok(true)
            })
        }),
    )?;
    found.then(|| tmp.read()).transpose()
}

/// The file an artifact URI names, read into memory: `runs:/<run_id>/<path>` through the
/// store, a run's artifact root plus a path through the store too (`mlflow-artifacts:/...`
/// through a server's proxy), or a local file (`file://` or a path) directly.
pub(crate) fn read_uri(tracker: &Tracker, artifact_uri: &str) -> Result<Vec<u8>> {
    match ArtifactUri::parse(artifact_uri)? {
        ArtifactUri::Run { run_id, path } => {
            read_run_file(tracker, &run_id, &path)?.ok_or_else(|| {
                Error::api(
                    404,
                    "RESOURCE_DOES_NOT_EXIST",
                    format!("artifact {path:?} not found for run {run_id}"),
                )
            })
        }
        ArtifactUri::Root { root, name } => {
            if artifact_roots::is_local(&root) {
                let file = local::join(&local::root(&root)?, &name)?;
                return std::fs::read(&file).map_err(|e| Error::io("artifact", &file, e));
            }
            let tmp = TempFile::new(&[])?;
            let dest = tmp.path.clone();
            tracker.transfer(
                store_only(),
                Box::new(move |store| {
                    Box::pin(async move { store.download_artifact(&root, &name, &dest).await })
                }),
            )?;
            tmp.read()
        }
    }
}

/// The files under `path` as artifacts: a file by its name, a folder's files (recursively)
/// by their paths inside it. A path that is neither is [`Error::Io`].
pub(crate) fn files_at(path: &Path) -> Result<Vec<(PathBuf, String)>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("model file", path, e))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, "", &mut files)?;
        Ok(files)
    } else {
        Ok(vec![(path.to_path_buf(), file_name(path)?)])
    }
}

/// Uploads `files` and the files `extra` (bytes, name) under the artifact root `root` (a
/// logged model's artifact location), in order; waits for the uploads.
pub(crate) fn upload_to_root(
    tracker: &Tracker,
    root: String,
    mut files: Vec<(PathBuf, String)>,
    extra: &[(&[u8], &str)],
) -> Result<()> {
    let mut temps = Vec::with_capacity(extra.len());
    for (bytes, name) in extra {
        let tmp = TempFile::new(bytes)?;
        files.push((tmp.path.clone(), (*name).to_owned()));
        temps.push(tmp);
    }
    tracker.transfer(
        store_only(),
        Box::new(move |store| {
            Box::pin(async move {
                for (local, dest) in files {
                    store.log_artifact(&root, &local, &dest).await?;
                }
                Ok(())
            })
        }),
    )
}

fn upload(run: &RunHandle, files: Vec<(PathBuf, String)>) -> Result<()> {
    // Waiting for the id orders the upload after the run's creation.
    let run_id = run.id()?;
    upload_on(&run.cell.tracker, run_id, files)
}

pub(crate) fn upload_on(
    tracker: &Tracker,
    run_id: String,
    files: Vec<(PathBuf, String)>,
) -> Result<()> {
    tracker.transfer(
        run_root(run_id),
        Box::new(move |(store, uri)| {
            Box::pin(async move {
                for (local, dest) in files {
                    store.log_artifact(&uri, &local, &dest).await?;
                }
                Ok(())
            })
        }),
    )
}

pub(crate) fn list_on(tracker: &Tracker, run_id: &str, path: &str) -> Result<Vec<FileInfo>> {
    let (run_id, path) = (run_id.to_owned(), path.trim_matches('/').to_owned());
    tracker.transfer(
        run_root(run_id),
        Box::new(move |(store, uri)| {
            Box::pin(async move { store.list_artifacts(&uri, &path).await })
        }),
    )
}

pub(crate) fn download_on(
    tracker: &Arc<Tracker>,
    run_id: &str,
    path: &str,
    dest_dir: &Path,
) -> Result<PathBuf> {
    let (run_id, path) = (run_id.to_owned(), path.trim_matches('/').to_owned());
    let dest_dir = dest_dir.to_path_buf();
    tracker.transfer(
        run_root(run_id),
        Box::new(move |(store, uri)| Box::pin(download_tree(store, uri, path, dest_dir))),
    )
}

/// Downloads everything under the artifact root `root` (a logged model's or a model
/// version's location: `mlflow-artifacts:/..`, a local folder, `s3://..`) into `dest_dir`,
/// through the store behind `tracker`; returns `dest_dir`.
pub(crate) fn download_root_on(tracker: &Tracker, root: &str, dest_dir: &Path) -> Result<PathBuf> {
    let root = root.trim_end_matches('/').to_owned();
    let dest_dir = dest_dir.to_path_buf();
    tracker.transfer(
        store_only(),
        Box::new(move |store| Box::pin(download_tree(store, root, String::new(), dest_dir))),
    )
}

/// The file or folder `path` under the artifact root `uri`, downloaded into `dest_dir`.
async fn download_tree(
    store: Arc<dyn Store>,
    uri: String,
    path: String,
    dest_dir: PathBuf,
) -> Result<PathBuf> {
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
            .map_err(|e| Error::io("download folder", &dest_dir, e))?;
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
}

async fn make_parent(file: &Path) -> Result<()> {
    if let Some(dir) = file.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| Error::io("download folder", dir, e))?;
    }
    Ok(())
}

fn file_name(local: &Path) -> Result<String> {
    local
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| Error::InvalidArgument(format!("{} is not a file name", local.display())))
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
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("artifact folder", dir, e))?;
    let mut entries: Vec<_> = entries
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Error::io("artifact folder", dir, e))?;
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
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("temporary folder", &dir, e))?;
        let path = dir.join("artifact");
        std::fs::write(&path, bytes).map_err(|e| Error::io("temporary file", &path, e))?;
        Ok(TempFile { path })
    }

    fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| Error::io("downloaded artifact", &self.path, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
