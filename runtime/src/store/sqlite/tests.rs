//! Behaviour of the store against fresh temporary databases (no Python needed).

use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::base::model::{Metric, Param, RunStatus, RunTag};

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open(&dir.join("mlflow.db"), &dir.join("mlruns")).expect("open store")
}

fn metric(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
    Metric {
        key: key.into(),
        value,
        timestamp,
        step,
        model_id: None,
        dataset_name: None,
        dataset_digest: None,
    }
}

fn param(key: &str, value: &str) -> Param {
    Param {
        key: key.into(),
        value: value.into(),
    }
}

fn tag(key: &str, value: &str) -> RunTag {
    RunTag {
        key: key.into(),
        value: value.into(),
    }
}

async fn new_run(store: &SqliteStore, experiment_id: &str, name: &str) -> RunInfo {
    store
        .create_run(&CreateRun {
            experiment_id: experiment_id.into(),
            run_id: None,
            user_id: "tester".into(),
            run_name: name.into(),
            start_time: 1_700_000_000_000,
            tags: vec![tag("mlflow.runName", name), tag("mlflow.user", "tester")],
        })
        .await
        .expect("create run")
}

#[tokio::test]
async fn fresh_file_gets_schema_default_experiment_and_sequential_ids() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.schema_head(), PINNED_HEAD);
    let root = dir.path().join("mlruns");
    let default = store
        .get_experiment("0")
        .await
        .unwrap()
        .expect("experiment 0");
    assert_eq!(default.name, "Default");
    assert_eq!(default.artifact_location, format!("{}/0", root.display()));
    assert_eq!(
        store.location(),
        format!("sqlite:///{}", dir.path().join("mlflow.db").display())
    );

    assert_eq!(store.create_experiment("a").await.unwrap(), "1");
    assert_eq!(store.create_experiment("b").await.unwrap(), "2");
    let err = store.create_experiment("a").await.unwrap_err();
    assert_eq!(err.error_code(), Some("RESOURCE_ALREADY_EXISTS"));
    let b = store.get_experiment_by_name("b").await.unwrap().unwrap();
    assert_eq!(b.experiment_id, "2");
    assert_eq!(b.artifact_location, format!("{}/2", root.display()));
    assert!(
        store
            .get_experiment_by_name("nope")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_experiment("x").await.unwrap().is_none());

    // Reopening an existing file neither recreates nor duplicates anything.
    drop(store);
    let again = open(dir.path());
    assert_eq!(again.create_experiment("c").await.unwrap(), "3");
    let conn = Connection::open(dir.path().join("mlflow.db")).unwrap();
    let workspace: String = conn
        .query_row(
            "SELECT workspace FROM experiments WHERE name = 'c'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(workspace, "default");
}

