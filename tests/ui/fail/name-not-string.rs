const NAME: &str = "train";

#[mlflow::child_run(name = NAME)]
fn train() {}

fn main() {
    train();
}
