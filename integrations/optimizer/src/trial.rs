//! The trial an objective gets: parameters by name, `report` that logs as it reports, and
//! the trial's own run.

use std::collections::BTreeMap;

use mlflow_tracking_runtime::RunHandle;
use optimizer::AttrValue;
use optimizer::param::ParamValue;

use crate::error::Result;
use crate::held::Held;
use crate::layout::{
    INTERMEDIATE_METRIC, INTERNAL_VALUE_PREFIX, PARAM_DIRECTIONS_TAG, USER_ATTR_PREFIX, json_float,
    json_string, param_directions_json,
};
use crate::params::{Registered, SearchSpace};

/// One trial of a [`Study`](crate::Study), inside its own child run of the study's run:
/// `mlflow::log_metric` and the other logging calls made by the objective go to that run.
///
/// Parameters are asked for by the name they were registered with
/// ([`StudyBuilder::param`](crate::StudyBuilder::param)); each is logged as a param (its
/// value as Python writes it) with Optuna's tags. Asking again for the same name returns
/// the same value.
///
/// What the trial writes of Optuna's layout (params, their tags, reported values, user
/// attributes) goes to its run in one batch when the trial ends; once the trial has run for
/// a second, as it is written. A short trial costs three requests to a tracking server (its
/// run's creation, one batch, its end). What the objective logs itself
/// (`mlflow::log_metric`, ...) is sent as any logging is.
#[derive(Debug)]
pub struct Trial<'s> {
    pub(crate) inner: optimizer::Trial,
    pub(crate) space: &'s SearchSpace,
    pub(crate) run: RunHandle,
    pub(crate) number: u64,
    /// Names suggested so far, in suggestion order, for `param_directions`.
    pub(crate) suggested: BTreeMap<String, String>,
    /// Writes held back until the trial ends or they have waited long enough.
    pub(crate) held: Held,
}

impl Trial<'_> {
    /// The trial's number in the study, as Optuna numbers it (`trial.number`).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The trial's run, to log to it from other threads ([`RunHandle::enter`]).
    pub fn run(&self) -> &RunHandle {
        &self.run
    }

    /// The `optimizer` crate's own trial (its id is [`Trial::number`]), for what this
    /// wrapper does not forward. Values suggested on it directly are not logged.
    pub fn inner(&self) -> &optimizer::Trial {
        &self.inner
    }

    /// Suggests a value for the float parameter `name`.
    pub fn suggest_float(&mut self, name: &str) -> Result<f64> {
        match self.suggest(name, "float")? {
            ParamValue::Float(v) => Ok(v),
            other => Ok(param_as_f64(&other)),
        }
    }

    /// Suggests a value for the integer parameter `name`.
    pub fn suggest_int(&mut self, name: &str) -> Result<i64> {
        match self.suggest(name, "int")? {
            ParamValue::Int(v) => Ok(v),
            #[allow(clippy::cast_possible_truncation)]
            other => Ok(param_as_f64(&other) as i64),
        }
    }

    /// Suggests one of the choices of the categorical parameter `name`.
    pub fn suggest_categorical(&mut self, name: &str) -> Result<String> {
        let value = self.suggest(name, "categorical")?;
        Ok(self.space.get(name)?.external(&value))
    }

    fn suggest(&mut self, name: &str, kind: &'static str) -> Result<ParamValue> {
        let value = self.space.suggest(&mut self.inner, name, kind)?;
        if !self.suggested.contains_key(name) {
            let registered = self.space.get(name)?;
            self.suggested
                .insert(name.to_owned(), registered.distribution_json.clone());
            self.log_suggestion(name, registered, &value)?;
        }
        Ok(value)
    }

    /// The param (external value), its internal value and the updated `param_directions`,
    /// held to go together, as Python queues them in one batch.
    fn log_suggestion(
        &mut self,
        name: &str,
        registered: &Registered,
        value: &ParamValue,
    ) -> Result<()> {
        let directions =
            param_directions_json(self.suggested.iter().map(|(n, d)| (n.as_str(), d.clone())));
        self.held.param(name.to_owned(), registered.external(value));
        self.held.tag(
            format!("{INTERNAL_VALUE_PREFIX}{name}"),
            Registered::internal_json(value),
        );
        self.held.tag(PARAM_DIRECTIONS_TAG.to_owned(), directions);
        self.held.send_if_due(&self.run)
    }

    /// Reports `value` at `step`: logged to the trial's run as the metric
    /// `intermediate_value` at that step, with the time of the report (what Optuna's pruners
    /// and Python read; sent when the trial ends, or at once after its first second), and
    /// kept for [`Trial::should_prune`]. Reporting a step again replaces its value.
    pub fn report(&mut self, step: u64, value: f64) -> Result<()> {
        self.inner.report(step, value);
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        self.held.point(INTERMEDIATE_METRIC, value, step);
        self.held.send_if_due(&self.run)
    }

    /// Whether the study's pruner stops this trial at the last reported step, compared with
    /// the study's trials as stored (this process's and those read back from the store when
    /// the trial started). Return `Err(TrialPruned)` (or
    /// [`Error::TrialPruned`](crate::Error::TrialPruned)) from the objective to prune it.
    pub fn should_prune(&self) -> bool {
        self.inner.should_prune()
    }

    /// Sets the user attribute `key` (the tag `user_<key>`, as JSON, as Optuna's
    /// `trial.set_user_attr` writes it).
    pub fn set_user_attr(&mut self, key: &str, value: impl Into<AttrValue>) -> Result<()> {
        let value = value.into();
        let json = match &value {
            AttrValue::Float(v) => json_float(*v),
            AttrValue::Int(v) => v.to_string(),
            AttrValue::String(s) => json_string(s),
            AttrValue::Bool(b) => b.to_string(),
        };
        self.held.tag(format!("{USER_ATTR_PREFIX}{key}"), json);
        self.inner.set_user_attr(key, value);
        self.held.send_if_due(&self.run)
    }
}

#[allow(clippy::cast_precision_loss)]
fn param_as_f64(v: &ParamValue) -> f64 {
    match v {
        ParamValue::Float(f) => *f,
        ParamValue::Int(i) => *i as f64,
        ParamValue::Categorical(i) => *i as f64,
    }
}
