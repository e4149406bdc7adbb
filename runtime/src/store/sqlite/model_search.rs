//! Searching logged models in SQL, as MLflow's `SqlAlchemyStore.search_logged_models`:
//! models of the experiments that are not deleted; `metrics.` clauses match a model with
//! any point that compares (not only the latest), `params.` and `tags.` its value,
//! attributes their column (`status` by its name, `READY`); ordering by attributes or by a
//! metric's latest point (newest timestamp, then step), missing values last, then newest
//! first and by id.

use rusqlite::types::Value as Sql;
use rusqlite::{Transaction, params_from_iter};

use super::file::DbFile;
use super::logged_models;
use super::sql_parts::{check_page_size, compare, page_token, parse_page_token, placeholders};
use crate::base::error::Error;
use crate::base::filter::{
    Clause, CompareOp, Grammar, KeyType, OrderBy, Value, invalid, parse_filter_for,
    parse_order_by_list,
};
use crate::base::logged_models::{LoggedModel, LoggedModelStatus, SearchLoggedModelsRequest};
use crate::base::search::Page;

/// A model search turned into SQL text and its parameters.
#[derive(Debug, Clone)]
pub(super) struct ModelQuery {
    sql: String,
    args: Vec<Sql>,
    max_results: u32,
    offset: u64,
}

impl ModelQuery {
    pub(super) fn build(request: &SearchLoggedModelsRequest) -> Result<ModelQuery, Error> {
        check_page_size(request.max_results)?;
        let clauses = parse_filter_for(&request.filter, Grammar::LoggedModels)?;
        let order = parse_order_by_list(&request.order_by, Grammar::LoggedModels)?;
        let offset = parse_page_token(request.page_token.as_deref())?;
        let mut args: Vec<Sql> = Vec::new();
        let mut joins = String::new();
        let mut order_sql: Vec<String> = Vec::new();
        for (n, o) in order.iter().enumerate() {
            order_terms(o, n, &mut joins, &mut order_sql, &mut args)?;
        }
        let named = |col: &str| {
            order
                .iter()
                .any(|o| o.key_type == KeyType::Attribute && column(&o.key) == col)
        };
        if !named("creation_timestamp_ms") {
            order_sql.push("lm.creation_timestamp_ms DESC".into());
        }
        if !named("model_id") {
            order_sql.push("lm.model_id ASC".into());
        }
        let ids: Vec<i64> = request
            .experiment_ids
            .iter()
            .filter_map(|id| id.parse::<i64>().ok())
            .collect();
        let mut wheres = vec!["lm.lifecycle_stage != 'deleted'".to_owned()];
        if ids.is_empty() {
            wheres.push("0".into());
        } else {
            wheres.push(format!("lm.experiment_id IN ({})", placeholders(ids.len())));
        }
        // The WHERE arguments follow the JOIN arguments of the ordering.
        args.extend(ids.into_iter().map(Sql::Integer));
        for c in &clauses {
            wheres.push(condition(c, &mut args)?);
        }
        let sql = format!(
            "SELECT lm.model_id FROM logged_models lm{joins} WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
            wheres.join(" AND "),
            order_sql.join(", ")
        );
        Ok(ModelQuery {
            sql,
            args,
            max_results: request.max_results,
            offset,
        })
    }

    pub(super) fn run(
        &self,
        tx: &Transaction<'_>,
        db: &DbFile,
    ) -> Result<Page<LoggedModel>, Error> {
        tx.execute_batch("PRAGMA case_sensitive_like = true")
            .map_err(|e| db.err(e))?;
        let mut args = self.args.clone();
        args.push(Sql::Integer(i64::from(self.max_results) + 1));
        args.push(Sql::Integer(i64::try_from(self.offset).unwrap_or(i64::MAX)));
        let mut stmt = tx.prepare_cached(&self.sql).map_err(|e| db.err(e))?;
        let mut ids = stmt
            .query_map(params_from_iter(args), |row| row.get::<_, String>(0))
            .map_err(|e| db.err(e))?
            .collect::<rusqlite::Result<Vec<String>>>()
            .map_err(|e| db.err(e))?;
        let more = ids.len() > self.max_results as usize;
        ids.truncate(self.max_results as usize);
        let items = ids
            .iter()
            .map(|id| logged_models::get(tx, db, id))
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Page {
            next_page_token: more.then(|| page_token(self.offset + u64::from(self.max_results))),
            items,
        })
    }
}

