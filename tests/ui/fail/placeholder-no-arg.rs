#[mlflow::child_run(name = "run_{j}_test_{test_no}")]
fn train_one(i: u32, test_no: u32) {
    let _ = (i, test_no);
}

fn main() {
    train_one(0, 1);
}
