//! Against a fleet: two `mlflow server` processes over one PostgreSQL database, sharing one
//! artifact folder, behind nginx (`scripts/fleet.py`, started per test by test-support's
//! `Fleet`). Whatever server nginx picks for a request, runs nest, every value is stored
//! exactly once and artifacts land in the shared folder. Read back with MLflow's Python
//! client.
//!
//! The second test runs 8 worker processes x 25 children x 100 steps under one parent, as
//! `RunHandle::configure_worker` sets them up.
//!
//! Each test starts its own fleet (about 30 s); the binary runs in the `fleet` test group
//! (one test at a time, see `.config/nextest.toml`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use mlflow_test_support::{
    Fleet, FleetSpec, RunRecord, assert_passed, in_child, read_runs, require_fleet, run_python,
    self_command, spawn_self, unique_name, wait_child,
};

const CHILDREN: usize = 4;
const STEPS: i64 = 6;

/// The value child `i` logs for `loss` at `step`; every point is distinct.
fn loss(i: usize, step: i64) -> f64 {
    i as f64 + step as f64 / 8.0
}

/// `[[step, value], ...]` of metric `loss` for each run id in `RUN_IDS`, in that order.
const HISTORIES: &str = r#"
import json, os
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=os.environ["URI"])
print(json.dumps([[[m.step, m.value] for m in client.get_metric_history(r, "loss")]
                  for r in os.environ["RUN_IDS"].split(",")]))
"#;

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// The servers nginx sent requests to, from its access log (`upstream=ADDR`).
fn upstreams_used(fleet: &Fleet) -> BTreeSet<String> {
    let log = std::fs::read_to_string(fleet.dir().join("nginx-access.log")).unwrap_or_default();
    log.split_whitespace()
        .filter_map(|w| w.strip_prefix("upstream="))
        .map(|u| format!("http://{u}"))
        .collect()
}

#[test]
fn runs_logged_through_the_load_balancer_nest_and_count_once() {
    let fleet = require_fleet!();
    let uri = fleet.uri().to_owned();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name("fleet-smoke");
    mlflow::set_experiment(&experiment).unwrap();

    let src = tempfile::tempdir().unwrap();
    let note = src.path().join("fleet note.txt");
    std::fs::write(&note, b"logged through nginx\n").unwrap();

    let parent = mlflow::start_run().name("parent").start();
    let parent_id = parent.id().unwrap();
    mlflow::log_param("servers", fleet.server_uris().len()).unwrap();
    mlflow::log_artifact(&note).unwrap();
    for i in 0..CHILDREN {
        let _child = mlflow::start_run().name(format!("child_{i}")).start();
        mlflow::log_param("i", i).unwrap();
        mlflow::set_tag("fleet", "yes").unwrap();
        for step in 0..STEPS {
            mlflow::log_metric_with_step("loss", loss(i, step), step).unwrap();
        }
    }
    drop(parent);
    mlflow::flush().unwrap();

    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 1 + CHILDREN, "{runs:#?}\n{}", fleet.logs());
    let parent = RunRecord::named(&runs, "parent");
    assert_eq!(parent.run_id, parent_id);
    assert_eq!(parent.parent_run_id, None);
    assert_eq!(parent.params["servers"], "2");
    let children = parent.children(&runs);
    let names: Vec<&str> = children.iter().map(|c| c.run_name.as_str()).collect();
    let expected: Vec<String> = (0..CHILDREN).map(|i| format!("child_{i}")).collect();
    assert_eq!(names, expected, "every child nested under the parent");
    for run in &runs {
        assert_eq!(run.status, "FINISHED", "{}", run.run_name);
    }
    // Exactly once: no point lost, none stored twice (a request retried by a client or
    // replayed by the balancer would show up here). One Python process reads all histories.
    let ids: Vec<&str> = children.iter().map(|c| c.run_id.as_str()).collect();
    let histories = run_python(HISTORIES, &[("URI", &uri), ("RUN_IDS", &ids.join(","))]);
    for (i, child) in children.iter().enumerate() {
        assert_eq!(child.params["i"], i.to_string());
        assert_eq!(child.tags["fleet"], "yes");
        let mut points: Vec<(i64, f64)> = histories[i]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        points.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let expected: Vec<(i64, f64)> = (0..STEPS).map(|s| (s, loss(i, s))).collect();
        assert_eq!(points, expected, "history of loss in {}", child.run_name);
    }

    // The artifact went through nginx to one of the servers, into the shared folder.
    let landed: Vec<PathBuf> = files_under(&fleet.artifacts_dir())
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "fleet note.txt"))
        .collect();
    assert_eq!(landed.len(), 1, "one copy in {:?}", fleet.artifacts_dir());
    assert!(
        landed[0].to_string_lossy().contains(&parent_id),
        "{} is not under the parent run's folder",
        landed[0].display()
    );
    assert_eq!(
        std::fs::read(&landed[0]).unwrap(),
        b"logged through nginx\n"
    );

    // nginx balanced the requests over both servers.
    let used = upstreams_used(&fleet);
    let servers: BTreeSet<String> = fleet.server_uris().into_iter().collect();
    assert_eq!(used, servers, "requests reached every server");
}

