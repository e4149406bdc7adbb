//! The helpers themselves, against a real server: what Python writes, they read back.

use mlflow_test_support::{
    RunRecord, metric_history, read_runs, require_python, run_python, start_server, unique_name,
};

const WRITE: &str = r#"
import json, math, os
from mlflow.tracking import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"])
e = c.create_experiment(os.environ["EXP"])
p = c.create_run(e, run_name="parent")
k = c.create_run(e, run_name="child", tags={"mlflow.parentRunId": p.info.run_id})
for step, v in enumerate([0.5, math.nan, 2.5]):
    c.log_metric(k.info.run_id, "m", v, step=step)
c.log_metric(k.info.run_id, "n", math.nan)
c.log_param(k.info.run_id, "lr", "0.1")
c.set_tag(k.info.run_id, "t", "x")
c.set_terminated(k.info.run_id)
c.set_terminated(p.info.run_id, "FAILED")
print(json.dumps({"parent": p.info.run_id, "child": k.info.run_id}))
"#;

#[test]
fn private_server_round_trip() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&dir.path().join("mlflow.db"));
    let experiment = unique_name("harness");
    let ids = run_python(WRITE, &[("URI", server.uri()), ("EXP", &experiment)]);

    let runs = read_runs(server.uri(), &experiment);
    assert_eq!(runs.len(), 2);
    let parent = RunRecord::named(&runs, "parent");
    assert_eq!(parent.run_id, ids["parent"].as_str().unwrap());
    assert_eq!(parent.status, "FAILED");
    assert!(parent.end_time.is_some());
    let children = parent.children(&runs);
    assert_eq!(children.len(), 1);
    let child = children[0];
    assert_eq!(child.run_id, ids["child"].as_str().unwrap());
    assert_eq!(child.status, "FINISHED");
    assert_eq!(child.params["lr"], "0.1");
    assert_eq!(child.tags["t"], "x");
    assert_eq!(child.tags["mlflow.runName"], "child");
    assert_eq!(child.metrics["m"], 2.5);
    assert!(child.metrics["n"].is_nan());

    let history = metric_history(server.uri(), &child.run_id, "m");
    let steps: Vec<i64> = history.iter().map(|p| p.step).collect();
    assert_eq!(steps, [0, 1, 2]);
    assert!(history[1].value.is_nan());

    assert!(read_runs(server.uri(), "no-such-experiment").is_empty());

    let uri = server.uri().to_owned();
    drop(server);
    let port: u16 = uri.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "server still listening after drop"
    );
}

#[test]
fn server_uri_answers() {
    let uri = mlflow_test_support::require_server!();
    let experiment = unique_name("answers");
    let created = run_python(
        "import json, os\nfrom mlflow.tracking import MlflowClient\n\
         print(json.dumps(MlflowClient(os.environ['URI']).create_experiment(os.environ['EXP'])))",
        &[("URI", &uri), ("EXP", &experiment)],
    );
    assert!(created.as_str().is_some_and(|id| !id.is_empty()));
}
