//! Registry searches: [`SearchRegisteredModels`] and [`SearchModelVersions`], one builder
//! shaped like [`search_runs`](crate::search_runs) and
//! [`search_logged_models`](crate::search_logged_models): filter, order, pages.

use std::collections::VecDeque;
use std::sync::Arc;

use super::registry::{on_registry, registry_of};
use crate::base::error::{Error, Result};
use crate::base::registry::{ModelVersion, RegisteredModel, SearchRegistryRequest};
use crate::base::search::Page;
use crate::tracker::Tracker;

/// Fetches one page from the registry behind a destination.
type Fetch<T> = fn(&Tracker, SearchRegistryRequest) -> Result<Page<T>>;

fn fetch_models(
    registry: &Tracker,
    request: SearchRegistryRequest,
) -> Result<Page<RegisteredModel>> {
    on_registry(registry, move |store| async move {
        registry_of(&store)?
            .search_registered_models(&request)
            .await
    })
}

fn fetch_versions(
    registry: &Tracker,
    request: SearchRegistryRequest,
) -> Result<Page<ModelVersion>> {
    on_registry(registry, move |store| async move {
        registry_of(&store)?.search_model_versions(&request).await
    })
}

/// A registered model search of the registry behind `registry` (or the error finding it,
/// reported when the search runs).
pub(crate) fn registered_models(registry: Result<Arc<Tracker>>) -> SearchRegisteredModels {
    RegistrySearch::new(registry, fetch_models, (100, 1000))
}

/// A model version search of the registry behind `registry`.
pub(crate) fn model_versions(registry: Result<Arc<Tracker>>) -> SearchModelVersions {
    RegistrySearch::new(registry, fetch_versions, (10_000, 200_000))
}

/// A registered model search ([`Client::search_registered_models`](crate::Client::search_registered_models)):
/// filters on `name` (`=`, `!=`, `LIKE`, `ILIKE`, `IN`) and `tags.<key>`; ordered by `name`,
/// `last_updated_timestamp` (alias `timestamp`), then by name.
pub type SearchRegisteredModels = RegistrySearch<RegisteredModel>;

/// A model version search ([`Client::search_model_versions`](crate::Client::search_model_versions)):
/// filters on `name`, `version_number`, `run_id`, `source_path` and `tags.<key>`; ordered by
/// `name`, `version_number`, `creation_timestamp`, `last_updated_timestamp` (newest first
/// by default). Deleted versions are left out.
pub type SearchModelVersions = RegistrySearch<ModelVersion>;

/// A registry search, configured by chaining; see [`SearchRegisteredModels`] and
/// [`SearchModelVersions`]. A bad filter is [`Error::Api`] with `INVALID_PARAMETER_VALUE`.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let client = mlflow::Client::new();
/// let models = client
///     .search_registered_models()
///     .filter("name LIKE 'nested-%'")
///     .order_by(["last_updated_timestamp DESC"])
///     .collect_all()?;
/// let versions = client
///     .search_model_versions()
///     .filter("name = 'nested-child-association'")
///     .collect_all()?;
/// # Ok::<(), mlflow::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a search does nothing until `.collect_all()`, `.first()` or `.page()`"]
pub struct RegistrySearch<T> {
    registry: Result<Arc<Tracker>>,
    filters: Vec<String>,
    order_by: Vec<String>,
    max_results: usize,
    page_size: Option<u32>,
    /// The default page size and the most MLflow answers per request.
    pages: (u32, u32),
    fetch: Fetch<T>,
}

impl<T> RegistrySearch<T> {
    fn new(
        registry: Result<Arc<Tracker>>,
        fetch: Fetch<T>,
        pages: (u32, u32),
    ) -> RegistrySearch<T> {
        RegistrySearch {
            registry,
            filters: Vec::new(),
            order_by: Vec::new(),
            max_results: usize::MAX,
            page_size: None,
            pages,
            fetch,
        }
    }

    /// A filter such as `name = 'net'` or `tags.team = 'vision'`; several calls are joined
    /// with `AND`.
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        let f = filter.into();
        if !f.trim().is_empty() {
            self.filters.push(f);
        }
        self
    }

    /// Orders results, e.g. `["last_updated_timestamp DESC"]`.
    pub fn order_by<S: Into<String>>(mut self, items: impl IntoIterator<Item = S>) -> Self {
        self.order_by.extend(items.into_iter().map(Into::into));
        self
    }

    /// At most this many results in total (default: all).
    pub fn max_results(mut self, n: usize) -> Self {
        self.max_results = n;
        self
    }

    /// Results fetched per request (default 100 registered models, 10,000 versions; at most
    /// MLflow's 1,000 and 200,000).
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n.clamp(1, self.pages.1));
        self
    }

    fn request(&self) -> SearchRegistryRequest {
        let mut request = SearchRegistryRequest::new(self.page_size.unwrap_or(self.pages.0));
        request.filter = self.filters.join(" AND ");
        request.order_by = self.order_by.clone();
        request
    }

    /// Every result (up to [`RegistrySearch::max_results`]), fetching all pages.
    pub fn collect_all(self) -> Result<Vec<T>> {
        let registry = self.registry.clone()?;
        let mut request = self.request();
        let mut out: VecDeque<T> = VecDeque::new();
        while out.len() < self.max_results {
            let left = self.max_results - out.len();
            request.max_results = request
                .max_results
                .min(u32::try_from(left).unwrap_or(u32::MAX));
            let page = (self.fetch)(&registry, request.clone())?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) => request.page_token = Some(t),
                None => break,
            }
        }
        out.truncate(self.max_results);
        Ok(out.into())
    }

    /// The first result, if any.
    pub fn first(self) -> Result<Option<T>> {
        Ok(self.max_results(1).collect_all()?.into_iter().next())
    }

    /// One page, for callers that keep page tokens themselves.
    pub fn page(self, page_token: Option<&str>) -> Result<Page<T>> {
        if self.max_results == 0 {
            return Err(Error::InvalidArgument(
                "max_results must be positive".into(),
            ));
        }
        let registry = self.registry.clone()?;
        let mut request = self.request();
        request.page_token = page_token.map(str::to_owned);
        (self.fetch)(&registry, request)
    }
}
