//! The REST store: any MLflow tracking server over `http://` or `https://`.

mod artifacts;
mod client;
mod connection;
mod logged_models;
mod multipart;
mod presigned;
mod registry;
mod retry;
mod reuse;
mod search;
pub(crate) mod wire;

use async_trait::async_trait;
use url::Url;

use crate::base::config::{self, HttpSettings};
use crate::base::datasets::DatasetInput;
use crate::base::error::Result;
use crate::base::links;
use crate::base::logged_models::{
    LoggedModel, LoggedModelOutput, LoggedModelStatus, NewLoggedModel, SearchLoggedModelsRequest,
};
use crate::base::model::{
    Batch, CreateRun, Experiment, Metric, NewExperiment, Run, RunInfo, RunStatus, RunUpdate,
};
use crate::base::search::{FileInfo, Page, SearchExperimentsRequest, SearchRunsRequest};
use crate::store::Store;

use client::ApiClient;
pub use client::{DEFAULT_FIRST_CONTACT_TIMEOUT, FIRST_CONTACT_TIMEOUT_ENV, GiveUp};
use connection::in_flight;
pub use connection::{DEFAULT_IN_FLIGHT, IN_FLIGHT_ENV};
use retry::Idempotency;
pub use reuse::{FAR, KEEP_ALIVE_ENV};
use wire::*;

/// A tracking server reached over HTTP(S).
pub struct RestStore {
    client: ApiClient,
    /// The UI's address, for run links: the tracking URI without credentials.
    ui: String,
    /// Metric batches of one run kept in flight at once (`MLFLOW_RS_HTTP_IN_FLIGHT`).
    in_flight: usize,
    /// Requests of different runs under way at once (`MLFLOW_RS_HTTP_CONCURRENCY`); `None`:
    /// chosen by the server's distance.
    concurrency: Option<usize>,
}

impl std::fmt::Debug for RestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestStore")
            .field("uri", &self.client.shown)
            .finish()
    }
}

impl RestStore {
    /// A store for the server at `url`, with credentials, TLS and HTTP settings read from
    /// the environment as the Python client reads them.
    pub fn new(url: &Url, settings: HttpSettings) -> Result<RestStore> {
        Ok(RestStore {
            client: ApiClient::new(url, settings)?,
            ui: links::ui_base(url),
            in_flight: in_flight()?,
            concurrency: config::http_concurrency()?,
        })
    }

    /// Lets the caller cut retries short (see [`GiveUp`]).
    pub fn with_give_up(mut self, give_up: GiveUp) -> RestStore {
        self.client.give_up = Some(give_up);
        self
    }

    /// Posts `body` to `path`; the answer's body (`{}`) is not needed.
    async fn send<B: serde::Serialize + Sync>(
        &self,
        path: &str,
        body: &B,
        idempotency: Idempotency,
    ) -> Result<()> {
        let _: serde_json::Value = self.client.post(path, body, idempotency).await?;
        Ok(())
    }
}

