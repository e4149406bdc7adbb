//! The annotated function, parsed only as far as the signature.
//!
//! The body stays raw tokens: it is pasted back unchanged, so parsing it would only cost
//! compile time and could reject syntax a newer rustc accepts.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::{ParseStream, Parser as _};
use syn::{Attribute, Signature, Token, Visibility};

use crate::kind::Kind;

/// `#[attrs] vis sig { body }`.
pub(crate) struct RunFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Signature,
    /// The brace-delimited body, braces included.
    pub(crate) body: Group,
}

impl RunFn {
    /// Parses `item`, or explains that `kind` only applies to functions with a body.
    pub(crate) fn parse(kind: Kind, item: TokenStream) -> syn::Result<Self> {
        (|input: ParseStream<'_>| parse_fn(kind, input)).parse2(item)
    }
}

fn parse_fn(kind: Kind, input: ParseStream<'_>) -> syn::Result<RunFn> {
    let attrs = input.call(Attribute::parse_outer)?;
    let vis: Visibility = input.parse()?;
    if input.fork().parse::<Signature>().is_err() {
        return Err(input.error(format!("{kind} can only be applied to a function")));
    }
    let sig: Signature = input.parse()?;
    if input.peek(Token![;]) {
        return Err(syn::Error::new_spanned(
            &sig.ident,
            format!("{kind} needs a function body: it cannot be applied to a declaration"),
        ));
    }
    let body: Group = input.parse()?;
    if body.delimiter() != Delimiter::Brace {
        return Err(syn::Error::new(body.span(), "expected the function body"));
    }
    Ok(RunFn {
        attrs,
        vis,
        sig,
        body,
    })
}

impl RunFn {
    /// The body's leading inner attributes (`#![allow(..)]`, `//!` docs), and the body
    /// without them: they are only allowed on a function's own body, not on the closure
    /// the body moves into ("attributes on expressions are experimental").
    pub(crate) fn split_body(&self) -> (TokenStream, Group) {
        let tokens: Vec<TokenTree> = self.body.stream().into_iter().collect();
        let mut split = 0;
        while let [
            TokenTree::Punct(hash),
            TokenTree::Punct(bang),
            TokenTree::Group(group),
            ..,
        ] = &tokens[split..]
            && hash.as_char() == '#'
            && bang.as_char() == '!'
            && group.delimiter() == Delimiter::Bracket
        {
            split += 3;
        }
        let mut rest = Group::new(Delimiter::Brace, tokens[split..].iter().cloned().collect());
        rest.set_span(self.body.span());
        (tokens[..split].iter().cloned().collect(), rest)
    }
}

impl ToTokens for RunFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn keeps_attributes_signature_and_body() {
        let item = quote! {
            /// Docs.
            #[inline]
            pub(crate) unsafe fn f<T: Clone>(x: T, (a, b): (u8, u8)) -> T where T: Copy {
                let _ = (a, b);
                x
            }
        };
        let parsed = RunFn::parse(Kind::Child, item.clone()).unwrap();
        assert_eq!(parsed.attrs.len(), 2);
        assert_eq!(parsed.sig.ident, "f");
        assert_eq!(
            parsed.to_token_stream().to_string(),
            item.to_string(),
            "re-emitting must not change the function"
        );
    }

    #[test]
    fn inner_attributes_are_split_from_the_body() {
        let item = quote! {
            fn f() {
                #![allow(unused)]
                //! Inner docs.
                let x = 1;
                #[allow(unused)]
                let y = 2;
            }
        };
        let (inner, rest) = RunFn::parse(Kind::Child, item).unwrap().split_body();
        assert_eq!(
            inner.to_string(),
            quote!(#![allow(unused)] #![doc = r" Inner docs."]).to_string()
        );
        assert_eq!(
            rest.to_string(),
            quote!({
                let x = 1;
                #[allow(unused)]
                let y = 2;
            })
            .to_string()
        );
    }

    #[test]
    fn rejects_items_that_are_not_functions() {
        let error = |item: TokenStream| match RunFn::parse(Kind::Parent, item) {
            Ok(_) => panic!("should not parse"),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            error(quote!(
                pub struct S;
            )),
            "`#[parent_run]` can only be applied to a function"
        );
        assert_eq!(
            error(quote!(
                fn f();
            )),
            "`#[parent_run]` needs a function body: it cannot be applied to a declaration"
        );
    }
}
