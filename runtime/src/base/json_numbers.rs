//! Numbers in MLflow's JSON: NaN and infinities as proto3 JSON spells them, numbers that may
//! come as strings. Shared by the REST API's shapes and the spill file's lines, so it
//! lives below both (and is there whichever stores a build includes).

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serializer};

/// Non-finite values as proto3 JSON spells them. `serde_json` would write `null` (which the
/// server rejects), and a bare `NaN` literal is stored as a garbage 0.0 point.
pub(crate) fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if *v == f64::INFINITY {
        s.serialize_str("Infinity")
    } else if *v == f64::NEG_INFINITY {
        s.serialize_str("-Infinity")
    } else {
        s.serialize_f64(*v)
    }
}

/// Integers first: an int64 (step, timestamp) read as f64 would lose its low digits.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum NumOrString {
    Int(i64),
    Float(f64),
    Text(String),
}

/// Reads what [`ser_f64`] writes, and plain numbers.
pub(crate) fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match NumOrString::deserialize(d)? {
        NumOrString::Float(f) => Ok(f),
        NumOrString::Int(i) => Ok(i as f64),
        NumOrString::Text(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => other.parse().map_err(de::Error::custom),
        },
    }
}
