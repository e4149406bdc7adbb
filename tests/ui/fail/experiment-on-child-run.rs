#[mlflow::child_run(experiment = "tuning")]
fn train() {}

fn main() {}
