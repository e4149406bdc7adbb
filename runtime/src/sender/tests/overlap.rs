//! Several requests under way (`max_concurrent` > 1): runs created in waves, parents before
//! children, runs queued during a create joining the next wave; ends side by side, each
//! run's data before its status. Every create (or batch, or update) takes 1 s of tokio's
//! clock, so the journal's arrival times show which requests went together.

use super::*;
use crate::store::memory::ALWAYS;

/// The arrival time of each named run's `runs/create`.
fn create_times(store: &MemoryStore) -> Vec<(String, Duration)> {
    store
        .calls(Op::CreateRun)
        .into_iter()
        .map(|c| (c.run_name().unwrap().to_owned(), c.at))
        .collect()
}

fn at(times: &[(String, Duration)], name: &str) -> Duration {
    times
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no create for {name}: {times:?}"))
        .1
}

#[test]
fn runs_are_created_in_waves_parents_then_children() {
    paused(async {
        let mut h = Harness::concurrent(4);
        h.store.delay(Op::CreateRun, ALWAYS, secs(1));
        let p1 = h.start("p1");
        let p2 = h.start("p2");
        let c1 = h.child(&p1, "c1");
        let c2 = h.child(&p2, "c2");
        let g1 = h.child(&c1, "g1");
        for run in [&p1, &p2, &c1, &c2, &g1] {
            h.metric(run, "m", 1.0, 0);
            h.end(run);
        }
        h.flush_ok().await;
        let times = create_times(&h.store);
        let t0 = at(&times, "p1");
        assert_eq!(at(&times, "p2"), t0, "{times:?}");
        assert_eq!(
            (at(&times, "c1"), at(&times, "c2")),
            (t0 + secs(1), t0 + secs(1)),
            "{times:?}"
        );
        assert_eq!(at(&times, "g1"), t0 + secs(2), "{times:?}");
        assert_eq!(h.store.peak(Op::CreateRun), 2);
        let parent = |run: &Arc<RunSlot>| {
            h.store
                .run(&id(run))
                .unwrap()
                .parent_run_id()
                .map(str::to_owned)
        };
        assert_eq!(
            (parent(&c1), parent(&c2), parent(&g1)),
            (Some(id(&p1)), Some(id(&p2)), Some(id(&c1)))
        );
        assert!(
            h.store
                .runs()
                .iter()
                .all(|r| r.info.status == RunStatus::Finished)
        );
    });
}

#[test]
fn runs_started_during_a_create_go_at_once() {
    paused(async {
        let mut h = Harness::concurrent(4);
        h.store.delay(Op::CreateRun, ALWAYS, secs(1));
        let gate = h.store.pause(Op::CreateRun);
        let p1 = h.start("p1");
        let c1 = h.child(&p1, "c1");
        gate.arrived(1).await;
        tokio::time::sleep(secs(10)).await;
        assert_eq!(gate.waiting(), 1, "the child waits for its parent");
        // Started while p1's create is under way: p2 goes beside c1, c2 after p2.
        let p2 = h.start("p2");
        let c2 = h.child(&p2, "c2");
        gate.open();
        for run in [&c1, &c2, &p1, &p2] {
            h.end(run);
        }
        h.flush_ok().await;
        let times = create_times(&h.store);
        // p1 waited 10 s at the gate, then took 1 s; p2 went as soon as it was started,
        // beside p1's create, and each child right after its parent's answer.
        let started = at(&times, "p1");
        assert_eq!(
            at(&times, "p2"),
            started + secs(10),
            "p2 did not wait for p1: {times:?}"
        );
        assert_eq!(at(&times, "c1"), started + secs(11), "{times:?}");
        assert_eq!(at(&times, "c2"), started + secs(11), "{times:?}");
        let parent = |run: &Arc<RunSlot>| {
            h.store
                .run(&id(run))
                .unwrap()
                .parent_run_id()
                .map(str::to_owned)
        };
        assert_eq!((parent(&c1), parent(&c2)), (Some(id(&p1)), Some(id(&p2))));
    });
}

