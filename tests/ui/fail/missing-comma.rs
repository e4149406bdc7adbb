#[mlflow::child_run(name = "run" crate = mlflow)]
fn train() {}

fn main() {
    train();
}