#[tokio::test]
async fn runs_are_created_like_mlflow_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let exp = store.create_experiment("e").await.unwrap();
    let info = store
        .create_run(&CreateRun {
            experiment_id: exp.clone(),
            run_id: Some("0123456789abcdef0123456789abcdef".into()),
            user_id: "me".into(),
            run_name: "parent".into(),
            start_time: 5,
            tags: vec![tag("mlflow.user", "me")],
        })
        .await
        .unwrap();
    assert_eq!(info.run_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(info.status, RunStatus::Running);
    assert_eq!(
        info.artifact_uri,
        format!(
            "{}/{exp}/0123456789abcdef0123456789abcdef/artifacts",
            dir.path().join("mlruns").display()
        )
    );
    let run = store.get_run(&info.run_id).await.unwrap();
    assert_eq!(run.info, info);
    assert_eq!(run.tag("mlflow.runName"), Some("parent"));

    let conn = Connection::open(dir.path().join("mlflow.db")).unwrap();
    let row: (String, String, String, String) = conn
        .query_row(
            "SELECT source_type, source_name, entry_point_name, source_version FROM runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(row, ("UNKNOWN".into(), "".into(), "".into(), "".into()));

    let generated = new_run(&store, &exp, "child").await;
    assert_eq!(generated.run_id.len(), 32);
    assert!(generated.run_id.chars().all(|c| c.is_ascii_hexdigit()));

    store
        .update_run(&info.run_id, &RunUpdate::ended(RunStatus::Finished, 99))
        .await
        .unwrap();
    let run = store.get_run(&info.run_id).await.unwrap();
    assert_eq!(
        (run.info.status, run.info.end_time),
        (RunStatus::Finished, Some(99))
    );

    let missing = store
        .get_run("ffffffffffffffffffffffffffffffff")
        .await
        .unwrap_err();
    assert_eq!(missing.error_code(), Some("RESOURCE_DOES_NOT_EXIST"));
    let no_exp = store
        .create_run(&CreateRun {
            experiment_id: "42".into(),
            run_id: None,
            user_id: "me".into(),
            run_name: "x".into(),
            start_time: 0,
            tags: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(no_exp.error_code(), Some("RESOURCE_DOES_NOT_EXIST"));
}

#[tokio::test]
async fn batch_encodes_values_and_keeps_latest_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store, "0", "r").await;
    let batch = Batch {
        metrics: vec![
            metric("loss", 3.0, 10, 0),
            metric("loss", 2.0, 11, 1),
            metric("loss", 2.0, 11, 1), // exact duplicate: ignored
            metric("nan", f64::NAN, 1, 0),
            metric("inf", f64::INFINITY, 1, 0),
            metric("ninf", f64::NEG_INFINITY, 1, 0),
        ],
        params: vec![param("lr", "0.1")],
        tags: vec![tag("t", "1"), tag("t", "2")],
    };
    store.log_batch(&run.run_id, &batch).await.unwrap();
    // The same points again are not an error either.
    store.log_batch(&run.run_id, &batch).await.unwrap();
    // An older step does not replace the latest value.
    store
        .log_batch(
            &run.run_id,
            &Batch {
                metrics: vec![metric("loss", 0.5, 99, 0)],
                ..Batch::default()
            },
        )
        .await
        .unwrap();

    let got = store.get_run(&run.run_id).await.unwrap();
    assert_eq!(got.metric("loss"), Some(2.0));
    assert!(got.metric("nan").unwrap().is_nan());
    assert_eq!(got.metric("inf"), Some(f64::MAX));
    assert_eq!(got.metric("ninf"), Some(-f64::MAX));
    assert_eq!(got.param("lr"), Some("0.1"));
    assert_eq!(got.tag("t"), Some("2"));

    let conn = Connection::open(dir.path().join("mlflow.db")).unwrap();
    let count: i64 = conn
        .query_row("SELECT count(*) FROM metrics WHERE key = 'loss'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(count, 3);
    let (value, is_nan): (f64, bool) = conn
        .query_row(
            "SELECT value, is_nan FROM metrics WHERE key = 'nan'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((value, is_nan), (0.0, true));
}

#[tokio::test]
async fn large_batches_store_every_point_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store, "0", "r").await;
    // Several statements' worth plus a remainder, a NaN inside, and duplicates that fall
    // into different statements.
    let mut metrics: Vec<Metric> = (0..250).map(|s| metric("m", s as f64, 5, s)).collect();
    metrics[120].value = f64::NAN;
    metrics.extend((0..30).map(|s| metric("m", s as f64, 5, s)));
    store
        .log_batch(
            &run.run_id,
            &Batch {
                metrics,
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    let history = store.get_metric_history(&run.run_id, "m").await.unwrap();
    assert_eq!(history.len(), 250);
    assert!(
        history
            .iter()
            .find(|p| p.step == 120)
            .unwrap()
            .value
            .is_nan()
    );
    assert_eq!(
        store.get_run(&run.run_id).await.unwrap().metric("m"),
        Some(249.0)
    );
}

#[tokio::test]
async fn changed_param_is_refused_but_the_rest_of_the_batch_lands() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store, "0", "r").await;
    store
        .log_batch(
            &run.run_id,
            &Batch {
                params: vec![param("lr", "0.1"), param("bs", "32")],
                ..Batch::default()
            },
        )
        .await
        .unwrap();

    let err = store
        .log_batch(
            &run.run_id,
            &Batch {
                metrics: vec![metric("m", 1.0, 1, 0)],
                params: vec![param("lr", "0.1"), param("bs", "64"), param("new", "x")],
                tags: vec![tag("k", "v")],
            },
        )
        .await
        .unwrap_err();
    match err {
        Error::ParamChanged { key, old, new } => {
            assert_eq!(
                (key.as_str(), old.as_str(), new.as_str()),
                ("bs", "32", "64")
            );
        }
        other => panic!("expected ParamChanged, got {other:?}"),
    }
    let got = store.get_run(&run.run_id).await.unwrap();
    assert_eq!(got.param("bs"), Some("32"));
    assert_eq!(got.param("new"), Some("x"));
    assert_eq!(got.metric("m"), Some(1.0));
    assert_eq!(got.tag("k"), Some("v"));

    // Two refusals come back together; a repeat within one batch obeys the same rule.
    let err = store
        .log_batch(
            &run.run_id,
            &Batch {
                params: vec![param("lr", "1"), param("z", "a"), param("z", "b")],
                ..Batch::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Many(errors) if errors.len() == 2),
        "{err:?}"
    );
}

#[tokio::test]
async fn run_name_tag_renames_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store, "0", "before").await;
    store
        .log_batch(
            &run.run_id,
            &Batch {
                tags: vec![tag("mlflow.runName", "after")],
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_run(&run.run_id).await.unwrap().info.run_name,
        "after"
    );
}

