//! What a search asks a store for and what it gets back.

/// Which runs or experiments a search sees, by lifecycle stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    /// Only active ones (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// MLflow's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::ActiveOnly => "ACTIVE_ONLY",
            ViewType::DeletedOnly => "DELETED_ONLY",
            ViewType::All => "ALL",
        }
    }

    /// The `lifecycle_stage` values this view includes.
    pub fn stages(self) -> &'static [&'static str] {
        match self {
            ViewType::ActiveOnly => &["active"],
            ViewType::DeletedOnly => &["deleted"],
            ViewType::All => &["active", "deleted"],
        }
    }
}

/// One `runs/search` request, as a store receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRunsRequest {
    /// Experiments to search (ids).
    pub experiment_ids: Vec<String>,
    /// A filter in MLflow's grammar; empty for none.
    pub filter: String,
    /// Lifecycle stages to include.
    pub view: ViewType,
    /// Page size (1..=50000).
    pub max_results: u32,
    /// `order_by` items such as `metrics.acc DESC`.
    pub order_by: Vec<String>,
    /// The token of the page to read; `None` for the first.
    pub page_token: Option<String>,
}

/// One `experiments/search` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchExperimentsRequest {
    /// A filter such as `name LIKE 'sweep%'`; empty for none.
    pub filter: String,
    /// Lifecycle stages to include.
    pub view: ViewType,
    /// Page size.
    pub max_results: u32,
    /// `order_by` items such as `name ASC`.
    pub order_by: Vec<String>,
    /// The token of the page to read; `None` for the first.
    pub page_token: Option<String>,
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The results on this page, in order.
    pub items: Vec<T>,
    /// The token of the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// A file or folder among a run's artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Path relative to the run's artifact root, with `/` separators.
    pub path: String,
    /// True for a folder.
    pub is_dir: bool,
    /// Size in bytes, for files.
    pub file_size: Option<u64>,
}

/// The page size MLflow's clients use.
pub const DEFAULT_PAGE_SIZE: u32 = 1000;

/// The largest page a server sends.
pub const MAX_PAGE_SIZE: u32 = 50_000;
