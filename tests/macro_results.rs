//! How a macro-run ends: `Err` of any `Result` spelling ends FAILED with the error's
//! `Display` in the tag `error`, `Ok` FINISHED, a panic FAILED with the panic going on.

mod stores;

use std::io;

use stores::{Target, assert_child_of, named, on_both_stores};

type MyResult<T> = Result<T, MyError>;

#[derive(Debug)]
struct MyError(&'static str);

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "my error: {}", self.0)
    }
}

#[mlflow::child_run(name = "anyhow_{ok}")]
fn with_anyhow(ok: bool) -> anyhow::Result<()> {
    if !ok {
        anyhow::bail!("anyhow failure");
    }
    Ok(())
}

#[mlflow::child_run(name = "io_{ok}")]
fn with_io(ok: bool) -> io::Result<u32> {
    let value: u32 = if ok {
        1
    } else {
        Err(io::Error::other("io failure"))?
    };
    Ok(value)
}

#[mlflow::child_run(name = "alias_{ok}")]
fn with_alias(ok: bool) -> MyResult<String> {
    if ok {
        Ok("fine".to_owned())
    } else {
        Err(MyError("alias"))
    }
}

#[mlflow::child_run(name = "std_{ok}")]
fn with_std(ok: bool) -> std::result::Result<(), Box<dyn std::error::Error>> {
    if ok {
        Ok(())
    } else {
        Err("boxed failure".into())
    }
}

#[mlflow::parent_run(name = "results")]
fn results() {
    for ok in [true, false] {
        let _ = with_anyhow(ok);
        let _ = with_io(ok);
        let _ = with_alias(ok);
        let _ = with_std(ok);
    }
}

fn err_fails_and_ok_finishes(t: &Target) {
    results();
    let runs = t.runs();
    assert_eq!(runs.len(), 9);
    assert_eq!(named(&runs, "results").status, "FINISHED");
    for (prefix, message) in [
        ("anyhow", "anyhow failure"),
        ("io", "io failure"),
        ("alias", "my error: alias"),
        ("std", "boxed failure"),
    ] {
        let ok = named(&runs, &format!("{prefix}_true"));
        assert_eq!(ok.status, "FINISHED", "{prefix}");
        assert!(!ok.tags.contains_key("error"));
        let failed = named(&runs, &format!("{prefix}_false"));
        assert_eq!(failed.status, "FAILED", "{prefix}");
        assert_eq!(failed.tags["error"], message);
        assert_child_of(&runs, &ok.run_name, "results");
        assert_child_of(&runs, &failed.run_name, "results");
    }
}

#[mlflow::child_run(name = "panicking")]
fn panicking() -> u32 {
    panic!("boom in child")
}

#[mlflow::parent_run(name = "panic_parent")]
fn panic_parent() -> u32 {
    panicking()
}

fn panic_fails_and_goes_on(t: &Target) {
    let caught = std::panic::catch_unwind(panic_parent);
    let payload = caught.expect_err("the panic goes on");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom in child"));
    let runs = t.runs();
    assert_eq!(runs.len(), 2);
    assert_child_of(&runs, "panicking", "panic_parent");
    assert_eq!(named(&runs, "panicking").status, "FAILED");
    assert_eq!(named(&runs, "panic_parent").status, "FAILED");
    // After the panic, the stack is clean: a new run is top-level.
    let after = mlflow::start_run().name("after").start();
    drop(after);
    let runs = t.runs();
    assert_eq!(named(&runs, "after").parent_run_id, None);
}

on_both_stores!(err_fails_and_ok_finishes, panic_fails_and_goes_on);
