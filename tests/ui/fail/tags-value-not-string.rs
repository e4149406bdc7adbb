#[mlflow::parent_run(tags(team = "vision", priority = 1))]
fn sweep() {}

fn main() {}
