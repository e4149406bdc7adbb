#[mlflow::parent_run(tags("team$name" = "vision"))]
fn sweep() {}

fn main() {}
