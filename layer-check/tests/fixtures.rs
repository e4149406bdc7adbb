//! The checks on small fake workspaces written to a temporary directory.

use std::fs;
use std::path::Path;

use mlflow_layer_check::{Floor, Report, Violation, check_docs, check_workspace};
use tempfile::TempDir;

// The type rules' fixtures, beside this file so that neither is over 600 lines.
#[path = "fixtures/types.rs"]
mod types;

/// A workspace of the given files; unless they include one, the root manifest has the single
/// member `runtime`.
fn workspace(files: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![("Cargo.toml", "[workspace]\nmembers = [\"runtime\"]\n")];
    all.extend_from_slice(files);
    for (path, text) in all {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }
    for member in ["runtime", "other"] {
        let manifest = dir.path().join(member).join("Cargo.toml");
        if manifest.parent().unwrap().is_dir() && !manifest.exists() {
            fs::write(manifest, format!("[package]\nname = \"{member}\"\n")).unwrap();
        }
    }
    dir
}

fn check(files: &[(&str, &str)]) -> Report {
    check_workspace(workspace(files).path())
}

fn floor(number: u8, name: &'static str) -> Floor {
    Floor { number, name }
}

/// The one upward import from `file` to `target`, as (line, path written, floors).
#[track_caller]
fn upward(report: &Report, file: &str, target: &str) -> (usize, String, u8, u8) {
    let found: Vec<_> = report
        .violations
        .iter()
        .filter_map(|v| match v {
            Violation::Upward {
                file: f,
                line,
                written,
                target: t,
                floor,
                target_floor,
                ..
            } if f == file && t == target => {
                Some((*line, written.clone(), floor.number, target_floor.number))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one upward import {file} -> {target} expected in\n{report}"
    );
    found[0].clone()
}

#[track_caller]
fn assert_clean(report: &Report) {
    assert!(
        report.violations.is_empty(),
        "no violations expected in\n{report}"
    );
}

const FLOORS_ROOT: &str = "mod api;\nmod base;\nmod runs;\nmod sender;\nmod store;\nmod tracker;\n";

/// The crate root with the floors' modules, each an empty `mod.rs` unless given.
fn runtime(files: &[(&str, &str)]) -> Report {
    let mut all: Vec<(&str, &str)> = vec![("runtime/src/lib.rs", FLOORS_ROOT)];
    for dir in ["api", "base", "runs", "sender", "store", "tracker"] {
        let path: &'static str = format!("runtime/src/{dir}/mod.rs").leak();
        if !files.iter().any(|(p, _)| *p == path) {
            all.push((path, ""));
        }
    }
    all.extend_from_slice(files);
    check(&all)
}

#[test]
fn upward_import_in_a_use_line() {
    let report = runtime(&[
        (
            "runtime/src/base/mod.rs",
            "//! Base.\n\nuse crate::store::Store;\n",
        ),
        ("runtime/src/store/mod.rs", "pub struct Store;\n"),
    ]);
    assert_eq!(
        upward(
            &report,
            "runtime/src/base/mod.rs",
            "runtime/src/store/mod.rs"
        ),
        (3, "crate::store::Store".into(), 1, 2)
    );
    assert_eq!(report.violations.len(), 1, "{report}");
    let Violation::Upward {
        floor: from,
        target_floor: to,
        ..
    } = &report.violations[0]
    else {
        unreachable!()
    };
    assert_eq!((*from, *to), (floor(1, "base"), floor(2, "store")));
}

#[test]
fn upward_import_as_a_path_in_a_function_body() {
    let report = runtime(&[
        (
            "runtime/src/store/mod.rs",
            "pub fn f() {\n    let _ = crate::api::x::g();\n}\n",
        ),
        ("runtime/src/api/mod.rs", "pub mod x;\n"),
        ("runtime/src/api/x.rs", "pub fn g() {}\n"),
    ]);
    assert_eq!(
        upward(&report, "runtime/src/store/mod.rs", "runtime/src/api/x.rs"),
        (2, "crate::api::x::g".into(), 2, 7)
    );
}

#[test]
fn upward_import_through_super_from_nested_modules() {
    let report = runtime(&[
        ("runtime/src/store/mod.rs", "pub mod rest;\n"),
        (
            "runtime/src/store/rest.rs",
            "fn f() -> super::super::sender::Sender {\n    todo!()\n}\n\nmod inner {\n    \
             use super::super::super::tracker::Tracker;\n}\n",
        ),
        ("runtime/src/sender/mod.rs", "pub struct Sender;\n"),
        ("runtime/src/tracker/mod.rs", "pub struct Tracker;\n"),
    ]);
    assert_eq!(
        upward(
            &report,
            "runtime/src/store/rest.rs",
            "runtime/src/sender/mod.rs"
        ),
        (1, "super::super::sender::Sender".into(), 2, 3)
    );
    assert_eq!(
        upward(
            &report,
            "runtime/src/store/rest.rs",
            "runtime/src/tracker/mod.rs"
        ),
        (6, "super::super::super::tracker::Tracker".into(), 2, 4)
    );
}

#[test]
fn upward_import_inside_a_macro_invocation() {
    let report = runtime(&[
        (
            "runtime/src/sender/mod.rs",
            "pub fn f(k: u8) -> bool {\n    tracing::info!(\"{}\", crate::api::x());\n    \
             matches!(k, crate::runs::LIMIT)\n}\n",
        ),
        ("runtime/src/api/mod.rs", "pub fn x() -> u8 {\n    1\n}\n"),
        ("runtime/src/runs/mod.rs", "pub const LIMIT: u8 = 1;\n"),
    ]);
    assert_eq!(
        upward(
            &report,
            "runtime/src/sender/mod.rs",
            "runtime/src/api/mod.rs"
        ),
        (2, "crate::api::x".into(), 3, 7)
    );
    assert_eq!(
        upward(
            &report,
            "runtime/src/sender/mod.rs",
            "runtime/src/runs/mod.rs"
        ),
        (3, "crate::runs::LIMIT".into(), 3, 6)
    );
}

#[test]
fn upward_import_through_a_name_brought_in_by_use() {
    let report = runtime(&[
        (
            "runtime/src/store/mod.rs",
            "use crate::api;\n\nfn f() {\n    api::x::g();\n}\n",
        ),
        ("runtime/src/api/mod.rs", "pub mod x;\n"),
        ("runtime/src/api/x.rs", "pub fn g() {}\n"),
    ]);
    upward(
        &report,
        "runtime/src/store/mod.rs",
        "runtime/src/api/mod.rs",
    );
    assert_eq!(
        upward(&report, "runtime/src/store/mod.rs", "runtime/src/api/x.rs"),
        (4, "api::x::g".into(), 2, 7)
    );
}

#[test]
fn path_module_and_its_children() {
    // A `#[path]` file keeps its own children beside it, like a mod.rs file.
    let report = runtime(&[
        (
            "runtime/src/sender/mod.rs",
            "#[path = \"spill_impl.rs\"]\nmod spill;\n",
        ),
        (
            "runtime/src/sender/spill_impl.rs",
            "mod disk;\n\nuse crate::runs::Run;\n",
        ),
        (
            "runtime/src/sender/disk.rs",
            "pub fn f(_: crate::api::Api) {}\n",
        ),
        ("runtime/src/runs/mod.rs", "pub struct Run;\n"),
        ("runtime/src/api/mod.rs", "pub struct Api;\n"),
    ]);
    upward(
        &report,
        "runtime/src/sender/spill_impl.rs",
        "runtime/src/runs/mod.rs",
    );
    upward(
        &report,
        "runtime/src/sender/disk.rs",
        "runtime/src/api/mod.rs",
    );
    assert_eq!(report.violations.len(), 2, "{report}");
}

#[test]
fn non_mod_rs_file_keeps_children_in_its_directory() {
    let report = check(&[
        ("runtime/src/lib.rs", "mod sender;\nmod store;\n"),
        ("runtime/src/store.rs", "mod rest;\n"),
        ("runtime/src/store/rest.rs", "use crate::sender::Sender;\n"),
        ("runtime/src/sender.rs", "pub struct Sender;\n"),
    ]);
    assert_eq!(
        upward(
            &report,
            "runtime/src/store/rest.rs",
            "runtime/src/sender.rs"
        ),
        (1, "crate::sender::Sender".into(), 2, 3)
    );
    assert_eq!(report.violations.len(), 1, "{report}");
}

#[test]
fn docs_attributes_visibility_and_test_code_are_not_imports() {
    let report = runtime(&[
        (
            "runtime/src/base/mod.rs",
            r#"//! See [`flush`](crate::api::flush).

#[cfg(test)]
mod props;

/// Calls [`crate::api::flush`].
#[doc = "crate::api::flush"]
#[crate::api::marker]
pub(crate) fn f() {}

pub(in crate::base) struct S;

#[cfg(test)]
fn helper() {
    crate::api::flush();
}

#[cfg(test)]
mod tests {
    use crate::api::flush;
}
"#,
        ),
        ("runtime/src/base/props.rs", "use crate::api::flush;\n"),
        (
            "runtime/src/api/mod.rs",
            "pub fn flush() {}\npub use std::prelude::v1::test as marker;\n",
        ),
    ]);
    assert_clean(&report);
    let props = report
        .files
        .iter()
        .find(|r| r.file == "base/props.rs")
        .unwrap();
    assert!(props.test_only);
}

#[test]
fn cycle_of_three_files_is_found() {
    let report = check(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"other\"]\n"),
        ("other/src/lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("other/src/a.rs", "use crate::b::B;\npub struct A;\n"),
        ("other/src/b.rs", "pub struct B(crate::c::C);\n"),
        (
            "other/src/c.rs",
            "pub struct C;\npub fn f(_: crate::a::A) {}\n",
        ),
    ]);
    let cycle = Violation::Cycle {
        files: vec![
            "other/src/a.rs".into(),
            "other/src/b.rs".into(),
            "other/src/c.rs".into(),
        ],
    };
    assert_eq!(report.violations, vec![cycle], "{report}");
}

#[test]
fn cycle_through_a_child_module_path_is_found() {
    // `a::f()` starts at a child module: without it there is no cycle.
    let report = check(&[
        (
            "Cargo.toml",
            "[package]\nname = \"root\"\n\n[workspace]\nmembers = []\n",
        ),
        ("src/lib.rs", "mod m;\n"),
        (
            "src/m/mod.rs",
            "mod a;\nmod b;\n\npub fn h() {\n    a::f();\n}\n",
        ),
        ("src/m/a.rs", "pub fn f() {\n    super::b::g();\n}\n"),
        ("src/m/b.rs", "pub fn g() {\n    crate::m::h();\n}\n"),
    ]);
    let files = vec![
        "src/m/a.rs".into(),
        "src/m/b.rs".into(),
        "src/m/mod.rs".into(),
    ];
    assert_eq!(
        report.violations,
        vec![Violation::Cycle { files }],
        "{report}"
    );
    assert_eq!(report.crates, vec!["src".to_string()]);
}

#[test]
fn two_files_importing_each_other_are_allowed() {
    let report = check(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"other\"]\n"),
        ("other/src/lib.rs", "mod a;\nmod b;\n"),
        ("other/src/a.rs", "use crate::b::B;\npub struct A;\n"),
        ("other/src/b.rs", "pub struct B(crate::a::A);\n"),
    ]);
    assert_clean(&report);
    assert_eq!(report.crates, vec!["other/src".to_string()]);
}

