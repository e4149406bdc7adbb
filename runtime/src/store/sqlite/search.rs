//! Searching runs and experiments in SQL, with the semantics of MLflow's `SqlAlchemyStore`
//! (`_search_runs`, `_get_sqlalchemy_filter_clauses`, `_get_orderby_clauses`): the database
//! filters, orders and pages; only the runs of the page are read back.
//!
//! - A param, tag or metric clause needs the key to exist (`params.k != 'v'` does not match
//!   runs without `k`); metrics compare the latest value, and a NaN matches only `!=`.
//! - `attributes.run_name` compares the `mlflow.runName` tag, as MLflow does.
//! - `LIKE` is case-sensitive: MLflow sets `PRAGMA case_sensitive_like` on its SQLite
//!   sessions (`mlflow/store/db/utils.py`); `ILIKE` is `lower(x) LIKE lower(y)`.
//! - Ordering puts missing values last (and NaN metrics after numbers), then ends with
//!   `start_time DESC` (unless ordered by it) and `run_uuid`.
//! - `datasets.name`, `.digest` and `.context` match runs that used such a dataset.

use rusqlite::types::Value as Sql;
use rusqlite::{Transaction, params_from_iter};

use super::file::DbFile;
use super::sql_parts::{check_page_size, compare, page_token, parse_page_token, placeholders};
use super::{SqliteStore, experiments, inputs, logged_models, metrics, runs};
use crate::base::datasets::DATASET_CONTEXT_TAG;
use crate::base::error::Error;
use crate::base::filter::{
    self, Clause, CompareOp, Grammar, KeyType, OrderBy, Value, invalid, parse_filter_for,
    parse_order_by_list,
};
use crate::base::model::{Experiment, Metric, Run};
use crate::base::search::{Page, SearchExperimentsRequest, SearchRunsRequest};

impl SqliteStore {
    pub(super) async fn search_runs_sql(
        &self,
        request: &SearchRunsRequest,
    ) -> Result<Page<Run>, Error> {
        let query = RunQuery::build(request)?;
        self.read(move |tx, db| query.run(tx, db)).await
    }

    pub(super) async fn search_experiments_sql(
        &self,
        request: &SearchExperimentsRequest,
    ) -> Result<Page<Experiment>, Error> {
        let request = request.clone();
        let clauses = parse_filter_for(&request.filter, Grammar::Experiments)?;
        let order = parse_order_by_list(&request.order_by, Grammar::Experiments)?;
        check_page_size(request.max_results)?;
        let offset = parse_page_token(request.page_token.as_deref())?;
        self.read(move |tx, db| experiments(tx, db, &request, &clauses, &order, offset))
            .await
    }

    pub(super) async fn metric_history_sql(
        &self,
        run_id: &str,
        key: &str,
    ) -> Result<Vec<Metric>, Error> {
        let (run_id, key) = (run_id.to_owned(), key.to_owned());
        self.read(move |tx, db| {
            // Reading the run first gives the same not-found error as `get_run`.
            runs::get(tx, db, &run_id)?;
            let mut stmt = tx
                .prepare_cached(
                    "SELECT key, value, timestamp, step, is_nan FROM metrics \
                     WHERE run_uuid = ?1 AND key = ?2 ORDER BY timestamp, step, value",
                )
                .map_err(|e| db.err(e))?;
            let rows = stmt
                .query_map([&run_id, &key], |row| {
                    Ok(Metric {
                        key: row.get(0)?,
                        value: metrics::decode_value(row.get(1)?, row.get(4)?),
                        timestamp: row.get::<_, Option<i64>>(2)?.unwrap_or_default(),
                        step: row.get::<_, Option<i64>>(3)?.unwrap_or_default(),
                        model_id: None,
                        dataset_name: None,
                        dataset_digest: None,
                    })
                })
                .map_err(|e| db.err(e))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
                .map_err(|e| db.err(e))
        })
        .await
    }
}

/// A run search turned into SQL text and its parameters.
#[derive(Debug, Clone)]
struct RunQuery {
    sql: String,
    args: Vec<Sql>,
    max_results: u32,
    offset: u64,
}

