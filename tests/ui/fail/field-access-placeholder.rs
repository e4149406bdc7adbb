struct Config {
    depth: u8,
}

#[mlflow::child_run(name = "depth_{cfg.depth}")]
fn train(cfg: Config) {
    let _ = cfg.depth;
}

fn main() {
    train(Config { depth: 1 });
}
