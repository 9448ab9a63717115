//! Wildcard matching: `*` (any run of characters, `/` and `:` included) and `?` (exactly one
//! character), as IAM matches actions, resources and `StringLike` values.
//!
//! A pattern is a sequence of [`Tok`]ens rather than a string so that a literal `*` (from the
//! `${*}` escape, or from a user name substituted into a resource) stays literal: it never
//! becomes a wildcard.
//!
//! The matcher keeps one backtrack point (the last `*` seen) instead of recursing on every
//! `*`: when a later literal fails, only that last star absorbs one more character. That is
//! correct for globs (an earlier star never needs to give back what a later one can take) and
//! costs at most pattern × text steps, where naive recursion is exponential in the number of
//! stars (`a*a*a*…b` against `aaaa…`).

/// One element of a compiled pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// This character, exactly.
    Lit(char),
    /// `*`: any run of characters, the empty one included.
    Many,
    /// `?`: exactly one character.
    One,
}

/// Compiles `pattern` where `*` and `?` are wildcards and every other character is literal.
pub(crate) fn glob(pattern: &str) -> Vec<Tok> {
    pattern.chars().map(wild).collect()
}

/// The token of one pattern character whose `*` and `?` are wildcards.
pub(crate) fn wild(c: char) -> Tok {
    match c {
        '*' => Tok::Many,
        '?' => Tok::One,
        c => Tok::Lit(c),
    }
}

/// Whether `text` matches `pattern` as a whole.
pub(crate) fn matches(pattern: &[Tok], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    matches_chars(pattern, &text)
}

/// [`matches`] over characters already split.
pub(crate) fn matches_chars(pattern: &[Tok], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // The last `*` seen and the text position it currently stops before.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Many) => {
                star = Some((p, t));
                p += 1;
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the last star take one more character and retry after it.
        match star {
            Some((sp, st)) => {
                star = Some((sp, st + 1));
                p = sp + 1;
                t = st + 1;
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Many)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_iam_does() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("s3:Get*", "s3:GetObject", true),
            ("s3:Get*", "s3:PutObject", false),
            ("s3:*Object", "s3:GetObject", true),
            ("s3:*Object", "s3:GetObjectTagging", false),
            ("s3:?etObject", "s3:GetObject", true),
            ("s3:?etObject", "s3:etObject", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c", true),
            ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false),
            ("arn:aws:s3:::bucket*", "arn:aws:s3:::bucket", true),
            ("*/key", "arn:aws:s3:::b/x/key", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("a*b*c", "abcbc", true),
            ("*a", "bbbba", true),
            ("*a", "bbbab", false),
            ("**", "x", true),
            ("?*", "", false),
            ("é?", "éü", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (pattern, text, want) in cases {
            assert_eq!(
                matches(&glob(pattern), text),
                *want,
                "{pattern:?} against {text:?}"
            );
        }
    }

    #[test]
    fn literal_star_is_not_a_wildcard() {
        let pattern = [Tok::Lit('a'), Tok::Lit('*')];
        assert!(matches(&pattern, "a*"));
        assert!(!matches(&pattern, "ab"));
        assert!(!matches(&pattern, "a"));
    }

    #[test]
    fn pathological_pattern_is_not_exponential() {
        // 40 stars and a final `b` against 10,000 `a`s: naive recursion would try every way to
        // split the text among the stars; this returns after pattern × text steps at most.
        let pattern = format!("{}b", "a*".repeat(40));
        let text = "a".repeat(10_000);
        let started = std::time::Instant::now();
        assert!(!matches(&glob(&pattern), &text));
        assert!(matches(&glob(&pattern), &format!("{text}b")));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
    }
}
