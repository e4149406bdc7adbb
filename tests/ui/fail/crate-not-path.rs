#[mlflow::child_run(crate = 42)]
fn train() {}

fn main() {
    train();
}
