//! JSON shapes of the MLflow REST API (`/api/2.0/mlflow/...`), as the server reads and writes
//! them.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::base::datasets::{Dataset, DatasetInput, InputTag, RunInputs};
use crate::base::json_numbers::{NumOrString, de_f64, ser_f64};
use crate::base::logged_models::{LoggedModelOutput, RunOutputs};
use crate::base::model::{Experiment, Metric, Param, Run, RunInfo, RunStatus, RunTag};

#[derive(Serialize, Deserialize, Default)]
pub(crate) struct KeyValue {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: String,
}

impl KeyValue {
    /// `(key, value)` pairs as the wire's `[{key, value}]` lists.
    pub(crate) fn pairs(items: &[(String, String)]) -> Vec<KeyValue> {
        items
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect()
    }
}

impl From<&RunTag> for KeyValue {
    fn from(t: &RunTag) -> KeyValue {
        KeyValue {
            key: t.key.clone(),
            value: t.value.clone(),
        }
    }
}

impl From<&Param> for KeyValue {
    fn from(p: &Param) -> KeyValue {
        KeyValue {
            key: p.key.clone(),
            value: p.value.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct MetricJson {
    pub(crate) key: String,
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub(crate) value: f64,
    #[serde(deserialize_with = "de_i64", default)]
    pub(crate) timestamp: i64,
    #[serde(deserialize_with = "de_i64", default)]
    pub(crate) step: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dataset_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dataset_digest: Option<String>,
}

/// int64 fields come as numbers from MLflow, but proto3 JSON allows strings.
pub(crate) fn de_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match NumOrString::deserialize(d)? {
        NumOrString::Int(i) => Ok(i),
        NumOrString::Float(f) => Ok(f as i64),
        NumOrString::Text(s) => s.parse().map_err(de::Error::custom),
    }
}

fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<NumOrString>::deserialize(d)?
        .map(|v| match v {
            NumOrString::Int(i) => Ok(i),
            NumOrString::Float(f) => Ok(f as i64),
            NumOrString::Text(s) => s.parse().map_err(de::Error::custom),
        })
        .transpose()
}

impl From<&Metric> for MetricJson {
    fn from(m: &Metric) -> Self {
        MetricJson {
            key: m.key.clone(),
            value: m.value,
            timestamp: m.timestamp,
            step: m.step,
            model_id: m.model_id.clone(),
            dataset_name: m.dataset_name.clone(),
            dataset_digest: m.dataset_digest.clone(),
        }
    }
}

impl From<MetricJson> for Metric {
    fn from(m: MetricJson) -> Self {
        Metric {
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            step: m.step,
            model_id: m.model_id,
            dataset_name: m.dataset_name,
            dataset_digest: m.dataset_digest,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct CreateExperimentRequest<'a> {
    pub(crate) name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) artifact_location: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<KeyValue>,
}

/// `experiments/delete` and `experiments/restore`.
#[derive(Serialize)]
pub(crate) struct ExperimentIdRequest<'a> {
    pub(crate) experiment_id: &'a str,
}

/// `experiments/update`.
#[derive(Serialize)]
pub(crate) struct RenameExperimentRequest<'a> {
    pub(crate) experiment_id: &'a str,
    pub(crate) new_name: &'a str,
}

/// `experiments/set-experiment-tag` (with a value) and `experiments/delete-experiment-tag`.
#[derive(Serialize)]
pub(crate) struct ExperimentTagRequest<'a> {
    pub(crate) experiment_id: &'a str,
    pub(crate) key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) value: Option<&'a str>,
}

/// `runs/delete` and `runs/restore`.
#[derive(Serialize)]
pub(crate) struct RunIdRequest<'a> {
    pub(crate) run_id: &'a str,
}

/// `runs/delete-tag`.
#[derive(Serialize)]
pub(crate) struct DeleteTagRequest<'a> {
    pub(crate) run_id: &'a str,
    pub(crate) key: &'a str,
}

#[derive(Deserialize)]
pub(crate) struct CreateExperimentResponse {
    pub(crate) experiment_id: String,
}