#[test]
fn ends_of_several_runs_are_stored_side_by_side_data_before_status() {
    paused(async {
        let mut h = Harness::concurrent(4);
        let runs: Vec<_> = (0..3).map(|i| h.start(&format!("r{i}"))).collect();
        h.flush_ok().await;
        h.store.delay(Op::LogBatch, ALWAYS, secs(1));
        h.store.delay(Op::UpdateRun, ALWAYS, secs(1));
        for run in &runs {
            h.metric(run, "m", 1.0, 0);
            h.end(run);
        }
        let before = tokio::time::Instant::now();
        h.flush_ok().await;
        assert_eq!(
            before.elapsed(),
            secs(2),
            "batches together, then updates together"
        );
        assert_eq!(h.store.peak(Op::UpdateRun), 3);
        for run in &runs {
            let batch = &calls_for(&h.store, Op::LogBatch, &id(run))[0];
            let update = &calls_for(&h.store, Op::UpdateRun, &id(run))[0];
            assert!(
                update.at >= batch.done_at.unwrap(),
                "{batch:#?} {update:#?}"
            );
            assert_eq!(
                h.store.run(&id(run)).unwrap().info.status,
                RunStatus::Finished
            );
        }
    });
}

#[test]
fn a_runs_status_waits_for_all_its_pieces() {
    paused(async {
        let store = MemoryStore::new();
        store.set_max_concurrent(4);
        store.set_max_in_flight(4);
        store.set_limits(crate::store::BatchLimits {
            metrics: 10,
            params: 10,
            tags: 10,
            entities: 10,
        });
        let mut h = Harness::new(store);
        let run = h.start("r");
        h.flush_ok().await;
        // Pieces of different speeds: the status must still come after the slowest.
        h.store.delay(Op::LogBatch, 1, secs(7));
        h.store.delay(Op::LogBatch, ALWAYS, secs(1));
        h.log(&run, metrics(points("m", 50)));
        h.end(&run);
        h.flush_ok().await;
        let batches = calls_for(&h.store, Op::LogBatch, &id(&run));
        assert_eq!(batches.len(), 5);
        let last_done = batches.iter().filter_map(|c| c.done_at).max().unwrap();
        let update = &calls_for(&h.store, Op::UpdateRun, &id(&run))[0];
        assert!(update.at >= last_done, "{update:#?} before {last_done:?}");
    });
}

#[test]
fn the_bound_holds_across_runs() {
    paused(async {
        let store = MemoryStore::new();
        store.set_max_concurrent(2);
        store.set_max_in_flight(4);
        store.set_limits(crate::store::BatchLimits {
            metrics: 10,
            params: 10,
            tags: 10,
            entities: 10,
        });
        let mut h = Harness::new(store);
        let runs: Vec<_> = (0..4).map(|i| h.start(&format!("r{i}"))).collect();
        h.flush_ok().await;
        h.store.clear_journal();
        h.store.delay(Op::LogBatch, ALWAYS, secs(1));
        h.store.delay(Op::UpdateRun, ALWAYS, secs(1));
        for run in &runs {
            h.log(run, metrics(points("m", 30)));
            h.end(run);
        }
        h.flush_ok().await;
        assert_eq!(h.store.peak_all(), 2, "never more than the store's bound");
        assert_eq!(h.store.count(Op::LogBatch), 12);
        assert!(
            h.store
                .runs()
                .iter()
                .all(|r| r.info.status == RunStatus::Finished)
        );
    });
}

/// The bound follows what the store says while a segment is under way (the REST store
/// raises it once the first answers put the server far away): runs already waiting for
/// their turn go as soon as it grows.
#[test]
fn the_bound_follows_the_store_while_requests_are_under_way() {
    paused(async {
        let store = MemoryStore::new();
        store.set_max_concurrent(2);
        let mut h = Harness::new(store);
        h.store.delay(Op::CreateRun, ALWAYS, secs(1));
        let gate = h.store.pause_next(Op::CreateRun, 2);
        let runs: Vec<_> = (0..8).map(|i| h.start(&format!("r{i}"))).collect();
        gate.arrived(2).await;
        tokio::time::sleep(secs(5)).await;
        assert_eq!(gate.arrivals(), 2, "two at a time while the store says two");
        // The store learns it is far away: eight at once from the next answer on.
        h.store.set_max_concurrent(8);
        gate.open();
        h.flush_ok().await;
        assert_eq!(h.store.count(Op::CreateRun), 8);
        let times = create_times(&h.store);
        let first = at(&times, "r0");
        // r0 and r1 answered at 6 s; the six others all went then, side by side.
        for run in &runs[2..] {
            assert_eq!(at(&times, &run.name), first + secs(6), "{times:?}");
        }
    });
}
