#[mlflow::child_run(params(*))]
fn train(lr: f64, data: Vec<f64>) {
    let _ = (lr, data);
}

fn main() {}
