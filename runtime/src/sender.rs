//! The background sender: one thread per tracking destination, with its own tokio runtime,
//! that turns queued logging calls into as few store calls as the data allows.
//!
//! Commands are handled in the order they were sent, which gives the ordering MLflow's
//! semantics need for free: a run is created before anything is logged to it, a child is
//! created after its parent, a run's data is stored before its status update. Consecutive
//! logging calls for a run are merged into one batch, cut to the store's limits; the
//! metric-only pieces of a batch may be under way together, since MLflow does not care in
//! which order metric points arrive.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::config::{self, HttpSettings, TrackingUri};
use crate::error::{Error, Result};
use crate::model::{Batch, CreateRun, Experiment, RunStatus, RunTag};
use crate::run::RunCell;
use crate::store::rest::RestStore;
use crate::store::sqlite::SqliteStore;
use crate::store::{BatchLimits, Store};
use crate::system;
use crate::tracker::report;
use crate::validate;

// The outage handling: spilling what cannot be delivered, and delivering it once the store
// is back. A child module, so that it sees the sender's state.
#[path = "outage.rs"]
mod outage;

use crate::spill::{RunRef, Spill, SpillOp, is_outage};
use outage::{Created, Outage};

/// How many queued commands are taken at once before the store is called.
const MAX_CHUNK: usize = 4096;

/// With requests sent concurrently, how many pieces per request slot a run gathers before
/// sending. Measured against a 4-worker server (100,000 points, 4 in flight): 1 reaches
/// about 0.7 of the server's concurrent ceiling, 4 about 0.9, 8 no more than 4.
const PIECES_PER_SLOT: usize = 4;

/// A boxed future run on the sender.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A query or one-off call run on the sender in queue order; it gets the store.
pub(crate) type Request<T> = Box<dyn FnOnce(Ctx) -> BoxFuture<Result<T>> + Send>;

/// Which experiment a new run goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ExperimentSel {
    /// This experiment id.
    Id(String),
    /// The experiment with this name, created if missing.
    Name(String),
    /// `MLFLOW_EXPERIMENT_NAME` / `MLFLOW_EXPERIMENT_ID`, else the Default experiment "0".
    Default,
    /// The parent run's experiment.
    SameAsParent,
}

/// What the caller knew when it started a run.
#[derive(Debug)]
pub(crate) struct StartSpec {
    pub(crate) name: String,
    pub(crate) client_id: Option<String>,
    pub(crate) resume: Option<String>,
    pub(crate) user_tags: Vec<RunTag>,
    pub(crate) parent: Option<Arc<RunCell>>,
    pub(crate) experiment: ExperimentSel,
    pub(crate) start_time: i64,
}

/// A unit of work for the sender.
pub(crate) enum Command {
    Start {
        run: Arc<RunCell>,
        spec: StartSpec,
    },
    Log {
        run: Arc<RunCell>,
        batch: Batch,
    },
    End {
        run: Arc<RunCell>,
        status: RunStatus,
        end_time: i64,
        error: Option<String>,
    },
    /// A failure found on the caller's side with no caller to return it to: kept for
    /// `flush()` like the sender's own.
    Failed(Error),
    /// Store everything pending, then answer with the failures since the last flush.
    Flush(flume::Sender<Vec<Error>>),
    /// Store everything pending, then run this.
    Call(Box<dyn FnOnce(Ctx) -> BoxFuture<()> + Send>),
}

/// The store as requests see it: it may have failed to open.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    store: std::result::Result<Arc<dyn Store>, Error>,
}

impl Ctx {
    pub(crate) fn store(&self) -> Result<&Arc<dyn Store>> {
        self.store.as_ref().map_err(Clone::clone)
    }

