#[mlflow::child_run(param(lr))]
fn train(lr: f64) {
    let _ = lr;
}

fn main() {}
