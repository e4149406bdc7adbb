//! `return`, `?`, coercions to the declared type and `impl Trait` keep working in the body.

use std::error::Error;
use std::fmt::Debug;

#[mlflow::child_run]
fn early_return(x: u32) -> u32 {
    if x > 1 {
        return 7;
    }
    x
}

#[mlflow::child_run]
fn question_mark(s: &str) -> Result<u8, Box<dyn Error>> {
    let value: u8 = s.parse()?;
    if value == 0 {
        return Err("zero".into());
    }
    Ok(value)
}

#[mlflow::child_run]
fn anyhow_result(s: &str) -> anyhow::Result<u8> {
    Ok(s.parse()?)
}

#[derive(Debug)]
struct NotDisplay;

#[mlflow::child_run]
fn debug_only_error() -> Result<(), NotDisplay> {
    Err(NotDisplay)
}

#[mlflow::child_run]
fn unsized_coercion() -> Box<dyn Debug> {
    Box::new(5)
}

#[mlflow::child_run]
fn impl_trait(v: Vec<u8>) -> impl Iterator<Item = u8> {
    v.into_iter()
}

#[mlflow::child_run]
fn impl_trait_in_result(v: Vec<u8>) -> Result<impl Iterator<Item = u8>, String> {
    if v.is_empty() {
        return Err("empty".to_owned());
    }
    Ok(v.into_iter())
}

#[mlflow::child_run]
fn boxed_closure(k: u32) -> Box<impl Fn(u32) -> u32> {
    Box::new(move |x| x * k)
}

#[mlflow::child_run]
fn borrowed<'a>(s: &'a str, _other: &str) -> &'a str {
    s
}

#[mlflow::child_run]
fn elided(v: &mut Vec<u8>) -> &mut u8 {
    &mut v[0]
}

#[mlflow::child_run]
fn diverges() -> ! {
    panic!("never returns")
}

#[mlflow::child_run]
fn mutable_argument(mut n: u32) -> u32 {
    n += 1;
    n
}

#[mlflow::child_run]
unsafe fn unsafe_fn(p: *const u8) -> u8 {
    unsafe { *p }
}

fn main() {
    let _ = (
        early_return,
        question_mark,
        anyhow_result,
        debug_only_error,
        unsized_coercion,
    );
    let _ = (
        impl_trait,
        impl_trait_in_result,
        boxed_closure,
        borrowed,
        elided,
    );
    let _ = (diverges, mutable_argument, unsafe_fn);
}
