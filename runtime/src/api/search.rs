//! Reading runs back: searching runs and experiments, single runs, metric histories.
//!
//! Every call runs on the destination's background sender, after everything queued before
//! it, so a search sees what this process logged just before (no `flush()` needed) and
//! never does I/O on the caller's thread.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::base::env::{self, DefaultExperiment};
use crate::base::error::{Error, Result};
use crate::base::model::{Experiment, Metric, PARENT_RUN_ID_TAG, Run};
use crate::base::search::{
    DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, SearchExperimentsRequest, SearchRunsRequest, ViewType,
};
use crate::sender::{ExperimentSel, OpenedStore};
use crate::tracker::{self, Tracker};

/// Which destination a query goes to.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The tracking URI in effect when the query runs.
    Current,
    /// A client's destination.
    Tracker(Arc<Tracker>),
}

impl Target {
    pub(crate) fn tracker(&self) -> Arc<Tracker> {
        match self {
            Target::Current => tracker::current(),
            Target::Tracker(t) => t.clone(),
        }
    }
}

/// Quotes a value for a filter string.
pub fn quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Starts a run search; see [`SearchRuns`]. As Python's `mlflow.search_runs`, it returns at
/// most [`FLUENT_SEARCH_LIMIT`] runs unless [`SearchRuns::max_results`] says otherwise.
pub fn search_runs() -> SearchRuns {
    SearchRuns::new(Target::Current, FLUENT_SEARCH_LIMIT)
}

/// How many runs [`search_runs`] returns at most by default: Python's `mlflow.search_runs`
/// default (`SEARCH_MAX_RESULTS_PANDAS`).
pub const FLUENT_SEARCH_LIMIT: usize = 100_000;

/// How many runs [`Client::search_runs`](crate::Client::search_runs) returns at most by
/// default: `MlflowClient.search_runs`'s one page (`SEARCH_MAX_RESULTS_DEFAULT`).
pub const CLIENT_SEARCH_LIMIT: usize = 1_000;

/// Starts an experiment search; see [`SearchExperiments`].
pub fn search_experiments() -> SearchExperiments {
    SearchExperiments {
        target: Target::Current,
        filter: String::new(),
        order_by: Vec::new(),
        view: ViewType::ActiveOnly,
        max_results: None,
    }
}

/// Reads a run back: info, latest metrics, params and tags.
pub fn get_run(run_id: &str) -> Result<Run> {
    get_run_on(&tracker::current(), run_id)
}

/// Every point logged for metric `key` of run `run_id`.
pub fn get_metric_history(run_id: &str, key: &str) -> Result<Vec<Metric>> {
    get_metric_history_on(&tracker::current(), run_id, key)
}

pub(crate) fn get_run_on(tracker: &Tracker, run_id: &str) -> Result<Run> {
    let id = run_id.to_owned();
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move { ctx.get()?.get_run(&id).await })
    }))
}

pub(crate) fn get_metric_history_on(
    tracker: &Tracker,
    run_id: &str,
    key: &str,
) -> Result<Vec<Metric>> {
    let (id, key) = (run_id.to_owned(), key.to_owned());
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move { ctx.get()?.get_metric_history(&id, &key).await })
    }))
}

/// A run search, configured by chaining, then read with [`SearchRuns::iter`] (lazily, page
/// by page), [`SearchRuns::collect_all`] or [`SearchRuns::first`].
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let best = mlflow::search_runs()
///     .experiment_names(["sweep"])
///     .filter("params.optimizer = 'adam' AND metrics.acc > 0.5")
///     .order_by(["metrics.acc DESC"])
///     .max_results(10)
///     .collect_all()?;
/// for run in &best {
///     println!("{} {:?}", run.info.run_name, run.metric("acc"));
/// }
/// # Ok::<(), mlflow::Error>(())
/// ```
///
/// At most [`FLUENT_SEARCH_LIMIT`] runs (100,000) for [`search_runs`] and
/// [`CLIENT_SEARCH_LIMIT`] (1,000, one page) for
/// [`Client::search_runs`](crate::Client::search_runs), as the Python client's two
/// functions, unless [`SearchRuns::max_results`] says otherwise; [`SearchRuns::iter`] and
/// [`SearchRuns::collect_all`] fetch as many pages as that takes.
///
/// Experiments are given by id or by name, not both (an error, as in Python).
/// Without `experiment_ids`/`experiment_names` it searches the active experiment (the one
/// [`set_experiment`](crate::set_experiment) chose, else `MLFLOW_EXPERIMENT_NAME` /
/// `MLFLOW_EXPERIMENT_ID`, else the Default experiment). The filter and `order_by` follow
/// MLflow's grammar; a bad one is [`Error::Api`](crate::Error::Api) with `INVALID_PARAMETER_VALUE`, on the
/// server and on the embedded store alike. Results come in the server's order: the
/// `order_by` items, then `start_time DESC`, then run id.
#[derive(Debug, Clone)]
#[must_use = "a search does nothing until `.iter()`, `.collect_all()` or `.first()`"]
pub struct SearchRuns {
    target: Target,
    experiment_ids: Option<Vec<String>>,
    experiment_names: Option<Vec<String>>,
    filters: Vec<String>,
    order_by: Vec<String>,
    view: ViewType,
    max_results: Option<usize>,
    page_size: u32,
}

