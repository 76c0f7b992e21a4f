//! Located diagnostics: `path:line:col: error: message`, collected, never thrown one at a time.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One problem in one file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub severity: Severity,
    /// What is wrong, naming the subject and the bad value, then the valid values and the fix.
    pub message: String,
}

impl Diagnostic {
    pub fn error(path: &Path, (line, col): (usize, usize), message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line,
            col,
            severity: Severity::Error,
            message: message.into(),
        }
    }

    pub fn warning(path: &Path, (line, col): (usize, usize), message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line,
            col,
            severity: Severity::Warning,
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The longest message shown whole: a message quotes what was written, and what was written
/// may be a 200 KB string.
pub const MAX_MESSAGE_SHOWN: usize = 4096;

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: ",
            self.path.display(),
            self.line,
            self.col,
            self.severity.as_str(),
        )?;
        f.write_str(&shown_cut(&self.message, MAX_MESSAGE_SHOWN))
    }
}

/// `text` whole when it is at most `max` bytes long; otherwise its first `max` bytes (fewer when
/// `max` falls inside a character), then `... (N more bytes not shown)`.
///
/// For messages that quote what they were given: a configuration value or a log field may be
/// megabytes long, and a message is read by a person. Ingest cuts its bad-line reasons with it.
pub fn shown_cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!(
        "{}... ({} more bytes not shown)",
        &text[..cut],
        text.len() - cut
    ))
}

/// Turns a byte offset in `text` into a 1-based (line, column), the column counted in characters.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Turns a `toml` parse error into a located diagnostic.
pub fn from_toml_error(path: &Path, text: &str, err: &toml::de::Error) -> Diagnostic {
    let at = err.span().map_or((1, 1), |s| line_col(text, s.start));
    Diagnostic::error(path, at, err.message().trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "a = 1\nbb = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 9), (2, 4));
    }

    #[test]
    fn diagnostic_prints_location_first() {
        let d = Diagnostic::error(Path::new("p.toml"), (3, 7), "unknown tier \"x\"");
        assert_eq!(d.to_string(), "p.toml:3:7: error: unknown tier \"x\"");
    }

    #[test]
    fn a_huge_message_is_shown_cut_with_what_was_left_out() {
        let d = Diagnostic::error(
            std::path::Path::new("p.toml"),
            (1, 2),
            format!("unknown tier \"{}\"", "é".repeat(10_000)),
        );
        let shown = d.to_string();
        assert!(shown.starts_with("p.toml:1:2: error: unknown tier \"éé"));
        assert!(
            shown.ends_with("... (15919 more bytes not shown)"),
            "{}",
            &shown[shown.len() - 60..]
        );
        assert!(shown.len() < MAX_MESSAGE_SHOWN + 100);
    }

    #[test]
    fn shown_cut_keeps_short_text_and_cuts_long_text_on_a_character_boundary() {
        assert_eq!(shown_cut("short", 5), "short");
        assert!(matches!(shown_cut("short", 5), Cow::Borrowed(_)));
        // "é" is two bytes: a cut at 3 falls inside the second one and moves back to 2.
        assert_eq!(shown_cut("ééé", 3), "é... (4 more bytes not shown)");
        assert_eq!(shown_cut("abcdef", 0), "... (6 more bytes not shown)");
    }
}
