//! Configuration: tracking URIs the crate refuses (with what to use instead), HTTP settings
//! it refuses, and the `MLFLOW_EXPERIMENT_NAME`, `MLFLOW_EXPERIMENT_ID` and `MLFLOW_RUN_ID`
//! variables. The variables are read by a fresh process each time (see `run_self`), as a
//! user would set them.

use mlflow_test_support::{
    RunRecord, in_child, read_runs, require_server, run_python, run_self, unique_name,
};

const UNSUPPORTED: &[&str] = &[
    "postgresql://user:secret@localhost:5432/mlflow",
    "mysql://user@localhost/mlflow",
    "databricks",
    "databricks://profile",
    "file:///x/mlruns",
    "./mlruns",
];

fn assert_config_error<T: std::fmt::Debug>(uri: &str, result: mlflow::Result<T>) {
    match result {
        Err(mlflow::Error::Config(message)) => {
            assert!(
                message.contains("sqlite") || message.contains("http"),
                "the error for {uri:?} should say what to use instead: {message}"
            );
            assert!(
                !message.contains("secret"),
                "credentials leaked into: {message}"
            );
        }
        other => panic!("{uri:?}: expected Error::Config, got {other:?}"),
    }
}

#[test]
fn unsupported_uris_are_config_errors() {
    let before = mlflow::get_tracking_uri();
    for uri in UNSUPPORTED {
        assert_config_error(uri, mlflow::set_tracking_uri(uri));
        assert_eq!(
            mlflow::get_tracking_uri(),
            before,
            "a refused URI leaves the old one in place"
        );
        assert_config_error(uri, mlflow::Client::with_tracking_uri(uri));
    }
}

#[test]
fn an_unsupported_uri_from_the_environment_is_a_config_error() {
    if in_child() {
        let uri = std::env::var("MLFLOW_TRACKING_URI").unwrap();
        assert_config_error(&uri, mlflow::set_experiment("never-created"));
        assert_config_error(&uri, mlflow::Client::new().get_run("0123456789abcdef"));
        return;
    }
    for uri in [
        "postgresql://user:secret@localhost/mlflow",
        "file:///x/mlruns",
    ] {
        run_self(
            "an_unsupported_uri_from_the_environment_is_a_config_error",
            None,
            &[("MLFLOW_TRACKING_URI", uri)],
        );
    }
}

/// The child's part of the environment tests: one run named `$RUN_NAME`, no experiment
/// chosen in code.
fn log_one_run() {
    let name = std::env::var("RUN_NAME").unwrap();
    {
        let _run = mlflow::start_run().name(name).start();
        mlflow::log_metric("m", 1.0).unwrap();
    }
    mlflow::flush().unwrap();
}

#[test]
fn experiment_name_from_the_environment_is_got_or_created() {
    if in_child() {
        return log_one_run();
    }
    let uri = require_server!();
    let experiment = unique_name("config-env-name");
    for run_name in ["creates", "reuses"] {
        run_self(
            "experiment_name_from_the_environment_is_got_or_created",
            None,
            &[
                ("MLFLOW_TRACKING_URI", &uri),
                ("MLFLOW_EXPERIMENT_NAME", &experiment),
                ("RUN_NAME", run_name),
            ],
        );
    }
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    assert_eq!(
        RunRecord::named(&runs, "creates").experiment_id,
        RunRecord::named(&runs, "reuses").experiment_id
    );
}

#[test]
fn experiment_id_from_the_environment_selects_the_experiment() {
    if in_child() {
        return log_one_run();
    }
    let uri = require_server!();
    let experiment = unique_name("config-env-id");
    let id = run_python(
        "import json, os\nfrom mlflow.tracking import MlflowClient\n\
         print(json.dumps(MlflowClient(os.environ['URI']).create_experiment(os.environ['EXP'])))",
        &[("URI", &uri), ("EXP", &experiment)],
    );
    let id = id.as_str().unwrap();
    run_self(
        "experiment_id_from_the_environment_selects_the_experiment",
        None,
        &[
            ("MLFLOW_TRACKING_URI", &uri),
            ("MLFLOW_EXPERIMENT_ID", id),
            ("RUN_NAME", "by-id"),
        ],
    );
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0].run_name, "by-id");
    assert_eq!(runs[0].experiment_id, id);
}

const CREATE_FINISHED_RUN: &str = r#"
import json, os
from mlflow.tracking import MlflowClient
c = MlflowClient(os.environ["URI"])
e = c.create_experiment(os.environ["EXP"])
r = c.create_run(e, run_name="resumable")
c.log_param(r.info.run_id, "a", "1")
c.log_metric(r.info.run_id, "m", 1.0, step=0)
c.set_terminated(r.info.run_id, "FINISHED")
print(json.dumps({"run_id": r.info.run_id, "end_time": c.get_run(r.info.run_id).info.end_time}))
"#;

