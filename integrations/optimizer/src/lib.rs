//! [optimizer](https://crates.io/crates/optimizer) integration of `mlflow-tracking`, used as
//! `mlflow::optimizer` (cargo feature `optimizer` of `mlflow-tracking`): hyperparameter
//! studies of the `optimizer` crate (TPE, CMA-ES, GP, grid, random samplers; pruners)
//! stored in MLflow exactly as Optuna's `MlflowStorage` (`mlflow.optuna.storage`) stores
//! them, so that a study run from Rust and one run from Python are the same thing.
//!
//! ```no_run
//! use mlflow::optimizer::{Study, TrialPruned};
//! use optimizer::parameter::{FloatParam, IntParam};
//! use optimizer::prelude::{MedianPruner, TpeSampler};
//! use optimizer::Direction;
//!
//! # fn main() -> Result<(), mlflow::optimizer::Error> {
//! mlflow::set_experiment("tuning")?;
//! let study = Study::builder("lr-sweep")
//!     .minimize()
//!     .sampler(TpeSampler::new())
//!     .pruner(MedianPruner::new(Direction::Minimize))
//!     .param("lr", FloatParam::new(1e-4, 1e-1).log_scale())
//!     .param("batch_size", IntParam::new(8, 128))
//!     .load_or_create()?;
//! study.optimize_parallel(30, 4, |trial| {
//!     let lr = trial.suggest_float("lr")?;
//!     let batch = trial.suggest_int("batch_size")?;
//!     let mut loss = 1.0;
//!     for epoch in 1..=10 {
//!         loss *= 1.0 - lr * (batch as f64).sqrt() / 10.0;
//!         mlflow::log_metric_with_step("train_loss", loss, epoch as i64)?; // the trial's run
//!         trial.report(epoch, loss)?;
//!         if trial.should_prune() {
//!             return Err(TrialPruned.into());
//!         }
//!     }
//!     Ok::<_, mlflow::optimizer::Error>(loss)
//! })?;
//! println!("best: {:?}", study.best_trial()?);
//! # Ok(())
//! # }
//! ```
//!
//! # The layout (Optuna's)
//!
//! - **The study** is a run named after it (`mlflow.runName`) with the tag
//!   `optuna.study_direction` (`MINIMIZE` or `MAXIMIZE`), in the active experiment (or
//!   [`StudyBuilder::experiment_id`]). [`StudyBuilder::load_or_create`] finds the newest run of
//!   that name, as Python does, or creates it. Trials never end it; a study created here is
//!   left RUNNING and ends, like every run the process started, at exit; a study loaded
//!   from the store keeps its status.
//! - **A trial** is a child run of the study run (`mlflow.parentRunId`), RUNNING while its
//!   objective runs, then FINISHED (completed), KILLED (pruned) or FAILED (an error, a NaN
//!   value, or a panic: the reason in the tag `sys_fail_reason` as JSON; a panic then goes
//!   on). Its tags: `numbers` (the trial number), `param_directions` (Optuna's distribution
//!   JSON of every suggested parameter), `param_internal_val_<name>` (the internal value:
//!   the float, the integer as a float, the index of a choice); its params: the parameters'
//!   values as Python's `str` writes them; its metrics: `value` (step 1; for a pruned trial
//!   the last reported value, as Optuna records it) and `intermediate_value` (step = the
//!   reported step); user attributes as `user_<key>` JSON tags.
//! - **Numbers.** Python numbers a trial by the index of its point in the study run's
//!   `trial_id` metric history. Here numbers are claimed first on the study run with
//!   write-once params, `trial_run.<n>` = the claiming process's writer id (host, process id
//!   and start time), written and answered synchronously: MLflow params are write-once, so
//!   a number another process holds is refused, and the claim starts again from the
//!   history's length. Each claim carries one `trial_id` point per number (in the same
//!   request to a server, which stores nothing of a refused batch; right after it on the
//!   embedded store), so that the history Python and the next claimer count includes them.
//!   On a server a process claims up to 16 numbers in one request (as many as its
//!   `optimize` call still needs) and hands them to its trials in order; the trial's run is
//!   created with its number. A study stopped early by an error or a panic leaves the
//!   numbers it claimed for trials it never started unused: Optuna reads the study with
//!   those numbers missing. Optuna reads only the tags of a study run, so it never sees
//!   these params. Rust and Python workers on one study *at the same moment* are not
//!   supported (Python does not claim); one after the other they are.
//! - **What a trial costs a server**: its run's creation (with its number and parent), one
//!   batch (its params and their tags, reported values, user attributes and value, held by
//!   the trial until it ends, or during its first second only), and its end: three
//!   requests, plus a share of a claim, and a batch on the study run when the best trial
//!   changes. What the objective logs itself is sent as any logging is. Trials do not wait
//!   for any of it: the next numbers are claimed on a thread of their own while the last
//!   ones are used (a trial waits only when it runs out of numbers first).
//! - **The best trial** so far is shown on the study run with the tags
//!   `best_trial.number`, `best_trial.value` and `best_trial.params.<name>`, updated as
//!   trials finish (each process shows the best it knows; Optuna ignores these tags).
//!
//! # From Python
//!
//! Load a study written here with `optuna.load_study(study_name=...,
//! storage=MlflowStorage(experiment_id=...))` (the experiment id is [`Study::experiment_id`]).
//! Not with `optuna.create_study(..., load_if_exists=True)`: `MlflowStorage` never reports
//! an existing study, so that call creates a second study run of the same name, which the
//! next load (newest first) then finds instead.
//!
//! # Parameters are named and registered
//!
//! The `optimizer` crate knows parameters by a per-process id. To write Optuna's
//! distributions and to read back trials written elsewhere, every parameter is registered
//! with the study by name ([`StudyBuilder::param`]) and asked for by that name
//! ([`Trial::suggest_float`], [`Trial::suggest_int`], [`Trial::suggest_categorical`]); an
//! unknown name is [`Error::UnknownParam`], another kind [`Error::ParamKind`]. Categorical
//! parameters are choices among strings.
//!
//! # What maps how
//!
//! - Trials read back for the sampler and the pruner: FINISHED and KILLED child runs, with
//!   the registered parameters they hold (one whose stored distribution is of another kind
//!   is left out), their `value` and `intermediate_value` history. RUNNING, FAILED and
//!   Optuna's WAITING (`SCHEDULED`) trials are read by nothing here, as the `optimizer`
//!   crate keeps only completed and pruned trials.
//! - The crate's trial id is the Optuna number. The crate's `Study::enqueue`, its
//!   constraints and its `MultiObjectiveStudy` have no MLflow form here: multi-objective
//!   studies are not supported, and a stored one is [`Error::MultiObjective`].
//! - Pruning compares with the trials known when the trial started: this process's, and
//!   those read back from the store. Trials of others are read back when the study is
//!   loaded, when each `optimize` call starts, and whenever a claim of numbers finds that
//!   another process claimed meanwhile (so workers of one study see each other's trials at
//!   least once per 16 trials each).
//! - [`Study::optimize_parallel`] runs trials on threads of its own, and
//!   `Study::optimize_async` (feature `async`) on tokio's blocking threads, each trial under
//!   the study's run (passed as the parent explicitly). The crate's own async
//!   `optimize_parallel` is not used: it calls the storage (`refresh`, `next_trial_id`) on
//!   the executor's thread, where this storage's store calls must not run. The crate's
//!   `async`, `cma-es` and `gp` features are forwarded as features of this crate.

// docs.rs builds with `--cfg docsrs` on nightly: feature-gated items are marked.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod held;
mod layout;
mod numbers;
mod params;
mod reader;
mod runner;
mod storage;
mod study;
mod trial;

pub use error::{Error, Result};
pub use optimizer::{Direction, TrialPruned};
pub use params::SearchParam;
pub use study::{BestTrial, Study, StudyBuilder};
pub use trial::Trial;

/// The `optimizer` crate this integration is built on (samplers, pruners, parameters).
pub use optimizer;