impl RunQuery {
    fn build(request: &SearchRunsRequest) -> Result<RunQuery, Error> {
        check_page_size(request.max_results)?;
        let clauses = filter::parse_filter(&request.filter)?;
        let order = parse_order_by_list(&request.order_by, Grammar::Runs)?;
        let offset = parse_page_token(request.page_token.as_deref())?;
        let mut args: Vec<Sql> = Vec::new();
        let mut joins = String::new();
        let mut order_sql: Vec<String> = Vec::new();
        for (n, o) in order.iter().enumerate() {
            order_terms(o, n, &mut joins, &mut order_sql, &mut args);
        }
        if !order
            .iter()
            .any(|o| o.key_type == KeyType::Attribute && o.key == "start_time")
        {
            order_sql.push("runs.start_time DESC".into());
        }
        order_sql.push("runs.run_uuid".into());

        let mut wheres: Vec<String> = Vec::new();
        let ids: Vec<i64> = request
            .experiment_ids
            .iter()
            .filter_map(|id| id.parse::<i64>().ok())
            .collect();
        if ids.is_empty() {
            wheres.push("0".into());
        } else {
            wheres.push(format!(
                "runs.experiment_id IN ({})",
                placeholders(ids.len())
            ));
            args.extend(ids.into_iter().map(Sql::Integer));
        }
        let stages = request.view.stages();
        wheres.push(format!(
            "runs.lifecycle_stage IN ({})",
            placeholders(stages.len())
        ));
        args.extend(stages.iter().map(|s| Sql::Text((*s).to_owned())));
        for c in &clauses {
            wheres.push(condition(c, &mut args));
        }
        let sql = format!(
            "SELECT runs.run_uuid FROM runs{joins} WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
            wheres.join(" AND "),
            order_sql.join(", ")
        );
        Ok(RunQuery {
            sql,
            args,
            max_results: request.max_results,
            offset,
        })
    }

    fn run(&self, tx: &Transaction<'_>, db: &DbFile) -> Result<Page<Run>, Error> {
        case_sensitive_like(tx, db)?;
        let mut args = self.args.clone();
        // One more than asked tells whether there is a next page.
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
            .map(|id| run_with_io(tx, db, id))
            .collect::<Result<Vec<Run>, Error>>()?;
        Ok(Page {
            next_page_token: more.then(|| page_token(self.offset + u64::from(self.max_results))),
            items,
        })
    }
}

/// A run read back with its inputs (datasets) and outputs (logged models), as `runs/get`
/// and `runs/search` answer.
pub(super) fn run_with_io(tx: &Transaction<'_>, db: &DbFile, run_id: &str) -> Result<Run, Error> {
    let mut run = runs::get(tx, db, run_id)?;
    run.inputs = inputs::read(tx, db, run_id)?;
    run.outputs = logged_models::read_outputs(tx, db, run_id)?;
    Ok(run)
}

/// As MLflow's SQLite sessions: `LIKE` compares case. Connection-wide, and nothing else
/// in this store uses `LIKE`.
fn case_sensitive_like(tx: &Transaction<'_>, db: &DbFile) -> Result<(), Error> {
    tx.execute_batch("PRAGMA case_sensitive_like = true")
        .map_err(|e| db.err(e))
}

/// The table holding values of a key type, and whether it has `is_nan`.
fn table(t: KeyType) -> &'static str {
    match t {
        KeyType::Metric => "latest_metrics",
        KeyType::Param => "params",
        KeyType::Tag => "tags",
        KeyType::Attribute | KeyType::Dataset => "runs",
    }
}

/// The `runs` column behind a run attribute.
fn column(key: &str) -> &'static str {
    match key {
        "run_id" => "run_uuid",
        "run_name" => "name",
        "status" => "status",
        "user_id" => "user_id",
        "artifact_uri" => "artifact_uri",
        "start_time" => "start_time",
        "end_time" => "end_time",
        _ => "run_uuid",
    }
}

