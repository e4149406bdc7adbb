//! The model registry: [`register_model`] as Python's `mlflow.register_model` does it, and
//! the calls on the registry's destination that [`Client`](crate::Client)'s registry methods
//! delegate to.
//!
//! The registry is the destination of the registry URI (`set_registry_uri`,
//! `MLFLOW_REGISTRY_URI`, else the tracking URI). Registering reads the model from the
//! tracking destination and writes the version to the registry's, so a registry on another
//! store than the model's works as in Python: an embedded registry records the logged
//! model's artifact location as the version's `storage_location` (downloads then go through
//! the tracking store); a server registry resolves `models:/<id>` against its own tracking
//! store and says so when it has no such model.

use std::future::Future;
use std::sync::Arc;

use super::experiments::call;
use super::run_admin::append_to_uri_path;
use crate::base::error::{Error, Result};
use crate::base::logged_models::{LoggedModel, SearchLoggedModelsRequest};
use crate::base::registry::{
    MODEL_VERSIONS_TAG, ModelUri, ModelVersion, NewModelVersion, model_versions_tag, split_runs_uri,
};
use crate::base::search::MAX_PAGE_SIZE;
use crate::store::Store;
use crate::store::registry::{RegistryStore, no_registry};
use crate::tracker::{self, Tracker};

/// Registers the model at `source` as a new version of the registered model `name`,
/// creating `name` when it does not exist, as Python's `mlflow.register_model(model_uri,
/// name)`:
///
/// - `models:/<model_id>`: a logged model (MLflow 3); the version records the model's id,
///   its source run and its files' location, and the logged model's `mlflow.modelVersions`
///   tag lists the version.
/// - `runs:/<run_id>/<path>`: a run's folder with an `MLmodel` file (the version's source is
///   that folder), else the logged model called `path` that the run made (the one of the
///   highest step when there are several).
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// # let model = mlflow::get_logged_model("m-0123")?;
/// let version = mlflow::register_model(&model.uri(), "nested-child-association")?;
/// mlflow::Client::new().set_registered_model_alias(
///     "nested-child-association",
///     "champion",
///     version.version,
/// )?;
/// # Ok::<(), mlflow::Error>(())
/// ```
///
/// Errors are the registry's: a bad name is [`Error::Api`] with `INVALID_PARAMETER_VALUE`,
/// an unknown model or run `RESOURCE_DOES_NOT_EXIST`.
pub fn register_model(source: &str, name: &str) -> Result<ModelVersion> {
    let tracking = tracker::current();
    let registry = tracker::registry_for(&tracking)?;
    register_model_on(&tracking, &registry, source, name)
}

