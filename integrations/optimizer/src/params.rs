//! The study's search space: parameters registered by name, so that their Optuna
//! distributions (choices included) can be written, and trials written by other processes
//! (which know the parameters by name only) can be read back for the sampler.

use std::collections::BTreeMap;

use optimizer::distribution::{Distribution, FloatDistribution, IntDistribution};
use optimizer::param::ParamValue;
use optimizer::parameter::{CategoricalParam, FloatParam, IntParam, ParamId, Parameter};

use crate::error::{Error, Result};
use crate::layout::{self, json_float};

/// A parameter to register with a study ([`StudyBuilder::param`](crate::StudyBuilder::param)):
/// a float, an integer or a choice among strings. Made from the `optimizer` crate's
/// [`FloatParam`] and [`IntParam`] with `.into()`, or with [`SearchParam::categorical`].
#[derive(Debug, Clone)]
pub struct SearchParam(Param);

#[derive(Debug, Clone)]
enum Param {
    Float(FloatParam),
    Int(IntParam),
    Categorical(CategoricalParam<String>, Vec<String>),
}

impl SearchParam {
    /// A choice among `choices` (Optuna's `CategoricalDistribution` of strings).
    pub fn categorical<S: Into<String>>(choices: impl IntoIterator<Item = S>) -> SearchParam {
        let choices: Vec<String> = choices.into_iter().map(Into::into).collect();
        SearchParam(Param::Categorical(
            CategoricalParam::new(choices.clone()),
            choices,
        ))
    }
}

impl From<FloatParam> for SearchParam {
    fn from(p: FloatParam) -> Self {
        SearchParam(Param::Float(p))
    }
}

impl From<IntParam> for SearchParam {
    fn from(p: IntParam) -> Self {
        SearchParam(Param::Int(p))
    }
}

/// What a registered parameter is, with what Optuna's distribution needs.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Float(FloatDistribution),
    Int(IntDistribution),
    Categorical(Vec<String>),
}

impl Kind {
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Kind::Float(_) => "float",
            Kind::Int(_) => "int",
            Kind::Categorical(_) => "categorical",
        }
    }

    fn optuna_class(&self) -> &'static str {
        match self {
            Kind::Float(_) => "FloatDistribution",
            Kind::Int(_) => "IntDistribution",
            Kind::Categorical(_) => "CategoricalDistribution",
        }
    }
}

/// One registered parameter.
#[derive(Debug, Clone)]
pub(crate) struct Registered {
    param: Param,
    pub(crate) kind: Kind,
    /// Optuna's distribution JSON, written into `param_directions`.
    pub(crate) distribution_json: String,
}

impl Registered {
    pub(crate) fn id(&self) -> ParamId {
        match &self.param {
            Param::Float(p) => p.id(),
            Param::Int(p) => p.id(),
            Param::Categorical(p, _) => p.id(),
        }
    }

    pub(crate) fn distribution(&self) -> Distribution {
        match &self.param {
            Param::Float(p) => p.distribution(),
            Param::Int(p) => p.distribution(),
            Param::Categorical(p, _) => p.distribution(),
        }
    }

    /// The value as the param's text (Optuna's external value, as Python's `str`).
    pub(crate) fn external(&self, value: &ParamValue) -> String {
        match (value, &self.kind) {
            (ParamValue::Float(v), _) => python_float(*v),
            (ParamValue::Int(v), _) => v.to_string(),
            (ParamValue::Categorical(i), Kind::Categorical(choices)) => {
                choices.get(*i).cloned().unwrap_or_default()
            }
            (ParamValue::Categorical(i), _) => i.to_string(),
        }
    }

    /// The internal value as `json.dumps` writes it: floats as they are, integers as floats
    /// (`3.0`, Optuna's `IntDistribution.to_internal_repr`), a choice as its index.
    pub(crate) fn internal_json(value: &ParamValue) -> String {
        match value {
            ParamValue::Float(v) => json_float(*v),
            #[allow(clippy::cast_precision_loss)]
            ParamValue::Int(v) => json_float(*v as f64),
            ParamValue::Categorical(i) => i.to_string(),
        }
    }

    /// The value read back from a stored internal value, when the stored distribution is
    /// of this parameter's kind and the value fits it.
    pub(crate) fn read_internal(
        &self,
        stored_class: Option<&str>,
        internal: f64,
    ) -> Option<ParamValue> {
        if stored_class.is_some_and(|c| c != self.kind.optuna_class()) || !internal.is_finite() {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        match &self.kind {
            Kind::Float(_) => Some(ParamValue::Float(internal)),
            Kind::Int(_) => Some(ParamValue::Int(internal.round() as i64)),
            Kind::Categorical(choices) => {
                let i = internal.round();
                (i >= 0.0 && (i as usize) < choices.len())
                    .then_some(ParamValue::Categorical(i as usize))
            }
        }
    }
}

fn python_float(v: f64) -> String {
    mlflow_tracking_runtime::base::python_str::float(v)
}

/// The parameters of a study, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchSpace {
    by_name: BTreeMap<String, Registered>,
}

