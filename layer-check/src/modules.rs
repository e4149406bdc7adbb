//! The module tree of one crate, built the way rustc finds module files: from the crate root,
//! following `mod x;` (to `x.rs` or `x/mod.rs`), `#[path = ".."]` and inline `mod x { .. }`.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use syn::ext::IdentExt;
use syn::{Attribute, Expr, ExprLit, Item, Lit, Meta};

use crate::cfg::Attrs;

/// Index into [`Crate::modules`]; the crate root is 0.
pub(crate) type ModId = usize;
/// Index into [`Crate::files`]; the crate root's file is 0.
pub(crate) type FileId = usize;

/// One module, inline or in a file of its own.
pub(crate) struct Module {
    pub(crate) parent: Option<ModId>,
    pub(crate) children: BTreeMap<String, ModId>,
    /// The file the module is written in: its own, or for an inline module the enclosing one.
    pub(crate) file: FileId,
}

/// One source file of the crate.
pub(crate) struct SourceFile {
    /// Relative to the crate root's directory, with `/` separators (`store/sqlite/mod.rs`).
    pub(crate) rel: String,
    /// Relative to the workspace root, for messages (`runtime/src/store/sqlite/mod.rs`).
    pub(crate) shown: String,
    pub(crate) text: String,
    pub(crate) ast: syn::File,
    /// The module whose file this is.
    pub(crate) module: ModId,
    /// Declared under `#[cfg(test)]`: compiled for the crate's unit tests only.
    pub(crate) test_only: bool,
}

/// A crate's modules and files, and what could not be read on the way.
pub(crate) struct Crate {
    /// The crate root's directory relative to the workspace root (`runtime/src`).
    pub(crate) src: String,
    pub(crate) modules: Vec<Module>,
    pub(crate) files: Vec<SourceFile>,
    /// (file as shown, what went wrong)
    pub(crate) errors: Vec<(String, String)>,
    src_dir: PathBuf,
    root: PathBuf,
    loaded: HashSet<PathBuf>,
}

/// Where the `mod` items of one block look for their files.
struct Dirs {
    /// For `mod x;`: `x.rs` or `x/mod.rs` in here.
    mods: PathBuf,
    /// For `#[path = "p"] mod x;`: `p` relative to here.
    paths: PathBuf,
}

impl Crate {
    /// Reads the crate whose root file is `lib`; `root` is the workspace root, for messages.
    pub(crate) fn load(root: &Path, lib: &Path) -> Crate {
        let src_dir = lib.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut krate = Crate {
            src: relative(&src_dir, root),
            modules: vec![Module {
                parent: None,
                children: BTreeMap::new(),
                file: 0,
            }],
            files: Vec::new(),
            errors: Vec::new(),
            src_dir: src_dir.clone(),
            root: root.to_path_buf(),
            loaded: HashSet::new(),
        };
        // The crate root keeps its children beside it, like a mod.rs file.
        let dirs = Dirs {
            mods: src_dir.clone(),
            paths: src_dir,
        };
        krate.load_file(lib, 0, &dirs, false);
        krate
    }

    fn load_file(&mut self, path: &Path, module: ModId, dirs: &Dirs, test_only: bool) {
        let shown = relative(path, &self.root);
        if !self.loaded.insert(path.to_path_buf()) {
            self.errors
                .push((shown, "included twice as a module".into()));
            return;
        }
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return self.errors.push((shown, e.to_string())),
        };
        let ast = match syn::parse_file(&text) {
            Ok(ast) => ast,
            Err(e) => {
                let line = e.span().start().line;
                return self.errors.push((shown, format!("line {line}: {e}")));
            }
        };
        let id = self.files.len();
        self.modules[module].file = id;
        self.files.push(SourceFile {
            rel: relative(path, &self.src_dir),
            shown,
            text,
            ast: syn::File {
                shebang: None,
                attrs: Vec::new(),
                items: Vec::new(),
            },
            module,
            test_only,
        });
        self.walk(&ast.items, module, id, dirs, test_only);
        self.files[id].ast = ast;
    }

    fn walk(&mut self, items: &[Item], module: ModId, file: FileId, dirs: &Dirs, test: bool) {
        for item in items {
            let Item::Mod(m) = item else { continue };
            let name = m.ident.unraw().to_string();
            let test = test || item.is_test();
            let child = self.modules.len();
            self.modules.push(Module {
                parent: Some(module),
                children: BTreeMap::new(),
                file,
            });
            // With `#[cfg]` alternatives of one name, paths resolve to the first.
            self.modules[module]
                .children
                .entry(name.clone())
                .or_insert(child);
            let path_attr = path_attr(&m.attrs);
            match &m.content {
                Some((_, inner)) => {
                    // Files of modules nested in an inline module sit in a directory of its name.
                    let dir = match &path_attr {
                        Some(p) => dirs.paths.join(p),
                        None => dirs.mods.join(&name),
                    };
                    let inner_dirs = Dirs {
                        mods: dir.clone(),
                        paths: dir,
                    };
                    self.walk(inner, child, file, &inner_dirs, test);
                }
                None => {
                    let flat = dirs.mods.join(format!("{name}.rs"));
                    let path = match &path_attr {
                        Some(p) => dirs.paths.join(p),
                        None if flat.is_file() => flat,
                        None => dirs.mods.join(&name).join("mod.rs"),
                    };
                    let here = path.parent().unwrap_or(Path::new("")).to_path_buf();
                    // A non-mod.rs file `a.rs` keeps its children in `a/`; a mod.rs file and
                    // a `#[path]` file keep them beside themselves.
                    let own_dir =
                        path_attr.is_none() && path.file_name() != Some("mod.rs".as_ref());
                    let mods = if own_dir {
                        here.join(&name)
                    } else {
                        here.clone()
                    };
                    self.load_file(&path, child, &Dirs { mods, paths: here }, test);
                }
            }
        }
    }
}

fn path_attr(attrs: &[Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// `path` relative to `base` with `/` separators; the whole path when outside `base`.
fn relative(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let parts: Vec<_> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect();
    parts.join("/")
}
