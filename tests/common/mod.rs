//! What the integration tests against the suite's server share.

use mlflow_test_support::unique_name;

/// Points the crate at the server `uri` and a fresh experiment, whose name it returns.
pub(crate) fn use_fresh_experiment(uri: &str, prefix: &str) -> String {
    mlflow::set_tracking_uri(uri).expect("set_tracking_uri");
    let experiment = unique_name(prefix);
    mlflow::set_experiment(&experiment).expect("set_experiment");
    experiment
}
