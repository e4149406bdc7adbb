//! A burn `Config` (or anything `serde::Serialize`) as flat MLflow params.
//!
//! A serializer rather than a trip through `serde_json::Value`: a `Value` cannot tell an
//! enum variant `{"Adam": {..}}` from a struct with one field named `Adam`, and enums are
//! logged by variant name.

use mlflow_tracking_runtime::base::python_str::python_str;
use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::error::{Error, Result};

/// The params `value` flattens to, in field order: nested fields as dotted keys
/// (`optimizer.beta_1`), numbers, strings and bools as `log_param` writes them (floats and
/// bools as Python writes them: `1e-05`, `1.0`, `True`), sequences, tuples and maps with
/// non-string keys as JSON text, `None` and `()` left out, an enum as its variant name (its
/// contents, if any, under `key.<Variant>`).
pub fn flatten_params<T: Serialize + ?Sized>(value: &T) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    value.serialize(Flatten {
        key: String::new(),
        out: &mut out,
    })?;
    Ok(out)
}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error::Params(msg.to_string())
    }
}

/// Serializes one value found at `key` ("" for the top level) into `out`.
struct Flatten<'a> {
    key: String,
    out: &'a mut Vec<(String, String)>,
}

impl<'a> Flatten<'a> {
    fn child(&mut self, name: &str) -> Flatten<'_> {
        Flatten {
            key: if self.key.is_empty() {
                name.to_owned()
            } else {
                format!("{}.{name}", self.key)
            },
            out: self.out,
        }
    }

    fn leaf(self, value: impl ToString) -> Result<()> {
        if self.key.is_empty() {
            return Err(Error::Params(
                "a config logged as params must be a struct or a map, not a single value"
                    .to_owned(),
            ));
        }
        self.out.push((self.key, value.to_string()));
        Ok(())
    }

    fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        let text = serde_json::to_string(value).map_err(|e| Error::Params(e.to_string()))?;
        self.leaf(text)
    }
}

// Leaves are written as the crate writes any param: floats and bools as Python writes them
// (`1e-05`, `1.0`, `True`).
macro_rules! leaves {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<()> { self.leaf(python_str(&v)) })*
    };
}

impl<'a> ser::Serializer for Flatten<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = JsonSeq<'a>;
    type SerializeTuple = JsonSeq<'a>;
    type SerializeTupleStruct = JsonSeq<'a>;
    type SerializeTupleVariant = JsonSeq<'a>;
    type SerializeMap = Fields<'a>;
    type SerializeStruct = Fields<'a>;
    type SerializeStructVariant = Fields<'a>;

    leaves!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str,
    );

    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        self.json(v)
    }

    fn serialize_none(self) -> Result<()> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<()> {
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        Ok(())
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.leaf(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self.child(variant))?;
        self.leaf(variant)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<JsonSeq<'a>> {
        Ok(JsonSeq::new(self, None, len))
    }

    fn serialize_tuple(self, len: usize) -> Result<JsonSeq<'a>> {
        Ok(JsonSeq::new(self, None, Some(len)))
    }

    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<JsonSeq<'a>> {
        Ok(JsonSeq::new(self, None, Some(len)))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<JsonSeq<'a>> {
        Ok(JsonSeq::new(self, Some(variant), Some(len)))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Fields<'a>> {
        Ok(Fields::new(self, None))
    }

    fn serialize_struct(self, _: &'static str, _len: usize) -> Result<Fields<'a>> {
        Ok(Fields::new(self, None))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Fields<'a>> {
        Ok(Fields::new(self, Some(variant)))
    }
}

/// A list: collected, then logged as one JSON param.
struct JsonSeq<'a> {
    at: Flatten<'a>,
    variant: Option<&'static str>,
    items: Vec<serde_json::Value>,
}

impl<'a> JsonSeq<'a> {
    fn new(at: Flatten<'a>, variant: Option<&'static str>, len: Option<usize>) -> Self {
        JsonSeq {
            at,
            variant,
            items: Vec::with_capacity(len.unwrap_or(0)),
        }
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let value = serde_json::to_value(value).map_err(|e| Error::Params(e.to_string()))?;
        self.items.push(value);
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        match self.variant {
            Some(variant) => {
                self.at.child(variant).json(&self.items)?;
                self.at.leaf(variant)
            }
            None => self.at.json(&self.items),
        }
    }
}

