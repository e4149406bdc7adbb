#[mlflow::child_run(name = "run_{i:w$}")]
fn train(i: u32, w: usize) {
    let _ = (i, w);
}

fn main() {
    train(1, 2);
}
