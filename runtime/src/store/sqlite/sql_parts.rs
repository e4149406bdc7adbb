//! Pieces of SQL the searches share: placeholders, one comparison, page sizes and MLflow's
//! page tokens.

use rusqlite::types::Value as Sql;

use crate::base::error::Error;
use crate::base::filter::{CompareOp, Value, invalid};
use crate::base::search::MAX_PAGE_SIZE;

pub(super) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `lhs <op> ?` for a plain comparison, pushing the value.
pub(super) fn compare(lhs: &str, op: CompareOp, value: &Value, args: &mut Vec<Sql>) -> String {
    let push = |args: &mut Vec<Sql>, v: &Value| match v {
        Value::Number(f) => args.push(Sql::Real(*f)),
        Value::Int(i) => args.push(Sql::Integer(*i)),
        Value::Text(s) => args.push(Sql::Text(s.clone())),
        Value::List(_) | Value::None => {}
    };
    match (op, value) {
        (CompareOp::ILike, _) => {
            push(args, value);
            format!("lower({lhs}) LIKE lower(?)")
        }
        (CompareOp::In | CompareOp::NotIn, Value::List(items)) => {
            args.extend(items.iter().map(|s| Sql::Text(s.clone())));
            let not = if op == CompareOp::NotIn { "NOT " } else { "" };
            format!("{lhs} {not}IN ({})", placeholders(items.len()))
        }
        _ => {
            push(args, value);
            format!("{lhs} {} ?", op.sql())
        }
    }
}

pub(super) fn check_page_size(max_results: u32) -> Result<(), Error> {
    if max_results == 0 || max_results > MAX_PAGE_SIZE {
        return Err(invalid(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at most {MAX_PAGE_SIZE}"
        )));
    }
    Ok(())
}

/// MLflow's token: base64 of `{"offset": N}`.
pub(super) fn page_token(offset: u64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

pub(super) fn parse_page_token(token: Option<&str>) -> Result<u64, Error> {
    use base64::Engine as _;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| invalid("Invalid page token, could not base64-decode"))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
        invalid(format!(
            "Invalid page token, decoded value={}",
            String::from_utf8_lossy(&bytes)
        ))
    })?;
    value
        .get("offset")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| invalid("Invalid page token, parsed value has no offset"))
}
