//! Searches in the memory store, as far as the sender needs them: runs of some experiments
//! in a view, filtered by ``tags.`key` = 'value'`` clauses joined by `AND`, newest first,
//! in pages; experiments in a view, filtered by such tag clauses, in pages. Anything else is
//! refused with a 400 that says the memory store does not support it.

use super::state::{State, bad_request};
use crate::base::error::{Error, Result};
use crate::base::model::{Experiment, Run};
use crate::base::search::{MAX_PAGE_SIZE, Page, SearchExperimentsRequest, SearchRunsRequest};

pub(super) fn search_runs(state: &State, request: &SearchRunsRequest) -> Result<Page<Run>> {
    let clauses = parse_filter(&request.filter)?;
    no_order_by(&request.order_by)?;
    let stages = request.view.stages();
    let mut rows: Vec<_> = state
        .runs
        .iter()
        .filter(|r| request.experiment_ids.contains(&r.info.experiment_id))
        .filter(|r| stages.contains(&r.info.lifecycle_stage.as_str()))
        .filter(|r| clauses.iter().all(|(k, v)| r.tag(k) == Some(v.as_str())))
        .collect();
    // MLflow's default order: newest start first, then run id.
    rows.sort_by(|a, b| {
        b.info
            .start_time
            .cmp(&a.info.start_time)
            .then_with(|| a.info.run_id.cmp(&b.info.run_id))
    });
    let runs: Vec<Run> = rows.into_iter().map(|r| r.to_run()).collect();
    page(runs, request.max_results, &request.page_token)
}

pub(super) fn search_experiments(
    state: &State,
    request: &SearchExperimentsRequest,
) -> Result<Page<Experiment>> {
    let clauses = parse_filter(&request.filter)?;
    no_order_by(&request.order_by)?;
    let stages = request.view.stages();
    // Newest first, as MLflow's default `last_update_time DESC` gives for experiments
    // never updated.
    let found: Vec<Experiment> = state
        .experiments
        .iter()
        .rev()
        .filter(|e| stages.contains(&e.lifecycle_stage.as_str()))
        .filter(|e| clauses.iter().all(|(k, v)| e.tag(k) == Some(v.as_str())))
        .cloned()
        .collect();
    page(found, request.max_results, &request.page_token)
}

fn unsupported(what: String) -> Error {
    bad_request(format!("the memory store does not support {what}"))
}

fn no_order_by(order_by: &[String]) -> Result<()> {
    if order_by.is_empty() {
        return Ok(());
    }
    Err(unsupported(format!(
        "order_by {order_by:?} (it returns MLflow's default order only)"
    )))
}

/// One page of `items`; the token is the offset of the next page.
fn page<T>(items: Vec<T>, max_results: u32, token: &Option<String>) -> Result<Page<T>> {
    if max_results == 0 || max_results > MAX_PAGE_SIZE {
        return Err(bad_request(format!(
            "Invalid value {max_results} for parameter 'max_results' supplied. It must be at most {MAX_PAGE_SIZE} and positive."
        )));
    }
    let offset = match token {
        None => 0,
        Some(t) => t
            .strip_prefix("memory-offset-")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| bad_request(format!("Invalid page token {t:?}")))?,
    };
    let size = max_results as usize;
    let end = offset.saturating_add(size);
    let next_page_token = (end < items.len()).then(|| format!("memory-offset-{end}"));
    let items = items.into_iter().skip(offset).take(size).collect();
    Ok(Page {
        items,
        next_page_token,
    })
}

/// The clauses of a filter made of ``tags.`key` = 'value'`` (or `tag.key = "value"`) joined
/// by `AND`; an empty filter has none.
pub(super) fn parse_filter(filter: &str) -> Result<Vec<(String, String)>> {
    let refuse = || {
        unsupported(format!(
            "the filter {filter:?} (it takes tags.`key` = 'value' clauses joined by AND, nothing else)"
        ))
    };
    let mut clauses = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        if !clauses.is_empty() {
            let (and, after) = rest.split_at_checked(3).ok_or_else(refuse)?;
            if !and.eq_ignore_ascii_case("and") || !after.starts_with(char::is_whitespace) {
                return Err(refuse());
            }
            rest = after.trim_start();
        }
        let after_prefix = ["tags.", "tag."]
            .iter()
            .find_map(|p| {
                rest.get(..p.len())
                    .filter(|head| head.eq_ignore_ascii_case(p))
                    .map(|_| &rest[p.len()..])
            })
            .ok_or_else(refuse)?;
        let (key, after_key) = match after_prefix.strip_prefix('`') {
            Some(quoted) => {
                let end = quoted.find('`').ok_or_else(refuse)?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => {
                let end = after_prefix
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
                    .unwrap_or(after_prefix.len());
                after_prefix.split_at(end)
            }
        };
        let after_op = after_key
            .trim_start()
            .strip_prefix('=')
            .ok_or_else(refuse)?
            .trim_start();
        let quote = after_op.chars().next().filter(|c| matches!(c, '\'' | '"'));
        let quote = quote.ok_or_else(refuse)?;
        let body = &after_op[1..];
        let end = body.find(quote).ok_or_else(refuse)?;
        if key.is_empty() {
            return Err(refuse());
        }
        clauses.push((key.to_owned(), body[..end].to_owned()));
        rest = body[end + 1..].trim_start();
    }
    Ok(clauses)
}
