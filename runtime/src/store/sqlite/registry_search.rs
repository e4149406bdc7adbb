//! Registry searches in SQL, as MLflow's `SqlAlchemyModelRegistryStore` runs them:
//! registered models by `name` and `tags.`, ordered by name (then as asked) and paged with
//! MLflow's offset tokens; model versions by `name`, `version_number`, `run_id`,
//! `source_path` and `tags.`, deleted versions left out, newest first by default. Prompts
//! (the `mlflow.prompt.is_prompt` tag) are left out unless the filter asks for them.

use rusqlite::types::Value as Sql;
use rusqlite::{Transaction, params_from_iter};

use super::file::DbFile;
use super::registry::{self, DELETED};
use super::registry_versions;
use super::sql_parts::{compare, page_token, parse_page_token};
use crate::base::error::Result;
use crate::base::filter::{
    Clause, CompareOp, Grammar, KeyType, Value, invalid, parse_filter_for, parse_order_by_list,
};
use crate::base::registry::{ModelVersion, RegisteredModel, SearchRegistryRequest};
use crate::base::registry_rules::{
    self as rules, MAX_MODEL_VERSIONS_PAGE, MAX_REGISTERED_MODELS_PAGE,
};
use crate::base::search::Page;

const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

/// Which search: the table, its alias, its tags table and how a row is matched with a tag.
struct Kind {
    grammar: Grammar,
    table: &'static str,
    tags: &'static str,
    /// How a tag row is tied to a result row.
    tie: &'static str,
}

const MODELS: Kind = Kind {
    grammar: Grammar::RegisteredModels,
    table: "registered_models",
    tags: "registered_model_tags",
    tie: "t.name = r.name",
};

const VERSIONS: Kind = Kind {
    grammar: Grammar::ModelVersions,
    table: "model_versions",
    tags: "model_version_tags",
    tie: "t.name = r.name AND t.version = r.version",
};

/// The WHERE conditions of a filter (prompts left out unless asked for).
fn conditions(kind: &Kind, filter: &str, args: &mut Vec<Sql>) -> Result<Vec<String>> {
    let clauses = parse_filter_for(filter, kind.grammar)?;
    let asks_for_prompts = clauses.iter().any(|c| {
        c.key_type == KeyType::Tag
            && c.key == PROMPT_TAG
            && matches!(
                (c.op, &c.value),
                (CompareOp::Eq, Value::Text(v)) if v.eq_ignore_ascii_case("true")
            ) | matches!(
                (c.op, &c.value),
                (CompareOp::Ne, Value::Text(v)) if v.eq_ignore_ascii_case("false")
            )
    });
    let mut wheres = Vec::new();
    for c in &clauses {
        if c.key_type == KeyType::Tag && c.key == PROMPT_TAG && !asks_for_prompts {
            continue;
        }
        wheres.push(condition(kind, c, args)?);
    }
    if !asks_for_prompts {
        wheres.push(format!(
            "NOT EXISTS (SELECT 1 FROM {} t WHERE {} AND t.key = '{PROMPT_TAG}' AND t.value = 'true')",
            kind.tags, kind.tie
        ));
    }
    Ok(wheres)
}

fn condition(kind: &Kind, c: &Clause, args: &mut Vec<Sql>) -> Result<String> {
    match c.key_type {
        KeyType::Tag => {
            if !matches!(
                c.op,
                CompareOp::Eq | CompareOp::Ne | CompareOp::Like | CompareOp::ILike
            ) {
                return Err(invalid(format!(
                    "Invalid comparator for tag: {}",
                    c.op.sql()
                )));
            }
            args.push(Sql::Text(c.key.clone()));
            let value = compare("t.value", c.op, &c.value, args);
            Ok(format!(
                "EXISTS (SELECT 1 FROM {} t WHERE {} AND t.key = ? AND {value})",
                kind.tags, kind.tie
            ))
        }
        KeyType::Attribute => {
            let column = match c.key.as_str() {
                "name" => "r.name",
                "version_number" => "r.version",
                "run_id" => "r.run_id",
                "source_path" => "r.source",
                other => return Err(invalid(format!("Invalid attribute name: {other}"))),
            };
            Ok(compare(column, c.op, &c.value, args))
        }
        _ => Err(invalid(format!("Invalid token type: {}", c.key))),
    }
}

