//! Compile-time behaviour of `#[parent_run]` / `#[child_run]`, and of the API's builders and
//! model types (the `api-*` cases): accepted forms and the diagnostics for misuse.
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test --test ui` and review the diff.

// Diagnostics change between compiler releases; snapshots are for stable only.
#[rustversion::stable]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
