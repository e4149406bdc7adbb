//! The spill: operations the store could not take (an outage outlasted the retries) are
//! written to a local JSON-lines file instead of being dropped, and replayed later, by the
//! background sender itself once the store answers again, or by [`replay_spill`].
//!
//! # Location
//!
//! `$MLFLOW_RS_SPILL_DIR/<pid>-<unix seconds>.jsonl`, where `MLFLOW_RS_SPILL_DIR` defaults to
//! `./mlflow-spill` (relative to the working directory when the first operation is
//! spilled). The file is created only when something is spilled, and removed once every
//! operation in it has been delivered.
//!
//! # Format
//!
//! One JSON object per line, in the order the operations were made, tagged by `op`:
//!
//! ```text
//! {"op":"create_run","run_ref":"4242-7","run_name":"trial-3","experiment_id":"1","parent_run_id":"ab12…","start_time":1700000000000,"user_id":"me","tags":[{"key":"mlflow.runName","value":"trial-3"}]}
//! {"op":"log_batch","run_id":"ab34…","run_name":"trial-2","metrics":[{"key":"loss","value":"NaN","timestamp":1700000000001,"step":3}],"params":[],"tags":[]}
//! {"op":"update_run","run_ref":"4242-7","run_name":"trial-3","status":"FINISHED","end_time":1700000000500}
//! ```
//!
//! A run is named by `run_id` when the store had created it, else by `run_ref`, the
//! reference of a `create_run` line earlier in the same file (`parent_ref` likewise for a
//! parent). Non-finite metric values are written `"NaN"`, `"Infinity"` and `"-Infinity"`.
//! Credentials never appear in a spill file.
//!
//! # Replaying twice
//!
//! Replaying is idempotent where MLflow allows it: params with the same value are accepted
//! again, tags overwrite, and a metric point with the same key, value, timestamp and step is
//! one row in MLflow's SQL stores (its primary key). A `create_run` line replayed twice
//! creates two runs, so a file is rewritten without the lines already delivered.

mod file;
mod format;
mod replay;

pub use file::{SPILL_DIR_ENV, read_spill};
pub(crate) use file::{Spill, rewrite};
pub use format::{SpillKv, SpillMetric, SpillOp};
pub use replay::ReplayReport;
pub(crate) use replay::replay_ops;
