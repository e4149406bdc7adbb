//! JSON as the Python side writes it: `json.dump`/`json.dumps` (the files of `log_dict`,
//! the `mlflow.loggedArtifacts` tag) and pandas' `to_json` (the files of `log_table`), so
//! that a file or tag this crate writes is the one the Python client would have written.
//!
//! What that takes beyond `serde_json`: `ensure_ascii` (every character outside printable
//! ASCII as `\uXXXX`, surrogate pairs beyond the BMP), the separators (`", "` and `": "`
//! without indent, `","` and `": "` with it; pandas: `","` and `":"`), floats as Python's
//! `repr` (`1e-05`, `1e+16`, `100.0`), and pandas' `\/` for a slash. Non-finite floats are
//! written as `null`, as `serde_json` does (Python writes `NaN` and `Infinity`).

use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

/// Which writer to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `json.dumps(value)`: one line, `", "` and `": "`.
    Dumps,
    /// `json.dump(value, f, indent=2)`: `","` at line ends, `": "`.
    Indent2,
    /// pandas' `DataFrame.to_json`: one line, `","` and `":"`, `/` escaped as `\/`.
    Pandas,
}

/// `value` as `style` writes it.
pub(crate) fn to_string<T: Serialize + ?Sized>(
    value: &T,
    style: Style,
) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PyFormatter::new(style));
    value.serialize(&mut ser)?;
    // Only ASCII is ever written.
    Ok(String::from_utf8(out).unwrap_or_default())
}

/// A `serde_json` formatter writing as Python does.
struct PyFormatter {
    style: Style,
    level: usize,
    has_value: bool,
}

impl PyFormatter {
    fn new(style: Style) -> PyFormatter {
        PyFormatter {
            style,
            level: 0,
            has_value: false,
        }
    }

    fn indented(&self) -> bool {
        self.style == Style::Indent2
    }

    fn newline<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn separator<W: ?Sized + io::Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        match self.style {
            Style::Indent2 => {
                if !first {
                    w.write_all(b",")?;
                }
                self.newline(w)
            }
            Style::Dumps if !first => w.write_all(b", "),
            Style::Pandas if !first => w.write_all(b","),
            _ => Ok(()),
        }
    }

    fn close<W: ?Sized + io::Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level -= 1;
        if self.indented() && self.has_value {
            self.newline(w)?;
        }
        self.has_value = true;
        w.write_all(bracket)
    }
}

impl Formatter for PyFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.separator(w, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(if self.style == Style::Pandas {
            b":"
        } else {
            b": "
        })
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        w.write_all(repr(format!("{value:e}"), value.is_sign_negative()).as_bytes())
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        w.write_all(repr(format!("{value:e}"), value.is_sign_negative()).as_bytes())
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let slash = c == '/' && self.style == Style::Pandas;
            if (' '..='~').contains(&c) && !slash {
                continue;
            }
            w.write_all(&fragment.as_bytes()[start..i])?;
            start = i + c.len_utf8();
            if slash {
                w.write_all(b"\\/")?;
                continue;
            }
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(w, "\\u{unit:04x}")?;
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let short: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => return write!(w, "\\u{byte:04x}"),
        };
        w.write_all(short)
    }
}

/// Python's `repr` of a finite float, from Rust's shortest round-trip digits in
/// exponent form (`1.5e-7`): positional for exponents from -4 to 15 (`0.0001`, `100.0`),
/// else `1.5e-07` / `1e+16`.
fn repr(exp_form: String, negative: bool) -> String {
    let body = exp_form.trim_start_matches('-');
    let (mantissa, exp) = body.split_once('e').unwrap_or((body, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if digits.bytes().all(|d| d == b'0') {
        return format!("{sign}0.0");
    }
    if !(-4..16).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        let (int, frac) = digits.split_at(int_len);
        format!("{sign}{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(v: f64) -> String {
        to_string(&v, Style::Dumps).unwrap()
    }

    #[test]
    fn floats_as_python_repr() {
        for (v, want) in [
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1e-5, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e-100, "1e-100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::NAN, "null"),
        ] {
            assert_eq!(r(v), want, "{v:e}");
        }
        assert_eq!(to_string(&0.1f32, Style::Dumps).unwrap(), "0.1");
    }

    #[test]
    fn separators_indent_and_escapes() {
        let v = json!({"a": [1, {"b": "x/é😀\u{7f}\n\"\\"}], "e": [], "o": {}});
        assert_eq!(
            to_string(&v, Style::Dumps).unwrap(),
            r#"{"a": [1, {"b": "x/\u00e9\ud83d\ude00\u007f\n\"\\"}], "e": [], "o": {}}"#
        );
        assert_eq!(
            to_string(&v, Style::Pandas).unwrap(),
            r#"{"a":[1,{"b":"x\/\u00e9\ud83d\ude00\u007f\n\"\\"}],"e":[],"o":{}}"#
        );
        assert_eq!(
            to_string(&v, Style::Indent2).unwrap(),
            "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"x/\\u00e9\\ud83d\\ude00\\u007f\\n\\\"\\\\\"\n    }\n  ],\n  \"e\": [],\n  \"o\": {}\n}"
        );
        assert_eq!(to_string(&json!({}), Style::Indent2).unwrap(), "{}");
        assert_eq!(to_string(&json!([]), Style::Indent2).unwrap(), "[]");
    }
}
