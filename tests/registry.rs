//! The model registry from Rust, on both stores (the suite's server, and an embedded
//! `mlflow.db` used as tracking and registry URI), read back with MLflow's official Python
//! client: `get_model_version_by_alias`, `search_registered_models`, `get_model_version`,
//! downloading `models:/name@alias`, the logged model's `mlflow.modelVersions` tag; the
//! management calls; bad input with MLflow's errors; and eight processes registering versions
//! of one model at once, which get 1..8.

mod stores;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mlflow_test_support::{
    assert_passed, in_child, run_python, self_command, spawn_self, unique_name, wait_child,
};
use stores::{Target, on_both_stores};

const READ_REGISTRY: &str = r#"
import json, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
mlflow.set_registry_uri(os.environ["URI"])
c = MlflowClient()
name = os.environ["NAME"]
def version(mv):
    return {
        "version": str(mv.version),
        "source": mv.source,
        "run_id": mv.run_id,
        "aliases": sorted(mv.aliases),
        "tags": mv.tags,
        "description": mv.description,
        "status": str(mv.status),
    }
champion = c.get_model_version_by_alias(name, "champion")
found = c.search_registered_models(filter_string=f"name = '{name}'")
rm = found[0]
d = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=tempfile.mkdtemp())
files = sorted(
    os.path.relpath(os.path.join(root, f), d)
    for root, _, fs in os.walk(d)
    for f in fs
    if f != "registered_model_meta"
)
print(json.dumps({
    "champion": version(champion),
    "v2": version(c.get_model_version(name, "2")),
    "found": [m.name for m in found],
    "rm": {
        "aliases": {k: str(v) for k, v in rm.aliases.items()},
        "tags": rm.tags,
        "description": rm.description,
        "latest": [str(v.version) for v in rm.latest_versions],
    },
    "versions": sorted(int(v.version) for v in c.search_model_versions(f"name = '{name}'")),
    "files": files,
    "model_versions_tag": json.loads(
        c.get_logged_model(os.environ["BEST"]).tags.get("mlflow.modelVersions", "[]")
    ),
    "download_uri": c.get_model_version_download_uri(name, "1"),
    "best_location": c.get_logged_model(os.environ["BEST"]).artifact_location,
}))
"#;

fn model_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

