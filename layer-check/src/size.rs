//! How long a file is without its tests.

use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{ImplItem, Item, TraitItem};

use crate::cfg::Attrs;
use crate::modules::SourceFile;

/// The most lines a runtime file may have, its `#[cfg(test)]` items not counted.
pub(crate) const LINE_LIMIT: usize = 600;

/// The file's lines less the lines of its `#[cfg(test)]` items (attributes included).
pub(crate) fn lines_without_tests(file: &SourceFile) -> usize {
    let mut tests = TestLines(0);
    tests.visit_file(&file.ast);
    file.text.lines().count().saturating_sub(tests.0)
}

struct TestLines(usize);

impl TestLines {
    /// Counts a test item's lines; a test item nested in it is counted with it.
    fn count(&mut self, item: &(impl Attrs + Spanned)) -> bool {
        let test = item.is_test();
        if test {
            let span = item.span();
            self.0 += span.end().line + 1 - span.start().line;
        }
        test
    }
}

impl<'ast> Visit<'ast> for TestLines {
    fn visit_item(&mut self, item: &'ast Item) {
        if !self.count(item) {
            visit::visit_item(self, item);
        }
    }

    fn visit_impl_item(&mut self, item: &'ast ImplItem) {
        if !self.count(item) {
            visit::visit_impl_item(self, item);
        }
    }

    fn visit_trait_item(&mut self, item: &'ast TraitItem) {
        if !self.count(item) {
            visit::visit_trait_item(self, item);
        }
    }
}
