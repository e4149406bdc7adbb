//! The rest of the tracking API on both stores (the suite's server and the embedded store),
//! read back with MLflow's Python client: experiments (created with an artifact location and
//! tags, made active by id, their tags, found by tag, renamed, deleted and restored with their
//! runs) and runs by id (deleted and restored, tags deleted, renamed and stopped, ended at a
//! given time, their parents, the last active run, artifact URIs).

mod stores;

use mlflow::{Batch, Client, Metric, Param, RunStatus, RunUpdate};
use mlflow_test_support::{run_python, unique_name};
use serde_json::Value;
use stores::{Target, on_both_stores};

/// What MLflow's Python client reads: the experiments and runs with these ids, and the
/// names of the active experiments a filter finds.
const READ: &str = r#"
import json, os
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
out = {"experiments": {}, "runs": {}, "found": []}
for i in filter(None, os.environ["EXPERIMENTS"].split(",")):
    e = c.get_experiment(i)
    out["experiments"][i] = {"name": e.name, "stage": e.lifecycle_stage, "tags": e.tags,
                             "location": e.artifact_location, "created": e.creation_time,
                             "updated": e.last_update_time}
for r in filter(None, os.environ["RUNS"].split(",")):
    run = c.get_run(r)
    out["runs"][r] = {"name": run.info.run_name, "stage": run.info.lifecycle_stage,
                      "status": run.info.status, "end_time": run.info.end_time,
                      "tags": run.data.tags}
if os.environ["FILTER"]:
    out["found"] = sorted(e.name for e in c.search_experiments(filter_string=os.environ["FILTER"]))
print(json.dumps(out))
"#;

fn read(t: &Target, experiments: &[&str], runs: &[&str], filter: &str) -> Value {
    mlflow::flush().expect("flush");
    run_python(
        READ,
        &[
            ("URI", t.uri.as_str()),
            ("EXPERIMENTS", &experiments.join(",")),
            ("RUNS", &runs.join(",")),
            ("FILTER", filter),
        ],
    )
}

