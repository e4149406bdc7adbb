//! The memory store's own tests: MLflow's rules as the server applies them, and the
//! scripted faults on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::base::model::{Param, RunStatus, RunTag};
use crate::base::search::ViewType;

fn create(experiment_id: &str, name: &str) -> CreateRun {
    CreateRun {
        experiment_id: experiment_id.to_owned(),
        run_id: None,
        user_id: "me".to_owned(),
        run_name: name.to_owned(),
        start_time: 1_000,
        tags: vec![tag("mlflow.runName", name)],
    }
}

fn tag(key: &str, value: &str) -> RunTag {
    RunTag {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn param(key: &str, value: &str) -> Param {
    Param {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn metric(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric {
        key: key.to_owned(),
        value,
        timestamp,
        step,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

fn code(e: &Error) -> (u16, &str) {
    match e {
        Error::Api {
            status, error_code, ..
        } => (*status, error_code.as_str()),
        other => panic!("not an MLflow error: {other:?}"),
    }
}

fn search(experiment: &str, filter: &str) -> SearchRunsRequest {
    SearchRunsRequest {
        experiment_ids: vec![experiment.to_owned()],
        filter: filter.to_owned(),
        view: ViewType::ActiveOnly,
        max_results: 1000,
        order_by: Vec::new(),
        page_token: None,
    }
}

#[tokio::test]
async fn experiments_are_sequential_and_unique_by_name() {
    let store = MemoryStore::new();
    let default = store.get_experiment("0").await.unwrap().unwrap();
    assert_eq!(
        (default.name.as_str(), default.lifecycle_stage.as_str()),
        ("Default", "active")
    );
    assert_eq!(store.create_experiment("a").await.unwrap(), "1");
    assert_eq!(store.create_experiment("b").await.unwrap(), "2");
    let again = store.create_experiment("a").await.unwrap_err();
    assert_eq!(code(&again), (400, "RESOURCE_ALREADY_EXISTS"));
    assert_eq!(code(&store.create_experiment("").await.unwrap_err()).0, 400);
    let b = store.get_experiment_by_name("b").await.unwrap().unwrap();
    assert_eq!(
        (b.experiment_id.as_str(), b.artifact_location.as_str()),
        ("2", "mlflow-artifacts:/2")
    );
    assert!(store.get_experiment_by_name("c").await.unwrap().is_none());
    assert!(store.get_experiment("7").await.unwrap().is_none());
    store.delete_experiment("2").await.unwrap();
    let deleted = store.get_experiment_by_name("b").await.unwrap().unwrap();
    assert_eq!(deleted.lifecycle_stage, "deleted");
    let refused = store.create_run(&create("2", "r")).await.unwrap_err();
    assert_eq!(code(&refused), (400, "INVALID_PARAMETER_VALUE"));
}

#[tokio::test]
async fn runs_get_server_ids_names_and_the_create_rules() {
    let store = MemoryStore::new();
    let info = store.create_run(&create("0", "r")).await.unwrap();
    assert_eq!(info.run_id.len(), 32);
    assert!(info.run_id.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(
        info.artifact_uri,
        format!("mlflow-artifacts:/0/{}/artifacts", info.run_id)
    );
    assert_eq!((info.start_time, info.end_time), (1_000, None));

    let mut mismatch = create("0", "r");
    mismatch.run_name = "other".into();
    let e = store.create_run(&mismatch).await.unwrap_err();
    assert_eq!(code(&e), (400, "INVALID_PARAMETER_VALUE"));
    assert!(
        e.to_string()
            .contains("Both 'run_name' argument and 'mlflow.runName' tag"),
        "{e}"
    );

    let mut unnamed = create("0", "");
    unnamed.tags.clear();
    let random = store.create_run(&unnamed).await.unwrap();
    assert_eq!(random.run_name.split('-').count(), 3, "{}", random.run_name);
    let run = store.get_run(&random.run_id).await.unwrap();
    assert_eq!(run.tag("mlflow.runName"), Some(random.run_name.as_str()));

    let e = store.create_run(&create("9", "r")).await.unwrap_err();
    assert_eq!(code(&e), (404, "RESOURCE_DOES_NOT_EXIST"));
    let e = store
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert_eq!(code(&e), (404, "RESOURCE_DOES_NOT_EXIST"));

    // A client's id is ignored, as MLflow's server ignores it, unless the store takes them.
    let mut with_id = create("0", "mine");
    with_id.run_id = Some("c1".into());
    assert_ne!(store.create_run(&with_id).await.unwrap().run_id, "c1");
    store.set_accepts_client_run_ids(true);
    assert_eq!(store.create_run(&with_id).await.unwrap().run_id, "c1");
    let e = store.create_run(&with_id).await.unwrap_err();
    assert_eq!(code(&e), (400, "RESOURCE_ALREADY_EXISTS"));

    store
        .update_run(&info.run_id, &RunUpdate::ended(RunStatus::Finished, 2_000))
        .await
        .unwrap();
    let ended = store.run(&info.run_id).unwrap().info;
    assert_eq!(
        (ended.status, ended.end_time),
        (RunStatus::Finished, Some(2_000))
    );
    let e = store
        .update_run("nope", &RunUpdate::status(RunStatus::Finished))
        .await
        .unwrap_err();
    assert_eq!(code(&e).0, 404);
}

#[tokio::test]
async fn log_batch_keeps_mlflows_rules() {
    let store = MemoryStore::new();
    let id = store.create_run(&create("0", "r")).await.unwrap().run_id;
    let first = Batch {
        metrics: vec![metric("loss", 1.0, 10, 0), metric("loss", 0.5, 11, 1)],
        params: vec![param("lr", "0.1")],
        tags: vec![tag("t", "1")],
    };
    store.log_batch(&id, &first).await.unwrap();
    // The same param again is fine; the same point again is one point; tags overwrite.
    let second = Batch {
        metrics: vec![metric("loss", 0.5, 11, 1), metric("loss", 0.9, 5, 0)],
        params: vec![param("lr", "0.1"), param("bs", "32")],
        tags: vec![tag("t", "2")],
    };
    store.log_batch(&id, &second).await.unwrap();
    let run = store.get_run(&id).await.unwrap();
    assert_eq!(run.param("lr"), Some("0.1"));
    assert_eq!(run.param("bs"), Some("32"));
    assert_eq!(run.tag("t"), Some("2"));
    // The latest point is the greatest (step, timestamp, value).
    assert_eq!(run.metric("loss"), Some(0.5));
    let history = store.get_metric_history(&id, "loss").await.unwrap();
    let values: Vec<f64> = history.iter().map(|m| m.value).collect();
    assert_eq!(values, [0.9, 1.0, 0.5], "ordered by timestamp");

    // A changed param refuses the whole batch, in MLflow's words.
    let changed = Batch {
        metrics: vec![metric("acc", 1.0, 1, 0)],
        params: vec![param("lr", "0.2")],
        tags: vec![tag("t", "3")],
    };
    let e = store.log_batch(&id, &changed).await.unwrap_err();
    assert_eq!(code(&e), (400, "INVALID_PARAMETER_VALUE"));
    let message = e.to_string();
    assert!(message.contains("Changing param values is not allowed. Params were already logged='[{'key': 'lr', 'old_value': '0.1', 'new_value': '0.2'}]'"), "{message}");
    let run = store.get_run(&id).await.unwrap();
    assert_eq!((run.metric("acc"), run.tag("t")), (None, Some("2")));

    let dupes = Batch {
        params: vec![param("x", "1"), param("x", "1")],
        ..Batch::default()
    };
    let e = store.log_batch(&id, &dupes).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("Duplicate parameter keys have been submitted: ['x']"),
        "{e}"
    );
    let e = store
        .log_batch("0123456789abcdef0123456789abcdef", &Batch::default())
        .await
        .unwrap_err();
    assert_eq!(code(&e), (404, "RESOURCE_DOES_NOT_EXIST"));
    store.log_batch(&id, &Batch::default()).await.unwrap();
    // A runName tag renames the run.
    let rename = Batch {
        tags: vec![tag("mlflow.runName", "renamed")],
        ..Batch::default()
    };
    store.log_batch(&id, &rename).await.unwrap();
    assert_eq!(store.run(&id).unwrap().info.run_name, "renamed");
    store.delete_run(&id).await.unwrap();
    let e = store.log_batch(&id, &Batch::default()).await.unwrap_err();
    assert!(
        e.to_string().contains("must be in the 'active' state"),
        "{e}"
    );
}

#[tokio::test]
async fn batch_limits_are_the_servers() {
    let store = MemoryStore::new();
    let id = store.create_run(&create("0", "r")).await.unwrap().run_id;
    let metrics = |n: usize| {
        (0..n)
            .map(|i| metric("m", i as f64, 0, i as i64))
            .collect::<Vec<_>>()
    };
    let params = |n: usize| {
        (0..n)
            .map(|i| param(&format!("p{i}"), "v"))
            .collect::<Vec<_>>()
    };
    let tags = |n: usize| {
        (0..n)
            .map(|i| tag(&format!("t{i}"), "v"))
            .collect::<Vec<_>>()
    };
    let cases = [
        (
            Batch {
                metrics: metrics(1001),
                ..Batch::default()
            },
            "at most 1000 metrics. Got 1001 metrics",
        ),
        (
            Batch {
                params: params(101),
                ..Batch::default()
            },
            "at most 100 params. Got 101 params",
        ),
        (
            Batch {
                tags: tags(101),
                ..Batch::default()
            },
            "at most 100 tags. Got 101 tags",
        ),
        (
            Batch {
                metrics: metrics(950),
                params: params(51),
                ..Batch::default()
            },
            "at most 1000 metrics, params, and tags. Got 1001",
        ),
    ];
    for (batch, needle) in cases {
        let e = store.log_batch(&id, &batch).await.unwrap_err();
        assert_eq!(code(&e), (400, "INVALID_PARAMETER_VALUE"));
        assert!(e.to_string().contains(needle), "{e}");
    }
    let full = Batch {
        metrics: metrics(900),
        params: params(100),
        ..Batch::default()
    };
    store.log_batch(&id, &full).await.unwrap();
    // Limits set on the store are the ones it enforces.
    store.set_limits(BatchLimits {
        metrics: 2,
        params: 1,
        tags: 1,
        entities: 3,
    });
    let e = store
        .log_batch(
            &id,
            &Batch {
                metrics: metrics(3),
                ..Batch::default()
            },
        )
        .await;
    assert!(e.is_err());
}

#[tokio::test]
async fn searches_take_tag_clauses_and_page() {
    let store = MemoryStore::new();
    for i in 0..5 {
        let mut request = create("0", &format!("r{i}"));
        request.start_time = i;
        request
            .tags
            .push(tag("mlflow.rs.createKey", &format!("k{}", i % 2)));
        store.create_run(&request).await.unwrap();
    }
    let found = store
        .search_runs(&search("0", "tags.`mlflow.rs.createKey` = 'k1'"))
        .await
        .unwrap();
    let names: Vec<&str> = found
        .items
        .iter()
        .map(|r| r.info.run_name.as_str())
        .collect();
    assert_eq!(names, ["r3", "r1"], "newest first");
    let both = "tag.mlflow.runName = \"r2\" AND tags.`mlflow.rs.createKey` = 'k0'";
    assert_eq!(
        store
            .search_runs(&search("0", both))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    assert!(
        store
            .search_runs(&search("1", ""))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let mut paged = search("0", "");
    paged.max_results = 2;
    let mut seen = Vec::new();
    loop {
        let page = store.search_runs(&paged).await.unwrap();
        seen.extend(page.items.into_iter().map(|r| r.info.run_name));
        match page.next_page_token {
            Some(token) => paged.page_token = Some(token),
            None => break,
        }
    }
    assert_eq!(seen, ["r4", "r3", "r2", "r1", "r0"]);
    for unsupported in [
        "metrics.loss > 1",
        "tags.a = 'b' OR tags.c = 'd'",
        "tags.a != 'b'",
        "params.x = '1'",
    ] {
        let e = store
            .search_runs(&search("0", unsupported))
            .await
            .unwrap_err();
        assert_eq!(code(&e).0, 400);
        assert!(
            e.to_string().contains("the memory store does not support"),
            "{e}"
        );
    }
    let mut ordered = search("0", "");
    ordered.order_by = vec!["metrics.acc DESC".into()];
    assert!(store.search_runs(&ordered).await.is_err());
    let experiments = store
        .search_experiments(&SearchExperimentsRequest {
            filter: String::new(),
            view: ViewType::ActiveOnly,
            max_results: 10,
            order_by: Vec::new(),
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(experiments.items.len(), 1);
}

#[tokio::test]
async fn artifacts_are_kept_in_memory() {
    let store = MemoryStore::new();
    let info = store.create_run(&create("0", "r")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("a.txt");
    std::fs::write(&local, b"hello").unwrap();
    store
        .log_artifact(&info.artifact_uri, &local, "sub/a.txt")
        .await
        .unwrap();
    store
        .log_artifact(&info.artifact_uri, &local, "b.txt")
        .await
        .unwrap();
    let root = store.list_artifacts(&info.artifact_uri, "").await.unwrap();
    let listed: Vec<(&str, bool)> = root.iter().map(|f| (f.path.as_str(), f.is_dir)).collect();
    assert_eq!(listed, [("b.txt", false), ("sub", true)]);
    let sub = store
        .list_artifacts(&info.artifact_uri, "sub")
        .await
        .unwrap();
    assert_eq!(
        (sub[0].path.as_str(), sub[0].file_size),
        ("sub/a.txt", Some(5))
    );
    let dest = dir.path().join("back.txt");
    store
        .download_artifact(&info.artifact_uri, "sub/a.txt", &dest)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
    assert_eq!(
        store.artifact(&info.artifact_uri, "b.txt").as_deref(),
        Some(&b"hello"[..])
    );
}

#[tokio::test(start_paused = true)]
async fn scripted_errors_outage_and_lost_answers() {
    let store = MemoryStore::new();
    store.fail(
        Op::CreateExperiment,
        2,
        Error::api(503, "TEMPORARILY_UNAVAILABLE", "busy"),
    );
    for _ in 0..2 {
        let e = store.create_experiment("x").await.unwrap_err();
        assert_eq!(code(&e), (503, "TEMPORARILY_UNAVAILABLE"));
    }
    assert_eq!(
        store.create_experiment("x").await.unwrap(),
        "1",
        "failed calls had no effect"
    );

    store.start_outage();
    assert!(matches!(store.ping().await, Err(Error::Transport { .. })));
    assert!(matches!(
        store.create_run(&create("0", "r")).await,
        Err(Error::Transport { .. })
    ));
    store.end_outage();
    store.ping().await.unwrap();
    assert!(store.runs().is_empty());

    store.lose_answers(Op::CreateRun, 1);
    assert!(matches!(
        store.create_run(&create("0", "lost")).await,
        Err(Error::Transport { .. })
    ));
    assert_eq!(
        store.runs_named("lost").len(),
        1,
        "the lost call took effect"
    );
    let creates = store.calls(Op::CreateRun);
    assert!(
        matches!(creates[0].outcome, CallOutcome::Failed(_)),
        "the outage"
    );
    assert!(matches!(creates[1].outcome, CallOutcome::Lost));
    assert_eq!(
        creates[1].run_id.as_deref(),
        Some(store.runs_named("lost")[0].info.run_id.as_str())
    );
    assert_eq!(store.count(Op::Ping), 2);
}

#[tokio::test(start_paused = true)]
async fn delays_run_on_tokios_clock_and_gates_hold_calls() {
    let store = Arc::new(MemoryStore::new());
    store.delay(Op::Ping, 1, Duration::from_secs(30));
    let started = tokio::time::Instant::now();
    store.ping().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    store.ping().await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30),
        "only the next call was delayed"
    );
    let pings = store.calls(Op::Ping);
    assert_eq!(
        (pings[0].at, pings[0].done_at),
        (Duration::ZERO, Some(Duration::from_secs(30)))
    );

    let gate = store.pause(Op::CreateExperiment);
    let (a, b) = (store.clone(), store.clone());
    let first = tokio::spawn(async move { a.create_experiment("a").await });
    let second = tokio::spawn(async move { b.create_experiment("b").await });
    gate.arrived(2).await;
    assert_eq!(gate.waiting(), 2);
    assert_eq!(store.peak(Op::CreateExperiment), 2);
    assert!(
        store.experiment_named("a").is_none(),
        "nothing happened behind the gate"
    );
    gate.open();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    assert_eq!(gate.waiting(), 0);
    store.create_experiment("c").await.unwrap();
    assert_eq!(gate.arrivals(), 3, "an open gate lets calls through");
}

#[test]
fn memory_uris_open_registered_stores() {
    use crate::base::config::TrackingUri;
    let uri = TrackingUri::parse("memory://store-tests-registry").unwrap();
    assert_eq!(uri, TrackingUri::Memory("store-tests-registry".into()));
    assert_eq!(uri.to_string(), "memory://store-tests-registry");
    assert!(uri.for_other_processes().is_err());
    assert!(TrackingUri::parse("memory://").is_err());
    let store = MemoryStore::register("store-tests-registry");
    assert_eq!(store.location(), "memory://store-tests-registry");
    let found = MemoryStore::registered("store-tests-registry").unwrap();
    assert!(Arc::ptr_eq(&store, &found));
    MemoryStore::unregister("store-tests-registry");
    assert!(MemoryStore::registered("store-tests-registry").is_none());
}
