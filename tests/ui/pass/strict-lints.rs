//! The generated code adds no warnings, even under strict lint levels.
#![deny(warnings, unsafe_code, unused_qualifications, unused_results)]
#![deny(rust_2018_idioms, missing_debug_implementations, unreachable_pub)]

/// Documented, public, and must stay so after expansion.
#[mlflow::parent_run(name = "strict_{n}")]
pub fn strict(n: u32) -> Result<u32, String> {
    if n == 0 {
        return Err("zero".to_owned());
    }
    Ok(n)
}

fn main() {
    let _ = strict;
}
