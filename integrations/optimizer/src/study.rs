//! A study kept in MLflow: found or created by name, its trials run as child runs.

use std::collections::BTreeMap;
use std::fmt::Display;

use mlflow_tracking_runtime::{Client, RunHandle, quote, start_run};
use optimizer::Direction;
use optimizer::pruner::Pruner;
use optimizer::sampler::Sampler;

use crate::error::{Error, Result};
use crate::layout::{BEST_PREFIX, STUDY_DIRECTION_TAG, direction_name};
use crate::numbers::{Claims, Writes};
use crate::params::{SearchParam, SearchSpace};
use crate::reader::{self, Source};
use crate::storage::{Buffer, MlflowStorage};
use std::sync::Arc;

/// Builds a [`Study`]: its name, direction, sampler, pruner and parameters; see
/// [`Study::builder`].
#[must_use = "a builder does nothing until `load_or_create`"]
pub struct StudyBuilder {
    name: String,
    direction: Direction,
    inner: optimizer::StudyBuilder<f64>,
    space: SearchSpace,
    experiment_id: Option<String>,
    error: Option<Error>,
}

impl std::fmt::Debug for StudyBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudyBuilder")
            .field("name", &self.name)
            .field("direction", &self.direction)
            .field("space", &self.space)
            .finish_non_exhaustive()
    }
}

impl StudyBuilder {
    /// The direction (default: minimize).
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Minimizes the objective (the default).
    pub fn minimize(self) -> Self {
        self.direction(Direction::Minimize)
    }

    /// Maximizes the objective.
    pub fn maximize(self) -> Self {
        self.direction(Direction::Maximize)
    }

    /// The sampler (default: the `optimizer` crate's random sampler).
    pub fn sampler(mut self, sampler: impl Sampler + 'static) -> Self {
        self.inner = self.inner.sampler(sampler);
        self
    }

    /// The pruner (default: none).
    pub fn pruner(mut self, pruner: impl Pruner + 'static) -> Self {
        self.inner = self.inner.pruner(pruner);
        self
    }

    /// Registers the parameter `name`: a [`FloatParam`](optimizer::parameter::FloatParam),
    /// an [`IntParam`](optimizer::parameter::IntParam) or a
    /// [`SearchParam::categorical`]. The objective asks for it by this name. A name MLflow
    /// refuses as a key, or registered twice, makes [`StudyBuilder::load_or_create`] fail.
    pub fn param(mut self, name: &str, param: impl Into<SearchParam>) -> Self {
        if let Err(e) = self.space.add(name, param.into()) {
            self.error.get_or_insert(e);
        }
        self
    }

    /// The experiment of the study (default: the active experiment, see
    /// [`set_experiment`](mlflow_tracking_runtime::set_experiment)).
    pub fn experiment_id(mut self, id: impl Into<String>) -> Self {
        self.experiment_id = Some(id.into());
        self
    }

    /// Loads the study named so in the experiment (the newest run of that name, as Python's
    /// `MlflowStorage` finds it), or creates it: a run named after the study, tagged
    /// `optuna.study_direction`.
    ///
    /// Errors: a run of that name without `optuna.study_direction`
    /// ([`Error::NotAStudy`]), a study stored with another direction
    /// ([`Error::DirectionMismatch`]) or several ([`Error::MultiObjective`]), an invalid
    /// parameter ([`Error::InvalidParam`]), the store's errors.
    pub fn load_or_create(self) -> Result<Study> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.name.is_empty() || self.name.len() > 250 {
            return Err(Error::InvalidStudyName(self.name));
        }
        let client = Arc::new(Client::new());
        let writes = if mlflow_tracking_runtime::get_tracking_uri().starts_with("http") {
            Writes::Together
        } else {
            Writes::Apart
        };
        let requested = direction_name(self.direction);
        let mut search = client
            .search_runs()
            .filter(format!("tags.`mlflow.runName` = {}", quote(&self.name)))
            .order_by(["attributes.start_time DESC"])
            .max_results(1);
        if let Some(id) = &self.experiment_id {
            search = search.experiment_ids([id.as_str()]);
        }
        let (run, run_id, experiment_id) = match search.first()? {
            Some(found) => {
                let run_id = found.info.run_id.clone();
                let Some(stored) = found.tag(STUDY_DIRECTION_TAG) else {
                    return Err(Error::NotAStudy {
                        name: self.name,
                        run_id,
                    });
                };
                if stored.contains(',') {
                    return Err(Error::MultiObjective {
                        name: self.name,
                        stored: stored.to_owned(),
                    });
                }
                if stored != requested {
                    return Err(Error::DirectionMismatch {
                        name: self.name,
                        stored: stored.to_owned(),
                        requested: requested.to_owned(),
                    });
                }
                (client.run(&run_id), run_id, found.info.experiment_id)
            }
            None => {
                let mut builder = start_run()
                    .top_level()
                    .name(&self.name)
                    .tag(STUDY_DIRECTION_TAG, requested);
                if let Some(id) = &self.experiment_id {
                    builder = builder.experiment_id(id);
                }
                let created = builder.start_scoped();
                let handle = created.handle();
                // Trials never end the study's run, as in Python: it stays RUNNING while
                // the study is used, and is ended at exit like any run this process started.
                std::mem::forget(created);
                let run_id = handle.id()?;
                let experiment_id = client.get_run(&run_id)?.info.experiment_id;
                (handle, run_id, experiment_id)
            }
        };
        let buffer = Arc::new(Buffer::default());
        let inner = self
            .inner
            .direction(self.direction)
            .storage(MlflowStorage(Arc::clone(&buffer)))
            .build();
        let study = Study {
            name: self.name,
            direction: self.direction,
            run,
            run_id,
            experiment_id,
            client,
            claims: Claims::new(writes),
            space: self.space,
            buffer,
            inner,
            best: parking_lot::Mutex::new(None),
        };
        study.refresh()?;
        Ok(study)
    }
}

