//! Checks the arguments against the function and decides what to generate.

use std::ops::Range;

use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens as _, quote_spanned};
use syn::ext::IdentExt as _;
use syn::{FnArg, LitStr, Pat, Path, Signature};

use crate::args::{Description, Params, RunArgs};
use crate::docs;
use crate::item::RunFn;
use crate::kind::Kind;
use crate::template::{self, Piece};

/// Everything expansion needs, all checks passed.
pub(crate) struct Plan {
    /// Path to the `mlflow` facade, `::mlflow` unless `crate = ..` says otherwise.
    pub(crate) krate: Path,
    pub(crate) name: RunName,
    /// `(key, value)`: the value an expression borrowing the argument, spanned so that a
    /// missing `Display` is reported at the argument.
    pub(crate) params: Vec<(LitStr, TokenStream)>,
    pub(crate) tags: Vec<(LitStr, LitStr)>,
    pub(crate) experiment: Option<LitStr>,
    /// The run's description: `description = ".."`, else the doc comment.
    pub(crate) description: Option<LitStr>,
    pub(crate) system_metrics: Option<syn::LitBool>,
}

/// How the run name is produced when the run starts.
pub(crate) enum RunName {
    /// Known at compile time: the function's name, or a template without placeholders.
    Static(LitStr),
    /// `format!(template, key = value, ..)`.
    Format {
        template: LitStr,
        args: Vec<(Ident, TokenStream)>,
    },
}

/// Validates `func` and `args` together; every problem found is reported at once.
pub(crate) fn check(kind: Kind, args: &RunArgs, func: &RunFn) -> syn::Result<Plan> {
    let mut errors = Errors::default();
    check_signature(kind, &func.sig, &mut errors);
    let name = match &args.name {
        Some(lit) => run_name(lit, &func.sig).unwrap_or_else(|e| {
            errors.push(e);
            RunName::Static(lit.clone())
        }),
        None => RunName::Static(LitStr::new(
            &func.sig.ident.unraw().to_string(),
            func.sig.ident.span(),
        )),
    };
    let krate: Path = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::mlflow));
    let params = params(args, &func.sig, &krate, &mut errors);
    if let (Kind::Child, Some((span, _))) = (kind, &args.experiment) {
        errors.push(syn::Error::new(
            *span,
            "`experiment` is accepted only by `#[parent_run]`: a `#[child_run]` goes to its \
             parent's experiment. To start a run in another experiment, use \
             `#[mlflow::parent_run(experiment = \"..\")]`",
        ));
    }
    errors.finish()?;
    Ok(Plan {
        krate,
        name,
        params,
        tags: args.tags.clone().unwrap_or_default(),
        experiment: args.experiment.as_ref().map(|(_, lit)| lit.clone()),
        description: description(args, func),
        system_metrics: args.system_metrics.clone(),
    })
}

/// `description = ".."`, else the doc comment, else none; `description = false` is none.
fn description(args: &RunArgs, func: &RunFn) -> Option<LitStr> {
    match &args.description {
        Some(Description::Text(lit)) => Some(lit.clone()),
        Some(Description::Off) => None,
        None => docs::doc_text(&func.attrs).map(|text| LitStr::new(&text, func.sig.ident.span())),
    }
}

