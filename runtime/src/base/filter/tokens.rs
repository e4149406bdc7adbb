//! The filter grammar's tokens: identifiers (quoted or not), keywords, strings, numbers,
//! operators and parenthesized lists.

use crate::base::error::Error;

/// The error MLflow gives for a filter or `order_by` it cannot parse.
pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::api(400, "INVALID_PARAMETER_VALUE", message)
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An identifier, with back-quoted or double-quoted parts already unquoted.
    Ident(String),
    /// A word that is a keyword (AND, LIKE, ...), upper-cased.
    Word(String),
    Str(String),
    Num(String),
    CompareOp(String),
    List(Vec<String>),
}

pub(super) fn tokenize(s: &str) -> Result<Vec<(Tok, String)>, Error> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let tok = if c == '\'' || c == '"' {
            let (text, next) = quoted(&chars, i, s)?;
            i = next;
            Tok::Str(text)
        } else if c == '(' {
            let mut items = Vec::new();
            i += 1;
            loop {
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                match chars.get(i) {
                    Some('\'') | Some('"') => {
                        let (text, next) = quoted(&chars, i, s)?;
                        items.push(text);
                        i = next;
                    }
                    Some(')') if items.is_empty() => {
                        i += 1;
                        break;
                    }
                    _ => {
                        return Err(invalid(format!(
                            "While parsing a list in the query, expected string value, punctuation, or whitespace, but got different token type in '{s}'"
                        )));
                    }
                }
                while i < chars.len() && chars[i].is_whitespace() {
                    i += 1;
                }
                match chars.get(i) {
                    Some(',') => i += 1,
                    Some(')') => {
                        i += 1;
                        break;
                    }
                    _ => {
                        return Err(invalid(format!(
                            "While parsing a list in the query, expected a comma or ')' in '{s}'"
                        )));
                    }
                }
            }
            Tok::List(items)
        } else if matches!(c, '=' | '!' | '<' | '>') {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            if matches!(two.as_str(), "!=" | "<=" | ">=" | "<>" | "==") {
                i += 2;
                Tok::CompareOp(if two == "<>" { "!=".into() } else { two })
            } else if c == '!' {
                return Err(invalid(format!(
                    "Invalid clause(s) in filter string: '!' in '{s}'"
                )));
            } else {
                i += 1;
                Tok::CompareOp(c.to_string())
            }
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars
                    .get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            Tok::Num(chars[start..i].iter().collect())
        } else if c.is_alphanumeric() || c == '_' || c == '`' {
            let mut ident = String::new();
            while i < chars.len() {
                let ch = chars[i];
                if ch == '`' || (ch == '"' && ident.ends_with('.')) {
                    let close = chars[i + 1..]
                        .iter()
                        .position(|x| *x == ch)
                        .ok_or_else(|| {
                            invalid(format!("Invalid filter '{s}': unterminated quoted key"))
                        })?;
                    ident.extend(&chars[i + 1..i + 1 + close]);
                    i += close + 2;
                } else if ch.is_alphanumeric()
                    || ch == '_'
                    || ch == '.'
                    || ch == '-'
                    || ch == ':'
                    || ch == '/'
                {
                    ident.push(ch);
                    i += 1;
                } else {
                    break;
                }
            }
            let upper = ident.to_ascii_uppercase();
            if matches!(
                upper.as_str(),
                "AND" | "OR" | "NOT" | "LIKE" | "ILIKE" | "IN" | "IS" | "NULL" | "ASC" | "DESC"
            ) {
                Tok::Word(upper)
            } else {
                Tok::Ident(ident)
            }
        } else {
            return Err(invalid(format!(
                "Invalid clause(s) in filter string: '{c}' in '{s}'"
            )));
        };
        out.push((tok, chars[start..i].iter().collect()));
    }
    Ok(out)
}

fn quoted(chars: &[char], start: usize, whole: &str) -> Result<(String, usize), Error> {
    let q = chars[start];
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        if chars[i] == q {
            // SQL escapes a quote by doubling it.
            if chars.get(i + 1) == Some(&q) {
                text.push(q);
                i += 2;
                continue;
            }
            return Ok((text, i + 1));
        }
        text.push(chars[i]);
        i += 1;
    }
    Err(invalid(format!(
        "Invalid filter '{whole}': unterminated string"
    )))
}
