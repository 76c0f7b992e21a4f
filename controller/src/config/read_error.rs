//! What to write instead, when the TOML reader refuses `tierd.toml`: its own messages name
//! what it found and expected, but not the fix (the nearest known field, how to write a value
//! of the wrong type, named `[tiers.NAME]` tables instead of `[[tiers]]`).

use std::ops::Range;
use std::path::Path;

use policies::Diagnostic;

/// The fix for a value of the wrong type, after the TOML reader's message (which names what it
/// found and what it expected, but not what to write).
pub(super) fn type_fix(message: &str) -> &'static str {
    let expected_number = [
        "expected u8",
        "expected u16",
        "expected u32",
        "expected u64",
    ]
    .iter()
    .chain(&["expected usize", "expected f64", "expected i64"])
    .any(|e| message.contains(e));
    if message.starts_with("invalid type: string") && expected_number {
        "; write the number without quotes"
    } else if message.starts_with("invalid type: integer") && message.contains("expected a string")
    {
        "; write it in quotes (a duration or a size takes its unit: \"7d\", \"100MiB\")"
    } else if message.starts_with("invalid value: integer `-") && expected_number {
        "; write a number 0 or more"
    } else if message.starts_with("invalid type: string") && message.contains("expected a boolean")
    {
        "; write true or false without quotes"
    } else if [
        "invalid float, expected `inf`",
        "invalid float, expected `nan`",
        "invalid boolean",
    ]
    .iter()
    .any(|m| message.starts_with(m))
    {
        // A bare word that begins like `inf`, `nan`, `true` or `false`: meant as text.
        "; a text value goes in quotes: \"...\""
    } else {
        ""
    }
}

/// The fix for an unknown field, after the TOML reader's message (``unknown field `x`, expected
/// one of `a`, `b` ``): the known field nearest to it, by the rule every "did you mean" in tierd
/// uses ([`policies::signals::near`]), or nothing when none is close.
pub(super) fn unknown_field_fix(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return String::new();
    };
    let Some((field, expected)) = rest.split_once("`, expected ") else {
        return String::new();
    };
    // serde writes `a`, `a` or `b`, or one of `a`, `b`, `c`.
    let known: Vec<&str> = expected
        .trim_start_matches("one of ")
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .map(|name| name.trim_matches('`'))
        .collect();
    policies::signals::near(field, known)
        .first()
        .map(|n| format!("; did you mean `{n}`?"))
        .unwrap_or_default()
}

/// The sections of `tierd.toml` that are tables (`*`: any tier's name). No section of this file
/// is an array of tables, so `[[x]]` for any of them is a mistake with a known fix.
const TABLES: [&str; 13] = [
    "journal",
    "tiers",
    "tiers.*",
    "tiers.*.options",
    "tiers.*.price",
    "ingest",
    "ingest.options",
    "policies",
    "costs",
    "planner",
    "model",
    "service",
    "simulate",
];

/// A key as it is written in a table header: bare when it can be, else quoted.
fn header_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// A table section written as an array (`[[tiers]]`, `[[service]]`, `service = [{ ... }]`): where,
/// the byte ranges whose reader errors it explains, and the fix.
struct ArrayForTable {
    /// Byte offset the diagnostic points at: the `[[x]]` header (each tier's own, for `[[tiers]]`).
    at: usize,
    /// The array and its elements: a reader error starting in one of them is this mistake's
    /// consequence, and is not reported on its own.
    covers: Vec<Range<usize>>,
    /// What is wrong and what to write.
    message: String,
}

/// Every table section of `table` (whose section pattern is `pattern` and header path `shown`,
/// both empty at the root) written as an array, in document order.
fn arrays_for_tables(
    text: &str,
    table: &toml::de::DeTable<'_>,
    pattern: &str,
    shown: &str,
    out: &mut Vec<ArrayForTable>,
) {
    use toml::de::DeValue;
    for (k, v) in table.iter() {
        let key = k.get_ref().as_ref();
        let pattern = match pattern {
            "" => key.to_string(),
            "tiers" => "tiers.*".to_string(),
            p => format!("{p}.{key}"),
        };
        let shown = match shown {
            "" => header_key(key),
            s => format!("{s}.{}", header_key(key)),
        };
        if !TABLES.contains(&pattern.as_str()) {
            continue;
        }
        let items = match v.get_ref() {
            DeValue::Table(t) => {
                arrays_for_tables(text, t, &pattern, &shown, out);
                continue;
            }
            DeValue::Array(items) => items,
            _ => continue,
        };
        let span = v.span();
        // `[[x]]` headers, or an inline `x = [...]`.
        let headers = text.get(span.start..).is_some_and(|t| t.starts_with("[["));
        let written = if headers {
            format!("[[{shown}]]")
        } else {
            format!("{shown} = [...]")
        };
        let mut covers: Vec<Range<usize>> = vec![span.clone()];
        covers.extend(items.iter().map(|i| i.span()));
        if pattern == "tiers" && !items.is_empty() && items.iter().all(|i| i.get_ref().is_table()) {
            // One fix per tier, each at its own header, with its name and URL when written.
            for item in items.iter() {
                let field = |name: &str| {
                    item.get_ref()
                        .as_table()
                        .and_then(|t| t.get(name))
                        .and_then(|v| v.get_ref().as_str())
                };
                let url = field("url").unwrap_or("...");
                let message = match field("name") {
                    Some(name) => format!(
                        "tiers is a table of named tiers: write [tiers.{}] with url = {url:?} (not {written} with name = {name:?})",
                        header_key(name)
                    ),
                    None => format!(
                        "tiers is a table of named tiers: write [tiers.onprem] with url = {url:?}, the tier's name in the header (not {written})"
                    ),
                };
                out.push(ArrayForTable {
                    at: item.span().start,
                    covers: covers.clone(),
                    message,
                });
            }
        } else if pattern == "tiers" {
            out.push(ArrayForTable {
                at: span.start,
                covers,
                message: format!(
                    "tiers is a table of named tiers: write [tiers.onprem] with url = \"...\" (not {written})"
                ),
            });
        } else {
            out.push(ArrayForTable {
                at: span.start,
                covers,
                message: format!("{shown} is one table: write [{shown}] once, not {written}"),
            });
        }
    }
}

