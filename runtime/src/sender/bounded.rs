//! Requests under way together, up to a bound: what the sender's overlapping phases share.

use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream;

/// Runs `futures`, up to `limit` at once, starting the next as soon as any finishes (not
/// only the oldest: a slow request must not hold back the others' slots); the outputs come
/// back in the order of `futures`.
pub(super) async fn bounded<F: Future>(
    futures: impl IntoIterator<Item = F>,
    limit: usize,
) -> Vec<F::Output> {
    let mut outputs: Vec<(usize, F::Output)> = stream::iter(
        futures
            .into_iter()
            .enumerate()
            .map(|(i, f)| async move { (i, f.await) }),
    )
    .buffer_unordered(limit.max(1))
    .collect()
    .await;
    outputs.sort_unstable_by_key(|(i, _)| *i);
    outputs.into_iter().map(|(_, o)| o).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use tokio::sync::Semaphore;

    use super::bounded;

    #[test]
    fn outputs_keep_their_order_and_a_slow_one_holds_only_its_own_slot() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let others_done = Semaphore::new(0);
        let (now, most, others_done) = (&now, &most, &others_done);
        // The first finishes only after the nine others: they must pass it, in the two
        // slots beside it (an in-order buffer would never start the fourth).
        let all = bounded(
            (0..10u32).map(|i| async move {
                let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(n, Ordering::SeqCst);
                if i == 0 {
                    others_done.acquire_many(9).await.unwrap().forget();
                } else {
                    tokio::task::yield_now().await;
                    others_done.add_permits(1);
                }
                now.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }),
            3,
        );
        let outputs = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(60), all).await })
            .expect("the others passed the first");
        assert_eq!(outputs, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }
}
