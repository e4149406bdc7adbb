//! The model registry with a run's model folder as the source (`runs:/<run_id>/<path>`, a
//! folder with an `MLmodel` file: what MLflow 2.x clients log), on both stores, read back
//! with MLflow's official Python client: the version's source is the run's folder, the alias
//! finds it, and `models:/name@alias` downloads it.
//!
//! old-mlflow: also runs against the old MLflow server (`MLFLOW_OLD_VERSION`, scripts/pins.env)

// The shared store setup; this file spells its two tests out (the old-MLflow step skips one).
#[allow(unused_macros, unused_imports)]
mod stores;

use mlflow_test_support::{run_python, unique_name};
use stores::{Backend, Target, target};

fn a_runs_folder_is_registered_and_found_by_alias(t: &Target) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("model");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("MLmodel"), b"flavors: {}\n").unwrap();
    std::fs::write(folder.join("weights.bin"), b"w").unwrap();
    let run_id = {
        let run = mlflow::start_run().name("trained").start();
        mlflow::log_artifacts_to(&folder, "model").unwrap();
        run.id().unwrap()
    };
    mlflow::flush().unwrap();
    let name = unique_name("runs-source");
    let source = format!("runs:/{run_id}/model");
    let v = mlflow::register_model(&source, &name).unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(v.run_id.as_deref(), Some(run_id.as_str()));
    // The run's folder itself, as Python's `RunsArtifactRepository.get_underlying_uri`.
    let run_root = mlflow::get_run(&run_id).unwrap().info.artifact_uri;
    assert_eq!(v.source, format!("{run_root}/model"));
    let client = mlflow::Client::new();
    client
        .set_registered_model_alias(&name, "champion", v.version)
        .unwrap();
    let dest = tempfile::tempdir().unwrap();
    mlflow::download_artifacts_uri(&format!("models:/{name}@champion"), dest.path()).unwrap();
    assert_eq!(
        std::fs::read(dest.path().join("weights.bin")).unwrap(),
        b"w"
    );
    assert!(dest.path().join("MLmodel").is_file());

    let out = run_python(
        r#"
import json, os, tempfile
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri(os.environ["URI"])
mlflow.set_registry_uri(os.environ["URI"])
c = MlflowClient()
mv = c.get_model_version_by_alias(os.environ["NAME"], "champion")
d = mlflow.artifacts.download_artifacts(f"models:/{os.environ['NAME']}@champion", dst_path=tempfile.mkdtemp())
print(json.dumps({
    "version": str(mv.version),
    "source": mv.source,
    "run_id": mv.run_id,
    "files": sorted(f for f in os.listdir(d) if f != "registered_model_meta"),
}))
"#,
        &[("URI", &t.uri), ("NAME", &name)],
    );
    assert_eq!(out["version"], "1", "{out}");
    assert_eq!(out["source"], v.source.as_str());
    assert_eq!(out["run_id"], run_id.as_str());
    assert_eq!(out["files"], serde_json::json!(["MLmodel", "weights.bin"]));
}

#[test]
fn a_runs_folder_registered_on_a_server() {
    if let Some(t) = target(Backend::Server, "runs-source") {
        a_runs_folder_is_registered_and_found_by_alias(&t);
    }
}

// old-mlflow: skip, it reads the crate's own SQLite file (the pinned MLflow's schema) with
// Python, and the old MLflow cannot open a newer schema.
#[test]
fn a_runs_folder_registered_in_the_embedded_store() {
    if let Some(t) = target(Backend::Embedded, "runs-source") {
        a_runs_folder_is_registered_and_found_by_alias(&t);
    }
}
