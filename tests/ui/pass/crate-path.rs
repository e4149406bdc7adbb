//! `crate = path` sends the generated code through a re-export.

mod tools {
    pub use ::mlflow;
}

use mlflow as renamed;

#[renamed::child_run(crate = tools::mlflow)]
fn through_a_module() {}

#[mlflow::child_run(crate = "crate::tools::mlflow", name = "run_{i}")]
fn through_a_string(i: u8) {}

fn main() {
    let _ = (through_a_module, through_a_string);
}
