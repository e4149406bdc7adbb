//! The types of one crate: one name for one type, and each type's inherent `impl` blocks in
//! at most two files.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use syn::ext::IdentExt;
use syn::visit::{self, Visit};
use syn::{Ident, ImplItem, Item, Path, Type, TypeParamBound};

use crate::cfg::Attrs;
use crate::modules::{Crate, FileId, ModId};
use crate::report::Violation;
use crate::resolve::Scopes;

/// The most files a type's inherent `impl` blocks may be spread over, tests not counted.
pub(crate) const IMPL_FILE_LIMIT: usize = 2;

/// How many `use` names and globs a self type's path is followed through.
const USE_DEPTH: usize = 8;

/// The crate's types that break a rule: a name given to more than one type, and a type whose
/// inherent impls are spread over more than [`IMPL_FILE_LIMIT`] files.
pub(crate) fn check_types(krate: &Crate, scopes: &Scopes) -> Vec<Violation> {
    let mut found = Found::default();
    for (file, source) in krate.files.iter().enumerate() {
        if source.test_only {
            continue;
        }
        let mut collector = Definitions {
            krate,
            file,
            module: source.module,
            depth: 0,
            found: &mut found,
        };
        collector.visit_file(&source.ast);
    }
    let mut violations = duplicates(krate, &found.defs);
    violations.extend(spread(krate, scopes, &found));
    violations
}

/// A type defined at module level: a struct, enum, union, type alias or trait.
struct Def {
    module: ModId,
    name: String,
    file: FileId,
}

/// An inherent `impl` block with at least one item outside `#[cfg(test)]`.
struct Inherent {
    module: ModId,
    file: FileId,
    /// The self type's path as written, generics left out.
    segments: Vec<String>,
}

#[derive(Default)]
struct Found {
    defs: Vec<Def>,
    impls: Vec<Inherent>,
}

/// Two definitions of one name, in modules of their own or not.
fn duplicates(krate: &Crate, defs: &[Def]) -> Vec<Violation> {
    let mut by_name: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for def in defs {
        let shown = krate.files[def.file].shown.clone();
        by_name.entry(&def.name).or_default().push(shown);
    }
    by_name
        .into_iter()
        .filter(|(_, files)| files.len() > 1)
        .map(|(name, mut files)| {
            files.sort();
            Violation::DuplicateType {
                name: name.to_string(),
                krate: krate.src.clone(),
                files,
            }
        })
        .collect()
}

/// The types whose inherent impls are in more than [`IMPL_FILE_LIMIT`] files.
fn spread(krate: &Crate, scopes: &Scopes, found: &Found) -> Vec<Violation> {
    let mut defined: HashMap<(ModId, &str), FileId> = HashMap::new();
    let mut modules_of: HashMap<&str, BTreeSet<ModId>> = HashMap::new();
    for def in &found.defs {
        defined.entry((def.module, &def.name)).or_insert(def.file);
        modules_of.entry(&def.name).or_default().insert(def.module);
    }
    let resolver = Resolver {
        krate,
        scopes,
        defined: &defined,
    };
    // A type is its defining module and name; its name alone when the path does not lead to
    // a definition and the crate has no single type of that name to take instead.
    let mut files: BTreeMap<(String, Option<ModId>), BTreeSet<FileId>> = BTreeMap::new();
    for imp in &found.impls {
        let Some(written) = imp.segments.last() else {
            continue;
        };
        let key = match resolver.path(imp.module, &imp.segments, USE_DEPTH) {
            Some((module, name)) => (name, Some(module)),
            None => match modules_of.get(written.as_str()) {
                Some(modules) if modules.len() == 1 => (written.clone(), modules.first().copied()),
                _ => (written.clone(), None),
            },
        };
        files.entry(key).or_default().insert(imp.file);
    }
    files
        .into_iter()
        .filter(|(_, files)| files.len() > IMPL_FILE_LIMIT)
        .map(|((name, module), files)| {
            let definition =
                module.map(|m| krate.files[defined[&(m, name.as_str())]].shown.clone());
            let mut files: Vec<String> = files
                .into_iter()
                .map(|f| krate.files[f].shown.clone())
                .collect();
            files.sort();
            Violation::ImplSpread {
                name,
                krate: krate.src.clone(),
                defined: definition,
                files,
            }
        })
        .collect()
}

