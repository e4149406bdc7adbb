//! The attribute's arguments: `#[child_run(name = "...", params(lr), skip(data),
//! tags(team = "vision"), experiment = "...", description = "...", system_metrics = true,
//! crate = path)]`.
//!
//! Each key parses its own value: `key = value` keys through [`value_of`], list keys
//! (`params(..)`, `skip(..)`, `tags(..)`) through [`list_of`]. Whether the names in the
//! lists are arguments of the function is checked later, against the signature.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned as _;
use syn::{Expr, ExprLit, ExprPath, Ident, Lit, LitBool, LitStr, Path, Token};

mod kw {
    syn::custom_keyword!(name);
    syn::custom_keyword!(params);
    syn::custom_keyword!(skip);
    syn::custom_keyword!(tags);
    syn::custom_keyword!(experiment);
    syn::custom_keyword!(description);
    syn::custom_keyword!(system_metrics);
}

/// Every key the attribute accepts, in the order error messages list them.
pub(crate) const KEYS: &[&str] = &[
    "name",
    "params",
    "skip",
    "tags",
    "experiment",
    "description",
    "system_metrics",
    "crate",
];

/// Parsed arguments; `None` means "not given".
#[derive(Default)]
pub(crate) struct RunArgs {
    /// The run name template, checked against the function later.
    pub(crate) name: Option<LitStr>,
    /// `params(..)`: which arguments are logged as params when the run starts.
    pub(crate) params: Option<Params>,
    /// `skip(..)`: arguments left out of `params(*)`, with the span of `skip`.
    pub(crate) skip: Option<(Span, Vec<Ident>)>,
    /// `tags(key = "value", ..)`: tags set when the run starts.
    pub(crate) tags: Option<Vec<(LitStr, LitStr)>>,
    /// `experiment = ".."`, with the span of the key (only `#[parent_run]` accepts it).
    pub(crate) experiment: Option<(Span, LitStr)>,
    /// `description = ".."` or `description = false` (default: the doc comment).
    pub(crate) description: Option<Description>,
    /// `system_metrics = true|false`: the run's choice, over the switch and the variable.
    pub(crate) system_metrics: Option<LitBool>,
    /// Where generated code finds the runtime (`crate = my_reexport::mlflow`).
    pub(crate) krate: Option<Path>,
}

/// What `description = ..` says.
pub(crate) enum Description {
    /// This text instead of the doc comment.
    Text(LitStr),
    /// `false`: no description, whatever the doc comment says.
    Off,
}

/// What `params(..)` selects.
pub(crate) enum Params {
    /// `params(*)`: every argument but `self` and the skipped ones.
    All,
    /// `params(a, b)`: these, in this order.
    Named(Vec<Ident>),
}

