//! `async fn`: the run follows the future; `return`, `?` and coercions work in the body.

use std::error::Error;
use std::fmt::Debug;

#[mlflow::parent_run(name = "sweep_{n}")]
async fn sweep(n: u32) -> Vec<f64> {
    let mut losses = Vec::new();
    for i in 0..n {
        losses.push(trial(i).await.unwrap_or(f64::NAN));
    }
    losses
}

#[mlflow::child_run(name = "trial_{i}")]
async fn trial(i: u32) -> Result<f64, Box<dyn Error + Send + Sync>> {
    if i == 0 {
        return Err("no trial 0".into());
    }
    let parsed: f64 = "0.5".parse()?;
    Ok(parsed / f64::from(i))
}

#[mlflow::child_run]
async fn coerced() -> Box<dyn Debug + Send> {
    Box::new(5)
}

#[mlflow::child_run]
async fn coerced_early_return(x: u32) -> Box<dyn Debug + Send> {
    if x > 0 {
        return Box::new(x);
    }
    Box::new("zero")
}

#[mlflow::child_run]
async fn opaque(v: Vec<u8>) -> impl Iterator<Item = u8> {
    v.into_iter()
}

struct Model(u32);

impl Model {
    #[mlflow::child_run(name = "step_{k}")]
    async fn step(&self, k: u32) -> u32 {
        self.0 + k
    }
}

#[mlflow::child_run]
async fn diverges() -> ! {
    panic!("never returns")
}

fn assert_send<T: Send>(_: &T) {}

// Type-checks the futures without running them (trybuild runs pass cases).
fn _futures_are_send() {
    assert_send(&sweep(1));
    assert_send(&trial(1));
    assert_send(&coerced());
    assert_send(&coerced_early_return(1));
    assert_send(&opaque(vec![]));
    assert_send(&Model(1).step(2));
}

fn main() {
    let _ = diverges;
}
