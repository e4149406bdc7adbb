//! A learning-rate sweep of a burn training loop, logged to MLflow: one parent run for the
//! sweep, one child run per learning rate, burn's metrics logged by
//! `mlflow::burn::MlflowMetricLogger`, each epoch's checkpoint a logged model
//! (`mlflow::burn::MlflowCheckpointer`) with that epoch's values linked to it, and the
//! best checkpoint of the sweep found with `mlflow::search_logged_models`.
//!
//! ```sh
//! cargo run --example burn_sweep --features burn    # then `mlflow ui` in this folder
//! ```
//!
//! A tiny MLP learns y = 3 x0 - 2 x1 + 0.5 from 256 synthetic points, 3 epochs per trial on
//! burn's CPU backend (`flex`), seeded so that every run of the example gives the same values.

use std::path::{Path, PathBuf};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::train::checkpoint::FileCheckpointer;
use burn::train::metric::LossMetric;
use burn::train::{
    InferenceStep, Learner, RegressionOutput, SupervisedTraining, TrainOutput, TrainStep,
};
use mlflow::burn::{MlflowCheckpointer, MlflowMetricLogger};

const EXPERIMENT: &str = "burn sweep";
const SEED: u64 = 42;

#[derive(Module, Debug)]
struct Mlp {
    hidden: Linear,
    out: Linear,
    act: Relu,
}

/// One trial's hyperparameters, logged as the child run's params.
#[derive(Config, Debug)]
struct TrialConfig {
    lr: f64,
    #[config(default = 16)]
    hidden: usize,
    #[config(default = 3)]
    epochs: usize,
    #[config(default = 32)]
    batch_size: usize,
    optimizer: AdamConfig,
}

impl Mlp {
    fn forward_step(&self, batch: Points) -> RegressionOutput {
        let output = self
            .out
            .forward(self.act.forward(self.hidden.forward(batch.inputs)));
        let loss = MseLoss::new().forward(output.clone(), batch.targets.clone(), Reduction::Mean);
        RegressionOutput {
            loss,
            output,
            targets: batch.targets,
        }
    }
}

impl TrainStep for Mlp {
    type Input = Points;
    type Output = RegressionOutput;

    fn step(&self, batch: Points) -> TrainOutput<RegressionOutput> {
        let item = self.forward_step(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Mlp {
    type Input = Points;
    type Output = RegressionOutput;

    fn step(&self, batch: Points) -> RegressionOutput {
        self.forward_step(batch)
    }
}

#[derive(Clone, Debug)]
struct Point {
    x: [f32; 2],
    y: f32,
}

#[derive(Clone, Debug)]
struct Points {
    inputs: Tensor<2>,
    targets: Tensor<2>,
}

#[derive(Clone, Debug)]
struct PointBatcher;

impl Batcher<Point, Points> for PointBatcher {
    fn batch(&self, items: Vec<Point>, device: &Device) -> Points {
        let n = items.len();
        let xs: Vec<f32> = items.iter().flat_map(|p| p.x).collect();
        let ys: Vec<f32> = items.iter().map(|p| p.y).collect();
        Points {
            inputs: Tensor::from_data(TensorData::new(xs, [n, 2]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n, 1]), device),
        }
    }
}

fn points(n: usize, offset: usize) -> Vec<Point> {
    (0..n)
        .map(|i| {
            let t = (i + offset) as f32;
            let x = [(t * 0.37).sin(), (t * 0.91).cos()];
            Point {
                x,
                y: 3.0 * x[0] - 2.0 * x[1] + 0.5 + 0.1 * (t * 1.7).sin(),
            }
        })
        .collect()
}

#[mlflow::child_run(name = "lr_{lr}")]
fn trial(lr: f64, dir: &Path) -> Result<(), mlflow::burn::Error> {
    let config = TrialConfig::new(lr, AdamConfig::new());
    mlflow::burn::log_config(&config)?;

    let device = Device::flex();
    device.seed(SEED);
    let autodiff = device.clone().autodiff();
    let train = DataLoaderBuilder::new(PointBatcher)
        .batch_size(config.batch_size)
        .shuffle(SEED)
        .num_workers(1)
        .set_device(autodiff.clone())
        .build(InMemDataset::new(points(256, 0)));
    let valid = DataLoaderBuilder::new(PointBatcher)
        .batch_size(config.batch_size)
        .num_workers(1)
        .set_device(device)
        .build(InMemDataset::new(points(64, 10_000)));
    let model = Mlp {
        hidden: LinearConfig::new(2, config.hidden).init(&autodiff),
        out: LinearConfig::new(config.hidden, 1).init(&autodiff),
        act: Relu::new(),
    };

    let logger = MlflowMetricLogger::active()?;
    let checkpoints = dir.join("checkpoint");
    let result = SupervisedTraining::new(dir, train, valid)
        .metric_train_numeric(LossMetric::new())
        .metric_valid_numeric(LossMetric::new())
        .num_epochs(config.epochs)
        .with_application_logger(None)
        .with_custom_checkpointers(
            // Each checkpoint burn saves becomes a logged model with its epoch's values.
            MlflowCheckpointer::new(&logger, &checkpoints),
            FileCheckpointer::new(&checkpoints, "optim"),
            FileCheckpointer::new(&checkpoints, "scheduler"),
        )
        .with_metric_logger(logger)
        .launch(Learner::new(model, config.optimizer.init(), lr));
    let model = mlflow::burn::log_model(result.model, dir.join("model"))?;
    println!("lr {lr}: final model {}", model.uri());
    Ok(())
}

#[mlflow::parent_run(name = "lr_sweep")]
fn sweep(root: &Path) -> Result<Option<mlflow::RunHandle>, mlflow::burn::Error> {
    for lr in [0.001, 0.01, 0.05] {
        trial(lr, &root.join(format!("lr_{lr}")))?;
    }
    // The handle, not the id: asking for the id here would wait for the run's creation.
    Ok(mlflow::active_run())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    mlflow::set_experiment(EXPERIMENT)?;
    let root: PathBuf =
        std::env::temp_dir().join(format!("mlflow-burn-sweep-{}", std::process::id()));
    let parent = sweep(&root)?.expect("the sweep's parent run");
    std::fs::remove_dir_all(&root).ok();
    let parent_id = parent.id()?;

    let best = mlflow::search_runs()
        .experiment_names([EXPERIMENT])
        .children_of(&parent_id)
        .order_by(["metrics.`valid/Loss` ASC"])
        .first()?;
    match best {
        Some(run) => println!(
            "best trial: {} (valid/Loss after the last epoch = {:.4})",
            run.info.run_name,
            run.metric("valid/Loss").unwrap_or(f64::NAN)
        ),
        None => println!("no trial found"),
    }

    // Every checkpoint of every trial is a logged model with its epoch's values linked:
    // the best one is a search away.
    mlflow::flush()?;
    let best_checkpoint = mlflow::search_logged_models()
        .experiment_names([EXPERIMENT])
        .filter("tags.`burn.epoch` != ''")
        .order_by(["metrics.`valid/Loss` ASC"])
        .first()?;
    if let Some(model) = best_checkpoint {
        println!(
            "best checkpoint: {} (epoch {}, valid/Loss = {:.4}): {}",
            model.name,
            model.tag("burn.epoch").unwrap_or("?"),
            model.metric("valid/Loss").unwrap_or(f64::NAN),
            model.uri()
        );
    }
    Ok(())
}
