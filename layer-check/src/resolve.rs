//! Which file each path leads to: the file of the longest module prefix of the path that
//! exists. Re-exports are not followed, so a path through the crate root's `pub use` leads to
//! the crate root.

use std::collections::HashMap;

use crate::modules::{Crate, FileId, ModId};
use crate::refs::{Kind, Ref, collect};

/// A file naming something in another file of the same crate.
pub(crate) struct Edge {
    pub(crate) from: FileId,
    pub(crate) to: FileId,
    pub(crate) line: usize,
    pub(crate) written: String,
    /// From `#[cfg(test)]` code, which may reach anything.
    pub(crate) test: bool,
}

/// Every crate-local edge of the crate, one per path written (a file to itself excluded),
/// and the names `use` brings into each module.
pub(crate) fn edges(krate: &Crate) -> (Vec<Edge>, Scopes) {
    let refs: Vec<(FileId, Ref)> = (0..krate.files.len())
        .flat_map(|file| collect(krate, file).into_iter().map(move |r| (file, r)))
        .collect();
    let scopes = Scopes::build(krate, &refs);
    let edges = refs
        .iter()
        .filter_map(|(from, r)| {
            let (module, _) = scopes.locate(krate, r.module, &r.segments, r.test)?;
            let to = krate.modules[module].file;
            (to != *from).then(|| Edge {
                from: *from,
                to,
                line: r.line,
                written: r.written(),
                test: r.test,
            })
        })
        .collect();
    (edges, scopes)
}

/// What a name brought in by `use` stands for.
#[derive(Clone, Copy)]
struct Target {
    module: ModId,
    /// The name is the module itself, so a path may go on into its children.
    whole: bool,
}

/// The names `use` brings into one module; the flag marks `#[cfg(test)]` imports, which only
/// test code sees.
#[derive(Default)]
struct Scope {
    names: HashMap<(String, bool), Target>,
    globs: Vec<(ModId, bool)>,
    /// The path each name of a `use` outside test code stands for, as written; also for
    /// paths that lead outside the crate.
    paths: HashMap<String, Vec<String>>,
}

/// The names `use` brings into each module of a crate.
pub(crate) struct Scopes(Vec<Scope>);

impl Scopes {
    fn build(krate: &Crate, refs: &[(FileId, Ref)]) -> Scopes {
        let mut scopes = Scopes(krate.modules.iter().map(|_| Scope::default()).collect());
        for (_, r) in refs.iter().filter(|(_, r)| !r.test) {
            if let Kind::Use(Some(name)) = &r.kind {
                let paths = &mut scopes.0[r.module].paths;
                // With `#[cfg]` alternatives of one name, the first.
                paths
                    .entry(name.clone())
                    .or_insert_with(|| r.segments.clone());
            }
        }
        // A `use` may start from a name another `use` brought in; a few rounds settle that.
        for _ in 0..4 {
            let mut changed = false;
            for (_, r) in refs {
                let key = match &r.kind {
                    Kind::Use(Some(name)) => (name.clone(), r.test),
                    Kind::Glob => (String::new(), r.test),
                    _ => continue,
                };
                if r.kind != Kind::Glob && scopes.0[r.module].names.contains_key(&key) {
                    continue;
                }
                let Some((module, whole)) = scopes.locate(krate, r.module, &r.segments, r.test)
                else {
                    continue;
                };
                let scope = &mut scopes.0[r.module];
                if r.kind != Kind::Glob {
                    scope.names.insert(key, Target { module, whole });
                    changed = true;
                } else if whole && !scope.globs.contains(&(module, r.test)) {
                    // A glob brings in the child modules of the module it names.
                    scope.globs.push((module, r.test));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        scopes
    }

    fn name(&self, module: ModId, name: &str, test: bool) -> Option<Target> {
        let names = &self.0[module].names;
        let test_name = if test {
            names.get(&(name.to_string(), true))
        } else {
            None
        };
        test_name
            .or_else(|| names.get(&(name.to_string(), false)))
            .copied()
    }

    /// The path that the name `use` brings into `module` outside test code stands for.
    pub(crate) fn use_path(&self, module: ModId, name: &str) -> Option<&[String]> {
        self.0[module].paths.get(name).map(Vec::as_slice)
    }

    /// The modules whose items `use ..::*` brings into `module` outside test code.
    pub(crate) fn globs(&self, module: ModId) -> impl Iterator<Item = ModId> + '_ {
        self.0[module]
            .globs
            .iter()
            .filter(|&&(_, test)| !test)
            .map(|&(glob, _)| glob)
    }

    /// The deepest module the path names, and whether the whole path names modules.
    /// `None` for paths that start outside the crate.
    pub(crate) fn locate(
        &self,
        krate: &Crate,
        module: ModId,
        segments: &[String],
        test: bool,
    ) -> Option<(ModId, bool)> {
        let modules = &krate.modules;
        let (mut at, rest) = match segments.first()?.as_str() {
            "crate" => (0, &segments[1..]),
            "self" | "super" => {
                let mut at = module;
                let mut k = 0;
                while let Some(segment) = segments.get(k) {
                    match segment.as_str() {
                        "self" => {}
                        "super" => at = modules[at].parent?,
                        _ => break,
                    }
                    k += 1;
                }
                (at, &segments[k..])
            }
            // Rust 2018: a path may start at a child module of the current one.
            first if modules[module].children.contains_key(first) => (module, segments),
            first => match self.name(module, first, test) {
                Some(Target {
                    module,
                    whole: false,
                }) => return Some((module, false)),
                Some(Target {
                    module,
                    whole: true,
                }) => (module, &segments[1..]),
                None => {
                    let &(glob, _) = self.0[module].globs.iter().find(|&&(glob, glob_test)| {
                        (test || !glob_test) && modules[glob].children.contains_key(first)
                    })?;
                    (glob, segments)
                }
            },
        };
        for segment in rest {
            match modules[at].children.get(segment) {
                Some(&child) => at = child,
                None => return Some((at, false)),
            }
        }
        Some((at, true))
    }
}
