//! Key globs: `*` matches within one path segment, `**` across segments, `?` one character.

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
    tokens: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,
    Star,
    DoubleStar,
}

impl Glob {
    pub fn new(pattern: &str) -> Self {
        let mut tokens = Vec::new();
        let mut it = pattern.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                '*' if it.peek() == Some(&'*') => {
                    it.next();
                    tokens.push(Tok::DoubleStar);
                }
                '*' => tokens.push(Tok::Star),
                '?' => tokens.push(Tok::Any),
                c => tokens.push(Tok::Lit(c)),
            }
        }
        Glob {
            pattern: pattern.to_string(),
            tokens,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// The literal text before the first wildcard.
    pub fn literal_prefix(&self) -> String {
        self.tokens
            .iter()
            .map_while(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    pub fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        matches(&self.tokens, &chars)
    }
}

fn matches(p: &[Tok], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some(Tok::Lit(c)) => t.first() == Some(c) && matches(&p[1..], &t[1..]),
        Some(Tok::Any) => t.first().is_some_and(|c| *c != '/') && matches(&p[1..], &t[1..]),
        Some(Tok::Star) => {
            let mut i = 0;
            loop {
                if matches(&p[1..], &t[i..]) {
                    return true;
                }
                if i == t.len() || t[i] == '/' {
                    return false;
                }
                i += 1;
            }
        }
        Some(Tok::DoubleStar) => (0..=t.len()).any(|i| matches(&p[1..], &t[i..])),
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    #[test]
    fn star_stays_within_a_segment_and_double_star_crosses() {
        assert!(Glob::new("logs/*.gz").is_match("logs/a.gz"));
        assert!(!Glob::new("logs/*.gz").is_match("logs/2024/a.gz"));
        assert!(Glob::new("logs/**.gz").is_match("logs/2024/a.gz"));
        assert!(Glob::new("a?c").is_match("abc"));
        assert!(!Glob::new("a?c").is_match("a/c"));
    }
}
