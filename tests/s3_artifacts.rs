//! Artifacts in S3 (the `s3` feature) against a real S3 API (moto) and real MLflow servers,
//! read back through the Python client and boto3: a server that hands out `s3://` URIs (the
//! crate writes the bucket itself), the embedded store with an `s3://` experiment, a
//! proxying server with multipart uploads and downloads through presigned URLs, an interrupted multipart
//! upload on either path (aborted, nothing half-written), bad keys and a missing bucket. Every test starts
//! its own moto (a second or two); none runs against the old MLflow.

mod s3_support;

use std::path::Path;

use mlflow_test_support::{Moto, ServerSpec, require_python, run_python, unique_name};
use s3_support::{FaultProxy, pattern_file, set_env, sha256_hex};

const MIB: usize = 1024 * 1024;

/// The tests' HTTP settings: few, quick retries.
fn quick_retries() -> Vec<(String, String)> {
    vec![
        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES".into(), "1".into()),
        // Whole seconds: the Python client started from the tests reads these too.
        ("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR".into(), "1".into()),
        ("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER".into(), "0".into()),
    ]
}

fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// `{relative path: sha256}` of every file the Python client downloads from the run (into a
/// folder under `dir`, removed with the test's temporary folder).
fn python_download(
    uri: &str,
    run_id: &str,
    env: &[(String, String)],
    dir: &Path,
) -> serde_json::Value {
    let dest = dir.join("python-download");
    std::fs::create_dir_all(&dest).unwrap();
    let mut env = env_refs(env);
    env.extend([
        ("URI", uri),
        ("RUN", run_id),
        ("DEST", dest.to_str().unwrap()),
    ]);
    run_python(
        r#"
import hashlib, json, os
from mlflow import MlflowClient
c = MlflowClient(os.environ["URI"])
d = c.download_artifacts(os.environ["RUN"], "", os.environ["DEST"])
out = {}
for root, _, files in os.walk(d):
    for f in files:
        p = os.path.join(root, f)
        out[os.path.relpath(p, d)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
print(json.dumps(out))
"#,
        &env,
    )
}

#[test]
fn a_server_without_the_proxy_hands_out_s3_uris_and_both_clients_share_the_bytes() {
    require_python!();
    let Some(moto) = Moto::start("direct") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = ServerSpec::sqlite(&dir.path().join("m.db"))
        .default_artifact_root(format!("s3://{}/root", moto.bucket()))
        .args(["--no-serve-artifacts"])
        .envs(moto.env())
        .start();
    set_env(&moto.env());
    mlflow::set_tracking_uri(server.uri()).unwrap();
    mlflow::set_experiment(&unique_name("s3-direct")).unwrap();

    let small = dir.path().join("notes.txt");
    std::fs::write(&small, "written by Rust").unwrap();
    // 20 MiB: three parts of 8 MiB, as boto3 would cut it.
    let big = dir.path().join("weights.bin");
    pattern_file(&big, 20 * MIB);
    let run = mlflow::start_run().name("direct").start();
    let run_id = run.id().unwrap();
    mlflow::log_artifact(&small).unwrap();
    mlflow::log_artifact_to(&big, "model").unwrap();
    mlflow::log_text("text", "sub/dir/t.txt").unwrap();
    let uri = mlflow::get_run(&run_id).unwrap().info.artifact_uri;
    assert!(uri.starts_with("s3://direct/root/"), "{uri}");

    // The bytes are in the bucket under the run's root, whole.
    let prefix = uri.trim_start_matches("s3://direct/");
    let objects = moto.objects(prefix);
    let size_of = |name: &str| {
        objects
            .iter()
            .find(|(k, _)| k.ends_with(name))
            .map(|(_, s)| *s)
    };
    assert_eq!(
        size_of("model/weights.bin"),
        Some(20 * MIB as u64),
        "{objects:?}"
    );
    assert_eq!(size_of("notes.txt"), Some(15));
    assert!(moto.open_uploads().is_empty());

    // The Python client (boto3) reads the same bytes.
    let got = python_download(server.uri(), &run_id, &moto.env(), dir.path());
    assert_eq!(got["model/weights.bin"], sha256_hex(&big));
    assert_eq!(got["notes.txt"], sha256_hex(&small));
    assert!(got.get("sub/dir/t.txt").is_some(), "{got}");

    // And the reverse: what Python writes, the crate lists and downloads.
    let from_python = dir.path().join("py.bin");
    pattern_file(&from_python, 3 * MIB);
    let moto_env = moto.env();
    let mut env = env_refs(&moto_env);
    let path = from_python.to_str().unwrap();
    env.extend([("URI", server.uri()), ("RUN", &run_id), ("F", path)]);
    run_python(
        "import os\nfrom mlflow import MlflowClient\nMlflowClient(os.environ['URI']).log_artifact(os.environ['RUN'], os.environ['F'], 'py')\nprint('{}')",
        &env,
    );
    let listed = mlflow::list_artifacts(&run_id, "py").unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].path, "py/py.bin");
    assert_eq!(listed[0].file_size, Some(3 * MIB as u64));
    let root = mlflow::list_artifacts(&run_id, "").unwrap();
    let dirs: Vec<_> = root
        .iter()
        .filter(|f| f.is_dir)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(dirs, ["model", "py", "sub"], "{root:?}");
    let back = dir.path().join("back");
    let local = mlflow::download_artifacts(&run_id, "", &back).unwrap();
    assert_eq!(
        std::fs::read(local.join("py/py.bin")).unwrap(),
        std::fs::read(&from_python).unwrap()
    );
    assert_eq!(
        sha256_hex(&local.join("model/weights.bin")),
        sha256_hex(&big),
        "a large object comes back in ranges, in order"
    );
    drop(run);
    mlflow::flush().unwrap();
}