/// The SQL condition on `runs` for one clause.
fn condition(c: &Clause, args: &mut Vec<Sql>) -> String {
    if c.key_type == KeyType::Dataset {
        return dataset_condition(c, args);
    }
    if c.key_type == KeyType::Attribute {
        if c.key == "run_name" {
            // MLflow compares the tag: runs.name is empty for runs of old clients.
            args.push(Sql::Text("mlflow.runName".into()));
            let cmp = compare("t.value", c.op, &c.value, args);
            return format!(
                "EXISTS (SELECT 1 FROM tags t WHERE t.run_uuid = runs.run_uuid AND t.key = ? AND {cmp})"
            );
        }
        return compare(&format!("runs.{}", column(&c.key)), c.op, &c.value, args);
    }
    let t = table(c.key_type);
    args.push(Sql::Text(c.key.clone()));
    let head = format!("SELECT 1 FROM {t} e WHERE e.run_uuid = runs.run_uuid AND e.key = ?");
    match c.op {
        CompareOp::IsNull => format!("NOT EXISTS ({head})"),
        CompareOp::IsNotNull => format!("EXISTS ({head})"),
        _ => {
            let mut cmp = compare("e.value", c.op, &c.value, args);
            if c.key_type == KeyType::Metric {
                // NaN is stored as 0 with is_nan: it only ever satisfies `!=`.
                cmp = if c.op == CompareOp::Ne {
                    format!("({cmp} OR e.is_nan = 1)")
                } else {
                    format!("({cmp} AND e.is_nan = 0)")
                };
            }
            format!("EXISTS ({head} AND {cmp})")
        }
    }
}

/// A `datasets.` clause, as MLflow's SQL store joins it: the run used a dataset whose name
/// or digest compares, or used one with a context (its `mlflow.data.context` input tag)
/// that compares.
fn dataset_condition(c: &Clause, args: &mut Vec<Sql>) -> String {
    let head = "SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id \
                WHERE i.destination_id = runs.run_uuid";
    if c.key == "context" {
        args.push(Sql::Text(DATASET_CONTEXT_TAG.to_owned()));
        let cmp = compare("it.value", c.op, &c.value, args);
        return format!(
            "EXISTS ({head} AND EXISTS (SELECT 1 FROM input_tags it \
             WHERE it.input_uuid = i.input_uuid AND it.name = ? AND {cmp}))"
        );
    }
    let column = if c.key == "digest" {
        "d.digest"
    } else {
        "d.name"
    };
    let cmp = compare(column, c.op, &c.value, args);
    format!("EXISTS ({head} AND {cmp})")
}

/// Adds the ORDER BY terms (and the join they need) for one `order_by` item.
fn order_terms(
    o: &OrderBy,
    n: usize,
    joins: &mut String,
    order: &mut Vec<String>,
    args: &mut Vec<Sql>,
) {
    let dir = if o.ascending { "ASC" } else { "DESC" };
    let value = if o.key_type == KeyType::Attribute {
        format!("runs.{}", column(&o.key))
    } else {
        let alias = format!("o{n}");
        let nan = if o.key_type == KeyType::Metric {
            ", is_nan"
        } else {
            ""
        };
        joins.push_str(&format!(
            " LEFT OUTER JOIN (SELECT run_uuid, value{nan} FROM {} WHERE key = ?) {alias} \
             ON {alias}.run_uuid = runs.run_uuid",
            table(o.key_type)
        ));
        args.push(Sql::Text(o.key.clone()));
        format!("{alias}.value")
    };
    if o.key_type == KeyType::Metric {
        order.push(format!(
            "CASE WHEN o{n}.is_nan = 1 THEN 1 WHEN {value} IS NULL THEN 2 ELSE 0 END"
        ));
    } else {
        order.push(format!("CASE WHEN {value} IS NULL THEN 1 ELSE 0 END"));
    }
    order.push(format!("{value} {dir}"));
}

