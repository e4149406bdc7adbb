//! Credentials against the real MLflow server with its basic-auth app, and secrets kept out
//! of everything this crate prints or writes.

mod faults_support;

use std::time::Duration;

use faults_support::proxy::Proxy;
use faults_support::{Server, bounded, free_port, spill_files};
use mlflow_test_support::{in_child, require_python, run_python, run_self, unique_name};

const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd-Long-SECRET";
const WRONG_PASSWORD: &str = "wrong-pw-SECRET-42";
const TOKEN: &str = "tok-SECRET-bearer-99";
const SECRETS: [&str; 3] = [ADMIN_PASSWORD, WRONG_PASSWORD, TOKEN];

fn assert_no_secret(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks a secret: {text}");
    }
}

fn child(phase: &str) {
    let upstream = std::env::var("UPSTREAM_PORT").unwrap().parse().unwrap();
    let proxy = Proxy::start(upstream);
    let experiment = std::env::var("EXP").unwrap();
    let uri = match std::env::var("URI_WITH_CREDENTIALS") {
        Ok(_) => format!("http://admin:{ADMIN_PASSWORD}@127.0.0.1:{}", proxy.port),
        Err(_) => proxy.uri(),
    };
    mlflow::set_tracking_uri(&uri).unwrap();
    assert_no_secret("get_tracking_uri", &mlflow::get_tracking_uri());
    assert_no_secret("Client Debug", &format!("{:?}", mlflow::Client::new()));
    let result = mlflow::set_experiment(&experiment);
    match phase {
        "works" => {
            result.unwrap();
            let run = mlflow::start_run().name("authed").start();
            mlflow::log_param("who", "admin").unwrap();
            assert_no_secret("RunGuard Debug", &format!("{run:?}"));
            drop(run);
            mlflow::flush().unwrap();
            let auth = proxy.authorizations();
            assert!(!auth.is_empty());
            assert!(auth.iter().all(|a| a.starts_with("Basic ")), "{auth:?}");
        }
        "bearer" => {
            let err = result.expect_err("the basic-auth app refuses a bearer token");
            let text = format!("{err} {err:?}");
            assert!(text.contains("401"), "{text}");
            assert_no_secret("error", &text);
            let auth = proxy.authorizations();
            assert_eq!(
                auth.first().map(String::as_str),
                Some(&*format!("Bearer {TOKEN}"))
            );
        }
        "wrong" => {
            let err = result.expect_err("wrong password");
            let text = format!("{err} {err:?}");
            assert!(text.contains("401"), "{text}");
            assert_no_secret("error", &text);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn basic_auth_server() {
    if in_child() {
        child(&std::env::var("PHASE").unwrap());
        return;
    }
    let python = require_python!();
    // The basic-auth app needs `mlflow[auth]` (Flask-WTF).
    let has_auth = std::process::Command::new(&python)
        .args(["-c", "import flask_wtf"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_auth {
        assert!(
            !mlflow_test_support::is_ci(),
            "CI needs mlflow[auth] in the venv"
        );
        eprintln!("skipped: the venv lacks Flask-WTF (pip install 'mlflow[auth]')");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("auth.ini");
    std::fs::write(
        &ini,
        format!(
            "[mlflow]\ndefault_permission = READ\ndatabase_uri = sqlite:///{}\nadmin_username = admin\nadmin_password = {ADMIN_PASSWORD}\nauthorization_function = mlflow.server.auth:authenticate_request_basic_auth\ngrant_default_workspace_access = false\n",
            dir.path().join("auth.db").display()
        ),
    )
    .unwrap();
    let ini_path = ini.display().to_string();
    let server = Server::start_with(
        dir.path(),
        &["--app-name", "basic-auth"],
        &[
            ("MLFLOW_AUTH_CONFIG_PATH", &ini_path),
            ("MLFLOW_FLASK_SERVER_SECRET_KEY", "test-only-csrf-key"),
        ],
    );
    let port = server.port.to_string();
    let experiment = unique_name("auth");
    let cases: [(&str, &[(&str, &str)]); 5] = [
        // Basic wins when a token is set too.
        (
            "works",
            &[
                ("MLFLOW_TRACKING_USERNAME", "admin"),
                ("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD),
                ("MLFLOW_TRACKING_TOKEN", TOKEN),
            ],
        ),
        ("works", &[("URI_WITH_CREDENTIALS", "1")]),
        ("bearer", &[("MLFLOW_TRACKING_TOKEN", TOKEN)]),
        (
            "wrong",
            &[
                ("MLFLOW_TRACKING_USERNAME", "admin"),
                ("MLFLOW_TRACKING_PASSWORD", WRONG_PASSWORD),
            ],
        ),
        (
            "wrong",
            &[
                ("MLFLOW_TRACKING_USERNAME", "admin"),
                ("MLFLOW_TRACKING_PASSWORD", WRONG_PASSWORD),
                ("RUST_LOG", "trace"),
            ],
        ),
    ];
    for (phase, extra) in cases {
        let mut env: Vec<(String, String)> = vec![
            ("PHASE".into(), phase.into()),
            ("UPSTREAM_PORT".into(), port.clone()),
            ("EXP".into(), experiment.clone()),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES".into(), "1".into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let output = bounded(Duration::from_secs(120), move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            run_self("basic_auth_server", None, &env)
        });
        assert_no_secret("stdout", &String::from_utf8_lossy(&output.stdout));
        assert_no_secret("stderr", &String::from_utf8_lossy(&output.stderr));
    }
    let json = run_python(
        r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(os.environ["URI"])
e = c.get_experiment_by_name(os.environ["EXP"])
print(json.dumps([r.data.params.get("who") for r in c.search_runs([e.experiment_id])]))
"#,
        &[
            ("URI", &server.uri()),
            ("EXP", &experiment),
            ("MLFLOW_TRACKING_USERNAME", "admin"),
            ("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    assert_eq!(json, serde_json::json!(["admin", "admin"]));
}

#[test]
fn no_secret_in_spill_files_or_outage_reports() {
    if in_child() {
        let uri = format!(
            "http://admin:{ADMIN_PASSWORD}@127.0.0.1:{}",
            std::env::var("DEAD_PORT").unwrap()
        );
        mlflow::set_tracking_uri(&uri).unwrap();
        let err = mlflow::set_experiment("x").unwrap_err();
        assert_no_secret("first-contact error", &format!("{err} {err:?}"));
        let run = mlflow::start_run().name("spilled").start();
        mlflow::log_param("p", 1).unwrap();
        drop(run);
        let err = mlflow::flush().unwrap_err();
        assert_no_secret("flush error", &format!("{err} {err:?}"));
        return;
    }
    require_python!();
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().display().to_string();
    let dead = free_port().to_string();
    let output = bounded(Duration::from_secs(120), move || {
        run_self(
            "no_secret_in_spill_files_or_outage_reports",
            None,
            &[
                ("DEAD_PORT", &dead),
                ("MLFLOW_RS_SPILL_DIR", &spill_dir),
                ("MLFLOW_RS_FIRST_CONTACT_TIMEOUT", "2"),
                ("MLFLOW_TRACKING_TOKEN", TOKEN),
            ],
        )
    });
    assert_no_secret("stdout", &String::from_utf8_lossy(&output.stdout));
    assert_no_secret("stderr", &String::from_utf8_lossy(&output.stderr));
    let files = spill_files(spill.path());
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("spilled"), "{text}");
    assert_no_secret("spill file", &text);
}

/// A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (PEM with
/// its key), made with the `openssl` command.
fn make_certs(dir: &std::path::Path) -> bool {
    let script = r#"
set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout ca.key -out ca.pem -subj /CN=throwaway-test-ca \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
for who in server client; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout $who.key -out $who.csr -subj /CN=127.0.0.1
done
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > client.ext
for who in server client; do
  openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -out $who.pem -extfile $who.ext
done
cat client.pem client.key > client-with-key.pem
"#;
    std::process::Command::new("sh")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tls_child(phase: &str) {
    let uri = std::env::var("TLS_URI").unwrap();
    mlflow::set_tracking_uri(&uri).unwrap();
    let result = mlflow::set_experiment(&std::env::var("EXP").unwrap());
    match phase {
        "works" => {
            result.unwrap();
            let run = mlflow::start_run()
                .name(format!("tls-{}", std::process::id()))
                .start();
            mlflow::log_param("over", "tls").unwrap();
            let id = run.id().unwrap();
            drop(run);
            mlflow::flush().unwrap();
            let back = mlflow::Client::new().get_run(&id).unwrap();
            assert_eq!(back.param("over"), Some("tls"));
            assert_eq!(back.info.status, mlflow::RunStatus::Finished);
        }
        "refused" => {
            let err = result.expect_err("the TLS handshake must fail");
            let text = err.to_string();
            assert!(
                text.contains(&uri.trim_end_matches('/').to_string()),
                "{text}"
            );
            if let Ok(needle) = std::env::var("NEEDLE") {
                assert!(text.to_lowercase().contains(&needle), "{text}");
            }
        }
        other => panic!("{other}"),
    }
}

#[test]
fn tls_verification_custom_ca_client_certificate_and_opt_out() {
    if in_child() {
        tls_child(&std::env::var("PHASE").unwrap());
        return;
    }
    require_python!();
    let dir = tempfile::tempdir().unwrap();
    if !make_certs(dir.path()) {
        assert!(
            !mlflow_test_support::is_ci(),
            "CI needs the openssl command"
        );
        eprintln!("skipped: cannot make certificates with the openssl command");
        return;
    }
    let p = |f: &str| dir.path().join(f).display().to_string();
    let uvicorn = format!(
        "--ssl-keyfile {} --ssl-certfile {} --ssl-ca-certs {} --ssl-cert-reqs 2",
        p("server.key"),
        p("server.pem"),
        p("ca.pem")
    );
    let server = Server::start_with(dir.path(), &["--uvicorn-opts", &uvicorn], &[]);
    let tls_uri = format!("https://127.0.0.1:{}", server.port);
    let experiment = unique_name("tls");
    let (ca, client) = (p("ca.pem"), p("client-with-key.pem"));
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        // Verification is on by default: an unknown CA is refused.
        (
            "refused",
            vec![
                ("MLFLOW_TRACKING_CLIENT_CERT_PATH", &client),
                ("NEEDLE", "certificate"),
            ],
        ),
        (
            "works",
            vec![
                ("MLFLOW_TRACKING_SERVER_CERT_PATH", &ca),
                ("MLFLOW_TRACKING_CLIENT_CERT_PATH", &client),
            ],
        ),
        // The server demands a client certificate.
        ("refused", vec![("MLFLOW_TRACKING_SERVER_CERT_PATH", &ca)]),
        (
            "works",
            vec![
                ("MLFLOW_TRACKING_INSECURE_TLS", "true"),
                ("MLFLOW_TRACKING_CLIENT_CERT_PATH", &client),
            ],
        ),
    ];
    for (phase, extra) in cases {
        let mut env: Vec<(String, String)> = vec![
            ("PHASE".into(), phase.into()),
            ("TLS_URI".into(), tls_uri.clone()),
            ("EXP".into(), experiment.clone()),
            ("MLFLOW_HTTP_REQUEST_MAX_RETRIES".into(), "1".into()),
            ("MLFLOW_RS_FIRST_CONTACT_TIMEOUT".into(), "10".into()),
        ];
        let insecure = extra
            .iter()
            .any(|(k, _)| *k == "MLFLOW_TRACKING_INSECURE_TLS");
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let output = bounded(Duration::from_secs(120), move || {
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            run_self(
                "tls_verification_custom_ca_client_certificate_and_opt_out",
                None,
                &env,
            )
        });
        if insecure {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("NOT verified"),
                "the opt-out warns: {stderr}"
            );
        }
    }
}
