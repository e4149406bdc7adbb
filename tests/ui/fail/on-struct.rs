#[mlflow::child_run]
struct Trial {
    id: u32,
}

fn main() {
    let _ = Trial { id: 1 }.id;
}
