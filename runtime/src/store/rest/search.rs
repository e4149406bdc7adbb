//! Reading back over REST: `runs/search`, `experiments/search`, `metrics/get-history`.

use serde::{Deserialize, Serialize};

use super::client::ApiClient;
use super::retry::Idempotency;
use super::wire::{ExperimentJson, MetricJson, RunJson};
use crate::base::error::Result;
use crate::base::model::{Experiment, Metric, Run};
use crate::base::search::{Page, SearchExperimentsRequest, SearchRunsRequest};

#[derive(Serialize)]
struct SearchRunsBody<'a> {
    experiment_ids: &'a [String],
    filter: &'a str,
    run_view_type: &'a str,
    max_results: u32,
    order_by: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Deserialize)]
struct SearchRunsAnswer {
    #[serde(default)]
    runs: Vec<RunJson>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Serialize)]
struct SearchExperimentsBody<'a> {
    filter: &'a str,
    view_type: &'a str,
    max_results: u32,
    order_by: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<&'a str>,
}

#[derive(Deserialize)]
struct SearchExperimentsAnswer {
    #[serde(default)]
    experiments: Vec<ExperimentJson>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct HistoryAnswer {
    #[serde(default)]
    metrics: Vec<MetricJson>,
    #[serde(default)]
    next_page_token: Option<String>,
}

pub(super) async fn search_runs(store: &ApiClient, r: &SearchRunsRequest) -> Result<Page<Run>> {
    let body = SearchRunsBody {
        experiment_ids: &r.experiment_ids,
        filter: &r.filter,
        run_view_type: r.view.as_str(),
        max_results: r.max_results,
        order_by: &r.order_by,
        page_token: r.page_token.as_deref(),
    };
    // A search changes nothing: resending it is harmless.
    let a: SearchRunsAnswer = store.post("runs/search", &body, Idempotency::Safe).await?;
    Ok(Page {
        items: a.runs.into_iter().map(Run::from).collect(),
        next_page_token: a.next_page_token.filter(|t| !t.is_empty()),
    })
}

pub(super) async fn search_experiments(
    store: &ApiClient,
    r: &SearchExperimentsRequest,
) -> Result<Page<Experiment>> {
    let body = SearchExperimentsBody {
        filter: &r.filter,
        view_type: r.view.as_str(),
        max_results: r.max_results,
        order_by: &r.order_by,
        page_token: r.page_token.as_deref(),
    };
    let a: SearchExperimentsAnswer = store
        .post("experiments/search", &body, Idempotency::Safe)
        .await?;
    Ok(Page {
        items: a.experiments.into_iter().map(Experiment::from).collect(),
        next_page_token: a.next_page_token.filter(|t| !t.is_empty()),
    })
}

pub(super) async fn metric_history(
    store: &ApiClient,
    run_id: &str,
    key: &str,
) -> Result<Vec<Metric>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("run_id", run_id), ("metric_key", key)];
        if let Some(t) = token.as_deref() {
            query.push(("page_token", t));
        }
        let a: HistoryAnswer = store.get("metrics/get-history", &query).await?;
        out.extend(a.metrics.into_iter().map(Metric::from));
        match a.next_page_token.filter(|t| !t.is_empty()) {
            Some(t) => token = Some(t),
            None => return Ok(out),
        }
    }
}
