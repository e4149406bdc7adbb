//! MLflow's run search grammar (`mlflow/utils/search_utils.py`), parsed the way the server
//! parses it, so that the embedded store accepts and refuses the same filters and names the
//! offending clause in the same kind of error.
//!
//! A filter is `<type>.<key> <op> <value>` clauses joined by `AND`. An `order_by` item is
//! `<type>.<key> [ASC|DESC]`.

mod tokens;

use crate::base::error::Error;
use tokens::{Tok, tokenize};

pub(crate) use tokens::invalid;

/// What a clause compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Metric,
    Param,
    Tag,
    Attribute,
    /// `datasets.name`, `.digest`, `.context`: the run's inputs.
    Dataset,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    ILike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

impl CompareOp {
    fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Like => "LIKE",
            CompareOp::ILike => "ILIKE",
            CompareOp::In => "IN",
            CompareOp::NotIn => "NOT IN",
            CompareOp::IsNull => "IS NULL",
            CompareOp::IsNotNull => "IS NOT NULL",
        }
    }

    /// The SQL operator for the plain comparisons.
    pub(crate) fn sql(self) -> &'static str {
        self.as_str()
    }
}

/// The right-hand side of a clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Number(f64),
    Int(i64),
    Text(String),
    List(Vec<String>),
    None,
}

/// One parsed clause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    pub(crate) key_type: KeyType,
    /// The key with aliases resolved (`created` → `start_time`, `run name` → `run_name`).
    pub(crate) key: String,
    pub(crate) op: CompareOp,
    pub(crate) value: Value,
}

/// One parsed `order_by` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderBy {
    pub(crate) key_type: KeyType,
    pub(crate) key: String,
    pub(crate) ascending: bool,
}

/// Which search a filter belongs to: runs and experiments know different attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    Runs,
    Experiments,
    /// `logged-models/search` (`SearchLoggedModelsUtils`).
    LoggedModels,
    /// `registered-models/search` (`SearchModelUtils`).
    RegisteredModels,
    /// `model-versions/search` (`SearchModelVersionUtils`).
    ModelVersions,
}

impl Grammar {
    fn attributes(self, for_order_by: bool) -> &'static [&'static str] {
        match (self, for_order_by) {
            (Grammar::Runs, _) => &SEARCH_ATTRIBUTES,
            (Grammar::Experiments, _) => {
                &["name", "creation_time", "last_update_time", "experiment_id"]
            }
            (Grammar::LoggedModels, _) => &MODEL_ATTRIBUTES,
            (Grammar::RegisteredModels, false) => &["name"],
            (Grammar::RegisteredModels, true) => &[
                "name",
                "creation_timestamp",
                "last_updated_timestamp",
                "timestamp",
            ],
            (Grammar::ModelVersions, false) => &["name", "version_number", "run_id", "source_path"],
            (Grammar::ModelVersions, true) => &[
                "name",
                "version_number",
                "creation_timestamp",
                "last_updated_timestamp",
            ],
        }
    }

    /// The attributes compared with a list (`IN`, `NOT IN`).
    fn list_keys(self) -> &'static [&'static str] {
        match self {
            Grammar::Runs => &["run_id"],
            Grammar::Experiments => &["experiment_id"],
            Grammar::LoggedModels => &["model_id"],
            Grammar::RegisteredModels => &["name"],
            Grammar::ModelVersions => &["name", "run_id"],
        }
    }

    fn is_numeric(self, key: &str) -> bool {
        match self {
            Grammar::Runs => NUMERIC_ATTRIBUTES.contains(&key),
            Grammar::Experiments => matches!(key, "creation_time" | "last_update_time"),
            Grammar::LoggedModels => MODEL_NUMERIC_ATTRIBUTES.contains(&key),
            Grammar::RegisteredModels => false,
            Grammar::ModelVersions => matches!(
                key,
                "version_number" | "creation_timestamp" | "last_updated_timestamp"
            ),
        }
    }
}

/// Attributes a filter may name.
const SEARCH_ATTRIBUTES: [&str; 7] = [
    "artifact_uri",
    "end_time",
    "run_id",
    "run_name",
    "start_time",
    "status",
    "user_id",
];