/// The params to log: `params(a, b)` in that order, or for `params(*)` every binding of the
/// parameter patterns but `self` and the skipped ones, in signature order.
fn params(
    args: &RunArgs,
    sig: &Signature,
    krate: &Path,
    errors: &mut Errors,
) -> Vec<(LitStr, TokenStream)> {
    let arguments = arguments(sig);
    let lookup = |key: &str, ident: &Ident, errors: &mut Errors| {
        let name = ident.unraw().to_string();
        let found = arguments.iter().find(|arg| arg.name == name);
        if found.is_none() {
            errors.push(syn::Error::new(
                ident.span(),
                not_an_argument(&format!("`{name}` in `{key}(..)`"), sig, &arguments),
            ));
        }
        found
    };
    let skipped: Vec<&Ident> = match &args.skip {
        Some((_, names)) => names
            .iter()
            .filter(|ident| lookup("skip", ident, errors).is_some())
            .collect(),
        None => Vec::new(),
    };
    let value = |argument: &Argument, at: Span| {
        let binding = relocated(argument.tokens.clone(), at);
        let value = quote_spanned!(at=> #krate::__private::display_param(&#binding));
        (LitStr::new(&argument.name, at), value)
    };
    match &args.params {
        Some(Params::All) => arguments
            .iter()
            .filter(|arg| arg.name != "self" && skipped.iter().all(|s| s.unraw() != arg.name))
            .map(|arg| {
                value(
                    arg,
                    arg.tokens
                        .clone()
                        .into_iter()
                        .last()
                        .map_or_else(Span::call_site, |t| t.span()),
                )
            })
            .collect(),
        Some(Params::Named(names)) => {
            for skip in &skipped {
                if names.iter().any(|n| n.unraw() == skip.unraw()) {
                    errors.push(syn::Error::new(
                        skip.span(),
                        format!(
                            "`{}` is named in both `params(..)` and `skip(..)`: \
                             remove it from one of them",
                            skip.unraw()
                        ),
                    ));
                }
            }
            if let Some((span, _)) = &args.skip
                && skipped
                    .iter()
                    .all(|s| names.iter().all(|n| n.unraw() != s.unraw()))
            {
                errors.push(skip_without_star(*span));
            }
            names
                .iter()
                .filter_map(|ident| {
                    lookup("params", ident, errors).map(|arg| value(arg, ident.span()))
                })
                .collect()
        }
        None => {
            if let Some((span, _)) = &args.skip {
                errors.push(skip_without_star(*span));
            }
            Vec::new()
        }
    }
}

fn skip_without_star(span: Span) -> syn::Error {
    syn::Error::new(
        span,
        "`skip(..)` leaves arguments out of `params(*)`, and there is no `params(*)`: \
         add `params(*)`, or remove `skip(..)`",
    )
}

/// `what` (such as "`lr` in `params(..)`") names no argument of the function.
fn not_an_argument(what: &str, sig: &Signature, arguments: &[Argument]) -> String {
    let fn_name = sig.ident.unraw();
    if arguments.is_empty() {
        return format!("{what} does not name an argument: `{fn_name}` takes no arguments");
    }
    let list = arguments
        .iter()
        .map(|arg| format!("`{}`", arg.name))
        .collect::<Vec<_>>()
        .join(", ");
    format!("{what} does not name an argument of `{fn_name}`; its arguments are: {list}")
}

fn check_signature(kind: Kind, sig: &Signature, errors: &mut Errors) {
    if let Some(token) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            token,
            format!(
                "{kind} cannot be applied to a `const fn`: starting a run is not a const operation"
            ),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            format!(
                "{kind} cannot be applied to an `extern` function: wrap the instrumented \
                 Rust function in a plain `extern` shim instead"
            ),
        ));
    }
}

fn run_name(lit: &LitStr, sig: &Signature) -> syn::Result<RunName> {
    let value = lit.value();
    let pieces = template::parse(&value)
        .map_err(|e| syn::Error::new(subspan(lit, &value, e.range), e.message))?;
    let arguments = arguments(sig);
    let mut named: Vec<(Ident, TokenStream)> = Vec::new();
    let mut errors = Errors::default();
    for piece in &pieces {
        let Piece::Arg { name, range, .. } = piece else {
            continue;
        };
        let Some(argument) = arguments.iter().find(|arg| arg.name == unraw(name)) else {
            errors.push(syn::Error::new(
                subspan(lit, &value, range.clone()),
                not_an_argument(&format!("`{{{name}}}` in the run name"), sig, &arguments),
            ));
            continue;
        };
        let key = argument.format_key();
        if named.iter().all(|(existing, _)| *existing != key) {
            named.push((
                Ident::new(&key, lit.span()),
                relocated(argument.tokens.clone(), lit.span()),
            ));
        }
    }
    errors.finish()?;
    if named.is_empty() {
        let text: String = pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Text(text) => Some(text.as_str()),
                Piece::Arg { .. } => None,
            })
            .collect();
        return Ok(RunName::Static(LitStr::new(&text, lit.span())));
    }
    let rendered = template::render(&pieces, |name| {
        arguments
            .iter()
            .find(|arg| arg.name == unraw(name))
            .map_or_else(|| name.to_owned(), Argument::format_key)
    });
    Ok(RunName::Format {
        template: LitStr::new(&rendered, lit.span()),
        args: named,
    })
}

