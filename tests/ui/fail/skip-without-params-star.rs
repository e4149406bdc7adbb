#[mlflow::child_run(skip(data))]
fn train(lr: f64, data: Vec<u8>) {
    let _ = (lr, data);
}

fn main() {}
