//! Key lists, one key a line: what `tierd snapshot restore --keys-from FILE` reads (and what
//! `tierd ingest --keys` writes).

use std::io::Read;

/// The longest key S3 accepts, in bytes.
const MAX_KEY_BYTES: usize = 1024;

/// Reads the key list `name` (`-`: standard input). See [`parse_keys`].
///
/// # Errors
/// The file cannot be read; every bad line, each as `FILE:LINE: ...`.
pub fn read_keys(name: &str) -> anyhow::Result<Vec<String>> {
    let mut bytes = Vec::new();
    if name == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)?;
    } else {
        bytes = std::fs::read(name).map_err(|e| anyhow::anyhow!("{name}: cannot read: {e}"))?;
    }
    parse_keys(if name == "-" { "<stdin>" } else { name }, &bytes).map_err(anyhow::Error::msg)
}

/// The keys of a list, in its order: one a line, as written (only the line ending is taken
/// off); blank lines and lines starting with `#` are skipped.
///
/// # Errors
/// Every line that is not an object key (not UTF-8, a control character, over 1024 bytes, an
/// empty, `.` or `..` path segment), each as `NAME:LINE: ...`, one a line.
pub fn parse_keys(name: &str, bytes: &[u8]) -> Result<Vec<String>, String> {
    let (mut keys, mut problems) = (Vec::new(), Vec::new());
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let at = format!("{name}:{}", n + 1);
        let Ok(line) = std::str::from_utf8(line) else {
            problems.push(format!(
                "{at}: not UTF-8; a key list holds one object key a line"
            ));
            continue;
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match key_problem(line) {
            None => keys.push(line.to_string()),
            Some(p) => problems.push(format!("{at}: {line:?} is not an object key: {p}")),
        }
    }
    if problems.is_empty() {
        Ok(keys)
    } else {
        Err(problems.join("\n"))
    }
}

/// Why `key` cannot be an object key tierd reads, if it cannot.
fn key_problem(key: &str) -> Option<String> {
    if key.len() > MAX_KEY_BYTES {
        return Some(format!(
            "{} bytes, over the {MAX_KEY_BYTES} a key can have",
            key.len()
        ));
    }
    if key.chars().any(char::is_control) {
        return Some(
            "it holds a control character (a tab?); give one key a line, nothing else".into(),
        );
    }
    if key
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Some(
            "an empty, `.` or `..` path segment (a leading, trailing or doubled `/`); give the key without its bucket"
                .into(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_key_list_skips_blank_lines_and_comments_and_keeps_keys_as_written() {
        let keys = parse_keys("a.txt", b"# attacked\ndata/1.json\r\n\n  \ndata/a b.txt\n").unwrap();
        assert_eq!(keys, ["data/1.json", "data/a b.txt"]);
    }

    #[test]
    fn every_bad_line_of_a_key_list_is_reported_with_its_location() {
        let err = parse_keys("a.txt", b"ok\n/bucket/key\nx\ty\n\xff\n").unwrap_err();
        assert_eq!(
            err,
            "a.txt:2: \"/bucket/key\" is not an object key: an empty, `.` or `..` path segment (a leading, trailing or doubled `/`); give the key without its bucket\n\
             a.txt:3: \"x\\ty\" is not an object key: it holds a control character (a tab?); give one key a line, nothing else\n\
             a.txt:4: not UTF-8; a key list holds one object key a line"
        );
    }
}
