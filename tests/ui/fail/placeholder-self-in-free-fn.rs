#[mlflow::child_run(name = "run_{self}")]
fn train() {}

fn main() {
    train();
}
