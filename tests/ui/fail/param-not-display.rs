struct Config;

#[mlflow::child_run(params(lr, cfg))]
fn train(lr: f64, cfg: Config) {
    let _ = (lr, cfg);
}

fn main() {}
