//! What the memory store holds, and its rules as MLflow's server (SQL backend) applies them:
//! experiments with sequential ids ("0" is Default), runs with server-chosen ids, statuses,
//! params, tags and metric points. `log_batch` is in `batch.rs`, searches in `search.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::base::datasets::{self, Dataset, DatasetInput, RunInputs};
use crate::base::error::{Error, Result};
use crate::base::model::{
    CreateRun, Experiment, Metric, NewExperiment, Param, Run, RunInfo, RunStatus, RunTag, RunUpdate,
};
use crate::base::run_names::random_run_name;
use crate::base::time::now_ms;
use crate::base::validate;

pub(super) const RUN_NAME_TAG: &str = "mlflow.runName";

/// One run as the store keeps it: params, tags and every metric point in arrival order.
#[derive(Debug, Clone)]
pub(super) struct RunRow {
    pub(super) info: RunInfo,
    pub(super) params: Vec<Param>,
    pub(super) tags: Vec<RunTag>,
    pub(super) metrics: Vec<Metric>,
    /// The identities of the points in `metrics` (key, timestamp, step, value's bits).
    pub(super) points: HashSet<(String, i64, i64, u64)>,
    /// The datasets the run used, in the order first logged.
    pub(super) inputs: Vec<DatasetInput>,
}

impl RunRow {
    /// The run as `runs/get` answers: the latest point of each metric, params and tags by
    /// key (the SQL store's order).
    pub(super) fn to_run(&self) -> Run {
        let mut latest: Vec<Metric> = Vec::new();
        for point in &self.metrics {
            match latest.iter_mut().find(|m| m.key == point.key) {
                Some(current) if is_newer(point, current) => *current = point.clone(),
                Some(_) => {}
                None => latest.push(point.clone()),
            }
        }
        latest.sort_by(|a, b| a.key.cmp(&b.key));
        let mut params = self.params.clone();
        params.sort_by(|a, b| a.key.cmp(&b.key));
        let mut tags = self.tags.clone();
        tags.sort_by(|a, b| a.key.cmp(&b.key));
        Run {
            info: self.info.clone(),
            metrics: latest,
            params,
            tags,
            inputs: RunInputs {
                dataset_inputs: self.inputs.clone(),
            },
            // The memory store keeps no logged models.
            outputs: Default::default(),
        }
    }

    pub(super) fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// Sets a tag (last write wins); `mlflow.runName` renames the run, as MLflow does.
    pub(super) fn set_tag(&mut self, tag: RunTag) {
        if tag.key == RUN_NAME_TAG {
            self.info.run_name = tag.value.clone();
        }
        match self.tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => self.tags.push(tag),
        }
    }
}

/// MLflow's latest point: the greatest (step, timestamp, value), NaN compared as the 0 the
/// SQL store writes for it.
pub(super) fn is_newer(a: &Metric, b: &Metric) -> bool {
    let stored = |v: f64| if v.is_nan() { 0.0 } else { v };
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then_with(|| stored(a.value).total_cmp(&stored(b.value)))
        .is_gt()
}

/// Everything the store holds.
#[derive(Debug)]
pub(super) struct State {
    /// By id: experiment `i` has id `i`.
    pub(super) experiments: Vec<Experiment>,
    /// In creation order.
    pub(super) runs: Vec<RunRow>,
    index: HashMap<String, usize>,
    /// Artifact bytes by `<artifact_uri>/<path>`.
    pub(super) artifacts: BTreeMap<String, Vec<u8>>,
    /// Datasets by (experiment id, name, digest): kept once per experiment, as the first
    /// `log_inputs` gave them.
    pub(super) datasets: HashMap<(String, String, String), Dataset>,
}

impl Default for State {
    fn default() -> State {
        State {
            experiments: vec![experiment("0", "Default", None, now_ms())],
            runs: Vec::new(),
            index: HashMap::new(),
            artifacts: BTreeMap::new(),
            datasets: HashMap::new(),
        }
    }
}

/// A new experiment: its artifact location the one given (kept as given: a server would
/// make a relative path absolute against its own working directory), else what `mlflow
/// server` hands out when it serves artifacts (the 3.x default).
fn experiment(id: &str, name: &str, location: Option<&str>, now: i64) -> Experiment {
    let mut e = Experiment::new(id, name);
    e.artifact_location = match location {
        Some(given) => given.to_owned(),
        None => format!("mlflow-artifacts:/{id}"),
    };
    e.creation_time = Some(now);
    e.last_update_time = Some(now);
    e
}

