#[mlflow::child_run]
extern "C" fn train() -> u32 {
    1
}

fn main() {
    let _ = train;
}
