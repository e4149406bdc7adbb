//! The architecture doc names every runtime file.

use std::fs;
use std::path::Path;

use crate::check::unreadable;
use crate::floors::FLOORED_SRC;
use crate::modules::Crate;
use crate::report::Violation;

/// Where the floors and every runtime file are described, relative to the workspace root.
const DOC: &str = "docs/architecture.md";

/// Checks that `docs/architecture.md` names every file of `runtime/src` in backticks, by its
/// path relative to `runtime/src` (`sender/outage.rs`), so that the doc keeps one line per
/// module. Files are those of the module tree, test-only modules included.
pub fn check_docs(root: &Path) -> Vec<Violation> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let text = match fs::read_to_string(root.join(DOC)) {
        Ok(text) => text,
        Err(e) => {
            return vec![Violation::Unreadable {
                file: DOC.into(),
                error: e.to_string(),
            }];
        }
    };
    let named = code_spans(&text);
    let krate = Crate::load(&root, &root.join(FLOORED_SRC).join("lib.rs"));
    let mut violations: Vec<Violation> = unreadable(&krate).collect();
    for file in &krate.files {
        let long = format!("{FLOORED_SRC}/{}", file.rel);
        if !named.iter().any(|&span| span == file.rel || span == long) {
            violations.push(Violation::Undocumented {
                file: file.rel.clone(),
            });
        }
    }
    violations
}

/// The inline code spans of a markdown text; fenced blocks are not names.
fn code_spans(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut spans = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            spans.extend(line.split('`').skip(1).step_by(2));
        }
    }
    spans
}