pub(super) fn bad_request(message: impl Into<String>) -> Error {
    Error::api(400, "INVALID_PARAMETER_VALUE", message)
}

pub(super) fn run_not_found(run_id: &str) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("Run with id={run_id} not found"),
    )
}

/// MLflow's run id rule (`^[a-zA-Z0-9][\w\-]{0,255}$`).
pub(super) fn check_run_id(run_id: &str) -> Result<()> {
    let ok = (1..=256).contains(&run_id.len())
        && run_id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && run_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(bad_request(format!(
            "Invalid value \"{run_id}\" for parameter 'run_id' supplied"
        )))
    }
}

/// A key as MLflow's server checks it, its refusal as the server words it.
pub(super) fn check_key(kind: &'static str, key: &str) -> Result<()> {
    validate::key(kind, key).map_err(|e| bad_request(e.to_string()))
}

impl State {
    pub(super) fn experiment_by_name(&self, name: &str) -> Option<Experiment> {
        self.experiments.iter().find(|e| e.name == name).cloned()
    }

    pub(super) fn experiment(&self, id: &str) -> Option<Experiment> {
        let index: usize = id.parse().ok()?;
        self.experiments
            .get(index)
            .filter(|e| e.experiment_id == id)
            .cloned()
    }

    /// `experiments/create`: a unique non-empty name, valid tags.
    pub(super) fn create_experiment(&mut self, new: &NewExperiment) -> Result<String> {
        let name = new.name.as_str();
        if name.is_empty() {
            return Err(bad_request(
                "Missing value for required parameter 'name'. See the API docs for more information about request parameters.",
            ));
        }
        for (key, value) in &new.tags {
            validate::experiment_tag(key, value)?;
        }
        if self.experiment_by_name(name).is_some() {
            return Err(Error::api(
                400,
                "RESOURCE_ALREADY_EXISTS",
                format!("Experiment(name={name}) already exists."),
            ));
        }
        let id = self.experiments.len().to_string();
        let location = new.artifact_location.as_deref().filter(|l| !l.is_empty());
        let mut created = experiment(&id, name, location, now_ms());
        created.tags = new.tags.clone();
        self.experiments.push(created);
        Ok(id)
    }

    /// The experiment `id`, to be changed.
    pub(super) fn experiment_mut(&mut self, id: &str) -> Option<&mut Experiment> {
        let index: usize = id.parse().ok()?;
        self.experiments
            .get_mut(index)
            .filter(|e| e.experiment_id == id)
    }

    /// `runs/create`: the experiment must exist and be active, `run_name` must equal the
    /// `mlflow.runName` tag when both are given; a run without either gets a name made as
    /// MLflow makes one.
    /// The id is a fresh uuid, or the client's when `client_ids` (the embedded store's way).
    pub(super) fn create_run(&mut self, request: &CreateRun, client_ids: bool) -> Result<RunInfo> {
        if request.experiment_id.is_empty() {
            return Err(bad_request(
                "Missing value for required parameter 'experiment_id'.",
            ));
        }
        let experiment = self
            .experiment(&request.experiment_id)
            .ok_or_else(|| no_experiment(&request.experiment_id))?;
        if experiment.lifecycle_stage != "active" {
            return Err(bad_request(format!(
                "The experiment {} must be in the 'active' state. Current state is {}.",
                experiment.experiment_id, experiment.lifecycle_stage
            )));
        }
        let mut keys = HashSet::new();
        for tag in &request.tags {
            check_key("tag", &tag.key)?;
            if !keys.insert(tag.key.as_str()) {
                // MLflow's SQL store fails on its primary key; the sender must never send it.
                return Err(bad_request(format!(
                    "tag {:?} is given twice in one runs/create request (the memory store refuses what MLflow's SQL store fails on)",
                    tag.key
                )));
            }
        }
        let name_tag = request.tags.iter().find(|t| t.key == RUN_NAME_TAG);
        if let Some(tag) = name_tag
            && !request.run_name.is_empty()
            && tag.value != request.run_name
        {
            return Err(bad_request(format!(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with \
                 different values (run_name='{}', mlflow.runName='{}').",
                request.run_name, tag.value
            )));
        }
        let run_id = match (&request.run_id, client_ids) {
            (Some(id), true) => {
                check_run_id(id)?;
                if self.index.contains_key(id) {
                    return Err(Error::api(
                        400,
                        "RESOURCE_ALREADY_EXISTS",
                        format!("Run with id={id} already exists"),
                    ));
                }
                id.clone()
            }
            _ => uuid::Uuid::new_v4().simple().to_string(),
        };
        let run_name = match (request.run_name.as_str(), name_tag) {
            ("", Some(tag)) => tag.value.clone(),
            ("", None) => random_run_name(),
            (name, _) => name.to_owned(),
        };
        let info = RunInfo {
            artifact_uri: format!("{}/{run_id}/artifacts", experiment.artifact_location),
            run_id: run_id.clone(),
            experiment_id: experiment.experiment_id,
            run_name: run_name.clone(),
            user_id: request.user_id.clone(),
            status: RunStatus::Running,
            start_time: request.start_time,
            end_time: None,
            lifecycle_stage: "active".to_owned(),
        };
        let mut tags = request.tags.clone();
        if name_tag.is_none() {
            tags.push(RunTag {
                key: RUN_NAME_TAG.to_owned(),
                value: run_name,
            });
        }
        self.index.insert(run_id, self.runs.len());
        self.runs.push(RunRow {
            info: info.clone(),
            params: Vec::new(),
            tags,
            metrics: Vec::new(),
            points: HashSet::new(),
            inputs: Vec::new(),
        });
        Ok(info)
    }

