//! Implementation detail of the `mlflow-tracking` crate.
