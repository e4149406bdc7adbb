#[mlflow::child_run(params(lr, batch_size), skip(lr))]
fn train(lr: f64, batch_size: u32) {
    let _ = (lr, batch_size);
}

fn main() {}