#[test]
fn an_embedded_experiment_with_an_s3_location_keeps_its_artifacts_in_the_bucket() {
    require_python!();
    let Some(moto) = Moto::start("embedded") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    set_env(&moto.env());
    let db = dir.path().join("mlflow.db");
    mlflow::set_tracking_uri(&format!("sqlite:///{}", db.display())).unwrap();
    let id = mlflow::create_experiment(unique_name("s3-embedded"))
        .artifact_location("s3://embedded/exp")
        .create()
        .unwrap();
    mlflow::set_experiment_by_id(&id).unwrap();
    let file = dir.path().join("a.json");
    std::fs::write(&file, "{\"k\": 1}").unwrap();
    let run = mlflow::start_run().start();
    let run_id = run.id().unwrap();
    mlflow::log_artifact_to(&file, "cfg").unwrap();
    drop(run);
    mlflow::flush().unwrap();
    assert_eq!(
        moto.objects("exp/"),
        vec![(format!("exp/{run_id}/artifacts/cfg/a.json"), 8)]
    );
    let listed = mlflow::list_artifacts(&run_id, "cfg").unwrap();
    assert_eq!(listed[0].path, "cfg/a.json");
    let text = mlflow::load_text(&format!("runs:/{run_id}/cfg/a.json")).unwrap();
    assert_eq!(text, "{\"k\": 1}");

    // A logged model's files go to the same bucket, under the experiment's `models/`.
    let weights = dir.path().join("weights.bin");
    std::fs::write(&weights, b"weights").unwrap();
    let model = {
        let _run = mlflow::start_run().start();
        mlflow::log_model("net", &weights).unwrap()
    };
    mlflow::flush().unwrap();
    let mut stored: Vec<String> = moto
        .objects(&format!("exp/models/{}/", model.model_id()))
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    stored.sort();
    let at = format!("exp/models/{}/artifacts", model.model_id());
    assert_eq!(
        stored,
        vec![format!("{at}/MLmodel"), format!("{at}/weights.bin")]
    );
    assert_eq!(model.status, mlflow::LoggedModelStatus::Ready);
}

