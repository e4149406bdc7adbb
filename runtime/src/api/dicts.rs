//! `log_dict` (JSON, or YAML for `.yaml`/`.yml`, as the Python client writes them), and
//! reading files back by artifact URI: `load_text`, `load_dict` (Python's
//! `mlflow.artifacts.load_text` and `load_dict`).

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::artifacts;
use crate::base::error::{Error, Result};
use crate::base::py_json::{self, Style};
use crate::base::yaml;
use crate::runs::RunHandle;
use crate::tracker::{self, Tracker};

/// Stores `value` in the artifact file `artifact_file` of the active run: as YAML when the
/// name ends with `.yaml` or `.yml`, as JSON otherwise, as Python's `log_dict` chooses and
/// writes them ([`RunHandle::log_dict`] and [`Client::log_dict`](crate::Client::log_dict)
/// log to a given run):
///
/// - JSON as `json.dump(value, f, indent=2)`: two spaces of indent, the value's own key
///   order (a struct's fields, a map's order: `serde_json::json!` sorts its keys unless
///   serde_json's `preserve_order` feature is on, so a struct keeps a Python dict's order
///   best), every non-ASCII character as `\uXXXX`,
///   floats as Python prints them (`0.1`, `1e-05`, `2.0`);
/// - YAML as `yaml.dump(value, f, indent=2, default_flow_style=False)`: block style, keys
///   sorted, sequences under a key not indented, strings that a YAML 1.1 reader (PyYAML)
///   would take for something else quoted (`"yes"`, `"123"`). The values are PyYAML's; the
///   bytes differ where PyYAML single-quotes (`'yes'`), escapes non-ASCII text, folds
///   strings longer than 80 columns, spreads a multi-line string over lines (here: `\n`
///   escapes) or writes `1.0e-07` (here `1.0e-7`).
///
/// A non-finite float is written `null` (Python writes `NaN`, or `.nan` in YAML).
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let _run = mlflow::start_run().start();
/// let config = serde_json::json!({"lr": 0.01, "layers": [64, 64]});
/// mlflow::log_dict(&config, "config.yaml")?; // layers:\n- 64\n- 64\nlr: 0.01
/// mlflow::log_dict(&config, "config.json")?;
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn log_dict<T: Serialize + ?Sized>(value: &T, artifact_file: &str) -> Result<()> {
    artifacts::active()?.log_dict(value, artifact_file)
}

/// The text of the artifact file `artifact_uri` names (UTF-8), as Python's
/// `mlflow.artifacts.load_text`: `runs:/<run_id>/<path>`, or a run's `artifact_uri`
/// followed by `/<path>` (`mlflow-artifacts:/...` through the tracking server, `file://`
/// URIs and local paths directly). Runs by id are looked up in the tracking URI in effect.
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let run = mlflow::start_run().start();
/// mlflow::log_text("hello", "notes/a.txt")?;
/// let text = mlflow::load_text(&format!("runs:/{}/notes/a.txt", run.id()?))?;
/// assert_eq!(text, "hello");
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn load_text(artifact_uri: &str) -> Result<String> {
    load_text_on(&tracker::current(), artifact_uri)
}

/// The artifact file `artifact_uri` names (as for [`load_text`]) read into `T`: YAML for a
/// name ending with `.yaml` or `.yml`, JSON otherwise (Python's `load_dict` reads JSON
/// only).
///
/// ```no_run
/// # use mlflow_tracking_runtime as mlflow;
/// let run = mlflow::start_run().start();
/// mlflow::log_dict(&serde_json::json!({"lr": 0.01}), "config.yaml")?;
/// let config: serde_json::Value = mlflow::load_dict(&format!("runs:/{}/config.yaml", run.id()?))?;
/// assert_eq!(config["lr"], 0.01);
/// # Ok::<(), mlflow::Error>(())
/// ```
pub fn load_dict<T: DeserializeOwned>(artifact_uri: &str) -> Result<T> {
    load_dict_on(&tracker::current(), artifact_uri)
}

/// The file `log_dict` writes for `artifact_file`.
pub(crate) fn dict_file<T: Serialize + ?Sized>(value: &T, artifact_file: &str) -> Result<String> {
    let invalid = |format: &str, e: String| Error::InvalidValue {
        kind: "artifact",
        key: artifact_file.to_owned(),
        reason: format!("cannot be written as {format}: {e}"),
    };
    if is_yaml(artifact_file) {
        yaml::to_string(value).map_err(|e| invalid("YAML", e))
    } else {
        py_json::to_string(value, Style::Indent2).map_err(|e| invalid("JSON", e.to_string()))
    }
}

/// Stores `value` as JSON or YAML in the artifact file `artifact_file` of `run`.
pub(crate) fn log_dict_to<T: Serialize + ?Sized>(
    run: &RunHandle,
    value: &T,
    artifact_file: &str,
) -> Result<()> {
    let text = dict_file(value, artifact_file)?;
    artifacts::log_bytes(run, text.as_bytes(), artifact_file)
}

pub(crate) fn load_text_on(tracker: &Tracker, artifact_uri: &str) -> Result<String> {
    let bytes = artifacts::read_uri(tracker, artifact_uri)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::InvalidArgument(format!(
            "Artifact {artifact_uri:?} is not valid UTF-8. To read a file in another encoding, \
             download it with download_artifacts and decode it"
        ))
    })
}

pub(crate) fn load_dict_on<T: DeserializeOwned>(
    tracker: &Tracker,
    artifact_uri: &str,
) -> Result<T> {
    let text = load_text_on(tracker, artifact_uri)?;
    let parsed = if is_yaml(artifact_uri) {
        yaml::from_str(&text).map_err(|e| ("a YAML", e))
    } else {
        serde_json::from_str(&text).map_err(|e| ("a JSON", e.to_string()))
    };
    parsed.map_err(|(what, e)| {
        Error::InvalidArgument(format!(
            "Unable to form {what} object from the content of {artifact_uri:?}: {e}"
        ))
    })
}

/// Python's rule: `os.path.splitext(name)[1] in [".yml", ".yaml"]`.
fn is_yaml(name: &str) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e == "yaml" || e == "yml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_by_extension() {
        let d = json!({"b": 1, "a": [true, null]});
        assert_eq!(
            dict_file(&d, "d.yml").unwrap(),
            "a:\n- true\n- null\nb: 1\n"
        );
        assert_eq!(
            dict_file(&d, "dir/d.yaml").unwrap(),
            "a:\n- true\n- null\nb: 1\n"
        );
        let json = "{\n  \"a\": [\n    true,\n    null\n  ],\n  \"b\": 1\n}";
        for name in ["d.json", "d", "d.txt", ".yaml", "d.YAML"] {
            assert_eq!(dict_file(&d, name).unwrap(), json, "{name}");
        }
    }
}