fn unraw(name: &str) -> &str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// A name a template may use.
struct Argument {
    /// Without any `r#`.
    name: String,
    /// The binding as written, so `format!` resolves to the parameter.
    tokens: TokenStream,
    /// `self` or a raw identifier: a keyword, which `format!` does not take as a named
    /// argument, so it is passed under another name.
    keyword: bool,
}

impl Argument {
    fn format_key(&self) -> String {
        if self.keyword {
            format!("__mlflow_{}", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// The names a template may use: every binding in the parameter patterns, and `self`.
fn arguments(sig: &Signature) -> Vec<Argument> {
    let mut out = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => out.push(Argument {
                name: "self".to_owned(),
                tokens: receiver.self_token.to_token_stream(),
                keyword: true,
            }),
            FnArg::Typed(typed) => bindings(&typed.pat, &mut out),
        }
    }
    out
}

fn bindings(pat: &Pat, out: &mut Vec<Argument>) {
    match pat {
        Pat::Ident(pat) => {
            let name = pat.ident.unraw().to_string();
            out.push(Argument {
                keyword: pat.ident != name,
                name,
                tokens: pat.ident.to_token_stream(),
            });
            if let Some((_, sub)) = &pat.subpat {
                bindings(sub, out);
            }
        }
        Pat::Tuple(pat) => pat.elems.iter().for_each(|p| bindings(p, out)),
        Pat::TupleStruct(pat) => pat.elems.iter().for_each(|p| bindings(p, out)),
        Pat::Slice(pat) => pat.elems.iter().for_each(|p| bindings(p, out)),
        Pat::Or(pat) => pat.cases.iter().take(1).for_each(|p| bindings(p, out)),
        Pat::Struct(pat) => pat.fields.iter().for_each(|f| bindings(&f.pat, out)),
        Pat::Reference(pat) => bindings(&pat.pat, out),
        Pat::Paren(pat) => bindings(&pat.pat, out),
        Pat::Type(pat) => bindings(&pat.pat, out),
        _ => {}
    }
}

/// Resolves like the parameter, but reports (e.g. "doesn't implement `Display`") at `at`.
fn relocated(tokens: TokenStream, at: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            tree.set_span(tree.span().located_at(at));
            tree
        })
        .collect()
}

/// The span of `range` (bytes of the literal's value) inside the literal, where the
/// compiler can tell it (nightly, and no escapes shifting offsets); else the whole literal.
fn subspan(lit: &LitStr, value: &str, range: Range<usize>) -> Span {
    let token = lit.token();
    if token.to_string() == format!("\"{value}\"")
        && let Some(span) = token.subspan(range.start + 1..range.end + 1)
    {
        return span;
    }
    lit.span()
}

