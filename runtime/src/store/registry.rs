//! The model registry's interface: registered models, their versions, tags and aliases.
//! Python keeps the registry behind a URI of its own (`MLFLOW_REGISTRY_URI`, else the
//! tracking URI); here a store that keeps a registry hands it out through
//! [`Store::registry`](super::Store::registry): the REST store (a server's
//! `registered-models/*` and `model-versions/*`) and the embedded store (MLflow's registry
//! tables in the same file).

use async_trait::async_trait;

use crate::base::error::{Error, Result};
use crate::base::registry::{
    ModelVersion, NewModelVersion, RegisteredModel, SearchRegistryRequest,
};
use crate::base::search::Page;

/// What the crate needs from a model registry. Errors are MLflow's: an unknown model,
/// version or alias is [`Error::Api`] with `RESOURCE_DOES_NOT_EXIST` (an unknown alias
/// `INVALID_PARAMETER_VALUE`, as MLflow says it), a bad name or a reserved alias
/// `INVALID_PARAMETER_VALUE`, a name taken `RESOURCE_ALREADY_EXISTS`.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Creates a registered model with its tags and description.
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<RegisteredModel>;

    /// A registered model with its tags, aliases and latest versions.
    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel>;

    /// Renames a registered model (and its versions).
    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel>;

    /// Sets a registered model's description.
    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel>;

    /// Deletes a registered model with its versions, tags and aliases.
    async fn delete_registered_model(&self, name: &str) -> Result<()>;

    /// One page of a registered model search.
    async fn search_registered_models(
        &self,
        request: &SearchRegistryRequest,
    ) -> Result<Page<RegisteredModel>>;

    /// Sets a tag of a registered model.
    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()>;

    /// Deletes a tag of a registered model (nothing when it is not there).
    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()>;

    /// Creates the next version of a registered model: versions of one model never collide,
    /// whoever creates them at once.
    async fn create_model_version(&self, version: &NewModelVersion) -> Result<ModelVersion>;

    /// A model version with its tags and aliases.
    async fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion>;

    /// Sets a model version's description.
    async fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion>;

    /// Deletes a model version (MLflow keeps its row, redacted, and drops its aliases).
    async fn delete_model_version(&self, name: &str, version: u64) -> Result<()>;

    /// One page of a model version search.
    async fn search_model_versions(
        &self,
        request: &SearchRegistryRequest,
    ) -> Result<Page<ModelVersion>>;

    /// Where a version's files are (`model-versions/get-download-uri`).
    async fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String>;

    /// Sets a tag of a model version.
    async fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()>;

    /// Deletes a tag of a model version (nothing when it is not there).
    async fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()>;

    /// Points `alias` at a version (moving it when it pointed elsewhere).
    async fn set_registered_model_alias(&self, name: &str, alias: &str, version: u64)
    -> Result<()>;

    /// Deletes an alias (nothing when it is not there).
    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()>;

    /// The version an alias points at (`latest`: the highest version).
    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion>;

    /// Whether the store sets the logged model's `mlflow.modelVersions` tag itself when a
    /// version is made from it (a server does); otherwise the caller does, as Python's
    /// `register_model` does.
    fn tags_logged_models(&self) -> bool {
        false
    }
}

/// The error of a store that keeps no registry.
pub(crate) fn no_registry(location: &str) -> Error {
    Error::Config(format!(
        "the store {location} keeps no model registry; set a registry URI \
         (mlflow::set_registry_uri or MLFLOW_REGISTRY_URI) of a tracking server or an \
         sqlite:/// file"
    ))
}
