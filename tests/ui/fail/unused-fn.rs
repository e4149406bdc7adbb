#![deny(dead_code)]

#[mlflow::child_run]
fn never_called() {}

fn main() {}
