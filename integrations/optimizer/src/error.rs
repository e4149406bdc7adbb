//! The integration's error type.

/// What creating, loading and running a study can fail with.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tracking call failed (the store, a key MLflow refuses, a run that was not created).
    #[error(transparent)]
    Tracking(#[from] mlflow_tracking_runtime::Error),
    /// A run with the study's name exists in the experiment but is not an Optuna study: it
    /// has no `optuna.study_direction` tag.
    #[error(
        "run {run_id} is named {name:?} but is not an Optuna study (it has no \
         `optuna.study_direction` tag): choose another study name or experiment"
    )]
    NotAStudy {
        /// The study name asked for.
        name: String,
        /// The run that has that name.
        run_id: String,
    },
    /// The study exists with another direction than the one asked for.
    #[error("study {name:?} exists with direction {stored}, not {requested}")]
    DirectionMismatch {
        /// The study's name.
        name: String,
        /// The direction stored on the study run (`MINIMIZE`, `MAXIMIZE`, ...).
        stored: String,
        /// The direction asked for.
        requested: String,
    },
    /// The study run holds several directions: a multi-objective Optuna study, which this
    /// integration does not run.
    #[error(
        "study {name:?} is multi-objective ({stored}): only single-objective studies are supported"
    )]
    MultiObjective {
        /// The study's name.
        name: String,
        /// The stored directions.
        stored: String,
    },
    /// The objective asked for a parameter that was not registered with the study.
    #[error(
        "parameter {name:?} is not registered with the study: add it with \
         `StudyBuilder::param` (registered: {registered})"
    )]
    UnknownParam {
        /// The name asked for.
        name: String,
        /// The registered names, comma-separated.
        registered: String,
    },
    /// A parameter was asked for as another kind than it was registered as.
    #[error("parameter {name:?} is registered as a {registered} parameter, not a {asked} one")]
    ParamKind {
        /// The parameter's name.
        name: String,
        /// The kind it was registered as.
        registered: &'static str,
        /// The kind asked for.
        asked: &'static str,
    },
    /// A parameter name or search space that cannot be stored (an empty name, characters
    /// MLflow refuses in a key, a name registered twice, an empty list of choices).
    #[error("invalid parameter {name:?}: {reason}")]
    InvalidParam {
        /// The parameter's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// The study's name cannot be a run name.
    #[error("invalid study name {0:?}: it must not be empty and at most 250 characters")]
    InvalidStudyName(String),
    /// The `optimizer` crate refused something (a parameter value it could not cast, ...).
    #[error("optimizer: {0}")]
    Optimizer(String),
    /// No number could be claimed for a trial after many attempts (other writers took every
    /// number tried).
    #[error("could not claim a trial number on study run {study_run_id} after {attempts} attempts")]
    NoTrialNumber {
        /// The study's run.
        study_run_id: String,
        /// How many numbers were tried.
        attempts: usize,
    },
    /// The objective returned `Err(TrialPruned)`: the trial was pruned. Returned by
    /// objectives (`Err(Error::TrialPruned)`), never by the study's own calls.
    #[error("trial pruned")]
    TrialPruned,
    /// The study has no completed trial (every trial failed or was pruned), so there is no
    /// best trial.
    #[error("study {0:?} has no completed trial")]
    NoCompletedTrials(String),
}

impl From<optimizer::Error> for Error {
    fn from(e: optimizer::Error) -> Self {
        match e {
            optimizer::Error::TrialPruned => Error::TrialPruned,
            other => Error::Optimizer(other.to_string()),
        }
    }
}

impl From<optimizer::TrialPruned> for Error {
    fn from(_: optimizer::TrialPruned) -> Self {
        Error::TrialPruned
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
