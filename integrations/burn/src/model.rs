//! Saving a trained burn model and logging the file as an MLflow logged model of a run.

use std::path::{Path, PathBuf};

use burn_core::module::Module;
use mlflow_tracking_runtime::{LoggedModel, RunHandle};

use crate::error::{Error, Result};
use crate::flavor::{BURN_FLAVOR, BURN_VERSION, valid_model_name};

/// Saves `model` with burn's [`Module::save_file`] at `path` (creating its folder) and logs
/// the file burn wrote as a logged model of `run`, flavor [`BURN_FLAVOR`], named after the
/// file ([`model_name`]).
pub(crate) fn save_and_log<M: Module>(
    run: &RunHandle,
    model: M,
    path: &Path,
) -> Result<LoggedModel> {
    let failed = |message: String| Error::SaveModel {
        path: path.display().to_string(),
        message,
    };
    // burn does not create missing folders.
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| failed(e.to_string()))?;
    }
    model.save_file(path).map_err(|e| failed(e.to_string()))?;
    let file = written_file(path)?;
    let logged = run
        .logged_model(&model_name(&file), &file)
        .flavor(BURN_FLAVOR)
        .tag("burn.version", BURN_VERSION)
        .log()?;
    Ok(logged)
}

/// The logged model's name for the file `file`: its name without the extension, with the
/// characters MLflow refuses in a model name (`/ : . % " '`, and `\`) replaced by `_`;
/// `model` when nothing is left.
pub(crate) fn model_name(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    valid_model_name(&stem)
}

/// The file burn wrote for `path`: `path` itself, or, since burn appends its format's
/// extension (`.bpk`) to a path without one, the file `path.<ext>` written last.
fn written_file(path: &Path) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let missing = || Error::ModelFileMissing {
        path: path.display().to_string(),
        candidates: format!("{}.*", path.display()),
    };
    let name = path.file_name().ok_or_else(missing)?.to_string_lossy();
    let prefix = format!("{name}.");
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let entries = std::fs::read_dir(dir).map_err(|_| missing())?;
    entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            meta.is_file().then(|| (meta.modified().ok(), entry.path()))
        })
        .max()
        .map(|(_, file)| file)
        .ok_or_else(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_with_the_appended_extension() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.bpk"), b"x").unwrap();
        std::fs::write(dir.path().join("modelling.bpk"), b"x").unwrap();
        let found = written_file(&dir.path().join("model")).unwrap();
        assert_eq!(found, dir.path().join("model.bpk"));
        let exact = written_file(&dir.path().join("modelling.bpk")).unwrap();
        assert_eq!(exact, dir.path().join("modelling.bpk"));
    }

    #[test]
    fn names_mlflow_refuses_are_made_valid() {
        assert_eq!(valid_model_name("net.v2-3"), "net_v2-3");
        assert_eq!(valid_model_name("a/b"), "a_b");
        assert_eq!(valid_model_name(" "), "model");
        assert_eq!(valid_model_name("model-1"), "model-1");
    }

    #[test]
    fn model_names_from_file_names() {
        assert_eq!(model_name(Path::new("out/final.bpk")), "final");
        assert_eq!(model_name(Path::new("net.v2.bpk")), "net_v2");
        assert_eq!(model_name(Path::new("a:b%c.bpk")), "a_b_c");
        assert_eq!(model_name(Path::new(".bpk")), "_bpk");
        assert_eq!(model_name(Path::new("")), "model");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = written_file(&dir.path().join("model")).unwrap_err();
        assert!(matches!(err, Error::ModelFileMissing { .. }), "{err}");
        assert!(err.to_string().contains("model.*"), "{err}");
    }
}
