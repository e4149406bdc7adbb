#[mlflow::child_run(name = "a", name = "b")]
fn train() {}

fn main() {
    train();
}
