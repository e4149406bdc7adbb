//! How metric values are stored, and which point is a key's latest.

use std::collections::HashMap;

use crate::base::model::Metric;

/// MLflow stores ±infinity as ±`f64::MAX` (`1.7976931348623157e308`): SQL has no infinity.
pub(super) const INF_STAND_IN: f64 = f64::MAX;

/// A metric point as the `metrics` and `latest_metrics` tables hold it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Stored<'a> {
    pub(super) key: &'a str,
    /// Never NaN: NaN is stored as 0 with `is_nan` set.
    pub(super) value: f64,
    pub(super) timestamp: i64,
    pub(super) step: i64,
    pub(super) is_nan: bool,
}

impl<'a> Stored<'a> {
    /// Encodes a point the way MLflow's `sanitize_metric_value` does.
    pub(super) fn encode(metric: &'a Metric) -> Stored<'a> {
        let (value, is_nan) = encode_value(metric.value);
        Stored {
            key: &metric.key,
            value,
            timestamp: metric.timestamp,
            step: metric.step,
            is_nan,
        }
    }

    /// MLflow's "latest" order: greatest (step, timestamp, stored value). Comparing the
    /// stored value (NaN as 0) keeps the order total and equal to what MLflow computes.
    pub(super) fn is_newer_than(&self, other: &Stored<'_>) -> bool {
        (self.step, self.timestamp)
            .cmp(&(other.step, other.timestamp))
            .then_with(|| self.value.total_cmp(&other.value))
            .is_gt()
    }
}

/// `(value, is_nan)` for the database: NaN as 0 with the flag, ±inf as ±[`INF_STAND_IN`].
pub(super) fn encode_value(value: f64) -> (f64, bool) {
    if value.is_nan() {
        (0.0, true)
    } else if value.is_infinite() {
        (INF_STAND_IN.copysign(value), false)
    } else {
        (value, false)
    }
}

/// The value a reader sees. ±`f64::MAX` stays as stored, as MLflow's own API returns it.
pub(super) fn decode_value(value: f64, is_nan: bool) -> f64 {
    if is_nan { f64::NAN } else { value }
}

/// The newest point of each key in `points`, in one pass.
pub(super) fn latest_per_key<'a>(points: &[Stored<'a>]) -> HashMap<&'a str, Stored<'a>> {
    let mut latest: HashMap<&'a str, Stored<'a>> = HashMap::new();
    for point in points {
        latest
            .entry(point.key)
            .and_modify(|current| {
                if point.is_newer_than(current) {
                    *current = *point;
                }
            })
            .or_insert(*point);
    }
    latest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(value: f64, timestamp: i64, step: i64) -> Metric {
        Metric {
            key: "m".into(),
            value,
            timestamp,
            step,
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        }
    }

    #[test]
    fn encodes_non_finite_values_like_mlflow() {
        assert_eq!(encode_value(f64::NAN), (0.0, true));
        assert_eq!(
            encode_value(f64::INFINITY),
            (1.797_693_134_862_315_7e308, false)
        );
        assert_eq!(
            encode_value(f64::NEG_INFINITY),
            (-1.797_693_134_862_315_7e308, false)
        );
        assert_eq!(encode_value(-0.5), (-0.5, false));
        assert!(decode_value(0.0, true).is_nan());
        assert_eq!(decode_value(0.0, false), 0.0);
        assert_eq!(decode_value(f64::MAX, false), f64::MAX);
    }

    #[test]
    fn latest_is_greatest_step_then_timestamp_then_value() {
        let ms = [
            metric(5.0, 10, 1),
            metric(1.0, 20, 1),
            metric(9.0, 5, 0),
            metric(0.5, 20, 1),
            metric(f64::NAN, 20, 1),
        ];
        let points: Vec<_> = ms.iter().map(Stored::encode).collect();
        let latest = latest_per_key(&points)["m"];
        assert_eq!((latest.step, latest.timestamp, latest.value), (1, 20, 1.0));

        // NaN counts as its stored 0, so it beats a negative value at the same position.
        let ms = [metric(-1.0, 1, 1), metric(f64::NAN, 1, 1)];
        let points: Vec<_> = ms.iter().map(Stored::encode).collect();
        assert!(latest_per_key(&points)["m"].is_nan);
    }
}