#[derive(Deserialize)]
pub(crate) struct ExperimentJson {
    experiment_id: String,
    name: String,
    #[serde(default)]
    artifact_location: String,
    #[serde(default)]
    lifecycle_stage: String,
    #[serde(default)]
    tags: Vec<KeyValue>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    creation_time: Option<i64>,
    #[serde(default, deserialize_with = "de_opt_i64")]
    last_update_time: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct GetExperimentResponse {
    pub(crate) experiment: ExperimentJson,
}

impl From<ExperimentJson> for Experiment {
    fn from(e: ExperimentJson) -> Self {
        let mut experiment = Experiment::new(e.experiment_id, e.name);
        experiment.artifact_location = e.artifact_location;
        experiment.lifecycle_stage = e.lifecycle_stage;
        experiment.tags = e.tags.into_iter().map(|t| (t.key, t.value)).collect();
        experiment.creation_time = e.creation_time;
        experiment.last_update_time = e.last_update_time;
        experiment
    }
}

#[derive(Serialize)]
pub(crate) struct CreateRunRequest<'a> {
    pub(crate) experiment_id: &'a str,
    pub(crate) user_id: &'a str,
    pub(crate) run_name: &'a str,
    pub(crate) start_time: i64,
    pub(crate) tags: Vec<KeyValue>,
}

#[derive(Serialize)]
pub(crate) struct UpdateRunRequest<'a> {
    pub(crate) run_id: &'a str,
    pub(crate) run_uuid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) run_name: Option<&'a str>,
}

#[derive(Serialize)]
pub(crate) struct LogBatchRequest<'a> {
    pub(crate) run_id: &'a str,
    pub(crate) metrics: Vec<MetricJson>,
    pub(crate) params: Vec<KeyValue>,
    pub(crate) tags: Vec<KeyValue>,
}

#[derive(Deserialize)]
pub(crate) struct RunResponse {
    pub(crate) run: RunJson,
}

#[derive(Deserialize)]
pub(crate) struct RunJson {
    info: RunInfoJson,
    #[serde(default)]
    data: RunDataJson,
    #[serde(default)]
    inputs: RunInputsJson,
    #[serde(default)]
    outputs: RunOutputsJson,
}

#[derive(Deserialize, Default)]
struct RunOutputsJson {
    #[serde(default)]
    model_outputs: Vec<ModelOutputJson>,
}

/// A model a run made, as `runs/outputs` takes it and `runs/get` answers it.
#[derive(Serialize, Deserialize)]
pub(crate) struct ModelOutputJson {
    pub(crate) model_id: String,
    #[serde(default, deserialize_with = "de_i64")]
    pub(crate) step: i64,
}

/// `runs/log-inputs`.
#[derive(Serialize)]
pub(crate) struct LogInputsRequest<'a> {
    pub(crate) run_id: &'a str,
    pub(crate) datasets: Vec<DatasetInputJson>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DatasetInputJson {
    #[serde(default)]
    tags: Vec<KeyValue>,
    dataset: DatasetJson,
}

#[derive(Serialize, Deserialize)]
struct DatasetJson {
    name: String,
    digest: String,
    source_type: String,
    source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
}

#[derive(Deserialize, Default)]
struct RunInputsJson {
    #[serde(default)]
    dataset_inputs: Vec<DatasetInputJson>,
}

