//! Downloading by URI, as Python's `mlflow.artifacts.download_artifacts(artifact_uri=..)`:
//! `runs:/`, the `models:/` forms (a logged model, a registered version, an alias), and an
//! artifact location itself.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::artifacts::{download_on, download_root_on};
use super::experiments::call;
use super::registry::{on_registry, registry_of};
use crate::base::error::{Error, Result};
use crate::base::registry::{ModelUri, split_runs_uri};
use crate::tracker::{self, Tracker};

/// Downloads what `uri` names into the folder `dest_dir` and returns the local path of what
/// was downloaded (Python's `mlflow.artifacts.download_artifacts(artifact_uri=uri,
/// dst_path=dest_dir)`):
///
/// - `runs:/<run_id>/<path>`: a run's file or folder (`dest_dir/<path>`);
/// - `models:/<model_id>`: a logged model's files;
/// - `models:/<name>/<version>`, `models:/<name>@<alias>`, `models:/<name>/latest`: a
///   registered version's files, found through the registry (see
///   [`set_registry_uri`](crate::set_registry_uri));
/// - an artifact location (`mlflow-artifacts:/..`, a local folder, `s3://..` with the `s3`
///   feature): everything under it.
///
/// The files of a model land directly in `dest_dir`, which is returned.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let dir = mlflow::download_artifacts_uri("models:/nested-child-association@champion", "champion")?;
/// println!("{}", dir.join("MLmodel").display());
/// # Ok::<(), mlflow::Error>(())
/// ```
///
/// An unknown model, version or alias is the registry's [`Error::Api`]
/// (`RESOURCE_DOES_NOT_EXIST`, or `INVALID_PARAMETER_VALUE` for an alias), an improper
/// `models:/` URI [`Error::InvalidArgument`].
pub fn download_artifacts_uri(uri: &str, dest_dir: impl AsRef<Path>) -> Result<PathBuf> {
    download_uri_on(&tracker::current(), None, uri, dest_dir.as_ref())
}

/// [`download_artifacts_uri`] with the tracking destination `tracking` and the registry's
/// (`None`: the registry URI's in effect).
pub(crate) fn download_uri_on(
    tracking: &Arc<Tracker>,
    registry: Option<Arc<Tracker>>,
    uri: &str,
    dest_dir: &Path,
) -> Result<PathBuf> {
    let mut uri = uri.trim().to_owned();
    // A version's location may itself be a `models:/` or `runs:/` URI: follow a few.
    for _ in 0..4 {
        if let Some((run_id, path)) = split_runs_uri(&uri) {
            return download_on(tracking, &run_id, &path, dest_dir);
        }
        match ModelUri::parse(&uri)? {
            None => return download_root_on(tracking, &uri, dest_dir),
            Some(ModelUri::LoggedModel(id)) => {
                let model = call(tracking, move |store| async move {
                    store.get_logged_model(&id).await
                })?;
                uri = model.artifact_location;
            }
            Some(named) => {
                let registry = match &registry {
                    Some(registry) => registry.clone(),
                    None => tracker::registry_for(tracking)?,
                };
                uri = version_location(&registry, named)?;
            }
        }
    }
    Err(Error::InvalidArgument(format!(
        "{uri:?}: model locations refer to each other too deeply"
    )))
}

/// Where a registered version's files are (`get-download-uri`), by version or alias.
fn version_location(registry: &Tracker, named: ModelUri) -> Result<String> {
    on_registry(registry, move |store| async move {
        let registry = registry_of(&store)?;
        let (name, version) = match named {
            ModelUri::Version { name, version } => (name, version),
            ModelUri::Alias { name, alias } => {
                let v = registry.get_model_version_by_alias(&name, &alias).await?;
                (name, v.version)
            }
            ModelUri::Latest { name } => {
                let v = registry.get_model_version_by_alias(&name, "latest").await?;
                (name, v.version)
            }
            ModelUri::LoggedModel(id) => {
                return Err(Error::Internal(format!(
                    "logged model {id} reached the registry"
                )));
            }
        };
        registry
            .get_model_version_download_uri(&name, version)
            .await
    })
}