    /// Gets the experiment called `name`, creating it if missing, as `set_experiment` does.
    pub(crate) async fn get_or_create_experiment(&self, name: &str) -> Result<Experiment> {
        let store = self.store()?;
        if let Some(e) = store.get_experiment_by_name(name).await? {
            if e.lifecycle_stage == "deleted" {
                return Err(Error::Config(format!(
                    "experiment {name:?} is deleted; restore it (`mlflow experiments restore --experiment-id {}`) or use another name",
                    e.experiment_id
                )));
            }
            return Ok(e);
        }
        let id = match store.create_experiment(name).await {
            Ok(id) => id,
            // Someone else created it between our lookup and our create.
            Err(Error::Api { error_code, .. }) if error_code == "RESOURCE_ALREADY_EXISTS" => {
                return store.get_experiment_by_name(name).await?.ok_or_else(|| {
                    Error::Config(format!("experiment {name:?} exists but cannot be read"))
                });
            }
            Err(e) => return Err(e),
        };
        Ok(store.get_experiment(&id).await?.unwrap_or(Experiment {
            experiment_id: id,
            name: name.to_owned(),
            artifact_location: String::new(),
            lifecycle_stage: "active".into(),
        }))
    }
}

/// Starts the sender thread for `uri`, draining `rx` until every sender is gone.
pub(crate) fn spawn(uri: Result<TrackingUri>, rx: flume::Receiver<Command>) {
    let spawned = std::thread::Builder::new()
        .name("mlflow-sender".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match runtime {
                Ok(rt) => rt.block_on(async move {
                    let store = open_store(uri, give_up(&rx)).await;
                    Sender::new(store).run(rx).await
                }),
                Err(e) => report(&Error::Config(format!(
                    "cannot start the mlflow runtime: {e}"
                ))),
            }
        });
    if let Err(e) = spawned {
        report(&Error::Config(format!(
            "cannot start the mlflow sender thread: {e}"
        )));
    }
}

/// Retrying is cut short when the queue is half full, so that logging never stalls on an
/// outage: what cannot be delivered goes to the spill instead.
fn give_up(rx: &flume::Receiver<Command>) -> crate::store::rest::GiveUp {
    let rx = rx.clone();
    Arc::new(move || rx.capacity().is_some_and(|cap| rx.len() * 2 >= cap))
}

async fn open_store(
    uri: Result<TrackingUri>,
    give_up: crate::store::rest::GiveUp,
) -> std::result::Result<Arc<dyn Store>, Error> {
    match uri? {
        TrackingUri::Rest(url) => Ok(Arc::new(
            RestStore::new(&url, HttpSettings::from_env()?)?.with_give_up(give_up),
        )),
        TrackingUri::Sqlite(path) => {
            let cwd = std::env::current_dir()
                .map_err(|e| Error::Config(format!("cannot read the working directory: {e}")))?;
            let db = cwd.join(&path);
            // MLflow's default artifact root next to a default SQLite store: ./mlruns.
            let artifacts = cwd.join("mlruns");
            let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&db, &artifacts))
                .await
                .map_err(|e| Error::Config(format!("opening the SQLite store panicked: {e}")))??;
            Ok(Arc::new(opened))
        }
    }
}

/// What the sender knows about a run it is feeding.
struct RunState {
    cell: Arc<RunCell>,
    /// The store's id, or why the run does not exist there.
    id: Result<String>,
    /// The run's reference in the spill file, when its creation was spilled.
    spill_ref: Option<String>,
    pending: Batch,
}

struct Sender {
    ctx: Ctx,
    limits: BatchLimits,
    /// Metric-only batches of one run that may be under way at once.
    in_flight: usize,
    /// A run's pending values are sent once there are this many.
    send_at: usize,
    runs: HashMap<u64, RunState>,
    /// Experiment ids the sender resolved, by run, so that children follow their parent.
    run_experiments: HashMap<u64, String>,
    experiments_by_name: HashMap<String, String>,
    default_experiment: Option<Result<String>>,
    failures: Vec<Error>,
    spill: Spill,
    /// Set while the store is unreachable: operations go to the spill.
    outage: Option<Outage>,
    /// Ids of runs whose creation was spilled and later replayed, by spill reference.
    replayed_ids: HashMap<String, String>,
}