/// The reader's error, located, with the fix it does not give (the nearest known field, how to
/// write a value of the wrong type).
fn reader_diag(path: &Path, text: &str, e: &toml::de::Error) -> Diagnostic {
    let mut d = policies::diag::from_toml_error(path, text, e);
    let entry = e.span().and_then(|s| {
        let doc = toml::de::DeTable::parse(text).ok()?;
        entry_at(doc.get_ref(), s.start)
    });
    // A secret written as the wrong type: the reader quotes the value it refused.
    if let Some(entry) = &entry
        && crate::config::is_secret_option(&entry.key)
        && let Some(raw) = text
            .get(entry.value.clone())
            .filter(|r| !r.trim().is_empty())
    {
        d.message = d.message.replace(&format!("`{}`", raw.trim()), "`***`");
        if d.message.starts_with("invalid type: integer") {
            d.message
                .push_str("; a key or secret is text: write it in quotes");
            return d;
        }
    }
    if d.message == "duplicate key"
        && let Some(key) = e.span().and_then(|s| text.get(s)).map(str::trim)
    {
        d.message = format!("duplicate key `{key}`: each key is written once in its table");
    }
    d.message.push_str(type_fix(&d.message));
    let unknown = unknown_field_fix(&d.message);
    d.message.push_str(&unknown);
    d
}

/// The diagnostics for a configuration the TOML reader refused: its message, located, with the
/// fix it does not give (the nearest known field, how to write a value of the wrong type); and
/// for a table section written as an array (`[[tiers]]`), what to write in its place, for every
/// such section at once. Also whether the arrays' fixes replaced the reader's own message.
fn read_error(path: &Path, text: &str, e: &toml::de::Error) -> (Vec<Diagnostic>, bool) {
    let d = reader_diag(path, text, e);
    let mut arrays = Vec::new();
    if let Ok(doc) = toml::de::DeTable::parse(text) {
        arrays_for_tables(text, doc.get_ref(), "", "", &mut arrays);
    }
    // The reader stops at the first array it cannot read as a table, with a message that does not
    // say what to write ("invalid type: sequence, expected a map"); the arrays' fixes replace it.
    let explained = e.span().is_some_and(|s| {
        arrays
            .iter()
            .any(|a| a.covers.iter().any(|c| c.contains(&s.start)))
    });
    let mut diags: Vec<Diagnostic> = arrays
        .into_iter()
        .map(|a| Diagnostic::error(path, policies::diag::line_col(text, a.at), a.message))
        .collect();
    if !explained {
        diags.push(d);
    }
    diags.sort_by_key(|d| (d.line, d.col));
    (diags, explained)
}

/// How many reader errors one read of `tierd.toml` reports at most.
const MAX_READ_ERRORS: usize = 20;

/// What [`read_errors`] found.
pub(super) struct ReadErrors<T> {
    /// Every reader error, located, with its fix.
    pub diags: Vec<Diagnostic>,
    /// The text with every refused value set aside, and what the reader read from it, when it
    /// could read it: its other values can still be checked.
    pub rest: Option<(String, T)>,
    /// Where the placeholders put in for refused values are, first and last (line, column):
    /// a check that finds fault there finds fault with a placeholder.
    pub set_aside: Vec<((usize, usize), (usize, usize))>,
}

