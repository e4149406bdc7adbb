//! The model registry over REST: `registered-models/*` (with aliases) and `model-versions/*`
//! (with `get-download-uri`), as the Python client's `RestStore` calls them; and setting a
//! logged model's tags (`logged-models/<id>/tags`).

use async_trait::async_trait;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::RestStore;
use super::client::ApiClient;
use super::retry::Idempotency;
use super::wire::{KeyValue, de_i64};
use crate::base::error::{Error, Result};
use crate::base::registry::{
    ModelVersion, NewModelVersion, RegisteredModel, SearchRegistryRequest,
};
use crate::base::search::Page;
use crate::store::registry::RegistryStore;

#[derive(Deserialize)]
struct AliasJson {
    alias: String,
    #[serde(deserialize_with = "de_u64")]
    version: u64,
}

#[derive(Deserialize)]
struct RegisteredModelJson {
    name: String,
    #[serde(default, deserialize_with = "de_i64")]
    creation_timestamp: i64,
    #[serde(default, deserialize_with = "de_i64")]
    last_updated_timestamp: i64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    latest_versions: Vec<VersionJson>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    aliases: Vec<AliasJson>,
}

#[derive(Deserialize)]
struct VersionJson {
    name: String,
    #[serde(deserialize_with = "de_u64")]
    version: u64,
    #[serde(default, deserialize_with = "de_i64")]
    creation_timestamp: i64,
    #[serde(default, deserialize_with = "de_i64")]
    last_updated_timestamp: i64,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    source: String,
    #[serde(default)]
    run_id: Option<String>,
    #[serde(default)]
    run_link: Option<String>,
    #[serde(default)]
    model_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default)]
    aliases: Vec<String>,
}

/// A version number as the wire carries it: a string (or a number).
fn de_u64<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let n = de_i64(d)?;
    u64::try_from(n).map_err(serde::de::Error::custom)
}

