//! Creating runs: before their data, children after their parents, the tags logged right
//! after a start on the create request, the experiments runs go to.

use super::*;
use crate::base::model::{CreateRun, NOTE_TAG, PARENT_RUN_ID_TAG, RunUpdate};
use crate::base::system::CREATE_KEY_TAG;

#[test]
fn a_run_is_created_before_its_data_and_ended_after_it() {
    paused(async {
        for concurrency in [1, 4] {
            let mut h = Harness::concurrent(concurrency);
            let run = h.start("trial");
            for step in 0..3 {
                h.metric(&run, "loss", 1.0 / (step + 1) as f64, step);
            }
            h.param(&run, "lr", "0.1");
            h.end(&run);
            h.flush_ok().await;

            let id = id(&run);
            let ops: Vec<Op> = effective(&h.store).iter().map(|c| c.op).collect();
            assert_eq!(
                ops,
                [Op::CreateRun, Op::LogBatch, Op::UpdateRun],
                "{concurrency}"
            );
            let stored = h.store.run(&id).unwrap();
            assert_eq!(stored.info.run_name, "trial");
            assert_eq!(stored.info.experiment_id, "0");
            assert_eq!(stored.info.status, RunStatus::Finished);
            assert!(stored.info.end_time.is_some());
            assert_eq!(stored.param("lr"), Some("0.1"));
            assert_eq!(h.store.points(&id).len(), 3);
            assert_eq!(stored.metric("loss"), Some(1.0 / 3.0));
            h.stop().await;
        }
    });
}

#[test]
fn children_are_created_after_their_parents_and_nested_under_them() {
    paused(async {
        for concurrency in [1, 4] {
            let mut h = Harness::concurrent(concurrency);
            let parent = h.start("parent");
            let first = h.child(&parent, "child-1");
            let second = h.child(&parent, "child-2");
            let grandchild = h.child(&first, "grandchild");
            for run in [&parent, &first, &second, &grandchild] {
                h.metric(run, "m", 1.0, 0);
            }
            for run in [&grandchild, &second, &first, &parent] {
                h.end(run);
            }
            h.flush_ok().await;

            let order = created_names(&h.store);
            let at = |name: &str| order.iter().position(|n| n == name).unwrap();
            assert!(
                at("parent") < at("child-1") && at("parent") < at("child-2"),
                "{order:?}"
            );
            assert!(at("child-1") < at("grandchild"), "{order:?}");
            let parent_of = |run: &Arc<RunSlot>| {
                h.store
                    .run(&id(run))
                    .unwrap()
                    .tag(PARENT_RUN_ID_TAG)
                    .map(str::to_owned)
            };
            assert_eq!(parent_of(&parent), None);
            assert_eq!(parent_of(&first), Some(id(&parent)));
            assert_eq!(parent_of(&second), Some(id(&parent)));
            assert_eq!(parent_of(&grandchild), Some(id(&first)));
            // The parent tag rides on the create request itself.
            let request = create_call(&h.store, "grandchild").create.unwrap();
            assert!(
                request
                    .tags
                    .iter()
                    .any(|t| t.key == PARENT_RUN_ID_TAG && t.value == id(&first))
            );
            assert!(
                h.store
                    .runs()
                    .iter()
                    .all(|r| r.info.experiment_id == "0" && r.info.status == RunStatus::Finished)
            );
            h.stop().await;
        }
    });
}

