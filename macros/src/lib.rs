//! Implementation detail of the `mlflow-tracking` crate.
// Minimal stand-in until the full macro crate lands.

use proc_macro::TokenStream;
use quote::quote;
use syn::{ItemFn, LitStr, ReturnType, parse_macro_input};

/// Runs the function as an MLflow run (nesting under the active run).
#[proc_macro_attribute]
pub fn parent_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item)
}

/// Runs the function as an MLflow run nested under the active run.
#[proc_macro_attribute]
pub fn child_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item)
}

fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut f = parse_macro_input!(item as ItemFn);
    let mut name: Option<LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            name = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("unknown key"))
        }
    });
    parse_macro_input!(args with parser);
    let fn_name = f.sig.ident.to_string();
    let name = match name {
        Some(lit) => quote!(::mlflow::__private::format!(#lit)),
        None => quote!(#fn_name),
    };
    let ret = match &f.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };
    let block = &f.block;
    f.block = syn::parse_quote!({
        let __mlflow_run = ::mlflow::__private::start_run().name(#name).start();
        #[allow(clippy::redundant_closure_call)]
        let __mlflow_ret: #ret = (move || -> #ret #block)();
        #[allow(unused_imports)]
        use ::mlflow::__private::{OtherOutcome as _, ResultDebugOutcome as _, ResultDisplayOutcome as _};
        let __mlflow_outcome = (&&&::mlflow::__private::Probe(&__mlflow_ret)).run_outcome();
        __mlflow_run.end_with(__mlflow_outcome);
        __mlflow_ret
    });
    quote!(#f).into()
}
