#[mlflow::parent_run(crate = mlflow, name = "a", crate = mlflow)]
fn train() {}

fn main() {
    train();
}
