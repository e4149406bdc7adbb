//! The library crates of the workspace, from the root `Cargo.toml`: the root package and the
//! `[workspace] members`, each by its `[lib] path` or `src/lib.rs`.

use std::fs;
use std::path::{Path, PathBuf};

/// The root file of every library crate of the workspace that has one.
pub(crate) fn library_roots(root: &Path) -> Result<Vec<PathBuf>, String> {
    let manifest = read_manifest(&root.join("Cargo.toml"))?;
    let mut dirs = Vec::new();
    if manifest.contains_key("package") {
        dirs.push(root.to_path_buf());
    }
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array());
    for member in members.into_iter().flatten() {
        let member = member
            .as_str()
            .ok_or("Cargo.toml: a workspace member is not a string")?;
        // Globs would need a directory walk the workspace does not need.
        if member.contains(['*', '?', '[']) {
            return Err(format!(
                "Cargo.toml: member glob `{member}` is not supported; list members"
            ));
        }
        dirs.push(root.join(member));
    }
    let mut libs = Vec::new();
    for dir in dirs {
        let manifest = read_manifest(&dir.join("Cargo.toml"))?;
        let lib_path = manifest
            .get("lib")
            .and_then(|l| l.get("path"))
            .and_then(|p| p.as_str());
        let lib = dir.join(lib_path.unwrap_or("src/lib.rs"));
        if lib.is_file() {
            libs.push(lib);
        }
    }
    Ok(libs)
}

fn read_manifest(path: &Path) -> Result<toml::Table, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.parse().map_err(|e| format!("{}: {e}", path.display()))
}
