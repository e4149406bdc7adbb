//! Implementation detail of the `mlflow-tracking` crate (imported as `mlflow`): the run stack,
//! the stores and the background sender. Use the `mlflow` facade instead.
#![warn(missing_debug_implementations)]

pub mod error;
pub mod model;
pub mod outcome;
pub mod store;

pub use error::{Error, Result};