impl SearchRuns {
    pub(crate) fn new(target: Target, max_results: usize) -> SearchRuns {
        SearchRuns {
            target,
            experiment_ids: None,
            experiment_names: None,
            filters: Vec::new(),
            order_by: Vec::new(),
            view: ViewType::ActiveOnly,
            max_results: Some(max_results),
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// Searches these experiments (by id); not together with
    /// [`SearchRuns::experiment_names`].
    pub fn experiment_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.experiment_ids
            .get_or_insert_with(Vec::new)
            .extend(ids.into_iter().map(Into::into));
        self
    }

    /// Searches these experiments (by name); names that do not exist are skipped, as the
    /// Python client does. Not together with [`SearchRuns::experiment_ids`].
    pub fn experiment_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.experiment_names
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// A filter in MLflow's grammar, such as `params.lr = '0.1' AND metrics.acc > 0.9`.
    /// Several calls are joined with `AND`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        let f = filter.into();
        if !f.trim().is_empty() {
            self.filters.push(f);
        }
        self
    }

    /// Only the direct children of run `parent_run_id` (`tags.mlflow.parentRunId = '<id>'`).
    pub fn children_of(self, parent_run_id: &str) -> Self {
        self.filter(format!(
            "tags.`{PARENT_RUN_ID_TAG}` = {}",
            quote(parent_run_id)
        ))
    }

    /// Orders results, e.g. `["metrics.acc DESC", "params.lr"]`.
    pub fn order_by<S: Into<String>>(mut self, items: impl IntoIterator<Item = S>) -> Self {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// At most this many runs in total (default [`FLUENT_SEARCH_LIMIT`], or
    /// [`CLIENT_SEARCH_LIMIT`] from a [`Client`](crate::Client)); `usize::MAX` for all.
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = Some(n);
        self
    }

    /// Runs fetched per request (default 1000, at most 50000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    /// Active runs only (default), deleted ones only, or both.
    pub fn view(mut self, view: ViewType) -> Self {
        self.view = view;
        self
    }

    /// The filter sent to the store: every [`SearchRuns::filter`] joined with `AND`.
    pub fn filter_string(&self) -> String {
        self.filters.join(" AND ")
    }

    /// Starts reading: resolves the experiments, then fetches pages as the iterator is
    /// consumed.
    pub fn iter(self) -> Result<RunIter> {
        if self
            .experiment_ids
            .as_ref()
            .is_some_and(|ids| !ids.is_empty())
            && self
                .experiment_names
                .as_ref()
                .is_some_and(|n| !n.is_empty())
        {
            return Err(Error::InvalidArgument(
                "only experiment_ids or experiment_names can be used, but not both".into(),
            ));
        }
        let tracker = self.target.tracker();
        let ids = resolve_experiments(
            &tracker,
            self.experiment_ids.clone(),
            self.experiment_names.clone(),
        )?;
        let request = SearchRunsRequest {
            experiment_ids: ids,
            filter: self.filter_string(),
            view: self.view,
            max_results: self.page_size,
            order_by: self.order_by.clone(),
            page_token: None,
        };
        Ok(RunIter {
            tracker,
            request,
            buffered: VecDeque::new(),
            remaining: self.max_results.unwrap_or(usize::MAX),
            done: false,
        })
    }

    /// Every matching run (up to [`SearchRuns::max_results`]), fetching all pages.
    pub fn collect_all(self) -> Result<Vec<Run>> {
        self.iter()?.collect()
    }

    /// The first matching run, if any.
    pub fn first(self) -> Result<Option<Run>> {
        let mut it = self.max_results(1).iter()?;
        it.next().transpose()
    }

    /// One page, for callers that keep page tokens themselves.
    pub fn page(self, page_token: Option<&str>) -> Result<Page<Run>> {
        let mut it = self.iter()?;
        it.request.page_token = page_token.map(str::to_owned);
        fetch_page(&it.tracker, it.request.clone())
    }
}

fn fetch_page(tracker: &Tracker, request: SearchRunsRequest) -> Result<Page<Run>> {
    if request.experiment_ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page_token: None,
        });
    }
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move { ctx.get()?.search_runs(&request).await })
    }))
}