fn lines(n: usize) -> String {
    (0..n)
        .map(|i| format!("pub const C{i}: u8 = 0;\n"))
        .collect()
}

#[test]
fn oversize_file_is_found() {
    let text = lines(601);
    let report = check(&[
        ("runtime/src/lib.rs", "mod base;\n"),
        ("runtime/src/base/mod.rs", &text),
    ]);
    let oversize = Violation::Oversize {
        file: "runtime/src/base/mod.rs".into(),
        lines: 601,
        limit: 600,
    };
    assert_eq!(report.violations, vec![oversize], "{report}");
}

#[test]
fn test_items_do_not_count_toward_the_size() {
    let text = format!(
        "{}\n#[cfg(test)]\nmod tests {{\n{}}}\n\nimpl S {{\n    #[cfg(test)]\n    fn t() {{\n{}    }}\n}}\n",
        lines(500),
        lines(200),
        lines(50),
    );
    let report = check(&[
        ("runtime/src/lib.rs", "mod base;\n"),
        ("runtime/src/base/mod.rs", &text),
    ]);
    assert_clean(&report);
}

#[test]
fn file_without_a_floor_is_found() {
    let report = check(&[
        ("runtime/src/lib.rs", "mod base;\nmod misc;\n"),
        ("runtime/src/base/mod.rs", ""),
        ("runtime/src/misc.rs", ""),
    ]);
    assert_eq!(
        report.violations,
        vec![Violation::NoFloor {
            file: "runtime/src/misc.rs".into()
        }]
    );
    let rows: Vec<_> = report
        .files
        .iter()
        .map(|r| (r.file.as_str(), r.floor.map(|f| f.number)))
        .collect();
    assert_eq!(
        rows,
        [
            ("base/mod.rs", Some(1)),
            ("lib.rs", Some(8)),
            ("misc.rs", None)
        ]
    );
}