#[test]
fn a_direct_multipart_upload_that_fails_is_aborted_and_leaves_no_object() {
    require_python!();
    let Some(moto) = Moto::start("direct-fails") else {
        return;
    };
    // The crate talks to S3 through the proxy; the second part never arrives.
    let proxy = FaultProxy::start(moto.port(), Some("partNumber=2"));
    let mut env = moto.env();
    env.retain(|(k, _)| k != "MLFLOW_S3_ENDPOINT_URL");
    env.push(("MLFLOW_S3_ENDPOINT_URL".into(), proxy.endpoint()));
    env.extend(quick_retries());
    set_env(&env);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    mlflow::set_tracking_uri(&format!("sqlite:///{}", db.display())).unwrap();
    let id = mlflow::create_experiment(unique_name("s3-direct-fails"))
        .artifact_location(format!("s3://{}/exp", moto.bucket()))
        .create()
        .unwrap();
    mlflow::set_experiment_by_id(&id).unwrap();
    // 20 MiB: three parts of 8 MiB.
    let big = dir.path().join("weights.bin");
    pattern_file(&big, 20 * MIB);
    let run = mlflow::start_run().name("direct-fails").start();
    let run_id = run.id().unwrap();
    let err = mlflow::log_artifact(&big).expect_err("a part that never arrives fails the upload");
    assert!(
        proxy.failed() >= 2,
        "the part was tried again: {}",
        proxy.failed()
    );
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(s3_support_secret()), "{shown}");
    // Aborted (the abort went through the proxy): no parts kept, no object, nothing listed.
    assert!(
        proxy
            .lines()
            .iter()
            .any(|l| l.starts_with("DELETE") && l.contains("uploadId=")),
        "{:?}",
        proxy.lines()
    );
    assert!(moto.open_uploads().is_empty(), "{:?}", moto.open_uploads());
    assert!(
        moto.objects("exp/").is_empty(),
        "{:?}",
        moto.objects("exp/")
    );
    assert!(mlflow::list_artifacts(&run_id, "").unwrap().is_empty());
    drop(run);
    let _ = mlflow::flush();
}

/// A proxying server over moto with multipart uploads on (parts of 5 MiB, S3's smallest),
/// its S3 endpoint behind `proxy` so that the presigned part URLs go through it.
fn proxying_server(
    moto: &Moto,
    proxy: &FaultProxy,
    dir: &Path,
) -> mlflow_test_support::ServerGuard {
    let mut env = moto.env();
    env.retain(|(k, _)| k != "MLFLOW_S3_ENDPOINT_URL");
    env.push(("MLFLOW_S3_ENDPOINT_URL".into(), proxy.endpoint()));
    let server = ServerSpec::sqlite(&dir.join("m.db"))
        .artifacts_destination(format!("s3://{}/proxied", moto.bucket()))
        .envs(env)
        .start();
    let mut client_env = quick_retries();
    client_env.extend([
        ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD".into(), "true".into()),
        (
            "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE".into(),
            (5 * MIB).to_string(),
        ),
        (
            "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE".into(),
            (5 * MIB).to_string(),
        ),
    ]);
    set_env(&client_env);
    mlflow::set_tracking_uri(server.uri()).unwrap();
    mlflow::set_experiment(&unique_name("s3-proxied")).unwrap();
    server
}