/// Attributes of a logged model a filter may name.
const MODEL_ATTRIBUTES: [&str; 9] = [
    "name",
    "model_id",
    "model_type",
    "status",
    "source_run_id",
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
    "last_updated_time",
];

/// Attributes of a logged model compared as numbers.
const MODEL_NUMERIC_ATTRIBUTES: [&str; 4] = [
    "creation_timestamp",
    "creation_time",
    "last_updated_timestamp",
    "last_updated_time",
];

/// What a `datasets.` clause may compare: the dataset's name and digest, the context of its
/// use.
const DATASET_ATTRIBUTES: [&str; 3] = ["name", "digest", "context"];

/// Attributes compared as numbers.
const NUMERIC_ATTRIBUTES: [&str; 2] = ["start_time", "end_time"];

/// Splits `type.key` into its type and key, as `SearchUtils._get_identifier` does.
fn identifier(raw: &str, for_order_by: bool, grammar: Grammar) -> Result<(KeyType, String), Error> {
    let (ty, key) = match raw.split_once('.') {
        Some((t, k)) => (t, k),
        None => ("attribute", raw),
    };
    let registry = matches!(grammar, Grammar::RegisteredModels | Grammar::ModelVersions);
    if (grammar == Grammar::Experiments || registry) && !matches!(ty, "attribute" | "tag" | "tags")
    {
        return Err(invalid(format!(
            "Invalid entity type '{ty}'. Valid entity types are ('attribute', 'tag', 'tags')"
        )));
    }
    let key_type = match ty {
        "metric" | "metrics" => KeyType::Metric,
        "param" | "params" | "parameter" | "parameters" => KeyType::Param,
        "tag" | "tags" => KeyType::Tag,
        "attribute" | "attributes" | "attr" | "run" => KeyType::Attribute,
        "dataset" | "datasets" if for_order_by || grammar == Grammar::LoggedModels => {
            return Err(invalid(format!(
                "Invalid entity type 'dataset' in '{raw}' (dataset filters are for runs)"
            )));
        }
        "dataset" | "datasets" => KeyType::Dataset,
        other => {
            return Err(invalid(format!(
                "Invalid entity type '{other}'. Valid values are ['metric', 'parameter', 'tag', 'attribute', 'dataset']"
            )));
        }
    };
    let key = match key {
        "created" | "Created" => "start_time".to_owned(),
        "run name" | "Run name" | "Run Name" if !for_order_by => "run_name".to_owned(),
        k => k.to_owned(),
    };
    if key.is_empty() {
        return Err(invalid(format!("Invalid identifier '{raw}': empty key")));
    }
    let valid = grammar.attributes(for_order_by);
    if key_type == KeyType::Dataset && !DATASET_ATTRIBUTES.contains(&key.as_str()) {
        return Err(invalid(format!(
            "Invalid dataset key '{key}' specified. Valid keys are '{DATASET_ATTRIBUTES:?}'"
        )));
    }
    if key_type == KeyType::Attribute && !valid.contains(&key.as_str()) {
        return Err(invalid(format!(
            "Invalid attribute key '{key}' specified. Valid keys are '{valid:?}'"
        )));
    }
    Ok((key_type, key))
}

fn allowed(grammar: Grammar, key_type: KeyType, key: &str, op: CompareOp) -> bool {
    use CompareOp::*;
    match key_type {
        KeyType::Metric => matches!(op, Eq | Ne | Lt | Le | Gt | Ge),
        KeyType::Param | KeyType::Tag => {
            matches!(op, Eq | Ne | Like | ILike | IsNull | IsNotNull)
        }
        KeyType::Attribute if grammar.is_numeric(key) => {
            matches!(op, Eq | Ne | Lt | Le | Gt | Ge)
        }
        KeyType::Attribute if grammar == Grammar::Experiments && key == "experiment_id" => {
            matches!(op, Eq | Ne | In | NotIn)
        }
        KeyType::Attribute if grammar == Grammar::Experiments => {
            matches!(op, Eq | Ne | Like | ILike)
        }
        KeyType::Attribute | KeyType::Dataset => {
            matches!(op, Eq | Ne | Like | ILike | In | NotIn)
        }
    }
}

