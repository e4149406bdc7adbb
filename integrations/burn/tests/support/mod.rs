//! A tiny seeded regression training for the tests: an MLP on a synthetic set, on burn's
//! CPU backend, small enough that three epochs take a second or two.

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};

use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::AdamConfig;
use burn::prelude::*;
use burn::tensor::TensorReadError;
use burn::train::logger::MetricLogger;
use burn::train::metric::state::{FormatOptions, NumericMetricState};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{
    Adaptor, LossMetric, Metric, MetricAttributes, MetricDefinition, MetricId, MetricMetadata,
    MetricName, Numeric, NumericAttributes, NumericEntry, SerializedEntry,
};
use burn::train::{
    InferenceStep, Learner, LearningResult, RegressionOutput, SupervisedTraining, TrainOutput,
    TrainStep,
};

pub(crate) const SEED: u64 = 7;
pub(crate) const TRAIN_SAMPLES: usize = 64;
pub(crate) const VALID_SAMPLES: usize = 32;
pub(crate) const BATCH_SIZE: usize = 8;

#[derive(Module, Debug)]
pub(crate) struct Mlp {
    hidden: Linear,
    out: Linear,
    act: Relu,
}

/// The model's hyperparameters, logged as params by the tests.
#[derive(Config, Debug)]
pub(crate) struct TrialConfig {
    #[config(default = 8)]
    pub(crate) hidden: usize,
    #[config(default = 3)]
    pub(crate) epochs: usize,
    #[config(default = 0.05)]
    pub(crate) lr: f64,
    pub(crate) optimizer: AdamConfig,
    pub(crate) note: Option<String>,
    #[config(default = "vec![16, 8]")]
    pub(crate) widths: Vec<usize>,
}

impl Mlp {
    pub(crate) fn new(hidden: usize, device: &Device) -> Self {
        Mlp {
            hidden: LinearConfig::new(2, hidden).init(device),
            out: LinearConfig::new(hidden, 1).init(device),
            act: Relu::new(),
        }
    }

    fn forward_step(&self, batch: Batch) -> RegressionOutput {
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
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> TrainOutput<RegressionOutput> {
        let item = self.forward_step(batch);
        TrainOutput::new(self, item.loss.backward(), item)
    }
}

impl InferenceStep for Mlp {
    type Input = Batch;
    type Output = RegressionOutput;

    fn step(&self, batch: Batch) -> RegressionOutput {
        self.forward_step(batch)
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Sample {
    x: [f32; 2],
    y: f32,
}

#[derive(Clone, Debug)]
pub(crate) struct Batch {
    inputs: Tensor<2>,
    targets: Tensor<2>,
}

#[derive(Clone, Debug)]
struct SampleBatcher;

impl Batcher<Sample, Batch> for SampleBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> Batch {
        let n = items.len();
        let xs: Vec<f32> = items.iter().flat_map(|s| s.x).collect();
        let ys: Vec<f32> = items.iter().map(|s| s.y).collect();
        Batch {
            inputs: Tensor::from_data(TensorData::new(xs, [n, 2]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n, 1]), device),
        }
    }
}

/// y = 3 x0 - 2 x1 + 0.5 + a deterministic wobble, on a grid of points.
pub(crate) fn samples(n: usize, offset: usize) -> Vec<Sample> {
    (0..n)
        .map(|i| {
            let t = (i + offset) as f32;
            let x = [(t * 0.37).sin(), (t * 0.91).cos()];
            let y = 3.0 * x[0] - 2.0 * x[1] + 0.5 + 0.1 * (t * 1.7).sin();
            Sample { x, y }
        })
        .collect()
}

/// Registers one logger with the training.
type Register<'a> = Box<dyn FnOnce(SupervisedTraining<Mlp>) -> SupervisedTraining<Mlp> + 'a>;

/// What a test trains with; every field has the value most tests want.
pub(crate) struct Setup<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) epochs: usize,
    pub(crate) lr: f64,
    pub(crate) loggers: Vec<Register<'a>>,
    pub(crate) checkpoint_worst_valid_loss: bool,
    pub(crate) stop_when_valid_loss_stops_rising: bool,
    pub(crate) extra_metrics: bool,
}

