//! Param and tag values as the Python client writes them: it stores `str(value)`, so a
//! float is `repr(float)` (`1e-05`, `1.0`, `1e+16`) and a bool is `True` or `False`, where
//! Rust's `Display` writes `0.00001`, `1`, `10000000000000000` and `true`. Writing them
//! Python's way makes a filter written for Python runs (`params.lr = '1e-05'`) find runs
//! logged from Rust too.
//!
//! Values are still taken as `impl Display`: [`python_str`] recognises `f64`, `f32` and
//! `bool` (also behind references: `&f64` from iterating a map of floats) by their type id,
//! lifetimes aside (the `typeid` crate, since the values may borrow: `&'a T` has no
//! `std::any::TypeId`), and writes every other type with its own `Display`.

use std::any::TypeId;
use std::fmt::{Display, Write as _};

/// `value` as Python's `str()` writes the same value: `f64` and `f32` as `repr(float)`
/// ([`float`], [`float32`]), `bool` as `True`/`False`, each also behind `&`, `&&` or
/// `&mut`; anything else with its `Display`.
pub fn python_str<T: Display + ?Sized>(value: &T) -> String {
    if let Some(x) = read::<T, f64>(value) {
        float(x)
    } else if let Some(x) = read::<T, f32>(value) {
        float32(x)
    } else if let Some(b) = read::<T, bool>(value) {
        boolean(b).to_owned()
    } else {
        value.to_string()
    }
}

/// `repr(x)` in Python (3.1 and later): the shortest digits that read back as `x`, laid
/// out in positional notation when the decimal exponent is in `-4..16` (`0.0001`,
/// `1000000000000000.0`, always with a fractional part), in scientific notation otherwise
/// (`1e-05`, `1.5e+16`: no `.0`, a signed exponent of at least two digits); `nan`, `inf`,
/// `-inf`, and `-0.0` for negative zero.
pub fn float(x: f64) -> String {
    if x.is_finite() {
        // `{:e}` writes the shortest round-trip digits: `1.2345e-7`, `-0e0`.
        layout(&format!("{x:e}"))
    } else {
        non_finite(x.is_nan(), x.is_sign_negative())
    }
}

/// An `f32` by the rule of [`float`], from its own shortest digits: `0.1f32` is `0.1`,
/// not the `0.10000000149011612` of the same value as an `f64`.
pub fn float32(x: f32) -> String {
    if x.is_finite() {
        layout(&format!("{x:e}"))
    } else {
        non_finite(x.is_nan(), x.is_sign_negative())
    }
}

