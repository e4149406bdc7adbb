//! Logged models over REST (MLflow 3): `logged-models` (create, get, finalize, search) and
//! `runs/outputs`. A server without them (MLflow 2.x) answers 404 or 405: that becomes an
//! error naming the missing feature.

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::ApiClient;
use super::retry::Idempotency;
use super::wire::{KeyValue, MetricJson, ModelOutputJson, de_i64};
use crate::base::error::{Error, Result};
use crate::base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel, SearchLoggedModelsRequest,
};
use crate::base::model::Metric;
use crate::base::search::Page;

#[derive(Serialize)]
struct CreateBody<'a> {
    experiment_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_run_id: Option<&'a str>,
    params: Vec<KeyValue>,
    tags: Vec<KeyValue>,
}

#[derive(Serialize)]
struct FinalizeBody<'a> {
    model_id: &'a str,
    status: &'a str,
}

#[derive(Serialize)]
struct OutputsBody<'a> {
    run_id: &'a str,
    models: Vec<ModelOutputJson>,
}

#[derive(Serialize)]
struct OrderByJson {
    field_name: String,
    ascending: bool,
}

#[derive(Serialize)]
struct SearchBody<'a> {
    experiment_ids: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    filter: &'a str,
    max_results: u32,
    order_by: Vec<OrderByJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Deserialize)]
struct ModelAnswer {
    model: ModelJson,
}

#[derive(Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    models: Vec<ModelJson>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ModelJson {
    info: InfoJson,
    #[serde(default)]
    data: DataJson,
}

