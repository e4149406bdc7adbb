//! The parent/child workload from the MLflow docs, with names built from the arguments.
//! `main` only references the functions: trybuild runs pass cases, and they must not track.

#[mlflow::parent_run(name = "parent_run_test_default_{test_no}")]
fn execute_tuning(test_no: u32) {
    for i in 0..5 {
        train_one(i, test_no);
    }
}

#[mlflow::child_run(name = "run_{i}_test_{test_no}")]
fn train_one(i: u32, test_no: u32) {
    let _ = (i, test_no);
}

#[mlflow::child_run]
pub fn default_name() {}

#[mlflow::parent_run()]
pub fn empty_parentheses() {}

#[mlflow::child_run(name = "static name")]
pub fn static_name_trailing_comma() {}

fn main() {
    let _: fn(u32) = execute_tuning;
}
