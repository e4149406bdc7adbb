//! Tables as `log_table` stores them and `load_table` reads them: the [`Table`] type, its
//! file (pandas' `to_json(orient="split", index=False)`: `{"columns":[..],"data":[[..]]}`),
//! appending as `pandas.concat` does, the artifact file rules and the
//! `mlflow.loggedArtifacts` tag, as the Python client has them.

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::py_json::{self, Style};

/// The tag listing a run's tables: `[{"path": "eval.json", "type": "table"}]`, the JSON
/// that Python's `json.dumps` writes.
pub const LOGGED_ARTIFACTS_TAG: &str = "mlflow.loggedArtifacts";

/// A table of JSON values: named columns and rows. What [`log_table`](crate::log_table)
/// stores (appending to a table the run already has) and
/// [`load_table`](crate::load_table) returns; Python's pandas `DataFrame` of the same calls.
///
/// ```
/// # use mlflow_tracking_runtime as mlflow;
/// use serde_json::json;
///
/// // Column by column, as Python's dict of lists:
/// let t = mlflow::Table::from_columns([
///     ("inputs", vec![json!("What is MLflow?"), json!("What is Rust?")]),
///     ("toxicity", vec![json!(0.0), json!(0.01)]),
/// ])?;
/// assert_eq!(t.columns(), ["inputs", "toxicity"]);
///
/// // Row by row, from anything that serializes as a map (columns in order of appearance):
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Eval { inputs: String, toxicity: f64 }
/// let u = mlflow::Table::from_records([Eval { inputs: "Hi".into(), toxicity: 0.5 }])?;
/// let back: Vec<Eval> = u.records()?;
/// assert_eq!(back[0].toxicity, 0.5);
/// # Ok::<(), mlflow::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Table {
    /// An empty table with these columns; add rows with [`Table::push_row`].
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Table {
        Table {
            columns: columns.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row: one value per column, in the order of [`Table::columns`].
    pub fn push_row<V: Into<Value>>(&mut self, row: impl IntoIterator<Item = V>) -> Result<()> {
        let row: Vec<Value> = row.into_iter().map(Into::into).collect();
        if row.len() != self.columns.len() {
            return Err(Error::InvalidArgument(format!(
                "a row of {} values for a table of {} columns",
                row.len(),
                self.columns.len()
            )));
        }
        self.rows.push(row);
        Ok(())
    }

    /// A table from its columns, each a name and its values (Python's dict of lists); every
    /// column must have as many values as the first, as pandas requires.
    pub fn from_columns<K, C, V>(columns: impl IntoIterator<Item = (K, C)>) -> Result<Table>
    where
        K: Into<String>,
        C: IntoIterator<Item = V>,
        V: Into<Value>,
    {
        let mut names = Vec::new();
        let mut values: Vec<Vec<Value>> = Vec::new();
        for (name, column) in columns {
            names.push(name.into());
            values.push(column.into_iter().map(Into::into).collect());
        }
        let len = values.first().map_or(0, Vec::len);
        if values.iter().any(|c| c.len() != len) {
            return Err(Error::InvalidArgument(
                "All arrays must be of the same length".into(),
            ));
        }
        let mut columns: Vec<std::vec::IntoIter<Value>> =
            values.into_iter().map(Vec::into_iter).collect();
        let rows = (0..len)
            .map(|_| columns.iter_mut().filter_map(Iterator::next).collect())
            .collect();
        Ok(Table {
            columns: names,
            rows,
        })
    }

    /// A table with one row per record: anything that serializes as a map or a struct, such
    /// as a `#[derive(Serialize)]` struct or a `serde_json::json!({..})` object. Columns
    /// come in order of first appearance, and a record without a column has `null` there
    /// (as pandas builds a `DataFrame` from a list of dicts).
    pub fn from_records<T: Serialize>(records: impl IntoIterator<Item = T>) -> Result<Table> {
        let mut table = Table::default();
        for record in records {
            let text = serde_json::to_string(&record).map_err(not_a_record)?;
            let Ordered(entries) = serde_json::from_str(&text).map_err(not_a_record)?;
            let mut row = vec![Value::Null; table.columns.len()];
            for (key, value) in entries {
                match table.columns.iter().position(|c| *c == key) {
                    Some(i) => row[i] = value,
                    None => {
                        table.columns.push(key);
                        for r in &mut table.rows {
                            r.push(Value::Null);
                        }
                        row.push(value);
                    }
                }
            }
            table.rows.push(row);
        }
        Ok(table)
    }

    /// The column names, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows, each with one value per column.
    pub fn rows(&self) -> &[Vec<Value>] {
        &self.rows
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The values of column `name`, one per row.
    pub fn column(&self, name: &str) -> Option<Vec<&Value>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| &r[i]).collect())
    }

    /// The rows as records: each row a map from column name to value, deserialized into `T`
    /// (a struct with the columns' names, or `serde_json::Map<String, Value>`).
    pub fn records<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        self.rows
            .iter()
            .map(|row| {
                let map: Map<String, Value> = self
                    .columns
                    .iter()
                    .cloned()
                    .zip(row.iter().cloned())
                    .collect();
                serde_json::from_value(Value::Object(map)).map_err(|e| {
                    Error::InvalidArgument(format!("a row does not fit the record type: {e}"))
                })
            })
            .collect()
    }

    /// Adds `other`'s rows below this table's, as `pandas.concat([self, other],
    /// ignore_index=True)`: columns of `other` that this table lacks are added at the end,
    /// and every row gets `null` in the columns it lacks.
    pub fn append(&mut self, other: Table) {
        let mut place = Vec::with_capacity(other.columns.len());
        for name in other.columns {
            match self.columns.iter().position(|c| *c == name) {
                Some(i) => place.push(i),
                None => {
                    place.push(self.columns.len());
                    self.columns.push(name);
                }
            }
        }
        for row in &mut self.rows {
            row.resize(self.columns.len(), Value::Null);
        }
        for row in other.rows {
            let mut out = vec![Value::Null; self.columns.len()];
            for (value, &i) in row.into_iter().zip(&place) {
                out[i] = value;
            }
            self.rows.push(out);
        }
    }

    /// Adds the column `name` with `value` in every row; a name the table has already gets
    /// an underscore (`run_id_`), as Python's `load_table` does for its extra columns.
    pub(crate) fn add_constant_column(&mut self, name: &str, value: Value) {
        let name = if self.columns.iter().any(|c| c == name) {
            format!("{name}_")
        } else {
            name.to_owned()
        };
        self.columns.push(name);
        for row in &mut self.rows {
            row.push(value.clone());
        }
    }

    /// The file: pandas' `to_json(orient="split", index=False)`.
    pub(crate) fn to_file(&self) -> Result<String> {
        let split = Split {
            columns: self
                .columns
                .iter()
                .map(|c| Value::String(c.clone()))
                .collect(),
            data: self.rows.clone(),
        };
        py_json::to_string(&split, Style::Pandas)
            .map_err(|e| Error::InvalidArgument(format!("table cannot be written as JSON: {e}")))
    }

    /// A table file of MLflow's layout (`index`, when there, is ignored, as pandas'
    /// `read_json(orient="split")` of a table without an index column does).
    pub(crate) fn from_file(bytes: &[u8], artifact_file: &str) -> Result<Table> {
        let split: Split = serde_json::from_slice(bytes).map_err(|e| {
            Error::InvalidArgument(format!(
                "{artifact_file} is not a table in MLflow's layout ({{\"columns\": [..], \"data\": [[..]]}}): {e}"
            ))
        })?;
        let columns: Vec<String> = split
            .columns
            .into_iter()
            .map(|c| match c {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect();
        if split.data.iter().any(|r| r.len() != columns.len()) {
            return Err(Error::InvalidArgument(format!(
                "{artifact_file}: a row's length differs from the number of columns"
            )));
        }
        Ok(Table {
            columns,
            rows: split.data,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Split {
    columns: Vec<Value>,
    data: Vec<Vec<Value>>,
}

fn not_a_record(e: serde_json::Error) -> Error {
    Error::InvalidArgument(format!(
        "a record must serialize as a map or a struct of columns: {e}"
    ))
}

/// A JSON object's entries in the order written (a `serde_json::Map` sorts them).
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Ordered, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map or a struct")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    out.push(entry);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(Entries)
    }
}

/// Python's `_check_artifact_file_string`: characters a table's file name may not have
/// (they would break the tag's JSON or the search that finds the tables).
pub(crate) fn check_file_chars(artifact_file: &str) -> Result<()> {
    match artifact_file
        .chars()
        .find(|c| matches!(c, '"' | '\'' | ',' | ':' | '[' | ']' | '{' | '}'))
    {
        Some(c) => Err(Error::InvalidArgument(format!(
            "The artifact_file contains forbidden character: {c}"
        ))),
        None => Ok(()),
    }
}

/// A table's file name: the characters above and a `.json` extension (Python also writes
/// `.parquet`, which this crate does not).
pub(crate) fn check_file(artifact_file: &str) -> Result<()> {
    check_file_chars(artifact_file)?;
    if artifact_file.ends_with(".json") {
        return Ok(());
    }
    let parquet = if artifact_file.ends_with(".parquet") {
        " (this crate writes .json tables only; the Python client also writes .parquet)"
    } else {
        ""
    };
    Err(Error::InvalidArgument(format!(
        "Invalid artifact file path '{artifact_file}'. Please ensure the file you are trying to \
         log as a table has a file name with either '.json' or '.parquet' extension.{parquet}"
    )))
}

/// The entry of the table `artifact_file` in [`LOGGED_ARTIFACTS_TAG`].
fn entry(artifact_file: &str) -> Value {
    serde_json::json!({"path": artifact_file, "type": "table"})
}

/// The tag's new value once the table `artifact_file` is logged, given its current value;
/// `None` when it lists the table already (nothing to set).
pub(crate) fn logged_artifacts_with(
    current: Option<&str>,
    artifact_file: &str,
) -> Result<Option<String>> {
    let mut list: Vec<Value> =
        serde_json::from_str(current.unwrap_or("[]")).map_err(|e| Error::InvalidValue {
            kind: "tag",
            key: LOGGED_ARTIFACTS_TAG.into(),
            reason: format!("the run's tag is not a JSON list: {e}"),
        })?;
    let entry = entry(artifact_file);
    if list.contains(&entry) {
        return Ok(None);
    }
    list.push(entry);
    py_json::to_string(&list, Style::Dumps)
        .map(Some)
        .map_err(|e| Error::Internal(format!("tag value: {e}")))
}

/// True when the tag's value lists the table `artifact_file`.
pub(crate) fn lists_table(tag: Option<&str>, artifact_file: &str) -> bool {
    tag.and_then(|t| serde_json::from_str::<Vec<Value>>(t).ok())
        .is_some_and(|list| list.contains(&entry(artifact_file)))
}

/// The search filter Python's `load_table` finds tables by (a `LIKE` on the tag).
pub(crate) fn search_filter(artifact_file: &str) -> String {
    format!(
        "tags.`{LOGGED_ARTIFACTS_TAG}` LIKE '%\"path\"%:%\"{artifact_file}\",%\"type\"%:%\"table\"%'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_records_and_the_file() {
        let t = Table::from_columns([
            ("inputs", vec![json!("a/b é"), json!("x")]),
            ("n", vec![json!(1), json!(2.5)]),
        ])
        .unwrap();
        assert_eq!(
            t.to_file().unwrap(),
            r#"{"columns":["inputs","n"],"data":[["a\/b \u00e9",1],["x",2.5]]}"#
        );
        assert_eq!(
            Table::from_file(t.to_file().unwrap().as_bytes(), "t.json").unwrap(),
            t
        );
        assert!(Table::from_columns([("a", vec![1]), ("b", vec![1, 2])]).is_err());

        #[derive(Serialize)]
        struct R {
            zeta: u8,
            alpha: Option<&'static str>,
        }
        let r = Table::from_records([
            json!({"q": 1}),
            serde_json::to_value(R {
                zeta: 2,
                alpha: None,
            })
            .unwrap(),
        ])
        .unwrap();
        assert_eq!(r.columns(), ["q", "alpha", "zeta"]);
        let s = Table::from_records([R {
            zeta: 2,
            alpha: Some("x"),
        }])
        .unwrap();
        assert_eq!(s.columns(), ["zeta", "alpha"], "a struct's field order");
        assert!(Table::from_records([1, 2]).is_err());
    }

    #[test]
    fn appending_as_pandas_concat() {
        let mut t = Table::from_columns([("a", vec![1]), ("b", vec![2])]).unwrap();
        t.append(Table::from_columns([("c", vec![3]), ("a", vec![4])]).unwrap());
        assert_eq!(t.columns(), ["a", "b", "c"]);
        assert_eq!(
            t.rows(),
            [
                vec![json!(1), json!(2), Value::Null],
                vec![json!(4), Value::Null, json!(3)]
            ]
        );
        t.add_constant_column("a", json!("r"));
        assert_eq!(t.columns(), ["a", "b", "c", "a_"]);
    }

    #[test]
    fn the_tag_as_python_writes_it() {
        let one = logged_artifacts_with(None, "t.json").unwrap().unwrap();
        assert_eq!(one, r#"[{"path": "t.json", "type": "table"}]"#);
        assert_eq!(logged_artifacts_with(Some(&one), "t.json").unwrap(), None);
        let two = logged_artifacts_with(Some(&one), "d/u.json")
            .unwrap()
            .unwrap();
        assert_eq!(
            two,
            r#"[{"path": "t.json", "type": "table"}, {"path": "d/u.json", "type": "table"}]"#
        );
        assert!(lists_table(Some(&two), "d/u.json"));
        assert!(!lists_table(Some(&two), "d/u"));
        assert!(check_file("a:b.json").is_err());
        assert!(check_file("t.parquet").is_err());
        assert!(check_file("dir/t.json").is_ok());
    }
}