impl SearchSpace {
    /// Registers `param` as `name`; an invalid name or a name given twice is an error.
    pub(crate) fn add(&mut self, name: &str, param: SearchParam) -> Result<()> {
        check_name(name)?;
        if self.by_name.contains_key(name) {
            return Err(invalid(name, "registered twice"));
        }
        let param = match param.0 {
            Param::Float(p) => Param::Float(p.name(name)),
            Param::Int(p) => Param::Int(p.name(name)),
            Param::Categorical(p, choices) => Param::Categorical(p.name(name), choices),
        };
        let kind = match (&param, distribution_of(&param)) {
            (Param::Categorical(_, choices), _) if choices.is_empty() => {
                return Err(invalid(
                    name,
                    "a categorical parameter needs at least one choice",
                ));
            }
            (Param::Categorical(_, choices), _) => Kind::Categorical(choices.clone()),
            (_, Distribution::Float(d)) => Kind::Float(d),
            (_, Distribution::Int(d)) => Kind::Int(d),
            (_, Distribution::Categorical(_)) => unreachable_kind(),
        };
        let distribution_json = layout::distribution_json(&kind);
        self.by_name.insert(
            name.to_owned(),
            Registered {
                param,
                kind,
                distribution_json,
            },
        );
        Ok(())
    }

    /// The parameter registered as `name`, or an error naming the registered ones.
    pub(crate) fn get(&self, name: &str) -> Result<&Registered> {
        self.by_name.get(name).ok_or_else(|| Error::UnknownParam {
            name: name.to_owned(),
            registered: self.by_name.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// Every registered parameter, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Registered)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The name of the parameter with id `id`.
    pub(crate) fn name_of(&self, id: ParamId) -> Option<&str> {
        self.iter().find(|(_, r)| r.id() == id).map(|(n, _)| n)
    }

    /// Samples (or takes the cached value of) `name` for `trial`, checking the kind asked.
    pub(crate) fn suggest(
        &self,
        trial: &mut optimizer::Trial,
        name: &str,
        asked: &'static str,
    ) -> Result<ParamValue> {
        let registered = self.get(name)?;
        if registered.kind.label() != asked {
            return Err(Error::ParamKind {
                name: name.to_owned(),
                registered: registered.kind.label(),
                asked,
            });
        }
        let value = match &registered.param {
            Param::Float(p) => ParamValue::Float(trial.suggest_param(p)?),
            Param::Int(p) => ParamValue::Int(trial.suggest_param(p)?),
            Param::Categorical(p, choices) => {
                let choice = trial.suggest_param(p)?;
                let index = choices.iter().position(|c| *c == choice).unwrap_or(0);
                ParamValue::Categorical(index)
            }
        };
        Ok(value)
    }
}

fn distribution_of(param: &Param) -> Distribution {
    match param {
        Param::Float(p) => p.distribution(),
        Param::Int(p) => p.distribution(),
        Param::Categorical(p, _) => p.distribution(),
    }
}

// A float or int parameter never has a categorical distribution; kept out of line so that
// the match above stays total without a panic on bad input.
fn unreachable_kind() -> Kind {
    Kind::Categorical(Vec::new())
}

fn invalid(name: &str, reason: &str) -> Error {
    Error::InvalidParam {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// A name must be an MLflow param key (it is logged as one, and is part of a tag key).
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(invalid(name, "the name is empty"));
    }
    // `param_internal_val_` + name must fit a tag key (250).
    if name.len() > 250 - layout::INTERNAL_VALUE_PREFIX.len() {
        return Err(invalid(name, "the name is longer than 231 bytes"));
    }
    let ok = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/'));
    if !ok || name.contains("..") || name.starts_with('/') {
        return Err(invalid(
            name,
            "MLflow keys take letters, digits, `_`, `-`, `.`, ` ` and `/` (no `..`, no leading `/`)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_unique() {
        let mut space = SearchSpace::default();
        space
            .add("lr", FloatParam::new(1e-4, 0.1).log_scale().into())
            .unwrap();
        assert!(matches!(
            space.add("lr", IntParam::new(1, 2).into()),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            space.add("", IntParam::new(1, 2).into()),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            space.add("a\"b", IntParam::new(1, 2).into()),
            Err(Error::InvalidParam { .. })
        ));
        assert!(matches!(
            space.add("act", SearchParam::categorical(Vec::<String>::new())),
            Err(Error::InvalidParam { .. })
        ));
        let err = space.get("batch").unwrap_err();
        assert!(err.to_string().contains("registered: lr"), "{err}");
    }

    #[test]
    fn values_round_trip_through_their_internal_form() {
        let mut space = SearchSpace::default();
        space.add("bs", IntParam::new(16, 256).into()).unwrap();
        space
            .add("act", SearchParam::categorical(["relu", "tanh"]))
            .unwrap();
        let bs = space.get("bs").unwrap();
        assert_eq!(Registered::internal_json(&ParamValue::Int(32)), "32.0");
        assert_eq!(bs.external(&ParamValue::Int(32)), "32");
        assert_eq!(
            bs.read_internal(Some("IntDistribution"), 32.0),
            Some(ParamValue::Int(32))
        );
        assert_eq!(bs.read_internal(Some("FloatDistribution"), 32.0), None);
        let act = space.get("act").unwrap();
        assert_eq!(act.external(&ParamValue::Categorical(1)), "tanh");
        assert_eq!(act.read_internal(None, 2.0), None);
    }
}
