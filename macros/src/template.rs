//! The `name = "..."` template: `{arg}` placeholders, `{{`/`}}` escapes.
//!
//! The grammar is the subset of `std::fmt` that can be checked against the function's
//! arguments before rustc sees it: every placeholder must *name* something, because a run
//! name built from positional or implicit arguments would be a silent mistake. Format specs
//! (`{lr:.3}`, `{x:?}`) are passed through to `format!`, which validates them; only specs
//! that reference more arguments (`{x:w$}`, `{x:.*}`) are refused here.

use std::ops::Range;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text, with escapes already resolved (`{{` is stored as `{`).
    Text(String),
    /// `{name}` or `{name:spec}`.
    Arg {
        name: String,
        spec: Option<String>,
        /// Byte range of the whole placeholder (braces included) in the template.
        range: Range<usize>,
    },
}

/// A malformed template, with the byte range (in the template) to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateError {
    pub(crate) message: String,
    pub(crate) range: Range<usize>,
}

/// Splits a template into text and placeholders.
pub(crate) fn parse(template: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = template.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match c {
            '{' if chars.peek().is_some_and(|&(_, next)| next == '{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek().is_some_and(|&(_, next)| next == '}') => {
                chars.next();
                text.push('}');
            }
            '}' => {
                return Err(TemplateError {
                    message: "unmatched `}` in run name; write `}}` for a literal `}`".into(),
                    range: start..start + 1,
                });
            }
            '{' => {
                let Some(end) = template[start..].find('}').map(|i| start + i) else {
                    return Err(TemplateError {
                        message: "unclosed `{` in run name; write `{{` for a literal `{`".into(),
                        range: start..template.len(),
                    });
                };
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(placeholder(&template[start + 1..end], start..end + 1)?);
                while chars.peek().is_some_and(|&(i, _)| i <= end) {
                    chars.next();
                }
            }
            c => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// Parses the inside of one `{...}`; `range` covers the braces.
fn placeholder(inner: &str, range: Range<usize>) -> Result<Piece, TemplateError> {
    let error = |message: String| TemplateError {
        message,
        range: range.clone(),
    };
    let (name, spec) = match inner.split_once(':') {
        Some((name, spec)) => (name, Some(spec)),
        None => (inner, None),
    };
    if inner.contains('{') {
        return Err(error(format!(
            "unclosed `{{` in run name before `{{{inner}}}`; write `{{{{` for a literal `{{`"
        )));
    }
    if name.is_empty() {
        return Err(error(format!(
            "empty placeholder `{{{inner}}}` in run name: name the argument to insert, \
             e.g. `{{i}}`; write `{{{{}}}}` for literal braces"
        )));
    }
    if name.chars().all(|c| c.is_ascii_digit()) {
        return Err(error(format!(
            "positional placeholder `{{{inner}}}` in run name: name the argument instead, \
             e.g. `{{i}}`"
        )));
    }
    if !is_identifier(name.strip_prefix("r#").unwrap_or(name)) {
        return Err(error(format!(
            "invalid placeholder `{{{inner}}}` in run name: expected the name of an argument"
        )));
    }
    if let Some(spec) = spec
        && (spec.contains('$') || spec.contains('*'))
    {
        return Err(error(format!(
            "placeholder `{{{inner}}}` in run name: width and precision parameters \
             (`$`, `*`) are not supported; write the width or precision literally, \
             e.g. `{{{name}:.3}}`"
        )));
    }
    Ok(Piece::Arg {
        name: name.to_owned(),
        spec: spec.map(str::to_owned),
        range,
    })
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
        && s != "_"
}

/// Writes the pieces back as a `format!` string, with each argument renamed by `rename`
/// (so that `{self}` can become a named argument, which `self` itself cannot be).
pub(crate) fn render(pieces: &[Piece], rename: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(&text.replace('{', "{{").replace('}', "}}")),
            Piece::Arg { name, spec, .. } => {
                out.push('{');
                out.push_str(&rename(name));
                if let Some(spec) = spec {
                    out.push(':');
                    out.push_str(spec);
                }
                out.push('}');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg(name: &str, spec: Option<&str>, range: Range<usize>) -> Piece {
        Piece::Arg {
            name: name.into(),
            spec: spec.map(Into::into),
            range,
        }
    }

    fn err(template: &str) -> TemplateError {
        parse(template).expect_err(template)
    }

    #[test]
    fn plain_text_is_one_piece() {
        assert_eq!(parse("train").unwrap(), vec![Piece::Text("train".into())]);
        assert_eq!(parse("").unwrap(), vec![]);
    }

    #[test]
    fn placeholders_and_text_alternate() {
        assert_eq!(
            parse("run_{i}_test_{test_no}").unwrap(),
            vec![
                Piece::Text("run_".into()),
                arg("i", None, 4..7),
                Piece::Text("_test_".into()),
                arg("test_no", None, 13..22),
            ]
        );
        assert_eq!(
            parse("{a}{b}").unwrap(),
            vec![arg("a", None, 0..3), arg("b", None, 3..6)]
        );
    }

    #[test]
    fn escapes_become_literal_braces() {
        assert_eq!(
            parse("{{x}} {x} }}{{").unwrap(),
            vec![
                Piece::Text("{x} ".into()),
                arg("x", None, 6..9),
                Piece::Text(" }{".into()),
            ]
        );
    }

    #[test]
    fn format_specs_are_kept() {
        assert_eq!(
            parse("lr={lr:.3} {cfg:?}").unwrap(),
            vec![
                Piece::Text("lr=".into()),
                arg("lr", Some(".3"), 3..10),
                Piece::Text(" ".into()),
                arg("cfg", Some("?"), 11..18),
            ]
        );
    }

    #[test]
    fn non_ascii_text_keeps_byte_ranges() {
        assert_eq!(
            parse("é{x}").unwrap(),
            vec![Piece::Text("é".into()), arg("x", None, 2..5)]
        );
        assert_eq!(parse("{é}").unwrap(), vec![arg("é", None, 0..4)]);
        assert_eq!(parse("{r#type}").unwrap(), vec![arg("r#type", None, 0..8)]);
    }

    #[test]
    fn malformed_templates_point_at_the_mistake() {
        let e = err("a{}b");
        assert!(
            e.message.contains("empty placeholder `{}`"),
            "{}",
            e.message
        );
        assert_eq!(e.range, 1..3);
        assert!(err("{:?}").message.contains("empty placeholder"));
        assert!(err("{0}").message.contains("positional placeholder `{0}`"));
        assert!(err("{a b}").message.contains("invalid placeholder `{a b}`"));
        assert!(err("{_}").message.contains("invalid placeholder"));
        assert!(err("{1x}").message.contains("invalid placeholder"));
        let e = err("ab{x");
        assert!(e.message.contains("unclosed `{`"), "{}", e.message);
        assert_eq!(e.range, 2..4);
        let e = err("a}b");
        assert!(e.message.contains("unmatched `}`"), "{}", e.message);
        assert_eq!(e.range, 1..2);
        assert!(err("{a{b}").message.contains("unclosed `{`"));
        assert!(err("{x:w$}").message.contains("not supported"));
        assert!(err("{x:.*}").message.contains("not supported"));
    }

    #[test]
    fn render_round_trips_with_renames() {
        let pieces = parse("{{lit}} {self:?}-{i:>3}").unwrap();
        let rendered = render(&pieces, |name| match name {
            "self" => "__mlflow_self".into(),
            other => other.into(),
        });
        assert_eq!(rendered, "{{lit}} {__mlflow_self:?}-{i:>3}");
        assert_eq!(render(&parse("a}}{{b").unwrap(), str::to_owned), "a}}{{b");
    }
}