/// The ORDER BY terms: the ones asked for, then name ascending (and version descending).
fn order(kind: &Kind, items: &[String]) -> Result<Vec<String>> {
    let defaults = [
        "last_updated_timestamp DESC".to_owned(),
        "name ASC".to_owned(),
        "version_number DESC".to_owned(),
    ];
    let items = if items.is_empty() && kind.grammar == Grammar::ModelVersions {
        &defaults[..]
    } else {
        items
    };
    let mut terms = Vec::new();
    let mut seen = Vec::new();
    for o in parse_order_by_list(items, kind.grammar)? {
        let column = match (kind.grammar, o.key.as_str()) {
            (_, "name") => "r.name",
            (Grammar::RegisteredModels, "timestamp" | "last_updated_timestamp") => {
                "r.last_updated_time"
            }
            (Grammar::RegisteredModels, other) => {
                return Err(invalid(format!(
                    "Invalid order by key '{other}' specified.Valid keys are '{{'name', 'timestamp'}}'"
                )));
            }
            (_, "version_number") => "r.version",
            (_, "creation_timestamp") => "r.creation_time",
            (_, _) => "r.last_updated_time",
        };
        if seen.contains(&column) {
            return Err(invalid(format!(
                "`order_by` contains duplicate fields: {items:?}"
            )));
        }
        seen.push(column);
        terms.push(format!(
            "{column} {}",
            if o.ascending { "ASC" } else { "DESC" }
        ));
    }
    if !seen.contains(&"r.name") {
        terms.push("r.name ASC".into());
    }
    if kind.grammar == Grammar::ModelVersions && !seen.contains(&"r.version") {
        terms.push("r.version DESC".into());
    }
    Ok(terms)
}

/// A result row's key: the model's name and the version (0 for a registered model).
type RowKey = (String, i64);

/// The keys of one page of matching rows, and whether more follow.
fn page_keys(
    tx: &Transaction<'_>,
    db: &DbFile,
    kind: &Kind,
    r: &SearchRegistryRequest,
) -> Result<(Vec<RowKey>, Option<String>)> {
    let offset = parse_page_token(r.page_token.as_deref())?;
    let mut args = Vec::new();
    let mut wheres = conditions(kind, &r.filter, &mut args)?;
    if kind.grammar == Grammar::ModelVersions {
        wheres.push(format!("r.current_stage != '{DELETED}'"));
    }
    let version = if kind.grammar == Grammar::ModelVersions {
        "r.version"
    } else {
        "0"
    };
    let sql = format!(
        "SELECT r.name, {version} FROM {} r WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
        kind.table,
        if wheres.is_empty() {
            "1".to_owned()
        } else {
            wheres.join(" AND ")
        },
        order(kind, &r.order_by)?.join(", ")
    );
    tx.execute_batch("PRAGMA case_sensitive_like = true")
        .map_err(|e| db.err(e))?;
    args.push(Sql::Integer(i64::from(r.max_results) + 1));
    args.push(Sql::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let mut stmt = tx.prepare(&sql).map_err(|e| db.err(e))?;
    let mut keys = stmt
        .query_map(params_from_iter(args), |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    let more = keys.len() > r.max_results as usize;
    keys.truncate(r.max_results as usize);
    Ok((
        keys,
        more.then(|| page_token(offset + u64::from(r.max_results))),
    ))
}

/// `search_registered_models`.
pub(super) fn models(
    tx: &Transaction<'_>,
    db: &DbFile,
    r: &SearchRegistryRequest,
) -> Result<Page<RegisteredModel>> {
    rules::page_size(r.max_results, MAX_REGISTERED_MODELS_PAGE)?;
    let (keys, next_page_token) = page_keys(tx, db, &MODELS, r)?;
    let items = keys
        .iter()
        .map(|(name, _)| registry::get_model(tx, db, name))
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_page_token,
    })
}

/// `search_model_versions`.
pub(super) fn versions(
    tx: &Transaction<'_>,
    db: &DbFile,
    r: &SearchRegistryRequest,
) -> Result<Page<ModelVersion>> {
    rules::page_size(r.max_results, MAX_MODEL_VERSIONS_PAGE)?;
    let (keys, next_page_token) = page_keys(tx, db, &VERSIONS, r)?;
    let items = keys
        .iter()
        .map(|(name, v)| {
            // MLflow's search answers carry no aliases.
            let mut version = registry_versions::get_version(
                tx,
                db,
                name,
                u64::try_from(*v).unwrap_or_default(),
            )?;
            version.aliases.clear();
            Ok(version)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        items,
        next_page_token,
    })
}