#[derive(Deserialize)]
struct InfoJson {
    model_id: String,
    #[serde(default)]
    experiment_id: String,
    #[serde(default)]
    name: String,
    #[serde(default, deserialize_with = "de_i64")]
    creation_timestamp_ms: i64,
    #[serde(default, deserialize_with = "de_i64")]
    last_updated_timestamp_ms: i64,
    #[serde(default)]
    artifact_uri: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    model_type: Option<String>,
    #[serde(default)]
    source_run_id: Option<String>,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

#[derive(Deserialize, Default)]
struct DataJson {
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    metrics: Vec<MetricJson>,
}

impl From<ModelJson> for LoggedModel {
    fn from(m: ModelJson) -> LoggedModel {
        let i = m.info;
        LoggedModel {
            model_id: i.model_id,
            experiment_id: i.experiment_id,
            name: i.name,
            artifact_location: i.artifact_uri,
            creation_timestamp: i.creation_timestamp_ms,
            last_updated_timestamp: i.last_updated_timestamp_ms,
            status: LoggedModelStatus::parse(&i.status).unwrap_or(LoggedModelStatus::Pending),
            status_message: i.status_message.filter(|s| !s.is_empty()),
            model_type: i.model_type.filter(|s| !s.is_empty()),
            source_run_id: i.source_run_id.filter(|s| !s.is_empty()),
            tags: i.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            params: m
                .data
                .params
                .into_iter()
                .map(|p| (p.key, p.value))
                .collect(),
            metrics: m.data.metrics.into_iter().map(Metric::from).collect(),
        }
    }
}

/// A 404 or 405 without an MLflow error code: the server has no such endpoint.
fn missing_feature(e: Error) -> Error {
    match e {
        Error::Api {
            status: 404 | 405,
            ref error_code,
            ref message,
        } if error_code != "RESOURCE_DOES_NOT_EXIST" && error_code != "INVALID_PARAMETER_VALUE" => {
            Error::Api {
                status: 404,
                error_code: "ENDPOINT_NOT_FOUND".into(),
                message: format!(
                    "this tracking server has no logged models (MLflow 3's `logged-models` API; \
                     MLflow 2.x servers lack it): upgrade the server to MLflow 3, or log the \
                     model as run artifacts instead (the server said {error_code}: {})",
                    message.chars().take(200).collect::<String>()
                ),
            }
        }
        other => other,
    }
}

pub(super) async fn create(store: &ApiClient, m: &NewLoggedModel) -> Result<LoggedModel> {
    let body = CreateBody {
        experiment_id: &m.experiment_id,
        name: &m.name,
        model_type: m.model_type.as_deref(),
        source_run_id: m.source_run_id.as_deref(),
        params: KeyValue::pairs(&m.params),
        tags: KeyValue::pairs(&m.tags),
    };
    // Each attempt makes a model: sent once.
    let a: ModelAnswer = store
        .post("logged-models", &body, Idempotency::CreatesResource)
        .await
        .map_err(missing_feature)?;
    Ok(a.model.into())
}

pub(super) async fn get(store: &ApiClient, model_id: &str) -> Result<LoggedModel> {
    let path = format!("logged-models/{model_id}");
    let a: ModelAnswer = store.get(&path, &[]).await.map_err(missing_feature)?;
    Ok(a.model.into())
}

pub(super) async fn finalize(
    store: &ApiClient,
    model_id: &str,
    status: LoggedModelStatus,
) -> Result<LoggedModel> {
    let path = format!("logged-models/{model_id}");
    let body = FinalizeBody {
        model_id,
        status: status.as_proto(),
    };
    let a: ModelAnswer = store
        .call(Method::PATCH, &path, &[], Some(&body), Idempotency::Safe)
        .await
        .map_err(missing_feature)?;
    Ok(a.model.into())
}

pub(super) async fn log_outputs(
    store: &ApiClient,
    run_id: &str,
    models: &[LoggedModelOutput],
) -> Result<()> {
    let body = OutputsBody {
        run_id,
        models: models
            .iter()
            .map(|m| ModelOutputJson {
                model_id: m.model_id.clone(),
                step: m.step,
            })
            .collect(),
    };
    // A second `runs/outputs` row for the same model would show it twice: sent once.
    let _: serde_json::Value = store
        .post("runs/outputs", &body, Idempotency::CreatesResource)
        .await
        .map_err(missing_feature)?;
    Ok(())
}

pub(super) async fn search(
    store: &ApiClient,
    r: &SearchLoggedModelsRequest,
) -> Result<Page<LoggedModel>> {
    let body = SearchBody {
        experiment_ids: &r.experiment_ids,
        filter: &r.filter,
        max_results: r.max_results,
        order_by: r
            .order_by
            .iter()
            .map(|o| {
                let (field_name, ascending) = split_order_by(o);
                OrderByJson {
                    field_name,
                    ascending,
                }
            })
            .collect(),
        page_token: r.page_token.as_deref(),
    };
    let a: SearchAnswer = store
        .post("logged-models/search", &body, Idempotency::Safe)
        .await
        .map_err(missing_feature)?;
    Ok(Page {
        items: a.models.into_iter().map(LoggedModel::from).collect(),
        next_page_token: a.next_page_token.filter(|t| !t.is_empty()),
    })
}

/// An `order_by` item split into its field and direction (`ASC` unless `DESC`).
fn split_order_by(item: &str) -> (String, bool) {
    let item = item.trim();
    let upper = item.to_ascii_uppercase();
    if upper.ends_with(" DESC") {
        (item[..item.len() - 5].trim().to_owned(), false)
    } else if upper.ends_with(" ASC") {
        (item[..item.len() - 4].trim().to_owned(), true)
    } else {
        (item.to_owned(), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_by_items_become_field_and_direction() {
        assert_eq!(
            split_order_by("metrics.acc desc"),
            ("metrics.acc".into(), false)
        );
        assert_eq!(split_order_by("name"), ("name".into(), true));
        assert_eq!(split_order_by("name ASC"), ("name".into(), true));
    }

    #[test]
    fn a_server_without_logged_models_is_named_as_such() {
        // What an MLflow 2.x server (Flask's page) gives for an unknown endpoint.
        let old = missing_feature(Error::api(404, "HTTP_404", "<!doctype html>Not Found"));
        assert_eq!(old.error_code(), Some("ENDPOINT_NOT_FOUND"));
        assert!(old.to_string().contains("no logged models"), "{old}");
        let unknown = missing_feature(Error::api(404, "RESOURCE_DOES_NOT_EXIST", "no model"));
        assert_eq!(unknown.error_code(), Some("RESOURCE_DOES_NOT_EXIST"));
    }
}