#[test]
fn a_proxying_server_s3_says_so_and_downloads_come_through_presigned_ranges() {
    require_python!();
    let Some(moto) = Moto::start("presigned") else {
        return;
    };
    let proxy = FaultProxy::start(moto.port(), None);
    let dir = tempfile::tempdir().unwrap();
    let mut env = moto.env();
    env.retain(|(k, _)| k != "MLFLOW_S3_ENDPOINT_URL");
    env.push(("MLFLOW_S3_ENDPOINT_URL".into(), proxy.endpoint()));
    let server = ServerSpec::sqlite(&dir.path().join("m.db"))
        .artifacts_destination(format!("s3://{}/proxied", moto.bucket()))
        .envs(env)
        .start();
    // No MLFLOW_ENABLE_PROXY_MULTIPART_*: the server's /server-info decides, as in Python.
    let mut client_env = quick_retries();
    client_env.extend([
        (
            "MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE".into(),
            (5 * MIB).to_string(),
        ),
        (
            "MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE".into(),
            (5 * MIB).to_string(),
        ),
        (
            "MLFLOW_MULTIPART_DOWNLOAD_CHUNK_SIZE".into(),
            (4 * MIB).to_string(),
        ),
    ]);
    set_env(&client_env);
    mlflow::set_tracking_uri(server.uri()).unwrap();
    mlflow::set_experiment(&unique_name("s3-presigned")).unwrap();
    let big = dir.path().join("ckpt.bin");
    pattern_file(&big, 10 * MIB + 123);
    let run = mlflow::start_run().name("presigned").start();
    let run_id = run.id().unwrap();
    mlflow::log_artifact(&big).unwrap();
    drop(run);
    mlflow::flush().unwrap();
    // Up in parts (the server said it can), straight to S3.
    assert_eq!(proxy.count("partNumber="), 3, "{:#?}", proxy.lines());

    let before = proxy.lines().len();
    let dest = dir.path().join("back");
    let local = mlflow::download_artifacts(&run_id, "ckpt.bin", &dest).unwrap();
    assert_eq!(sha256_hex(&local), sha256_hex(&big));
    // Three ranges of 4 MiB from the bucket through the presigned URL; the server handed
    // the URL out and moved none of the bytes.
    let gets: Vec<String> = proxy.lines()[before..]
        .iter()
        .filter(|l| l.starts_with("GET") && l.contains("X-Amz-Signature="))
        .cloned()
        .collect();
    assert_eq!(gets.len(), 3, "{gets:#?}");
    let log = server.log();
    assert!(log.contains("mlflow-artifacts/presigned/"), "{log}");
    assert!(
        !log.contains("GET /api/2.0/mlflow-artifacts/artifacts/"),
        "the file came through the server: {log}"
    );
}

#[test]
fn a_proxying_server_takes_large_files_in_parts_through_presigned_urls() {
    require_python!();
    let Some(moto) = Moto::start("proxied") else {
        return;
    };
    let proxy = FaultProxy::start(moto.port(), None);
    let dir = tempfile::tempdir().unwrap();
    let server = proxying_server(&moto, &proxy, dir.path());
    let big = dir.path().join("ckpt.bin");
    pattern_file(&big, 12 * MIB);
    let run = mlflow::start_run().name("mpu").start();
    let run_id = run.id().unwrap();
    mlflow::log_artifact_to(&big, "ckpt").unwrap();
    drop(run);
    mlflow::flush().unwrap();

    // Three parts (5, 5 and 2 MiB) went to S3 through their presigned URLs, then the
    // completion, through the server.
    assert_eq!(proxy.count("partNumber="), 3, "{:#?}", proxy.lines());
    assert!(
        proxy
            .lines()
            .iter()
            .any(|l| l.starts_with("POST") && l.contains("uploadId=")),
        "the completion: {:#?}",
        proxy.lines()
    );
    assert!(server.log().contains("mpu/complete"), "{}", server.log());
    let objects = moto.objects("proxied/");
    assert!(
        objects
            .iter()
            .any(|(k, s)| k.ends_with("ckpt/ckpt.bin") && *s == 12 * MIB as u64),
        "{objects:?}"
    );
    assert!(moto.open_uploads().is_empty());
    let got = python_download(server.uri(), &run_id, &moto.env(), dir.path());
    assert_eq!(got["ckpt/ckpt.bin"], sha256_hex(&big));

    // Below the minimum size, one request through the proxy.
    let small = dir.path().join("small.txt");
    std::fs::write(&small, "small").unwrap();
    let parts_before = proxy.count("partNumber=");
    mlflow::Client::new()
        .log_artifact(&run_id, &small, "")
        .unwrap();
    assert_eq!(proxy.count("partNumber="), parts_before);
}