fn registered_versions_are_read_by_python(t: &Target) {
    let name = unique_name("nested-child-association");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.bin");
    std::fs::write(&file, b"weights").unwrap();
    let mut models = Vec::new();
    let mut runs = Vec::new();
    for (i, acc) in [0.7, 0.9, 0.8].into_iter().enumerate() {
        let run = mlflow::start_run().name(format!("trial-{i}")).start();
        let model = mlflow::log_model("net", &file).unwrap();
        mlflow::metric("acc", acc).model(&model).log().unwrap();
        runs.push(run.id().unwrap());
        models.push(model);
    }
    let best = mlflow::search_logged_models()
        .order_by(["metrics.acc DESC"])
        .first()
        .unwrap()
        .expect("a model");
    assert_eq!(best.model_id(), models[1].model_id());

    let v1 = mlflow::register_model(&best.uri(), &name).unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.name, name);
    assert_eq!(v1.source, best.uri());
    assert_eq!(v1.run_id.as_deref(), Some(runs[1].as_str()));
    // A run's logged model by its name, as Python's `runs:/<run_id>/<name>`.
    let v2 = mlflow::register_model(&format!("runs:/{}/net", runs[0]), &name).unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.source, models[0].uri());
    assert_eq!(v2.run_id.as_deref(), Some(runs[0].as_str()));

    let client = mlflow::Client::new();
    client
        .set_registered_model_alias(&name, "champion", v1.version)
        .unwrap();
    client
        .set_registered_model_alias(&name, "challenger", 2)
        .unwrap();
    client
        .set_registered_model_tag(&name, "team", "vision")
        .unwrap();
    client
        .update_registered_model(&name, "the sweep's winner")
        .unwrap();
    client.set_model_version_tag(&name, 1, "seed", 7).unwrap();
    client.set_model_version_tag(&name, 1, "gone", "x").unwrap();
    client.delete_model_version_tag(&name, 1, "gone").unwrap();
    let updated = client.update_model_version(&name, 1, "best acc").unwrap();
    assert_eq!(updated.description.as_deref(), Some("best acc"));

    let out = run_python(
        READ_REGISTRY,
        &[("URI", &t.uri), ("NAME", &name), ("BEST", best.model_id())],
    );
    assert_eq!(out["champion"]["version"], "1", "{out}");
    assert_eq!(out["champion"]["source"], best.uri());
    assert_eq!(out["champion"]["run_id"], runs[1].as_str());
    assert_eq!(out["champion"]["aliases"], serde_json::json!(["champion"]));
    assert_eq!(out["champion"]["tags"], serde_json::json!({"seed": "7"}));
    assert_eq!(out["champion"]["description"], "best acc");
    assert_eq!(out["champion"]["status"], "READY");
    assert_eq!(out["v2"]["source"], models[0].uri());
    assert_eq!(out["found"], serde_json::json!([name]));
    assert_eq!(
        out["rm"]["aliases"],
        serde_json::json!({"champion": "1", "challenger": "2"})
    );
    assert_eq!(out["rm"]["tags"], serde_json::json!({"team": "vision"}));
    assert_eq!(out["rm"]["description"], "the sweep's winner");
    assert_eq!(out["rm"]["latest"], serde_json::json!(["2"]));
    assert_eq!(out["versions"], serde_json::json!([1, 2]));
    assert_eq!(out["files"], serde_json::json!(["MLmodel", "model.bin"]));
    // The version's files are the logged model's.
    assert_eq!(out["download_uri"], out["best_location"]);
    let tag = out["model_versions_tag"].as_array().unwrap();
    assert!(!tag.is_empty(), "{out}");
    assert!(
        tag.iter()
            .all(|v| v["name"] == name.as_str() && v["version"].to_string().contains('1')),
        "{out}"
    );

    // This crate reads the same answers.
    let champion = client
        .get_model_version_by_alias(&name, "champion")
        .unwrap();
    assert_eq!(champion.version, 1);
    assert_eq!(champion.aliases, ["champion"]);
    assert_eq!(champion.tags.get("seed").map(String::as_str), Some("7"));
    let latest = client.get_model_version_by_alias(&name, "latest").unwrap();
    assert_eq!(latest.version, 2);
    let rm = client.get_registered_model(&name).unwrap();
    assert_eq!(rm.alias("champion"), Some(1));
    assert_eq!(rm.description.as_deref(), Some("the sweep's winner"));
    let found = client
        .search_registered_models()
        .filter(format!("name = '{name}'"))
        .collect_all()
        .unwrap();
    assert_eq!(found.len(), 1);
    let by_tag = client
        .search_registered_models()
        .filter(format!(
            "name LIKE '{}%' AND tags.team = 'vision'",
            &name[..20]
        ))
        .collect_all()
        .unwrap();
    assert!(by_tag.iter().any(|m| m.name == name));
    let versions = client
        .search_model_versions()
        .filter(format!("name = '{name}'"))
        .order_by(["version_number ASC"])
        .page_size(1)
        .collect_all()
        .unwrap();
    let numbers: Vec<u64> = versions.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [1, 2]);

    // Downloads by every form of URI give the model's files.
    for uri in [
        format!("models:/{name}@champion"),
        format!("models:/{name}/1"),
        format!("models:/{name}/latest"),
        best.uri(),
    ] {
        let dest = tempfile::tempdir().unwrap();
        let got = mlflow::download_artifacts_uri(&uri, dest.path()).unwrap();
        assert_eq!(got, dest.path());
        assert_eq!(model_files(dest.path()), ["MLmodel", "model.bin"], "{uri}");
        assert_eq!(
            std::fs::read(dest.path().join("model.bin")).unwrap(),
            b"weights"
        );
    }
    let dest = tempfile::tempdir().unwrap();
    let got = client
        .download_artifacts_uri(&format!("runs:/{}/", runs[0]), dest.path())
        .unwrap();
    assert!(got.starts_with(dest.path()));

    // Renaming, deleting a version, deleting the model.
    let renamed = format!("{name}-renamed");
    let rm = client.rename_registered_model(&name, &renamed).unwrap();
    assert_eq!(rm.name, renamed);
    assert_eq!(client.get_model_version(&renamed, 2).unwrap().name, renamed);
    client.delete_model_version(&renamed, 2).unwrap();
    let gone = client.get_model_version(&renamed, 2).unwrap_err();
    assert_eq!(gone.error_code(), Some("RESOURCE_DOES_NOT_EXIST"), "{gone}");
    let alias_gone = client
        .get_model_version_by_alias(&renamed, "challenger")
        .unwrap_err();
    assert_eq!(alias_gone.error_code(), Some("INVALID_PARAMETER_VALUE"));
    client
        .delete_registered_model_alias(&renamed, "champion")
        .unwrap();
    client
        .delete_registered_model_tag(&renamed, "team")
        .unwrap();
    let rm = client.get_registered_model(&renamed).unwrap();
    assert!(rm.aliases.is_empty() && rm.tags.is_empty(), "{rm:?}");
    // A new version after a deleted one takes the next number, as MLflow numbers them.
    let v3 = client.register_model(&best.uri(), &renamed).unwrap();
    assert_eq!(v3.version, 3);
    client.delete_registered_model(&renamed).unwrap();
    let gone = client.get_registered_model(&renamed).unwrap_err();
    assert_eq!(gone.error_code(), Some("RESOURCE_DOES_NOT_EXIST"), "{gone}");
}

