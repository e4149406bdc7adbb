//! The real workspace keeps its architecture.

use std::path::{Path, PathBuf};

use mlflow_layer_check::{check_docs, check_workspace};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn workspace_keeps_floors_cycles_sizes_and_types() {
    let report = check_workspace(&root());
    assert!(report.violations.is_empty(), "{report}");
}

#[test]
fn architecture_doc_names_every_runtime_file() {
    let violations = check_docs(&root());
    let listed: String = violations.iter().map(|v| format!("  {v}\n")).collect();
    assert!(
        violations.is_empty(),
        "docs/architecture.md is behind runtime/src:\n{listed}"
    );
}
