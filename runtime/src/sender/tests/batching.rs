//! Logged values: merged into few requests, cut to the store's limits, in order; metric
//! pieces of one run under way together up to the store's bound.

use super::*;
use crate::store::BatchLimits;
use crate::store::memory::ALWAYS;

#[test]
fn logs_are_merged_and_cut_to_the_limits() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start("r");
        h.flush_ok().await;
        for step in 0..2_500 {
            h.metric(&run, "loss", step as f64, step);
        }
        h.end(&run);
        h.flush_ok().await;
        let sizes: Vec<usize> = calls_for(&h.store, Op::LogBatch, &id(&run))
            .iter()
            .map(Call::batch_len)
            .collect();
        assert_eq!(
            sizes,
            [1_000, 1_000, 500],
            "2,500 calls in the fewest requests"
        );
        let steps: Vec<i64> = h.store.points(&id(&run)).iter().map(|m| m.step).collect();
        assert_eq!(
            steps,
            (0..2_500).collect::<Vec<_>>(),
            "every point once, in order"
        );
    });
}

#[test]
fn params_and_tags_are_cut_to_their_limits_and_keep_their_order() {
    paused(async {
        let store = MemoryStore::new();
        store.set_limits(BatchLimits {
            metrics: 10,
            params: 3,
            tags: 3,
            entities: 10,
        });
        let mut h = Harness::new(store);
        let run = h.start("r");
        h.flush_ok().await;
        for i in 0..8 {
            h.param(&run, &format!("p{i}"), &i.to_string());
        }
        for i in 0..5 {
            h.tag(&run, &format!("t{i}"), "x");
        }
        for step in 0..12 {
            h.metric(&run, "m", 0.5, step);
        }
        h.end(&run);
        h.flush_ok().await;
        let batches = sent_batches(&h.store, &id(&run));
        assert_cut(&batches);
        let keys: Vec<String> = h
            .store
            .params_in_order(&id(&run))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            (0..8).map(|i| format!("p{i}")).collect::<Vec<_>>(),
            "stored in the order logged"
        );

        // The same values in one call: as few requests as the params allow (3 a request).
        let other = h.start("other");
        h.flush_ok().await;
        let numbered: Vec<(String, String)> =
            (0..8).map(|i| (format!("p{i}"), i.to_string())).collect();
        let pairs: Vec<(&str, &str)> = numbered
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut batch = params(&pairs);
        batch.extend(tags(&[
            ("t0", "x"),
            ("t1", "x"),
            ("t2", "x"),
            ("t3", "x"),
            ("t4", "x"),
        ]));
        batch.metrics = points("m", 12);
        h.log(&other, batch);
        h.flush_ok().await;
        let batches = sent_batches(&h.store, &id(&other));
        assert_cut(&batches);
        assert_eq!(batches.len(), 3);
    });
}

fn sent_batches(store: &MemoryStore, run_id: &str) -> Vec<Batch> {
    calls_for(store, Op::LogBatch, run_id)
        .into_iter()
        .map(|c| c.batch.unwrap())
        .collect()
}

/// Every piece within the limits (3 params, 3 tags, 10 metrics, 10 in all); the params
/// `p0..p7`, tags `t0..t4` and metric steps `0..12` sent once each, in order.
fn assert_cut(batches: &[Batch]) {
    for b in batches {
        assert!(
            b.params.len() <= 3 && b.tags.len() <= 3 && b.metrics.len() <= 10,
            "{b:?}"
        );
        assert!(b.len() <= 10, "{b:?}");
    }
    let sent_params: Vec<String> = batches
        .iter()
        .flat_map(|b| b.params.iter().map(|p| p.key.clone()))
        .collect();
    let sent_tags: Vec<String> = batches
        .iter()
        .flat_map(|b| b.tags.iter().map(|t| t.key.clone()))
        .collect();
    let sent_steps: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.metrics.iter().map(|m| m.step))
        .collect();
    assert_eq!(
        sent_params,
        (0..8).map(|i| format!("p{i}")).collect::<Vec<_>>()
    );
    assert_eq!(
        sent_tags,
        (0..5).map(|i| format!("t{i}")).collect::<Vec<_>>()
    );
    assert_eq!(sent_steps, (0..12).collect::<Vec<_>>());
}

