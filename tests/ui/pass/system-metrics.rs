// `system_metrics = true|false` on both attributes, sync and async.

#[mlflow::parent_run(name = "sweep", system_metrics = true)]
fn sweep() {
    trial(1);
}

#[mlflow::child_run(name = "trial_{i}", system_metrics = false, params(i))]
fn trial(i: u32) -> u32 {
    i
}

#[mlflow::child_run(system_metrics = true)]
async fn fetch() {}

fn main() {
    mlflow::enable_system_metrics_logging();
    mlflow::disable_system_metrics_logging();
    let _ = mlflow::start_run().log_system_metrics(true);
    let _ = sweep;
    let _ = fetch;
}
