#[mlflow::parent_run(tags(team = "vision", team = "nlp"))]
fn sweep() {}

fn main() {}