fn bad_registry_input_gets_mlflows_errors(t: &Target) {
    let _ = t;
    let name = unique_name("bad-input");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.bin");
    std::fs::write(&file, b"w").unwrap();
    let model = {
        let _run = mlflow::start_run().name("bad").start();
        mlflow::log_model("net", &file).unwrap()
    };
    let client = mlflow::Client::new();
    let v = client.register_model(&model.uri(), &name).unwrap();
    let code = |e: mlflow::Error| e.error_code().map(str::to_owned).unwrap_or(e.to_string());
    for reserved in ["latest", "LATEST", "v1", "V12"] {
        let e = client
            .set_registered_model_alias(&name, reserved, v.version)
            .unwrap_err();
        assert!(e.to_string().contains("reserved"), "{reserved}: {e}");
        assert_eq!(code(e), "INVALID_PARAMETER_VALUE", "{reserved}");
    }
    let e = client
        .set_registered_model_alias(&name, "bad alias", v.version)
        .unwrap_err();
    assert_eq!(code(e), "INVALID_PARAMETER_VALUE");
    let e = client
        .set_registered_model_alias(&name, "champion", 99)
        .unwrap_err();
    assert_eq!(code(e), "RESOURCE_DOES_NOT_EXIST");
    let e = client.get_model_version(&name, 99).unwrap_err();
    assert_eq!(code(e), "RESOURCE_DOES_NOT_EXIST");
    let e = client
        .get_model_version_by_alias(&name, "nobody")
        .unwrap_err();
    assert_eq!(code(e), "INVALID_PARAMETER_VALUE");
    let e = client
        .get_registered_model(&unique_name("missing"))
        .unwrap_err();
    assert_eq!(code(e), "RESOURCE_DOES_NOT_EXIST");
    for bad in ["a/b", "a:b", ""] {
        let e = mlflow::register_model(&model.uri(), bad).unwrap_err();
        assert_eq!(code(e), "INVALID_PARAMETER_VALUE", "{bad:?}");
    }
    let e = client.create_registered_model(&name).unwrap_err();
    assert_eq!(code(e), "RESOURCE_ALREADY_EXISTS");
    // A version made by hand from a logged model (its id taken from the source).
    let v2 = client
        .create_model_version(&mlflow::NewModelVersion::new(name.as_str(), model.uri()))
        .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.source, model.uri());
    let e = client.rename_registered_model(&name, "x/y").unwrap_err();
    assert_eq!(code(e), "INVALID_PARAMETER_VALUE");
    let e = mlflow::download_artifacts_uri("models:/a/b/c", dir.path()).unwrap_err();
    assert!(matches!(e, mlflow::Error::InvalidArgument(_)), "{e}");
    let e =
        mlflow::download_artifacts_uri(&format!("models:/{name}@nobody"), dir.path()).unwrap_err();
    assert_eq!(code(e), "INVALID_PARAMETER_VALUE");
    let e = mlflow::download_artifacts_uri(&format!("models:/{name}/42"), dir.path()).unwrap_err();
    assert_eq!(code(e), "RESOURCE_DOES_NOT_EXIST");
    let e = client
        .search_registered_models()
        .filter("name >")
        .collect_all()
        .unwrap_err();
    assert_eq!(code(e), "INVALID_PARAMETER_VALUE");
    let e = client
        .search_model_versions()
        .filter("metrics.acc > 1")
        .collect_all()
        .unwrap_err();
    assert_eq!(code(e), "INVALID_PARAMETER_VALUE");
}

