#[mlflow::child_run(system_metrics = "yes")]
fn train() {}

#[mlflow::parent_run(system_metrics = 1)]
fn sweep() {}

fn main() {}
