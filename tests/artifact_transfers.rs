//! Artifact transfers beside the background sender: while an upload is under way (held by
//! the fault proxy in front of a real server that proxies artifacts), metrics logged from
//! another thread are stored, and the upload still returns its own result.

mod faults_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use faults_support::proxy::{Action, Proxy};
use mlflow_test_support::{ServerSpec, metric_history, require_python, unique_name};

#[test]
fn metrics_are_delivered_while_an_upload_is_under_way() {
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    let server = ServerSpec::sqlite(&dir.path().join("m.db"))
        .artifacts_destination(dir.path().join("proxied"))
        .start();
    let proxy = Proxy::start(server.port());
    mlflow::set_tracking_uri(&proxy.uri()).unwrap();
    mlflow::set_experiment(&unique_name("beside")).unwrap();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    proxy.script("held.bin", vec![Action::Held(gate.clone())]);
    let file = dir.path().join("held.bin");
    std::fs::write(&file, vec![7u8; 1 << 20]).unwrap();

    let run = mlflow::start_run().name("beside").start();
    let run_id = run.id().unwrap();
    let handle = run.handle();
    let uploader = {
        let (handle, file) = (handle.clone(), file.clone());
        std::thread::spawn(move || handle.log_artifact(&file))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.count("held.bin") == 0 {
        assert!(
            Instant::now() < deadline,
            "the upload never reached the proxy"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The upload is held at the proxy: metrics of the same run still go through.
    let started = Instant::now();
    for step in 0..10 {
        handle
            .log_metric_with_step("during_upload", step as f64, step)
            .unwrap();
    }
    mlflow::flush().expect("metrics stored while the upload is held");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "metrics waited {:?}",
        started.elapsed()
    );
    assert!(!uploader.is_finished(), "the upload is still held");
    assert_eq!(
        metric_history(server.uri(), &run_id, "during_upload").len(),
        10
    );

    gate.add_permits(1);
    uploader
        .join()
        .unwrap()
        .expect("the upload finishes once released, and its caller gets its result");
    let listed = mlflow::list_artifacts(&run_id, "").unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].file_size, Some(1 << 20));
    drop(run);
    mlflow::flush().unwrap();
}
