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

/// The diagnostics for a configuration the TOML reader refused: its message, located, with the
/// fix it does not give (the nearest known field, how to write a value of the wrong type); and
/// for a table section written as an array (`[[tiers]]`), what to write in its place, for every
/// such section at once.
pub(super) fn read_error(path: &Path, text: &str, e: &toml::de::Error) -> Vec<Diagnostic> {
    let mut d = policies::diag::from_toml_error(path, text, e);
    d.message.push_str(type_fix(&d.message));
    let unknown = unknown_field_fix(&d.message);
    d.message.push_str(&unknown);
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
    diags
}