#[test]
fn refuses_files_that_are_not_mlflow_databases() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough",
    )
    .unwrap();
    let err = SqliteStore::open(&text, dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("not an SQLite database")),
        "{err}"
    );

    let other = dir.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE things (id INTEGER PRIMARY KEY)")
        .unwrap();
    let err = SqliteStore::open(&other, dir.path()).unwrap_err();
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("not an MLflow")),
        "{err}"
    );
}

#[test]
fn refuses_a_schema_it_cannot_write_and_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    drop(open(dir.path()));
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE alembic_version SET version_num = 'future000001';
         ALTER TABLE runs ADD COLUMN owner_team VARCHAR(20) NOT NULL DEFAULT 'x';",
    )
    .unwrap();
    // A new column with a default is harmless.
    drop(SqliteStore::open(&db, dir.path()).expect("compatible unknown head"));

    conn.execute_batch("ALTER TABLE metrics RENAME COLUMN is_nan TO nan_flag")
        .unwrap();
    let err = SqliteStore::open(&db, dir.path()).unwrap_err();
    let Error::Config(message) = err else {
        panic!("expected Config, got {err:?}")
    };
    assert!(message.contains("metrics.is_nan"), "{message}");
    assert!(
        message.contains("mlflow db upgrade sqlite:///"),
        "{message}"
    );
}

#[test]
fn limits_allow_large_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.limits().entities, 10_000);
    assert!(store.accepts_client_run_ids());
}

#[test]
fn processes_opening_a_fresh_file_at_once_create_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            let root = dir.path().join("mlruns");
            std::thread::spawn(move || {
                SqliteStore::open(&db, &root).map(|s| s.schema_head().to_owned())
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), PINNED_HEAD);
    }
    let conn = Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM experiments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_batch_is_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let run = new_run(&store, "0", "big").await;
    let batch = Batch {
        metrics: (0..10_000)
            .map(|i| metric(&format!("k{}", i % 100), i as f64, i, i / 100))
            .collect(),
        ..Batch::default()
    };
    let start = std::time::Instant::now();
    store.log_batch(&run.run_id, &batch).await.unwrap();
    let elapsed = start.elapsed();
    eprintln!("10k-point batch took {elapsed:?}");
    let got = store.get_run(&run.run_id).await.unwrap();
    assert_eq!(got.metrics.len(), 100);
    assert_eq!(got.metric("k0"), Some(9_900.0));
    assert!(elapsed < std::time::Duration::from_secs(20), "{elapsed:?}");
}

#[tokio::test]
async fn keeps_the_journal_mode_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    drop(open(dir.path()));
    let mode = |conn: &Connection| -> String {
        conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap()
    };
    let conn = Connection::open(&db).unwrap();
    assert_eq!(mode(&conn), "delete");
    let wal: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(wal, "wal");
    drop(conn);

    let store = open(dir.path());
    let run = new_run(&store, "0", "wal").await;
    store
        .log_batch(
            &run.run_id,
            &Batch {
                metrics: vec![metric("m", 1.0, 1, 1)],
                ..Batch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_run(&run.run_id).await.unwrap().metric("m"),
        Some(1.0)
    );
    drop(store);
    assert_eq!(mode(&Connection::open(&db).unwrap()), "wal");
}