    pub(super) fn run(&self, run_id: &str) -> Result<&RunRow> {
        self.index
            .get(run_id)
            .map(|&i| &self.runs[i])
            .ok_or_else(|| run_not_found(run_id))
    }

    /// The run, to be written to: it must exist and be active (`_check_run_is_active`).
    pub(super) fn active_run(&mut self, run_id: &str) -> Result<&mut RunRow> {
        let index = *self
            .index
            .get(run_id)
            .ok_or_else(|| run_not_found(run_id))?;
        let row = &mut self.runs[index];
        if row.info.lifecycle_stage != "active" {
            return Err(bad_request(format!(
                "The run {run_id} must be in the 'active' state. Current state is {}.",
                row.info.lifecycle_stage
            )));
        }
        Ok(row)
    }

    /// `runs/log-inputs`, as MLflow's SQL store: a dataset is kept once per experiment (its
    /// first description wins), and used once per run (its first tags stay).
    pub(super) fn log_inputs(&mut self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        check_run_id(run_id)?;
        datasets::validate(inputs).map_err(|e| bad_request(e.to_string()))?;
        let experiment_id = self.active_run(run_id)?.info.experiment_id.clone();
        for input in datasets::dedup(inputs) {
            let d = &input.dataset;
            let key = (experiment_id.clone(), d.name.clone(), d.digest.clone());
            let dataset = self
                .datasets
                .entry(key)
                .or_insert_with(|| d.clone())
                .clone();
            let row = self.active_run(run_id)?;
            let used = row
                .inputs
                .iter()
                .any(|i| i.dataset.name == d.name && i.dataset.digest == d.digest);
            if !used {
                let mut used = input.clone();
                used.dataset = dataset;
                row.inputs.push(used);
            }
        }
        Ok(())
    }

    /// `runs/update`: the status, and the end time when given.
    pub(super) fn update_run(&mut self, run_id: &str, update: &RunUpdate) -> Result<()> {
        check_run_id(run_id)?;
        let row = self.active_run(run_id)?;
        if let Some(status) = update.status {
            row.info.status = status;
        }
        if let Some(end) = update.end_time {
            row.info.end_time = Some(end);
        }
        if let Some(name) = update.run_name.as_deref().filter(|n| !n.is_empty()) {
            row.info.run_name = name.to_owned();
            row.set_tag(RunTag {
                key: RUN_NAME_TAG.to_owned(),
                value: name.to_owned(),
            });
        }
        Ok(())
    }

    /// The run, to be changed whatever its stage.
    pub(super) fn run_mut(&mut self, run_id: &str) -> Result<&mut RunRow> {
        let index = *self
            .index
            .get(run_id)
            .ok_or_else(|| run_not_found(run_id))?;
        Ok(&mut self.runs[index])
    }

    /// `metrics/get-history`: the points of `key`, ordered as the SQL store orders them
    /// (timestamp, step, value).
    pub(super) fn history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let mut points: Vec<Metric> = self
            .run(run_id)?
            .metrics
            .iter()
            .filter(|m| m.key == key)
            .cloned()
            .collect();
        points.sort_by(|a, b| {
            (a.timestamp, a.step)
                .cmp(&(b.timestamp, b.step))
                .then_with(|| a.value.total_cmp(&b.value))
        });
        Ok(points)
    }
}

pub(super) fn no_experiment(id: &str) -> Error {
    Error::api(
        404,
        "RESOURCE_DOES_NOT_EXIST",
        format!("No Experiment with id={id} exists"),
    )
}