/// The `logged_models` column behind an attribute.
fn column(key: &str) -> &'static str {
    match key {
        "name" => "name",
        "model_type" => "model_type",
        "status" => "status",
        "source_run_id" => "source_run_id",
        "creation_timestamp" | "creation_time" => "creation_timestamp_ms",
        "last_updated_timestamp" | "last_updated_time" => "last_updated_timestamp_ms",
        _ => "model_id",
    }
}

/// The SQL condition on `logged_models lm` for one clause.
fn condition(c: &Clause, args: &mut Vec<Sql>) -> Result<String, Error> {
    let (table, key_col, value_col) = match c.key_type {
        KeyType::Attribute if c.key == "status" => {
            let status = |s: &str| {
                LoggedModelStatus::parse(s)
                    .map(LoggedModelStatus::to_int)
                    .ok_or_else(|| invalid(format!("Invalid model status '{s}'")))
            };
            let value = match &c.value {
                Value::Text(s) => Value::Int(status(s)?),
                other => other.clone(),
            };
            if !matches!(c.op, CompareOp::Eq | CompareOp::Ne) {
                return Err(invalid("Only '=' and '!=' compare a model's status"));
            }
            return Ok(compare("lm.status", c.op, &value, args));
        }
        KeyType::Attribute => {
            return Ok(compare(
                &format!("lm.{}", column(&c.key)),
                c.op,
                &c.value,
                args,
            ));
        }
        KeyType::Metric => ("logged_model_metrics", "metric_name", "metric_value"),
        KeyType::Param => ("logged_model_params", "param_key", "param_value"),
        KeyType::Tag => ("logged_model_tags", "tag_key", "tag_value"),
        KeyType::Dataset => return Err(invalid("dataset filters are for runs")),
    };
    args.push(Sql::Text(c.key.clone()));
    let head =
        format!("SELECT 1 FROM {table} e WHERE e.model_id = lm.model_id AND e.{key_col} = ?");
    Ok(match c.op {
        CompareOp::IsNull => format!("NOT EXISTS ({head})"),
        CompareOp::IsNotNull => format!("EXISTS ({head})"),
        op => {
            let cmp = compare(&format!("e.{value_col}"), op, &c.value, args);
            format!("EXISTS ({head} AND {cmp})")
        }
    })
}

/// Adds the ORDER BY terms (and the join they need) for one `order_by` item.
fn order_terms(
    o: &OrderBy,
    n: usize,
    joins: &mut String,
    order: &mut Vec<String>,
    args: &mut Vec<Sql>,
) -> Result<(), Error> {
    let dir = if o.ascending { "ASC" } else { "DESC" };
    let value = match o.key_type {
        KeyType::Attribute => format!("lm.{}", column(&o.key)),
        KeyType::Metric => {
            let alias = format!("o{n}");
            joins.push_str(&format!(
                " LEFT OUTER JOIN (SELECT model_id, metric_value FROM (SELECT model_id, \
                 metric_value, row_number() OVER (PARTITION BY model_id ORDER BY \
                 metric_timestamp_ms DESC, metric_step DESC, run_id ASC) AS rn \
                 FROM logged_model_metrics WHERE metric_name = ?) WHERE rn = 1) {alias} \
                 ON {alias}.model_id = lm.model_id"
            ));
            args.push(Sql::Text(o.key.clone()));
            format!("{alias}.metric_value")
        }
        _ => {
            return Err(invalid(format!(
                "Invalid order by field name: {}. Only metrics are supported.",
                o.key
            )));
        }
    };
    order.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
    order.push(format!("{value} {dir}"));
    Ok(())
}
