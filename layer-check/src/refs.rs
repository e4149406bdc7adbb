//! Every path in a file that may name something of the crate: `use` trees, paths in code, and
//! path-shaped token runs inside macro invocations. Which of them are crate-local is decided
//! later, by the resolver; this only records them with their module and line.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::visit::{self, Visit};
use syn::{Attribute, ImplItem, Item, TraitItem, UseTree, Visibility};

use crate::cfg::Attrs;
use crate::modules::{Crate, FileId, ModId};

/// One path as written.
pub(crate) struct Ref {
    /// The module the path is written in (an inline module's, inside one).
    pub(crate) module: ModId,
    pub(crate) line: usize,
    pub(crate) segments: Vec<String>,
    /// Inside a `#[cfg(test)]` item, or in a test-only file.
    pub(crate) test: bool,
    pub(crate) kind: Kind,
}

/// Where a path was found.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// In code or in a macro's tokens.
    Code,
    /// A `use` leaf, with the name it brings into scope (`None` for `as _`).
    Use(Option<String>),
    /// `use path::*`.
    Glob,
}

impl Ref {
    /// The path the way it reads in the source.
    pub(crate) fn written(&self) -> String {
        let path = self.segments.join("::");
        match &self.kind {
            Kind::Glob => format!("{path}::*"),
            _ => path,
        }
    }
}

/// The paths of one file.
pub(crate) fn collect(krate: &Crate, file: FileId) -> Vec<Ref> {
    let source = &krate.files[file];
    let mut collector = Collector {
        krate,
        file,
        module: source.module,
        test: source.test_only,
        refs: Vec::new(),
    };
    collector.visit_file(&source.ast);
    collector.refs
}

struct Collector<'a> {
    krate: &'a Crate,
    file: FileId,
    module: ModId,
    test: bool,
    refs: Vec<Ref>,
}

impl Collector<'_> {
    fn push(&mut self, line: usize, segments: Vec<String>, kind: Kind) {
        let (module, test) = (self.module, self.test);
        self.refs.push(Ref {
            module,
            line,
            segments,
            test,
            kind,
        });
    }

    fn with_test(&mut self, test: bool, visit: impl FnOnce(&mut Self)) {
        let outer = self.test;
        self.test |= test;
        visit(self);
        self.test = outer;
    }

    fn use_tree(&mut self, tree: &UseTree, prefix: &mut Vec<String>) {
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.unraw().to_string());
                self.use_tree(&p.tree, prefix);
                prefix.pop();
            }
            UseTree::Name(n) => self.use_leaf(prefix, &n.ident, Some(n.ident.unraw().to_string())),
            UseTree::Rename(r) => {
                let name = r.rename.unraw().to_string();
                self.use_leaf(prefix, &r.ident, (name != "_").then_some(name));
            }
            UseTree::Glob(g) => self.push(
                g.star_token.spans[0].start().line,
                prefix.clone(),
                Kind::Glob,
            ),
            UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(t, prefix)),
        }
    }

    fn use_leaf(&mut self, prefix: &[String], ident: &syn::Ident, binds: Option<String>) {
        let mut path = prefix.to_vec();
        // `use a::{self}` names `a` itself and binds it.
        let binds = if ident == "self" {
            binds
                .filter(|b| b != "self")
                .or_else(|| prefix.last().cloned())
        } else {
            path.push(ident.unraw().to_string());
            binds
        };
        self.push(ident.span().start().line, path, Kind::Use(binds));
    }

    /// Finds `a :: b :: c` runs in a macro's tokens; whether `a` is local is decided later.
    fn scan(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        for (i, token) in tokens.iter().enumerate() {
            match token {
                TokenTree::Group(g) => self.scan(g.stream()),
                // Only where a path starts: not after `::`.
                TokenTree::Ident(first) if !(i >= 2 && path_sep(&tokens, i - 2)) => {
                    let mut segments = vec![first.unraw().to_string()];
                    let mut j = i + 1;
                    while path_sep(&tokens, j) {
                        let Some(TokenTree::Ident(next)) = tokens.get(j + 2) else {
                            break;
                        };
                        segments.push(next.unraw().to_string());
                        j += 3;
                    }
                    if segments.len() >= 2 {
                        self.push(first.span().start().line, segments, Kind::Code);
                    }
                }
                _ => {}
            }
        }
    }
}

/// Whether `tokens[at..]` starts with `::`.
fn path_sep(tokens: &[TokenTree], at: usize) -> bool {
    matches!(
        (tokens.get(at), tokens.get(at + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
    )
}

impl<'ast> Visit<'ast> for Collector<'_> {
    // Doc comments (intra-doc links too), derives and cfgs import nothing.
    fn visit_attribute(&mut self, _: &'ast Attribute) {}

    // `pub(crate)` and `pub(super)` name modules but import nothing.
    fn visit_visibility(&mut self, _: &'ast Visibility) {}

    fn visit_item(&mut self, item: &'ast Item) {
        self.with_test(item.is_test(), |s| visit::visit_item(s, item));
    }

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        self.with_test(item.is_test(), |s| visit::visit_impl_item(s, item));
    }

    fn visit_trait_item(&mut self, item: &'ast TraitItem) {
        self.with_test(item.is_test(), |s| visit::visit_trait_item(s, item));
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let outer = self.module;
        // Only inline modules of this file; a `mod` inside a function body is not in the tree.
        let name = item.ident.unraw().to_string();
        if let Some(&child) = self.krate.modules[outer].children.get(&name)
            && item.content.is_some()
            && self.krate.modules[child].file == self.file
        {
            self.module = child;
        }
        visit::visit_item_mod(self, item);
        self.module = outer;
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        // `use ::name` is always another crate.
        if item.leading_colon.is_none() {
            self.use_tree(&item.tree, &mut Vec::new());
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        // One segment is a local name or an item already brought in by a `use`.
        if path.leading_colon.is_none() && path.segments.len() >= 2 {
            let segments = path
                .segments
                .iter()
                .map(|s| s.ident.unraw().to_string())
                .collect();
            let line = path.segments[0].ident.span().start().line;
            self.push(line, segments, Kind::Code);
        }
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        self.scan(mac.tokens.clone());
    }
}