#[async_trait]
impl Store for RestStore {
    async fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.client
            .find_experiment("experiments/get-by-name", ("experiment_name", name))
            .await
    }

    async fn get_experiment(&self, experiment_id: &str) -> Result<Option<Experiment>> {
        self.client
            .find_experiment("experiments/get", ("experiment_id", experiment_id))
            .await
    }

    async fn create_experiment_with(&self, experiment: &NewExperiment) -> Result<String> {
        let body = CreateExperimentRequest {
            name: &experiment.name,
            artifact_location: experiment.artifact_location.as_deref(),
            tags: experiment
                .tags
                .iter()
                .map(|(key, value)| KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        };
        let r: CreateExperimentResponse = self
            .client
            .post("experiments/create", &body, Idempotency::CreatesResource)
            .await?;
        Ok(r.experiment_id)
    }

    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        // A second delete is refused (no active experiment of that id): sent once.
        let body = ExperimentIdRequest { experiment_id };
        self.send("experiments/delete", &body, Idempotency::CreatesResource)
            .await
    }

    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let body = ExperimentIdRequest { experiment_id };
        self.send("experiments/restore", &body, Idempotency::CreatesResource)
            .await
    }

    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        // Renaming a deleted experiment is INVALID_STATE, a 500: never resent blindly.
        let body = RenameExperimentRequest {
            experiment_id,
            new_name,
        };
        self.send("experiments/update", &body, Idempotency::CreatesResource)
            .await
    }

    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        let body = ExperimentTagRequest {
            experiment_id,
            key,
            value: Some(value),
        };
        self.send("experiments/set-experiment-tag", &body, Idempotency::Safe)
            .await
    }

    async fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        let body = ExperimentTagRequest {
            experiment_id,
            key,
            value: None,
        };
        self.send(
            "experiments/delete-experiment-tag",
            &body,
            Idempotency::CreatesResource,
        )
        .await
    }

    async fn create_run(&self, request: &CreateRun) -> Result<RunInfo> {
        let body = CreateRunRequest {
            experiment_id: &request.experiment_id,
            user_id: &request.user_id,
            run_name: &request.run_name,
            start_time: request.start_time,
            tags: request.tags.iter().map(KeyValue::from).collect(),
        };
        let r: RunResponse = self
            .client
            .post("runs/create", &body, Idempotency::CreatesResource)
            .await?;
        Ok(Run::from(r.run).info)
    }

    async fn update_run(&self, run_id: &str, update: &RunUpdate) -> Result<()> {
        let body = UpdateRunRequest {
            run_id,
            run_uuid: run_id,
            status: update.status.map(RunStatus::as_str),
            end_time: update.end_time,
            run_name: update.run_name.as_deref(),
        };
        let _: serde_json::Value = self
            .client
            .post("runs/update", &body, Idempotency::Safe)
            .await?;
        Ok(())
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        let body = RunIdRequest { run_id };
        self.send("runs/delete", &body, Idempotency::Safe).await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        let body = RunIdRequest { run_id };
        self.send("runs/restore", &body, Idempotency::Safe).await
    }

    async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        // A second delete finds no tag: sent once.
        let body = DeleteTagRequest { run_id, key };
        self.send("runs/delete-tag", &body, Idempotency::CreatesResource)
            .await
    }

    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        let body = LogBatchRequest {
            run_id,
            metrics: batch.metrics.iter().map(MetricJson::from).collect(),
            params: batch.params.iter().map(KeyValue::from).collect(),
            tags: batch.tags.iter().map(KeyValue::from).collect(),
        };
        let _: serde_json::Value = self
            .client
            .post("runs/log-batch", &body, Idempotency::Safe)
            .await?;
        Ok(())
    }

    async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        // The server keeps a dataset and its use once: a retried request adds nothing.
        let body = LogInputsRequest {
            run_id,
            datasets: datasets.iter().map(DatasetInputJson::from).collect(),
        };
        self.send("runs/log-inputs", &body, Idempotency::Safe).await
    }

    async fn create_logged_model(&self, model: &NewLoggedModel) -> Result<LoggedModel> {
        logged_models::create(&self.client, model).await
    }

    async fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel> {
        logged_models::finalize(&self.client, model_id, status).await
    }

    async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        logged_models::get(&self.client, model_id).await
    }

    async fn log_outputs(&self, run_id: &str, models: &[LoggedModelOutput]) -> Result<()> {
        logged_models::log_outputs(&self.client, run_id, models).await
    }

    async fn search_logged_models(
        &self,
        request: &SearchLoggedModelsRequest,
    ) -> Result<Page<LoggedModel>> {
        logged_models::search(&self.client, request).await
    }

    async fn set_logged_model_tags(&self, model_id: &str, tags: &[(String, String)]) -> Result<()> {
        registry::set_logged_model_tags(&self.client, model_id, tags).await
    }

    fn registry(&self) -> Option<&dyn crate::store::registry::RegistryStore> {
        Some(self)
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let r: RunResponse = self.client.get("runs/get", &[("run_id", run_id)]).await?;
        Ok(r.run.into())
    }

    async fn search_runs(&self, r: &SearchRunsRequest) -> Result<Page<Run>> {
        search::search_runs(&self.client, r).await
    }

    async fn search_experiments(&self, r: &SearchExperimentsRequest) -> Result<Page<Experiment>> {
        search::search_experiments(&self.client, r).await
    }

    async fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        search::metric_history(&self.client, run_id, key).await
    }

    async fn log_artifact(
        &self,
        artifact_uri: &str,
        local: &std::path::Path,
        artifact_path: &str,
    ) -> Result<()> {
        artifacts::upload(&self.client, artifact_uri, local, artifact_path).await
    }

    async fn list_artifacts(&self, artifact_uri: &str, path: &str) -> Result<Vec<FileInfo>> {
        artifacts::list(&self.client, artifact_uri, path).await
    }

    async fn download_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        dest: &std::path::Path,
    ) -> Result<()> {
        if presigned::download(&self.client, artifact_uri, path, dest).await? {
            return Ok(());
        }
        artifacts::download(&self.client, artifact_uri, path, dest).await
    }

    fn location(&self) -> String {
        self.client.shown.clone()
    }

    fn ui_base(&self) -> Option<String> {
        Some(self.ui.clone())
    }

    fn max_in_flight(&self) -> usize {
        self.in_flight
    }

    fn max_concurrent(&self) -> usize {
        self.concurrency.unwrap_or(if self.client.http.far() {
            config::DEFAULT_HTTP_CONCURRENCY_FAR
        } else {
            config::DEFAULT_HTTP_CONCURRENCY_NEAR
        })
    }

    async fn ping(&self) -> Result<()> {
        // One attempt, no retries: the sender probes a server it believes down.
        self.client.ping().await
    }
}
