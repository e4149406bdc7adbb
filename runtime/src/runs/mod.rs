//! Floor 6, runs as callers hold them: the handle, the builder and the guard, the stack of
//! active runs (per thread, or per future when scoped), and ending open runs on a signal.

mod builder;
mod cell;
mod guard;
mod handle;
mod live;
mod metric;
mod scope;
mod signals;
pub(crate) mod stack;
mod worker;

pub use builder::{RunBuilder, start_run};
pub use cell::RunHandle;
pub use guard::RunGuard;
pub use metric::MetricBuilder;
pub use scope::{Scoped, ScopedRun};
pub use signals::install_signal_handlers;
pub use worker::{PARENT_RUN_ID_ENV, Worker};
