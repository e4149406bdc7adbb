//! Runs by id beyond logging: deleting and restoring them, deleting a tag, changing a run's
//! status or name, a run's parent, the last active run, and artifact URIs.
//!
//! Every call runs on the destination's background sender, after everything queued before
//! it (a tag set just before a `delete_tag` is stored first), and waits for the store's
//! answer: its error is the call's.

use super::experiments::call;
use super::search::get_run_on;
use crate::base::error::{Error, Result};
use crate::base::model::{PARENT_RUN_ID_TAG, Run, RunUpdate};
use crate::runs::RunHandle;
use crate::runs::stack;
use crate::tracker::{self, Tracker};

/// Deletes the run `run_id`, as Python's `mlflow.delete_run`: it is marked deleted (kept
/// until `mlflow gc`, hidden from searches unless they ask for deleted runs) and can be
/// restored with [`restore_run`]. An unknown run is [`Error::Api`] with
/// `RESOURCE_DOES_NOT_EXIST`.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let run = mlflow::start_run().name("scratch").start();
/// let id = run.id()?;
/// drop(run);
/// mlflow::delete_run(&id)?;
/// assert_eq!(mlflow::get_run(&id)?.info.lifecycle_stage, "deleted");
/// mlflow::restore_run(&id)?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn delete_run(run_id: &str) -> Result<()> {
    delete_run_on(&tracker::current(), run_id)
}

/// Restores the run `run_id` (a run that is not deleted stays as it is).
pub fn restore_run(run_id: &str) -> Result<()> {
    restore_run_on(&tracker::current(), run_id)
}

/// Deletes the tag `key` of the active run, as Python's `mlflow.delete_tag`; see
/// [`RunHandle::delete_tag`]. Without an active run, [`Error::NoActiveRun`] (Python starts
/// a run instead).
pub fn delete_tag(key: &str) -> Result<()> {
    let run = stack::current().ok_or(Error::NoActiveRun)?;
    delete_tag_of(&run, key)
}

/// The active run of this thread (or task) read back, else the last run that ended on this
/// thread (or in this task), as Python's `mlflow.last_active_run`; `None` when there is
/// neither. A run ends "here" when its guard ends it (a `#[parent_run]`/`#[child_run]`
/// function returning, a [`RunGuard`](crate::RunGuard) dropped or ended, a scoped run
/// ended): per thread, as in Python (a closure run with [`RunHandle::enter`] included), and
/// per future for runs of async code, whose runs follow the future rather than the thread.
/// Runs ended through [`Client`](crate::Client) do not count.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// mlflow::start_run().name("train").run(|| mlflow::log_metric("loss", 0.1))?;
/// let run = mlflow::last_active_run()?.expect("train's run");
/// println!("{} ended {:?}", run.info.run_name, run.info.status);
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn last_active_run() -> Result<Option<Run>> {
    let Some(run) = stack::current().or_else(stack::last_ended) else {
        return Ok(None);
    };
    get_run_on(&run.cell.tracker, &run.id()?).map(Some)
}

/// The parent of the run `run_id` (its `mlflow.parentRunId` tag) read back, as Python's
/// `mlflow.get_parent_run`; `None` for a top-level run.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// # let child_id = String::new();
/// if let Some(parent) = mlflow::get_parent_run(&child_id)? {
///     println!("nested under {}", parent.info.run_name);
/// }
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn get_parent_run(run_id: &str) -> Result<Option<Run>> {
    parent_run_on(&tracker::current(), run_id)
}

/// The URI of the artifact `artifact_path` of the active run (`""`: the run's artifact
/// root), as Python's `mlflow.get_artifact_uri`: the path appended to the path part of the
/// run's `artifact_uri` (a leading `/` dropped, a query kept). Nothing is checked to exist.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let run = mlflow::start_run().start();
/// mlflow::log_artifact_to("features.txt", "features")?;
/// let uri = mlflow::get_artifact_uri("features/features.txt")?;
/// // mlflow-artifacts:/1/<run id>/artifacts/features/features.txt over a server
/// # drop(run); let _ = uri;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn get_artifact_uri(artifact_path: &str) -> Result<String> {
    let run = stack::current().ok_or(Error::NoActiveRun)?;
    artifact_uri_of(&run, artifact_path)
}

pub(crate) fn delete_run_on(tracker: &Tracker, run_id: &str) -> Result<()> {
    let id = run_id.to_owned();
    call(
        tracker,
        move |store| async move { store.delete_run(&id).await },
    )
}

pub(crate) fn restore_run_on(tracker: &Tracker, run_id: &str) -> Result<()> {
    let id = run_id.to_owned();
    call(
        tracker,
        move |store| async move { store.restore_run(&id).await },
    )
}

pub(crate) fn delete_tag_on(tracker: &Tracker, run_id: &str, key: &str) -> Result<()> {
    let (id, key) = (run_id.to_owned(), key.to_owned());
    call(tracker, move |store| async move {
        store.delete_tag(&id, &key).await
    })
}

