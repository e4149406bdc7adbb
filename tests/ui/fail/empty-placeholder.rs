#[mlflow::child_run(name = "run_{}")]
fn train(i: u32) {
    let _ = i;
}

fn main() {
    train(1);
}
