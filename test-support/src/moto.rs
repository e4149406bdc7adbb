//! A real S3 API on loopback: `moto`'s server (`moto[server]`, pinned as `MOTO_VERSION` in
//! `scripts/pins.env`), from its own venv beside the MLflow ones, which `./scripts/test.sh`
//! installs and names in `MLFLOW_TEST_MOTO_PYTHON`. One server per [`Moto`], on a free port,
//! with a bucket made for it; stopped when dropped.
//!
//! moto takes any key unless it is started with its authentication on
//! ([`Moto::start_guarded`]): then only the keys of an IAM user made in it pass, which the
//! bad-credentials tests need.
//! With authentication on, moto cannot check presigned URLs (it reads the signature from the
//! `Authorization` header only), so the multipart tests run with it off.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::python::{is_ci, pin};
use crate::server::free_port;

/// The moto release the tests pin (`MOTO_VERSION` in `scripts/pins.env`).
pub const MOTO_VERSION: &str = pin("MOTO_VERSION");

/// The keys the tests hand the crate and the clients while authentication is off.
pub const TEST_KEY_ID: &str = "testing";
/// The secret beside [`TEST_KEY_ID`].
pub const TEST_SECRET: &str = "testing-secret";

/// Where `scripts/test.sh` keeps moto's venv: the MLflow venvs' cache folder,
/// `venv-moto-<MOTO_VERSION>`.
pub fn default_moto_venv_dir() -> PathBuf {
    let mlflow = crate::python::default_venv_dir();
    mlflow
        .parent()
        .map(|p| p.join(format!("venv-moto-{MOTO_VERSION}")))
        .unwrap_or_else(|| PathBuf::from(format!("venv-moto-{MOTO_VERSION}")))
}

/// moto's `python`: `MLFLOW_TEST_MOTO_PYTHON`, else the one in [`default_moto_venv_dir`].
/// `None` when missing; under `CI=true` a panic instead.
pub fn moto_python() -> Option<PathBuf> {
    let path = std::env::var_os("MLFLOW_TEST_MOTO_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| default_moto_venv_dir().join("bin").join("python"));
    if path.exists() {
        return Some(path);
    }
    if is_ci() {
        panic!(
            "CI=true but moto's venv is missing at {}: run the suite with ./scripts/test.sh, which installs moto[server]=={MOTO_VERSION} there",
            path.display()
        );
    }
    None
}

/// A moto server with one bucket; stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
    bucket: String,
    log_path: PathBuf,
}

impl Moto {
    /// Starts moto on a free port and makes the bucket `bucket`. `None` (with a note)
    /// without moto's venv; a panic under `CI=true`.
    pub fn start(bucket: &str) -> Option<Moto> {
        Moto::launch(bucket, None)
    }

    /// [`Moto::start`] with authentication on once the bucket and an IAM user allowed
    /// everything are made: returns the user's keys; any other key is refused
    /// (`InvalidAccessKeyId`).
    pub fn start_guarded(bucket: &str) -> Option<(Moto, (String, String))> {
        // The bucket, the user, its policy and its key: four actions without authentication
        // (moto's INITIAL_NO_AUTH_ACTION_COUNT), every later one checked.
        let moto = Moto::launch(bucket, Some(4))?;
        let keys = moto.python(
            "iam = boto3.client('iam', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x')\n\
             iam.create_user(UserName='tester')\n\
             iam.put_user_policy(UserName='tester', PolicyName='all', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}]}))\n\
             k = iam.create_access_key(UserName='tester')['AccessKey']\n\
             print(json.dumps([k['AccessKeyId'], k['SecretAccessKey']]))",
        );
        let keys = (
            keys[0].as_str().unwrap_or_default().to_owned(),
            keys[1].as_str().unwrap_or_default().to_owned(),
        );
        Some((moto, keys))
    }

    fn launch(bucket: &str, unauthenticated_actions: Option<u32>) -> Option<Moto> {
        let Some(python) = moto_python() else {
            eprintln!(
                "skipped: no moto venv at {} (run ./scripts/test.sh, or set MLFLOW_TEST_MOTO_PYTHON)",
                default_moto_venv_dir().display()
            );
            return None;
        };
        let port = free_port();
        let log_path = std::env::temp_dir().join(format!("moto-{port}-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log_path.display()));
        let mut command = Command::new(python);
        if let Some(n) = unauthenticated_actions {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
        }
        let child = command
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(
                log.try_clone()
                    .unwrap_or_else(|e| panic!("moto's log: {e}")),
            )
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start moto: {e}"));
        let mut moto = Moto {
            child,
            port,
            bucket: bucket.to_owned(),
            log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while crate::http::http_get(&moto.endpoint(), "/moto-api/").is_none() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto exited at start ({status})");
            }
            assert!(Instant::now() < deadline, "moto did not come up in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        moto.python(&format!(
            "s3.create_bucket(Bucket={bucket:?}); print('{{}}')"
        ));
        Some(moto)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// moto's log: one line per request, with its status.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The bucket made at start.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The variables that point boto3, MLflow and the crate at this moto with the test keys.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_with_keys(TEST_KEY_ID, TEST_SECRET)
    }

    /// [`Moto::env`] with other keys.
    pub fn env_with_keys(&self, key_id: &str, secret: &str) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), key_id.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), secret.into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("MLFLOW_S3_ENDPOINT_URL".into(), self.endpoint()),
        ]
    }

    /// Runs `code` in moto's venv with `boto3`, `json`, `endpoint`, `bucket` and an S3
    /// client `s3` (test keys) defined; returns the JSON of its last printed line.
    pub fn python(&self, code: &str) -> serde_json::Value {
        let python = moto_python().unwrap_or_else(|| panic!("no moto venv"));
        let script = format!(
            "import boto3, json\nendpoint = {endpoint:?}\nbucket = {bucket:?}\ns3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id={key:?}, aws_secret_access_key={secret:?})\n{code}\n",
            endpoint = self.endpoint(),
            bucket = self.bucket,
            key = TEST_KEY_ID,
            secret = TEST_SECRET,
        );
        let out = Command::new(python)
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("cannot run moto's python: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            panic!(
                "moto python snippet failed:\n{script}\n--- stdout ---\n{stdout}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        crate::python::last_json(&stdout)
    }

    /// The keys in the bucket under `prefix` with their sizes.
    pub fn objects(&self, prefix: &str) -> Vec<(String, u64)> {
        let listed = self.python(&format!(
            "r = s3.list_objects_v2(Bucket=bucket, Prefix={prefix:?})\nprint(json.dumps([[o['Key'], o['Size']] for o in r.get('Contents', [])]))"
        ));
        listed
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|o| {
                        (
                            o[0].as_str().unwrap_or_default().to_owned(),
                            o[1].as_u64().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Multipart uploads begun and neither completed nor aborted in the bucket.
    pub fn open_uploads(&self) -> Vec<String> {
        let listed = self.python(
            "r = s3.list_multipart_uploads(Bucket=bucket)\nprint(json.dumps([u['Key'] for u in r.get('Uploads', [])]))",
        );
        listed
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|k| k.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log_path);
    }
}
