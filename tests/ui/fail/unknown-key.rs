#[mlflow::child_run(nmae = "run")]
fn train() {}

fn main() {
    train();
}
