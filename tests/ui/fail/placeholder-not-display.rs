struct Config;

#[mlflow::child_run(name = "run_{cfg}")]
fn train(cfg: Config) {
    let _ = cfg;
}

fn main() {
    train(Config);
}
