//! Optuna's layout in MLflow, as the pinned client's `mlflow/optuna/storage.py` writes it:
//! the names of the tags, params and metrics, and the JSON of distributions and values
//! (written as Python's `json.dumps` writes them, so a study looks the same whichever side
//! wrote it).

use mlflow_tracking_runtime::base::python_str;
use optimizer::Direction;

/// Tag of the study run: the directions, comma-separated (`MINIMIZE`).
pub(crate) const STUDY_DIRECTION_TAG: &str = "optuna.study_direction";
/// Tag of a trial run: `{name: distribution JSON}` of the parameters suggested so far.
pub(crate) const PARAM_DIRECTIONS_TAG: &str = "param_directions";
/// Prefix of a trial run's tags holding each parameter's internal value (JSON).
pub(crate) const INTERNAL_VALUE_PREFIX: &str = "param_internal_val_";
/// Tag of a trial run: its number.
pub(crate) const NUMBER_TAG: &str = "numbers";
/// Metric of a trial run: its objective value (step 1).
pub(crate) const VALUE_METRIC: &str = "value";
/// Metric of a trial run: reported values, step = the reported step.
pub(crate) const INTERMEDIATE_METRIC: &str = "intermediate_value";
/// Metric of the study run: one point per trial, whose index in the history is the
/// trial's number for Python.
pub(crate) const TRIAL_ID_METRIC: &str = "trial_id";
/// Prefix of the study run's params that claim a number (`trial_run.<n>` = the id of the
/// process that claimed it). Optuna reads only the study run's tags, so it never sees them.
pub(crate) const CLAIM_PARAM_PREFIX: &str = "trial_run.";
/// Prefix of the study run's tags that show the best trial: `best_trial.number`,
/// `best_trial.value`, `best_trial.params.<name>`. Optuna reads only the `user_` and `sys_`
/// tags of a study run, so it ignores them.
pub(crate) const BEST_PREFIX: &str = "best_trial.";
/// The `sys_` tag that holds why a trial failed (the error's text, or the panic's).
pub(crate) const FAIL_REASON_TAG: &str = "sys_fail_reason";
/// Prefix of user attributes' tags.
pub(crate) const USER_ATTR_PREFIX: &str = "user_";

/// The direction as Optuna's `StudyDirection` names it.
pub(crate) fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::Minimize => "MINIMIZE",
        Direction::Maximize => "MAXIMIZE",
    }
}

/// A float as `json.dumps` writes it: `repr`, with `NaN` and `Infinity` for the values JSON
/// has no numbers for.
pub(crate) fn json_float(x: f64) -> String {
    if x.is_nan() {
        "NaN".to_owned()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else {
        python_str::float(x)
    }
}

/// A string as `json.dumps` writes it (`ensure_ascii`: non-ASCII as `\uXXXX`).
pub(crate) fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Optuna distribution of a parameter, as `distribution_to_json` writes it (the
/// attributes in the order Optuna's `_asdict` gives them).
pub(crate) fn distribution_json(kind: &crate::params::Kind) -> String {
    use crate::params::Kind;
    match kind {
        Kind::Float(d) => format!(
            "{{\"name\": \"FloatDistribution\", \"attributes\": {{\"step\": {}, \"low\": {}, \"high\": {}, \"log\": {}}}}}",
            d.step.map_or_else(|| "null".to_owned(), json_float),
            json_float(d.low),
            json_float(d.high),
            d.log_scale
        ),
        Kind::Int(d) => format!(
            "{{\"name\": \"IntDistribution\", \"attributes\": {{\"log\": {}, \"step\": {}, \"low\": {}, \"high\": {}}}}}",
            d.log_scale,
            d.step.unwrap_or(1),
            d.low,
            d.high
        ),
        Kind::Categorical(choices) => {
            let items: Vec<String> = choices.iter().map(|c| json_string(c)).collect();
            format!(
                "{{\"name\": \"CategoricalDistribution\", \"attributes\": {{\"choices\": [{}]}}}}",
                items.join(", ")
            )
        }
    }
}

/// `json.dumps({name: distribution JSON, ...})`: the `param_directions` tag.
pub(crate) fn param_directions_json<'a>(
    entries: impl IntoIterator<Item = (&'a str, String)>,
) -> String {
    let items: Vec<String> = entries
        .into_iter()
        .map(|(name, dist)| format!("{}: {}", json_string(name), json_string(&dist)))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// The class name a stored distribution JSON names (`FloatDistribution`, ...).
pub(crate) fn distribution_class(json: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get("name")?.as_str().map(str::to_owned)
}

/// The study run's `trial_id` point for a trial: Python logs `float(hash(run_id))`; any
/// number that differs between runs will do, kept within f64's exact integers.
pub(crate) fn trial_id_value(run_id: &str) -> f64 {
    // FNV-1a: stable across processes and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in run_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // 2^53 keeps the value an exact integer in f64.
    #[allow(clippy::cast_precision_loss)]
    let value = (h >> 11) as f64;
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Kind;
    use optimizer::distribution::{FloatDistribution, IntDistribution};

    #[test]
    fn distributions_are_written_as_optuna_writes_them() {
        let lr = Kind::Float(FloatDistribution {
            low: 1e-4,
            high: 0.1,
            log_scale: true,
            step: None,
        });
        assert_eq!(
            distribution_json(&lr),
            r#"{"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0001, "high": 0.1, "log": true}}"#
        );
        let bs = Kind::Int(IntDistribution {
            low: 16,
            high: 256,
            log_scale: false,
            step: None,
        });
        assert_eq!(
            distribution_json(&bs),
            r#"{"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 16, "high": 256}}"#
        );
        let act = Kind::Categorical(vec!["relu".into(), "tänh".into()]);
        assert_eq!(
            distribution_json(&act),
            r#"{"name": "CategoricalDistribution", "attributes": {"choices": ["relu", "t\u00e4nh"]}}"#
        );
        assert_eq!(
            param_directions_json([("lr", distribution_json(&lr))]),
            r#"{"lr": "{\"name\": \"FloatDistribution\", \"attributes\": {\"step\": null, \"low\": 0.0001, \"high\": 0.1, \"log\": true}}"}"#
        );
        assert_eq!(
            distribution_class(&distribution_json(&bs)).as_deref(),
            Some("IntDistribution")
        );
    }

    #[test]
    fn floats_are_json_as_python_writes_them() {
        assert_eq!(json_float(1e-5), "1e-05");
        assert_eq!(json_float(3.0), "3.0");
        assert_eq!(json_float(f64::NAN), "NaN");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn trial_id_values_differ_and_are_exact() {
        let a = trial_id_value("0123456789abcdef0123456789abcdef");
        let b = trial_id_value("0123456789abcdef0123456789abcdee");
        assert_ne!(a, b);
        assert!(a < 9_007_199_254_740_992.0 && a.fract() == 0.0);
    }
}
