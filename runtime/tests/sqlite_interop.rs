//! Rust and the pinned MLflow share one SQLite file: each reads what the other wrote, the
//! MLflow server opens a Rust-made file without migrating it, and concurrent writers from
//! both sides neither corrupt the file nor fail on a busy lock.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mlflow_test_support::{
    ServerSpec, http_get, http_post_json, last_json, python_command, require_python, run_python_in,
};
use mlflow_tracking_runtime::model::{
    Batch, CreateRun, Metric, Param, RunStatus, RunTag, RunUpdate,
};
use mlflow_tracking_runtime::store::Store;
use mlflow_tracking_runtime::store::sqlite::{PINNED_HEAD, SqliteStore};
use rusqlite::Connection;
use serde_json::{Value, json};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn tag(key: &str, value: &str) -> RunTag {
    RunTag {
        key: key.into(),
        value: value.into(),
    }
}

fn param(key: &str, value: &str) -> Param {
    Param {
        key: key.into(),
        value: value.into(),
    }
}

fn metric(key: &str, value: f64, step: i64) -> Metric {
    Metric::new(key, value, 1_700_000_000_000 + step, step)
}

fn create_request(experiment_id: &str, name: &str, parent: Option<&str>) -> CreateRun {
    let mut tags = vec![
        tag("mlflow.runName", name),
        tag("mlflow.user", "rust-test"),
        tag("mlflow.source.type", "LOCAL"),
        tag("mlflow.source.name", "sqlite_interop"),
    ];
    if let Some(parent) = parent {
        tags.push(tag("mlflow.parentRunId", parent));
    }
    CreateRun {
        experiment_id: experiment_id.into(),
        run_id: None,
        user_id: "rust-test".into(),
        run_name: name.into(),
        start_time: 1_700_000_000_000,
        tags,
    }
}

fn schema_snapshot(db: &Path) -> Vec<(String, Option<String>)> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master ORDER BY type, name")
        .unwrap();
    let mut objects: Vec<(String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let head: String = conn
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap();
    objects.push(("alembic_version".into(), Some(head)));
    objects
}

/// Reads every run of an experiment with `mlflow.search_runs`; prints JSON with metric
/// values as `repr` strings (JSON has no NaN).
const PY_SEARCH: &str = r#"
import json, sys, mlflow
mlflow.set_tracking_uri(sys.argv[1])
exp = mlflow.get_experiment_by_name(sys.argv[2])
runs = mlflow.search_runs(experiment_ids=[exp.experiment_id], output_format="list")
out = {"artifact_location": exp.artifact_location, "runs": {}}
for r in runs:
    out["runs"][r.info.run_name] = {
        "run_id": r.info.run_id,
        "status": r.info.status,
        "artifact_uri": r.info.artifact_uri,
        "params": r.data.params,
        "metrics": {k: repr(v) for k, v in r.data.metrics.items()},
        "tags": r.data.tags,
    }
print(json.dumps(out))
"#;

