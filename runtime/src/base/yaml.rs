//! YAML as MLflow's Python side writes and reads it: `yaml.dump(value, indent=2,
//! default_flow_style=False)` (PyYAML; `sort_keys` is True by default), read back with
//! `yaml.safe_load`, a YAML 1.1 reader.
//!
//! The emitter is `serde-saphyr`'s: block style, two spaces of indent, sequences in a
//! mapping not indented (`key:\n- item`, as PyYAML writes them), `{}` and `[]` for empty
//! collections, and, by its default YAML 1.1 rules, quotes around every string a YAML 1.1
//! reader would take for something else (`"yes"`, `"on"`, `"1e3"`, `"2024-01-01"`), floats
//! with a dot and a signed exponent (`1.0e-7`). Mapping keys are sorted as PyYAML sorts
//! them. What differs from PyYAML's bytes, not its values: double quotes where PyYAML
//! writes single ones (`'yes'`; also `"y"` and `"n"`, which PyYAML leaves plain), the
//! exponent's digits (PyYAML: `1.0e-07`), non-ASCII text written as UTF-8 (PyYAML escapes it: `"h\xE9"`), a long string
//! kept on one line (PyYAML folds at 80 columns), a string with line breaks quoted with
//! `\n` escapes (PyYAML: a single-quoted scalar over several lines), and a non-finite float
//! written `null` (PyYAML: `.nan`, `.inf`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::ser::{SerializeMap, SerializeSeq};
use serde_json::Value;

/// `value` as PyYAML's `yaml.dump(value, indent=2, default_flow_style=False)` writes it.
pub(crate) fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    let tree = serde_json::to_value(value).map_err(|e| e.to_string())?;
    let mut options = serde_saphyr::SerializerOptions::default();
    options.indent_step = 2;
    options.compact_list_indent = true;
    options.prefer_block_scalars = false;
    options.yaml_12 = false;
    let mut text =
        serde_saphyr::to_string_with_options(&Sorted(&tree), options).map_err(|e| e.to_string())?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A YAML document read into `T`.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_saphyr::from_str(text).map_err(|e| e.to_string())
}

/// A JSON tree serialized with every mapping's keys in order.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    out.serialize_entry(k, &Sorted(v))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for v in items {
                    out.serialize_element(&Sorted(v))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn as_pyyaml_writes_it() {
        // yaml.dump(d, indent=2, default_flow_style=False) of the same dict, from PyYAML 6, but
        // for the exponent's digits (PyYAML: `1.0e-07`) and the quotes (PyYAML: `'yes'`, and
        // `n` as a plain key: PyYAML's booleans leave out YAML 1.1's `y` and `n`).
        let d = json!({
            "b": [1, {"z": 1, "a": "yes"}],
            "a": {"k": 1e-7, "s": "hello world", "e": [], "m": {}},
            "c": null, "t": true, "f": 0.1, "n": "123", "on": "on",
        });
        assert_eq!(
            to_string(&d).unwrap(),
            "a:\n  e: []\n  k: 1.0e-7\n  m: {}\n  s: hello world\nb:\n- 1\n- a: \"yes\"\n  z: 1\n\
             c: null\nf: 0.1\n\"n\": \"123\"\n\"on\": \"on\"\nt: true\n"
        );
    }

    #[test]
    fn reads_back() {
        let d = json!({"a": [1, 2.5, "x: y", "yes", null], "b": {"c": "multi\nline"}});
        let back: Value = from_str(&to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
    }
}
