//! `RegistryStore` for the embedded store: each call one transaction on the file, writes
//! `BEGIN IMMEDIATE` (see the `tx` module), so that versions created by several processes
//! at once get consecutive numbers.

use async_trait::async_trait;

use super::{SqliteStore, now_millis, registry, registry_search, registry_versions};
use crate::base::error::Result;
use crate::base::registry::{
    ModelVersion, NewModelVersion, RegisteredModel, SearchRegistryRequest,
};
use crate::base::search::Page;
use crate::store::registry::RegistryStore;

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let (name, tags) = (name.to_owned(), tags.to_vec());
        let description = description.map(str::to_owned);
        self.write(move |tx, db| {
            registry::create_model(tx, db, &name, &tags, description.as_deref(), now_millis())
        })
        .await
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let name = name.to_owned();
        self.read(move |tx, db| registry::get_model(tx, db, &name))
            .await
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let (name, new_name) = (name.to_owned(), new_name.to_owned());
        self.write(move |tx, db| registry::rename_model(tx, db, &name, &new_name, now_millis()))
            .await
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let (name, description) = (name.to_owned(), description.to_owned());
        self.write(move |tx, db| registry::update_model(tx, db, &name, &description, now_millis()))
            .await
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        let name = name.to_owned();
        self.write(move |tx, db| registry::delete_model(tx, db, &name))
            .await
    }

    async fn search_registered_models(
        &self,
        request: &SearchRegistryRequest,
    ) -> Result<Page<RegisteredModel>> {
        let request = request.clone();
        self.read(move |tx, db| registry_search::models(tx, db, &request))
            .await
    }

    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), value.to_owned());
        self.write(move |tx, db| registry::set_model_tag(tx, db, &name, &key, &value))
            .await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        let (name, key) = (name.to_owned(), key.to_owned());
        self.write(move |tx, db| registry::delete_model_tag(tx, db, &name, &key))
            .await
    }

    async fn create_model_version(&self, version: &NewModelVersion) -> Result<ModelVersion> {
        let version = version.clone();
        self.write(move |tx, db| registry_versions::create_version(tx, db, &version, now_millis()))
            .await
    }

    async fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        let name = name.to_owned();
        self.read(move |tx, db| registry_versions::get_version(tx, db, &name, version))
            .await
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion> {
        let (name, description) = (name.to_owned(), description.to_owned());
        self.write(move |tx, db| {
            registry_versions::update_version(tx, db, &name, version, &description, now_millis())
        })
        .await
    }

    async fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        let name = name.to_owned();
        self.write(move |tx, db| {
            registry_versions::delete_version(tx, db, &name, version, now_millis())
        })
        .await
    }

    async fn search_model_versions(
        &self,
        request: &SearchRegistryRequest,
    ) -> Result<Page<ModelVersion>> {
        let request = request.clone();
        self.read(move |tx, db| registry_search::versions(tx, db, &request))
            .await
    }

    async fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String> {
        let name = name.to_owned();
        self.read(move |tx, db| registry_versions::download_uri(tx, db, &name, version))
            .await
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let (name, key, value) = (name.to_owned(), key.to_owned(), value.to_owned());
        self.write(move |tx, db| {
            registry_versions::set_version_tag(tx, db, &name, version, &key, &value)
        })
        .await
    }

    async fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()> {
        let (name, key) = (name.to_owned(), key.to_owned());
        self.write(move |tx, db| {
            registry_versions::delete_version_tag(tx, db, &name, version, &key)
        })
        .await
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<()> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        self.write(move |tx, db| registry::set_alias(tx, db, &name, &alias, version))
            .await
    }

    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        self.write(move |tx, db| registry::delete_alias(tx, db, &name, &alias))
            .await
    }

    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let (name, alias) = (name.to_owned(), alias.to_owned());
        self.read(move |tx, db| registry::version_by_alias(tx, db, &name, &alias))
            .await
    }
}
