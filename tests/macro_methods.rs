//! Methods (`&self`, `&mut self`, `self`), associated functions, trait methods, generics
//! and `impl Trait` arguments and returns, each a run nested where it is called.

mod stores;

use std::fmt::Display;

use stores::{Target, assert_child_of, named, on_both_stores};

struct Trainer {
    lr: f64,
    history: Vec<f64>,
}

impl Trainer {
    #[mlflow::child_run(name = "new_{lr}")]
    fn new(lr: f64) -> Self {
        Trainer {
            lr,
            history: Vec::new(),
        }
    }

    #[mlflow::child_run(name = "step_{epoch}", params(epoch))]
    fn step(&mut self, epoch: u32) -> &mut Vec<f64> {
        self.history.push(self.lr * f64::from(epoch));
        mlflow::log_metric("loss", self.lr * f64::from(epoch)).unwrap();
        &mut self.history
    }

    #[mlflow::child_run(name = "score")]
    fn score(&self) -> f64 {
        self.history.iter().sum()
    }

    #[mlflow::child_run(name = "finish")]
    fn finish(self) -> Vec<f64> {
        self.history
    }
}

trait Sweep {
    fn size(&self) -> u32;

    #[mlflow::parent_run(name = "trait_sweep_{n}")]
    fn sweep(&self, n: u32) -> u32 {
        (0..n).map(|i| generic_child(i, self.size())).sum()
    }
}

impl Sweep for Trainer {
    fn size(&self) -> u32 {
        2
    }
}

#[mlflow::child_run(name = "generic_{label}", params(label))]
fn generic_child<T: Display + Copy + std::ops::Add<Output = T>>(label: T, other: T) -> T {
    label + other
}

#[mlflow::child_run(name = "impl_trait")]
fn impl_trait(values: impl IntoIterator<Item = u32>) -> impl Iterator<Item = u32> {
    mlflow::log_metric("n", 1.0).unwrap();
    values.into_iter().map(|v| v * 2)
}

#[mlflow::parent_run(name = "methods")]
fn methods() -> Vec<f64> {
    let mut trainer = Trainer::new(0.5);
    trainer.step(1).push(0.0);
    trainer.step(2);
    let score = trainer.score();
    mlflow::log_metric("score", score).unwrap();
    assert_eq!(trainer.sweep(2), 2 + 3);
    assert_eq!(impl_trait([1, 2]).collect::<Vec<_>>(), [2, 4]);
    trainer.finish()
}

fn every_receiver_nests(t: &Target) {
    let history = methods();
    assert_eq!(history, [0.5, 0.0, 1.0]);
    let runs = t.runs();
    for child in [
        "new_0.5",
        "step_1",
        "step_2",
        "score",
        "trait_sweep_2",
        "impl_trait",
        "finish",
    ] {
        assert_child_of(&runs, child, "methods");
    }
    assert_child_of(&runs, "generic_0", "trait_sweep_2");
    assert_child_of(&runs, "generic_1", "trait_sweep_2");
    assert_eq!(named(&runs, "generic_1").params["label"], "1");
    assert_eq!(named(&runs, "step_2").params["epoch"], "2");
    assert_eq!(named(&runs, "step_2").metrics["loss"], 1.0);
    assert_eq!(named(&runs, "methods").metrics["score"], 1.5);
    assert_eq!(runs.len(), 10);
    assert!(runs.iter().all(|r| r.status == "FINISHED"));
}

on_both_stores!(every_receiver_nests);
