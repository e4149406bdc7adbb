//! Saving a trained burn model and logging the file as an artifact of a run.

use std::path::{Path, PathBuf};

use burn_core::module::Module;
use mlflow_tracking_runtime::RunHandle;

use crate::error::{Error, Result};

/// The run's artifact folder the model file goes to.
pub const MODEL_ARTIFACT_DIR: &str = "model";

/// Saves `model` with burn's [`Module::save_file`] at `path` (creating its folder) and logs the file burn wrote
/// to `run`'s artifacts, in the folder [`MODEL_ARTIFACT_DIR`]. Returns the file's path.
pub(crate) fn save_and_log<M: Module>(run: &RunHandle, model: M, path: &Path) -> Result<PathBuf> {
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
    run.log_artifact_to(&file, MODEL_ARTIFACT_DIR)?;
    Ok(file)
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
    fn a_missing_file_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = written_file(&dir.path().join("model")).unwrap_err();
        assert!(matches!(err, Error::ModelFileMissing { .. }), "{err}");
        assert!(err.to_string().contains("model.*"), "{err}");
    }
}
