use std::time::Instant;
fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(100_000);
    mlflow::set_experiment("scratch-tp").unwrap();
    let t0 = Instant::now();
    let run = mlflow::start_run().name("tp").start();
    for i in 0..n { mlflow::log_metric_with_step("loss", i as f64, i as i64).unwrap(); }
    let t1 = t0.elapsed();
    drop(run);
    mlflow::flush().unwrap();
    let t2 = t0.elapsed();
    println!("enqueue {:?} ({:.0} ns/call), total {:?}, {:.0} points/s", t1, t1.as_nanos() as f64 / n as f64, t2, n as f64 / t2.as_secs_f64());
}