/// Deletes `run`'s tag `key`, once the run exists and what was queued before is stored.
pub(crate) fn delete_tag_of(run: &RunHandle, key: &str) -> Result<()> {
    delete_tag_on(&run.cell.tracker, &run.id()?, key)
}

/// `runs/update` with what `update` says; an empty update asks nothing, as Python's
/// `update_run` with neither status nor name.
pub(crate) fn update_run_on(tracker: &Tracker, run_id: &str, update: RunUpdate) -> Result<()> {
    if update.is_empty() {
        return Ok(());
    }
    let id = run_id.to_owned();
    call(tracker, move |store| async move {
        store.update_run(&id, &update).await
    })
}

pub(crate) fn parent_run_on(tracker: &Tracker, run_id: &str) -> Result<Option<Run>> {
    let id = run_id.to_owned();
    call(tracker, move |store| async move {
        let child = store.get_run(&id).await?;
        match child.tag(PARENT_RUN_ID_TAG) {
            Some(parent) => store.get_run(parent).await.map(Some),
            None => Ok(None),
        }
    })
}

/// The URI of `run`'s artifact `artifact_path` (`""`: its root).
pub(crate) fn artifact_uri_of(run: &RunHandle, artifact_path: &str) -> Result<String> {
    let root = get_run_on(&run.cell.tracker, &run.id()?)?.info.artifact_uri;
    if artifact_path.is_empty() {
        return Ok(root);
    }
    append_to_uri_path(&root, artifact_path)
}

/// MLflow's `append_to_uri_path(uri, path)` (`mlflow/utils/uri.py`): `path` joined to the
/// path part of `uri` as `posixpath.join` joins, its leading `/` dropped; the scheme,
/// authority, query and fragment kept. A query that climbs (`..`) is refused, as MLflow
/// refuses it.
pub(crate) fn append_to_uri_path(uri: &str, path: &str) -> Result<String> {
    let (rest, fragment) = match uri.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (uri, None),
    };
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    if query.is_some_and(|q| percent_decoded(q).contains("..")) {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            "Invalid query string",
        ));
    }
    let (head, uri_path, authority) = match scheme_end(rest) {
        Some(end) => {
            let after = &rest[end + 1..];
            match after.strip_prefix("//") {
                Some(net) => {
                    let split = net.find('/').unwrap_or(net.len());
                    (&rest[..end + 3 + split], &net[split..], true)
                }
                None => (&rest[..=end], after, false),
            }
        }
        None => ("", rest, false),
    };
    let mut joined = join_posix(uri_path, path);
    if authority && !joined.is_empty() && !joined.starts_with('/') {
        joined.insert(0, '/');
    }
    let mut out = format!("{head}{joined}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Ok(out)
}

/// The index of the `:` ending a URI's scheme, as `urllib.parse` finds one.
fn scheme_end(uri: &str) -> Option<usize> {
    let end = uri.find(':')?;
    let scheme = &uri[..end];
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(end)
}

/// MLflow's `_join_posixpaths_and_append_absolute_suffixes`.
fn join_posix(prefix: &str, suffix: &str) -> String {
    if prefix.is_empty() {
        return suffix.to_owned();
    }
    let suffix = suffix.trim_start_matches('/');
    if prefix.ends_with('/') {
        format!("{prefix}{suffix}")
    } else {
        format!("{prefix}/{suffix}")
    }
}

/// `%XX` escapes decoded until nothing changes (at most 10 rounds, as MLflow's `_decode`).
fn percent_decoded(text: &str) -> String {
    let mut current = text.to_owned();
    for _ in 0..10 {
        let bytes = current.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
            {
                out.push((h * 16 + l) as u8);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        let next = String::from_utf8_lossy(&out).into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::append_to_uri_path as join;

    #[test]
    fn paths_join_as_mlflow_joins_them() {
        let cases = [
            (
                "mlflow-artifacts:/1/abc/artifacts",
                "f/x.txt",
                "mlflow-artifacts:/1/abc/artifacts/f/x.txt",
            ),
            (
                "file:///tmp/mlruns/1/abc/artifacts",
                "/x",
                "file:///tmp/mlruns/1/abc/artifacts/x",
            ),
            (
                "/tmp/mlruns/1/abc/artifacts",
                "a/b",
                "/tmp/mlruns/1/abc/artifacts/a/b",
            ),
            ("/tmp/root/", "a", "/tmp/root/a"),
            ("s3://bucket", "a/b", "s3://bucket/a/b"),
            (
                "s3://bucket/base/path?param=value",
                "some/subpath",
                "s3://bucket/base/path/some/subpath?param=value",
            ),
            ("file:relative", "x", "file:relative/x"),
            ("a/posix/path", "/some", "a/posix/path/some"),
        ];
        for (uri, path, expected) in cases {
            assert_eq!(join(uri, path).unwrap(), expected, "{uri} + {path}");
        }
        assert!(join("s3://b/p?x=%2e%2e/y", "a").is_err());
    }
}