impl Parse for RunArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = RunArgs::default();
        while !input.is_empty() {
            if input.peek(kw::name) {
                let key = input.parse::<kw::name>()?;
                let value = value_of(input, "name", key.span)?;
                set_once(&mut args.name, "name", key.span, name_value(value)?)?;
            } else if input.peek(kw::params) {
                let key = input.parse::<kw::params>()?;
                let value = params_value(input, key.span)?;
                set_once(&mut args.params, "params", key.span, value)?;
            } else if input.peek(kw::skip) {
                let key = input.parse::<kw::skip>()?;
                let list = list_of(input, "skip", key.span)?;
                let names = names_value(&list, "skip", key.span)?;
                set_once(&mut args.skip, "skip", key.span, (key.span, names))?;
            } else if input.peek(kw::tags) {
                let key = input.parse::<kw::tags>()?;
                let list = list_of(input, "tags", key.span)?;
                set_once(&mut args.tags, "tags", key.span, tags_value(&list)?)?;
            } else if input.peek(kw::experiment) {
                let key = input.parse::<kw::experiment>()?;
                let value = value_of(input, "experiment", key.span)?;
                let lit = experiment_value(value)?;
                set_once(
                    &mut args.experiment,
                    "experiment",
                    key.span,
                    (key.span, lit),
                )?;
            } else if input.peek(kw::description) {
                let key = input.parse::<kw::description>()?;
                let value = value_of(input, "description", key.span)?;
                let value = description_value(value)?;
                set_once(&mut args.description, "description", key.span, value)?;
            } else if input.peek(kw::system_metrics) {
                let key = input.parse::<kw::system_metrics>()?;
                let value = value_of(input, "system_metrics", key.span)?;
                let flag = system_metrics_value(value)?;
                set_once(&mut args.system_metrics, "system_metrics", key.span, flag)?;
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
            "experiment" => "experiment = \"my-experiment\"",
            "description" => "description = \"what this run is for\"",
            "system_metrics" => "system_metrics = true",
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

/// The parenthesized list after a list key (`params(..)`), as comma-separated
/// expressions, explaining the expected shape when it is written `key = ..` or bare.
fn list_of(
    input: ParseStream<'_>,
    key: &str,
    key_span: Span,
) -> syn::Result<Punctuated<Expr, Token![,]>> {
    if !input.peek(syn::token::Paren) {
        let example = match key {
            "params" => "`params(lr, batch_size)`, or `params(*)` for every argument",
            "skip" => "`skip(data)`, next to `params(*)`",
            _ => "`tags(team = \"vision\", stage = \"dev\")`",
        };
        return Err(syn::Error::new(
            key_span,
            format!("`{key}` takes a list in parentheses: {example}"),
        ));
    }
    let content;
    syn::parenthesized!(content in input);
    Punctuated::parse_terminated(&content)
}

/// `(*)`, or a list of names.
fn params_value(input: ParseStream<'_>, key_span: Span) -> syn::Result<Params> {
    if starts_with_star(input) {
        let content;
        syn::parenthesized!(content in input);
        content.parse::<Token![*]>()?;
        if !content.is_empty() {
            return Err(content
                .error("`params(*)` takes no other names: use `skip(..)` to leave arguments out"));
        }
        return Ok(Params::All);
    }
    let list = list_of(input, "params", key_span)?;
    names_value(&list, "params", key_span).map(Params::Named)
}

/// True for `(*..`; `*` alone is no expression, so [`list_of`] cannot take it.
fn starts_with_star(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    let peek = || -> syn::Result<bool> {
        let content;
        syn::parenthesized!(content in fork);
        Ok(content.peek(Token![*]))
    };
    peek().unwrap_or(false)
}

/// A list of argument names, each given once.
fn names_value(
    list: &Punctuated<Expr, Token![,]>,
    key: &str,
    key_span: Span,
) -> syn::Result<Vec<Ident>> {
    if list.is_empty() {
        return Err(syn::Error::new(
            key_span,
            format!("`{key}()` names no argument: name at least one, e.g. `{key}(lr)`"),
        ));
    }
    let mut names: Vec<Ident> = Vec::new();
    for expr in list {
        let ident = match expr {
            Expr::Path(ExprPath {
                qself: None, path, ..
            }) if path.get_ident().is_some() => path.get_ident().cloned(),
            _ => None,
        };
        let Some(ident) = ident else {
            return Err(syn::Error::new(
                expr.span(),
                format!("`{key}(..)` takes argument names, e.g. `{key}(lr, batch_size)`"),
            ));
        };
        if names.iter().any(|n| n.unraw() == ident.unraw()) {
            return Err(syn::Error::new(
                ident.span(),
                format!("`{}` is named twice in `{key}(..)`", ident.unraw()),
            ));
        }
        names.push(ident);
    }
    Ok(names)
}

/// `key = "value"` pairs; a key is an identifier or, for keys with dots, a string.
/// `description = "text"` or `description = false`; the text is used literally (no
/// placeholders), like the doc comment it replaces.
fn description_value(value: Expr) -> syn::Result<Description> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(Description::Text(lit)),
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) if !b.value => Ok(Description::Off),
        other => Err(syn::Error::new(
            other.span(),
            "`description` takes a string literal, e.g. `description = \"what this run is for\"`, \
             or `false` for none; without it the run's description is the function's doc comment",
        )),
    }
}

fn tags_value(list: &Punctuated<Expr, Token![,]>) -> syn::Result<Vec<(LitStr, LitStr)>> {
    let mut tags: Vec<(LitStr, LitStr)> = Vec::new();
    for expr in list {
        let Expr::Assign(assign) = expr else {
            return Err(syn::Error::new(
                expr.span(),
                "`tags(..)` takes `key = \"value\"` pairs, e.g. `tags(team = \"vision\")`",
            ));
        };
        let key = match &*assign.left {
            Expr::Path(ExprPath {
                qself: None, path, ..
            }) if path.get_ident().is_some() => path
                .get_ident()
                .map(|ident| LitStr::new(&ident.unraw().to_string(), ident.span())),
            Expr::Lit(ExprLit {
                lit: Lit::Str(lit), ..
            }) => Some(lit.clone()),
            _ => None,
        };
        let Some(key) = key else {
            return Err(syn::Error::new(
                assign.left.span(),
                "a tag key is an identifier or a string literal: `team = \"..\"`, \
                 `\"mlflow.note.content\" = \"..\"`",
            ));
        };
        if let Some(problem) = tag_key_problem(&key.value()) {
            return Err(syn::Error::new(key.span(), problem));
        }
        let Expr::Lit(ExprLit {
            lit: Lit::Str(value),
            ..
        }) = &*assign.right
        else {
            return Err(syn::Error::new(
                assign.right.span(),
                format!(
                    "the value of tag `{}` must be a string literal, e.g. `{} = \"vision\"`; \
                     for values known only at run time, call `mlflow::set_tag` in the body",
                    key.value(),
                    key.value()
                ),
            ));
        };
        if tags.iter().any(|(k, _)| k.value() == key.value()) {
            return Err(syn::Error::new(
                key.span(),
                format!("tag `{}` is given twice in `tags(..)`", key.value()),
            ));
        }
        tags.push((key, value.clone()));
    }
    Ok(tags)
}

