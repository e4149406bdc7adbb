//! The annotated function's doc comment, as the run's description.

use syn::{Attribute, Expr, ExprLit, Lit, Meta};

/// The text of the `///` lines (and `#[doc = "..."]` attributes) of `attrs`, as rustdoc
/// shows it: lines joined with `\n`, the indentation common to all lines removed, leading
/// and trailing blank lines dropped. `None` when there is no doc text. Docs built by a macro
/// (`#[doc = include_str!(..)]`) are left out: their text is unknown here.
pub(crate) fn doc_text(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|chunk| chunk.split('\n').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()?;
    let unindented: Vec<&str> = lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect();
    let text = unindented.join("\n");
    let text = text.trim_matches('\n');
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(src: &str) -> Vec<Attribute> {
        let item: syn::ItemFn = syn::parse_str(&format!("{src}\nfn f() {{}}")).unwrap();
        item.attrs
    }

    #[test]
    fn doc_comments_become_text_as_rustdoc_shows_them() {
        let a =
            attrs("///\n/// One trial of the sweep.\n///\n///   - indented {i}\n#[inline]\n///");
        assert_eq!(
            doc_text(&a).as_deref(),
            Some("One trial of the sweep.\n\n  - indented {i}")
        );
        assert_eq!(doc_text(&attrs("#[inline]")), None);
        assert_eq!(doc_text(&attrs("///")), None);
        assert_eq!(
            doc_text(&attrs("/** Block\n    doc */")).as_deref(),
            Some("Block\n   doc")
        );
    }
}
