#[mlflow::parent_run(tags(team))]
fn sweep() {}

fn main() {}
