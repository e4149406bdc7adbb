#[mlflow::child_run(name = "run_i}")]
fn train(i: u32) {
    let _ = i;
}

fn main() {
    train(1);
}
