//! The floors of the runtime crate: which directory of `runtime/src` holds which layer.

/// The crate whose files are given floors, relative to the workspace root.
pub(crate) const FLOORED_SRC: &str = "runtime/src";

/// The floors, lowest first: a path prefix relative to `runtime/src`, the floor's number and
/// its name. A file may import files on its own floor or below, never above.
///
/// This table must match `docs/architecture.md`, which explains what each floor is for;
/// change both together.
///
/// A prefix ending in `/` takes the whole directory and the module's own file beside it
/// (`base/` takes `base/**` and `base.rs`); any other prefix is one file.
pub(crate) const FLOORS: &[(&str, u8, &str)] = &[
    // Data and rules: model types, error, config, validate, time, search requests and
    // answers, the filter grammar.
    ("base/", 1, "base"),
    // The Store trait, the REST and SQLite stores.
    ("store/", 2, "store"),
    // The background sender, outage handling, spill, pending run ids.
    ("sender/", 3, "sender"),
    // One destination (a store plus its sender) and the process-wide choice of it.
    ("tracker/", 4, "tracker"),
    // System metrics: the switches, the sources, the one sampling thread.
    ("monitor/", 5, "monitor"),
    // Run handle, builder, guard, the per-thread stack, scoped futures, signals.
    ("runs/", 6, "runs"),
    // Free logging functions, search builders, artifacts, Client.
    ("api/", 7, "api"),
    // The crate root only declares modules and re-exports, so it may import anything.
    ("lib.rs", 8, "crate root"),
];

/// A floor of the runtime crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Floor {
    /// 1 for the lowest floor.
    pub number: u8,
    /// The floor's name in the table, e.g. `store`.
    pub name: &'static str,
}

/// The floor of a file, given its path relative to `runtime/src` with `/` separators.
pub(crate) fn floor_of(rel: &str) -> Option<Floor> {
    FLOORS.iter().find_map(|&(prefix, number, name)| {
        let hit = match prefix.strip_suffix('/') {
            Some(dir) => rel.starts_with(prefix) || rel.strip_suffix(".rs") == Some(dir),
            None => rel == prefix,
        };
        hit.then_some(Floor { number, name })
    })
}