/// The runs of a search, fetched page by page as they are consumed.
#[derive(Debug)]
pub struct RunIter {
    tracker: Arc<Tracker>,
    request: SearchRunsRequest,
    buffered: VecDeque<Run>,
    remaining: usize,
    done: bool,
}

impl Iterator for RunIter {
    type Item = Result<Run>;

    fn next(&mut self) -> Option<Result<Run>> {
        if self.remaining == 0 {
            return None;
        }
        if self.buffered.is_empty() && !self.done {
            let mut request = self.request.clone();
            request.max_results = request
                .max_results
                .min(u32::try_from(self.remaining).unwrap_or(u32::MAX));
            match fetch_page(&self.tracker, request) {
                Ok(page) => {
                    self.buffered.extend(page.items);
                    match page.next_page_token {
                        Some(t) => self.request.page_token = Some(t),
                        None => self.done = true,
                    }
                }
                Err(e) => {
                    self.done = true;
                    self.remaining = 0;
                    return Some(Err(e));
                }
            }
        }
        let run = self.buffered.pop_front()?;
        self.remaining -= 1;
        Some(Ok(run))
    }
}

/// Experiment ids for a search: the given ids and names, else the active experiment.
pub(crate) fn resolve_experiments(
    tracker: &Tracker,
    ids: Option<Vec<String>>,
    names: Option<Vec<String>>,
) -> Result<Vec<String>> {
    let active = tracker.active_experiment();
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move {
            if ids.is_none() && names.is_none() {
                return active_experiment(&ctx, active)
                    .await
                    .map(|id| id.into_iter().collect());
            }
            let mut out = ids.unwrap_or_default();
            for name in names.unwrap_or_default() {
                if let Some(e) = ctx.get()?.get_experiment_by_name(&name).await? {
                    out.push(e.experiment_id);
                }
            }
            out.dedup();
            Ok(out)
        })
    }))
}

/// The experiment new runs would go to, without creating one.
async fn active_experiment(ctx: &OpenedStore, active: ExperimentSel) -> Result<Option<String>> {
    if let ExperimentSel::Id(id) = active {
        return Ok(Some(id));
    }
    match env::default_experiment() {
        DefaultExperiment::Named { name, expected_id } => {
            let Some(found) = ctx.get()?.get_experiment_by_name(&name).await? else {
                return Ok(None);
            };
            match expected_id.filter(|id| *id != found.experiment_id) {
                Some(expected) => Err(env::id_mismatch(&name, &expected, &found.experiment_id)),
                None => Ok(Some(found.experiment_id)),
            }
        }
        DefaultExperiment::Id(id) => Ok(Some(id)),
        DefaultExperiment::Default => Ok(Some("0".into())),
    }
}

/// An experiment search, configured by chaining.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// for e in mlflow::search_experiments().filter("name LIKE 'sweep%'").collect_all()? {
///     println!("{} {}", e.experiment_id, e.name);
/// }
/// # Ok::<(), mlflow::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a search does nothing until `.collect_all()`"]
pub struct SearchExperiments {
    target: Target,
    filter: String,
    order_by: Vec<String>,
    view: ViewType,
    max_results: Option<usize>,
}

impl SearchExperiments {
    pub(crate) fn new(target: Target) -> SearchExperiments {
        SearchExperiments {
            target,
            ..search_experiments()
        }
    }

    /// A filter such as `name = 'sweep'`, `name LIKE 'a%'` or `tags.team = 'vision'`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = filter.into();
        self
    }

    /// Orders results, e.g. `["name ASC"]` (default: newest first).
    pub fn order_by<S: Into<String>>(mut self, items: impl IntoIterator<Item = S>) -> Self {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// Active experiments only (default), deleted ones only, or both.
    pub fn view(mut self, view: ViewType) -> Self {
        self.view = view;
        self
    }

    /// At most this many experiments.
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = Some(n);
        self
    }

    /// Every matching experiment, fetching all pages.
    pub fn collect_all(self) -> Result<Vec<Experiment>> {
        let tracker = self.target.tracker();
        let limit = self.max_results.unwrap_or(usize::MAX);
        let mut request = SearchExperimentsRequest {
            filter: self.filter,
            view: self.view,
            max_results: DEFAULT_PAGE_SIZE,
            order_by: self.order_by,
            page_token: None,
        };
        let mut out = Vec::new();
        loop {
            let r = request.clone();
            let page = tracker.request(Box::new(move |ctx| {
                Box::pin(async move { ctx.get()?.search_experiments(&r).await })
            }))?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) if out.len() < limit => request.page_token = Some(t),
                _ => break,
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
