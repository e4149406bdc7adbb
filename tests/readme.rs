//! The README and the crate docs against the code they describe. The README's Rust blocks
//! are compiled as doctests (`ReadmeDoctests` in src/lib.rs); this file checks what a
//! doctest cannot: the excerpts marked `rust,ignore` are in the example they quote, the two
//! commands are where a newcomer looks and CI runs the same one, every cargo feature is
//! named, and every environment variable the crate reads is in the crate docs' table.

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The fenced blocks of a Markdown text: (info string, body, line of the fence).
fn blocks(markdown: &str) -> Vec<(String, String, usize)> {
    let mut found = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (n, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new(), n + 1)),
            (Some(_), Some(_)) => found.push(open.take().expect("an open block")),
            (Some((_, body, _)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block in the README");
    found
}

/// Checks the Rust blocks of `markdown` (from `file`): compiled as doctests, or excerpts
/// marked `ignore` whose lines are in the example named just before them (comments after
/// `//` aside). Returns how many Rust blocks there were.
fn check_rust_blocks(file: &str, markdown: &str, unmarked_is_rust: bool) -> usize {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut rust_blocks = 0;
    for (info, body, line) in blocks(markdown) {
        let attrs: Vec<&str> = info.split(',').map(str::trim).collect();
        let is_rust = attrs[0] == "rust"
            || (unmarked_is_rust && ["", "no_run", "ignore"].contains(&attrs[0]));
        if !is_rust {
            continue;
        }
        rust_blocks += 1;
        for attr in attrs.iter().filter(|a| !a.is_empty() && **a != "rust") {
            assert!(
                ["no_run", "ignore"].contains(attr),
                "{file} line {line}: `{attr}` would keep the block from being compiled"
            );
        }
        if !attrs.contains(&"ignore") {
            continue; // a doctest
        }
        let before = lines[line.saturating_sub(4)..line - 1].join(" ");
        let example = before
            .split('`')
            .find(|s| s.starts_with("examples/") && s.ends_with(".rs"))
            .unwrap_or_else(|| {
                panic!("{file} line {line}: an ignored block must quote an example named just before it")
            });
        let source = read(example);
        for quoted in body
            .lines()
            .map(|l| l.split(" // ").next().unwrap_or_default().trim())
        {
            if quoted.is_empty() || quoted.starts_with("// ...") {
                continue;
            }
            assert!(
                source.lines().any(|l| l.trim() == quoted),
                "{file} line {line}: `{quoted}` is not in {example}"
            );
        }
    }
    rust_blocks
}

#[test]
fn every_rust_block_of_the_readme_is_compiled_or_quotes_an_example() {
    let blocks = check_rust_blocks("README.md", &read("README.md"), false);
    assert!(blocks >= 4, "the README's Rust blocks were not found");
}

#[test]
fn every_rust_block_of_the_crate_docs_is_compiled_or_quotes_an_example() {
    let docs: String = read("src/lib.rs")
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| format!("{}\n", l.strip_prefix(' ').unwrap_or(l)))
        .collect();
    let blocks = check_rust_blocks("src/lib.rs", &docs, true);
    assert!(blocks >= 10, "the crate docs' Rust blocks were not found");
}

#[test]
fn the_two_commands_are_near_the_top_and_ci_runs_the_readme_one() {
    let readme = read("README.md");
    let top: String = readme.lines().take(40).collect::<Vec<_>>().join("\n");
    assert!(
        top.contains("cargo run --example sweep"),
        "the example command"
    );
    assert!(top.contains("./scripts/test.sh"), "the test command");
    let ci = read(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == "exec ./scripts/test.sh"),
        ".ci/run must call exactly the README's test command"
    );
}

#[test]
fn the_readme_names_every_feature() {
    let manifest = read("Cargo.toml");
    let features = manifest
        .split("[features]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .expect("a [features] table");
    let names: Vec<&str> = features
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains(" = ["))
        .map(|l| l.split(" = ").next().unwrap_or_default().trim())
        .filter(|name| *name != "default")
        .collect();
    assert!(names.len() >= 6, "{names:?}");
    let readme = read("README.md");
    for name in names {
        assert!(
            readme.contains(&format!("`{name}`")),
            "the README does not name the feature `{name}`"
        );
    }
}

#[test]
fn every_environment_variable_is_in_the_configuration_table() {
    let docs = read("src/lib.rs");
    let table = docs
        .split("//! # Configuration")
        .nth(1)
        .and_then(|s| s.split("//! # ").next())
        .expect("a Configuration section in the crate docs");
    let env_rs = read("runtime/src/base/env.rs");
    let read_by_the_crate: BTreeSet<&str> = env_rs
        .split('"')
        .filter(|s| {
            s.starts_with("MLFLOW_") && s.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        .collect();
    assert!(read_by_the_crate.len() >= 20, "{read_by_the_crate:?}");
    for var in read_by_the_crate {
        assert!(
            table.contains(&format!("`{var}`")),
            "{var} is read (runtime/src/base/env.rs) but not in the crate docs' Configuration table"
        );
    }
}