impl Sender {
    fn new(store: std::result::Result<Arc<dyn Store>, Error>) -> Sender {
        let limits = store
            .as_ref()
            .map(|s| s.limits())
            .unwrap_or(BatchLimits::MLFLOW_SERVER);
        let in_flight = store.as_ref().map_or(1, |s| s.max_in_flight().max(1));
        if let Err(e) = &store {
            report(e);
        }
        // With several requests under way, a send holds enough pieces to keep them all busy
        // most of the time: the window empties only at the end of each send.
        let send_at = match in_flight {
            1 => limits.entities,
            n => limits.entities * n * PIECES_PER_SLOT,
        };
        Sender {
            ctx: Ctx { store },
            limits,
            in_flight,
            send_at,
            runs: HashMap::new(),
            run_experiments: HashMap::new(),
            experiments_by_name: HashMap::new(),
            default_experiment: None,
            failures: Vec::new(),
            spill: Spill::default(),
            outage: None,
            replayed_ids: HashMap::new(),
        }
    }

    async fn run(mut self, rx: flume::Receiver<Command>) {
        loop {
            let next = match self.probe_in() {
                None => rx.recv_async().await,
                // While the store is down, wake up now and then to see whether it is back.
                Some(wait) => match tokio::time::timeout(wait, rx.recv_async()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.probe(false).await;
                        continue;
                    }
                },
            };
            let Ok(first) = next else { break };
            let mut chunk: Vec<Option<Command>> = vec![Some(first)];
            while chunk.len() < MAX_CHUNK {
                match rx.try_recv() {
                    Ok(cmd) => chunk.push(Some(cmd)),
                    Err(_) => break,
                }
            }
            self.probe(false).await;
            self.process(chunk).await;
            // Nothing more waiting: store what is pending rather than hold it for later.
            if rx.is_empty() {
                self.send_all_pending().await;
            }
        }
        self.send_all_pending().await;
    }

    async fn process(&mut self, mut chunk: Vec<Option<Command>>) {
        for i in 0..chunk.len() {
            let Some(cmd) = chunk[i].take() else { continue };
            match cmd {
                Command::Start { run, spec } => {
                    // Tags logged right after the start ride on the create request.
                    let early_tags = take_early_tags(&mut chunk[i + 1..], run.local_id);
                    self.start(run, spec, early_tags).await;
                }
                Command::Log { run, batch } => self.log(run, batch).await,
                Command::End {
                    run,
                    status,
                    end_time,
                    error,
                } => self.end(run, status, end_time, error).await,
                Command::Failed(err) => self.fail(err),
                Command::Flush(reply) => {
                    self.send_all_pending().await;
                    self.probe(true).await;
                    self.report_spill();
                    let _ = reply.send(std::mem::take(&mut self.failures));
                }
                Command::Call(call) => {
                    self.send_all_pending().await;
                    call(self.ctx.clone()).await;
                }
            }
        }
    }

    fn fail(&mut self, err: Error) {
        report(&err);
        self.failures.push(err);
    }

    async fn start(&mut self, run: Arc<RunCell>, spec: StartSpec, early_tags: Vec<RunTag>) {
        let local = run.local_id;
        let result = self.create(spec, early_tags).await;
        let mut spill_ref = None;
        let id = match result {
            Ok(Created::Stored(id, experiment_id)) => {
                self.run_experiments.insert(local, experiment_id);
                run.resolve_id(Ok(id.clone()));
                Ok(id)
            }
            Ok(Created::Spilled(reference, experiment_id)) => {
                if let Some(experiment_id) = experiment_id {
                    self.run_experiments.insert(local, experiment_id);
                }
                let err = Error::RunNotCreated {
                    run_name: run.name.clone(),
                    source: Box::new(self.spilled_error()),
                };
                run.resolve_id(Err(err.clone()));
                spill_ref = Some(reference);
                Err(err)
            }
            Err(e) => {
                let err = Error::RunNotCreated {
                    run_name: run.name.clone(),
                    source: Box::new(e),
                };
                run.resolve_id(Err(err.clone()));
                self.fail(err.clone());
                Err(err)
            }
        };
        self.runs.insert(
            local,
            RunState {
                cell: run,
                id,
                spill_ref,
                pending: Batch::default(),
            },
        );
    }

    /// Creates (or resumes) the run in the store; returns its id and experiment.
    async fn create(&mut self, spec: StartSpec, early_tags: Vec<RunTag>) -> Result<Created> {
        let store = self.ctx.store()?.clone();
        if let Some(id) = spec.resume {
            let existing = store.get_run(&id).await?;
            store.update_run(&id, RunStatus::Running, None).await?;
            return Ok(Created::Stored(id, existing.info.experiment_id));
        }
        let parent_experiment = spec
            .parent
            .as_ref()
            .and_then(|p| self.run_experiments.get(&p.local_id).cloned());
        let same_as_parent = spec.experiment == ExperimentSel::SameAsParent;
        let experiment = match self.outage {
            Some(_) => Err(self.offline_experiment(&spec.experiment, &parent_experiment)),
            None => match self
                .online_experiment(spec.experiment.clone(), &parent_experiment)
                .await
            {
                Ok(id) => Ok(id),
                Err(e) if is_outage(&e) => {
                    self.enter_outage(e);
                    Err(self.offline_experiment(&spec.experiment, &parent_experiment))
                }
                Err(e) => return Err(e),
            },
        };
        let mut tags: Vec<RunTag> = system::tags().to_vec();
        let mut parent_ref = None;
        if let Some(parent) = &spec.parent {
            // A run in another experiment than its parent starts at the top of its own.
            let nests = match &experiment {
                Ok(id) => parent_experiment.as_deref() == Some(id.as_str()),
                Err(_) => same_as_parent,
            };
            if nests {
                match self.parent_ref(parent) {
                    Some(RunRef::Id(parent_id)) => tags.push(tag("mlflow.parentRunId", parent_id)),
                    Some(RunRef::Spilled(r)) => parent_ref = Some(r),
                    None => {
                        return Err(Error::Config(format!(
                            "its parent run {:?} was not created",
                            parent.name
                        )));
                    }
                }
            }
        }
        tags.push(tag("mlflow.runName", spec.name.clone()));
        for t in spec.user_tags.into_iter().chain(early_tags) {
            match validate::key("tag", &t.key) {
                Ok(()) => tags.push(t),
                Err(e) => self.fail(e),
            }
        }
        let tags = dedup_last_wins(tags);
        let find = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        // The server refuses a run_name that differs from the mlflow.runName tag.
        let run_name = find("mlflow.runName").unwrap_or(spec.name);
        let user_id = find("mlflow.user").unwrap_or_else(|| "unknown".into());
        let (experiment_id, experiment_name) = match experiment {
            Ok(id) => (Some(id), None),
            Err(offline) => offline,
        };
        let request = CreateRun {
            experiment_id: experiment_id.clone().unwrap_or_default(),
            run_id: spec.client_id,
            user_id,
            run_name,
            start_time: spec.start_time,
            tags,
        };
        if self.outage.is_none() && parent_ref.is_none() && experiment_id.is_some() {
            match store.create_run(&request).await {
                Ok(info) => {
                    return Ok(Created::Stored(
                        info.run_id,
                        experiment_id.unwrap_or_default(),
                    ));
                }
                Err(e) if is_outage(&e) => self.enter_outage(e),
                Err(e) => return Err(e),
            }
        }
        self.spill_create(request, experiment_id, experiment_name, parent_ref)
    }

    /// The experiment id for `sel`, asking the store when it is not known yet.
    async fn online_experiment(
        &mut self,
        sel: ExperimentSel,
        parent_experiment: &Option<String>,
    ) -> Result<String> {
        match sel {
            ExperimentSel::Id(id) => Ok(id),
            ExperimentSel::Name(name) => self.experiment_by_name(&name).await,
            ExperimentSel::SameAsParent => match parent_experiment.clone() {
                Some(id) => Ok(id),
                None => self.default_experiment().await,
            },
            ExperimentSel::Default => self.default_experiment().await,
        }
    }

    async fn experiment_by_name(&mut self, name: &str) -> Result<String> {
        if let Some(id) = self.experiments_by_name.get(name) {
            return Ok(id.clone());
        }
        let id = self.ctx.get_or_create_experiment(name).await?.experiment_id;
        self.experiments_by_name.insert(name.to_owned(), id.clone());
        Ok(id)
    }

    /// The experiment for runs that name none, resolved once as the Python client does.
    async fn default_experiment(&mut self) -> Result<String> {
        if let Some(resolved) = &self.default_experiment {
            return resolved.clone();
        }
        let resolved = self.resolve_default_experiment().await;
        // An outage is no answer: ask again next time.
        if !matches!(&resolved, Err(e) if is_outage(e)) {
            self.default_experiment = Some(resolved.clone());
        }
        resolved
    }

    async fn resolve_default_experiment(&mut self) -> Result<String> {
        let by_name = config::env_nonempty("MLFLOW_EXPERIMENT_NAME");
        let by_id = config::env_nonempty("MLFLOW_EXPERIMENT_ID");
        if let Some(name) = by_name {
            let id = self.experiment_by_name(&name).await?;
            if let Some(env_id) = by_id.filter(|env_id| *env_id != id) {
                return Err(Error::Config(format!(
                    "MLFLOW_EXPERIMENT_NAME={name:?} is experiment {id}, but MLFLOW_EXPERIMENT_ID={env_id}; set only one"
                )));
            }
            return Ok(id);
        }
        if let Some(id) = by_id {
            return match self.ctx.store()?.get_experiment(&id).await? {
                Some(e) => Ok(e.experiment_id),
                None => Err(Error::Config(format!(
                    "MLFLOW_EXPERIMENT_ID={id}: no such experiment"
                ))),
            };
        }
        Ok("0".into())
    }

    async fn log(&mut self, run: Arc<RunCell>, batch: Batch) {
        let state = match self.runs.entry(run.local_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            // A run known by id (the Client) or logged to after it ended: feed it like others.
            std::collections::hash_map::Entry::Vacant(e) => match run.known_id() {
                Some(id) => e.insert(RunState {
                    cell: run.clone(),
                    id: Ok(id),
                    spill_ref: None,
                    pending: Batch::default(),
                }),
                None => {
                    self.fail(Error::Undelivered {
                        run: run.name.clone(),
                        count: batch.len(),
                        source: Box::new(Error::Config("the run was never created".into())),
                    });
                    return;
                }
            },
        };
        if let (Err(e), None) = (&state.id, &state.spill_ref) {
            let err = Error::Undelivered {
                run: run.name.clone(),
                count: batch.len(),
                source: Box::new(e.clone()),
            };
            self.fail(err);
            return;
        }
        state.pending.extend(batch);
        if state.pending.len() >= self.send_at {
            self.send_pending(run.local_id).await;
        }
    }

    async fn end(
        &mut self,
        run: Arc<RunCell>,
        status: RunStatus,
        end_time: i64,
        error: Option<String>,
    ) {
        let local = run.local_id;
        if let Some(message) = error
            && let Some(state) = self.runs.get_mut(&local)
        {
            state.pending.tags.push(tag(
                "error",
                validate::truncate_value("tag", "error", message, validate::MAX_TAG_VALUE_LENGTH),
            ));
        }
        self.send_pending(local).await;
        let target = match self.runs.remove(&local) {
            Some(state) => self.run_ref(&state),
            None => run.known_id().map(RunRef::Id),
        };
        let id = match target {
            Some(RunRef::Id(id)) if self.outage.is_none() => id,
            Some(target) => {
                let op = SpillOp::update_run(&target, &run.name, status, Some(end_time));
                self.spill_op(&op);
                self.report_spilled_end(&run.name, status);
                return;
            }
            None => return,
        };
        let stored = match self.ctx.store() {
            Ok(store) => store.clone().update_run(&id, status, Some(end_time)).await,
            Err(e) => Err(e),
        };
        if let Err(e) = stored {
            if is_outage(&e) {
                self.enter_outage(e);
                let op = SpillOp::update_run(&RunRef::Id(id), &run.name, status, Some(end_time));
                self.spill_op(&op);
                self.report_spilled_end(&run.name, status);
                return;
            }
            self.fail(Error::Undelivered {
                run: format!("{} ({id})", run.name),
                count: 1,
                source: Box::new(e),
            });
        }
        // The run's experiment is still needed for children started after it ended, which
        // is rare; keep the map from growing with every run of a long sweep otherwise.
        if self.run_experiments.len() > 10_000 {
            self.run_experiments.remove(&local);
        }
    }

    async fn send_all_pending(&mut self) {
        let locals: Vec<u64> = self
            .runs
            .iter()
            .filter(|(_, s)| !s.pending.is_empty())
            .map(|(k, _)| *k)
            .collect();
        for local in locals {
            self.send_pending(local).await;
        }
    }

    async fn send_pending(&mut self, local: u64) {
        let Some(state) = self.runs.get_mut(&local) else {
            return;
        };
        if state.pending.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut state.pending);
        let name = state.cell.name.clone();
        let id = match self.runs.get(&local).and_then(|s| self.run_ref(s)) {
            Some(RunRef::Id(id)) if self.outage.is_none() => id,
            Some(target) => {
                for piece in split(normalize(batch), self.limits) {
                    self.spill_op(&SpillOp::log_batch(&target, &name, &piece));
                }
                return;
            }
            None => return,
        };
        if let Err(e) = self.store_batch(&id, &name, batch).await {
            let e = match e {
                Error::Undelivered { .. } => e,
                other => Error::Undelivered {
                    run: format!("{name} ({id})"),
                    count: 0,
                    source: Box::new(other),
                },
            };
            self.fail(e);
        }
    }

    /// Stores a batch of any size, cut into pieces the store accepts. Metric-only pieces go
    /// out up to [`Store::max_in_flight`] at a time; a piece with params or tags goes alone,
    /// after everything before it, so that their order is kept.
    async fn store_batch(&mut self, run_id: &str, run_name: &str, batch: Batch) -> Result<()> {
        let store = self.ctx.store()?.clone();
        let mut first_error = None;
        let mut pieces = split(normalize(batch), self.limits).into_iter().peekable();
        let mut running = FuturesUnordered::new();
        // Whether the piece under way has params or tags: nothing may overtake it.
        let mut ordered_running = false;
        loop {
            while self.outage.is_none() && !ordered_running && running.len() < self.in_flight {
                let next = if running.is_empty() {
                    pieces.next()
                } else {
                    pieces.next_if(metrics_only)
                };
                let Some(piece) = next else { break };
                ordered_running = !metrics_only(&piece);
                let store = &store;
                running.push(async move {
                    let result = store.log_batch(run_id, &piece).await;
                    (piece, result)
                });
            }
            let Some((piece, result)) = running.next().await else {
                // Nothing under way and nothing started: done, or the store went down.
                for piece in pieces {
                    self.spill_piece(run_id, run_name, &piece);
                }
                break;
            };
            ordered_running = false;
            let Err(e) = result else { continue };
            if is_outage(&e) {
                self.enter_outage(e);
                self.spill_piece(run_id, run_name, &piece);
                continue;
            }
            // Only what the store refused is lost: the rest of the piece goes again.
            for (lost, e) in crate::isolate::after_refusal(&store, run_id, &piece, e).await {
                let e = match e {
                    Error::Undelivered { .. } => e,
                    other => Error::Undelivered {
                        run: format!("{run_name} ({run_id})"),
                        count: lost.min(piece.len()),
                        source: Box::new(other),
                    },
                };
                if first_error.is_none() {
                    first_error = Some(e);
                } else {
                    self.fail(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn spill_piece(&mut self, run_id: &str, run_name: &str, piece: &Batch) {
        let target = RunRef::Id(run_id.to_owned());
        self.spill_op(&SpillOp::log_batch(&target, run_name, piece));
    }
}

fn metrics_only(batch: &Batch) -> bool {
    batch.params.is_empty() && batch.tags.is_empty()
}

fn tag(key: &str, value: impl Into<String>) -> RunTag {
    RunTag {
        key: key.to_owned(),
        value: value.into(),
    }
}

/// Moves the tags of `run`'s logging calls that follow its start (up to its end, or to a
/// flush or query, which must see them in order) into the create request.
fn take_early_tags(rest: &mut [Option<Command>], local: u64) -> Vec<RunTag> {
    let mut tags = Vec::new();
    for slot in rest.iter_mut() {
        match slot {
            Some(Command::Log { run, batch }) if run.local_id == local => {
                tags.append(&mut batch.tags)
            }
            Some(Command::End { run, .. }) if run.local_id == local => break,
            Some(Command::Flush(_) | Command::Call(_)) => break,
            _ => {}
        }
    }
    tags
}

/// Keeps the last value of each tag (last write wins) in first-seen order.
fn dedup_last_wins(tags: Vec<RunTag>) -> Vec<RunTag> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<RunTag> = Vec::with_capacity(tags.len());
    for t in tags {
        match index.get(&t.key) {
            Some(&i) => out[i].value = t.value,
            None => {
                index.insert(t.key.clone(), out.len());
                out.push(t);
            }
        }
    }
    out
}

/// One request may not name a param or tag twice; params were checked for conflicts when
/// logged, so repeats carry the same value.
fn normalize(mut batch: Batch) -> Batch {
    let mut seen = std::collections::HashSet::new();
    batch.params.retain(|p| seen.insert(p.key.clone()));
    batch.tags = dedup_last_wins(batch.tags);
    batch
}

/// Cuts a batch into pieces within `limits`, as the Python client does: params and tags in
/// chunks, metrics filling the remaining room.
fn split(mut batch: Batch, limits: BatchLimits) -> Vec<Batch> {
    let mut pieces = Vec::new();
    let mut params = std::mem::take(&mut batch.params).into_iter().peekable();
    let mut tags = std::mem::take(&mut batch.tags).into_iter().peekable();
    let mut metrics = std::mem::take(&mut batch.metrics).into_iter().peekable();
    while params.peek().is_some() || tags.peek().is_some() || metrics.peek().is_some() {
        let mut piece = Batch::default();
        piece
            .params
            .extend(params.by_ref().take(limits.params.min(limits.entities)));
        let room = limits.entities - piece.len();
        piece.tags.extend(tags.by_ref().take(limits.tags.min(room)));
        let room = limits.entities - piece.len();
        piece
            .metrics
            .extend(metrics.by_ref().take(limits.metrics.min(room)));
        pieces.push(piece);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Metric, Param};

    fn batch(metrics: usize, params: usize, tags: usize) -> Batch {
        Batch {
            metrics: (0..metrics)
                .map(|i| Metric {
                    key: format!("m{i}"),
                    value: 0.0,
                    timestamp: 0,
                    step: 0,
                })
                .collect(),
            params: (0..params)
                .map(|i| Param {
                    key: format!("p{i}"),
                    value: "v".into(),
                })
                .collect(),
            tags: (0..tags).map(|i| tag(&format!("t{i}"), "v")).collect(),
        }
    }

    #[test]
    fn split_respects_every_limit() {
        let l = BatchLimits::MLFLOW_SERVER;
        let pieces = split(batch(2500, 250, 150), l);
        let total: usize = pieces.iter().map(Batch::len).sum();
        assert_eq!(total, 2900);
        for p in &pieces {
            assert!(p.metrics.len() <= 1000 && p.params.len() <= 100 && p.tags.len() <= 100);
            assert!(p.len() <= 1000);
        }
        assert_eq!(split(Batch::default(), l).len(), 0);
        assert_eq!(split(batch(1, 1, 1), l).len(), 1);
    }

    #[test]
    fn tags_last_write_wins() {
        let t = dedup_last_wins(vec![tag("a", "1"), tag("b", "2"), tag("a", "3")]);
        assert_eq!(t, vec![tag("a", "3"), tag("b", "2")]);
    }
}
