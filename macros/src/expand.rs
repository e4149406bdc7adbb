//! Code generation: parse, validate, then wrap the body in a run.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens as _, quote};
use syn::visit_mut::VisitMut;
use syn::{Ident, ReturnType, Type};

use crate::Kind;
use crate::args::RunArgs;
use crate::item::RunFn;
use crate::validate::{self, Plan, RunName};

/// The whole attribute: on any error the function is still emitted, unchanged, next to the
/// error, so the rest of the crate type-checks and IDEs keep working.
pub(crate) fn run_attribute(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    match try_expand(kind, args, item.clone()) {
        Ok(expanded) => expanded,
        Err(error) => {
            let mut out = item;
            out.extend(error.into_compile_error());
            out
        }
    }
}

fn try_expand(kind: Kind, args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let args = syn::parse2::<RunArgs>(args);
    let func = RunFn::parse(kind, item);
    let (args, func) = match (args, func) {
        (Ok(args), Ok(func)) => (args, func),
        (Err(mut a), Err(f)) => {
            a.combine(f);
            return Err(a);
        }
        (Err(e), _) | (_, Err(e)) => return Err(e),
    };
    let plan = validate::check(kind, &args, &func)?;
    Ok(gen_function(&func, &plan))
}

// Input:
//     #[child_run(name = "run_{i}")]
//     fn f(i: u32) -> R { body }
// Output:
//     fn f(i: u32) -> R {
//         let __mlflow_run = ::mlflow::__private::start_run()
//             .name(::mlflow::__private::format!("run_{i}", i = i))
//             .start();
//         let __mlflow_ret = {
//             fn __mlflow_call_once<..>(f: F) -> R { f() }
//             __mlflow_call_once(move || -> R { body })
//         };
//         let __mlflow_outcome = {
//             use ::mlflow::__private::{ResultDisplayOutcome as _, ..};
//             (&&&::mlflow::__private::Probe(&__mlflow_ret)).run_outcome()
//         };
//         __mlflow_run.end_with(__mlflow_outcome);
//         __mlflow_ret
//     }
//
// The body runs in a closure so that `return` and `?` leave the closure, not the function,
// and the run can still be ended with the returned value. The closure is called through an
// `FnOnce` bound so it owns its captures: a method returning `&mut self.field` would otherwise
// be refused ("captured variable cannot escape `FnMut` closure body"). A panic unwinds
// through `__mlflow_run`, whose `Drop` ends the run FAILED.
fn gen_function(func: &RunFn, plan: &Plan) -> TokenStream {
    let RunFn {
        attrs, vis, sig, ..
    } = func;
    let run = Ident::new("__mlflow_run", Span::mixed_site());
    let start = gen_start(plan);
    let (inner_attrs, block) = func.split_body();
    let body = match &sig.output {
        // Never returns, so there is no value to end the run with; a panic still ends it.
        ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)) => block.into_token_stream(),
        output => gen_body(&block, output, plan),
    };
    // The braces keep the user's span: with macro-spanned braces the function counts as
    // macro-generated and rustc stops reporting it as dead code.
    let mut outer = Group::new(
        Delimiter::Brace,
        quote! {
            #inner_attrs
            let #run = #start;
            #body
        },
    );
    outer.set_span(func.body.span());
    quote! {
        #(#attrs)*
        #vis #sig #outer
    }
}

// Input:  `name = "run_{i}"` on `fn f(i: u32)`, or no `name`
// Output: `::mlflow::__private::start_run().name(::mlflow::__private::format!("run_{i}", i = i)).start()`
//         `::mlflow::__private::start_run().name("f").start()`
fn gen_start(plan: &Plan) -> TokenStream {
    let krate = &plan.krate;
    let name = match &plan.name {
        RunName::Static(lit) => lit.to_token_stream(),
        RunName::Format { template, args } => {
            let args = args.iter().map(|(key, value)| quote!(#key = #value));
            quote!(#krate::__private::format!(#template, #(#args),*))
        }
    };
    quote! {
        #krate::__private::start_run().name(#name).start()
    }
}

// Input:  `-> R` and `{ body }`
// Output: the statements after the run has started (see `gen_function`)
fn gen_body(block: &Group, output: &ReturnType, plan: &Plan) -> TokenStream {
    let krate = &plan.krate;
    let run = Ident::new("__mlflow_run", Span::mixed_site());
    let ret = Ident::new("__mlflow_ret", Span::mixed_site());
    let outcome = Ident::new("__mlflow_outcome", Span::mixed_site());
    let call_once = Ident::new("__mlflow_call_once", Span::mixed_site());
    let ret_ty = closure_return_type(output);
    quote! {
        let #ret = {
            #[inline]
            fn #call_once<__MlflowR, __MlflowF: ::core::ops::FnOnce() -> __MlflowR>(
                f: __MlflowF,
            ) -> __MlflowR {
                f()
            }
            #call_once(move || -> #ret_ty #block)
        };
        let #outcome = {
            #[allow(unused_imports)]
            use #krate::__private::{
                OtherOutcome as _, ResultDebugOutcome as _, ResultDisplayOutcome as _,
            };
            (&&&#krate::__private::Probe(&#ret)).run_outcome()
        };
        #run.end_with(#outcome);
        #ret
    }
}

/// The function's return type as a closure may write it: `()` when omitted, and `impl Trait`
/// (not allowed on closures) erased to `_`, keeping the rest (`Result<_, E>`) so that `?`
/// conversions and unsizing coercions in the body still see the declared type.
fn closure_return_type(output: &ReturnType) -> TokenStream {
    match output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            EraseImplTrait.visit_type_mut(&mut ty);
            ty.into_token_stream()
        }
    }
}

struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(impl_trait) = ty {
            let underscore = syn::Token![_](syn::spanned::Spanned::span(impl_trait));
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: underscore,
            });
            return;
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}
