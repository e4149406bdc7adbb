//! A batch the store refused: find what it refused and deliver the rest, so that one bad
//! value (typically a param that already has another value on the server, as in a run
//! resumed through `MLFLOW_RUN_ID`) does not take the whole batch down with it.

use std::sync::Arc;

use crate::base::error::Error;
use crate::base::model::{Batch, Param};
use crate::store::Store;

/// After `store` refused `batch` with `refusal`: when the refusal is a 400 and the batch
/// has params, sends everything but the params, then each param alone. Returns what was
/// still lost, with how many values each error covers. A param refused because the run
/// already has another value for it is reported as [`Error::ParamChanged`].
pub(crate) async fn after_refusal(
    store: &Arc<dyn Store>,
    run_id: &str,
    batch: &Batch,
    refusal: Error,
) -> Vec<(usize, Error)> {
    let is_bad_request = matches!(&refusal, Error::Api { status: 400, .. });
    if !is_bad_request || batch.params.is_empty() || batch.len() == 1 {
        return vec![(batch.len(), refusal)];
    }
    let mut lost = Vec::new();
    let rest = Batch {
        metrics: batch.metrics.clone(),
        params: Vec::new(),
        tags: batch.tags.clone(),
    };
    if !rest.is_empty()
        && let Err(e) = store.log_batch(run_id, &rest).await
    {
        lost.push((rest.len(), e));
    }
    let mut stored: Option<Vec<Param>> = None;
    for param in &batch.params {
        let single = Batch {
            params: vec![param.clone()],
            ..Batch::default()
        };
        let Err(e) = store.log_batch(run_id, &single).await else {
            continue;
        };
        if stored.is_none() {
            stored = Some(
                store
                    .get_run(run_id)
                    .await
                    .map(|r| r.params)
                    .unwrap_or_default(),
            );
        }
        let old = stored
            .as_ref()
            .and_then(|ps| ps.iter().find(|p| p.key == param.key))
            .map(|p| p.value.clone());
        let e = match old {
            Some(old) if old != param.value => Error::ParamChanged {
                key: param.key.clone(),
                old,
                new: param.value.clone(),
            },
            _ => e,
        };
        lost.push((1, e));
    }
    lost
}
