//! Floor 1, data and rules: the model types, errors, configuration, key and value rules,
//! search requests and their grammar, and how a run ends. Nothing here does I/O on a
//! store or knows that a sender or a run stack exists.

pub(crate) mod artifact_uri;
pub mod config;
pub mod datasets;
pub mod env;
pub mod error;
// MLflow's search grammar, which the embedded store parses (a server parses its own).
#[cfg(feature = "sqlite")]
pub(crate) mod filter;
#[cfg(feature = "image")]
pub mod images;
pub(crate) mod json_numbers;
pub(crate) mod links;
pub mod logged_models;
pub(crate) mod mlmodel;
pub mod model;
pub mod outcome;
pub(crate) mod py_json;
pub mod registry;
// The registry's input rules, which the embedded store checks (a server checks its own).
pub mod python_str;
#[cfg(feature = "sqlite")]
pub(crate) mod registry_rules;
pub(crate) mod run_names;
pub mod search;
pub(crate) mod sync;
pub(crate) mod system;
pub mod table;
pub(crate) mod time;
pub(crate) mod validate;
pub(crate) mod yaml;
