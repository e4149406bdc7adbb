//! What names the models this crate logs: burn's version, the flavor, and model names
//! MLflow accepts.

/// The burn version this crate was built against (burn-train's, as resolved in the
/// build's `Cargo.lock`; `0.22` when no lock file was found). Logged as the tag
/// `burn.version`.
pub const BURN_VERSION: &str = env!("MLFLOW_BURN_VERSION");

/// The flavor of the logged models this crate logs.
pub const BURN_FLAVOR: &str = "burn";

/// `name` with the characters MLflow refuses in a logged model's name (`/ : . % " '`, and
/// `\`) replaced by `_`; `model` when nothing is left.
pub(crate) fn valid_model_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | ':' | '.' | '%' | '"' | '\'' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.trim().is_empty() {
        "model".to_owned()
    } else {
        name
    }
}
