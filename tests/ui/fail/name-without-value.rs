#[mlflow::child_run(name)]
fn train() {}

fn main() {
    train();
}
