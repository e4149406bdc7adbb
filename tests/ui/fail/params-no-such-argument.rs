#[mlflow::child_run(params(lr, rate))]
fn train(lr: f64, batch_size: u32) {
    let _ = (lr, batch_size);
}

fn main() {}
