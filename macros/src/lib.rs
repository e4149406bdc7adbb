//! Implementation detail of the `mlflow-tracking` crate: the `#[parent_run]` and
//! `#[child_run]` attribute macros. Use them through the `mlflow` facade
//! (`#[mlflow::parent_run]`), which documents them.

use proc_macro::TokenStream;

mod args;
mod docs;
mod expand;
mod item;
mod kind;
#[cfg(test)]
mod props;
mod template;
mod validate;

use kind::Kind;

/// Runs every call of the function as an MLflow run that groups the runs started inside it.
///
/// ```ignore
/// #[mlflow::parent_run(name = "parent_run_test_default_{test_no}")]
/// fn execute_tuning(test_no: u32) {
///     mlflow::set_tag("test_identifier", "default").ok();
///     for i in 0..5 {
///         train_one(i, test_no); // each call is a child run of this one
///     }
/// }
///
/// #[mlflow::child_run(name = "run_{i}_test_{test_no}")]
/// fn train_one(i: u32, test_no: u32) {
///     mlflow::log_param("param1", "x").ok();
///     mlflow::log_metric("metric1", 0.42).ok();
/// }
/// ```
///
/// `#[parent_run]` and [`#[child_run]`](macro@child_run) behave the same; the two names say
/// what the function is for. A run started while another run is active on the same thread
/// nests under it, so a `#[parent_run]` called from inside a run becomes that run's child,
/// and a `#[child_run]` called with no active run is a top-level run.
///
#[doc = include_str!("run_attribute.md")]
#[proc_macro_attribute]
pub fn parent_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run_attribute(Kind::Parent, args.into(), item.into()).into()
}

/// Runs every call of the function as an MLflow run, nested under the run active on the
/// calling thread if there is one.
///
/// ```ignore
/// #[mlflow::child_run(name = "run_{i}_test_{test_no}")]
/// fn train_one(i: u32, test_no: u32) -> anyhow::Result<f64> {
///     mlflow::log_param("param1", "x")?;
///     let loss = 0.42;
///     mlflow::log_metric("loss", loss)?;
///     Ok(loss)
/// }
/// ```
///
/// `#[child_run]` and [`#[parent_run]`](macro@parent_run) behave the same; the two names say
/// what the function is for. With no active run (called outside any `#[parent_run]`), the run
/// is a top-level run.
///
#[doc = include_str!("run_attribute.md")]
#[proc_macro_attribute]
pub fn child_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::run_attribute(Kind::Child, args.into(), item.into()).into()
}
