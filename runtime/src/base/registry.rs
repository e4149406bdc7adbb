//! The model registry's data: registered models, their versions and aliases, what creating a
//! version asks for, the registry searches, and `models:/` URIs split as the Python client
//! splits them (`_parse_model_uri`).

use std::collections::BTreeMap;

use crate::base::error::{Error, Result};

/// A registered model (Python's `mlflow.entities.model_registry.RegisteredModel`): a name
/// under which versions of a model are kept, with its tags and aliases.
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RegisteredModel {
    /// The model's name, unique in the registry.
    pub name: String,
    /// Creation time, milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Last change (a new version, a rename, a description), milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// The description, if any.
    pub description: Option<String>,
    /// The model's tags.
    pub tags: BTreeMap<String, String>,
    /// Its aliases (`champion` → version).
    pub aliases: BTreeMap<String, u64>,
    /// The newest version of each stage, as MLflow reports it (its stage API is not offered
    /// here: aliases are the way).
    pub latest_versions: Vec<ModelVersion>,
}

impl RegisteredModel {
    /// The version an alias points at.
    pub fn alias(&self, alias: &str) -> Option<u64> {
        self.aliases.get(alias).copied()
    }
}

/// A version of a registered model (Python's `ModelVersion`).
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number: 1 for the first, one more for each next (the wire carries a
    /// string).
    pub version: u64,
    /// Creation time, milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Last change, milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// The description, if any.
    pub description: Option<String>,
    /// Where the version was registered from (`models:/<model_id>`, a run's artifact
    /// folder, ..).
    pub source: String,
    /// The run that made the model, if known.
    pub run_id: Option<String>,
    /// A link to that run, if given.
    pub run_link: Option<String>,
    /// The logged model (MLflow 3) the version was registered from, when the store reports
    /// it (MLflow's SQL stores keep no column for it: then `None`).
    pub model_id: Option<String>,
    /// `READY` once registered (MLflow's stores register at once).
    pub status: String,
    /// A message about the status, if any.
    pub status_message: Option<String>,
    /// The version's tags.
    pub tags: BTreeMap<String, String>,
    /// The aliases pointing at this version.
    pub aliases: Vec<String>,
}

impl ModelVersion {
    /// `models:/<name>/<version>`, the URI that loads or downloads this version.
    pub fn uri(&self) -> String {
        format!("models:/{}/{}", self.name, self.version)
    }
}

/// What creating a model version asks for (`model-versions/create`).
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct NewModelVersion {
    /// The registered model (it must exist).
    pub name: String,
    /// Where the model's files are: `models:/<model_id>`, a run's artifact folder, ..
    pub source: String,
    /// The run that made the model.
    pub run_id: Option<String>,
    /// The logged model the version is made from.
    pub model_id: Option<String>,
    /// Tags of the version.
    pub tags: Vec<(String, String)>,
    /// A description.
    pub description: Option<String>,
    /// Where the files are, resolved from `source` by the caller when the logged model lives
    /// in another store than the registry (an embedded registry looks `models:/` sources up
    /// in its own file otherwise). A server resolves it itself and is not sent it.
    pub storage_location: Option<String>,
}

impl NewModelVersion {
    /// A version of `name` made from `source`.
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> NewModelVersion {
        NewModelVersion {
            name: name.into(),
            source: source.into(),
            ..NewModelVersion::default()
        }
    }
}

/// One page request of a registry search (`registered-models/search`,
/// `model-versions/search`).
///
/// New fields may be added (it is `#[non_exhaustive]`).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SearchRegistryRequest {
    /// MLflow's filter (`name LIKE 'net%'`, `tags.team = 'vision'`, `run_id = '..'`).
    pub filter: String,
    /// `name ASC`, `last_updated_timestamp DESC`, `version_number DESC`, ..
    pub order_by: Vec<String>,
    /// Results per page.
    pub max_results: u32,
    /// The token of the page to fetch; `None` for the first.
    pub page_token: Option<String>,
}

impl SearchRegistryRequest {
    /// The first page of `max_results` results, unfiltered.
    pub fn new(max_results: u32) -> SearchRegistryRequest {
        SearchRegistryRequest {
            max_results,
            ..SearchRegistryRequest::default()
        }
    }
}

/// What a `models:/` URI names, as Python's `_parse_model_uri` splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ModelUri {
    /// `models:/<model_id>`: a logged model.
    LoggedModel(String),
    /// `models:/<name>/<version>`.
    Version { name: String, version: u64 },
    /// `models:/<name>@<alias>`.
    Alias { name: String, alias: String },
    /// `models:/<name>/latest`: the highest version.
    Latest { name: String },
}