/// `str(b)` in Python.
pub fn boolean(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn non_finite(nan: bool, negative: bool) -> String {
    match (nan, negative) {
        (true, _) => "nan",
        (false, false) => "inf",
        (false, true) => "-inf",
    }
    .to_owned()
}

/// Python's layout (`format_float_short` for `repr`) of the digits in `sci`, Rust's
/// shortest scientific form (`-1.25e-7`).
fn layout(sci: &str) -> String {
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if (-4..16).contains(&exponent) {
        // The decimal point goes after `point` digits (none or fewer when negative).
        let point = exponent + 1;
        let count = digits.len() as i32;
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if point >= count {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (point - count) as usize));
            out.push_str(".0");
        } else {
            let (int, frac) = digits.split_at(point as usize);
            out.push_str(int);
            out.push('.');
            out.push_str(frac);
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
    out
}

/// The types [`read`] looks for: none has a lifetime, which its safety rests on.
trait PythonScalar: Copy + 'static {}

impl PythonScalar for f64 {}
impl PythonScalar for f32 {}
impl PythonScalar for bool {}

/// `value` as a `U` when `T` is `U`, `&U`, `&&U` or `&mut U`, whatever their lifetimes.
fn read<T: ?Sized, U: PythonScalar>(value: &T) -> Option<U> {
    let id = typeid::of::<T>();
    let at: *const T = value;
    // SAFETY (each arm): `typeid::of` is the `TypeId` of `T` with its lifetimes made
    // 'static. `U` is `f64`, `f32` or `bool` (`PythonScalar`), which have no lifetimes, so
    // an id equal to that of `U`, `&'static U`, `&'static &'static U` or `&'static mut U`
    // means that `T` is exactly `U`, `&U`, `&&U` or `&mut U` for some lifetimes. `value`
    // points to a valid `T`, and the references inside it outlive the borrow of `value`
    // (`T` outlives it); the `U` behind them is copied out and nothing else is kept.
    if id == TypeId::of::<U>() {
        return Some(unsafe { *at.cast::<U>() });
    }
    if id == TypeId::of::<&U>() {
        return Some(unsafe { **at.cast::<&U>() });
    }
    if id == TypeId::of::<&&U>() {
        return Some(unsafe { ***at.cast::<&&U>() });
    }
    if id == TypeId::of::<&mut U>() {
        return Some(unsafe { **at.cast::<&mut U>() });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    #[test]
    fn pythons_own_examples() {
        for (x, text) in [
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (0.1, "0.1"),
            (1.5e16, "1.5e+16"),
            (-2.5e-7, "-2.5e-07"),
            (1e100, "1e+100"),
            (5e-324, "5e-324"),
            (123.456, "123.456"),
            (0.000123, "0.000123"),
        ] {
            assert_eq!(float(x), text, "{x:e}");
            assert_eq!(python_str(&x), text);
        }
        assert_eq!(python_str(&0.1f32), "0.1");
        assert_eq!(float32(1e-5), "1e-05");
        assert_eq!(float32(f32::NAN), "nan");
        assert_eq!(float32(16777216.0), "16777216.0");
        assert_eq!(python_str(&true), "True");
        assert_eq!(python_str(&false), "False");
    }

    /// A type that borrows, so not `'static`.
    struct Borrowed<'a>(&'a str);

    impl fmt::Display for Borrowed<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "<{}>", self.0)
        }
    }

    fn through_generic<V: Display>(v: V) -> String {
        python_str(&v)
    }

    // The borrows are the point: `V` is a reference type.
    #[allow(clippy::needless_borrows_for_generic_args)]
    #[test]
    fn references_are_seen_through_and_other_types_keep_their_display() {
        let x = 1e-5;
        let mut y = 2.0f32;
        let name = String::from("adam");
        let map = std::collections::BTreeMap::from([("lr", 1e-5)]);
        assert_eq!(through_generic(&x), "1e-05");
        assert_eq!(through_generic(&&x), "1e-05");
        assert_eq!(through_generic(&mut y), "2.0");
        assert_eq!(through_generic(&true), "True");
        let from_map: Vec<String> = map.values().map(through_generic).collect();
        assert_eq!(from_map, ["1e-05"]);
        assert_eq!(through_generic(&name), "adam");
        assert_eq!(through_generic("str"), "str");
        assert_eq!(python_str("unsized str"), "unsized str");
        assert_eq!(through_generic(Borrowed(&name)), "<adam>");
        assert_eq!(through_generic(&Borrowed(&name)), "<adam>");
        assert_eq!(through_generic(42u8), "42");
        assert_eq!(through_generic(-7i64), "-7");
        assert_eq!(through_generic('c'), "c");
        // Not a float to Python either: a user type that prints one is left as it prints.
        struct Ratio(f64);
        impl fmt::Display for Ratio {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
        assert_eq!(through_generic(Ratio(1.0)), "1");
    }

    /// Many values, written here and by the venv's Python (one process for the batch):
    /// every `f64` as `repr(float)`, every `f32` as the `repr` of the float its text reads
    /// as (which keeps an `f32`'s at most 9 digits), and `str` of both bools.
    #[test]
    fn the_rule_is_pythons() {
        mlflow_test_support::require_python!();
        let mut doubles: Vec<f64> = vec![
            0.0,
            -0.0,
            1.0,
            0.1,
            0.2,
            0.3,
            1e-4,
            9.999e-5,
            1e-5,
            1e15,
            9.999999999999998e15,
            1e16,
            1e17,
            1e22,
            1e23,
            123456789.0,
            0.5,
            2.5,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            f64::EPSILON,
            12345678901234567.0,
        ];
        // Decimal-looking values at every exponent, and raw bit patterns.
        for e in -330..310 {
            for m in [1.0, 1.5, 2.25, 9.99, 3.25, 7.0] {
                doubles.push(m * 10f64.powi(e));
            }
        }
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_F491_4F6C_DD1D)
        };
        for _ in 0..3000 {
            doubles.push(f64::from_bits(next()));
        }
        let mut singles: Vec<f32> = vec![0.1, 1e-5, 1e-4, 3.4e38, 1e16, 1e15, 16777217.0];
        for _ in 0..2000 {
            singles.push(f32::from_bits(next() as u32));
        }
        for e in -45..39 {
            singles.push(1.5f32 * 10f32.powi(e));
        }
        let singles: Vec<String> = singles
            .iter()
            .filter(|x| x.is_finite())
            .map(|x| float32(*x))
            .collect();
        let bits: Vec<String> = doubles.iter().map(|x| x.to_bits().to_string()).collect();
        let script = r#"
import json, struct, sys
given = json.load(sys.stdin)
doubles = [struct.unpack("<d", struct.pack("<Q", int(b)))[0] for b in given["bits"]]
print(json.dumps({
    "doubles": [repr(x) for x in doubles],
    "singles": [repr(float(s)) for s in given["singles"]],
    "bools": [str(True), str(False)],
}))
"#;
        let input = serde_json::json!({ "bits": bits, "singles": singles }).to_string();
        let mut child = mlflow_test_support::python_command()
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the venv's python runs");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), input.as_bytes())
            .expect("the values go to python");
        let output = child.wait_with_output().expect("python ends");
        assert!(output.status.success(), "{output:?}");
        let json = mlflow_test_support::last_json(&String::from_utf8_lossy(&output.stdout));
        let strings = |key: &str| -> Vec<String> {
            json[key]
                .as_array()
                .expect("a list")
                .iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        };
        let ours: Vec<String> = doubles.iter().map(|x| float(*x)).collect();
        for ((x, ours), python) in doubles.iter().zip(&ours).zip(strings("doubles")) {
            assert_eq!(*ours, python, "{x:e} (bits {:#x})", x.to_bits());
        }
        for (ours, python) in singles.iter().zip(strings("singles")) {
            assert_eq!(*ours, python);
        }
        assert_eq!(strings("bools"), [python_str(&true), python_str(&false)]);
    }
}