/// Accumulates errors so that one expansion reports every mistake.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn plan(args: TokenStream, item: TokenStream) -> syn::Result<Plan> {
        let args: RunArgs = syn::parse2(args)?;
        let func = RunFn::parse(Kind::Child, item)?;
        check(Kind::Child, &args, &func)
    }

    fn error(args: TokenStream, item: TokenStream) -> String {
        match plan(args, item) {
            Ok(_) => panic!("should be rejected"),
            Err(e) => e
                .into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    #[test]
    fn default_name_is_the_function_name() {
        let plan = plan(
            quote!(),
            quote!(
                fn r#train_one() {}
            ),
        )
        .unwrap();
        let RunName::Static(lit) = plan.name else {
            panic!("expected a static name")
        };
        assert_eq!(lit.value(), "train_one");
        assert_eq!(plan.krate.to_token_stream().to_string(), ":: mlflow");
    }

    #[test]
    fn template_without_placeholders_is_static_and_unescaped() {
        let plan = plan(
            quote!(name = "a{{b}}"),
            quote!(
                fn f() {}
            ),
        )
        .unwrap();
        let RunName::Static(lit) = plan.name else {
            panic!("expected a static name")
        };
        assert_eq!(lit.value(), "a{b}");
    }

    #[test]
    fn placeholders_become_named_format_arguments_once_each() {
        let plan = plan(
            quote!(name = "{i}-{i:>3}-{self:?}-{b}-{r#type}-{type}"),
            quote!(
                fn f(&self, i: u32, (a, ref b): (u8, u8), r#type: u8) {}
            ),
        )
        .unwrap();
        let RunName::Format { template, args } = plan.name else {
            panic!("expected a format name")
        };
        assert_eq!(
            template.value(),
            "{i}-{i:>3}-{__mlflow_self:?}-{b}-{__mlflow_type}-{__mlflow_type}"
        );
        let args: Vec<_> = args
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        assert_eq!(
            args,
            ["i=i", "__mlflow_self=self", "b=b", "__mlflow_type=r#type"]
        );
    }

    #[test]
    fn placeholder_must_name_an_argument() {
        assert_eq!(
            error(
                quote!(name = "run_{j}"),
                quote!(
                    fn train(i: u32, test_no: u32) {}
                )
            ),
            "`{j}` in the run name does not name an argument of `train`; \
             its arguments are: `i`, `test_no`"
        );
        assert_eq!(
            error(
                quote!(name = "{self}"),
                quote!(
                    fn f() {}
                )
            ),
            "`{self}` in the run name does not name an argument: `f` takes no arguments"
        );
        assert!(
            error(
                quote!(name = "{}"),
                quote!(
                    fn f(i: u8) {}
                )
            )
            .contains("empty placeholder")
        );
    }

    #[test]
    fn params_and_skip_must_name_arguments() {
        let item = quote!(
            fn train(&self, lr: f64, data: Vec<u8>) {}
        );
        assert_eq!(
            error(quote!(params(lr, rate)), item.clone()),
            "`rate` in `params(..)` does not name an argument of `train`; \
             its arguments are: `self`, `lr`, `data`"
        );
        assert!(error(quote!(params(*), skip(dta)), item.clone()).contains("`dta` in `skip(..)`"));
        assert!(
            error(quote!(params(lr), skip(lr)), item.clone())
                .contains("`lr` is named in both `params(..)` and `skip(..)`")
        );
        assert!(error(quote!(skip(data)), item.clone()).contains("there is no `params(*)`"));
        let plan = plan(quote!(params(*), skip(data)), item.clone()).unwrap();
        let keys: Vec<_> = plan.params.iter().map(|(k, _)| k.value()).collect();
        assert_eq!(keys, ["lr"], "`self` only when named");
        let plan = plan_of(quote!(params(data, self)), item);
        let keys: Vec<_> = plan.params.iter().map(|(k, _)| k.value()).collect();
        assert_eq!(keys, ["data", "self"]);
    }

    fn plan_of(args: TokenStream, item: TokenStream) -> Plan {
        plan(args, item).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn experiment_is_for_parent_runs_only() {
        let args: RunArgs = syn::parse2(quote!(experiment = "e")).unwrap();
        let func = RunFn::parse(
            Kind::Parent,
            quote!(
                fn f() {}
            ),
        )
        .unwrap();
        assert_eq!(
            check(Kind::Parent, &args, &func)
                .unwrap()
                .experiment
                .unwrap()
                .value(),
            "e"
        );
        assert!(
            error(
                quote!(experiment = "e"),
                quote!(
                    fn f() {}
                )
            )
            .contains("`experiment` is accepted only by `#[parent_run]`")
        );
    }

    #[test]
    fn unsupported_signatures_are_rejected_together() {
        let message = error(
            quote!(),
            quote!(
                const extern "C" fn f() {}
            ),
        );
        assert!(
            message.contains("cannot be applied to a `const fn`"),
            "{message}"
        );
        assert!(
            message.contains("cannot be applied to an `extern` function"),
            "{message}"
        );
    }
}