impl ser::SerializeSeq for JsonSeq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for JsonSeq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for JsonSeq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for JsonSeq<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.push(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A struct or map: each field flattened under `key.<field>`.
struct Fields<'a> {
    at: Flatten<'a>,
    /// For a struct variant: the key its name goes to, and the name.
    variant: Option<(String, &'static str)>,
    pending_key: Option<String>,
}

impl<'a> Fields<'a> {
    fn new(mut at: Flatten<'a>, variant: Option<&'static str>) -> Self {
        // A struct variant's fields go under `key.<Variant>`, the variant's name at `key`.
        let variant = variant.map(|name| {
            let key = at.key.clone();
            at.key = at.child(name).key;
            (key, name)
        });
        Fields {
            at,
            variant,
            pending_key: None,
        }
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<()> {
        value.serialize(self.at.child(name))
    }

    fn finish(self) -> Result<()> {
        match self.variant {
            Some((key, name)) => Flatten {
                key,
                out: self.at.out,
            }
            .leaf(name),
            None => Ok(()),
        }
    }
}

impl ser::SerializeStruct for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(name, value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(name, value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeMap for Fields<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        let key = key.serialize(MapKey)?;
        self.pending_key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| Error::Params("map value without a key".to_owned()))?;
        self.field(&key, value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A map key as text: strings, numbers, booleans, chars and unit variants.
struct MapKey;

macro_rules! key_leaves {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<String> { Ok(v.to_string()) })*
    };
}

impl ser::Serializer for MapKey {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    key_leaves!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_i128: i128, serialize_u8: u8, serialize_u16: u16,
        serialize_u32: u32, serialize_u64: u64, serialize_u128: u128, serialize_f32: f32,
        serialize_f64: f64, serialize_char: char, serialize_str: &str,
    );

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<String> {
        Err(unsupported_key())
    }
    fn serialize_none(self) -> Result<String> {
        Err(unsupported_key())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String> {
        Err(unsupported_key())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String> {
        Err(unsupported_key())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String> {
        Err(unsupported_key())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(unsupported_key())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(unsupported_key())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(unsupported_key())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(unsupported_key())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(unsupported_key())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(unsupported_key())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(unsupported_key())
    }
}

fn unsupported_key() -> Error {
    Error::Params(
        "a map in the config has keys that are not strings, numbers or unit enum variants"
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    enum Clip {
        Norm(f32),
        Off,
        Window { low: i32, high: i32 },
        Pair(u8, u8),
    }

    #[derive(Serialize)]
    struct Optim {
        beta_1: f32,
        weight_decay: Option<f64>,
        clip: Clip,
    }

    #[derive(Serialize)]
    struct Experiment {
        lr: f64,
        hidden: Vec<usize>,
        optimizer: Optim,
        name: String,
        seed: Option<u64>,
        off: Clip,
        window: Clip,
        pair: Clip,
        extra: BTreeMap<String, i32>,
        decay: f64,
        scale: f32,
        shuffle: bool,
    }

    #[test]
    fn flattens_nested_structs_lists_options_and_enums() {
        let exp = Experiment {
            lr: 0.001,
            hidden: vec![64, 32],
            optimizer: Optim {
                beta_1: 0.9,
                weight_decay: None,
                clip: Clip::Norm(1.5),
            },
            name: "mlp".into(),
            seed: Some(42),
            off: Clip::Off,
            window: Clip::Window { low: -1, high: 1 },
            pair: Clip::Pair(1, 2),
            extra: BTreeMap::from([("k".to_owned(), 7)]),
            decay: 1e-5,
            scale: 1.0,
            shuffle: true,
        };
        let params = flatten_params(&exp).unwrap();
        let expected: Vec<(String, String)> = [
            ("lr", "0.001"),
            ("hidden", "[64,32]"),
            ("optimizer.beta_1", "0.9"),
            ("optimizer.clip.Norm", "1.5"),
            ("optimizer.clip", "Norm"),
            ("name", "mlp"),
            ("seed", "42"),
            ("off", "Off"),
            ("window.Window.low", "-1"),
            ("window.Window.high", "1"),
            ("window", "Window"),
            ("pair.Pair", "[1,2]"),
            ("pair", "Pair"),
            ("extra.k", "7"),
            ("decay", "1e-05"),
            ("scale", "1.0"),
            ("shuffle", "True"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(params, expected);
    }

    #[test]
    fn a_bare_value_is_an_error() {
        let err = flatten_params(&3).unwrap_err();
        assert!(err.to_string().contains("struct or a map"), "{err}");
    }

    #[test]
    fn a_map_with_list_keys_is_an_error() {
        let map = BTreeMap::from([(vec![1], 2)]);
        let err = flatten_params(&map).unwrap_err();
        assert!(err.to_string().contains("keys"), "{err}");
    }
}
