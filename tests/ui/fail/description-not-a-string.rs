#[mlflow::child_run(description = true)]
fn train() {}

#[mlflow::child_run(description = format!("run {}", 1))]
fn evaluate() {}

fn main() {
    train();
    evaluate();
}
