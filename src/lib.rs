//! MLflow experiment tracking for Rust.
