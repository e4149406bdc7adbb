#[mlflow::child_run]
fn train() -> u32 {
    "not a number"
}

fn main() {
    let _ = train();
}
