//! Outages: what cannot be delivered goes to the spill file, the store is probed every
//! `PROBE_INTERVAL` (2 s of tokio's clock), and the spill is replayed in order once it
//! answers; a lost create answer is found again by the run's create key.

use super::*;
use crate::base::system::CREATE_KEY_TAG;
use crate::sender::spill::SpillOp;

/// The kind of each spilled operation, with its run's name.
fn kinds(ops: &[SpillOp]) -> Vec<String> {
    ops.iter()
        .map(|op| match op {
            SpillOp::CreateRun { run_name, .. } => format!("create {run_name}"),
            SpillOp::LogBatch { run_name, .. } => format!("log {run_name}"),
            SpillOp::UpdateRun { run_name, .. } => format!("end {run_name}"),
        })
        .collect()
}

/// The kind of each call that took effect, with its run's name (looked up by id).
fn replayed(store: &MemoryStore, calls: &[Call]) -> Vec<String> {
    let name = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| store.run(id))
            .map(|r| r.info.run_name)
            .unwrap_or_default()
    };
    calls
        .iter()
        .map(|c| match c.op {
            Op::CreateRun => format!("create {}", c.run_name().unwrap_or_default()),
            Op::LogBatch => format!("log {}", name(&c.run_id)),
            Op::UpdateRun => format!("end {}", name(&c.run_id)),
            other => format!("{other:?}"),
        })
        .collect()
}

async fn outage_in_the_middle(concurrency: usize) {
    let mut h = Harness::concurrent(concurrency);
    let first = h.start("first");
    h.metric(&first, "m", 0.0, 0);
    h.flush_ok().await;

    h.store.start_outage();
    h.metric(&first, "m", 1.0, 1);
    h.metric(&first, "m", 2.0, 2);
    let second = h.child(&first, "second");
    h.metric(&second, "m", 0.0, 0);
    h.param(&second, "lr", "0.1");
    let third = h.child(&second, "third");
    h.metric(&third, "m", 0.0, 0);
    for run in [&third, &second, &first] {
        h.end(run);
    }
    let failures = h.flush().await;
    match &failures[..] {
        // 8 lines: 2 creates, 3 batches (5 values), 3 ends.
        [Error::Spilled { lines, count, .. }] => {
            assert_eq!((*lines, *count), (8, 10), "{failures:#?}")
        }
        _ => panic!("{concurrency}: {failures:#?}"),
    }
    let spilled = h.spilled();
    assert_eq!(
        kinds(&spilled),
        [
            "create second",
            "create third",
            "log second",
            "end second",
            "log third",
            "end third",
            "log first",
            "end first",
        ],
        "{concurrency}"
    );
    assert_eq!(h.store.runs().len(), 1, "nothing reached the store");
    assert_eq!(h.store.points(&id(&first)).len(), 1);
    assert!(
        second.wait_id().is_err(),
        "a run spilled before it was created has no id"
    );

    // The store comes back; the sender sees it at its next probe, 2 s after the last.
    h.store.end_outage();
    let last_failed_ping = h.store.calls(Op::Ping).last().unwrap().at;
    tokio::time::sleep(Duration::from_millis(1_900)).await;
    assert_eq!(h.store.runs().len(), 1, "not before the probe");
    assert_eq!(h.spill_files().len(), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pings = h.store.calls(Op::Ping);
    let back = pings
        .iter()
        .find(|c| c.outcome.is_ok())
        .expect("a probe that got through");
    assert_eq!(back.at - last_failed_ping, secs(2), "{concurrency}");
    assert!(
        h.spill_files().is_empty(),
        "the spill file is removed once delivered"
    );

    // Replayed in the spill's order, each operation once.
    let after: Vec<Call> = effective(&h.store)
        .into_iter()
        .filter(|c| c.seq > back.seq)
        .collect();
    let mut order = replayed(&h.store, &after);
    order.retain(|op| op != "SearchRuns");
    assert_eq!(order, kinds(&spilled), "{concurrency}");
    assert_eq!(h.store.runs().len(), 3);
    let by_name = |name: &str| {
        let found = h.store.runs_named(name);
        assert_eq!(found.len(), 1, "{name} created once");
        found.into_iter().next().unwrap()
    };
    let (r1, r2, r3) = (by_name("first"), by_name("second"), by_name("third"));
    assert_eq!(r2.parent_run_id(), Some(r1.info.run_id.as_str()));
    assert_eq!(r3.parent_run_id(), Some(r2.info.run_id.as_str()));
    assert_eq!(r2.param("lr"), Some("0.1"));
    // A run spilled before it was created learns its id from the replay.
    assert_eq!(second.wait_id().unwrap(), r2.info.run_id);
    assert_eq!(third.wait_id().unwrap(), r3.info.run_id);
    for (run, n) in [(&r1, 3), (&r2, 1), (&r3, 1)] {
        assert_eq!(run.info.status, RunStatus::Finished);
        assert_eq!(
            h.store.points(&run.info.run_id).len(),
            n,
            "{}",
            run.info.run_name
        );
    }
    let sent: usize = effective(&h.store)
        .iter()
        .filter(|c| c.op == Op::LogBatch)
        .map(|c| c.batch.as_ref().unwrap().metrics.len())
        .sum();
    assert_eq!(sent, 5, "no point sent twice");
    h.flush_ok().await;

    // Back to normal: straight to the store.
    let fourth = h.start("fourth");
    h.metric(&fourth, "m", 0.0, 0);
    h.end(&fourth);
    h.flush_ok().await;
    assert!(h.spill_files().is_empty());
    assert_eq!(
        h.store.run(&id(&fourth)).unwrap().info.status,
        RunStatus::Finished
    );
    h.stop().await;
}

#[test]
fn an_outage_in_the_middle_spills_then_replays_in_order() {
    paused(async {
        outage_in_the_middle(1).await;
    });
}

#[test]
fn an_outage_in_the_middle_spills_then_replays_in_order_with_overlap() {
    paused(async {
        outage_in_the_middle(4).await;
    });
}

#[test]
fn the_store_is_probed_every_interval_while_down() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start("r");
        h.flush_ok().await;
        h.store.start_outage();
        h.metric(&run, "m", 1.0, 0);
        h.end(&run);
        assert_eq!(h.flush().await.len(), 1);
        let pings_before = h.store.count(Op::Ping);
        tokio::time::sleep(secs(21)).await;
        assert_eq!(
            h.store.count(Op::Ping) - pings_before,
            10,
            "one probe every 2 s"
        );
        h.store.end_outage();
        tokio::time::sleep(secs(2)).await;
        assert!(h.spill_files().is_empty());
        assert_eq!(
            h.store.run(&id(&run)).unwrap().info.status,
            RunStatus::Finished
        );
        h.flush_ok().await;
    });
}

