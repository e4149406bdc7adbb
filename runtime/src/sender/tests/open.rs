//! `memory://<name>` through the sender's own thread (`sender::spawn`, as a tracker starts
//! it): the registered store is opened, on a paused clock; an unknown name fails to open.

use std::time::Instant;

use super::*;
use crate::base::config::TrackingUri;
use crate::sender::spawn;

/// A started run and its commands, sent from a plain thread as callers do.
fn start_command(name: &str) -> (Arc<RunSlot>, Command) {
    let run = Arc::new(RunSlot::new(1, name.to_owned(), None));
    let spec = StartSpec {
        name: name.to_owned(),
        name_given: true,
        client_id: None,
        resume: None,
        user_tags: Vec::new(),
        parent: None,
        experiment: ExperimentSel::Default,
        start_time: 1,
    };
    (run.clone(), Command::Start { run, spec })
}

fn flush(tx: &flume::Sender<Command>) -> Vec<Error> {
    let (reply, answer) = flume::bounded(1);
    tx.send(Command::Flush(reply)).unwrap();
    answer
        .recv_timeout(Duration::from_secs(30))
        .expect("the sender answers")
}

#[test]
fn a_memory_uri_opens_the_registered_store_on_a_paused_clock() {
    let store = MemoryStore::register("sender-tests-open-paused");
    // An hour per create: no wall time on the sender's paused clock.
    store.delay(Op::CreateRun, 1, Duration::from_secs(3_600));
    let (tx, rx) = flume::bounded(16);
    let uri = TrackingUri::parse("memory://sender-tests-open-paused");
    let began = Instant::now();
    spawn(uri, rx);
    let (run, start) = start_command("through-the-uri");
    tx.send(start).unwrap();
    tx.send(Command::Log {
        run: run.clone(),
        batch: params(&[("k", "v")]),
    })
    .unwrap();
    tx.send(Command::End {
        run: run.clone(),
        status: RunStatus::Finished,
        end_time: 2,
        error: None,
    })
    .unwrap();
    assert!(flush(&tx).is_empty());
    assert!(
        began.elapsed() < Duration::from_secs(20),
        "{:?}",
        began.elapsed()
    );
    let stored = store.run(&run.wait_id().unwrap()).unwrap();
    assert_eq!(
        (stored.param("k"), stored.info.status),
        (Some("v"), RunStatus::Finished)
    );
    let create = &store.calls(Op::CreateRun)[0];
    assert_eq!(
        create.done_at.unwrap() - create.at,
        Duration::from_secs(3_600)
    );
    MemoryStore::unregister("sender-tests-open-paused");
}

#[test]
fn a_memory_uri_naming_no_store_fails_to_open() {
    let (tx, rx) = flume::bounded(16);
    spawn(
        TrackingUri::parse("memory://sender-tests-never-registered"),
        rx,
    );
    let (run, start) = start_command("r");
    tx.send(start).unwrap();
    let failures = flush(&tx);
    assert!(
        matches!(&failures[..], [Error::RunNotCreated { source, .. }]
            if matches!(**source, Error::Config(ref m) if m.contains("sender-tests-never-registered"))),
        "{failures:#?}"
    );
    assert!(run.wait_id().is_err());
}
