//! Format specs, escapes, repeated placeholders and bindings inside patterns.

#[derive(Debug)]
struct Config {
    depth: u8,
}

#[mlflow::child_run(name = "lr={lr:.3} cfg={cfg:?} {{literal}} id={id:>4} again={id}")]
fn specs(lr: f64, cfg: Config, id: u32) {
    let _ = (lr, cfg, id);
}

#[mlflow::child_run(name = "pair_{a}_{b}_{depth}")]
fn patterns((a, b): (u8, u8), Config { depth }: Config) {
    let _ = (a, b, depth);
}

#[mlflow::child_run(name = r"raw_{x}")]
fn raw_string(x: u8) {
    let _ = x;
}

#[mlflow::child_run(name = "only_in_name_{x}")]
fn used_only_by_the_name(x: u8) {}

#[mlflow::child_run(name = "{r#type}")]
fn raw_identifier(r#type: u8) {
    let _ = r#type;
}

fn main() {
    let _ = (
        specs,
        patterns,
        raw_string,
        used_only_by_the_name,
        raw_identifier,
    );
}

#[mlflow::child_run]
fn inner_attributes() -> u32 {
    #![allow(unused_variables)]
    //! Inner docs move to the function with the attributes.
    let unused = 1;
    2
}

fn _more() {
    let _ = inner_attributes;
}
