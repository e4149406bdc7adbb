//! How a function's return value decides the status its run ends with.
//!
//! The macros call `(&&&Probe(&value)).run_outcome()`: method resolution tries receivers
//! from the outermost reference inwards, so the impl on `&&Probe<Result<_, E: Display>>` wins
//! over the one on `&Probe<Result<_, E: Debug>>`, which wins over the one on `Probe<T>`
//! (autoref specialization). So `Result` is recognised by its type whatever
//! it is spelled as (`anyhow::Result<()>`, `io::Result<T>`, an alias), and every other type
//! ends the run FINISHED. Users of the imperative API can call the same thing.

use std::fmt::{Debug, Display};

/// How a run ends, decided from a function's return value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Returned normally: the run ends FINISHED.
    Finished,
    /// Returned `Err`: the run ends FAILED and the message goes into the `error` tag.
    Failed(String),
}

impl Outcome {
    /// The outcome of a `Result`: FAILED with the error's `Display` on `Err`.
    pub fn of_result<T, E: Display>(value: &Result<T, E>) -> Outcome {
        match value {
            Ok(_) => Outcome::Finished,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }

    /// The status to end with, and the message for the `error` tag.
    pub(crate) fn into_parts(self) -> (crate::base::model::RunStatus, Option<String>) {
        match self {
            Outcome::Finished => (crate::base::model::RunStatus::Finished, None),
            Outcome::Failed(msg) => (crate::base::model::RunStatus::Failed, Some(msg)),
        }
    }
}

/// Wraps a reference to a return value for [`ResultDisplayOutcome`], [`ResultDebugOutcome`]
/// and [`OtherOutcome`] to inspect.
#[derive(Debug)]
pub struct Probe<'a, T>(pub &'a T);

/// `Result<T, E>` with `E: Display`: `Err` fails the run with the error's `Display`.
pub trait ResultDisplayOutcome {
    /// The outcome for this value.
    fn run_outcome(&self) -> Outcome;
}

/// `Result<T, E>` with `E: Debug` but not `Display`: `Err` fails the run with its `Debug`.
pub trait ResultDebugOutcome {
    /// The outcome for this value.
    fn run_outcome(&self) -> Outcome;
}

/// Any other value: the run ends FINISHED.
pub trait OtherOutcome {
    /// The outcome for this value.
    fn run_outcome(&self) -> Outcome;
}

impl<T, E: Display> ResultDisplayOutcome for &&Probe<'_, Result<T, E>> {
    fn run_outcome(&self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Finished,
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

impl<T, E: Debug> ResultDebugOutcome for &Probe<'_, Result<T, E>> {
    fn run_outcome(&self) -> Outcome {
        match self.0 {
            Ok(_) => Outcome::Finished,
            Err(e) => Outcome::Failed(format!("{e:?}")),
        }
    }
}

impl<T> OtherOutcome for Probe<'_, T> {
    fn run_outcome(&self) -> Outcome {
        Outcome::Finished
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct NoDisplay;

    // Written exactly as the macros write it: they cannot know the type, so always `&&&`.
    #[test]
    #[allow(clippy::needless_borrow)]
    fn picks_the_most_specific_impl() {
        let ok: Result<u8, String> = Ok(1);
        let err: Result<u8, String> = Err("boom".into());
        let dbg: Result<(), NoDisplay> = Err(NoDisplay);
        let unit = ();
        let n = 5_i32;
        assert_eq!((&&&Probe(&ok)).run_outcome(), Outcome::Finished);
        assert_eq!(
            (&&&Probe(&err)).run_outcome(),
            Outcome::Failed("boom".into())
        );
        assert_eq!(
            (&&&Probe(&dbg)).run_outcome(),
            Outcome::Failed("NoDisplay".into())
        );
        assert_eq!((&&&Probe(&unit)).run_outcome(), Outcome::Finished);
        assert_eq!((&&&Probe(&n)).run_outcome(), Outcome::Finished);
    }
}
