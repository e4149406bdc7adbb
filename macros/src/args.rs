//! The attribute's arguments: `#[child_run(name = "...", crate = path)]`.
//!
//! Each key parses its own value, so keys with other shapes (`skip(a, b)`, `tags(..)`) can be
//! added as one more arm of [`RunArgs::parse`] and one entry in [`KEYS`].

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprPath, Ident, Lit, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
}

/// Every key the attribute accepts, in the order error messages list them.
pub(crate) const KEYS: &[&str] = &["name", "crate"];

/// Parsed `key = value` arguments; `None` means "not given".
#[derive(Default)]
pub(crate) struct RunArgs {
    /// The run name template, checked against the function later.
    pub(crate) name: Option<LitStr>,
    /// Where generated code finds the runtime (`crate = my_reexport::mlflow`).
    pub(crate) krate: Option<Path>,
}

impl Parse for RunArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = RunArgs::default();
        while !input.is_empty() {
            if input.peek(kw::name) {
                let key = input.parse::<kw::name>()?;
                let value = value_of(input, "name", key.span)?;
                set_once(&mut args.name, "name", key.span, name_value(value)?)?;
            } else if input.peek(Token![crate]) {
                let key = input.parse::<Token![crate]>()?;
                let value = value_of(input, "crate", key.span)?;
                set_once(&mut args.krate, "crate", key.span, crate_value(value)?)?;
            } else if input.peek(Ident::peek_any) {
                let key = input.call(Ident::parse_any)?;
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown argument `{key}`; expected one of: {}", key_list()),
                ));
            } else if input.peek(LitStr) {
                let lit = input.parse::<LitStr>()?;
                return Err(syn::Error::new(
                    lit.span(),
                    format!(
                        "expected `key = value`: the run name is given as `name = {}`",
                        lit.token()
                    ),
                ));
            } else {
                return Err(input.error(format!(
                    "expected `key = value` where key is one of: {}",
                    key_list()
                )));
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}

fn key_list() -> String {
    KEYS.iter()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses `= <expr>` after `key`, explaining the expected shape when the `=` is missing
/// (a bare `name` or `name("..")`).
fn value_of(input: ParseStream<'_>, key: &str, key_span: Span) -> syn::Result<Expr> {
    if !input.peek(Token![=]) {
        let example = match key {
            "name" => "name = \"run_{i}\"",
            _ => "crate = my_reexport::mlflow",
        };
        return Err(syn::Error::new(
            key_span,
            format!("`{key}` takes a value: `{example}`"),
        ));
    }
    input.parse::<Token![=]>()?;
    input.parse()
}

/// Rejects a key given twice, pointing at the second one.
fn set_once<T>(slot: &mut Option<T>, key: &str, key_span: Span, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            key_span,
            format!("duplicate argument `{key}`: it may be given only once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

fn name_value(value: Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        other => Err(syn::Error::new(
            other.span(),
            "`name` must be a string literal, e.g. `name = \"run_{i}\"`; \
             to build the name from the function's arguments, name them in `{placeholders}`",
        )),
    }
}

/// Accepts a path, or a string holding one (the `#[serde(crate = "..")]` habit).
fn crate_value(value: Expr) -> syn::Result<Path> {
    match value {
        Expr::Path(ExprPath {
            qself: None, path, ..
        }) => Ok(path),
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => lit.parse::<Path>().map_err(|_| crate_error(lit.span())),
        other => Err(crate_error(other.span())),
    }
}

fn crate_error(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`crate` must be the path the `mlflow` crate is reachable at, \
         e.g. `crate = my_reexport::mlflow`",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens as _;

    fn parse(tokens: &str) -> syn::Result<RunArgs> {
        syn::parse_str(tokens)
    }

    fn error(tokens: &str) -> String {
        match parse(tokens) {
            Ok(_) => panic!("`{tokens}` should not parse"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn empty_arguments_use_defaults() {
        let args = parse("").unwrap();
        assert!(args.name.is_none() && args.krate.is_none());
    }

    #[test]
    fn name_and_crate_in_any_order_with_trailing_comma() {
        let args = parse(r#"crate = my::mlflow, name = "run_{i}","#).unwrap();
        assert_eq!(args.name.unwrap().value(), "run_{i}");
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            "my :: mlflow"
        );
        let args = parse(r#"name = r"raw{x}", crate = "::re::mlflow""#).unwrap();
        assert_eq!(args.name.unwrap().value(), "raw{x}");
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: re :: mlflow"
        );
    }

    #[test]
    fn unknown_key_lists_the_valid_keys() {
        assert_eq!(
            error(r#"nmae = "x""#),
            "unknown argument `nmae`; expected one of: `name`, `crate`"
        );
        assert!(error("type = 1").contains("unknown argument `type`"));
    }

    #[test]
    fn duplicate_key_is_rejected() {
        assert_eq!(
            error(r#"name = "a", name = "b""#),
            "duplicate argument `name`: it may be given only once"
        );
        assert!(error("crate = a, crate = b").contains("duplicate argument `crate`"));
    }

    #[test]
    fn values_have_the_right_shape() {
        assert!(error("name = run_name").contains("`name` must be a string literal"));
        assert!(error("name = 5").contains("`name` must be a string literal"));
        assert!(error(r#"name = concat!("a", "b")"#).contains("must be a string literal"));
        assert!(error("crate = 5").contains("`crate` must be the path"));
        assert!(error(r#"crate = "not a path""#).contains("`crate` must be the path"));
    }

    #[test]
    fn bare_keys_and_bare_values_explain_the_syntax() {
        assert_eq!(error("name"), "`name` takes a value: `name = \"run_{i}\"`");
        assert!(error(r#"name("x")"#).contains("`name` takes a value"));
        assert!(error("crate").contains("`crate` takes a value"));
        assert_eq!(
            error(r#""run_{i}""#),
            "expected `key = value`: the run name is given as `name = \"run_{i}\"`"
        );
        assert!(error("= 1").contains("expected `key = value`"));
    }

    #[test]
    fn arguments_must_be_comma_separated() {
        assert!(error(r#"name = "a" crate = x"#).contains("expected `,`"));
    }
}
