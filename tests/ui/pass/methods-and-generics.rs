//! Receivers, `{self}`, generics and trait default methods.

use std::fmt;

struct Model {
    weights: Vec<f64>,
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model[{}]", self.weights.len())
    }
}

impl Model {
    #[mlflow::child_run(name = "{self}_epoch_{epoch}")]
    fn train(&mut self, epoch: u32) -> &mut Vec<f64> {
        self.weights.push(f64::from(epoch));
        &mut self.weights
    }

    #[mlflow::child_run]
    fn score(&self) -> f64 {
        self.weights.iter().sum()
    }

    #[mlflow::child_run(name = "consume_{self}")]
    fn into_weights(self) -> Vec<f64> {
        self.weights
    }

    #[mlflow::child_run]
    fn boxed(self: Box<Self>) -> usize {
        self.weights.len()
    }
}

trait Trainer {
    fn lr(&self) -> f64;

    #[mlflow::parent_run(name = "sweep_{steps}")]
    fn sweep(&self, steps: u32) -> Vec<f64> {
        (0..steps).map(|s| self.lr() * f64::from(s)).collect()
    }
}

#[mlflow::child_run(name = "generic_{value}")]
fn generic<T: fmt::Display + Clone>(value: &T) -> T
where
    T: Send,
{
    value.clone()
}

#[mlflow::child_run(name = "impl_arg_{x}")]
fn impl_argument(x: impl fmt::Display) -> String {
    x.to_string()
}

fn main() {
    let _ = (
        Model::train,
        Model::score,
        Model::into_weights,
        Model::boxed,
    );
    let _ = <f64 as Trainer>::sweep;
    let _ = generic::<String>;
}

// Type-checks a call without running it (trybuild runs pass cases, which must not track).
fn _calls() {
    let _ = impl_argument(5_u8);
}

impl Trainer for f64 {
    fn lr(&self) -> f64 {
        *self
    }
}