// ---------------------------------------------------------------------------------------
// Many processes logging through the fleet at once.
// ---------------------------------------------------------------------------------------

const WORKERS: usize = 8;
const WORKER_CHILDREN: usize = 25;
const WORKER_STEPS: i64 = 100;

/// The value worker `w`'s child `c` logs at `step`; every point of the test is distinct
/// and exactly representable.
fn worker_loss(w: usize, c: usize, step: i64) -> f64 {
    (w * 1000 + c) as f64 + step as f64 / 128.0
}

/// One worker process: unchanged run code, nested by `configure_worker`'s environment.
#[test]
fn fleet_worker() {
    if !in_child() {
        return;
    }
    let w: usize = std::env::var("TEST_WORKER").unwrap().parse().unwrap();
    for c in 0..WORKER_CHILDREN {
        mlflow::start_run()
            .name(format!("w{w}-c{c}"))
            .param("worker", w)
            .param("child", c)
            .run(|| {
                for step in 0..WORKER_STEPS {
                    mlflow::log_metric_with_step("loss", worker_loss(w, c, step), step).unwrap();
                }
            });
    }
    mlflow::flush().expect("every value stored");
}

/// Every run of `EXPERIMENT` with its parent, status, params and `loss` history.
const SWEEP_READBACK: &str = r#"
import json, os
from mlflow.tracking import MlflowClient
client = MlflowClient(tracking_uri=os.environ["URI"])
exp = client.get_experiment_by_name(os.environ["EXPERIMENT"])
runs = client.search_runs([exp.experiment_id], max_results=1000)
print(json.dumps([{
    "name": r.info.run_name, "id": r.info.run_id, "status": r.info.status,
    "parent": r.data.tags.get("mlflow.parentRunId"), "params": r.data.params,
    "loss": sorted([m.step, m.value] for m in client.get_metric_history(r.info.run_id, "loss")),
} for r in runs]))
"#;

#[test]
fn eight_worker_processes_nest_under_one_parent_through_the_load_balancer() {
    let fleet = require_fleet!(FleetSpec::new().access_log(false));
    let uri = fleet.uri().to_owned();
    mlflow::set_tracking_uri(&uri).unwrap();
    let experiment = unique_name("fleet-workers");
    mlflow::set_experiment(&experiment).unwrap();
    let parent = mlflow::start_run().name("sweep").start();
    let parent_id = parent.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(150);
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let n = w.to_string();
            let mut command = self_command("fleet_worker", None, &[("TEST_WORKER", &n)]);
            parent.handle().configure_worker(&mut command).unwrap();
            spawn_self(command)
        })
        .collect();
    for child in workers {
        assert_passed("fleet_worker", &wait_child(child, deadline));
    }
    parent.end(mlflow::RunStatus::Finished);
    mlflow::flush().unwrap();

    let runs = run_python(
        SWEEP_READBACK,
        &[("URI", &uri), ("EXPERIMENT", &experiment)],
    );
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1 + WORKERS * WORKER_CHILDREN);
    let mut seen = BTreeSet::new();
    for run in runs {
        let name = run["name"].as_str().unwrap();
        assert_eq!(run["status"], "FINISHED", "{name}");
        if name == "sweep" {
            assert_eq!(run["id"], parent_id.as_str());
            assert!(run["parent"].is_null());
            continue;
        }
        assert_eq!(run["parent"], parent_id.as_str(), "{name} nested");
        let w: usize = run["params"]["worker"].as_str().unwrap().parse().unwrap();
        let c: usize = run["params"]["child"].as_str().unwrap().parse().unwrap();
        assert_eq!(name, format!("w{w}-c{c}"));
        assert!(seen.insert((w, c)), "{name} once");
        let points: Vec<(i64, f64)> = run["loss"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_i64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let expected: Vec<(i64, f64)> = (0..WORKER_STEPS)
            .map(|s| (s, worker_loss(w, c, s)))
            .collect();
        assert_eq!(points, expected, "every point of {name} exactly once");
    }
    assert_eq!(seen.len(), WORKERS * WORKER_CHILDREN);
}
