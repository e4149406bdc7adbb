//! Client-side checks that mirror the server's (`mlflow/utils/validation.py`), so that a bad
//! key is an error at the call site instead of a rejected batch later.

use crate::base::error::{Error, Result};

/// `MAX_ENTITY_KEY_LENGTH`.
pub(crate) const MAX_KEY_LENGTH: usize = 250;
/// `MAX_PARAM_VAL_LENGTH`.
pub(crate) const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// `MAX_TAG_VAL_LENGTH`.
pub(crate) const MAX_TAG_VALUE_LENGTH: usize = 8000;

/// Checks a param, metric or tag key: characters `[/\w.\- :]`, at most 250 of them, and a
/// path that normalizes to itself (no leading `/`, no `.`/`..`/empty segments), because MLflow
/// turns keys into file paths.
pub(crate) fn key(kind: &'static str, key: &str) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::InvalidKey {
            kind,
            key: key.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if key.is_empty() {
        return fail("keys must not be empty");
    }
    if key.chars().count() > MAX_KEY_LENGTH {
        return fail("keys are at most 250 characters long");
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':')))
    {
        return fail(&format!(
            "{bad:?} is not allowed; names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)"
        ));
    }
    if key.starts_with('/')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return fail(
            "keys must be relative paths that normalize to themselves (no leading '/', no '.', '..' or empty segments)",
        );
    }
    Ok(())
}

/// MLflow's `MAX_EXPERIMENT_TAG_VAL_LENGTH`.
#[cfg(any(feature = "sqlite", test, feature = "testing"))]
pub(crate) const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20_000;

/// An experiment tag as MLflow's stores check it (`_validate_experiment_tag`): the key as a
/// run tag's, the value at most 20,000 characters (refused, not truncated). The error is the
/// store's: [`Error::Api`] with `INVALID_PARAMETER_VALUE`. For the stores that check
/// themselves (the embedded and the memory store); a server checks on its side.
#[cfg(any(feature = "sqlite", test, feature = "testing"))]
pub(crate) fn experiment_tag(tag_key: &str, value: &str) -> Result<()> {
    let refuse = |message: String| Err(Error::api(400, "INVALID_PARAMETER_VALUE", message));
    if let Err(Error::InvalidKey { reason, .. }) = key("tag", tag_key) {
        return refuse(format!(
            "Invalid value {tag_key:?} for parameter 'key' supplied: {reason}"
        ));
    }
    if value.chars().count() > MAX_EXPERIMENT_TAG_VALUE_LENGTH {
        return refuse(format!(
            "'value' exceeds the maximum length of {MAX_EXPERIMENT_TAG_VALUE_LENGTH} characters"
        ));
    }
    Ok(())
}

/// Truncates a param or tag value that is over MLflow's limit, with a warning, as the
/// official client does by default (`MLFLOW_TRUNCATE_LONG_VALUES=true`).
pub(crate) fn truncate_value(
    kind: &'static str,
    key: &str,
    mut value: String,
    limit: usize,
) -> String {
    if let Some((cut, _)) = value.char_indices().nth(limit) {
        tracing::warn!(
            "{kind} {key:?}: value of {} characters truncated to {limit}, as MLflow does",
            value.chars().count()
        );
        value.truncate(cut);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_mlflow_accepts() {
        for k in [
            "loss",
            "train/loss",
            "a b",
            "a:b",
            "a-b.c_d",
            "ümlaut",
            "x/y/z",
            "a..b",
        ] {
            key("metric", k).unwrap_or_else(|e| panic!("{k}: {e}"));
        }
    }

    #[test]
    fn rejects_what_mlflow_rejects() {
        let long = "k".repeat(251);
        for k in [
            "", "bad key!", "/abs", "a//b", "a/./b", "a/../b", "..", ".", "a/", &long, "tab\t",
        ] {
            assert!(key("param", k).is_err(), "{k:?} should be rejected");
        }
    }

    #[test]
    fn experiment_tags_are_checked_as_mlflow_checks_them() {
        experiment_tag("team", "vision").unwrap();
        experiment_tag("team", &"v".repeat(20_000)).unwrap();
        for (k, v) in [("bad key!", "x"), ("", "x"), ("ok", &*"v".repeat(20_001))] {
            let e = experiment_tag(k, v).unwrap_err();
            assert_eq!(
                e.error_code(),
                Some("INVALID_PARAMETER_VALUE"),
                "{k:?}: {e}"
            );
        }
    }

    #[test]
    fn truncates_by_characters() {
        let v = truncate_value("param", "k", "é".repeat(10), 4);
        assert_eq!(v, "éééé");
        assert_eq!(truncate_value("tag", "k", "abc".into(), 4), "abc");
    }
}