/// Parses a filter string; an empty one means no filter.
pub(crate) fn parse_filter(filter: &str) -> Result<Vec<Clause>, Error> {
    parse_filter_for(filter, Grammar::Runs)
}

/// Parses a filter string of the given grammar.
pub(crate) fn parse_filter_for(filter: &str, grammar: Grammar) -> Result<Vec<Clause>, Error> {
    let toks = tokenize(filter)?;
    let mut clauses = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !clauses.is_empty() {
            match &toks[i].0 {
                Tok::Word(w) if w == "AND" => i += 1,
                _ => {
                    return Err(invalid(format!(
                        "Invalid clause(s) in filter string: '{}'",
                        toks[i].1
                    )));
                }
            }
        }
        let (clause, next) = parse_clause(&toks, i, filter, grammar)?;
        clauses.push(clause);
        i = next;
    }
    Ok(clauses)
}

fn parse_clause(
    toks: &[(Tok, String)],
    i: usize,
    whole: &str,
    grammar: Grammar,
) -> Result<(Clause, usize), Error> {
    let text = |from: usize, to: usize| {
        toks[from..to.min(toks.len())]
            .iter()
            .map(|t| t.1.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let Some((Tok::Ident(raw), _)) = toks.get(i) else {
        return Err(invalid(format!(
            "Invalid clause(s) in filter string: '{}'",
            text(i, i + 3)
        )));
    };
    let (key_type, key) = identifier(raw, false, grammar)?;
    let word = |j: usize, w: &str| matches!(toks.get(j), Some((Tok::Word(x), _)) if x == w);
    let (op, mut j) = match toks.get(i + 1).map(|t| &t.0) {
        Some(Tok::CompareOp(o)) => (
            match o.as_str() {
                "=" | "==" => CompareOp::Eq,
                "!=" => CompareOp::Ne,
                "<" => CompareOp::Lt,
                "<=" => CompareOp::Le,
                ">" => CompareOp::Gt,
                ">=" => CompareOp::Ge,
                _ => unreachable_op(whole)?,
            },
            i + 2,
        ),
        Some(Tok::Word(w)) if w == "LIKE" => (CompareOp::Like, i + 2),
        Some(Tok::Word(w)) if w == "ILIKE" => (CompareOp::ILike, i + 2),
        Some(Tok::Word(w)) if w == "IN" => (CompareOp::In, i + 2),
        Some(Tok::Word(w)) if w == "NOT" && word(i + 2, "IN") => (CompareOp::NotIn, i + 3),
        Some(Tok::Word(w)) if w == "IS" && word(i + 2, "NULL") => (CompareOp::IsNull, i + 3),
        Some(Tok::Word(w)) if w == "IS" && word(i + 2, "NOT") && word(i + 3, "NULL") => {
            (CompareOp::IsNotNull, i + 4)
        }
        _ => {
            return Err(invalid(format!(
                "Invalid clause(s) in filter string: '{}'",
                text(i, i + 3)
            )));
        }
    };
    if matches!(op, CompareOp::IsNull | CompareOp::IsNotNull) {
        if !matches!(key_type, KeyType::Param | KeyType::Tag) {
            return Err(invalid(format!(
                "IS NULL / IS NOT NULL is only supported for tags and params, not for '{}' '{key}'",
                type_name(key_type)
            )));
        }
        let clause = Clause {
            key_type,
            key,
            op,
            value: Value::None,
        };
        return Ok((clause, j));
    }
    let Some((value_tok, value_text)) = toks.get(j) else {
        return Err(invalid(format!(
            "Invalid comparison clause '{}'. Expected 3 tokens found 2",
            text(i, j)
        )));
    };
    j += 1;
    let numeric =
        key_type == KeyType::Metric || (key_type == KeyType::Attribute && grammar.is_numeric(&key));
    let value = match (value_tok, numeric) {
        (Tok::Num(n), true) => number(n, key_type == KeyType::Attribute).ok_or_else(|| {
            invalid(format!(
                "Expected numeric value type for {} '{key}'. Found {n}",
                type_name(key_type)
            ))
        })?,
        (_, true) => {
            return Err(invalid(if key_type == KeyType::Metric {
                format!("Expected numeric value type for metric. Found {value_text}")
            } else {
                format!(
                    "Expected numeric value type for numeric attribute: {key}. Found {value_text}"
                )
            }));
        }
        (Tok::Str(s), false) => Value::Text(s.clone()),
        (Tok::List(items), false) if key_type == KeyType::Dataset => Value::List(items.clone()),
        (Tok::List(items), false) if key_type == KeyType::Attribute => {
            if !grammar.list_keys().contains(&key.as_str()) {
                let keys: Vec<String> = grammar
                    .list_keys()
                    .iter()
                    .map(|k| format!("'{k}'"))
                    .collect();
                return Err(invalid(format!(
                    "Only [{}] attributes support comparison with a list of quoted string values.",
                    keys.join(", ")
                )));
            }
            Value::List(items.clone())
        }
        (_, false) => {
            return Err(invalid(format!(
                "Expected a quoted string value for {} (e.g. 'my-value'). Got value {value_text}",
                type_name(key_type)
            )));
        }
    };
    if !allowed(grammar, key_type, &key, op) {
        return Err(invalid(format!(
            "Invalid comparator '{}' not one of the comparators allowed for {} '{key}'",
            op.as_str(),
            type_name(key_type)
        )));
    }
    if matches!(op, CompareOp::In | CompareOp::NotIn) != matches!(value, Value::List(_)) {
        return Err(invalid(format!(
            "Invalid comparison clause '{}': IN and NOT IN take a list of quoted strings",
            text(i, j)
        )));
    }
    Ok((
        Clause {
            key_type,
            key,
            op,
            value,
        },
        j,
    ))
}

fn unreachable_op(whole: &str) -> Result<CompareOp, Error> {
    Err(invalid(format!("Invalid operator in filter '{whole}'")))
}

fn number(n: &str, integer_ok: bool) -> Option<Value> {
    if integer_ok && let Ok(i) = n.parse::<i64>() {
        return Some(Value::Int(i));
    }
    n.parse::<f64>().ok().map(Value::Number)
}

fn type_name(t: KeyType) -> &'static str {
    match t {
        KeyType::Metric => "metric",
        KeyType::Param => "parameter",
        KeyType::Tag => "tag",
        KeyType::Attribute => "attribute",
        KeyType::Dataset => "dataset",
    }
}

/// Parses one `order_by` item such as `metrics.acc DESC` or ``params.`my lr` ``.
#[cfg(test)]
pub(crate) fn parse_order_by(item: &str) -> Result<OrderBy, Error> {
    parse_order_by_for(item, Grammar::Runs)
}

/// Parses one `order_by` item of the given grammar.
pub(crate) fn parse_order_by_for(item: &str, grammar: Grammar) -> Result<OrderBy, Error> {
    let bad = || {
        invalid(format!(
            "Invalid order_by clause '{item}'. Could not be parsed."
        ))
    };
    let toks = tokenize(item).map_err(|_| bad())?;
    let (raw, ascending) = match toks.as_slice() {
        [(Tok::Ident(raw), _)] => (raw.clone(), true),
        [(Tok::Ident(raw), _), (Tok::Word(w), _)] if w == "ASC" || w == "DESC" => {
            (raw.clone(), w == "ASC")
        }
        [(Tok::Ident(_), _), (Tok::Word(_) | Tok::Ident(_), _)] => {
            return Err(invalid(format!(
                "Invalid ordering key in order_by clause '{item}'."
            )));
        }
        _ => return Err(bad()),
    };
    let (key_type, key) = identifier(&raw, true, grammar)?;
    if grammar == Grammar::Experiments && key_type != KeyType::Attribute {
        return Err(invalid(format!("Invalid order_by entity: {item}")));
    }
    Ok(OrderBy {
        key_type,
        key,
        ascending,
    })
}

/// Parses every `order_by` item, refusing the same field twice as MLflow does.
pub(crate) fn parse_order_by_list(
    items: &[String],
    grammar: Grammar,
) -> Result<Vec<OrderBy>, Error> {
    let mut out: Vec<OrderBy> = Vec::new();
    for item in items {
        let o = parse_order_by_for(item, grammar)?;
        if out
            .iter()
            .any(|p| p.key_type == o.key_type && p.key == o.key)
        {
            return Err(invalid(format!(
                "`order_by` contains duplicate fields: {items:?}"
            )));
        }
        out.push(o);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(f: &str) -> Clause {
        let mut v = parse_filter(f).unwrap();
        assert_eq!(v.len(), 1, "{f}");
        v.remove(0)
    }

    #[test]
    fn parses_the_usual_clauses() {
        let c = one("params.lr = '0.1'");
        assert_eq!(
            (c.key_type, c.key.as_str(), c.op, c.value),
            (
                KeyType::Param,
                "lr",
                CompareOp::Eq,
                Value::Text("0.1".into())
            )
        );
        let c = one("tags.`mlflow.parentRunId` = \"abc\"");
        assert_eq!(
            (c.key.as_str(), c.value),
            ("mlflow.parentRunId", Value::Text("abc".into()))
        );
        let c = one("tags.mlflow.parentRunId != 'x'");
        assert_eq!(
            (c.key.as_str(), c.op),
            ("mlflow.parentRunId", CompareOp::Ne)
        );
        let c = one("metrics.acc >= -1.5e3");
        assert_eq!(c.value, Value::Number(-1500.0));
        let c = one("attributes.start_time > 5");
        assert_eq!(c.value, Value::Int(5));
        let c = one("created < 5");
        assert_eq!(c.key, "start_time");
        let c = one("params.`a b` IS NOT NULL");
        assert_eq!((c.key.as_str(), c.op), ("a b", CompareOp::IsNotNull));
        let c = one("run_id IN ('a', 'b')");
        assert_eq!(c.value, Value::List(vec!["a".into(), "b".into()]));
        let c = one("attributes.run_name ilike '%X%'");
        assert_eq!(c.op, CompareOp::ILike);
        let all = parse_filter("params.a = 'x' and metrics.m > 0.5 AND tags.t LIKE 'y%'").unwrap();
        assert_eq!(all.len(), 3);
        assert!(parse_filter("  ").unwrap().is_empty());
    }

    #[test]
    fn refuses_what_the_server_refuses() {
        for bad in [
            "params.a = x",
            "params.a = 'x' OR params.b = 'y'",
            "foo.a = '1'",
            "metrics.m LIKE '1'",
            "metrics.m > 'a'",
            "params.a > '1'",
            "attributes.bogus = 'x'",
            "attributes.status IN ('A')",
            "metrics.m IS NULL",
            "params.a =",
            "params.a = 'x' params.b = 'y'",
        ] {
            let e = parse_filter(bad).unwrap_err();
            assert_eq!(
                e.error_code(),
                Some("INVALID_PARAMETER_VALUE"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn experiment_filters_follow_the_experiment_grammar() {
        let parse = |f: &str| parse_filter_for(f, Grammar::Experiments);
        for ok in [
            "tags.team = 'vision' AND name LIKE 'a%'",
            "tag.`a b` != 'x'",
            "tags.team IS NULL",
            "tags.team ILIKE '%V%'",
            "attribute.name = 'x'",
            "experiment_id = '3'",
            "experiment_id NOT IN ('1', '2')",
            "creation_time > 5",
        ] {
            parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let c = parse("experiment_id IN ('1', '2')").unwrap().remove(0);
        assert_eq!(c.value, Value::List(vec!["1".into(), "2".into()]));
        for bad in [
            "metrics.m > 1",
            "params.p = 'x'",
            "attributes.name = 'x'",
            "experiment_id LIKE '1'",
            "name IN ('a')",
            "run_id = 'x'",
            "tags.team > 'a'",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(
                e.error_code(),
                Some("INVALID_PARAMETER_VALUE"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn order_by_items() {
        let o = parse_order_by("metrics.acc DESC").unwrap();
        assert_eq!(
            (o.key_type, o.key.as_str(), o.ascending),
            (KeyType::Metric, "acc", false)
        );
        let o = parse_order_by("start_time").unwrap();
        assert_eq!((o.key_type, o.ascending), (KeyType::Attribute, true));
        let o = parse_order_by("params.`my lr` asc").unwrap();
        assert_eq!(o.key, "my lr");
        assert!(parse_order_by("metrics.acc UP").is_err());
        assert!(
            parse_order_by_list(
                &["metrics.a".into(), "metrics.a DESC".into()],
                Grammar::Runs
            )
            .is_err()
        );
    }
}