impl<'a> Setup<'a> {
    pub(crate) fn new(dir: &'a Path) -> Self {
        Setup {
            dir,
            epochs: 3,
            lr: 0.05,
            loggers: Vec::new(),
            checkpoint_worst_valid_loss: false,
            stop_when_valid_loss_stops_rising: false,
            extra_metrics: false,
        }
    }

    /// Registers `logger` (in call order) with `with_metric_logger`.
    pub(crate) fn logger<L: MetricLogger + 'static>(mut self, logger: L) -> Self {
        self.loggers
            .push(Box::new(move |t: SupervisedTraining<Mlp>| {
                t.with_metric_logger(logger)
            }));
        self
    }

    /// Applies `configure` to the training (in call order with the loggers), for example
    /// to register checkpointers.
    pub(crate) fn with(
        mut self,
        configure: impl FnOnce(SupervisedTraining<Mlp>) -> SupervisedTraining<Mlp> + 'a,
    ) -> Self {
        self.loggers.push(Box::new(configure));
        self
    }

    /// Trains, seeded: the same setup gives the same values every time.
    pub(crate) fn train(self) -> LearningResult<Mlp> {
        let device = Device::flex();
        device.seed(SEED);
        let autodiff = device.clone().autodiff();
        let model = Mlp::new(8, &autodiff);
        let train = DataLoaderBuilder::new(SampleBatcher)
            .batch_size(BATCH_SIZE)
            .shuffle(SEED)
            .num_workers(1)
            .set_device(autodiff.clone())
            .build(InMemDataset::new(samples(TRAIN_SAMPLES, 0)));
        let valid = DataLoaderBuilder::new(SampleBatcher)
            .batch_size(BATCH_SIZE)
            .num_workers(1)
            .set_device(device.clone())
            .build(InMemDataset::new(samples(VALID_SAMPLES, 1000)));
        let mut training = SupervisedTraining::new(self.dir, train, valid)
            .metric_train_numeric(LossMetric::new())
            .metric_valid_numeric(LossMetric::new())
            .num_epochs(self.epochs)
            .with_application_logger(None);
        if self.extra_metrics {
            training = training
                .metric_valid_numeric(ScaledLoss::new("Loss (x2)", 2.0))
                .metric_valid_numeric(ScaledLoss::new("Loss [x2]", 3.0))
                .metric_valid_numeric(ScaledLoss::new("Top-K Accuracy @ TopK(5)", 0.5))
                .metric_valid(TextNote);
        }
        if self.checkpoint_worst_valid_loss {
            // The epoch with the *highest* valid loss: the loss falls, so that is an early
            // epoch, not the last one, which a logger that answers burn with no values
            // would make burn keep.
            training = training
                .with_default_checkpointers()
                .with_checkpointing_strategy(
                    burn::train::checkpoint::MetricCheckpointingStrategy::new(
                        &LossMetric::new(),
                        burn::train::metric::store::Aggregate::Mean,
                        burn::train::metric::store::Direction::Highest,
                        Split::Valid,
                    ),
                );
        }
        if self.stop_when_valid_loss_stops_rising {
            // The loss falls, so "no new highest valid loss for 1 epoch" stops training
            // early; a logger that answers burn with no values never stops it.
            training = training.early_stopping(burn::train::MetricEarlyStoppingStrategy::new(
                &LossMetric::new(),
                burn::train::metric::store::Aggregate::Mean,
                burn::train::metric::store::Direction::Highest,
                Split::Valid,
                burn::train::StoppingCondition::NoImprovementSince { n_epochs: 1 },
            ));
        }
        for register in self.loggers {
            training = register(training);
        }
        let optimizer = AdamConfig::new().init();
        training.launch(Learner::new(model, optimizer, self.lr))
    }
}

