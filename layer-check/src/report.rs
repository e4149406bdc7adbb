//! What a check found, and how it reads.

use std::fmt;

use crate::floors::Floor;
use crate::types::IMPL_FILE_LIMIT;

/// A broken rule. Files are named relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A runtime file that no entry of the floor table takes.
    NoFloor {
        /// The file.
        file: String,
    },
    /// A runtime file naming something in a file on a higher floor.
    Upward {
        /// The importing file.
        file: String,
        /// Where the first such path is written.
        line: usize,
        /// The path as written there.
        written: String,
        /// The file it leads to.
        target: String,
        /// The importing file's floor.
        floor: Floor,
        /// The target's floor.
        target_floor: Floor,
        /// How many more paths of the file lead to the same target.
        more: usize,
    },
    /// Files of one crate that import each other around a loop of more than two files.
    Cycle {
        /// The files of the strongly connected component, sorted.
        files: Vec<String>,
    },
    /// A runtime file over the line limit, its `#[cfg(test)]` items not counted.
    Oversize {
        /// The file.
        file: String,
        /// Its lines, tests not counted.
        lines: usize,
        /// The most it may have.
        limit: usize,
    },
    /// A type of a library crate whose inherent `impl` blocks outside `#[cfg(test)]` are in
    /// more files than the limit.
    ImplSpread {
        /// The type's name as its impls write it (last path segment, no generics).
        name: String,
        /// The crate's source directory, relative to the workspace root.
        krate: String,
        /// The file that defines the type, when the impls' paths lead to its definition or
        /// the crate defines one type of that name; `None` otherwise.
        defined: Option<String>,
        /// The files holding its inherent impls, sorted.
        files: Vec<String>,
    },
    /// A name given to more than one type (struct, enum, union, type alias, trait) of a
    /// library crate, `#[cfg(test)]` code aside.
    DuplicateType {
        /// The name.
        name: String,
        /// The crate's source directory, relative to the workspace root.
        krate: String,
        /// The file of each definition, sorted (a file twice if it defines the name twice).
        files: Vec<String>,
    },
    /// A runtime file that `docs/architecture.md` does not name in backticks.
    Undocumented {
        /// The file, relative to `runtime/src` as the doc names it.
        file: String,
    },
    /// A file that could not be read or parsed, so it was not checked.
    Unreadable {
        /// The file.
        file: String,
        /// What went wrong.
        error: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::NoFloor { file } => {
                write!(
                    f,
                    "{file}: no floor; decide its floor (a directory of the floor table)"
                )
            }
            Violation::Upward {
                file,
                line,
                written,
                target,
                floor,
                target_floor,
                more,
            } => {
                write!(
                    f,
                    "{file}:{line}: upward import `{written}` -> {target}: floor {} ({}) must not \
                     import floor {} ({})",
                    floor.number, floor.name, target_floor.number, target_floor.name
                )?;
                if *more > 0 {
                    write!(f, " (+{more} more paths to it)")?;
                }
                Ok(())
            }
            Violation::Cycle { files } => {
                write!(
                    f,
                    "import cycle of {} files: {}",
                    files.len(),
                    files.join(", ")
                )
            }
            Violation::Oversize { file, lines, limit } => {
                write!(
                    f,
                    "{file}: {lines} lines without tests, over the limit of {limit}"
                )
            }
            Violation::ImplSpread {
                name,
                krate,
                defined,
                files,
            } => {
                write!(f, "{krate}: `{name}`")?;
                if let Some(defined) = defined {
                    write!(f, " (defined in {defined})")?;
                }
                write!(
                    f,
                    " has inherent impls in {} files, over the limit of {IMPL_FILE_LIMIT}: {}",
                    files.len(),
                    files.join(", ")
                )
            }
            Violation::DuplicateType { name, krate, files } => {
                write!(
                    f,
                    "{krate}: {} types are named `{name}`: {}",
                    files.len(),
                    files.join(", ")
                )
            }
            Violation::Undocumented { file } => {
                write!(f, "docs/architecture.md does not name `{file}`")
            }
            Violation::Unreadable { file, error } => write!(f, "{file}: not checked: {error}"),
        }
    }
}

/// One file of the runtime crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRow {
    /// Relative to `runtime/src`.
    pub file: String,
    /// `None` when no entry of the floor table takes it.
    pub floor: Option<Floor>,
    /// How many other files of the crate it imports, test code not counted.
    pub imports: usize,
    /// Declared under `#[cfg(test)]`.
    pub test_only: bool,
}

/// The outcome of [`check_workspace`](crate::check_workspace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The source directories checked for cycles and types, relative to the workspace root.
    pub crates: Vec<String>,
    /// The runtime's files, by path.
    pub files: Vec<FileRow>,
    /// The runtime's longest import chain (a cycle counting as one level), importing file
    /// first; a cycle shows as its files joined with `+`.
    pub longest_chain: Vec<String>,
    /// The runtime's strongly connected components of two or more files, largest first.
    pub cycles: Vec<Vec<String>>,
    /// Everything that breaks a rule; empty when the workspace is in order.
    pub violations: Vec<Violation>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "runtime/src: {} files (floor, crate-local files imported, file)",
            self.files.len()
        )?;
        for row in &self.files {
            let floor = match row.floor {
                Some(floor) => format!("{} {}", floor.number, floor.name),
                None => "- none".to_string(),
            };
            let test = if row.test_only { "  (test only)" } else { "" };
            writeln!(f, "  {floor:<14} {:>3}  {}{test}", row.imports, row.file)?;
        }
        writeln!(
            f,
            "longest import chain: {} levels",
            self.longest_chain.len()
        )?;
        if !self.longest_chain.is_empty() {
            writeln!(f, "  {}", self.longest_chain.join(" -> "))?;
        }
        match self.cycles.first() {
            Some(largest) => writeln!(
                f,
                "largest cycle: {} files: {}",
                largest.len(),
                largest.join(", ")
            )?,
            None => writeln!(f, "largest cycle: none, no two files import each other")?,
        }
        for cycle in self.cycles.iter().skip(1) {
            writeln!(f, "  also: {}", cycle.join(", "))?;
        }
        writeln!(
            f,
            "crates checked for cycles and types: {}",
            self.crates.join(", ")
        )?;
        if self.violations.is_empty() {
            return writeln!(f, "no violations");
        }
        writeln!(f, "{} violations:", self.violations.len())?;
        self.violations
            .iter()
            .try_for_each(|v| writeln!(f, "  {v}"))
    }
}
