#[mlflow::child_run(params = "lr")]
fn train(lr: f64) {
    let _ = lr;
}

fn main() {}
