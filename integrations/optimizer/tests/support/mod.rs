//! What the study tests share: an objective whose every outcome is known in advance, what
//! it recorded, and Python Optuna's view of a study.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use mlflow::optimizer::optimizer::parameter::{FloatParam, IntParam};
use mlflow::optimizer::{Error, SearchParam, Study, StudyBuilder, Trial, TrialPruned};
use mlflow_test_support::run_python;
use serde_json::Value;

/// The search space every test registers (and Python's trials use).
pub fn space(builder: StudyBuilder) -> StudyBuilder {
    builder
        .param("x", FloatParam::new(-10.0, 10.0))
        .param("n", IntParam::new(1, 5))
        .param("act", SearchParam::categorical(["relu", "tanh"]))
}

/// What the objective did in one trial, as Optuna should see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub state: &'static str,
    pub value: Option<f64>,
    pub params: BTreeMap<String, String>,
    pub intermediate: Vec<(u64, f64)>,
}

/// Trials numbered 3, 8, 13, ... fail; 1, 5, 9, ... are pruned after two reports; the
/// others complete after three reports and log a metric of their own.
pub fn objective(
    records: &Mutex<BTreeMap<u64, Recorded>>,
) -> impl Fn(&mut Trial<'_>) -> Result<f64, Error> + Sync + '_ {
    move |trial| {
        let x = trial.suggest_float("x")?;
        let n = trial.suggest_int("n")?;
        let act = trial.suggest_categorical("act")?;
        trial.set_user_attr("label", format!("t{}", trial.number()))?;
        let value = (x - 2.0).powi(2) + n as f64 + if act == "tanh" { 0.5 } else { 0.0 };
        let params = BTreeMap::from([
            ("x".to_owned(), mlflow_python_float(x)),
            ("n".to_owned(), n.to_string()),
            ("act".to_owned(), act.clone()),
        ]);
        let number = trial.number();
        let mut intermediate = Vec::new();
        let steps = if number % 4 == 1 { 2 } else { 3 };
        for step in 1..=steps {
            let v = value * (4 - step) as f64;
            trial.report(step, v)?;
            intermediate.push((step, v));
            mlflow::log_metric_with_step("own_metric", v, step as i64)?;
        }
        let (state, result) = if number % 5 == 3 {
            ("FAIL", Err(Error::InvalidStudyName("boom".into())))
        } else if number % 4 == 1 {
            ("PRUNED", Err(TrialPruned.into()))
        } else {
            ("COMPLETE", Ok(value))
        };
        let value = match state {
            "COMPLETE" => Some(value),
            "PRUNED" => intermediate.last().map(|(_, v)| *v),
            _ => None,
        };
        records.lock().unwrap().insert(
            number,
            Recorded {
                state,
                value,
                params,
                intermediate,
            },
        );
        result
    }
}

/// A float as Python's `str` writes it.
pub fn mlflow_python_float(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains('e') || s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Python's `optuna.load_study(study_name, storage=MlflowStorage(experiment_id))`: every
/// trial and the best one.
pub fn optuna_view(tracking_uri: &str, study: &Study) -> Value {
    run_python(
        r#"
import json, os, optuna
from mlflow.optuna.storage import MlflowStorage
optuna.logging.set_verbosity(optuna.logging.WARNING)
s = optuna.load_study(study_name=os.environ["STUDY"], storage=MlflowStorage(experiment_id=os.environ["EXP"]))
trials = sorted(s.get_trials(deepcopy=False), key=lambda t: t.number)
out = {"direction": s.direction.name, "trials": [
    {"number": t.number, "state": t.state.name, "value": t.value,
     "params": {k: str(v) for k, v in t.params.items()},
     "intermediate": [[k, v] for k, v in sorted(t.intermediate_values.items())],
     "user_attrs": t.user_attrs, "system_attrs": t.system_attrs} for t in trials]}
try:
    out["best"] = {"number": s.best_trial.number, "value": s.best_value, "params": {k: str(v) for k, v in s.best_params.items()}}
except ValueError:
    out["best"] = None
print(json.dumps(out))
"#,
        &[
            ("MLFLOW_TRACKING_URI", tracking_uri),
            ("STUDY", study.name()),
            ("EXP", study.experiment_id()),
        ],
    )
}

/// Python adds `n` trials to the study with the same space and objective shape (creating
/// the study first when `create`).
pub fn python_adds_trials(
    tracking_uri: &str,
    study: &str,
    experiment_id: &str,
    n: usize,
    create: bool,
) -> Value {
    run_python(
        r#"
import json, os, optuna
from mlflow.optuna.storage import MlflowStorage
optuna.logging.set_verbosity(optuna.logging.WARNING)
storage = MlflowStorage(experiment_id=os.environ["EXP"])
if os.environ["CREATE"] == "1":
    s = optuna.create_study(study_name=os.environ["STUDY"], storage=storage, direction="minimize")
else:
    s = optuna.load_study(study_name=os.environ["STUDY"], storage=storage)
def obj(t):
    x = t.suggest_float("x", -10.0, 10.0)
    n = t.suggest_int("n", 1, 5)
    act = t.suggest_categorical("act", ["relu", "tanh"])
    v = (x - 2.0) ** 2 + n + (0.5 if act == "tanh" else 0.0)
    t.report(v * 3, 1)
    return v
s.optimize(obj, n_trials=int(os.environ["N"]))
storage.flush_all_batches()
print(json.dumps({"numbers": sorted(t.number for t in s.get_trials(deepcopy=False))}))
"#,
        &[
            ("MLFLOW_TRACKING_URI", tracking_uri),
            ("STUDY", study),
            ("EXP", experiment_id),
            ("N", &n.to_string()),
            ("CREATE", if create { "1" } else { "0" }),
        ],
    )
}