#[test]
fn missing_module_file_is_reported() {
    let report = check(&[("runtime/src/lib.rs", "mod gone;\n")]);
    assert!(
        matches!(&report.violations[..], [Violation::Unreadable { file, .. }] if file == "runtime/src/gone/mod.rs"),
        "{report}"
    );
}

#[test]
fn overview_counts_imports_and_the_longest_chain() {
    let report = check(&[
        (
            "runtime/src/lib.rs",
            "mod base;\nmod store;\n\npub use store::Store;\n",
        ),
        (
            "runtime/src/store/mod.rs",
            "pub struct Store(crate::base::Id);\n",
        ),
        ("runtime/src/base/mod.rs", "pub struct Id;\n"),
    ]);
    assert_clean(&report);
    let imports: Vec<_> = report
        .files
        .iter()
        .map(|r| (r.file.as_str(), r.imports))
        .collect();
    assert_eq!(
        imports,
        [("base/mod.rs", 0), ("lib.rs", 1), ("store/mod.rs", 1)]
    );
    assert_eq!(
        report.longest_chain,
        ["lib.rs", "store/mod.rs", "base/mod.rs"]
    );
    assert!(report.cycles.is_empty());
    let shown = report.to_string();
    assert!(shown.contains("longest import chain: 3 levels"), "{shown}");
    assert!(shown.contains("no violations"), "{shown}");
}

#[test]
fn docs_must_name_every_runtime_file() {
    let dir = workspace(&[
        ("runtime/src/lib.rs", "mod base;\n"),
        ("runtime/src/base/mod.rs", "mod outage;\n"),
        ("runtime/src/base/outage.rs", ""),
        (
            "docs/architecture.md",
            "- `lib.rs`: the root\n- `runtime/src/base/mod.rs`\n\n```\n`base/outage.rs`\n```\n",
        ),
    ]);
    let undocumented = Violation::Undocumented {
        file: "base/outage.rs".into(),
    };
    assert_eq!(check_docs(dir.path()), vec![undocumented]);

    fs::remove_file(dir.path().join("docs/architecture.md")).unwrap();
    let missing = check_docs(dir.path());
    assert!(
        matches!(&missing[..], [Violation::Unreadable { file, .. }] if Path::new(file) == Path::new("docs/architecture.md")),
        "{missing:?}"
    );
}
