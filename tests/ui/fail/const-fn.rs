#[mlflow::child_run]
const fn train() -> u32 {
    1
}

fn main() {
    let _ = train();
}