impl From<&DatasetInput> for DatasetInputJson {
    fn from(i: &DatasetInput) -> Self {
        let d = &i.dataset;
        DatasetInputJson {
            tags: i
                .tags
                .iter()
                .map(|t| KeyValue {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
            dataset: DatasetJson {
                name: d.name.clone(),
                digest: d.digest.clone(),
                source_type: d.source_type.clone(),
                source: d.source.clone(),
                schema: d.schema.clone(),
                profile: d.profile.clone(),
            },
        }
    }
}

impl From<DatasetInputJson> for DatasetInput {
    fn from(i: DatasetInputJson) -> Self {
        let d = i.dataset;
        let mut dataset = Dataset::new(d.name, d.digest, d.source_type, d.source);
        dataset.schema = d.schema;
        dataset.profile = d.profile;
        let mut input = DatasetInput::new(dataset, None);
        input.tags = i
            .tags
            .into_iter()
            .map(|t| InputTag::new(t.key, t.value))
            .collect();
        input
    }
}

#[derive(Deserialize)]
struct RunInfoJson {
    run_id: String,
    experiment_id: String,
    #[serde(default)]
    run_name: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    status: String,
    #[serde(default, deserialize_with = "de_i64")]
    start_time: i64,
    #[serde(default, deserialize_with = "de_opt_i64")]
    end_time: Option<i64>,
    #[serde(default)]
    artifact_uri: String,
    #[serde(default)]
    lifecycle_stage: String,
}

#[derive(Deserialize, Default)]
struct RunDataJson {
    #[serde(default)]
    metrics: Vec<MetricJson>,
    #[serde(default)]
    params: Vec<KeyValue>,
    #[serde(default)]
    tags: Vec<KeyValue>,
}

impl From<RunJson> for Run {
    fn from(r: RunJson) -> Self {
        let i = r.info;
        Run {
            info: RunInfo {
                run_id: i.run_id,
                experiment_id: i.experiment_id,
                run_name: i.run_name,
                user_id: i.user_id,
                status: RunStatus::parse(&i.status).unwrap_or(RunStatus::Running),
                start_time: i.start_time,
                end_time: i.end_time,
                artifact_uri: i.artifact_uri,
                lifecycle_stage: i.lifecycle_stage,
            },
            metrics: r.data.metrics.into_iter().map(Metric::from).collect(),
            params: r
                .data
                .params
                .into_iter()
                .map(|p| Param {
                    key: p.key,
                    value: p.value,
                })
                .collect(),
            tags: r
                .data
                .tags
                .into_iter()
                .map(|t| RunTag {
                    key: t.key,
                    value: t.value,
                })
                .collect(),
            inputs: RunInputs {
                dataset_inputs: r
                    .inputs
                    .dataset_inputs
                    .into_iter()
                    .map(DatasetInput::from)
                    .collect(),
            },
            outputs: RunOutputs {
                model_outputs: r
                    .outputs
                    .model_outputs
                    .into_iter()
                    .map(|o| LoggedModelOutput::new(o.model_id, o.step))
                    .collect(),
            },
        }
    }
}

/// The error body MLflow sends with 4xx/5xx answers.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) error_code: String,
    #[serde(default)]
    pub(crate) message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_are_strings_on_the_wire() {
        let body = serde_json::to_string(&[
            MetricJson {
                key: "a".into(),
                value: f64::NAN,
                timestamp: 1,
                step: 0,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            },
            MetricJson {
                key: "b".into(),
                value: f64::INFINITY,
                timestamp: 1,
                step: 0,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            },
            MetricJson {
                key: "c".into(),
                value: f64::NEG_INFINITY,
                timestamp: 1,
                step: 0,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            },
            MetricJson {
                key: "d".into(),
                value: 0.5,
                timestamp: 1,
                step: 2,
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            },
        ])
        .unwrap();
        assert!(body.contains(r#""value":"NaN""#), "{body}");
        assert!(body.contains(r#""value":"Infinity""#), "{body}");
        assert!(body.contains(r#""value":"-Infinity""#), "{body}");
        assert!(body.contains(r#""value":0.5"#), "{body}");
        assert!(!body.contains("null"), "{body}");
    }

    #[test]
    fn experiments_carry_tags_and_times() {
        let e: GetExperimentResponse = serde_json::from_str(
            r#"{"experiment":{"experiment_id":"3","name":"x","artifact_location":"a","lifecycle_stage":"active","last_update_time":"5","creation_time":4,"tags":[{"key":"team","value":"vision"}]}}"#,
        )
        .unwrap();
        let e = Experiment::from(e.experiment);
        assert_eq!(e.tag("team"), Some("vision"));
        assert_eq!((e.creation_time, e.last_update_time), (Some(4), Some(5)));
        let bare: GetExperimentResponse =
            serde_json::from_str(r#"{"experiment":{"experiment_id":"0","name":"Default"}}"#)
                .unwrap();
        let bare = Experiment::from(bare.experiment);
        assert!(bare.tags.is_empty());
        assert_eq!(bare.creation_time, None);
    }

    #[test]
    fn reads_numbers_and_strings() {
        let m: Vec<MetricJson> = serde_json::from_str(
            r#"[{"key":"a","value":"NaN","timestamp":"5","step":"2"},{"key":"b","value":1.7976931348623157e308,"timestamp":1},{"key":"c","value":3,"timestamp":1,"step":1}]"#,
        )
        .unwrap();
        assert!(m[0].value.is_nan());
        assert_eq!((m[0].timestamp, m[0].step), (5, 2));
        assert_eq!(m[1].value, f64::MAX);
        assert_eq!(m[2].value, 3.0);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn metric_values_survive_the_wire(
            value in prop_oneof![any::<f64>(), Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
            step in any::<i64>(),
        ) {
            let json = serde_json::to_string(&MetricJson { key: "k".into(), value, timestamp: 1, step, model_id: None, dataset_name: None, dataset_digest: None }).unwrap();
            prop_assert!(!json.contains("null"), "{json}");
            let back: MetricJson = serde_json::from_str(&json).unwrap();
            prop_assert!(back.value.to_bits() == value.to_bits() || (back.value.is_nan() && value.is_nan()));
            prop_assert_eq!(back.step, step);
        }
    }
}