#[test]
fn tags_logged_right_after_a_start_ride_on_the_create_request() {
    paused(async {
        for concurrency in [1, 4] {
            let mut h = Harness::concurrent(concurrency);
            let run = h.start("tagged");
            h.tag(&run, "a", "1");
            h.metric(&run, "m", 1.0, 0);
            h.tag(&run, "b", "2");
            h.tag(&run, "a", "3");
            let only_tags = h.start("only-tags");
            h.tag(&only_tags, "c", "4");
            h.end(&run);
            h.end(&only_tags);
            h.flush_ok().await;

            let request = create_call(&h.store, "tagged").create.unwrap();
            let tag = |key: &str| {
                request
                    .tags
                    .iter()
                    .filter(|t| t.key == key)
                    .map(|t| t.value.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                (tag("a"), tag("b")),
                (vec!["3".to_owned()], vec!["2".to_owned()])
            );
            assert_eq!(tag("mlflow.runName"), ["tagged"]);
            assert_eq!(tag(CREATE_KEY_TAG).len(), 1, "the server chooses the id");
            assert!(!tag("mlflow.user").is_empty());
            // One batch for the metric alone, none for the run with tags only.
            let batches = calls_for(&h.store, Op::LogBatch, &id(&run));
            assert_eq!(batches.len(), 1, "{concurrency}");
            let batch = batches[0].batch.clone().unwrap();
            assert_eq!((batch.metrics.len(), batch.tags.len()), (1, 0));
            assert!(calls_for(&h.store, Op::LogBatch, &id(&only_tags)).is_empty());
            assert_eq!(h.store.count(Op::CreateRun), 2);
            let stored = h.store.run(&id(&run)).unwrap();
            assert_eq!((stored.tag("a"), stored.tag("b")), (Some("3"), Some("2")));
            assert_eq!(h.store.run(&id(&only_tags)).unwrap().tag("c"), Some("4"));
            h.stop().await;
        }
    });
}

#[test]
fn a_tag_after_a_flush_is_logged_not_sent_with_the_create() {
    paused(async {
        let mut h = Harness::new(MemoryStore::new());
        let run = h.start("r");
        h.flush_ok().await;
        h.tag(&run, "late", "1");
        h.end(&run);
        h.flush_ok().await;
        let request = create_call(&h.store, "r").create.unwrap();
        assert!(request.tags.iter().all(|t| t.key != "late"));
        let batches = calls_for(&h.store, Op::LogBatch, &id(&run));
        assert_eq!(batches.len(), 1);
        assert_eq!(h.store.run(&id(&run)).unwrap().tag("late"), Some("1"));
    });
}

#[test]
fn a_client_chosen_id_is_used_when_the_store_takes_it() {
    paused(async {
        let store = MemoryStore::new();
        store.set_accepts_client_run_ids(true);
        let h = Harness::new(store);
        let chosen = "0123456789abcdef0123456789abcdef";
        let run = Arc::new(RunSlot::new(1, "mine".into(), Some(chosen.into())));
        h.send(Command::Start {
            run: run.clone(),
            spec: StartSpec {
                name: "mine".into(),
                name_given: true,
                client_id: Some(chosen.into()),
                resume: None,
                user_tags: Vec::new(),
                parent: None,
                experiment: ExperimentSel::Default,
                start_time: 1,
            },
        });
        h.log(&run, params(&[("k", "v")]));
        h.flush_ok().await;
        let stored = h.store.run(chosen).expect("the run under the client's id");
        assert_eq!(stored.param("k"), Some("v"));
        assert_eq!(
            stored.tag(CREATE_KEY_TAG),
            None,
            "no create key when the client chose the id"
        );
    });
}

#[test]
fn an_experiment_by_name_is_looked_up_once_and_created_if_missing() {
    paused(async {
        let mut h = Harness::concurrent(4);
        let name = ExperimentSel::Name("sweep".into());
        let runs: Vec<_> = (0..3)
            .map(|i| h.start_in(&format!("r{i}"), None, name.clone()))
            .collect();
        h.flush_ok().await;
        let more = h.start_in("r3", None, name);
        h.flush_ok().await;
        let experiment = h.store.experiment_named("sweep").unwrap();
        for run in runs.iter().chain([&more]) {
            assert_eq!(
                h.store.run(&id(run)).unwrap().info.experiment_id,
                experiment.experiment_id
            );
        }
        assert_eq!(h.store.count(Op::GetExperimentByName), 1);
        assert_eq!(h.store.count(Op::CreateExperiment), 1);
    });
}

/// `MLFLOW_EXPERIMENT_NAME` is read by the sender: the test runs again in a process of its
/// own, with the variable set.
#[test]
fn the_default_experiment_comes_from_mlflow_experiment_name() {
    const NAME: &str =
        "sender::tests::create::the_default_experiment_comes_from_mlflow_experiment_name";
    if !mlflow_test_support::in_child() {
        mlflow_test_support::run_self(NAME, None, &[("MLFLOW_EXPERIMENT_NAME", "from-env")]);
        return;
    }
    paused(async {
        let store = MemoryStore::new();
        store.create_experiment("other").await.unwrap();
        store.clear_journal();
        let mut h = Harness::new(store);
        let first = h.start("first");
        let child = h.child(&first, "child");
        h.flush_ok().await;
        let second = h.start("second");
        h.flush_ok().await;
        let experiment = h.store.experiment_named("from-env").expect("created");
        assert_eq!(experiment.experiment_id, "2");
        for run in [&first, &child, &second] {
            assert_eq!(h.store.run(&id(run)).unwrap().info.experiment_id, "2");
        }
        assert_eq!(h.store.count(Op::GetExperimentByName), 1, "resolved once");
        assert_eq!(h.store.count(Op::CreateExperiment), 1);
    });
}

/// Runs `test` in a child process with `env` set (tests in one process share it).
fn with_env(name: &str, env: &[(&str, &str)], test: impl FnOnce()) {
    if mlflow_test_support::in_child() {
        test();
    } else {
        mlflow_test_support::run_self(name, None, env);
    }
}

/// The environment names an existing experiment and another id: the runs are refused (as
/// Python refuses them), online and, at replay, offline.
#[test]
fn an_existing_experiment_named_by_the_environment_must_have_its_id() {
    const NAME: &str =
        "sender::tests::create::an_existing_experiment_named_by_the_environment_must_have_its_id";
    let env = [
        ("MLFLOW_EXPERIMENT_NAME", "from-env"),
        ("MLFLOW_EXPERIMENT_ID", "0"),
    ];
    let mismatch = |e: &Error| match e {
        Error::RunNotCreated { source, .. } | Error::Undelivered { source, .. } => {
            matches!(&**source, Error::Api { error_code, message, .. }
                if error_code == "INVALID_PARAMETER_VALUE" && message.contains("`0`"))
        }
        _ => false,
    };
    with_env(NAME, &env, || {
        paused(async {
            // Online: refused when the run is created.
            let store = MemoryStore::new();
            store.create_experiment("from-env").await.unwrap();
            let mut h = Harness::new(store);
            let run = h.start("r");
            let failures = h.flush().await;
            assert!(matches!(&failures[..], [e] if mismatch(e)), "{failures:#?}");
            assert!(run.wait_id().is_err());
            assert_eq!(h.store.count(Op::CreateRun), 0);

            // Offline: the name and the id go to the spill; the replay refuses the same way.
            let store = MemoryStore::new();
            store.create_experiment("from-env").await.unwrap();
            store.start_outage();
            let mut h = Harness::new(store);
            let run = h.start("r");
            h.end(&run);
            let failures = h.flush().await;
            assert!(
                matches!(&failures[..], [Error::Spilled { .. }]),
                "{failures:#?}"
            );
            let spilled = h.spilled();
            assert!(
                matches!(&spilled[0], SpillOp::CreateRun { experiment_id: Some(id), experiment_name: Some(name), .. }
                    if id == "0" && name == "from-env"),
                "{spilled:#?}"
            );
            h.store.end_outage();
            let failures = h.flush().await;
            assert!(failures.iter().any(mismatch), "{failures:#?}");
            assert_eq!(h.store.count(Op::CreateRun), 0);
        })
    });
}

/// The environment names a missing experiment and an id: the experiment is created and
/// the id ignored, as Python does.
#[test]
fn a_missing_experiment_named_by_the_environment_is_created_whatever_the_id() {
    const NAME: &str = "sender::tests::create::a_missing_experiment_named_by_the_environment_is_created_whatever_the_id";
    let env = [
        ("MLFLOW_EXPERIMENT_NAME", "from-env"),
        ("MLFLOW_EXPERIMENT_ID", "7"),
    ];
    with_env(NAME, &env, || {
        paused(async {
            let mut h = Harness::new(MemoryStore::new());
            let run = h.start("r");
            h.flush_ok().await;
            let experiment = h.store.experiment_named("from-env").expect("created");
            assert_eq!(
                h.store.run(&id(&run)).unwrap().info.experiment_id,
                experiment.experiment_id
            );
        })
    });
}

/// A run resumed by id keeps nothing back: its new name, the tags and description the
/// caller gave and a tag set right after the start are all stored (a new run gets them with
/// its creation, which a resumed run skips).
#[test]
fn a_resumed_run_gets_its_name_tags_description_and_early_tags() {
    paused(async {
        let store = MemoryStore::new();
        let existing = store
            .create_run(&CreateRun {
                experiment_id: "0".into(),
                run_id: None,
                user_id: "me".into(),
                run_name: "before".into(),
                start_time: 1,
                tags: vec![RunTag {
                    key: "mlflow.runName".into(),
                    value: "before".into(),
                }],
            })
            .await
            .unwrap();
        store
            .update_run(&existing.run_id, &RunUpdate::ended(RunStatus::Finished, 5))
            .await
            .unwrap();
        let h = Harness::new(store);
        let run = Arc::new(RunSlot::new(
            99,
            "after".into(),
            Some(existing.run_id.clone()),
        ));
        h.send(Command::Start {
            run: run.clone(),
            spec: StartSpec {
                name: "after".into(),
                name_given: true,
                client_id: Some(existing.run_id.clone()),
                resume: Some(existing.run_id.clone()),
                user_tags: vec![
                    RunTag {
                        key: NOTE_TAG.into(),
                        value: "why".into(),
                    },
                    RunTag {
                        key: "from_builder".into(),
                        value: "1".into(),
                    },
                ],
                parent: None,
                experiment: ExperimentSel::Default,
                start_time: 10,
            },
        });
        h.tag(&run, "right_after", "2");
        h.flush_ok().await;
        let stored = h.store.run(&existing.run_id).unwrap();
        assert_eq!(stored.info.status, RunStatus::Running);
        assert_eq!(
            stored.info.end_time,
            Some(5),
            "the old end time stays, as in Python"
        );
        assert_eq!(stored.info.run_name, "after");
        assert_eq!(stored.tag("mlflow.runName"), Some("after"));
        assert_eq!(stored.tag(NOTE_TAG), Some("why"));
        assert_eq!(stored.tag("from_builder"), Some("1"));
        assert_eq!(stored.tag("right_after"), Some("2"));
        assert_eq!(h.store.count(Op::CreateRun), 1, "resumed, not created");

        // A deleted run is not resumed.
        h.store.delete_run(&existing.run_id).await.unwrap();
        let again = Arc::new(RunSlot::new(100, "x".into(), Some(existing.run_id.clone())));
        h.send(Command::Start {
            run: again.clone(),
            spec: StartSpec {
                name: "x".into(),
                name_given: false,
                client_id: Some(existing.run_id.clone()),
                resume: Some(existing.run_id.clone()),
                user_tags: Vec::new(),
                parent: None,
                experiment: ExperimentSel::Default,
                start_time: 11,
            },
        });
        let failures = h.flush().await;
        assert!(
            matches!(&failures[..], [Error::RunNotCreated { source, .. }]
                if source.to_string().contains("deleted")),
            "{failures:#?}"
        );
    });
}
