//! The integration's error type.

/// What the helpers of this crate can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The tracking call failed (no active run, a key MLflow refuses, the store, ...).
    #[error(transparent)]
    Tracking(#[from] mlflow_tracking_runtime::Error),
    /// A config could not be turned into params (its shape has no flat form: a single
    /// value, a map with keys that are not strings, ...).
    #[error("cannot log the config as params: {0}")]
    Params(String),
    /// burn could not write the model file.
    #[error("cannot save the model to {path}: {message}")]
    SaveModel {
        /// The path given to the helper.
        path: String,
        /// burn's error.
        message: String,
    },
    /// burn reported success but no file it could have written exists.
    #[error("burn saved the model to {path} but no file {candidates} exists")]
    ModelFileMissing {
        /// The path given to the helper.
        path: String,
        /// The files looked for.
        candidates: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