fn experiments(
    tx: &Transaction<'_>,
    db: &DbFile,
    request: &SearchExperimentsRequest,
    clauses: &[Clause],
    order: &[OrderBy],
    offset: u64,
) -> Result<Page<Experiment>, Error> {
    case_sensitive_like(tx, db)?;
    let mut args: Vec<Sql> = Vec::new();
    let stages = request.view.stages();
    let mut wheres = vec![format!(
        "experiments.lifecycle_stage IN ({})",
        placeholders(stages.len())
    )];
    args.extend(stages.iter().map(|s| Sql::Text((*s).to_owned())));
    if db.has_workspace {
        wheres.push("experiments.workspace = 'default'".into());
    }
    for c in clauses {
        if c.key_type == KeyType::Tag {
            args.push(Sql::Text(c.key.clone()));
            let head = "SELECT 1 FROM experiment_tags e WHERE e.experiment_id = experiments.experiment_id AND e.key = ?";
            wheres.push(match c.op {
                CompareOp::IsNull => format!("NOT EXISTS ({head})"),
                CompareOp::IsNotNull => format!("EXISTS ({head})"),
                _ => format!(
                    "EXISTS ({head} AND {})",
                    compare("e.value", c.op, &c.value, &mut args)
                ),
            });
        } else if c.key == "experiment_id" {
            wheres.push(experiment_id_condition(c, &mut args)?);
        } else {
            wheres.push(compare(
                &format!("experiments.{}", c.key),
                c.op,
                &c.value,
                &mut args,
            ));
        }
    }
    let mut order_sql: Vec<String> = if order.is_empty() {
        vec![
            "experiments.creation_time DESC".into(),
            "experiments.experiment_id ASC".into(),
        ]
    } else {
        order
            .iter()
            .map(|o| {
                let dir = if o.ascending { "ASC" } else { "DESC" };
                format!("experiments.{} {dir}", o.key)
            })
            .collect()
    };
    if !order.is_empty() && !order.iter().any(|o| o.key == "experiment_id") {
        order_sql.push("experiments.experiment_id DESC".into());
    }
    args.push(Sql::Integer(i64::from(request.max_results) + 1));
    args.push(Sql::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {} FROM experiments WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
        experiments::COLUMNS,
        wheres.join(" AND "),
        order_sql.join(", ")
    );
    let mut stmt = tx.prepare(&sql).map_err(|e| db.err(e))?;
    let mut items = stmt
        .query_map(params_from_iter(args), experiments::from_row)
        .map_err(|e| db.err(e))?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db.err(e))?;
    let more = items.len() > request.max_results as usize;
    items.truncate(request.max_results as usize);
    for e in &mut items {
        experiments::load_tags(tx, db, e)?;
    }
    Ok(Page {
        items,
        next_page_token: more.then(|| page_token(offset + u64::from(request.max_results))),
    })
}

/// `experiment_id` compared as the integer it is, each value parsed as MLflow's
/// `_parse_experiment_id` does.
fn experiment_id_condition(c: &Clause, args: &mut Vec<Sql>) -> Result<String, Error> {
    let parse = |v: &str| {
        v.trim().parse::<i64>().map(Sql::Integer).map_err(|_| {
            invalid(format!(
                "Invalid experiment ID '{v}'. Experiment ID must be a valid integer."
            ))
        })
    };
    match &c.value {
        Value::List(items) => {
            for v in items {
                args.push(parse(v)?);
            }
            let not = if c.op == CompareOp::NotIn { "NOT " } else { "" };
            Ok(format!(
                "experiments.experiment_id {not}IN ({})",
                placeholders(items.len())
            ))
        }
        Value::Text(v) => {
            args.push(parse(v)?);
            Ok(format!("experiments.experiment_id {} ?", c.op.sql()))
        }
        other => Err(invalid(format!(
            "Invalid value {other:?} for experiment_id"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::search::ViewType;

    #[test]
    fn page_tokens_are_mlflows() {
        assert_eq!(page_token(1000), "eyJvZmZzZXQiOiAxMDAwfQ==");
        assert_eq!(
            parse_page_token(Some("eyJvZmZzZXQiOiAxMDAwfQ==")).unwrap(),
            1000
        );
        assert!(parse_page_token(Some("!!")).is_err());
    }

    #[test]
    fn filters_become_sql() {
        let q = RunQuery::build(&SearchRunsRequest {
            experiment_ids: vec!["1".into()],
            filter: "metrics.m > 0.5 AND params.p = 'x'".into(),
            view: ViewType::ActiveOnly,
            max_results: 10,
            order_by: vec!["metrics.m DESC".into()],
            page_token: None,
        })
        .unwrap();
        assert!(q.sql.contains("LEFT OUTER JOIN"), "{}", q.sql);
        assert!(q.sql.contains("e.is_nan = 0"), "{}", q.sql);
        assert!(
            q.sql
                .ends_with("runs.start_time DESC, runs.run_uuid LIMIT ? OFFSET ?")
        );
    }
}
