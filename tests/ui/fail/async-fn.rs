#[mlflow::child_run]
async fn train() -> u32 {
    1
}

fn main() {
    let _ = train;
}
