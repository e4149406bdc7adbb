//! What the store refuses: only the refused values are lost and reported (a changed param
//! as `Error::ParamChanged`); a run whose creation is refused does not affect the others;
//! a store that fails to open reports every run.

use super::*;

fn api_code(e: &Error) -> Option<(u16, &str)> {
    match e {
        Error::Api {
            status, error_code, ..
        } => Some((*status, error_code.as_str())),
        _ => None,
    }
}

#[test]
fn a_changed_param_is_isolated_and_the_rest_of_the_batch_stored() {
    paused(async {
        for concurrency in [1, 4] {
            let mut h = Harness::concurrent(concurrency);
            let run = h.start("r");
            h.param(&run, "lr", "0.1");
            h.flush_ok().await;
            h.param(&run, "lr", "0.2");
            h.param(&run, "bs", "32");
            h.metric(&run, "m", 1.0, 0);
            h.tag(&run, "t", "x");
            h.end(&run);
            let failures = h.flush().await;
            match &failures[..] {
                [
                    Error::Undelivered {
                        count: 1, source, ..
                    },
                ] => match &**source {
                    Error::ParamChanged { key, old, new } => {
                        assert_eq!(
                            (key.as_str(), old.as_str(), new.as_str()),
                            ("lr", "0.1", "0.2")
                        )
                    }
                    other => panic!("{concurrency}: {other:?}"),
                },
                _ => panic!("{concurrency}: {failures:#?}"),
            }
            let stored = h.store.run(&id(&run)).unwrap();
            assert_eq!(stored.param("lr"), Some("0.1"));
            assert_eq!(stored.param("bs"), Some("32"));
            assert_eq!(
                (stored.metric("m"), stored.tag("t")),
                (Some(1.0), Some("x"))
            );
            assert_eq!(stored.info.status, RunStatus::Finished);
            // The refusal is the store's, and `bs` went through once.
            let calls = h.store.calls(Op::LogBatch);
            assert!(
                calls
                    .iter()
                    .any(|c| matches!(c.outcome, crate::store::memory::CallOutcome::Refused(_)))
            );
            let bs_stored = calls
                .iter()
                .filter(|c| {
                    c.outcome.is_ok()
                        && c.batch
                            .as_ref()
                            .unwrap()
                            .params
                            .iter()
                            .any(|p| p.key == "bs")
                })
                .count();
            assert_eq!(bs_stored, 1, "{concurrency}: {calls:#?}");
            h.flush_ok().await;
        }
    });
}

#[test]
fn a_refused_run_creation_does_not_affect_other_runs() {
    paused(async {
        for concurrency in [1, 4] {
            let mut h = Harness::concurrent(concurrency);
            h.store.fail(
                Op::CreateRun,
                1,
                Error::api(403, "PERMISSION_DENIED", "not yours"),
            );
            let bad = h.start("bad");
            let good = h.start("good");
            for run in [&bad, &good] {
                h.metric(run, "m", 1.0, 0);
                h.end(run);
            }
            let failures = h.flush().await;
            assert_eq!(failures.len(), 2, "{concurrency}: {failures:#?}");
            assert!(
                matches!(&failures[0], Error::RunNotCreated { run_name, source }
            if run_name == "bad" && api_code(source) == Some((403, "PERMISSION_DENIED")))
            );
            assert!(
                matches!(&failures[1], Error::Undelivered { run, count: 1, .. } if run == "bad")
            );
            assert!(matches!(bad.wait_id(), Err(Error::RunNotCreated { .. })));
            let stored = h.store.run(&id(&good)).unwrap();
            assert_eq!(
                (stored.metric("m"), stored.info.status),
                (Some(1.0), RunStatus::Finished)
            );
            assert_eq!(h.store.runs().len(), 1);
            assert!(h.spill_files().is_empty(), "a refusal is no outage");
            h.flush_ok().await;
        }
    });
}

#[test]
fn a_run_in_a_missing_experiment_is_not_created() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start_in("lost", None, ExperimentSel::Id("42".into()));
        let failures = h.flush().await;
        assert!(
            matches!(&failures[..], [Error::RunNotCreated { source, .. }]
        if api_code(source) == Some((404, "RESOURCE_DOES_NOT_EXIST"))),
            "{failures:#?}"
        );
        assert!(run.wait_id().is_err());
    });
}

/// A child of a run whose creation was refused is created anyway: outside its parent's tree
/// (no `mlflow.parentRunId`) and in the Default experiment, and nothing reports it. The
/// sender has an error for this case ("its parent run ... was not created"), but reaches it
/// only when the parent's experiment is known; a refused parent has none.
#[test]
fn a_child_of_a_refused_run_is_refused_too() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let parent = h.start_in("parent", None, ExperimentSel::Id("42".into()));
        let child = h.child(&parent, "child");
        h.end(&child);
        h.end(&parent);
        let failures = h.flush().await;
        assert!(
            failures
                .iter()
                .any(|e| matches!(e, Error::RunNotCreated { run_name, .. } if run_name == "child")),
            "{failures:#?}"
        );
        assert!(
            h.store.runs_named("child").is_empty(),
            "{:#?}",
            h.store.runs()
        );
    });
}

#[test]
fn a_refused_batch_without_params_is_reported_with_its_count() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start("r");
        h.flush_ok().await;
        h.store.fail(
            Op::LogBatch,
            1,
            Error::api(400, "INVALID_PARAMETER_VALUE", "no"),
        );
        h.log(&run, metrics(points("m", 5)));
        let failures = h.flush().await;
        assert!(
            matches!(&failures[..], [Error::Undelivered { count: 5, .. }]),
            "{failures:#?}"
        );
        h.metric(&run, "m", 9.0, 9);
        h.store.fail(
            Op::UpdateRun,
            1,
            Error::api(404, "RESOURCE_DOES_NOT_EXIST", "gone"),
        );
        h.end(&run);
        let failures = h.flush().await;
        assert!(
            matches!(&failures[..], [Error::Undelivered { count: 1, source, .. }]
        if api_code(source) == Some((404, "RESOURCE_DOES_NOT_EXIST"))),
            "{failures:#?}"
        );
        assert_eq!(
            h.store.points(&id(&run)).len(),
            1,
            "later values still stored"
        );
        assert!(h.spill_files().is_empty());
    });
}

#[test]
fn a_store_that_failed_to_open_reports_every_run() {
    paused(async {
        let mut h = Harness::unopened(Error::Config("cannot open the store".into()));
        let run = h.start("r");
        h.metric(&run, "m", 1.0, 0);
        h.end(&run);
        let failures = h.flush().await;
        assert!(
            matches!(&failures[0], Error::RunNotCreated { run_name, source }
        if run_name == "r" && matches!(**source, Error::Config(ref m) if m == "cannot open the store")),
            "{failures:#?}"
        );
        assert!(matches!(&failures[1], Error::Undelivered { count: 1, .. }));
        assert_eq!(failures.len(), 2);
        assert!(matches!(run.wait_id(), Err(Error::RunNotCreated { .. })));
        // A query gets the same error.
        let (reply, answer) = flume::bounded(1);
        h.send(Command::Call(Box::new(move |ctx| {
            Box::pin(async move {
                let _ = reply.send(ctx.get().err().map(|e| e.to_string()));
            })
        })));
        let seen = answer.recv_async().await.unwrap();
        assert_eq!(
            seen.as_deref(),
            Some("configuration error: cannot open the store")
        );
        h.stop().await;
    });
}
