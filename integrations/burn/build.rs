//! Finds the burn-train version this build resolved, for the `burn.version` tag: the crate
//! graph is not visible to a build script, but the `Cargo.lock` above the crate (a path or
//! workspace dependency) or above the target folder (a registry dependency built in a
//! project) records it.

use std::path::PathBuf;

fn main() {
    let version = lock_files()
        .find_map(|lock| {
            println!("cargo:rerun-if-changed={}", lock.display());
            burn_train_version(&std::fs::read_to_string(&lock).ok()?)
        })
        .unwrap_or_else(|| "0.22".to_owned());
    println!("cargo:rustc-env=MLFLOW_BURN_VERSION={version}");
    println!("cargo:rerun-if-changed=build.rs");
}

fn lock_files() -> impl Iterator<Item = PathBuf> {
    let start = |var: &str| std::env::var_os(var).map(PathBuf::from);
    [start("CARGO_MANIFEST_DIR"), start("OUT_DIR")]
        .into_iter()
        .flatten()
        .flat_map(|dir| {
            dir.ancestors()
                .map(|d| d.join("Cargo.lock"))
                .filter(|p| p.is_file())
                .collect::<Vec<_>>()
        })
}

/// The version of the `burn-train` 0.22 package in a `Cargo.lock`.
fn burn_train_version(lock: &str) -> Option<String> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"burn-train\"" {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            let version = version.strip_suffix('"')?;
            if version.starts_with("0.22.") {
                return Some(version.to_owned());
            }
        }
    }
    None
}