#[test]
fn an_interrupted_multipart_upload_is_aborted_and_nothing_is_reported_stored() {
    require_python!();
    let Some(moto) = Moto::start("interrupted") else {
        return;
    };
    // The second part never reaches S3.
    let proxy = FaultProxy::start(moto.port(), Some("partNumber=2"));
    let dir = tempfile::tempdir().unwrap();
    let server = proxying_server(&moto, &proxy, dir.path());
    let big = dir.path().join("ckpt.bin");
    pattern_file(&big, 12 * MIB);
    let run = mlflow::start_run().name("mpu-fails").start();
    let run_id = run.id().unwrap();
    let err = mlflow::log_artifact(&big).expect_err("a part that never arrives fails the upload");
    let shown = format!("{err} {err:?}");
    assert!(
        proxy.failed() >= 2,
        "the part was tried again: {}",
        proxy.failed()
    );
    for secret in ["X-Amz-Signature=", "X-Amz-Credential="] {
        if let Some(at) = shown.find(secret) {
            assert!(
                shown[at + secret.len()..].starts_with("***"),
                "a presigned URL's {secret} in the error: {shown}"
            );
        }
    }
    assert!(!shown.contains(s3_support_secret()), "{shown}");
    // Aborted: no parts kept, no object, nothing listed.
    assert!(server.log().contains("mpu/abort"), "{}", server.log());
    assert!(moto.open_uploads().is_empty(), "{:?}", moto.open_uploads());
    assert!(
        moto.objects("proxied/").is_empty(),
        "{:?}",
        moto.objects("proxied/")
    );
    assert!(mlflow::list_artifacts(&run_id, "").unwrap().is_empty());
    drop(run);
    let _ = mlflow::flush();
}

fn s3_support_secret() -> &'static str {
    mlflow_test_support::TEST_SECRET
}

#[test]
fn bad_keys_and_a_missing_bucket_are_clear_errors() {
    let Some((moto, (key, secret))) = Moto::start_guarded("guarded") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut env = moto.env_with_keys("AKIAWRONGWRONGWRONG1", "not-the-secret");
    env.extend(quick_retries());
    set_env(&env);
    let db = dir.path().join("mlflow.db");
    mlflow::set_tracking_uri(&format!("sqlite:///{}", db.display())).unwrap();
    let guarded = mlflow::create_experiment(unique_name("guarded"))
        .artifact_location("s3://guarded/exp")
        .create()
        .unwrap();
    let missing = mlflow::create_experiment(unique_name("missing"))
        .artifact_location("s3://no-such-bucket/exp")
        .create()
        .unwrap();
    let file = dir.path().join("f.txt");
    std::fs::write(&file, "x").unwrap();

    let run = mlflow::start_run().experiment_id(&guarded).start();
    let err = run.handle().log_artifact(&file).map(|()| moto.log());
    let err = err.expect_err("wrong keys are refused");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(err, mlflow::Error::Api { ref error_code, .. } if error_code == "UNAUTHENTICATED" || error_code == "PERMISSION_DENIED"),
        "{shown}"
    );
    assert!(shown.contains("s3://guarded/exp"), "{shown}");
    assert!(!shown.contains("not-the-secret"), "{shown}");
    drop(run);

    // The right keys, a bucket that is not there.
    set_env(&[
        ("AWS_ACCESS_KEY_ID".into(), key),
        ("AWS_SECRET_ACCESS_KEY".into(), secret.clone()),
    ]);
    let run = mlflow::start_run().experiment_id(&missing).start();
    let err = run
        .handle()
        .log_artifact(&file)
        .expect_err("a missing bucket");
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(err, mlflow::Error::Api { status: 404, ref error_code, .. } if error_code == "RESOURCE_DOES_NOT_EXIST"),
        "{shown}"
    );
    assert!(shown.contains("NoSuchBucket"), "{shown}");
    assert!(!shown.contains(&secret), "{shown}");
    // The right keys reach the bucket that is there.
    let run2 = mlflow::start_run().experiment_id(&guarded).start();
    run2.handle()
        .log_artifact(&file)
        .expect("the IAM user's keys pass");
    drop(run2);
    drop(run);
    let _ = mlflow::flush();
}
