trait Trainer {
    #[mlflow::child_run]
    fn train(&self);
}

fn main() {}