#[tokio::test]
async fn experiments_are_searched_by_tags_and_ids_and_come_with_their_tags() {
    use crate::base::model::NewExperiment;
    use crate::base::search::{SearchExperimentsRequest, ViewType};

    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut tagged = NewExperiment::named("a");
    tagged.tags.insert("team".into(), "vision".into());
    assert_eq!(store.create_experiment_with(&tagged).await.unwrap(), "1");
    assert_eq!(store.create_experiment("b").await.unwrap(), "2");
    let search = |filter: &str| {
        let request = SearchExperimentsRequest {
            filter: filter.to_owned(),
            view: ViewType::ActiveOnly,
            max_results: 100,
            order_by: vec!["name ASC".into()],
            page_token: None,
        };
        let store = store.clone();
        async move { store.search_experiments(&request).await }
    };
    let names = |page: Page<Experiment>| page.items.into_iter().map(|e| e.name).collect::<Vec<_>>();
    assert_eq!(
        names(search("tags.team IS NULL").await.unwrap()),
        ["Default", "b"]
    );
    assert_eq!(names(search("tags.team LIKE 'vis%'").await.unwrap()), ["a"]);
    assert_eq!(
        names(search("experiment_id IN ('1', '2')").await.unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        names(search("experiment_id != '1'").await.unwrap()),
        ["Default", "b"]
    );
    let found = search("name = 'a'").await.unwrap().items;
    assert_eq!(found[0].tag("team"), Some("vision"));
    let bad = search("experiment_id = 'x'").await.unwrap_err();
    assert_eq!(bad.error_code(), Some("INVALID_PARAMETER_VALUE"));
}

#[tokio::test]
async fn deleting_writes_deleted_time_and_drops_the_runs_assessments() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let exp = store.create_experiment("e").await.unwrap();
    let run = new_run(&store, &exp, "r").await.run_id;
    let conn = Connection::open(dir.path().join("mlflow.db")).unwrap();
    // Assessments belong to traces; this test has none.
    conn.pragma_update(None, "foreign_keys", false).unwrap();
    for (id, source) in [
        ("a1", run.as_str()),
        ("a2", "ffffffffffffffffffffffffffffffff"),
    ] {
        conn.execute(
            "INSERT INTO assessments (assessment_id, trace_id, name, assessment_type, value, \
             created_timestamp, last_updated_timestamp, source_type, valid, assessment_metadata) \
             VALUES (?1, 't', 'n', 'feedback', '1', 0, 0, 'HUMAN', 1, ?2)",
            rusqlite::params![
                id,
                format!("{{\"mlflow.assessment.sourceRunId\": \"{source}\"}}")
            ],
        )
        .unwrap();
    }
    let deleted_time = |conn: &Connection| -> Option<i64> {
        conn.query_row(
            "SELECT deleted_time FROM runs WHERE run_uuid = ?1",
            [&run],
            |r| r.get(0),
        )
        .unwrap()
    };
    store.delete_run(&run).await.unwrap();
    assert!(deleted_time(&conn).is_some());
    let left: Vec<String> = conn
        .prepare("SELECT assessment_id FROM assessments")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        left,
        ["a2"],
        "the run's assessments go with it, as in MLflow"
    );
    store.restore_run(&run).await.unwrap();
    assert_eq!(deleted_time(&conn), None);

    store.delete_experiment(&exp).await.unwrap();
    assert!(deleted_time(&conn).is_some());
    let (created, updated): (i64, i64) = conn
        .query_row(
            "SELECT creation_time, last_update_time FROM experiments WHERE experiment_id = ?1",
            [exp.parse::<i64>().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(updated >= created);
    store.restore_experiment(&exp).await.unwrap();
    assert_eq!(deleted_time(&conn), None);
}

#[tokio::test]
async fn runs_are_searched_by_their_datasets() {
    use crate::base::datasets::{Dataset, DatasetInput};
    use crate::base::search::{SearchRunsRequest, ViewType};
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let a = new_run(&store, "0", "a").await;
    let b = new_run(&store, "0", "b").await;
    let _none = new_run(&store, "0", "none").await;
    let train = Dataset::new("train", "aaaa1111", "local", "{}");
    let eval = Dataset::new("eval", "bbbb2222", "local", "{}");
    store
        .log_inputs(
            &a.run_id,
            &[DatasetInput::new(train.clone(), Some("training"))],
        )
        .await
        .unwrap();
    store
        .log_inputs(
            &b.run_id,
            &[
                DatasetInput::new(train, Some("eval")),
                DatasetInput::new(eval, None),
            ],
        )
        .await
        .unwrap();
    let names = |filter: &str| {
        let store = store.clone();
        let filter = filter.to_owned();
        async move {
            let page = store
                .search_runs(&SearchRunsRequest {
                    experiment_ids: vec!["0".into()],
                    filter: filter.clone(),
                    view: ViewType::ActiveOnly,
                    max_results: 100,
                    order_by: vec!["attributes.run_name ASC".into()],
                    page_token: None,
                })
                .await
                .unwrap_or_else(|e| panic!("{filter}: {e}"));
            page.items
                .into_iter()
                .map(|r| r.info.run_name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("datasets.name = 'train'").await, ["a", "b"]);
    assert_eq!(names("dataset.digest = 'bbbb2222'").await, ["b"]);
    assert_eq!(names("datasets.context = 'training'").await, ["a"]);
    assert_eq!(names("datasets.context IN ('eval', 'x')").await, ["b"]);
    assert_eq!(names("datasets.name LIKE 'ev%'").await, ["b"]);
    assert_eq!(
        names("datasets.name ILIKE 'TRAIN' AND datasets.context = 'eval'").await,
        ["b"]
    );
    assert_eq!(names("datasets.name != 'train'").await, ["b"]);
    for bad in ["datasets.source = 'x'", "datasets.name > 'a'"] {
        let err = store
            .search_runs(&SearchRunsRequest {
                experiment_ids: vec!["0".into()],
                filter: bad.into(),
                view: ViewType::ActiveOnly,
                max_results: 10,
                order_by: Vec::new(),
                page_token: None,
            })
            .await
            .unwrap_err();
        assert_eq!(
            err.error_code(),
            Some("INVALID_PARAMETER_VALUE"),
            "{bad}: {err}"
        );
    }
}
