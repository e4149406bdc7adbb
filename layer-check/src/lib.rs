//! Architecture check for the mlflow-tracking workspace, read from the parsed sources.
//!
//! It keeps five rules:
//!
//! - **Floors.** Every file of `runtime/src` is on a floor given by its directory (the table
//!   in `floors.rs`, described in `docs/architecture.md`), and imports only files on its own
//!   floor or below.
//! - **No cycles.** In no library crate of the workspace do more than two files import each
//!   other around a loop (a pair of files importing each other is allowed).
//! - **File size.** No file of `runtime/src` is over 600 lines, tests not counted.
//! - **Impl spread.** In no library crate are a type's inherent `impl` blocks (`impl Foo`,
//!   not `impl Trait for Foo`) in more than two files. An impl block counts when it has an
//!   item outside `#[cfg(test)]`, wherever it is written, function bodies included. Its type
//!   is the last segment of its self type's path, generics left out (`Foo` of
//!   `impl<T> crate::x::Foo<T>`; the trait of `impl dyn Trait`), resolved to the type's
//!   definition through modules, `use` names (renames and re-exports too) and globs, so that
//!   two types of one name are told apart. A path that leads to no definition the check
//!   sees (a type declared by a `macro_rules!` macro, say) takes the crate's one type of
//!   that name, or, with none or several, stands for the name alone. A type alias counts
//!   as a type of its own: `impl Alias` is not counted for the aliased type.
//! - **One name, one type.** In no library crate do two structs, enums, unions, type
//!   aliases or traits have one name, wherever they are in the module tree; `#[cfg]`
//!   alternatives of one type count as two. Types are those of the module tree, inline
//!   modules included: a type declared in a function body is not, and an item macro's
//!   input is taken to declare the types it reads as (`pin_project! { struct S { .. } }`).
//!
//! An import is any path that leads to another file of the same crate: `use` trees, paths in
//! code (types, expressions, patterns, bounds, impl headers) and path-shaped tokens in macro
//! invocations (`crate::..`, `super::..`, `self::..`, or a child module or `use`d name of the
//! current module). Attributes are not imports, so neither are doc links. A path leads to the
//! file of its longest prefix that is a module; re-exports are not followed, so a path through
//! the crate root's `pub use` is an import of the crate root.
//!
//! Code under `#[cfg(test)]` (an item, or a whole test-only module file) is left out of the
//! floors and the cycles, since tests may reach anything, out of the line count and out of
//! the type rules.

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
mod types;
mod workspace;

pub use check::check_workspace;
pub use docs::check_docs;
pub use floors::Floor;
pub use report::{FileRow, Report, Violation};