/// MLflow's rule for keys, as the runtime checks them: alphanumerics, `_`, `-`, `.`, ` `,
/// `:` and `/`, at most 250 characters, and no empty, `.` or `..` path segment.
fn tag_key_problem(key: &str) -> Option<String> {
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/');
    if key.is_empty() {
        return Some("a tag key cannot be empty".to_owned());
    }
    if key.chars().count() > 250 {
        return Some("a tag key has at most 250 characters".to_owned());
    }
    if !key.chars().all(allowed) {
        return Some(format!(
            "invalid tag key `{key}`: MLflow keys may contain only alphanumerics, \
             underscores, dashes, periods, spaces, colons and slashes"
        ));
    }
    if key.starts_with('/')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Some(format!(
            "invalid tag key `{key}`: a key may not start with `/` or have an empty, \
             `.` or `..` path segment"
        ));
    }
    None
}

fn experiment_value(value: Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) if !lit.value().trim().is_empty() => Ok(lit),
        other => Err(syn::Error::new(
            other.span(),
            "`experiment` must be a non-empty string literal naming the experiment, \
             e.g. `experiment = \"tuning\"`",
        )),
    }
}

fn system_metrics_value(value: Expr) -> syn::Result<LitBool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(flag),
            ..
        }) => Ok(flag),
        other => Err(syn::Error::new(
            other.span(),
            "`system_metrics` must be `true` or `false`: whether the run logs system metrics \
             (`system/cpu_utilization_percentage`, ...), whatever \
             `MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING` says",
        )),
    }
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
            "unknown argument `nmae`; expected one of: `name`, `params`, `skip`, `tags`, \
             `experiment`, `description`, `system_metrics`, `crate`"
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
    fn list_keys_parse_their_lists() {
        let args =
            parse(r#"params(lr, r#type), skip(data), tags(team = "v", "a.b" = "c")"#).unwrap();
        let Some(Params::Named(names)) = args.params else {
            panic!("expected named params")
        };
        assert_eq!(names.len(), 2);
        assert_eq!(args.skip.unwrap().1[0], "data");
        let tags: Vec<_> = args
            .tags
            .unwrap()
            .iter()
            .map(|(k, v)| (k.value(), v.value()))
            .collect();
        assert_eq!(
            tags,
            [("team".into(), "v".into()), ("a.b".into(), "c".into())]
        );
        assert!(matches!(
            parse("params(*)").unwrap().params,
            Some(Params::All)
        ));
        let args = parse(r#"experiment = "tuning""#).unwrap();
        assert_eq!(args.experiment.unwrap().1.value(), "tuning");
    }

    #[test]
    fn list_keys_explain_their_shape() {
        assert!(error("params = lr").contains("`params` takes a list in parentheses"));
        assert!(error("skip").contains("`skip` takes a list"));
        assert!(error("params()").contains("names no argument"));
        assert!(error("params(*, lr)").contains("takes no other names"));
        assert!(error("params(a.b)").contains("takes argument names"));
        assert!(error("params(a, a)").contains("`a` is named twice"));
        assert!(error("params(a), params(b)").contains("duplicate argument `params`"));
        assert!(error("tags(team)").contains("`key = \"value\"` pairs"));
        assert!(error("tags(team = 1)").contains("must be a string literal"));
        assert!(error(r#"tags(a = "x", a = "y")"#).contains("given twice"));
        assert!(error(r#"tags("a$b" = "x")"#).contains("invalid tag key"));
        assert!(error(r#"tags("a//b" = "x")"#).contains("empty"));
        assert!(parse(r#"tags("a:b/c" = "x")"#).is_ok());
        assert!(error("experiment = 1").contains("non-empty string literal"));
        assert!(error(r#"experiment = """#).contains("non-empty string literal"));
        assert!(error("experiment").contains("`experiment` takes a value"));
    }

    #[test]
    fn system_metrics_takes_a_bool() {
        assert!(
            parse("system_metrics = true")
                .unwrap()
                .system_metrics
                .unwrap()
                .value
        );
        assert!(
            !parse("system_metrics = false")
                .unwrap()
                .system_metrics
                .unwrap()
                .value
        );
        assert!(error(r#"system_metrics = "yes""#).contains("must be `true` or `false`"));
        assert!(error("system_metrics = 1").contains("must be `true` or `false`"));
        assert!(error("system_metrics").contains("`system_metrics = true`"));
        assert!(error("system_metrics = true, system_metrics = false").contains("duplicate"));
    }

    #[test]
    fn arguments_must_be_comma_separated() {
        assert!(error(r#"name = "a" crate = x"#).contains("expected `,`"));
    }
}
