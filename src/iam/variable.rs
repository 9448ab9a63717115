//! Policy variables: `${aws:username}` in a `Resource` or a condition value takes the value of
//! that condition key in the request, so one policy serves every user.
//!
//! The grammar implemented (AWS's, for policies of version `2012-10-17`; a `2008-10-17`
//! policy has no variables and reads `${…}` literally):
//! - `${key}`: the key's value in the request context (key names case-insensitive);
//! - `${key, 'default'}`: the same, or `default` when the key has no value (`''` inside the
//!   quotes is one `'`);
//! - `${*}`, `${?}`, `${$}`: a literal `*`, `?`, `$` (so a resource can name a key with a star).
//!
//! A substituted value (or default) is literal text: a user named `a*` does not become a
//! wildcard. A variable whose key has no value and no default leaves the element unresolved:
//! it matches nothing (IAM's "no value": no equal or like value matches it).

use crate::pattern::{wild, Tok};
use crate::request::Context;

/// A pattern or value whose pieces may be variables, compiled once when the policy is parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Tok(Tok),
    Var {
        key: String,
        default: Option<String>,
    },
}

/// Why a `${…}` could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadVariable;

impl Template {
    /// Compiles `source`. With `wildcards`, `*` and `?` match as in [`crate::pattern`];
    /// otherwise they are literal (`StringEquals`). With `variables` (policy version
    /// 2012-10-17), `${…}` is a variable or an escape; otherwise it is literal text.
    pub(crate) fn parse(
        source: &str,
        wildcards: bool,
        variables: bool,
    ) -> Result<Self, BadVariable> {
        let chars: Vec<char> = source.chars().collect();
        let mut pieces = Vec::with_capacity(chars.len());
        let mut i = 0;
        while i < chars.len() {
            if variables && chars[i] == '$' && chars.get(i + 1) == Some(&'{') {
                let (piece, next) = variable(&chars, i + 2)?;
                pieces.push(piece);
                i = next;
                continue;
            }
            pieces.push(Piece::Tok(if wildcards {
                wild(chars[i])
            } else {
                Tok::Lit(chars[i])
            }));
            i += 1;
        }
        Ok(Template { pieces })
    }

    /// The pattern for this request, `None` when a variable has no value and no default.
    pub(crate) fn resolve(&self, context: &Context) -> Option<Vec<Tok>> {
        let mut out = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            match piece {
                Piece::Tok(t) => out.push(*t),
                Piece::Var { key, default } => {
                    let value = context.variable(key).or(default.as_deref())?;
                    out.extend(value.chars().map(Tok::Lit));
                }
            }
        }
        Some(out)
    }
}

/// Reads the `${…}` whose body starts at `start`; returns the piece and the index after `}`.
fn variable(chars: &[char], start: usize) -> Result<(Piece, usize), BadVariable> {
    let mut i = start;
    let mut key = String::new();
    while i < chars.len() && !matches!(chars[i], '}' | ',') {
        key.push(chars[i]);
        i += 1;
    }
    let key = key.trim().to_string();
    let default = match chars.get(i) {
        Some(',') => {
            let (default, next) = quoted_default(chars, i + 1)?;
            i = next;
            Some(default)
        }
        Some('}') => None,
        _ => return Err(BadVariable),
    };
    if chars.get(i) != Some(&'}') {
        return Err(BadVariable);
    }
    let piece = match (key.as_str(), &default) {
        ("*" | "?" | "$", None) => Piece::Tok(Tok::Lit(key.chars().next().ok_or(BadVariable)?)),
        (k, _) if valid_key(k) => Piece::Var {
            key: k.to_lowercase(),
            default,
        },
        _ => return Err(BadVariable),
    };
    Ok((piece, i + 1))
}

/// Reads ` 'text' ` after the comma of `${key, 'text'}`; returns the text and the index of what
/// follows the closing quote and any blanks (where `}` must be).
fn quoted_default(chars: &[char], start: usize) -> Result<(String, usize), BadVariable> {
    let mut i = skip_blanks(chars, start);
    if chars.get(i) != Some(&'\'') {
        return Err(BadVariable);
    }
    i += 1;
    let mut text = String::new();
    loop {
        match chars.get(i) {
            None => return Err(BadVariable),
            Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                text.push('\'');
                i += 2;
            }
            Some('\'') => return Ok((text, skip_blanks(chars, i + 1))),
            Some(c) => {
                text.push(*c);
                i += 1;
            }
        }
    }
}

fn skip_blanks(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

/// A condition key name: `service:name`, with `/` for tag keys (`s3:ExistingObjectTag/team`).
pub(crate) fn valid_key(key: &str) -> bool {
    key.split_once(':').is_some_and(|(service, name)| {
        !service.is_empty()
            && !name.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ':' | '/' | '-' | '_' | '.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::matches;

    fn resolve(source: &str, cx: &Context) -> Option<Vec<Tok>> {
        Template::parse(source, true, true)
            .expect("template")
            .resolve(cx)
    }

    #[test]
    fn variables_resolve_from_the_context() {
        let cx = Context::new()
            .with("aws:username", "alice")
            .with("aws:userid", "AID123");
        let cases: &[(&str, &str, bool)] = &[
            ("home/${aws:username}/*", "home/alice/x", true),
            ("home/${aws:username}/*", "home/bob/x", false),
            ("home/${ AWS:UserName }/*", "home/alice/x", true),
            ("${aws:userid}-${aws:username}", "AID123-alice", true),
            ("a${*}b", "a*b", true),
            ("a${*}b", "axb", false),
            ("a${?}b", "a?b", true),
            ("a${?}b", "axb", false),
            ("cost${$}", "cost$", true),
            ("${aws:principaltype, 'User'}", "User", true),
            ("${aws:principaltype,'it''s'}", "it's", true),
            ("${aws:username, 'nobody'}", "alice", true),
            ("$notavariable", "$notavariable", true),
        ];
        for (source, text, want) in cases {
            let pattern = resolve(source, &cx).expect("resolved");
            assert_eq!(
                matches(&pattern, text),
                *want,
                "{source:?} against {text:?}"
            );
        }
    }

    #[test]
    fn substituted_values_are_literal() {
        let cx = Context::new().with("aws:username", "a*");
        let pattern = resolve("home/${aws:username}/x", &cx).expect("resolved");
        assert!(matches(&pattern, "home/a*/x"));
        assert!(!matches(&pattern, "home/abc/x"));
    }

    #[test]
    fn a_variable_without_value_leaves_the_template_unresolved() {
        assert_eq!(resolve("home/${aws:username}/*", &Context::new()), None);
    }

    #[test]
    fn without_variables_dollar_braces_are_literal() {
        let t = Template::parse("home/${aws:username}*", false, false).expect("template");
        let cx = Context::new().with("aws:username", "alice");
        let pattern = t.resolve(&cx).expect("nothing to resolve");
        assert!(matches(&pattern, "home/${aws:username}*"));
        assert!(!matches(&pattern, "home/alice"));
        assert!(!matches(&pattern, "home/${aws:username}x"));
    }

    #[test]
    fn malformed_variables_are_refused() {
        for bad in [
            "${aws:username",
            "${}",
            "${ }",
            "${username}",
            "${aws:user name}",
            "${aws:username, nobody}",
            "${aws:username, 'open}",
            "${aws:username, 'x' y}",
            "${*, 'x'}",
        ] {
            assert_eq!(
                Template::parse(bad, true, true),
                Err(BadVariable),
                "{bad:?}"
            );
        }
    }
}
