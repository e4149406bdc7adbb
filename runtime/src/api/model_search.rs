//! Searching logged models: [`search_logged_models`] and its builder, shaped like
//! [`search_runs`](crate::search_runs).

use std::collections::VecDeque;
use std::sync::Arc;

use super::search::{Target, resolve_experiments};
use crate::base::error::{Error, Result};
use crate::base::logged_models::{LoggedModel, SearchLoggedModelsRequest};
use crate::base::search::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
use crate::tracker::Tracker;

/// Starts a logged model search in the active experiment (or the experiments named); see
/// [`SearchLoggedModels`]. Python's `mlflow.search_logged_models`.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let best = mlflow::search_logged_models()
///     .filter("metrics.acc > 0.9 AND params.hidden = '64'")
///     .order_by(["metrics.acc DESC"])
///     .first()?;
/// if let Some(model) = best {
///     println!("{} {}", model.name, model.uri());
/// }
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn search_logged_models() -> SearchLoggedModels {
    SearchLoggedModels::new(Target::Current)
}

/// A logged model search, configured by chaining. The experiments default to the active one
/// (as [`search_runs`](crate::search_runs)); the filter follows MLflow's grammar for models
/// (`metrics.`, `params.`, `tags.` and the attributes `name`, `model_id`, `model_type`,
/// `status`, `source_run_id`, `creation_timestamp`, `last_updated_timestamp`), `order_by`
/// takes attributes and `metrics.<key>` (its latest point) with `ASC`/`DESC`; results come
/// in that order, then newest first. A bad filter is [`Error::Api`] with
/// `INVALID_PARAMETER_VALUE`.
#[derive(Debug, Clone)]
#[must_use = "a search does nothing until `.collect_all()`, `.first()` or `.page()`"]
pub struct SearchLoggedModels {
    target: Target,
    experiment_ids: Option<Vec<String>>,
    experiment_names: Option<Vec<String>>,
    filters: Vec<String>,
    order_by: Vec<String>,
    max_results: usize,
    page_size: u32,
}

impl SearchLoggedModels {
    pub(crate) fn new(target: Target) -> SearchLoggedModels {
        SearchLoggedModels {
            target,
            experiment_ids: None,
            experiment_names: None,
            filters: Vec::new(),
            order_by: Vec::new(),
            max_results: usize::MAX,
            page_size: DEFAULT_PAGE_SIZE,
        }
    }

    /// Searches these experiments (by id).
    pub fn experiment_ids<S: Into<String>>(mut self, ids: impl IntoIterator<Item = S>) -> Self {
        self.experiment_ids
            .get_or_insert_with(Vec::new)
            .extend(ids.into_iter().map(Into::into));
        self
    }

    /// Searches these experiments (by name; names that do not exist are skipped).
    pub fn experiment_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.experiment_names
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// A filter such as `metrics.acc > 0.9 AND tags.seed = '7'`; several calls are joined
    /// with `AND`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        let f = filter.into();
        if !f.trim().is_empty() {
            self.filters.push(f);
        }
        self
    }

    /// Orders results, e.g. `["metrics.acc DESC", "creation_timestamp"]`.
    pub fn order_by<S: Into<String>>(mut self, items: impl IntoIterator<Item = S>) -> Self {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// At most this many models in total (default: all).
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = n;
        self
    }

    /// Models fetched per request (default 1000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, MAX_PAGE_SIZE);
        self
    }

    fn request(&self, tracker: &Tracker) -> Result<SearchLoggedModelsRequest> {
        let ids = resolve_experiments(
            tracker,
            self.experiment_ids.clone(),
            self.experiment_names.clone(),
        )?;
        let mut request = SearchLoggedModelsRequest::new(ids, self.page_size);
        request.filter = self.filters.join(" AND ");
        request.order_by = self.order_by.clone();
        Ok(request)
    }

    /// Every matching model (up to [`SearchLoggedModels::max_results`]), fetching all pages.
    pub fn collect_all(self) -> Result<Vec<LoggedModel>> {
        let tracker = self.target.tracker();
        let mut request = self.request(&tracker)?;
        let mut out: VecDeque<LoggedModel> = VecDeque::new();
        while out.len() < self.max_results {
            let left = self.max_results - out.len();
            request.max_results = request
                .max_results
                .min(u32::try_from(left).unwrap_or(u32::MAX));
            let page = fetch(&tracker, request.clone())?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) => request.page_token = Some(t),
                None => break,
            }
        }
        out.truncate(self.max_results);
        Ok(out.into())
    }

    /// The first matching model, if any.
    pub fn first(self) -> Result<Option<LoggedModel>> {
        Ok(self.max_results(1).collect_all()?.into_iter().next())
    }

    /// One page, for callers that keep page tokens themselves.
    pub fn page(self, page_token: Option<&str>) -> Result<Page<LoggedModel>> {
        let tracker = self.target.tracker();
        let mut request = self.request(&tracker)?;
        request.page_token = page_token.map(str::to_owned);
        fetch(&tracker, request)
    }
}

fn fetch(tracker: &Arc<Tracker>, request: SearchLoggedModelsRequest) -> Result<Page<LoggedModel>> {
    if request.experiment_ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            next_page_token: None,
        });
    }
    if request.max_results == 0 {
        return Err(Error::InvalidArgument(
            "max_results must be positive".into(),
        ));
    }
    tracker.request(Box::new(move |ctx| {
        Box::pin(async move { ctx.get()?.search_logged_models(&request).await })
    }))
}