/// A study of the `optimizer` crate stored in MLflow as Optuna's `MlflowStorage` stores it:
/// the study is a run, each trial a child run of it. Python's
/// `optuna.load_study(study_name=..., storage=MlflowStorage(experiment_id=...))` reads it,
/// and a study Python started is continued here.
pub struct Study {
    name: String,
    direction: Direction,
    pub(crate) run: RunHandle,
    pub(crate) run_id: String,
    experiment_id: String,
    pub(crate) client: Arc<Client>,
    /// The trial numbers this process has claimed on the study run.
    pub(crate) claims: Claims,
    pub(crate) space: SearchSpace,
    pub(crate) buffer: Arc<Buffer>,
    pub(crate) inner: optimizer::Study<f64>,
    /// The best trial this process has shown on the study run: (number, value).
    best: parking_lot::Mutex<Option<(u64, f64)>>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("name", &self.name)
            .field("direction", &self.direction)
            .field("run_id", &self.run_id)
            .field("experiment_id", &self.experiment_id)
            .finish_non_exhaustive()
    }
}

/// The best completed trial of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct BestTrial {
    /// Its number.
    pub number: u64,
    /// Its objective value.
    pub value: f64,
    /// Its parameters by name, as logged (Python's `str` of the value).
    pub params: BTreeMap<String, String>,
}

impl Study {
    /// A builder for the study named `name` (the study run's name, Optuna's
    /// `study_name`).
    pub fn builder(name: impl Into<String>) -> StudyBuilder {
        StudyBuilder {
            name: name.into(),
            direction: Direction::Minimize,
            inner: optimizer::Study::builder(),
            space: SearchSpace::default(),
            experiment_id: None,
            error: None,
        }
    }

    /// The study's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The study's direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The study's run (Optuna's `study_id`).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// A handle to the study's run.
    pub fn run(&self) -> &RunHandle {
        &self.run
    }

    /// The study's experiment (what Python's `MlflowStorage(experiment_id=...)` takes).
    pub fn experiment_id(&self) -> &str {
        &self.experiment_id
    }

    /// The `optimizer` crate's study behind this one (its storage is the study's trials
    /// as last read). Trials run on it directly are not stored in MLflow.
    pub fn inner(&self) -> &optimizer::Study<f64> {
        &self.inner
    }

    /// Reads back the trials others wrote since the last read (Python, other processes):
    /// done when the study is loaded, when each `optimize` call starts, and whenever a
    /// claim of trial numbers finds that another process claimed numbers meanwhile.
    /// Returns how many were added.
    pub fn refresh(&self) -> Result<usize> {
        let source = Source {
            client: &self.client,
            experiment_id: &self.experiment_id,
            study_run_id: &self.run_id,
            space: &self.space,
        };
        reader::refresh(&source, &self.buffer)
    }

    /// The completed trials known (this process's, and those read back by the last
    /// refresh), pruned ones included, as the `optimizer` crate keeps them.
    pub fn trials(&self) -> Vec<optimizer::sampler::CompletedTrial<f64>> {
        self.buffer.snapshot()
    }

    /// The best completed trial known, after reading back the trials others wrote.
    pub fn best_trial(&self) -> Result<BestTrial> {
        self.refresh()?;
        let best = self
            .inner
            .best_trial()
            .map_err(|_| Error::NoCompletedTrials(self.name.clone()))?;
        Ok(self.describe(&best))
    }

