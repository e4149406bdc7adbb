//! `params(..)`, `params(*)` with `skip(..)`, `tags(..)` and `experiment`, on free functions,
//! methods, generics, patterns and `async fn`.

use std::fmt;

#[mlflow::parent_run(
    name = "sweep_{test_no}",
    experiment = "Nested Child Association",
    tags(team = "vision", "mlflow.note.content" = "a sweep"),
    params(test_no),
)]
fn sweep(test_no: u32) {
    train(0.01, 32, vec![1.0], "adam");
}

#[mlflow::child_run(params(*), skip(data))]
fn train(lr: f64, batch_size: u32, data: Vec<f64>, optimizer: &str) -> f64 {
    lr * f64::from(batch_size) * data.len() as f64 + optimizer.len() as f64
}

#[mlflow::child_run(params(r#type, lr), tags(kind = "raw"))]
fn raw(r#type: u8, lr: f32, unlogged: Vec<u8>) -> usize {
    usize::from(r#type) + unlogged.len() + lr as usize
}

struct Model {
    name: String,
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Model {
    // `self` is not in `params(*)`; it is logged only when named.
    #[mlflow::child_run(params(*))]
    fn fit(&mut self, epochs: u32) -> Result<u32, String> {
        self.name.push('!');
        Ok(epochs)
    }

    #[mlflow::child_run(params(self, epochs))]
    fn describe(&self, epochs: u32) -> String {
        format!("{self} {epochs}")
    }
}

#[mlflow::child_run(params(*), skip(items))]
fn generic<T: fmt::Display>(label: T, (a, b): (u8, i64), items: impl IntoIterator<Item = T>) -> usize {
    let _ = (label, a, b);
    items.into_iter().count()
}

/// Borrows, so it is not `'static`.
struct Borrowed<'a>(&'a str);

impl fmt::Display for Borrowed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

// Floats and bools (written as Python writes them), by value and by reference, next to
// borrowed values of other types (written with their `Display`).
#[mlflow::child_run(params(*))]
fn borrowed(lr: &f64, flag: bool, scale: &mut f32, name: &String, cfg: Borrowed<'_>) -> usize {
    *scale += 1.0;
    usize::from(flag) + name.len() + cfg.0.len() + *lr as usize
}

#[mlflow::parent_run(params(*), experiment = "async", tags(mode = "async"))]
async fn tune(trials: u32) -> Vec<u32> {
    (0..trials).collect()
}

fn assert_send<T: Send>(_: &T) {}

// Type-checks everything without running it (trybuild runs pass cases).
fn _typecheck() {
    let _: fn(u32) = sweep;
    let _: fn(u8, f32, Vec<u8>) -> usize = raw;
    let mut model = Model { name: "m".into() };
    let _ = model.fit(1);
    let _ = model.describe(1);
    let _ = generic("x", (1, 2), ["a", "b"]);
    assert_send(&tune(3));
    let name = String::from("n");
    let _ = borrowed(&0.1, true, &mut 1.0, &name, Borrowed(&name));
}

fn main() {
    let _ = _typecheck;
}
