//! Architecture check for the mlflow-tracking workspace, read from the parsed sources.
//!
//! It keeps three rules:
//!
//! - **Floors.** Every file of `runtime/src` is on a floor given by its directory (the table
//!   in `floors.rs`, described in `docs/architecture.md`), and imports only files on its own
//!   floor or below.
//! - **No cycles.** In no library crate of the workspace do more than two files import each
//!   other around a loop (a pair of files importing each other is allowed).
//! - **File size.** No file of `runtime/src` is over 600 lines, tests not counted.
//!
//! An import is any path that leads to another file of the same crate: `use` trees, paths in
//! code (types, expressions, patterns, bounds, impl headers) and path-shaped tokens in macro
//! invocations (`crate::..`, `super::..`, `self::..`, or a child module or `use`d name of the
//! current module). Attributes are not imports, so neither are doc links. A path leads to the
//! file of its longest prefix that is a module; re-exports are not followed, so a path through
//! the crate root's `pub use` is an import of the crate root.
//!
//! Code under `#[cfg(test)]` (an item, or a whole test-only module file) is left out of the
//! floors and the cycles, since tests may reach anything, and out of the line count.

mod cfg;
mod check;
mod docs;
mod floors;
mod graph;
mod modules;
mod refs;
mod report;
mod resolve;
mod size;
mod workspace;

pub use check::check_workspace;
pub use docs::check_docs;
pub use floors::Floor;
pub use report::{FileRow, Report, Violation};
