#[mlflow::child_run(params(*), skip(dataa))]
fn train(lr: f64, data: Vec<u8>) {
    let _ = (lr, data);
}

fn main() {}
