#[mlflow::parent_run(experiment = tuning)]
fn sweep() {}

fn main() {}