/// The epochs whose model checkpoint burn kept in `dir`.
pub(crate) fn kept_checkpoints(dir: &Path) -> Vec<usize> {
    let mut epochs: Vec<usize> = std::fs::read_dir(dir.join("checkpoint"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("model-")?
                        .strip_suffix(".bpk")?
                        .parse()
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default();
    epochs.sort();
    epochs
}

/// One value burn gave its loggers.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) split: String,
    pub(crate) name: String,
    pub(crate) epoch: usize,
    pub(crate) entry: NumericEntry,
}

/// A second logger registered beside the one under test: records what burn computed.
#[derive(Clone, Default)]
pub(crate) struct Recorder {
    names: Arc<Mutex<Vec<(MetricId, String)>>>,
    pub(crate) seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The `Final` value of `name` in `split` for each epoch, in order.
    pub(crate) fn finals(&self, split: &str, name: &str) -> Vec<(usize, f64)> {
        self.seen()
            .into_iter()
            .filter(|s| s.split == split && s.name == name)
            .filter_map(|s| match s.entry {
                NumericEntry::Final(v) => Some((s.epoch, v)),
                _ => None,
            })
            .collect()
    }

    /// The per-batch values of `name` in `split`, in order.
    pub(crate) fn batches(&self, split: &str, name: &str) -> Vec<f64> {
        self.seen()
            .into_iter()
            .filter(|s| s.split == split && s.name == name)
            .filter(|s| !matches!(s.entry, NumericEntry::Final(_)))
            .map(|s| s.entry.current())
            .collect()
    }
}

impl MetricLogger for Recorder {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &Split) {
        let names = self.names.lock().unwrap();
        let mut seen = self.seen.lock().unwrap();
        for numeric in update.entries_numeric {
            let Some(entry) = numeric.numeric_entry else {
                continue;
            };
            let name = names
                .iter()
                .find(|(id, _)| *id == numeric.entry.metric_id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            seen.push(Seen {
                split: split.to_string(),
                name,
                epoch,
                entry,
            });
        }
    }

    fn read_numeric(&mut self, _: &str, _: usize, _: &Split) -> Result<Vec<NumericEntry>, String> {
        Err("the recorder does not answer".to_owned())
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        self.names
            .lock()
            .unwrap()
            .push((definition.metric_id, definition.name.to_string()));
    }

    fn log_epoch_summary(&mut self, _: EpochSummary) {}
}

/// The loss times a factor, under a name of the test's choosing.
#[derive(Clone)]
pub(crate) struct ScaledLoss {
    name: MetricName,
    factor: f64,
    state: NumericMetricState,
}

impl ScaledLoss {
    pub(crate) fn new(name: &str, factor: f64) -> Self {
        ScaledLoss {
            name: Arc::new(name.to_owned()),
            factor,
            state: NumericMetricState::default(),
        }
    }
}

pub(crate) struct ScaledLossInput(Tensor<1>);

impl Adaptor<ScaledLossInput> for RegressionOutput {
    fn adapt(&self) -> ScaledLossInput {
        ScaledLossInput(self.loss.clone())
    }
}

impl Metric for ScaledLoss {
    type Input = ScaledLossInput;

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn update(
        &mut self,
        input: &ScaledLossInput,
        _: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let loss = input.0.clone().mean().try_into_scalar::<f64>()?;
        self.state.update(loss * self.factor, 1);
        Ok(self.state.compute_update(FormatOptions::new(self.name())))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(self.state.compute_final(FormatOptions::new(self.name())))
    }

    fn clear(&mut self) {
        self.state.reset()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes::default().into()
    }
}

impl Numeric for ScaledLoss {
    fn value(&self) -> Option<NumericEntry> {
        Some(self.state.current_value())
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(self.state.running_value())
    }

    fn final_value(&self) -> NumericEntry {
        self.state.final_value()
    }
}

/// A text metric: must not reach MLflow.
#[derive(Clone)]
pub(crate) struct TextNote;

impl Metric for TextNote {
    type Input = ();

    fn name(&self) -> MetricName {
        Arc::new("Note".to_owned())
    }

    fn update(&mut self, _: &(), _: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        Ok(SerializedEntry::new("ok".to_owned(), "ok".to_owned()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(SerializedEntry::new("ok".to_owned(), "ok".to_owned()))
    }

    fn clear(&mut self) {}
}
