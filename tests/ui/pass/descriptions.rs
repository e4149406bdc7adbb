//! Doc comments become descriptions literally: braces and quotes never break the build.

/// Trains with lr = {lr} and "quotes", {{doubled}} braces and a \backslash.
#[mlflow::child_run(name = "trial_{i}")]
fn trial(i: usize, lr: f64) {
    let _ = (i, lr);
}

#[doc = "An attribute-style doc, then a generated one."]
#[doc = concat!("built ", "by a macro")]
#[mlflow::child_run]
fn generated_docs() {}

/// Replaced.
#[mlflow::child_run(description = "Given {here}")]
fn given() {}

/// Switched off.
#[mlflow::parent_run(description = false, tags("mlflow.note.content" = "by tag"))]
fn switched_off() {
    trial(1, 0.1);
    generated_docs();
    given();
}

fn main() {
    switched_off();
}