    fn describe(&self, trial: &optimizer::sampler::CompletedTrial<f64>) -> BestTrial {
        let params = trial
            .params
            .iter()
            .filter_map(|(id, value)| {
                let name = self.space.name_of(*id)?;
                let registered = self.space.get(name).ok()?;
                Some((name.to_owned(), registered.external(value)))
            })
            .collect();
        BestTrial {
            number: trial.id,
            value: trial.value,
            params,
        }
    }

    /// Shows the best trial on the study run when the trial numbered `number` (just
    /// completed with `value`) is better than the one shown: tags `best_trial.number`,
    /// `best_trial.value` and `best_trial.params.<name>`.
    pub(crate) fn show_if_best(&self, number: u64, value: f64) -> Result<()> {
        let mut shown = self.best.lock();
        let better = match *shown {
            None => true,
            Some((_, best)) => match self.direction {
                Direction::Minimize => value < best,
                Direction::Maximize => value > best,
            },
        };
        let Ok(best) = self.inner.best_trial() else {
            return Ok(());
        };
        if !better || best.id != number {
            return Ok(());
        }
        *shown = Some((number, value));
        let described = self.describe(&best);
        let mut tags = vec![
            (format!("{BEST_PREFIX}number"), number.to_string()),
            (
                format!("{BEST_PREFIX}value"),
                mlflow_tracking_runtime::base::python_str::float(value),
            ),
        ];
        for (name, v) in described.params {
            tags.push((format!("{BEST_PREFIX}params.{name}"), v));
        }
        self.run.set_tags(tags)?;
        Ok(())
    }

    /// Runs `n_trials` trials of `objective` one after the other, each in its own child run
    /// of the study's run; see [`Study::optimize_parallel`] for several at once.
    ///
    /// The objective returns the value, `Err(TrialPruned)` to prune the trial (KILLED), or
    /// another error (FAILED, with the error's text in the tag `sys_fail_reason`). A panic
    /// ends the trial FAILED with the panic's message in that tag, and then goes on.
    ///
    /// Errors: the store's (a trial run that could not be created, a number that could not
    /// be claimed); failed trials are not errors of this call.
    pub fn optimize<F, E>(&self, n_trials: usize, objective: F) -> Result<()>
    where
        F: Fn(&mut crate::trial::Trial<'_>) -> std::result::Result<f64, E>,
        E: Display + 'static,
    {
        self.claims.reread();
        for i in 0..n_trials {
            crate::runner::run_trial(self, &objective, n_trials - i)?;
        }
        Ok(())
    }

    /// Runs `n_trials` trials of `objective`, `workers` at once on threads of their own.
    /// Each trial is a child run of the study's run (never of another trial's). The workers
    /// share this process's claimed numbers and its trials as they end; trials of other
    /// processes are read back as [`Study::refresh`] says.
    ///
    /// The first store error stops the workers from starting more trials and is returned;
    /// a panicking objective ends its trial FAILED and the panic goes on when the workers
    /// have stopped.
    pub fn optimize_parallel<F, E>(
        &self,
        n_trials: usize,
        workers: usize,
        objective: F,
    ) -> Result<()>
    where
        F: Fn(&mut crate::trial::Trial<'_>) -> std::result::Result<f64, E> + Sync,
        E: Display + 'static,
    {
        self.claims.reread();
        crate::runner::run_parallel(self, n_trials, workers.max(1), &objective)
    }

    /// Runs `n_trials` trials of `objective`, `concurrency` at once, from async code (feature
    /// `async`, on a tokio runtime): each trial runs on tokio's blocking threads, its store
    /// calls included, so the executor's threads never wait for the network. Trials nest
    /// under the study's run as with [`Study::optimize_parallel`]; a panicking objective
    /// ends its trial FAILED and the panic goes on once the others have stopped.
    #[cfg(feature = "async")]
    #[cfg_attr(docsrs, doc(cfg(feature = "async")))]
    pub async fn optimize_async<F, E>(
        self: &Arc<Self>,
        n_trials: usize,
        concurrency: usize,
        objective: F,
    ) -> Result<()>
    where
        F: Fn(&mut crate::trial::Trial<'_>) -> std::result::Result<f64, E> + Send + Sync + 'static,
        E: Display + 'static,
    {
        self.claims.reread();
        crate::runner::run_async(
            Arc::clone(self),
            n_trials,
            concurrency.max(1),
            Arc::new(objective),
        )
        .await
    }
}
