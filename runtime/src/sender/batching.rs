//! Shaping batches: merging, deduplicating, and cutting them to a store's limits.

use std::collections::HashMap;

use crate::base::model::{Batch, RunTag};
use crate::store::BatchLimits;

pub(super) fn metrics_only(batch: &Batch) -> bool {
    batch.params.is_empty() && batch.tags.is_empty()
}

pub(super) fn tag(key: &str, value: impl Into<String>) -> RunTag {
    RunTag {
        key: key.to_owned(),
        value: value.into(),
    }
}

/// Keeps the last value of each tag (last write wins) in first-seen order.
pub(super) fn dedup_last_wins(tags: Vec<RunTag>) -> Vec<RunTag> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<RunTag> = Vec::with_capacity(tags.len());
    for t in tags {
        match index.get(&t.key) {
            Some(&i) => out[i].value = t.value,
            None => {
                index.insert(t.key.clone(), out.len());
                out.push(t);
            }
        }
    }
    out
}

/// One request may not name a param or tag twice; params were checked for conflicts when
/// logged, so repeats carry the same value.
pub(super) fn normalize(mut batch: Batch) -> Batch {
    let mut seen = std::collections::HashSet::new();
    batch.params.retain(|p| seen.insert(p.key.clone()));
    batch.tags = dedup_last_wins(batch.tags);
    batch
}

/// Cuts a batch into pieces within `limits`, as the Python client does: params and tags in
/// chunks, metrics filling the remaining room.
pub(super) fn split(mut batch: Batch, limits: BatchLimits) -> Vec<Batch> {
    let mut pieces = Vec::new();
    let mut params = std::mem::take(&mut batch.params).into_iter().peekable();
    let mut tags = std::mem::take(&mut batch.tags).into_iter().peekable();
    let mut metrics = std::mem::take(&mut batch.metrics).into_iter().peekable();
    while params.peek().is_some() || tags.peek().is_some() || metrics.peek().is_some() {
        let mut piece = Batch::default();
        piece
            .params
            .extend(params.by_ref().take(limits.params.min(limits.entities)));
        let room = limits.entities - piece.len();
        piece.tags.extend(tags.by_ref().take(limits.tags.min(room)));
        let room = limits.entities - piece.len();
        piece
            .metrics
            .extend(metrics.by_ref().take(limits.metrics.min(room)));
        pieces.push(piece);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::model::{Metric, Param};

    fn batch(metrics: usize, params: usize, tags: usize) -> Batch {
        Batch {
            metrics: (0..metrics)
                .map(|i| Metric {
                    key: format!("m{i}"),
                    value: 0.0,
                    timestamp: 0,
                    step: 0,
                    model_id: None,
                    dataset_name: None,
                    dataset_digest: None,
                })
                .collect(),
            params: (0..params)
                .map(|i| Param {
                    key: format!("p{i}"),
                    value: "v".into(),
                })
                .collect(),
            tags: (0..tags).map(|i| tag(&format!("t{i}"), "v")).collect(),
        }
    }

    #[test]
    fn split_respects_every_limit() {
        let l = BatchLimits::MLFLOW_SERVER;
        let pieces = split(batch(2500, 250, 150), l);
        let total: usize = pieces.iter().map(Batch::len).sum();
        assert_eq!(total, 2900);
        for p in &pieces {
            assert!(p.metrics.len() <= 1000 && p.params.len() <= 100 && p.tags.len() <= 100);
            assert!(p.len() <= 1000);
        }
        assert_eq!(split(Batch::default(), l).len(), 0);
        assert_eq!(split(batch(1, 1, 1), l).len(), 1);
    }

    #[test]
    fn tags_last_write_wins() {
        let t = dedup_last_wins(vec![tag("a", "1"), tag("b", "2"), tag("a", "3")]);
        assert_eq!(t, vec![tag("a", "3"), tag("b", "2")]);
    }
}