impl ModelUri {
    /// `Ok(None)` for a URI of another scheme; an improper `models:/` URI is
    /// [`Error::InvalidArgument`] with Python's message.
    pub(crate) fn parse(uri: &str) -> Result<Option<ModelUri>> {
        let Some(rest) = uri.strip_prefix("models:") else {
            return Ok(None);
        };
        let improper = || {
            Error::InvalidArgument(format!(
                "Not a proper models:/ URI: {uri}. Models URIs must be of the form \
                 'models:/name/suffix' or 'models:/name@alias' where suffix is a version or the \
                 string 'latest' and where alias is a registered model alias (stages are not \
                 supported here), or 'models:/<model_id>'. Only one of suffix or alias can be \
                 defined at a time."
            ))
        };
        let path = rest.strip_prefix('/').ok_or_else(improper)?;
        if path.is_empty() || path.starts_with('/') {
            return Err(improper());
        }
        let parts: Vec<&str> = path.split('/').collect();
        if parts.len() > 2 || parts[0].trim().is_empty() {
            return Err(improper());
        }
        if let [name, suffix] = parts[..] {
            if suffix.trim().is_empty() {
                return Err(improper());
            }
            if suffix.bytes().all(|b| b.is_ascii_digit()) {
                let version = suffix.parse().map_err(|_| improper())?;
                return Ok(Some(ModelUri::Version {
                    name: name.to_owned(),
                    version,
                }));
            }
            if suffix.eq_ignore_ascii_case("latest") {
                return Ok(Some(ModelUri::Latest {
                    name: name.to_owned(),
                }));
            }
            return Err(improper());
        }
        if let Some((name, alias)) = parts[0].rsplit_once('@') {
            if alias.trim().is_empty() {
                return Err(improper());
            }
            return Ok(Some(ModelUri::Alias {
                name: name.to_owned(),
                alias: alias.to_owned(),
            }));
        }
        Ok(Some(ModelUri::LoggedModel(parts[0].to_owned())))
    }
}

/// A source MLflow's `_register_model` takes: `runs:/<run_id>/<path>` split, or `None`.
pub(crate) fn split_runs_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("runs:/")?;
    let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
    (!run_id.is_empty()).then(|| (run_id.to_owned(), path.trim_matches('/').to_owned()))
}

/// The value of a logged model's `mlflow.modelVersions` tag after registering `name`
/// `version`, as Python's `json.dumps` of the list writes it (with the embedded registry,
/// whose versions are numbers).
pub(crate) fn model_versions_tag(existing: Option<&str>, name: &str, version: u64) -> String {
    let mut list: Vec<serde_json::Value> = existing
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or_default();
    list.push(serde_json::json!({"name": name, "version": version}));
    let items: Vec<String> = list
        .iter()
        .map(|v| match v {
            serde_json::Value::Object(map) => {
                let fields: Vec<String> = map
                    .iter()
                    .map(|(k, v)| format!("{}: {}", py_str(k), v))
                    .collect();
                format!("{{{}}}", fields.join(", "))
            }
            other => other.to_string(),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn py_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The logged model tag that lists the registered versions made from a model.
pub(crate) const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_uris_split_as_python_splits_them() {
        assert_eq!(
            ModelUri::parse("models:/net/3").unwrap(),
            Some(ModelUri::Version {
                name: "net".into(),
                version: 3
            })
        );
        assert_eq!(
            ModelUri::parse("models:/net@champion").unwrap(),
            Some(ModelUri::Alias {
                name: "net".into(),
                alias: "champion".into()
            })
        );
        assert_eq!(
            ModelUri::parse("models:/m-0123").unwrap(),
            Some(ModelUri::LoggedModel("m-0123".into()))
        );
        assert_eq!(
            ModelUri::parse("models:/net/LATEST").unwrap(),
            Some(ModelUri::Latest { name: "net".into() })
        );
        assert_eq!(ModelUri::parse("runs:/abc/model").unwrap(), None);
        for bad in [
            "models:/",
            "models:net/1",
            "models:/a/b/c",
            "models:/net@",
            "models:/net/Production",
        ] {
            assert!(ModelUri::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            split_runs_uri("runs:/abc/model/x"),
            Some(("abc".into(), "model/x".into()))
        );
    }

    #[test]
    fn the_model_versions_tag_is_pythons_json() {
        let one = model_versions_tag(None, "net", 1);
        assert_eq!(one, r#"[{"name": "net", "version": 1}]"#);
        assert_eq!(
            model_versions_tag(Some(&one), "net", 2),
            r#"[{"name": "net", "version": 1}, {"name": "net", "version": 2}]"#
        );
    }
}