/// Which definition a path leads to, through modules, `use` names and globs.
struct Resolver<'a> {
    krate: &'a Crate,
    scopes: &'a Scopes,
    defined: &'a HashMap<(ModId, &'a str), FileId>,
}

impl Resolver<'_> {
    /// The module and name of the type the path written in `module` names, if the crate
    /// defines it.
    fn path(&self, module: ModId, segments: &[String], depth: usize) -> Option<(ModId, String)> {
        match segments {
            [] => None,
            [name] => self.name(module, name, depth),
            [prefix @ .., name] => match self.scopes.locate(self.krate, module, prefix, false)? {
                (at, true) => self.name(at, name, depth),
                (_, false) => None,
            },
        }
    }

    /// The type `name` stands for in `module`: defined there, or brought in by `use`.
    fn name(&self, module: ModId, name: &str, depth: usize) -> Option<(ModId, String)> {
        if self.defined.contains_key(&(module, name)) {
            return Some((module, name.to_string()));
        }
        let depth = depth.checked_sub(1)?;
        if let Some(path) = self.scopes.use_path(module, name) {
            return self.path(module, path, depth);
        }
        self.scopes
            .globs(module)
            .find_map(|glob| self.name(glob, name, depth))
    }
}

/// The types a file defines and the inherent impls it holds, `#[cfg(test)]` items left out.
struct Definitions<'a> {
    krate: &'a Crate,
    file: FileId,
    module: ModId,
    /// How many blocks (function bodies, `const` initializers) deep: items in a block are
    /// not the module's.
    depth: usize,
    found: &'a mut Found,
}

impl Definitions<'_> {
    fn define(&mut self, ident: &Ident) {
        if self.depth == 0 {
            self.found.defs.push(Def {
                module: self.module,
                name: ident.unraw().to_string(),
                file: self.file,
            });
        }
    }
}

impl<'ast> Visit<'ast> for Definitions<'_> {
    fn visit_item(&mut self, item: &'ast Item) {
        if item.is_test() {
            return;
        }
        match item {
            Item::Struct(i) => self.define(&i.ident),
            Item::Enum(i) => self.define(&i.ident),
            Item::Union(i) => self.define(&i.ident),
            Item::Type(i) => self.define(&i.ident),
            Item::Trait(i) => self.define(&i.ident),
            Item::TraitAlias(i) => self.define(&i.ident),
            // An item macro whose input reads as items (`pin_project! { struct S { .. } }`)
            // is taken to define them; `macro_rules!` is not.
            Item::Macro(i) if i.ident.is_none() => {
                if let Ok(file) = i.mac.parse_body::<syn::File>() {
                    file.items.iter().for_each(|item| self.visit_item(item));
                }
            }
            _ => {}
        }
        visit::visit_item(self, item);
    }

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        if !item.is_test() {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let live = item.items.iter().any(|i| !i.is_test());
        if item.trait_.is_none()
            && live
            && let Some(segments) = self_path(&item.self_ty)
        {
            self.found.impls.push(Inherent {
                module: self.module,
                file: self.file,
                segments,
            });
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let outer = self.module;
        // Only inline modules of this file at module level; a `mod` in a block is in none.
        let name = item.ident.unraw().to_string();
        if self.depth == 0
            && let Some(&child) = self.krate.modules[outer].children.get(&name)
            && item.content.is_some()
            && self.krate.modules[child].file == self.file
        {
            self.module = child;
        }
        visit::visit_item_mod(self, item);
        self.module = outer;
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        self.depth += 1;
        visit::visit_block(self, block);
        self.depth -= 1;
    }
}

/// The path of an impl's self type, generics left out: `Foo` of `crate::x::Foo<T>`, the
/// trait of `dyn Trait`.
fn self_path(ty: &Type) -> Option<Vec<String>> {
    let segments = |path: &Path| {
        path.segments
            .iter()
            .map(|s| s.ident.unraw().to_string())
            .collect()
    };
    match ty {
        Type::Path(p) if p.qself.is_none() => Some(segments(&p.path)),
        Type::Paren(p) => self_path(&p.elem),
        Type::Group(g) => self_path(&g.elem),
        Type::TraitObject(t) => t.bounds.iter().find_map(|b| match b {
            TypeParamBound::Trait(t) => Some(segments(&t.path)),
            _ => None,
        }),
        _ => None,
    }
}
