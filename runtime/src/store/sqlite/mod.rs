//! The embedded default store: an SQLite file in MLflow's own schema.
// Placeholder: implemented in the SQLite work item.