#[test]
fn a_later_tag_and_param_never_overtake_an_earlier_slow_request() {
    paused(async {
        let store = MemoryStore::new();
        store.set_limits(BatchLimits {
            metrics: 10,
            params: 10,
            tags: 10,
            entities: 10,
        });
        store.set_max_in_flight(4);
        store.set_max_concurrent(4);
        let mut h = Harness::new(store);
        let run = h.start("r");
        h.flush_ok().await;
        // The first request (the one with the first tag value) is slow.
        h.store.delay(Op::LogBatch, 1, secs(5));
        for round in 0..3 {
            h.tag(&run, "phase", &format!("v{round}"));
            h.param(&run, &format!("p{round}"), "x");
            // Enough points for the run's pending values to be sent on their own.
            for step in 0..200 {
                h.metric(&run, "m", round as f64, round * 1_000 + step);
            }
            // The sender takes each round in: the later ones while the first is under way.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        h.end(&run);
        h.flush_ok().await;
        let stored = h.store.run(&id(&run)).unwrap();
        assert_eq!(stored.tag("phase"), Some("v2"), "last write wins");
        let keys: Vec<String> = h
            .store
            .params_in_order(&id(&run))
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["p0", "p1", "p2"]);
        assert_eq!(h.store.points(&id(&run)).len(), 600);
        // Each piece with a tag arrived after the one before it was answered.
        let tagged: Vec<Call> = calls_for(&h.store, Op::LogBatch, &id(&run))
            .into_iter()
            .filter(|c| !c.batch.as_ref().unwrap().tags.is_empty())
            .collect();
        // The first round's, then one for the rounds that came while it was under way
        // (merged: the tag's last value).
        assert_eq!(tagged.len(), 2, "{tagged:#?}");
        for pair in tagged.windows(2) {
            assert!(pair[1].at >= pair[0].done_at.unwrap(), "{pair:#?}");
        }
    });
}

#[test]
fn metric_pieces_are_in_flight_together_up_to_the_bound() {
    paused(async {
        let store = MemoryStore::new();
        store.set_limits(BatchLimits {
            metrics: 10,
            params: 10,
            tags: 10,
            entities: 10,
        });
        store.set_max_in_flight(4);
        let mut h = Harness::new(store);
        let run = h.start("r");
        h.flush_ok().await;
        let gate = h.store.pause(Op::LogBatch);
        for step in 0..100 {
            h.metric(&run, "m", 1.0, step);
        }
        gate.arrived(4).await;
        // Whatever else could run has run: still four.
        tokio::time::sleep(secs(1)).await;
        assert_eq!((gate.arrivals(), gate.waiting()), (4, 4));
        gate.open();
        h.flush_ok().await;
        assert_eq!(h.store.count(Op::LogBatch), 10);
        assert_eq!(h.store.peak(Op::LogBatch), 4);
        assert_eq!(h.store.points(&id(&run)).len(), 100);

        // A piece with params goes alone: no metric piece passes it.
        h.store.clear_faults();
        let gate = h.store.pause_next(Op::LogBatch, 1);
        let mut batch = params(&[("lr", "0.1")]);
        batch.metrics = points("n", 29);
        h.log(&run, batch);
        gate.arrived(1).await;
        tokio::time::sleep(secs(1)).await;
        assert_eq!(h.store.count(Op::LogBatch), 11, "the param piece alone");
        gate.open();
        h.flush_ok().await;
        let last: Vec<Call> = h.store.calls(Op::LogBatch).split_off(10);
        assert_eq!(last.len(), 3);
        assert_eq!(last[0].batch.as_ref().unwrap().params.len(), 1);
        assert!(last[1].at >= last[0].done_at.unwrap());
    });
}

#[test]
fn pending_batches_of_several_runs_go_out_together() {
    paused(async {
        for (concurrency, together) in [(1, 1), (3, 3)] {
            let mut h = Harness::concurrent(concurrency);
            let runs: Vec<_> = (0..3).map(|i| h.start(&format!("r{i}"))).collect();
            h.flush_ok().await;
            h.store.delay(Op::LogBatch, ALWAYS, secs(1));
            for run in &runs {
                h.metric(run, "m", 1.0, 0);
            }
            let before = tokio::time::Instant::now();
            h.flush_ok().await;
            assert_eq!(h.store.peak(Op::LogBatch), together, "{concurrency}");
            let took = before.elapsed();
            assert_eq!(took, secs(3 / together as u64), "{concurrency}");
        }
    });
}