/// Every reader error of `text` (up to [`MAX_READ_ERRORS`]), not only the first: the TOML reader
/// stops at the first value it refuses, so an operator fixing a file would meet its mistakes one
/// run at a time. Each refused value is set aside — replaced by a placeholder of the type the
/// reader expected, or else its entry removed — and the text read again, with every line kept
/// where it was. Stops at a mistake it cannot set aside (a missing field, a section written as
/// an array), and never reports the echo of one it did (a field missing once an entry was
/// removed: the entry, or it misspelt). `first` is the reader's error on `text`.
pub(super) fn read_errors<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    first: &toml::de::Error,
) -> ReadErrors<T> {
    // (Whether the reader's message was replaced is asked of `read_error`, not read from the
    // messages: a secret's value is masked in them.)
    let (mut diags, explained_by_arrays) = read_error(path, text, first);
    let mut work = text.to_string();
    let mut removed = 0;
    let mut placeholders = Vec::new();
    let mut err = first.clone();
    let mut rest = None;
    while !explained_by_arrays && diags.len() < MAX_READ_ERRORS {
        let Some((next, at)) = set_aside(&work, &err, &mut removed) else {
            break;
        };
        work = next;
        placeholders.extend(at);
        let e = match toml::from_str::<T>(&work) {
            Ok(read) => {
                rest = Some((work, read));
                break;
            }
            Err(e) => e,
        };
        // A field missing once an entry was removed may be that entry misspelt (`pat` for
        // `path`), or the entry itself.
        let echo = removed > 0 && e.message().starts_with("missing field");
        let d = reader_diag(path, &work, &e);
        if echo || diags.iter().any(|o| (o.line, o.col) == (d.line, d.col)) {
            break;
        }
        diags.push(d);
        err = e;
    }
    if diags.len() >= MAX_READ_ERRORS
        && let Some(last) = diags.last_mut()
    {
        last.message.push_str(&format!(
            " (tierd stops after {MAX_READ_ERRORS} such mistakes: fix these and check again)"
        ));
    }
    diags.sort_by_key(|d| (d.line, d.col));
    ReadErrors {
        diags,
        rest,
        set_aside: placeholders,
    }
}

/// `work` with the value `err` refused set aside (see [`read_errors`]); `None` when it cannot be.
/// Also returns where the placeholder put in is, first and last (line, column), if one was.
#[allow(clippy::type_complexity)]
fn set_aside(
    work: &str,
    err: &toml::de::Error,
    removed: &mut usize,
) -> Option<(String, Option<((usize, usize), (usize, usize))>)> {
    let at = err.span()?.start;
    let doc = toml::de::DeTable::parse(work).ok()?;
    let entry = entry_at(doc.get_ref(), at)?;
    let (range, with) = match placeholder_for(err.message()) {
        Some(p) => (entry.value, p),
        None => {
            *removed += 1;
            (entry.whole, "")
        }
    };
    // Keep every newline, so that the lines after it keep their numbers.
    let newlines = work.get(range.clone())?.matches('\n').count();
    let mut next = String::with_capacity(work.len());
    next.push_str(&work[..range.start]);
    next.push_str(with);
    next.push_str(&"\n".repeat(newlines));
    next.push_str(&work[range.end..]);
    let at = (!with.is_empty()).then(|| {
        (
            policies::diag::line_col(&next, range.start),
            policies::diag::line_col(&next, range.start + with.len() - 1),
        )
    });
    Some((next, at))
}

/// A value of the type the reader said it expected, when it can be written without knowing more.
fn placeholder_for(message: &str) -> Option<&'static str> {
    let expected = message.split_once("expected ")?.1;
    [
        ("a string", "\"\""),
        ("a boolean", "false"),
        ("f64", "0.0"),
        ("u8", "0"),
        ("u16", "0"),
        ("u32", "0"),
        ("u64", "0"),
        ("usize", "0"),
        ("i64", "0"),
        ("a sequence", "[]"),
    ]
    .iter()
    .find(|(what, _)| expected.starts_with(what))
    .map(|(_, p)| *p)
}

/// The innermost `key = value` entry holding byte `at`, written on its own line or inline.
struct Entry {
    key: String,
    /// The value holding `at`: the entry's own, or the item of its array that holds `at`.
    value: Range<usize>,
    /// From the key to the end of the entry's value.
    whole: Range<usize>,
}

fn entry_at(table: &toml::de::DeTable<'_>, at: usize) -> Option<Entry> {
    use toml::de::DeValue;
    for (k, v) in table.iter() {
        let (key, value) = (k.span(), v.span());
        let tables: Vec<&toml::de::DeTable<'_>> = match v.get_ref() {
            DeValue::Table(t) => vec![t],
            DeValue::Array(items) => items
                .iter()
                .filter_map(|i| i.get_ref().as_table())
                .collect(),
            _ => Vec::new(),
        };
        if let Some(inner) = tables.into_iter().find_map(|t| entry_at(t, at)) {
            return Some(inner);
        }
        // A table under its own `[header]` is not an entry; an inline one (`x = { ... }`) is.
        let written_as_entry = key.end <= value.start;
        if !written_as_entry || !(key.contains(&at) || value.contains(&at)) {
            continue;
        }
        let item = match v.get_ref() {
            DeValue::Array(items) => items.iter().map(|i| i.span()).find(|s| s.contains(&at)),
            _ => None,
        };
        return Some(Entry {
            key: k.get_ref().to_string(),
            value: item.unwrap_or_else(|| value.clone()),
            whole: key.start..value.end,
        });
    }
    None
}
