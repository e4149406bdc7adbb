//! `Client`'s registry calls (the type is in `api/client.rs`): registered models, model
//! versions, aliases, downloading by URI. Thin delegations to the registry of the client's
//! registry URI (see [`set_registry_uri`](crate::set_registry_uri)), Python's
//! `MlflowClient` methods of the same names.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::client::Client;
use super::model_uri::download_uri_on;
use super::registry::{on_registry, register_model_on, registry_of};
use super::registry_search::{
    SearchModelVersions, SearchRegisteredModels, model_versions, registered_models,
};
use crate::base::error::Result;
use crate::base::python_str::python_str;
use crate::base::registry::{ModelUri, ModelVersion, NewModelVersion, RegisteredModel};
use crate::store::Store;

/// Runs one registry call with owned arguments on the client's registry.
macro_rules! registry_call {
    ($client:expr, |$r:ident| $body:expr) => {{
        let registry = $client.registry()?;
        on_registry(&registry, move |store: Arc<dyn Store>| async move {
            let $r = registry_of(&store)?;
            $body.await
        })
    }};
}

impl Client {
    /// [`register_model`](crate::register_model) with this client's tracking and registry
    /// URIs.
    pub fn register_model(&self, source: &str, name: &str) -> Result<ModelVersion> {
        register_model_on(self.tracking(), &self.registry()?, source, name)
    }

    /// Creates a registered model (no versions yet). A name that exists is [`Error::Api`]
    /// with `RESOURCE_ALREADY_EXISTS`; a name with `/` or `:`, or empty,
    /// `INVALID_PARAMETER_VALUE`.
    ///
    /// [`Error::Api`]: crate::Error::Api
    pub fn create_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        self.create_registered_model_with(name, &[], None)
    }

    /// Creates a registered model with tags and a description.
    pub fn create_registered_model_with(
        &self,
        name: &str,
        tags: &[(&str, &str)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let name = name.to_owned();
        let tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let description = description.map(str::to_owned);
        registry_call!(self, |r| r.create_registered_model(
            &name,
            &tags,
            description.as_deref()
        ))
    }

    /// A registered model with its tags, aliases and latest versions; an unknown name is
    /// `RESOURCE_DOES_NOT_EXIST`.
    pub fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let name = name.to_owned();
        registry_call!(self, |r| r.get_registered_model(&name))
    }

    /// Starts a registered model search; see [`SearchRegisteredModels`].
    pub fn search_registered_models(&self) -> SearchRegisteredModels {
        registered_models(self.registry())
    }

    /// Renames a registered model; its versions and aliases follow.
    pub fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let (name, new_name) = (name.to_owned(), new_name.to_owned());
        registry_call!(self, |r| r.rename_registered_model(&name, &new_name))
    }

    /// Sets a registered model's description.
    pub fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let (name, description) = (name.to_owned(), description.to_owned());
        registry_call!(self, |r| r.update_registered_model(&name, &description))
    }

    /// Sets a tag of a registered model (the value written as Python's `str()` writes it).
    pub fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: impl std::fmt::Display,
    ) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), python_str(&value));
        registry_call!(self, |r| r.set_registered_model_tag(&name, &key, &value))
    }

    /// Deletes a tag of a registered model.
    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        let (name, key) = (name.to_owned(), key.to_owned());
        registry_call!(self, |r| r.delete_registered_model_tag(&name, &key))
    }

    /// Deletes a registered model with all its versions.
    pub fn delete_registered_model(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        registry_call!(self, |r| r.delete_registered_model(&name))
    }

    /// Creates a model version as given (Python's `MlflowClient.create_model_version`); the
    /// registered model must exist. [`Client::register_model`] resolves a source and creates
    /// the model first. A `models:/<model_id>` source given without
    /// [`NewModelVersion::model_id`] gets that id (a server requires them to match).
    pub fn create_model_version(&self, version: &NewModelVersion) -> Result<ModelVersion> {
        let mut version = version.clone();
        if version.model_id.is_none()
            && let Some(ModelUri::LoggedModel(id)) = ModelUri::parse(&version.source)?
        {
            version.model_id = Some(id);
        }
        registry_call!(self, |r| r.create_model_version(&version))
    }

    /// A model version; an unknown one is `RESOURCE_DOES_NOT_EXIST`.
    pub fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        let name = name.to_owned();
        registry_call!(self, |r| r.get_model_version(&name, version))
    }

    /// Starts a model version search; see [`SearchModelVersions`].
    pub fn search_model_versions(&self) -> SearchModelVersions {
        model_versions(self.registry())
    }

    /// Sets a model version's description.
    pub fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion> {
        let (name, description) = (name.to_owned(), description.to_owned());
        registry_call!(self, |r| r.update_model_version(
            &name,
            version,
            &description
        ))
    }

    /// Sets a tag of a model version (the value written as Python's `str()` writes it).
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: impl std::fmt::Display,
    ) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), python_str(&value));
        registry_call!(self, |r| r
            .set_model_version_tag(&name, version, &key, &value))
    }

    /// Deletes a tag of a model version.
    pub fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()> {
        let (name, key) = (name.to_owned(), key.to_owned());
        registry_call!(self, |r| r.delete_model_version_tag(&name, version, &key))
    }

    /// Deletes a model version (and the aliases pointing at it).
    pub fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        let name = name.to_owned();
        registry_call!(self, |r| r.delete_model_version(&name, version))
    }

    /// Where a model version's files are.
    pub fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String> {
        let name = name.to_owned();
        registry_call!(self, |r| r.get_model_version_download_uri(&name, version))
    }

    /// Points `alias` (such as `champion`) at a version of `name`, moving it when it pointed
    /// at another. `latest` and `v<number>` are reserved: [`Error::Api`] with
    /// `INVALID_PARAMETER_VALUE`, as MLflow refuses them.
    ///
    /// [`Error::Api`]: crate::Error::Api
    pub fn set_registered_model_alias(&self, name: &str, alias: &str, version: u64) -> Result<()> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        registry_call!(self, |r| r
            .set_registered_model_alias(&name, &alias, version))
    }

    /// Deletes an alias of a registered model.
    pub fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        registry_call!(self, |r| r.delete_registered_model_alias(&name, &alias))
    }

    /// The version an alias points at; an alias that does not exist is MLflow's
    /// `INVALID_PARAMETER_VALUE` ("Registered model alias .. not found").
    pub fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        registry_call!(self, |r| r.get_model_version_by_alias(&name, &alias))
    }

    /// [`download_artifacts_uri`](crate::download_artifacts_uri) with this client's
    /// tracking and registry URIs.
    pub fn download_artifacts_uri(&self, uri: &str, dest_dir: impl AsRef<Path>) -> Result<PathBuf> {
        download_uri_on(
            self.tracking(),
            Some(self.registry()?),
            uri,
            dest_dir.as_ref(),
        )
    }
}