on_both_stores!(
    registered_versions_are_read_by_python,
    bad_registry_input_gets_mlflows_errors
);

// ---- Eight processes registering versions of one model at once ------------------------

const URI_ENV: &str = "REGISTRY_RACE_URI";
const NAME_ENV: &str = "REGISTRY_RACE_NAME";
const SOURCE_ENV: &str = "REGISTRY_RACE_SOURCE";
const SYNC_ENV: &str = "REGISTRY_RACE_SYNC";
const INDEX_ENV: &str = "REGISTRY_RACE_INDEX";
const PROCESSES: usize = 8;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} not set for the child"))
}

/// In a child: waits for the parent's go, registers one version, prints its number.
fn register_in_child() {
    mlflow::set_tracking_uri(&var(URI_ENV)).unwrap();
    let sync = PathBuf::from(var(SYNC_ENV));
    std::fs::write(sync.join(format!("ready-{}", var(INDEX_ENV))), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sync.join("go").exists() {
        assert!(Instant::now() < deadline, "never got the go file");
        std::thread::sleep(Duration::from_millis(5));
    }
    let v = mlflow::register_model(&var(SOURCE_ENV), &var(NAME_ENV)).unwrap();
    println!("registered version {}", v.version);
}

fn race(test_name: &str, t: &Target) {
    let name = unique_name("raced");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.bin");
    std::fs::write(&file, b"w").unwrap();
    let model = {
        let _run = mlflow::start_run().name("raced").start();
        mlflow::log_model("net", &file).unwrap()
    };
    mlflow::flush().unwrap();
    let sync = tempfile::tempdir().unwrap();
    let sync_path = sync.path().to_str().unwrap().to_owned();
    let source = model.uri();
    let children: Vec<_> = (0..PROCESSES)
        .map(|i| {
            let i = i.to_string();
            let vars = [
                (URI_ENV, t.uri.as_str()),
                (NAME_ENV, name.as_str()),
                (SOURCE_ENV, source.as_str()),
                (SYNC_ENV, sync_path.as_str()),
                (INDEX_ENV, i.as_str()),
            ];
            spawn_self(self_command(test_name, None, &vars))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..PROCESSES).any(|i| !sync.path().join(format!("ready-{i}")).exists()) {
        assert!(Instant::now() < deadline, "children never got ready");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::write(sync.path().join("go"), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut got: Vec<u64> = children
        .into_iter()
        .map(|c| {
            let out = wait_child(c, deadline);
            assert_passed(test_name, &out);
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let (_, after) = stdout
                .split_once("registered version ")
                .unwrap_or_else(|| panic!("no version in:\n{stdout}"));
            let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap()
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, (1..=PROCESSES as u64).collect::<Vec<_>>());
    let out = run_python(
        r#"
import json, os
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
mlflow.set_registry_uri(os.environ["URI"])
vs = MlflowClient().search_model_versions(f"name = '{os.environ['NAME']}'")
print(json.dumps(sorted(int(v.version) for v in vs)))
"#,
        &[("URI", &t.uri), ("NAME", &name)],
    );
    assert_eq!(out, serde_json::json!([1, 2, 3, 4, 5, 6, 7, 8]));
}

mod eight_processes_register_at_once {
    use super::stores::{Backend, target};
    use super::{in_child, race, register_in_child};

    #[test]
    fn server() {
        if in_child() {
            return register_in_child();
        }
        if let Some(t) = target(Backend::Server, "race") {
            race("eight_processes_register_at_once::server", &t);
        }
    }

    #[test]
    fn embedded() {
        if in_child() {
            return register_in_child();
        }
        if let Some(t) = target(Backend::Embedded, "race") {
            race("eight_processes_register_at_once::embedded", &t);
        }
    }
}

// ---- A registry on another store than the models' ----------------------------------------

const READ_SPLIT: &str = r#"
import json, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["TRACKING"])
mlflow.set_registry_uri(os.environ["REGISTRY"])
c = MlflowClient()
name = os.environ["NAME"]
mv = c.get_model_version_by_alias(name, "champion")
d = mlflow.artifacts.download_artifacts(f"models:/{name}@champion", dst_path=tempfile.mkdtemp())
print(json.dumps({
    "version": str(mv.version),
    "source": mv.source,
    "run_id": mv.run_id,
    "download_uri": c.get_model_version_download_uri(name, mv.version),
    "files": sorted(f for f in os.listdir(d) if f != "registered_model_meta"),
    "tag": json.loads(c.get_logged_model(os.environ["MODEL"]).tags.get("mlflow.modelVersions", "[]")),
}))
"#;

/// Tracking on the suite's server, the registry in an embedded file: the version records
/// where the server keeps the model's files, and downloads go through the server, for this
/// crate and for Python alike.
#[test]
fn a_registry_in_an_embedded_file_for_models_on_a_server() {
    let Some(t) = stores::target(stores::Backend::Server, "split") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    let registry = format!("sqlite:///{}", path.join("registry.db").display());
    mlflow::set_registry_uri(&registry).unwrap();
    assert_eq!(mlflow::get_registry_uri(), registry);
    let file = path.join("model.bin");
    std::fs::write(&file, b"weights").unwrap();
    let (model, run_id) = {
        let run = mlflow::start_run().name("split").start();
        (mlflow::log_model("net", &file).unwrap(), run.id().unwrap())
    };
    let name = unique_name("split");
    let v = mlflow::register_model(&model.uri(), &name).unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(v.run_id.as_deref(), Some(run_id.as_str()));
    let client = mlflow::Client::new();
    client
        .set_registered_model_alias(&name, "champion", 1)
        .unwrap();
    assert_eq!(
        client.get_model_version_download_uri(&name, 1).unwrap(),
        model.artifact_location
    );
    let dest = tempfile::tempdir().unwrap();
    mlflow::download_artifacts_uri(&format!("models:/{name}@champion"), dest.path()).unwrap();
    assert_eq!(model_files(dest.path()), ["MLmodel", "model.bin"]);

    let out = run_python(
        READ_SPLIT,
        &[
            ("TRACKING", &t.uri),
            ("REGISTRY", &registry),
            ("NAME", &name),
            ("MODEL", model.model_id()),
        ],
    );
    assert_eq!(out["version"], "1", "{out}");
    assert_eq!(out["source"], model.uri());
    assert_eq!(out["run_id"], run_id.as_str());
    assert_eq!(out["download_uri"], model.artifact_location.as_str());
    assert_eq!(out["files"], serde_json::json!(["MLmodel", "model.bin"]));
    // The model on the server lists the version, as Python's register_model records it.
    assert_eq!(
        out["tag"],
        serde_json::json!([{"name": name, "version": 1}])
    );
}

/// Models in an embedded file, the registry on a server: the server looks `models:/<id>` up
/// in its own store, and its refusal comes back as it is.
#[test]
fn a_server_registry_refuses_models_it_does_not_keep() {
    let Some(server) = mlflow_test_support::server_uri() else {
        return;
    };
    let Some(_t) = stores::target(stores::Backend::Embedded, "split-back") else {
        return;
    };
    mlflow::set_registry_uri(&server).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("model.bin");
    std::fs::write(&file, b"w").unwrap();
    let model = {
        let _run = mlflow::start_run().name("local").start();
        mlflow::log_model("net", &file).unwrap()
    };
    let e = mlflow::register_model(&model.uri(), &unique_name("elsewhere")).unwrap_err();
    assert!(matches!(e, mlflow::Error::Api { .. }), "{e}");
    assert!(e.to_string().contains(model.model_id()), "{e}");
}

/// `MLFLOW_REGISTRY_URI` names the registry when `set_registry_uri` was not called.
#[test]
fn the_registry_uri_comes_from_the_environment() {
    if in_child() {
        let registry = std::env::var("MLFLOW_REGISTRY_URI").unwrap();
        assert_eq!(mlflow::get_registry_uri(), registry);
        let name = unique_name("env");
        mlflow::Client::new()
            .create_registered_model(&name)
            .unwrap();
        println!("created {name}");
        return;
    }
    if mlflow_test_support::python().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    let tracking = format!("sqlite:///{}", path.join("tracking.db").display());
    let registry = format!("sqlite:///{}", path.join("registry.db").display());
    let out = mlflow_test_support::run_self(
        "the_registry_uri_comes_from_the_environment",
        Some(&path),
        &[
            ("MLFLOW_TRACKING_URI", tracking.as_str()),
            ("MLFLOW_REGISTRY_URI", registry.as_str()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (_, after) = stdout.split_once("created ").expect("the child's model");
    let name: String = after.chars().take_while(|c| !c.is_whitespace()).collect();
    let found = run_python(
        r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["T"], registry_uri=os.environ["R"])
print(json.dumps([m.name for m in c.search_registered_models()]))
"#,
        &[("T", &tracking), ("R", &registry)],
    );
    assert_eq!(found, serde_json::json!([name]));
}

/// What Python registered in an embedded file reads back the same here, and a version
/// registered from Rust into it takes the next number.
#[test]
fn reads_what_python_registered_in_an_embedded_file() {
    if mlflow_test_support::python().is_none() {
        assert!(!mlflow_test_support::is_ci(), "no MLflow venv under CI");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().canonicalize().unwrap();
    let uri = format!("sqlite:///{}", path.join("mlflow.db").display());
    let models = path.join("model");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::write(models.join("MLmodel"), b"flavors: {}\n").unwrap();
    run_python(
        r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"], registry_uri=os.environ["URI"])
c.create_registered_model("py-model", tags={"team": "py"}, description="from Python")
c.create_model_version("py-model", os.environ["SRC"], tags={"k": "v"}, description="first")
c.set_registered_model_alias("py-model", "champion", 1)
print(json.dumps("ok"))
"#,
        &[("URI", &uri), ("SRC", models.to_str().unwrap())],
    );
    // Another tracking file: the registry comes from the client's registry URI.
    let tracking = format!("sqlite:///{}", path.join("tracking.db").display());
    let client = mlflow::Client::with_tracking_uri(&tracking)
        .unwrap()
        .with_registry_uri(&uri)
        .unwrap();
    let rm = client.get_registered_model("py-model").unwrap();
    assert_eq!(rm.description.as_deref(), Some("from Python"));
    assert_eq!(rm.tags.get("team").map(String::as_str), Some("py"));
    assert_eq!(rm.alias("champion"), Some(1));
    let v = client
        .get_model_version_by_alias("py-model", "champion")
        .unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(v.source, models.to_str().unwrap());
    assert_eq!(v.description.as_deref(), Some("first"));
    assert_eq!(v.tags.get("k").map(String::as_str), Some("v"));
    assert_eq!(v.status, "READY");
    assert_eq!(v.run_id, None);
    let dest = tempfile::tempdir().unwrap();
    client
        .download_artifacts_uri("models:/py-model@champion", dest.path())
        .unwrap();
    assert_eq!(model_files(dest.path()), ["MLmodel"]);
    let mut new = mlflow::NewModelVersion::new("py-model", models.to_str().unwrap());
    new.description = Some("from Rust".into());
    let v2 = client.create_model_version(&new).unwrap();
    assert_eq!(v2.version, 2);
    let found = run_python(
        r#"
import json, os
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=os.environ["URI"], registry_uri=os.environ["URI"])
print(json.dumps([[str(v.version), v.description] for v in c.search_model_versions("name = 'py-model'", order_by=["version_number"])]))
"#,
        &[("URI", &uri)],
    );
    assert_eq!(
        found,
        serde_json::json!([["1", "first"], ["2", "from Rust"]])
    );
}