/// Runs `f` with the registry of the store behind `registry`, on its sender, after what was
/// queued before.
pub(crate) fn on_registry<T, F, Fut>(registry: &Tracker, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>> + Send + 'static,
{
    call(registry, move |store| async move {
        if store.registry().is_none() {
            return Err(no_registry(&store.location()));
        }
        f(store).await
    })
}

/// The registry of a store that [`on_registry`] checked keeps one.
pub(crate) fn registry_of(store: &Arc<dyn Store>) -> Result<&dyn RegistryStore> {
    store
        .registry()
        .ok_or_else(|| no_registry(&store.location()))
}

fn logged_model(tracking: &Tracker, model_id: &str) -> Result<LoggedModel> {
    let id = model_id.to_owned();
    call(tracking, move |store| async move {
        store.get_logged_model(&id).await
    })
}

/// What a source resolves to: the version's source, run and logged model.
struct Resolved {
    source: String,
    run_id: Option<String>,
    model_id: Option<String>,
}

/// Python's `_register_model`, with the tracking and the registry destination.
pub(crate) fn register_model_on(
    tracking: &Arc<Tracker>,
    registry: &Arc<Tracker>,
    source: &str,
    name: &str,
) -> Result<ModelVersion> {
    let model_name = name.to_owned();
    on_registry(registry, move |store| async move {
        match registry_of(&store)?
            .create_registered_model(&model_name, &[], None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.error_code(),
                    Some("RESOURCE_ALREADY_EXISTS" | "ALREADY_EXISTS")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    })?;
    let resolved = resolve_source(tracking, registry, source)?;
    let mut new = NewModelVersion::new(name, resolved.source.clone());
    new.run_id = resolved.run_id;
    new.model_id = resolved.model_id.clone();
    let separate = !Arc::ptr_eq(tracking, registry);
    if separate && let Some(ModelUri::LoggedModel(id)) = ModelUri::parse(&resolved.source)? {
        // The registry cannot look the model up in its own store: tell it where it is.
        let model = logged_model(tracking, &id)?;
        new.storage_location = Some(model.artifact_location);
        new.run_id = new.run_id.or(model.source_run_id);
    }
    let (created, tags_itself) = on_registry(registry, move |store| async move {
        let registry = registry_of(&store)?;
        Ok((
            registry.create_model_version(&new).await?,
            registry.tags_logged_models() && !separate,
        ))
    })?;
    if let Some(model_id) = resolved.model_id.filter(|_| !tags_itself) {
        tag_logged_model(tracking, &model_id, &created)?;
    }
    Ok(created)
}

/// Adds the version to the logged model's `mlflow.modelVersions` tag, as Python's
/// `_register_model` does; a model the tracking store does not have is skipped.
fn tag_logged_model(tracking: &Tracker, model_id: &str, version: &ModelVersion) -> Result<()> {
    let (id, name, number) = (model_id.to_owned(), version.name.clone(), version.version);
    let tagged = call(tracking, move |store| async move {
        let model = store.get_logged_model(&id).await?;
        let value = model_versions_tag(
            model.tags.get(MODEL_VERSIONS_TAG).map(String::as_str),
            &name,
            number,
        );
        store
            .set_logged_model_tags(&id, &[(MODEL_VERSIONS_TAG.to_owned(), value)])
            .await
    });
    match tagged {
        Err(e) if e.error_code() == Some("RESOURCE_DOES_NOT_EXIST") => {
            tracing::warn!(
                "mlflow: logged model {model_id} is not in the tracking store; no model version link recorded on it"
            );
            Ok(())
        }
        other => other,
    }
}

fn resolve_source(tracking: &Tracker, registry: &Tracker, source: &str) -> Result<Resolved> {
    if let Some((run_id, path)) = split_runs_uri(source) {
        return resolve_run_source(tracking, &run_id, &path);
    }
    let model_id = match ModelUri::parse(source)? {
        Some(ModelUri::LoggedModel(id)) => Some(id),
        Some(ModelUri::Version { name, version }) => {
            on_registry(registry, move |store| async move {
                registry_of(&store)?.get_model_version(&name, version).await
            })?
            .model_id
        }
        _ => None,
    };
    Ok(Resolved {
        source: source.to_owned(),
        run_id: None,
        model_id,
    })
}

/// `runs:/<run_id>/<path>`: the run's folder when it holds an `MLmodel` file, else the
/// logged model called `path` made by the run.
fn resolve_run_source(tracking: &Tracker, run_id: &str, path: &str) -> Result<Resolved> {
    let (run, folder) = (run_id.to_owned(), path.to_owned());
    let (artifact_uri, has_mlmodel, experiment_id, outputs) =
        call(tracking, move |store| async move {
            let r = store.get_run(&run).await?;
            let listing = store.list_artifacts(&r.info.artifact_uri, &folder).await?;
            let mlmodel = if folder.is_empty() {
                "MLmodel".to_owned()
            } else {
                format!("{folder}/MLmodel")
            };
            let has = listing.iter().any(|f| !f.is_dir && f.path == mlmodel);
            Ok((
                r.info.artifact_uri.clone(),
                has,
                r.info.experiment_id.clone(),
                r.outputs.model_outputs.clone(),
            ))
        })?;
    if has_mlmodel {
        return Ok(Resolved {
            source: append_to_uri_path(&artifact_uri, path)?,
            run_id: Some(run_id.to_owned()),
            model_id: None,
        });
    }
    let filter = format!("name = '{}'", path.replace('\'', "''"));
    let (run, exp) = (run_id.to_owned(), experiment_id);
    let models = call(tracking, move |store| async move {
        let mut found = Vec::new();
        let mut request = SearchLoggedModelsRequest::new(vec![exp], MAX_PAGE_SIZE);
        request.filter = filter;
        loop {
            let page = store.search_logged_models(&request).await?;
            found.extend(
                page.items
                    .into_iter()
                    .filter(|m| m.source_run_id.as_deref() == Some(run.as_str())),
            );
            match page.next_page_token {
                Some(t) => request.page_token = Some(t),
                None => break Ok(found),
            }
        }
    })?;
    let step_of = |id: &str| {
        outputs
            .iter()
            .find(|o| o.model_id == id)
            .map_or(i64::MIN, |o| o.step)
    };
    let chosen = models
        .iter()
        .max_by_key(|m| step_of(&m.model_id))
        .ok_or_else(|| {
            Error::api(
                404,
                "NOT_FOUND",
                format!(
                    "Unable to find a logged_model with artifact_path {path} under run {run_id}"
                ),
            )
        })?;
    if models.len() > 1 && outputs.is_empty() {
        return Err(Error::api(
            400,
            "INVALID_PARAMETER_VALUE",
            format!(
                "Multiple logged models found for run {run_id}. Cannot determine which model to register. Please use `models:/<model_id>` instead."
            ),
        ));
    }
    Ok(Resolved {
        source: format!("models:/{}", chosen.model_id),
        run_id: Some(run_id.to_owned()),
        model_id: Some(chosen.model_id.clone()),
    })
}