#[test]
fn run_id_from_the_environment_resumes_the_run() {
    if in_child() {
        let run_id = std::env::var("MLFLOW_RUN_ID").unwrap();
        {
            let run = mlflow::start_run().start();
            assert_eq!(run.id().unwrap(), run_id);
            mlflow::log_metric_with_step("m", 2.0, 1).unwrap();
            mlflow::log_param("a", 1).unwrap();
            mlflow::flush().unwrap();
            let info = mlflow::Client::new().get_run(&run_id).unwrap().info;
            assert_eq!(
                info.status,
                mlflow::RunStatus::Running,
                "a resumed run is RUNNING again"
            );
        }
        // Like Python, the variable is used once: the next run is a new one.
        let next = mlflow::start_run().name("after").start();
        assert_ne!(next.id().unwrap(), run_id);
        drop(next);
        mlflow::flush().unwrap();
        return;
    }
    let uri = require_server!();
    let experiment = unique_name("config-env-run-id");
    let created = run_python(CREATE_FINISHED_RUN, &[("URI", &uri), ("EXP", &experiment)]);
    let run_id = created["run_id"].as_str().unwrap();
    let first_end = created["end_time"].as_i64().unwrap();
    run_self(
        "run_id_from_the_environment_resumes_the_run",
        None,
        &[
            ("MLFLOW_TRACKING_URI", &uri),
            ("MLFLOW_EXPERIMENT_NAME", &experiment),
            ("MLFLOW_RUN_ID", run_id),
        ],
    );
    let runs = read_runs(&uri, &experiment);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let resumed = RunRecord::named(&runs, "resumable");
    assert_eq!(resumed.run_id, run_id);
    assert_eq!(resumed.status, "FINISHED");
    assert_eq!(resumed.params["a"], "1");
    assert_eq!(resumed.metrics["m"], 2.0);
    assert!(resumed.end_time.is_some_and(|end| end >= first_end));
    assert_eq!(RunRecord::named(&runs, "after").parent_run_id, None);
}

#[test]
fn bad_http_settings_in_the_environment_are_config_errors() {
    if in_child() {
        let var = std::env::var("BAD_VAR").unwrap();
        match mlflow::set_experiment("never-created") {
            Err(mlflow::Error::Config(message)) => {
                assert!(
                    message.contains(&var),
                    "the error should name {var}: {message}"
                )
            }
            other => panic!("expected Error::Config, got {other:?}"),
        }
        return;
    }
    for (var, value) in [
        ("MLFLOW_RS_HTTP_IN_FLIGHT", "0"),
        ("MLFLOW_RS_HTTP_IN_FLIGHT", "many"),
        ("MLFLOW_RS_HTTP_CONCURRENCY", "0"),
        ("MLFLOW_RS_HTTP_CONCURRENCY", "65"),
        ("MLFLOW_RS_HTTP_KEEPALIVE", "maybe"),
        // Over the Python client's limits: refused as it refuses them, not clamped.
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "11"),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "121"),
        ("MLFLOW_ARTIFACT_UPLOAD_DOWNLOAD_TIMEOUT", "0"),
    ] {
        // Port 9 (discard) is never contacted: the settings are refused first.
        run_self(
            "bad_http_settings_in_the_environment_are_config_errors",
            None,
            &[
                ("MLFLOW_TRACKING_URI", "http://127.0.0.1:9"),
                (var, value),
                ("BAD_VAR", var),
            ],
        );
    }
}

/// Skipping verification and verifying with a CA bundle at once are refused, as the Python
/// client refuses them.
#[test]
fn insecure_tls_with_a_certificate_path_is_refused() {
    if in_child() {
        match mlflow::set_experiment("never-created") {
            Err(mlflow::Error::Config(message)) => assert!(
                message.contains("MLFLOW_TRACKING_INSECURE_TLS")
                    && message.contains("MLFLOW_TRACKING_SERVER_CERT_PATH"),
                "{message}"
            ),
            other => panic!("expected Error::Config, got {other:?}"),
        }
        return;
    }
    run_self(
        "insecure_tls_with_a_certificate_path_is_refused",
        None,
        &[
            ("MLFLOW_TRACKING_URI", "https://127.0.0.1:9"),
            ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
            ("MLFLOW_TRACKING_SERVER_CERT_PATH", "/nonexistent/ca.pem"),
        ],
    );
}
