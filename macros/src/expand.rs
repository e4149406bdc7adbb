//! Code generation: parse, validate, then wrap the body in a run.

use proc_macro2::{Delimiter, Group, Span, TokenStream};
use quote::{ToTokens as _, quote};
use syn::visit_mut::VisitMut;
use syn::{Ident, ReturnType, Type};

use crate::args::RunArgs;
use crate::item::RunFn;
use crate::kind::Kind;
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
    let (inner_attrs, block) = func.split_body();
    let body = if sig.asyncness.is_some() {
        gen_async_body(&block, &sig.output, plan)
    } else {
        gen_sync_body(&block, &sig.output, plan)
    };
    // The braces keep the user's span: with macro-spanned braces the function counts as
    // macro-generated and rustc stops reporting it as dead code.
    let mut outer = Group::new(
        Delimiter::Brace,
        quote! {
            #inner_attrs
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
// Output: `::mlflow::__private::start_run().name(::mlflow::__private::format!("run_{i}", i = i))`
//         `::mlflow::__private::start_run().name("f")`
// Then, when given, in this order:
//         `.experiment_name("tuning")`
//         `.description("One trial.")` (the doc comment, or `description = ".."`)
//         `.log_system_metrics(true)`
//         `.tag("team", "vision")`
//         `.param("lr", ::mlflow::__private::display_param(&lr))`
// The params borrow the arguments before the body takes them.
fn gen_builder(plan: &Plan) -> TokenStream {
    let krate = &plan.krate;
    let name = match &plan.name {
        RunName::Static(lit) => lit.to_token_stream(),
        RunName::Format { template, args } => {
            let args = args.iter().map(|(key, value)| quote!(#key = #value));
            quote!(#krate::__private::format!(#template, #(#args),*))
        }
    };
    let experiment = plan
        .experiment
        .iter()
        .map(|lit| quote!(.experiment_name(#lit)));
    let description = plan
        .description
        .iter()
        .map(|lit| quote!(.description(#lit)));
    let system_metrics = plan
        .system_metrics
        .iter()
        .map(|flag| quote!(.log_system_metrics(#flag)));
    let tags = plan
        .tags
        .iter()
        .map(|(key, value)| quote!(.tag(#key, #value)));
    let params = plan
        .params
        .iter()
        .map(|(key, value)| quote!(.param(#key, #value)));
    quote! {
        #krate::__private::start_run().name(#name) #(#experiment)* #(#description)*
            #(#system_metrics)* #(#tags)* #(#params)*
    }
}

// Input:  `-> R` and `{ body }` of a sync fn
// Output: the statements of the function (see `gen_function`)
fn gen_sync_body(block: &Group, output: &ReturnType, plan: &Plan) -> TokenStream {
    let run = Ident::new("__mlflow_run", Span::mixed_site());
    let ret = Ident::new("__mlflow_ret", Span::mixed_site());
    let call_once = Ident::new("__mlflow_call_once", Span::mixed_site());
    let builder = gen_builder(plan);
    if returns_never(output) {
        // It never returns, so there is no value to end the run with; a panic still ends it.
        return quote! {
            let #run = #builder.start();
            #block
        };
    }
    let ret_ty = closure_return_type(output);
    let end = gen_end(plan, &ret);
    quote! {
        let #run = #builder.start();
        let #ret = {
            #[inline]
            fn #call_once<__MlflowR, __MlflowF: ::core::ops::FnOnce() -> __MlflowR>(
                f: __MlflowF,
            ) -> __MlflowR {
                f()
            }
            #call_once(move || -> #ret_ty #block)
        };
        #end
        #ret
    }
}

// Input:
//     #[child_run(name = "run_{i}")]
//     async fn f(i: u32) -> R { body }
// Output:
//     async fn f(i: u32) -> R {
//         let __mlflow_run = ::mlflow::__private::start_run()
//             .name(::mlflow::__private::format!("run_{i}", i = i))
//             .start_scoped()
//             .status_on_drop(::mlflow::__private::RunStatus::Killed);
//         let __mlflow_ret = __mlflow_run
//             .scope(async move {
//                 if let Some(__mlflow_hint) = None::<R> {
//                     return __mlflow_hint;
//                 }
//                 { body }
//             })
//             .await;
//         /* outcome and end_with as for a sync fn */
//         __mlflow_ret
//     }
//
// The run starts when the future is first polled, nested under the run active there, and is
// the active run only while the body's future is polled (`scope`), on whatever thread polls
// it. A future dropped before completing was cancelled: its run ends KILLED.
// An async block cannot declare its output type; the dead `return` of a `R` comes first and
// fixes it, so `?` and coercions (`Box<dyn Trait>`) in the body see the declared type, as
// the closure's return type does for sync fns.
fn gen_async_body(block: &Group, output: &ReturnType, plan: &Plan) -> TokenStream {
    let krate = &plan.krate;
    let run = Ident::new("__mlflow_run", Span::mixed_site());
    let ret = Ident::new("__mlflow_ret", Span::mixed_site());
    let hint = Ident::new("__mlflow_hint", Span::mixed_site());
    let builder = gen_builder(plan);
    let start = quote! {
        let #run = #builder
            .start_scoped()
            .status_on_drop(#krate::__private::RunStatus::Killed);
    };
    if returns_never(output) {
        return quote! {
            #start
            #run.scope(async move #block).await
        };
    }
    let ret_ty = closure_return_type(output);
    let end = gen_end(plan, &ret);
    quote! {
        #start
        let #ret = #run
            .scope(async move {
                if let ::core::option::Option::Some(#hint) =
                    ::core::option::Option::None::<#ret_ty>
                {
                    return #hint;
                }
                #block
            })
            .await;
        #end
        #ret
    }
}

// Input:  the returned value `__mlflow_ret`
// Output: `__mlflow_run.end_with(<FINISHED, or FAILED on Err>);`
fn gen_end(plan: &Plan, ret: &Ident) -> TokenStream {
    let krate = &plan.krate;
    let run = Ident::new("__mlflow_run", Span::mixed_site());
    let outcome = Ident::new("__mlflow_outcome", Span::mixed_site());
    quote! {
        let #outcome = {
            #[allow(unused_imports)]
            use #krate::__private::{
                OtherOutcome as _, ResultDebugOutcome as _, ResultDisplayOutcome as _,
            };
            (&&&#krate::__private::Probe(&#ret)).run_outcome()
        };
        #run.end_with(#outcome);
    }
}

fn returns_never(output: &ReturnType) -> bool {
    matches!(output, ReturnType::Type(_, ty) if matches!(**ty, Type::Never(_)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(args: TokenStream, item: TokenStream) -> String {
        run_attribute(Kind::Child, args, item).to_string()
    }

    #[test]
    fn an_error_keeps_the_function_next_to_one_compile_error() {
        let out = expand(
            quote!(nmae = "x"),
            quote!(
                fn train(i: u32) -> u32 {
                    i
                }
            ),
        );
        assert!(out.starts_with("fn train (i : u32) -> u32 { i }"), "{out}");
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(!out.contains("start_run"), "{out}");
    }

    #[test]
    fn generated_paths_start_at_the_crate_path() {
        let out = expand(
            quote!(crate = my::mlflow),
            quote!(
                fn train() {}
            ),
        );
        assert!(
            out.contains("my :: mlflow :: __private :: start_run ()"),
            "{out}"
        );
        let out = expand(
            quote!(),
            quote!(
                fn train() {}
            ),
        );
        assert!(
            out.contains(":: mlflow :: __private :: start_run () . name (\"train\") . start ()"),
            "{out}"
        );
    }

    #[test]
    fn sync_bodies_run_in_a_closure_typed_like_the_function() {
        let out = expand(
            quote!(),
            quote!(
                fn f() -> Result<impl Iterator<Item = u8>, E> {
                    body
                }
            ),
        );
        assert!(
            out.contains("move || -> Result < _ , E > { body }"),
            "{out}"
        );
        assert!(out.contains("end_with"), "{out}");
        let out = expand(
            quote!(),
            quote!(
                fn f() {}
            ),
        );
        assert!(out.contains("move || -> () { }"), "{out}");
    }

    #[test]
    fn async_bodies_run_in_a_scoped_future_killed_on_drop() {
        let out = expand(
            quote!(),
            quote!(
                async fn f() -> u8 {
                    1
                }
            ),
        );
        assert!(out.starts_with("async fn f () -> u8"), "{out}");
        assert!(
            out.contains(
                ". start_scoped () . status_on_drop (:: mlflow :: __private :: RunStatus :: Killed)"
            ),
            "{out}"
        );
        assert!(
            out.contains(":: core :: option :: Option :: None :: < u8 >"),
            "{out}"
        );
        assert!(out.contains(". await"), "{out}");
        assert!(!out.contains("move ||"), "{out}");
    }

    #[test]
    fn arguments_configure_the_builder_before_start() {
        let out = run_attribute(
            Kind::Parent,
            quote!(params(*), skip(data), tags(team = "v"), experiment = "e", system_metrics = true),
            quote!(
                fn f(&self, lr: f64, data: Vec<u8>, (a, b): (u8, u8)) {}
            ),
        )
        .to_string();
        assert!(
            out.contains(
                ". name (\"f\") . experiment_name (\"e\") . log_system_metrics (true) \
                 . tag (\"team\" , \"v\") \
                 . param (\"lr\" , :: mlflow :: __private :: display_param (& lr)) \
                 . param (\"a\" , :: mlflow :: __private :: display_param (& a)) \
                 . param (\"b\" , :: mlflow :: __private :: display_param (& b)) . start ()"
            ),
            "{out}"
        );
    }

    #[test]
    fn never_returning_functions_only_start_the_run() {
        let out = expand(
            quote!(),
            quote!(
                fn f() -> ! {
                    loop {}
                }
            ),
        );
        assert!(out.contains(". start () ; { loop { } }"), "{out}");
        assert!(!out.contains("end_with"), "{out}");
    }
}
