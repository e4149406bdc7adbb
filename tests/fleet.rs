//! Against a fleet: two `mlflow server` processes over one PostgreSQL database, sharing one
//! artifact folder, behind nginx (`scripts/fleet.py`, started per test by test-support's
//! `Fleet`). Whatever server nginx picks for a request, runs nest, every value is stored
//! exactly once and artifacts land in the shared folder. Read back with MLflow's Python
//! client.
//!
//! Each test starts its own fleet (about 30 s); the binary runs in the `fleet` test group
//! (one test at a time, see `.config/nextest.toml`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mlflow_test_support::{Fleet, RunRecord, read_runs, require_fleet, run_python, unique_name};

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
// Many processes logging through the fleet at once: the 8-process worker test goes here
// (it starts its own fleet with `require_fleet!(FleetSpec::new()...)`).
// ---------------------------------------------------------------------------------------