#[test]
fn mlflow_server_and_client_read_a_rust_made_file() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let uri = format!("sqlite:///{}", db.display());
    let store = SqliteStore::open(&db, &dir.path().join("mlruns")).unwrap();

    let (experiment_id, parent, children) = runtime().block_on(async {
        let exp = store.create_experiment("interop").await.unwrap();
        let parent = store
            .create_run(&create_request(&exp, "parent", None))
            .await
            .unwrap();
        store
            .log_batch(
                &parent.run_id,
                &Batch {
                    metrics: (0..5)
                        .map(|s| metric("loss", 1.0 / (s + 1) as f64, s))
                        .chain([
                            metric("nan", f64::NAN, 0),
                            metric("pinf", f64::INFINITY, 0),
                            metric("ninf", f64::NEG_INFINITY, 0),
                        ])
                        .collect(),
                    params: vec![param("lr", "0.1")],
                    tags: vec![tag("team", "rust")],
                },
            )
            .await
            .unwrap();
        let mut children = Vec::new();
        for i in 0..2 {
            let child = store
                .create_run(&create_request(
                    &exp,
                    &format!("child-{i}"),
                    Some(&parent.run_id),
                ))
                .await
                .unwrap();
            store
                .log_batch(
                    &child.run_id,
                    &Batch {
                        metrics: vec![metric("acc", 0.5 + i as f64, 0)],
                        params: vec![param("idx", &i.to_string())],
                        ..Batch::default()
                    },
                )
                .await
                .unwrap();
            store
                .update_run(
                    &child.run_id,
                    &RunUpdate::ended(RunStatus::Finished, 1_700_000_000_100),
                )
                .await
                .unwrap();
            children.push(child.run_id);
        }
        store
            .update_run(
                &parent.run_id,
                &RunUpdate::ended(RunStatus::Failed, 1_700_000_000_200),
            )
            .await
            .unwrap();
        (exp, parent.run_id, children)
    });
    drop(store);
    let before = schema_snapshot(&db);

    // The server opens the file as it is and shows the nesting.
    let mut server = ServerSpec::new(&uri)
        .default_artifact_root(dir.path().join("artifacts"))
        .log_path(dir.path().join("server.log"))
        .start();
    let found = http_post_json(
        server.uri(),
        "/api/2.0/mlflow/runs/search",
        &json!({"experiment_ids": [experiment_id]}),
    )
    .unwrap_or_else(|| panic!("runs/search failed:\n{}", server.log()));
    let history = http_get(
        server.uri(),
        &format!("/api/2.0/mlflow/metrics/get-history?run_id={parent}&metric_key=loss"),
    )
    .expect("get-history");
    server.stop();
    let log = server.log();
    for migration_sign in [
        "Creating initial MLflow database tables",
        "Running upgrade",
        "Updating database tables",
    ] {
        assert!(
            !log.contains(migration_sign),
            "server migrated the file:\n{log}"
        );
    }
    assert_eq!(
        before,
        schema_snapshot(&db),
        "schema or alembic_version changed"
    );

    let runs = found["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 3, "{found}");
    let tag_of = |run: &Value, key: &str| -> Option<String> {
        run["data"]["tags"]
            .as_array()?
            .iter()
            .find(|t| t["key"] == key)
            .map(|t| t["value"].as_str().unwrap_or_default().to_owned())
    };
    for run in runs {
        let id = run["info"]["run_id"].as_str().unwrap();
        let parent_tag = tag_of(run, "mlflow.parentRunId");
        if id == parent {
            assert_eq!(parent_tag, None);
            assert_eq!(run["info"]["status"], "FAILED");
        } else {
            assert!(children.iter().any(|c| c == id));
            assert_eq!(parent_tag.as_deref(), Some(parent.as_str()));
            assert_eq!(run["info"]["status"], "FINISHED");
        }
    }
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(
        history["metrics"].as_array().map(Vec::len),
        Some(5),
        "{history}"
    );

    // The Python client reads names, statuses, params, metrics and tags.
    let out = last_json(&run_python_in(dir.path(), PY_SEARCH, &[&uri, "interop"]));
    let p = &out["runs"]["parent"];
    assert_eq!(p["run_id"], parent.as_str());
    assert_eq!(p["status"], "FAILED");
    assert_eq!(p["params"]["lr"], "0.1");
    assert_eq!(p["tags"]["team"], "rust");
    assert_eq!(p["metrics"]["loss"], "0.2");
    assert_eq!(p["metrics"]["nan"], "nan");
    assert_eq!(p["metrics"]["pinf"], "1.7976931348623157e+308");
    assert_eq!(p["metrics"]["ninf"], "-1.7976931348623157e+308");
    assert_eq!(
        p["artifact_uri"],
        format!(
            "{}/mlruns/{experiment_id}/{parent}/artifacts",
            dir.path().display()
        )
    );
    for i in 0..2 {
        let c = &out["runs"][format!("child-{i}")];
        assert_eq!(c["status"], "FINISHED");
        assert_eq!(c["params"]["idx"], i.to_string());
        assert_eq!(c["tags"]["mlflow.parentRunId"], parent.as_str());
    }
    assert_eq!(
        schema_snapshot(&db),
        before,
        "the Python client changed the schema"
    );
}

