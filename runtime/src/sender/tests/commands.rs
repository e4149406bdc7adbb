//! The other commands and the sender's end: a query after what was logged before it, a
//! failure kept for the flush, an end with an error message, logging to a run that ended,
//! and the pending data stored when the queue closes.

use super::*;

#[test]
fn a_query_sees_everything_logged_before_it() {
    for concurrency in [1, 4] {
        paused(async {
            let mut h = Harness::concurrent(concurrency);
            let run = h.start("r");
            h.metric(&run, "m", 4.0, 0);
            let (reply, answer) = flume::bounded(1);
            let slot = run.clone();
            h.send(Command::Call(Box::new(move |ctx| {
                Box::pin(async move {
                    let id = slot.known_id().unwrap();
                    let run = ctx.get().unwrap().get_run(&id).await;
                    let _ = reply.send(run.map(|r| r.metric("m")));
                })
            })));
            assert_eq!(answer.recv_async().await.unwrap().unwrap(), Some(4.0));
            h.flush_ok().await;
        });
    }
}

#[test]
fn a_failure_sent_by_a_caller_is_reported_by_the_next_flush_only() {
    paused(async {
        let h = Harness::new(MemoryStore::new());
        h.send(Command::Failed(Error::Config("from the caller".into())));
        let failures = h.flush().await;
        assert!(matches!(&failures[..], [Error::Config(m)] if m == "from the caller"));
        h.flush_ok().await;
    });
}

#[test]
fn an_end_with_an_error_stores_it_as_a_tag() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start("r");
        h.send(Command::End {
            run: run.clone(),
            status: RunStatus::Failed,
            end_time: 42,
            error: Some("it broke".into()),
        });
        h.flush_ok().await;
        let stored = h.store.run(&id(&run)).unwrap();
        assert_eq!(stored.tag("error"), Some("it broke"));
        assert_eq!(
            (stored.info.status, stored.info.end_time),
            (RunStatus::Failed, Some(42))
        );
        let update = &h.store.calls(Op::UpdateRun)[0];
        assert!(
            update.seq > h.store.calls(Op::LogBatch)[0].seq,
            "the tag before the status"
        );
    });
}

#[test]
fn values_logged_after_a_run_ended_are_still_stored_after_its_end() {
    for concurrency in [1, 4] {
        paused(async {
            let mut h = Harness::concurrent(concurrency);
            let run = h.start("r");
            h.metric(&run, "m", 1.0, 0);
            h.end(&run);
            h.metric(&run, "late", 2.0, 0);
            h.end_with(&run, RunStatus::Killed);
            h.flush_ok().await;
            let stored = h.store.run(&id(&run)).unwrap();
            assert_eq!(
                (stored.metric("m"), stored.metric("late")),
                (Some(1.0), Some(2.0))
            );
            assert_eq!(
                stored.info.status,
                RunStatus::Killed,
                "{concurrency}: the last end wins"
            );
            let ops: Vec<Op> = effective(&h.store).iter().map(|c| c.op).collect();
            assert_eq!(
                ops,
                [
                    Op::CreateRun,
                    Op::LogBatch,
                    Op::UpdateRun,
                    Op::LogBatch,
                    Op::UpdateRun
                ],
                "{concurrency}"
            );
        });
    }
}

#[test]
fn pending_values_are_stored_when_the_queue_closes() {
    paused(async {
        let mut h = Harness::concurrent(4);
        let run = h.start("r");
        h.metric(&run, "m", 1.0, 0);
        h.flush_ok().await;
        h.store.delay(Op::LogBatch, 1, secs(5));
        for step in 1..10 {
            h.metric(&run, "m", 1.0, step);
        }
        let store = h.store.clone();
        h.stop().await;
        assert_eq!(store.points(&id(&run)).len(), 10);
    });
}
