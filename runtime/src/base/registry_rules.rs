//! The registry's input rules as MLflow's stores check them (`mlflow/utils/validation.py`):
//! model names, aliases (and the reserved `latest` and `v<number>`), tags, page sizes. The
//! errors are the store's: [`Error::Api`] with `INVALID_PARAMETER_VALUE` and MLflow's
//! message. A server checks on its side; the embedded store calls these.

use crate::base::error::{Error, Result};
use crate::base::validate;

/// `MAX_REGISTERED_MODEL_ALIAS_LENGTH`.
const MAX_ALIAS_LENGTH: usize = 255;
/// `MAX_MODEL_REGISTRY_TAG_KEY_LENGTH`.
const MAX_TAG_KEY_LENGTH: usize = 250;
/// `MAX_MODEL_REGISTRY_TAG_VALUE_LENGTH`.
const MAX_TAG_VALUE_LENGTH: usize = 100_000;
/// `SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD`.
pub(crate) const MAX_REGISTERED_MODELS_PAGE: u32 = 1000;
/// `SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD`.
pub(crate) const MAX_MODEL_VERSIONS_PAGE: u32 = 200_000;

fn invalid(message: impl Into<String>) -> Error {
    Error::api(400, "INVALID_PARAMETER_VALUE", message)
}

/// Python's `json.dumps(value)` of a string, as `invalid_value` quotes it.
fn quoted(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

/// `path_not_unique`: a name that `posixpath.normpath` would change.
fn path_not_unique(name: &str) -> bool {
    name.starts_with('/')
        || name
            .split('/')
            .enumerate()
            .any(|(i, seg)| seg == "." || seg == ".." || (seg.is_empty() && i > 0))
        || name.ends_with('/')
}

/// `_validate_model_name`.
pub(crate) fn model_name(name: &str) -> Result<()> {
    model_name_as("name", name)
}

/// `_validate_model_renaming`: the new name of a rename.
pub(crate) fn new_model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(invalid(
            "Missing value for required parameter 'new_name'.".to_owned(),
        ));
    }
    model_name(name)
}

fn model_name_as(param: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(invalid(format!(
            "Missing value for required parameter '{param}'."
        )));
    }
    if name.contains('/') || name.contains(':') {
        return Err(invalid(format!(
            "Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )));
    }
    if path_not_unique(name) {
        return Err(invalid(format!(
            "Invalid value {} for parameter '{param}' supplied. Names may be treated as files in certain cases, and must not resolve to other names when treated as such.",
            quoted(name)
        )));
    }
    Ok(())
}

/// `_validate_model_alias_name`.
pub(crate) fn alias(alias: &str) -> Result<()> {
    if alias.is_empty() {
        return Err(invalid("Registered model alias name cannot be empty."));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(invalid(format!(
            "Invalid alias name: '{alias}'. Names may only contain alphanumerics, underscores (_), and dashes (-)."
        )));
    }
    if alias.chars().count() > MAX_ALIAS_LENGTH {
        return Err(invalid(format!(
            "Registered model alias name '{}...' exceeds the maximum length of {MAX_ALIAS_LENGTH} characters",
            alias.chars().take(250).collect::<String>()
        )));
    }
    Ok(())
}

/// `_validate_model_alias_name_reserved`: `latest` and `v<number>` name versions already.
pub(crate) fn alias_not_reserved(alias: &str) -> Result<()> {
    if alias.eq_ignore_ascii_case("latest") {
        return Err(invalid(
            "'latest' alias name (case insensitive) is reserved.",
        ));
    }
    let mut chars = alias.chars();
    if matches!(chars.next(), Some('v' | 'V'))
        && alias.len() > 1
        && chars.all(|c| c.is_ascii_digit())
    {
        return Err(invalid(format!(
            "Version alias name '{alias}' is reserved."
        )));
    }
    Ok(())
}

/// `_validate_registered_model_tag` and `_validate_model_version_tag`.
pub(crate) fn tag(key: &str, value: &str) -> Result<()> {
    if let Err(Error::InvalidKey { reason, .. }) = validate::key("tag", key) {
        return Err(invalid(format!(
            "Invalid value {} for parameter 'key' supplied: {reason}",
            quoted(key)
        )));
    }
    if key.chars().count() > MAX_TAG_KEY_LENGTH {
        return Err(invalid(format!(
            "'key' exceeds the maximum length of {MAX_TAG_KEY_LENGTH} characters"
        )));
    }
    if value.chars().count() > MAX_TAG_VALUE_LENGTH {
        return Err(invalid(format!(
            "'value' exceeds the maximum length of {MAX_TAG_VALUE_LENGTH} characters"
        )));
    }
    Ok(())
}

/// `_validate_tag_name` for a key to delete.
pub(crate) fn tag_key(key: &str) -> Result<()> {
    tag(key, "")
}

/// A page size within `1..=limit`.
pub(crate) fn page_size(max_results: u32, limit: u32) -> Result<()> {
    if max_results == 0 || max_results > limit {
        return Err(invalid(format!(
            "Invalid value for request parameter max_results. It must be at most {limit}, but got value {max_results}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<()>) -> Option<String> {
        r.err().and_then(|e| e.error_code().map(str::to_owned))
    }

    #[test]
    fn names_and_aliases_are_checked_as_mlflow_checks_them() {
        assert!(model_name("nested-child-association").is_ok());
        assert!(model_name("with space.and_dot").is_ok());
        for bad in ["", "  ", "a/b", "a:b", "..", "."] {
            assert_eq!(
                code(model_name(bad)).as_deref(),
                Some("INVALID_PARAMETER_VALUE"),
                "{bad:?}"
            );
        }
        assert!(alias("champion").is_ok());
        assert!(
            alias("v1").is_ok(),
            "the character rule passes; the reserved rule refuses"
        );
        assert!(alias("bad alias").is_err());
        assert!(alias("").is_err());
        assert!(alias_not_reserved("Latest").is_err());
        assert!(alias_not_reserved("v12").is_err());
        assert!(alias_not_reserved("V3").is_err());
        assert!(alias_not_reserved("v").is_ok());
        assert!(alias_not_reserved("version1").is_ok());
        assert!(tag("team", "vision").is_ok());
        assert!(tag("", "x").is_err());
    }
}
