//! burn metric names and splits turned into MLflow metric keys.

use std::collections::{HashMap, HashSet};

use burn_train::metric::store::Split;

/// Longest metric name kept in a key: MLflow keys are at most 250 characters, and the
/// longest prefix (`test/<tag>/batch/`) needs the rest.
const MAX_NAME_CHARS: usize = 200;
/// Longest test tag kept in a key.
const MAX_TAG_CHARS: usize = 30;

/// `name` with every character MLflow refuses in a key replaced by `_`.
///
/// `/` is replaced too, although MLflow accepts it: a metric named `batch/Loss` would
/// otherwise log to `train/batch/Loss`, the per-batch key of the metric `Loss`.
pub(crate) fn sanitize(name: &str, max_chars: usize) -> String {
    let cleaned: String = name
        .chars()
        .take(max_chars)
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | ' ' | ':') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // MLflow turns keys into paths: a segment that is empty, `.` or `..` is refused.
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        return format!("_{cleaned}");
    }
    cleaned
}

/// The key segment of each metric name, distinct for distinct names.
#[derive(Debug, Default)]
pub(crate) struct MetricKeys {
    by_name: HashMap<String, String>,
    taken: HashSet<String>,
}

impl MetricKeys {
    /// The key segment for metric `name`: its sanitized form, with `_2`, `_3`, ... appended
    /// when another name already sanitized to it. The first name seen keeps the plain form,
    /// and a name keeps its segment for the logger's life.
    pub(crate) fn segment(&mut self, name: &str) -> &str {
        if !self.by_name.contains_key(name) {
            let base = sanitize(name, MAX_NAME_CHARS);
            let mut candidate = base.clone();
            let mut n = 2;
            while self.taken.contains(&candidate) {
                candidate = format!("{base}_{n}");
                n += 1;
            }
            self.taken.insert(candidate.clone());
            self.by_name.insert(name.to_owned(), candidate);
        }
        &self.by_name[name]
    }
}

/// The key prefix of a split: `train`, `valid`, `test`, or `test/<tag>` for a tagged test
/// split.
pub(crate) fn split_prefix(split: &Split) -> String {
    match split {
        Split::Test(Some(tag)) => format!("test/{}", sanitize(tag, MAX_TAG_CHARS)),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_burn_names() {
        assert_eq!(
            sanitize("Top-K Accuracy @ TopK(5)", MAX_NAME_CHARS),
            "Top-K Accuracy _ TopK_5_"
        );
        assert_eq!(sanitize("Loss", MAX_NAME_CHARS), "Loss");
        assert_eq!(sanitize("a/b", MAX_NAME_CHARS), "a_b");
        assert_eq!(sanitize("", MAX_NAME_CHARS), "_");
        assert_eq!(sanitize("..", MAX_NAME_CHARS), "_..");
        assert_eq!(sanitize("Précision (%)", MAX_NAME_CHARS), "Précision ___");
        assert_eq!(sanitize(&"x".repeat(300), MAX_NAME_CHARS).len(), 200);
    }

    #[test]
    fn names_that_sanitize_alike_get_distinct_segments() {
        let mut keys = MetricKeys::default();
        assert_eq!(keys.segment("Acc (top 5)"), "Acc _top 5_");
        assert_eq!(keys.segment("Acc [top 5]"), "Acc _top 5__2");
        assert_eq!(keys.segment("Acc _top 5_"), "Acc _top 5__3");
        assert_eq!(keys.segment("Acc (top 5)"), "Acc _top 5_");
        assert_eq!(keys.segment("Acc [top 5]"), "Acc _top 5__2");
    }

    #[test]
    fn split_prefixes() {
        assert_eq!(split_prefix(&Split::Train), "train");
        assert_eq!(split_prefix(&Split::Valid), "valid");
        assert_eq!(split_prefix(&Split::Test(None)), "test");
        assert_eq!(
            split_prefix(&Split::Test(Some(std::sync::Arc::new("hold out".into())))),
            "test/hold out"
        );
    }
}
