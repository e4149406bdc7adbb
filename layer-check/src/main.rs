//! `cargo run -p mlflow-layer-check [workspace root]`: prints the runtime's files with their
//! floors and imports, the longest import chain, the largest cycle and every violation; exits
//! with 1 on any violation.

use std::path::PathBuf;
use std::process::ExitCode;

use mlflow_layer_check::{check_docs, check_workspace};

fn main() -> ExitCode {
    let root = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    );
    let mut report = check_workspace(&root);
    report.violations.extend(check_docs(&root));
    print!("{report}");
    if report.violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