fn code<T: std::fmt::Debug>(result: mlflow::Result<T>) -> String {
    match result {
        Err(e) => e
            .error_code()
            .unwrap_or_else(|| panic!("not an MLflow error: {e:?}"))
            .to_owned(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

fn experiments(t: &Target) {
    let name = unique_name("managed");
    let team = unique_name("team");
    let location = format!("/tmp/mlflow-rs-tests/{name}");
    let id = mlflow::create_experiment(&name)
        .artifact_location(&location)
        .tag("team", &team)
        .tags([("stage", "dev"), ("owner", "rs")])
        .create()
        .expect("create_experiment");
    assert_eq!(
        code(mlflow::create_experiment(&name).create()),
        "RESOURCE_ALREADY_EXISTS"
    );

    // Made active by id: runs and experiment tags go there.
    let active = mlflow::set_experiment_by_id(&id).expect("set_experiment_by_id");
    assert_eq!(
        (active.name.as_str(), active.tag("team")),
        (name.as_str(), Some(team.as_str()))
    );
    let run_id = mlflow::start_run()
        .name("inside")
        .run(|| mlflow::active_run_id().unwrap());
    mlflow::set_experiment_tag("release", 2).unwrap();
    mlflow::set_experiment_tags([("stage", "prod"), ("extra", "x")]).unwrap();
    mlflow::delete_experiment_tag("owner").unwrap();
    assert_eq!(
        code(mlflow::delete_experiment_tag("owner")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    let client = Client::new();
    client.set_experiment_tag(&id, "by_client", "y").unwrap();
    client.delete_experiment_tag(&id, "extra").unwrap();

    let got = mlflow::get_experiment(&id).unwrap();
    assert_eq!(got.tag("release"), Some("2"));
    assert!(got.creation_time.is_some() && got.last_update_time.is_some());
    assert_eq!(mlflow::get_experiment_by_name(&name).unwrap(), Some(got));
    let found = mlflow::search_experiments()
        .filter(format!("tags.team = '{team}'"))
        .collect_all()
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].experiment_id, id);

    // Renamed; a name another experiment has is refused by the database.
    let renamed = unique_name("renamed");
    client.rename_experiment(&id, &renamed).unwrap();
    let other = mlflow::create_experiment(unique_name("other"))
        .create()
        .unwrap();
    assert_eq!(
        code(client.rename_experiment(&other, &renamed)),
        "BAD_REQUEST"
    );

    // Deleted with its runs.
    mlflow::delete_experiment(&id).unwrap();
    let back = read(t, &[&id], &[&run_id], &format!("tags.team = '{team}'"));
    let e = &back["experiments"][&id];
    assert_eq!(e["name"], renamed.as_str());
    assert_eq!(e["stage"], "deleted");
    assert_eq!(e["location"], location.as_str());
    let tags = &e["tags"];
    assert_eq!(
        (
            &tags["team"],
            &tags["stage"],
            &tags["release"],
            &tags["by_client"]
        ),
        (
            &Value::from(team.as_str()),
            &Value::from("prod"),
            &Value::from("2"),
            &Value::from("y")
        )
    );
    assert!(
        tags.get("owner").is_none() && tags.get("extra").is_none(),
        "{tags}"
    );
    assert!(e["updated"].as_i64() >= e["created"].as_i64());
    assert_eq!(back["runs"][&run_id]["stage"], "deleted");
    assert_eq!(
        back["found"],
        Value::Array(Vec::new()),
        "a deleted experiment is not found"
    );

    assert_eq!(
        code(mlflow::delete_experiment(&id)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(mlflow::set_experiment_by_id(&id)),
        "INVALID_PARAMETER_VALUE"
    );
    assert_eq!(code(client.rename_experiment(&id, "x")), "INVALID_STATE");
    assert_eq!(
        code(client.set_experiment_tag(&id, "k", "v")),
        "INVALID_PARAMETER_VALUE"
    );

    // Restored with its runs.
    mlflow::restore_experiment(&id).unwrap();
    assert_eq!(
        code(mlflow::restore_experiment(&id)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    let back = read(t, &[&id], &[&run_id], &format!("tags.team = '{team}'"));
    assert_eq!(back["experiments"][&id]["stage"], "active");
    assert_eq!(back["runs"][&run_id]["stage"], "active");
    assert_eq!(back["found"], Value::from(vec![renamed.as_str()]));

    let missing = "987654321";
    assert_eq!(
        code(mlflow::get_experiment(missing)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert_eq!(
        code(mlflow::set_experiment_by_id(missing)),
        "RESOURCE_DOES_NOT_EXIST"
    );
    assert!(
        mlflow::get_experiment_by_name(&unique_name("none"))
            .unwrap()
            .is_none()
    );
}

fn runs_by_id(t: &Target) {
    // Tags deleted in queue order, a parent, an artifact URI, the last active run.
    let (parent_id, child_id) = {
        let parent = mlflow::start_run()
            .name("parent")
            .tag("draft", "yes")
            .start();
        mlflow::set_tag("scratch", "1").unwrap();
        mlflow::delete_tag("scratch").unwrap();
        parent.handle().delete_tag("draft").unwrap();
        assert_eq!(
            code(mlflow::delete_tag("never-set")),
            "RESOURCE_DOES_NOT_EXIST"
        );
        let root = mlflow::get_artifact_uri("").unwrap();
        let stored = mlflow::get_run(&parent.id().unwrap()).unwrap();
        assert_eq!(root, stored.info.artifact_uri);
        assert_eq!(
            mlflow::get_artifact_uri("/features/x.txt").unwrap(),
            format!("{root}/features/x.txt")
        );
        let child = mlflow::start_run().name("child").start();
        assert_eq!(
            child.handle().artifact_uri("a").unwrap(),
            format!(
                "{}/a",
                mlflow::get_run(&child.id().unwrap())
                    .unwrap()
                    .info
                    .artifact_uri
            )
        );
        let child_id = child.id().unwrap();
        drop(child);
        assert_eq!(
            mlflow::last_active_run().unwrap().unwrap().info.run_id,
            parent.id().unwrap(),
            "the active run comes first"
        );
        (parent.id().unwrap(), child_id)
    };
    let last = mlflow::last_active_run()
        .unwrap()
        .expect("the parent ended last");
    assert_eq!(last.info.run_id, parent_id);
    assert_eq!(last.info.status, RunStatus::Finished);
    let parent = mlflow::get_parent_run(&child_id)
        .unwrap()
        .expect("a parent");
    assert_eq!(parent.info.run_id, parent_id);
    assert!(mlflow::get_parent_run(&parent_id).unwrap().is_none());
    assert!(
        std::thread::spawn(|| mlflow::last_active_run().unwrap())
            .join()
            .unwrap()
            .is_none(),
        "another thread has no last active run"
    );

    // Renamed and stopped; ended at given times.
    let client = Client::new();
    client
        .update_run(
            &child_id,
            RunUpdate::status(RunStatus::Killed).with_name("stopped"),
        )
        .unwrap();
    client.update_run(&child_id, RunUpdate::default()).unwrap();
    let guarded = mlflow::start_run().name("guarded").top_level().start();
    let guarded_id = guarded.id().unwrap();
    guarded.end_at(RunStatus::Failed, 1_700_000_000_123);
    // An ended run ends again, as MLflow allows: with the time given.
    let ended = mlflow::start_run().name("ended").top_level().start();
    let ended_id = ended.id().unwrap();
    drop(ended);
    client
        .set_terminated_at(&ended_id, RunStatus::Finished, 1_700_000_000_456)
        .unwrap();

    // Deleted and restored.
    mlflow::delete_run(&parent_id).unwrap();
    assert_eq!(
        code(client.delete_tag(&parent_id, "mlflow.user")),
        "INVALID_PARAMETER_VALUE"
    );
    let ids = [&*parent_id, &*child_id, &*ended_id, &*guarded_id];
    let back = read(t, &[], &ids, "");
    let runs = &back["runs"];
    assert_eq!(runs[&parent_id]["stage"], "deleted");
    let parent_tags = &runs[&parent_id]["tags"];
    assert!(parent_tags.get("draft").is_none() && parent_tags.get("scratch").is_none());
    let child = &runs[&child_id];
    assert_eq!(
        (&child["name"], &child["status"]),
        (&Value::from("stopped"), &Value::from("KILLED"))
    );
    assert_eq!(child["tags"]["mlflow.runName"], "stopped");
    assert_eq!(runs[&guarded_id]["end_time"], 1_700_000_000_123_i64);
    assert_eq!(runs[&guarded_id]["status"], "FAILED");
    assert_eq!(runs[&ended_id]["end_time"], 1_700_000_000_456_i64);
    assert_eq!(runs[&ended_id]["status"], "FINISHED");

    mlflow::restore_run(&parent_id).unwrap();
    client.restore_run(&parent_id).unwrap();
    assert_eq!(
        mlflow::get_run(&parent_id).unwrap().info.lifecycle_stage,
        "active"
    );
    let unknown = "0123456789abcdef0123456789abcdef";
    assert_eq!(code(mlflow::delete_run(unknown)), "RESOURCE_DOES_NOT_EXIST");
    assert_eq!(
        code(client.delete_tag(unknown, "k")),
        "RESOURCE_DOES_NOT_EXIST"
    );
    let _ = t;
}

/// `Client::log_batch_synchronous`: stored before it returns, and a param that the run holds
/// with another value is the store's error, returned (what claims a key across processes).
/// The rest of a refused batch: a server stores none of it, the embedded store all of it
/// (`SqliteStore::log_batch`); so a claim and what depends on it go in two batches.
fn synchronous_batches(t: &Target) {
    let client = Client::new();
    let run = mlflow::start_run().name("synchronous").start();
    let id = run.id().expect("run id");
    let claim = |value: &str, step: i64| {
        Batch {
            params: vec![Param {
                key: "claim.0".into(),
                value: value.into(),
            }],
            ..Batch::default()
        }
        .with_point(step)
    };
    client
        .log_batch_synchronous(&id, claim("a", 1))
        .expect("first claim");
    client
        .log_batch_synchronous(&id, claim("a", 2))
        .expect("the same value again");
    assert_eq!(
        code(client.log_batch_synchronous(&id, claim("b", 3))),
        "INVALID_PARAMETER_VALUE"
    );
    drop(run);
    mlflow::flush().expect("flush");
    let got = run_python(
        r#"
import json, os
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
print(json.dumps({"params": c.get_run(os.environ["RUN"]).data.params,
                  "steps": sorted(m.step for m in c.get_metric_history(os.environ["RUN"], "point"))}))
"#,
        &[("URI", t.uri.as_str()), ("RUN", id.as_str())],
    );
    assert_eq!(got["params"]["claim.0"], "a");
    let steps: Vec<i64> = serde_json::from_value(got["steps"].clone()).expect("steps");
    let expected: &[i64] = if t.uri.starts_with("http") {
        &[1, 2]
    } else {
        &[1, 2, 3]
    };
    assert_eq!(steps, expected);
}

/// A metric point at `step` added to a batch.
trait WithPoint {
    fn with_point(self, step: i64) -> Batch;
}

impl WithPoint for Batch {
    fn with_point(mut self, step: i64) -> Batch {
        self.metrics
            .push(Metric::new("point", 1.0, 1_700_000_000_000 + step, step));
        self
    }
}

on_both_stores!(experiments, runs_by_id, synchronous_batches);