fn some(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl From<VersionJson> for ModelVersion {
    fn from(v: VersionJson) -> ModelVersion {
        ModelVersion {
            name: v.name,
            version: v.version,
            creation_timestamp: v.creation_timestamp,
            last_updated_timestamp: v.last_updated_timestamp,
            description: some(v.description),
            source: v.source,
            run_id: some(v.run_id),
            run_link: some(v.run_link),
            model_id: some(v.model_id),
            status: v.status.unwrap_or_else(|| "READY".into()),
            status_message: some(v.status_message),
            tags: v.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            aliases: v.aliases,
        }
    }
}

impl From<RegisteredModelJson> for RegisteredModel {
    fn from(m: RegisteredModelJson) -> RegisteredModel {
        RegisteredModel {
            name: m.name,
            creation_timestamp: m.creation_timestamp,
            last_updated_timestamp: m.last_updated_timestamp,
            description: some(m.description),
            latest_versions: m.latest_versions.into_iter().map(Into::into).collect(),
            tags: m.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            aliases: m
                .aliases
                .into_iter()
                .map(|a| (a.alias, a.version))
                .collect(),
        }
    }
}

#[derive(Deserialize)]
struct RegisteredModelAnswer {
    registered_model: RegisteredModelJson,
}

#[derive(Deserialize)]
struct VersionAnswer {
    model_version: VersionJson,
}

#[derive(Deserialize)]
struct ModelsPage {
    #[serde(default)]
    registered_models: Vec<RegisteredModelJson>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct VersionsPage {
    #[serde(default)]
    model_versions: Vec<VersionJson>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct DownloadUri {
    artifact_uri: String,
}

#[derive(Serialize)]
struct CreateModel<'a> {
    name: &'a str,
    tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

#[derive(Serialize)]
struct CreateVersion<'a> {
    name: &'a str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<&'a str>,
}

#[derive(Serialize)]
struct TagsBody {
    tags: Vec<KeyValue>,
}

/// A request whose answer is read as JSON (PATCH and DELETE carry a body, as in Python).
async fn send_json(
    client: &ApiClient,
    method: Method,
    path: &str,
    body: &serde_json::Value,
    idempotency: Idempotency,
) -> Result<serde_json::Value> {
    client
        .call(method, path, &[], Some(body), idempotency)
        .await
}

/// Sends `body` to `path` with DELETE, as MLflow's deletions are called; the answer's body
/// (`{}`) is not needed.
async fn delete(
    client: &ApiClient,
    path: &str,
    body: &serde_json::Value,
    idempotency: Idempotency,
) -> Result<()> {
    send_json(client, Method::DELETE, path, body, idempotency).await?;
    Ok(())
}

/// The query of a registry search: filter, page size, order, token.
fn search_query(r: &SearchRegistryRequest) -> Vec<(&'static str, String)> {
    let mut q = vec![("max_results", r.max_results.to_string())];
    if !r.filter.trim().is_empty() {
        q.push(("filter", r.filter.clone()));
    }
    q.extend(r.order_by.iter().map(|o| ("order_by", o.clone())));
    if let Some(t) = r.page_token.as_deref().filter(|t| !t.is_empty()) {
        q.push(("page_token", t.to_owned()));
    }
    q
}

fn borrowed<'a>(q: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    q.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Sets tags of a logged model (`PATCH logged-models/<id>/tags`).
pub(super) async fn set_logged_model_tags(
    client: &ApiClient,
    model_id: &str,
    tags: &[(String, String)],
) -> Result<()> {
    let body = TagsBody {
        tags: KeyValue::pairs(tags),
    };
    let path = format!("logged-models/{model_id}/tags");
    let _: serde_json::Value = client
        .call(Method::PATCH, &path, &[], Some(&body), Idempotency::Safe)
        .await?;
    Ok(())
}

#[async_trait]
impl RegistryStore for RestStore {
    async fn create_registered_model(
        &self,
        name: &str,
        tags: &[(String, String)],
        description: Option<&str>,
    ) -> Result<RegisteredModel> {
        let body = CreateModel {
            name,
            tags: KeyValue::pairs(tags),
            description,
        };
        let a: RegisteredModelAnswer = self
            .client
            .post(
                "registered-models/create",
                &body,
                Idempotency::CreatesResource,
            )
            .await?;
        Ok(a.registered_model.into())
    }

    async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let a: RegisteredModelAnswer = self
            .client
            .get("registered-models/get", &[("name", name)])
            .await?;
        Ok(a.registered_model.into())
    }

    async fn rename_registered_model(&self, name: &str, new_name: &str) -> Result<RegisteredModel> {
        let body = serde_json::json!({"name": name, "new_name": new_name});
        let a: RegisteredModelAnswer = self
            .client
            .post(
                "registered-models/rename",
                &body,
                Idempotency::CreatesResource,
            )
            .await?;
        Ok(a.registered_model.into())
    }

    async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        let body = serde_json::json!({"name": name, "description": description});
        let v = send_json(
            &self.client,
            Method::PATCH,
            "registered-models/update",
            &body,
            Idempotency::Safe,
        )
        .await?;
        let a: RegisteredModelAnswer = decode(v)?;
        Ok(a.registered_model.into())
    }

    async fn delete_registered_model(&self, name: &str) -> Result<()> {
        let body = serde_json::json!({"name": name});
        delete(
            &self.client,
            "registered-models/delete",
            &body,
            Idempotency::CreatesResource,
        )
        .await
    }

    async fn search_registered_models(
        &self,
        request: &SearchRegistryRequest,
    ) -> Result<Page<RegisteredModel>> {
        let q = search_query(request);
        let a: ModelsPage = self
            .client
            .get("registered-models/search", &borrowed(&q))
            .await?;
        Ok(Page {
            items: a.registered_models.into_iter().map(Into::into).collect(),
            next_page_token: a.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        let body = serde_json::json!({"name": name, "key": key, "value": value});
        self.send("registered-models/set-tag", &body, Idempotency::Safe)
            .await
    }

    async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        let body = serde_json::json!({"name": name, "key": key});
        delete(
            &self.client,
            "registered-models/delete-tag",
            &body,
            Idempotency::Safe,
        )
        .await
    }

    async fn create_model_version(&self, v: &NewModelVersion) -> Result<ModelVersion> {
        let body = CreateVersion {
            name: &v.name,
            source: &v.source,
            run_id: v.run_id.as_deref(),
            tags: KeyValue::pairs(&v.tags),
            description: v.description.as_deref(),
            model_id: v.model_id.as_deref(),
        };
        // Each attempt makes a version: sent once.
        let a: VersionAnswer = self
            .client
            .post("model-versions/create", &body, Idempotency::CreatesResource)
            .await?;
        Ok(a.model_version.into())
    }

    async fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion> {
        let version = version.to_string();
        let a: VersionAnswer = self
            .client
            .get(
                "model-versions/get",
                &[("name", name), ("version", &version)],
            )
            .await?;
        Ok(a.model_version.into())
    }

    async fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<ModelVersion> {
        let body = serde_json::json!({
            "name": name, "version": version.to_string(), "description": description
        });
        let v = send_json(
            &self.client,
            Method::PATCH,
            "model-versions/update",
            &body,
            Idempotency::Safe,
        )
        .await?;
        let a: VersionAnswer = decode(v)?;
        Ok(a.model_version.into())
    }

    async fn delete_model_version(&self, name: &str, version: u64) -> Result<()> {
        let body = serde_json::json!({"name": name, "version": version.to_string()});
        delete(
            &self.client,
            "model-versions/delete",
            &body,
            Idempotency::CreatesResource,
        )
        .await
    }

    async fn search_model_versions(
        &self,
        request: &SearchRegistryRequest,
    ) -> Result<Page<ModelVersion>> {
        let q = search_query(request);
        let a: VersionsPage = self
            .client
            .get("model-versions/search", &borrowed(&q))
            .await?;
        Ok(Page {
            items: a.model_versions.into_iter().map(Into::into).collect(),
            next_page_token: a.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn get_model_version_download_uri(&self, name: &str, version: u64) -> Result<String> {
        let version = version.to_string();
        let a: DownloadUri = self
            .client
            .get(
                "model-versions/get-download-uri",
                &[("name", name), ("version", &version)],
            )
            .await?;
        Ok(a.artifact_uri)
    }

    async fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        let body = serde_json::json!({
            "name": name, "version": version.to_string(), "key": key, "value": value
        });
        self.send("model-versions/set-tag", &body, Idempotency::Safe)
            .await
    }

    async fn delete_model_version_tag(&self, name: &str, version: u64, key: &str) -> Result<()> {
        let body = serde_json::json!({"name": name, "version": version.to_string(), "key": key});
        delete(
            &self.client,
            "model-versions/delete-tag",
            &body,
            Idempotency::Safe,
        )
        .await
    }

    async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<()> {
        let body =
            serde_json::json!({"name": name, "alias": alias, "version": version.to_string()});
        self.send("registered-models/alias", &body, Idempotency::Safe)
            .await
    }

    async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        let body = serde_json::json!({"name": name, "alias": alias});
        delete(
            &self.client,
            "registered-models/alias",
            &body,
            Idempotency::Safe,
        )
        .await
    }

    async fn get_model_version_by_alias(&self, name: &str, alias: &str) -> Result<ModelVersion> {
        let a: VersionAnswer = self
            .client
            .get(
                "registered-models/alias",
                &[("name", name), ("alias", alias)],
            )
            .await?;
        Ok(a.model_version.into())
    }

    fn tags_logged_models(&self) -> bool {
        true
    }
}

fn decode<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Transport {
        url: String::new(),
        message: format!("unexpected answer: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_as_strings_and_become_numbers() {
        let answer: RegisteredModelAnswer = serde_json::from_str(
            r#"{"registered_model": {"name": "net", "creation_timestamp": "17", "last_updated_timestamp": 18,
                "latest_versions": [{"name": "net", "version": "3", "source": "models:/m-1", "status": "READY", "run_id": ""}],
                "tags": [{"key": "team", "value": "v"}],
                "aliases": [{"alias": "champion", "version": "3"}]}}"#,
        )
        .unwrap();
        let model = RegisteredModel::from(answer.registered_model);
        assert_eq!(model.creation_timestamp, 17);
        assert_eq!(model.alias("champion"), Some(3));
        assert_eq!(model.latest_versions[0].version, 3);
        assert_eq!(model.latest_versions[0].run_id, None);
        assert_eq!(model.tags.get("team").map(String::as_str), Some("v"));
        let bad = serde_json::from_str::<VersionAnswer>(
            r#"{"model_version": {"name": "net", "version": "-1"}}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn searches_send_filter_order_and_token_as_query() {
        let mut r = SearchRegistryRequest::new(5);
        r.filter = "name = 'a'".into();
        r.order_by = vec!["name ASC".into(), "last_updated_timestamp DESC".into()];
        r.page_token = Some("tok".into());
        let q = search_query(&r);
        assert_eq!(
            borrowed(&q),
            [
                ("max_results", "5"),
                ("filter", "name = 'a'"),
                ("order_by", "name ASC"),
                ("order_by", "last_updated_timestamp DESC"),
                ("page_token", "tok"),
            ]
        );
    }
}
