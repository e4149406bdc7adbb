//! The workspace checks: cycles and types in every crate; floors and file sizes in the
//! runtime.

use std::collections::BTreeMap;
use std::path::Path;

use crate::floors::{FLOORED_SRC, floor_of};
use crate::graph::{longest_chain, sccs};
use crate::modules::{Crate, FileId};
use crate::report::{FileRow, Report, Violation};
use crate::resolve::{Edge, edges};
use crate::size::{LINE_LIMIT, lines_without_tests};
use crate::types::check_types;
use crate::workspace::library_roots;

/// Checks the workspace whose root `Cargo.toml` is in `root`: in every library crate no
/// import cycle of more than two files, no type with inherent impls in more than two files
/// and no two types of one name; in `runtime/src` every file on a floor, no file importing
/// from a higher floor, no file over the line limit.
///
/// `#[cfg(test)]` code is left out of every rule: tests may reach anything.
pub fn check_workspace(root: &Path) -> Report {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut report = Report::default();
    let libs = match library_roots(&root) {
        Ok(libs) => libs,
        Err(error) => {
            report.violations.push(Violation::Unreadable {
                file: "Cargo.toml".into(),
                error,
            });
            return report;
        }
    };
    for lib in libs {
        let krate = Crate::load(&root, &lib);
        report.violations.extend(unreadable(&krate));
        let (edges, scopes) = edges(&krate);
        let adjacent = file_graph(&krate, &edges);
        let components = sccs(&adjacent);
        for component in components.iter().filter(|c| c.len() > 2) {
            let files = sorted(component.iter().map(|&f| krate.files[f].shown.clone()));
            report.violations.push(Violation::Cycle { files });
        }
        report.violations.extend(check_types(&krate, &scopes));
        if krate.src == FLOORED_SRC {
            check_runtime(&krate, &edges, &adjacent, &components, &mut report);
        }
        report.crates.push(krate.src);
    }
    report
}

/// The files `lib` and its modules could not be read from.
pub(crate) fn unreadable(krate: &Crate) -> impl Iterator<Item = Violation> + '_ {
    krate
        .errors
        .iter()
        .map(|(file, error)| Violation::Unreadable {
            file: file.clone(),
            error: error.clone(),
        })
}

/// Which files each file imports, test code left out.
fn file_graph(krate: &Crate, edges: &[Edge]) -> Vec<Vec<FileId>> {
    let mut adjacent = vec![Vec::new(); krate.files.len()];
    for edge in edges.iter().filter(|e| !e.test) {
        adjacent[edge.from].push(edge.to);
    }
    for targets in &mut adjacent {
        targets.sort_unstable();
        targets.dedup();
    }
    adjacent
}

fn check_runtime(
    krate: &Crate,
    edges: &[Edge],
    adjacent: &[Vec<FileId>],
    components: &[Vec<FileId>],
    report: &mut Report,
) {
    let mut by_path: Vec<FileId> = (0..krate.files.len()).collect();
    by_path.sort_by(|&a, &b| krate.files[a].rel.cmp(&krate.files[b].rel));
    for &id in &by_path {
        let file = &krate.files[id];
        let floor = floor_of(&file.rel);
        report.files.push(FileRow {
            file: file.rel.clone(),
            floor,
            imports: adjacent[id].len(),
            test_only: file.test_only,
        });
        if floor.is_none() {
            report.violations.push(Violation::NoFloor {
                file: file.shown.clone(),
            });
        }
        let lines = lines_without_tests(file);
        if !file.test_only && lines > LINE_LIMIT {
            report.violations.push(Violation::Oversize {
                file: file.shown.clone(),
                lines,
                limit: LINE_LIMIT,
            });
        }
    }

    // One violation per pair of files, at the first path that goes up.
    let mut upward: BTreeMap<(FileId, FileId), (&Edge, usize)> = BTreeMap::new();
    for edge in edges.iter().filter(|e| !e.test) {
        let (Some(from), Some(to)) = (
            floor_of(&krate.files[edge.from].rel),
            floor_of(&krate.files[edge.to].rel),
        ) else {
            continue;
        };
        if to.number > from.number {
            upward
                .entry((edge.from, edge.to))
                .and_modify(|(first, count)| {
                    *count += 1;
                    if edge.line < first.line {
                        *first = edge;
                    }
                })
                .or_insert((edge, 0));
        }
    }
    for (edge, more) in upward.into_values() {
        let (file, target) = (&krate.files[edge.from], &krate.files[edge.to]);
        report.violations.push(Violation::Upward {
            file: file.shown.clone(),
            line: edge.line,
            written: edge.written.clone(),
            target: target.shown.clone(),
            floor: floor_of(&file.rel).expect("checked above"),
            target_floor: floor_of(&target.rel).expect("checked above"),
            more,
        });
    }

    let name = |component: &Vec<FileId>| {
        let first = sorted(component.iter().map(|&f| krate.files[f].rel.clone())).remove(0);
        match component.len() {
            1 => first,
            n => format!("[{first} + {} more in a cycle]", n - 1),
        }
    };
    report.longest_chain = longest_chain(adjacent, components)
        .into_iter()
        .map(|c| name(&components[c]))
        .collect();
    report.cycles = components
        .iter()
        .filter(|c| c.len() > 1)
        .map(|c| sorted(c.iter().map(|&f| krate.files[f].rel.clone())))
        .collect();
    report.cycles.sort_by_key(|c| std::cmp::Reverse(c.len()));
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items
}