#[test]
fn creations_spilled_together_keep_the_order_they_were_started_in() {
    paused(async {
        let mut h = Harness::concurrent(4);
        h.store.start_outage();
        let runs: Vec<_> = (0..4).map(|i| h.start(&format!("r{i}"))).collect();
        for run in &runs {
            h.end(run);
        }
        assert!(matches!(&h.flush().await[..], [Error::Spilled { .. }]));
        let creates: Vec<String> = kinds(&h.spilled())
            .into_iter()
            .filter(|k| k.starts_with("create"))
            .collect();
        assert_eq!(
            creates,
            ["create r0", "create r1", "create r2", "create r3"]
        );
        h.store.end_outage();
        h.flush_ok().await;
        let names: Vec<String> = created_names(&h.store).split_off(4);
        assert_eq!(names, ["r0", "r1", "r2", "r3"], "replayed in order");
        assert_eq!(h.store.runs().len(), 4);
    });
}

#[test]
fn a_lost_create_answer_is_found_by_its_create_key_not_created_twice() {
    paused(async {
        for concurrency in [1, 4] {
            let mut h = Harness::concurrent(concurrency);
            h.store.lose_answers(Op::CreateRun, 1);
            let run = h.start("once");
            h.metric(&run, "m", 1.0, 0);
            h.param(&run, "p", "v");
            h.end(&run);
            // The flush probes the store, finds it answering, and replays the spill.
            h.flush_ok().await;
            let runs = h.store.runs_named("once");
            assert_eq!(runs.len(), 1, "{concurrency}: created once");
            let stored = &runs[0];
            assert_eq!(stored.info.status, RunStatus::Finished);
            assert_eq!(stored.param("p"), Some("v"));
            assert_eq!(h.store.points(&stored.info.run_id).len(), 1);
            assert_eq!(
                h.store.count(Op::CreateRun),
                1,
                "the replay did not create it again"
            );
            let search = &h.store.calls(Op::SearchRuns)[0];
            let key = stored.tag(CREATE_KEY_TAG).unwrap();
            assert!(
                search.filter.as_deref().unwrap().contains(key),
                "{search:#?}"
            );
            assert!(h.spill_files().is_empty());
            h.stop().await;
        }
    });
}

#[test]
fn an_overloaded_answer_to_a_batch_is_spilled_and_delivered_at_the_flush() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start("r");
        h.flush_ok().await;
        h.store.fail(
            Op::LogBatch,
            1,
            Error::api(503, "TEMPORARILY_UNAVAILABLE", "busy"),
        );
        h.metric(&run, "m", 1.0, 0);
        h.param(&run, "p", "v");
        h.end(&run);
        h.flush_ok().await;
        let stored = h.store.run(&id(&run)).unwrap();
        assert_eq!(
            (stored.param("p"), stored.info.status),
            (Some("v"), RunStatus::Finished)
        );
        assert_eq!(h.store.points(&id(&run)).len(), 1);
        assert!(h.spill_files().is_empty());
    });
}
