//! One scenario of managing runs and experiments, run against the memory store and the
//! embedded store: the memory store, which the sender's tests stand on, keeps the rules and
//! errors of the SQLite store, which the integration tests hold to MLflow itself.

use super::Store;
use super::memory::MemoryStore;
use crate::base::datasets::{Dataset, DatasetInput, InputTag};
use crate::base::error::Error;
use crate::base::model::{CreateRun, NewExperiment, RunInfo, RunTag, RunUpdate};
use crate::base::search::{SearchExperimentsRequest, ViewType};

fn code(e: &Error) -> (u16, &str) {
    match e {
        Error::Api {
            status, error_code, ..
        } => (*status, error_code.as_str()),
        other => panic!("not an MLflow error: {other:?}"),
    }
}

fn tag(key: &str, value: &str) -> RunTag {
    RunTag {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

async fn new_run(store: &dyn Store, experiment_id: &str, tags: &[(&str, &str)]) -> RunInfo {
    store
        .create_run(&CreateRun {
            experiment_id: experiment_id.to_owned(),
            run_id: None,
            user_id: "me".to_owned(),
            run_name: "r".to_owned(),
            start_time: 1_000,
            tags: tags.iter().map(|(k, v)| tag(k, v)).collect(),
        })
        .await
        .expect("create run")
}

async fn names_with(store: &dyn Store, filter: &str, view: ViewType) -> Vec<String> {
    let page = store
        .search_experiments(&SearchExperimentsRequest {
            filter: filter.to_owned(),
            view,
            max_results: 100,
            order_by: Vec::new(),
            page_token: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut names: Vec<String> = page.items.into_iter().map(|e| e.name).collect();
    names.sort();
    names
}

async fn stage_of_run(store: &dyn Store, run_id: &str) -> String {
    store.get_run(run_id).await.unwrap().info.lifecycle_stage
}

async fn experiments(store: &dyn Store) {
    let mut new = NewExperiment::named("tagged");
    new.artifact_location = Some("/tmp/elsewhere".into());
    new.tags.insert("team".into(), "vision".into());
    new.tags.insert("stage".into(), "dev".into());
    let id = store.create_experiment_with(&new).await.unwrap();
    let e = store.get_experiment(&id).await.unwrap().unwrap();
    assert_eq!(e.artifact_location, "/tmp/elsewhere");
    assert_eq!(
        (e.tag("team"), e.tag("stage")),
        (Some("vision"), Some("dev"))
    );
    assert!(e.creation_time.is_some());
    assert_eq!(e.creation_time, e.last_update_time);
    let by_name = store
        .get_experiment_by_name("tagged")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name, e);

    let mut bad = NewExperiment::named("bad");
    bad.tags.insert("bad key!".into(), "x".into());
    let refused = store.create_experiment_with(&bad).await.unwrap_err();
    assert_eq!(code(&refused), (400, "INVALID_PARAMETER_VALUE"));
    assert!(store.get_experiment_by_name("bad").await.unwrap().is_none());

    // Tags: set, overwritten, deleted; searched.
    store
        .set_experiment_tag(&id, "stage", "prod")
        .await
        .unwrap();
    store.delete_experiment_tag(&id, "team").await.unwrap();
    let missing = store.delete_experiment_tag(&id, "team").await.unwrap_err();
    assert_eq!(code(&missing), (404, "RESOURCE_DOES_NOT_EXIST"));
    let e = store.get_experiment(&id).await.unwrap().unwrap();
    assert_eq!((e.tag("team"), e.tag("stage")), (None, Some("prod")));
    let other = store.create_experiment("other").await.unwrap();
    store
        .set_experiment_tag(&other, "stage", "dev")
        .await
        .unwrap();
    let active = ViewType::ActiveOnly;
    assert_eq!(
        names_with(store, "tags.stage = 'prod'", active).await,
        ["tagged"]
    );
    assert_eq!(
        names_with(store, "tags.stage = 'dev'", active).await,
        ["other"]
    );
    let long = "v".repeat(20_001);
    let too_long = store.set_experiment_tag(&id, "k", &long).await.unwrap_err();
    assert_eq!(code(&too_long), (400, "INVALID_PARAMETER_VALUE"));

    // Renaming; a name another experiment has is refused by the database.
    store.rename_experiment(&id, "renamed").await.unwrap();
    let e = store.get_experiment(&id).await.unwrap().unwrap();
    assert_eq!(e.name, "renamed");
    assert!(
        store
            .get_experiment_by_name("tagged")
            .await
            .unwrap()
            .is_none()
    );
    let taken = store
        .rename_experiment(&other, "renamed")
        .await
        .unwrap_err();
    assert_eq!(code(&taken), (400, "BAD_REQUEST"));
    let empty = store.rename_experiment(&other, "").await.unwrap_err();
    assert_eq!(code(&empty), (400, "INVALID_PARAMETER_VALUE"));

    // Deleting takes the runs along; the name stays taken.
    let run = new_run(store, &id, &[]).await;
    store.delete_experiment(&id).await.unwrap();
    let e = store.get_experiment(&id).await.unwrap().unwrap();
    assert_eq!(e.lifecycle_stage, "deleted");
    assert_eq!(stage_of_run(store, &run.run_id).await, "deleted");
    assert_eq!(
        names_with(store, "", ViewType::DeletedOnly).await,
        ["renamed"]
    );
    for refused in [
        store.delete_experiment(&id).await.unwrap_err(),
        store.restore_experiment(&other).await.unwrap_err(),
    ] {
        assert_eq!(
            code(&refused),
            (404, "RESOURCE_DOES_NOT_EXIST"),
            "{refused}"
        );
    }
    for refused in [
        store.set_experiment_tag(&id, "k", "v").await.unwrap_err(),
        store.delete_experiment_tag(&id, "stage").await.unwrap_err(),
    ] {
        assert_eq!(
            code(&refused),
            (400, "INVALID_PARAMETER_VALUE"),
            "{refused}"
        );
    }
    let rename = store.rename_experiment(&id, "again").await.unwrap_err();
    assert_eq!(code(&rename), (500, "INVALID_STATE"));
    let create = store.create_experiment("renamed").await.unwrap_err();
    assert_eq!(code(&create), (400, "RESOURCE_ALREADY_EXISTS"));

    // Restoring brings the runs back.
    store.restore_experiment(&id).await.unwrap();
    assert!(
        store
            .get_experiment(&id)
            .await
            .unwrap()
            .unwrap()
            .is_active()
    );
    assert_eq!(stage_of_run(store, &run.run_id).await, "active");

    // Ids MLflow refuses before looking.
    for (bad, expected) in [
        ("", (400, "INVALID_PARAMETER_VALUE")),
        ("x", (400, "INVALID_PARAMETER_VALUE")),
        ("999", (404, "RESOURCE_DOES_NOT_EXIST")),
    ] {
        let e = store.delete_experiment(bad).await.unwrap_err();
        assert_eq!(code(&e), expected, "{bad:?}: {e}");
        let e = store.set_experiment_tag(bad, "k", "v").await.unwrap_err();
        assert_eq!(code(&e), expected, "{bad:?}: {e}");
    }
}

async fn runs(store: &dyn Store) {
    let run = new_run(
        store,
        "0",
        &[("mlflow.runName", "r"), ("keep", "1"), ("gone", "1")],
    )
    .await;
    let id = run.run_id.as_str();
    store.delete_tag(id, "gone").await.unwrap();
    let again = store.delete_tag(id, "gone").await.unwrap_err();
    assert_eq!(code(&again), (404, "RESOURCE_DOES_NOT_EXIST"));
    let stored = store.get_run(id).await.unwrap();
    assert_eq!((stored.tag("gone"), stored.tag("keep")), (None, Some("1")));

    store.delete_run(id).await.unwrap();
    assert_eq!(stage_of_run(store, id).await, "deleted");
    store.delete_run(id).await.unwrap();
    for refused in [
        store.delete_tag(id, "keep").await.unwrap_err(),
        store
            .update_run(id, &RunUpdate::renamed("x"))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(
            code(&refused),
            (400, "INVALID_PARAMETER_VALUE"),
            "{refused}"
        );
    }
    store.restore_run(id).await.unwrap();
    store.restore_run(id).await.unwrap();
    assert_eq!(stage_of_run(store, id).await, "active");
    store.delete_tag(id, "keep").await.unwrap();

    let unknown = "0123456789abcdef0123456789abcdef";
    for refused in [
        store.delete_run(unknown).await.unwrap_err(),
        store.restore_run(unknown).await.unwrap_err(),
        store.delete_tag(unknown, "k").await.unwrap_err(),
    ] {
        assert_eq!(
            code(&refused),
            (404, "RESOURCE_DOES_NOT_EXIST"),
            "{refused}"
        );
    }
    let empty = store.delete_run("").await.unwrap_err();
    assert_eq!(code(&empty), (400, "INVALID_PARAMETER_VALUE"));
}

/// Datasets as a run's inputs: kept once per experiment (the first description wins), used
/// once per run (the first tags stay), read back with the run; MLflow's refusals.
async fn inputs(store: &dyn Store) {
    let run = new_run(store, "0", &[]).await;
    let id = run.run_id.as_str();
    let train = Dataset::new("train", "aaaa1111", "local", r#"{"uri": "/d/train.csv"}"#)
        .with_schema(r#"{"mlflow_colspec": []}"#);
    let eval = Dataset::new("eval", "bbbb2222", "local", r#"{"uri": "/d/eval.csv"}"#)
        .with_profile(r#"{"num_rows": 3}"#);
    let mut tagged = DatasetInput::new(eval.clone(), Some("eval"));
    tagged.tags.push(InputTag::new("fold", "1"));
    store
        .log_inputs(
            id,
            &[
                DatasetInput::new(train.clone(), Some("training")),
                tagged.clone(),
                DatasetInput::new(train.clone(), Some("twice in one call")),
            ],
        )
        .await
        .unwrap();
    // Again, with another source and context: nothing changes.
    let mut moved = train.clone();
    moved.source = r#"{"uri": "/elsewhere"}"#.into();
    store
        .log_inputs(id, &[DatasetInput::new(moved.clone(), Some("other"))])
        .await
        .unwrap();
    let got = store.get_run(id).await.unwrap().inputs.dataset_inputs;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].dataset, train);
    assert_eq!(got[0].context(), Some("training"));
    assert_eq!(got[1].dataset, eval);
    assert_eq!(
        (got[1].context(), got[1].tag("fold")),
        (Some("eval"), Some("1"))
    );

    // Another run of the experiment gets the dataset as first described.
    let other = new_run(store, "0", &[]).await;
    store
        .log_inputs(&other.run_id, &[DatasetInput::new(moved, None)])
        .await
        .unwrap();
    let got = store
        .get_run(&other.run_id)
        .await
        .unwrap()
        .inputs
        .dataset_inputs;
    assert_eq!((got.len(), &got[0].dataset), (1, &train));
    assert!(got[0].tags.is_empty());

    let unknown = "0123456789abcdef0123456789abcdef";
    let refused = store
        .log_inputs(unknown, &[DatasetInput::new(train.clone(), None)])
        .await
        .unwrap_err();
    assert_eq!(
        code(&refused),
        (404, "RESOURCE_DOES_NOT_EXIST"),
        "{refused}"
    );
    store.delete_run(id).await.unwrap();
    let refused = store
        .log_inputs(id, &[DatasetInput::new(train, None)])
        .await
        .unwrap_err();
    assert_eq!(
        code(&refused),
        (400, "INVALID_PARAMETER_VALUE"),
        "{refused}"
    );
}

#[tokio::test]
async fn the_memory_store_keeps_inputs() {
    inputs(&MemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_embedded_store_keeps_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::sqlite::SqliteStore::open(&dir.path().join("mlflow.db"), dir.path())
        .expect("open store");
    inputs(&store).await;
}

#[tokio::test]
async fn the_memory_store_manages_experiments() {
    experiments(&MemoryStore::new()).await;
}

#[tokio::test]
async fn the_memory_store_manages_runs() {
    runs(&MemoryStore::new()).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_embedded_store_manages_experiments() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::sqlite::SqliteStore::open(&dir.path().join("mlflow.db"), dir.path())
        .expect("open store");
    experiments(&store).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn the_embedded_store_manages_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = super::sqlite::SqliteStore::open(&dir.path().join("mlflow.db"), dir.path())
        .expect("open store");
    runs(&store).await;
}