#[test]
fn rust_appends_to_a_file_made_by_the_python_client() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    // Python's defaults: tracking URI sqlite:///mlflow.db and artifacts in ./mlruns.
    let made = last_json(&run_python_in(
        dir.path(),
        r#"
import json, mlflow
mlflow.set_experiment("py-exp")
with mlflow.start_run(run_name="py-parent") as run:
    mlflow.log_param("lr", 0.01)
    for step in range(3):
        mlflow.log_metric("acc", 0.5 + step / 10, step=step)
    mlflow.set_tag("origin", "python")
exp = mlflow.get_experiment_by_name("py-exp")
print(json.dumps({"run_id": run.info.run_id, "experiment_id": exp.experiment_id,
                  "artifact_location": exp.artifact_location, "uri": mlflow.get_tracking_uri()}))
"#,
        &[],
    ));
    let db = dir.path().join("mlflow.db");
    assert_eq!(made["uri"], format!("sqlite:///{}", db.display()));
    let py_run = made["run_id"].as_str().unwrap().to_owned();
    let py_exp = made["experiment_id"].as_str().unwrap().to_owned();
    assert_eq!(
        made["artifact_location"],
        format!("{}/mlruns/{py_exp}", dir.path().display()),
        "the artifact location this store writes"
    );

    let store = SqliteStore::open(&db, &dir.path().join("mlruns")).unwrap();
    assert_eq!(store.schema_head(), PINNED_HEAD);
    let (rust_exp, child) = runtime().block_on(async {
        let exp = store
            .get_experiment_by_name("py-exp")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            exp.artifact_location,
            made["artifact_location"].as_str().unwrap()
        );
        store
            .log_batch(
                &py_run,
                &Batch {
                    metrics: vec![metric("acc", 0.9, 3)],
                    params: vec![param("lr", "0.01"), param("rust_param", "1")],
                    tags: vec![tag("appended", "rust")],
                },
            )
            .await
            .unwrap();
        let child = store
            .create_run(&create_request(&py_exp, "rust-child", Some(&py_run)))
            .await
            .unwrap();
        store
            .update_run(
                &child.run_id,
                &RunUpdate::ended(RunStatus::Finished, 1_700_000_000_001),
            )
            .await
            .unwrap();
        let rust_exp = store.create_experiment("rust-exp").await.unwrap();
        assert_eq!(rust_exp, (py_exp.parse::<i64>().unwrap() + 1).to_string());
        let run = store.get_run(&py_run).await.unwrap();
        assert_eq!(run.metric("acc"), Some(0.9));
        assert_eq!(run.tag("origin"), Some("python"));
        (rust_exp, child.run_id)
    });
    drop(store);

    let back = last_json(&run_python_in(
        dir.path(),
        r#"
import json, sys, mlflow
client = mlflow.MlflowClient()
run = client.get_run(sys.argv[1])
child = client.get_run(sys.argv[2])
history = client.get_metric_history(sys.argv[1], "acc")
rust_exp = client.get_experiment_by_name("rust-exp")
print(json.dumps({
    "acc": run.data.metrics["acc"], "params": run.data.params, "tags": run.data.tags,
    "history": len(history), "child_parent": child.data.tags.get("mlflow.parentRunId"),
    "child_status": child.info.status, "child_name": child.info.run_name,
    "rust_exp": [rust_exp.experiment_id, rust_exp.artifact_location],
}))
"#,
        &[&py_run, &child],
    ));
    assert_eq!(back["acc"], 0.9);
    assert_eq!(back["history"], 4);
    assert_eq!(back["params"]["lr"], "0.01");
    assert_eq!(back["params"]["rust_param"], "1");
    assert_eq!(back["tags"]["appended"], "rust");
    assert_eq!(back["tags"]["origin"], "python");
    assert_eq!(back["child_parent"], py_run.as_str());
    assert_eq!(back["child_status"], "FINISHED");
    assert_eq!(back["child_name"], "rust-child");
    assert_eq!(
        back["rust_exp"],
        json!([
            rust_exp,
            format!("{}/mlruns/{rust_exp}", dir.path().display())
        ])
    );
}

const WRITES: usize = 150;
const ENV_DB: &str = "SQLITE_INTEROP_WRITER_DB";
const ENV_ID: &str = "SQLITE_INTEROP_WRITER_ID";
const ENV_GO: &str = "SQLITE_INTEROP_WRITER_GO";

fn writer_batch(i: usize) -> Batch {
    Batch {
        metrics: (0..10)
            .map(|k| metric(&format!("m{k}"), i as f64, i as i64))
            .collect(),
        params: vec![param(&format!("p{i}"), &i.to_string())],
        tags: vec![tag("last", &i.to_string())],
    }
}

fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// The `WINDOW <start> <end>` line a writer prints around its writes.
fn window(stdout: &str) -> (u128, u128) {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WINDOW "))
        .unwrap_or_else(|| panic!("no WINDOW line in {stdout}"));
    let (start, end) = line.split_once(' ').unwrap();
    (start.trim().parse().unwrap(), end.trim().parse().unwrap())
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no go signal");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One Rust writer process of `concurrent_writers` (the test binary runs itself).
#[test]
#[ignore = "helper process started by concurrent_writers"]
fn concurrent_writer_child() {
    let (Some(db), Some(id), Some(go)) = (
        std::env::var_os(ENV_DB),
        std::env::var(ENV_ID).ok(),
        std::env::var_os(ENV_GO),
    ) else {
        return;
    };
    let db = PathBuf::from(db);
    let store = SqliteStore::open(&db, db.parent().unwrap()).unwrap();
    runtime().block_on(async {
        let mut request = create_request("0", &format!("rust-writer-{id}"), None);
        request.run_id = Some(format!("rustwriter{id}"));
        let run = store.create_run(&request).await.unwrap();
        wait_for(Path::new(&go));
        let start = now_ms();
        for i in 0..WRITES {
            store
                .log_batch(&run.run_id, &writer_batch(i))
                .await
                .unwrap();
        }
        println!("WINDOW {start} {}", now_ms());
        store
            .update_run(
                &run.run_id,
                &RunUpdate::ended(RunStatus::Finished, 1_700_000_000_000),
            )
            .await
            .unwrap();
    });
}

#[test]
fn concurrent_writers() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let go = dir.path().join("go");
    drop(SqliteStore::open(&db, &dir.path().join("mlruns")).unwrap());

    let exe = std::env::current_exe().unwrap();
    let rust_writers: Vec<_> = (0..2)
        .map(|id| {
            Command::new(&exe)
                .args([
                    "concurrent_writer_child",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                ])
                .env(ENV_DB, &db)
                .env(ENV_ID, id.to_string())
                .env(ENV_GO, &go)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let python_writer = python_command()
        .current_dir(dir.path())
        .arg("-c")
        .arg(
            r#"
import json, sys, time, mlflow
from mlflow.entities import Metric, Param, RunTag
uri, go, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = mlflow.MlflowClient(tracking_uri=uri)
run = client.create_run("0", run_name="py-writer")
rid = run.info.run_id
open(go, "w").close()
start = time.time_ns() // 1000000
for i in range(n):
    client.log_batch(rid,
        metrics=[Metric(f"m{k}", float(i), 1700000000000 + i, i) for k in range(10)],
        params=[Param(f"p{i}", str(i))], tags=[RunTag("last", str(i))])
print(f"WINDOW {start} {time.time_ns() // 1000000}")
client.set_terminated(rid)
print(json.dumps({"run_id": rid}))
"#,
        )
        .arg(format!("sqlite:///{}", db.display()))
        .arg(&go)
        .arg(WRITES.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let mut run_ids = Vec::new();
    let mut windows = Vec::new();
    for (id, child) in rust_writers.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "rust writer {id} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        windows.push(window(&stdout));
        run_ids.push(format!("rustwriter{id}"));
    }
    let out = python_writer.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python writer failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    run_ids.push(last_json(&stdout)["run_id"].as_str().unwrap().to_owned());
    windows.push(window(&stdout));
    // The writers really wrote at the same time.
    let latest_start = windows.iter().map(|w| w.0).max().unwrap();
    let earliest_end = windows.iter().map(|w| w.1).min().unwrap();
    eprintln!("write windows (ms since epoch): {windows:?}");
    assert!(
        latest_start < earliest_end,
        "writers did not overlap: {windows:?}"
    );

    let conn = Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let count = |sql: &str, run: &str| -> i64 { conn.query_row(sql, [run], |r| r.get(0)).unwrap() };
    let last = (WRITES - 1) as f64;
    for run in &run_ids {
        assert_eq!(
            count("SELECT count(*) FROM metrics WHERE run_uuid = ?1", run),
            (WRITES * 10) as i64,
            "metrics of {run}"
        );
        assert_eq!(
            count("SELECT count(*) FROM params WHERE run_uuid = ?1", run),
            WRITES as i64
        );
        let (status, tag_last, latest): (String, String, f64) = conn
            .query_row(
                "SELECT r.status, t.value, l.value FROM runs r \
                 JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'last' \
                 JOIN latest_metrics l ON l.run_uuid = r.run_uuid AND l.key = 'm0' \
                 WHERE r.run_uuid = ?1",
                [run],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(status, "FINISHED", "{run}");
        assert_eq!(tag_last, (WRITES - 1).to_string(), "{run}");
        assert_eq!(latest, last, "{run}");
    }
}
