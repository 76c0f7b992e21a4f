//! Files → raw TOML tree (with spans) → checked [`PolicySet`], collecting every problem at once.
//!
//! The TOML is walked by hand from `toml::de::DeTable` rather than through serde so that every
//! unknown field, every wrong type and every bad expression is reported, not only the first.

use std::collections::HashSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::cond::{self, CheckCtx, literal_value, unknown_tier};
use crate::diag::{Diagnostic, from_toml_error, line_col};
use crate::expr::{Atom, Expr};
use crate::facts::{BehaviourFacts, ObjectFacts, parse_utc};
use crate::glob::Glob;
use crate::model::*;
use crate::signals::{self, Kind, SignalId};
use crate::{TierSpec, check};

/// The severities an alert may have, as written in `action.severity`.
const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];

type Value<'i> = Spanned<DeValue<'i>>;

/// Tier conditions are bit sets: at most this many tiers.
pub const MAX_TIERS: usize = 64;

/// The longest duration a policy may write (a cooldown, a minimum residency, a test fact such as
/// `age`): 100 years of 365.25 days, in seconds. Longer values are refused where they are written,
/// so that the planner's `now + cooldown` and the like cannot overflow.
pub const MAX_DURATION_SECS: u64 = 3_155_760_000;

/// TOML syntax errors reported per file; the rest are counted in the last one.
const MAX_TOML_ERRORS: usize = 5;

/// The largest size a policy may write (a byte budget, a test's `size`): 1024PiB, that is 2^60
/// bytes, well inside `u64` and exact as an `f64`.
pub const MAX_SIZE_BYTES: u64 = 1 << 60;

/// The longest alert message, in characters. Every alert decision carries its message in its
/// reason, and `simulate` keeps a replay's decisions for its report: a page-long message fired on
/// every object would multiply into gigabytes. A message says what happened; the decision record
/// already names the rule, the object and why.
pub const MAX_ALERT_MESSAGE_CHARS: usize = 1024;

/// The `now` of a `[[tests]]` block that does not set one: Monday 2026-01-05 12:00 UTC.
pub const DEFAULT_TEST_NOW: i64 = 1_767_614_400;

/// Turns policy files into a validated policy set, or every problem found.
///
/// # Errors
/// All diagnostics (errors and warnings, sorted by path, line, column) when any error was found,
/// including files that cannot be read. Nothing is half-applied: either every file is valid and
/// the whole set is returned, or nothing is.
pub fn load(files: &[PathBuf], tiers: &[TierSpec]) -> Result<Loaded, Vec<Diagnostic>> {
    let mut sources = Vec::new();
    let mut diags = Vec::new();
    for f in files {
        match std::fs::read_to_string(f) {
            Ok(text) => sources.push((f.clone(), text)),
            Err(e) => diags.push(Diagnostic::error(
                f,
                (1, 1),
                format!("cannot read policy file: {e}"),
            )),
        }
    }
    load_sources(&sources, tiers, diags)
}

/// [`load`] over in-memory `(path, text)` pairs, for tests and for callers that already read the files.
///
/// # Errors
/// As [`load`].
pub fn load_from_strs(
    files: &[(&str, &str)],
    tiers: &[TierSpec],
) -> Result<Loaded, Vec<Diagnostic>> {
    let sources: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), (*t).to_string()))
        .collect();
    load_sources(&sources, tiers, Vec::new())
}

fn load_sources(
    sources: &[(PathBuf, String)],
    tiers: &[TierSpec],
    mut diags: Vec<Diagnostic>,
) -> Result<Loaded, Vec<Diagnostic>> {
    let tier_names: Vec<String> = tiers.iter().map(|t| t.name.clone()).collect();
    if tiers.len() > MAX_TIERS {
        let at = sources
            .first()
            .map_or_else(PathBuf::new, |(p, _)| p.clone());
        diags.push(Diagnostic::error(
            &at,
            (1, 1),
            format!(
                "{} tiers are configured; policies support at most {MAX_TIERS}",
                tiers.len()
            ),
        ));
        return Err(diags);
    }
    let mut b = Builder {
        tiers,
        tier_names: &tier_names,
        rules: Vec::new(),
        raw_tests: Vec::new(),
        guardrails: Guardrails {
            min_residency_secs: PolicySet::tier_specs_default(tiers),
            ..Guardrails::default()
        },
        diags: Vec::new(),
        rule_count: 0,
        ids: Vec::new(),
    };
    for (path, text) in sources {
        let (doc, errors) = DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            // The parser recovers and goes on, so one unclosed `[` or quote can be followed by
            // hundreds of errors that are only its echo: the first few say what is wrong.
            for e in errors.iter().take(MAX_TOML_ERRORS) {
                let d = from_toml_error(path, text, e);
                let unclosed = e.span().and_then(|s| unclosed_quote(text, s.start));
                b.diags.push(match unclosed {
                    Some((at, q)) => Diagnostic {
                        message: format!(
                            "invalid TOML: the string opened here is not closed ({}); close the quote: add {q} at the end of the value",
                            d.message
                        ),
                        ..Diagnostic::error(path, line_col(text, at), String::new())
                    },
                    None => Diagnostic {
                        message: format!("invalid TOML: {}", d.message),
                        ..d
                    },
                });
            }
            if let (Some(last), true) = (b.diags.last_mut(), errors.len() > MAX_TOML_ERRORS) {
                last.message.push_str(&format!(
                    " (and {} more TOML errors after it, often all caused by the first: look for an unclosed `[`, `{{` or quote above it)",
                    errors.len() - MAX_TOML_ERRORS
                ));
            }
            continue;
        }
        let f = File { path, text };
        b.file(&f, doc.get_ref());
    }
    diags.append(&mut b.diags);
    let mut policy = PolicySet {
        tiers: tier_names.clone(),
        rules: b.rules,
        order: Vec::new(),
        guardrails: b.guardrails,
        currency: "USD".into(),
    };
    policy.order = (0..policy.rules.len()).collect();
    policy
        .order
        .sort_by_key(|&i| (std::cmp::Reverse(policy.rules[i].priority), i));
    check::check_duplicate_ids(&b.ids, &mut diags);
    check::check_moves_to_current_tier(&policy, &mut diags);
    check::check_ping_pong(&policy, &mut diags);
    check::check_shadowed(&policy, &mut diags);
    let mut seen = HashSet::new();
    let written: Vec<&str> = b
        .ids
        .iter()
        .map(|(id, _)| id.as_str())
        .filter(|id| seen.insert(*id))
        .collect();
    let tests: Vec<PolicyTest> = b
        .raw_tests
        .into_iter()
        .filter_map(|t| t.resolve(&policy, &written, &seen, &mut diags))
        .collect();
    let paths: Vec<PathBuf> = sources.iter().map(|(p, _)| p.clone()).collect();
    crate::lint::lint(&policy, &tests, &paths, &mut diags);
    diags.sort_by(|a, b| {
        (&a.path, a.line, a.col, &a.message).cmp(&(&b.path, b.line, b.col, &b.message))
    });
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(Loaded {
        policy,
        warnings: diags,
        tests,
    })
}

struct File<'a> {
    path: &'a Path,
    text: &'a str,
}

impl File<'_> {
    fn at(&self, offset: usize) -> Origin {
        let (line, col) = line_col(self.text, offset);
        Origin {
            path: self.path.to_path_buf(),
            line,
            col,
        }
    }
}

fn diag(o: &Origin, error: bool, message: String) -> Diagnostic {
    let at = (o.line, o.col);
    if error {
        Diagnostic::error(&o.path, at, message)
    } else {
        Diagnostic::warning(&o.path, at, message)
    }
}

/// `an alert`, `a freeze`.
fn with_article(kind: &str) -> String {
    let vowel = kind.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {kind}", if vowel { "an" } else { "a" })
}

/// A test's `expect`: what wins, `expect.alerts` and `expect.freeze` (each id with where it is).
type ExpectRaw = (
    Expect,
    Option<Vec<(String, Origin)>>,
    Option<(String, Origin)>,
);

struct RawTest {
    name: String,
    object: ObjectFacts,
    behaviour: BehaviourFacts,
    now: i64,
    expect: Expect,
    expect_origin: Origin,
    /// `expect.alerts` and `expect.freeze`, each id with where it is written.
    alerts: Option<Vec<(String, Origin)>>,
    freeze: Option<(String, Origin)>,
    origin: Origin,
}

impl RawTest {
    /// Checks the test against the loaded rules. `written` holds the id of every rule written in
    /// the files, refused ones included, in file order (`written_set` the same ids): a test naming
    /// a refused rule is dropped in silence, since that rule's own errors already fail the load.
    /// A test whose object no rule's scope holds passes whatever it expects: a warning.
    fn resolve(
        self,
        policy: &PolicySet,
        written: &[&str],
        written_set: &HashSet<&str>,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<PolicyTest> {
        let subject = format!("test \"{}\"", self.name);
        let mut named: Vec<(&str, &str, &Origin, Option<&str>)> = Vec::new();
        if let Expect::Action { rule: Some(id), .. } = &self.expect {
            named.push((id, "expect.rule", &self.expect_origin, None));
        }
        for (id, at) in self.alerts.iter().flatten() {
            named.push((id, "expect.alerts", at, Some("alert")));
        }
        if let Some((id, at)) = &self.freeze {
            named.push((id, "expect.freeze", at, Some("freeze")));
        }
        let mut ok = true;
        for (id, field, at, kind) in named {
            match (policy.rule(id), kind) {
                (None, _) if written_set.contains(id) => return None,
                (None, _) => {
                    let near = signals::near(id, written.iter().copied());
                    let hint = near
                        .first()
                        .map(|n| format!("; did you mean \"{n}\"?"))
                        .unwrap_or_default();
                    diags.push(diag(
                        at,
                        true,
                        format!(
                            "{subject}: {field} \"{id}\" is not a rule; rules: {}{hint}",
                            written.join(", ")
                        ),
                    ));
                    ok = false;
                }
                (Some(r), Some(kind)) if r.action.kind() != kind => {
                    let of_kind: Vec<&str> = policy
                        .rules
                        .iter()
                        .filter(|r| r.action.kind() == kind)
                        .map(|r| r.id.as_str())
                        .collect();
                    let list = if of_kind.is_empty() {
                        format!("the policy has no {kind} rule")
                    } else {
                        format!("{kind} rules: {}", of_kind.join(", "))
                    };
                    diags.push(diag(
                        at,
                        true,
                        format!(
                            "{subject}: {field} names rule \"{id}\", {} rule, not {} rule; {list}",
                            with_article(r.action.kind()),
                            with_article(kind)
                        ),
                    ));
                    ok = false;
                }
                _ => {}
            }
        }
        if !ok {
            return None;
        }
        let (bucket, key) = (&self.object.bucket, &self.object.key);
        if !policy.rules.iter().any(|r| r.scope.matches(bucket, key)) {
            diags.push(diag(
                &self.origin,
                false,
                format!(
                    "{subject}: its object is in no rule's scope; it tests nothing (bucket \"{bucket}\", key \"{key}\"); set facts.bucket and facts.key to an object a rule covers"
                ),
            ));
        }
        Some(PolicyTest {
            name: self.name,
            object: self.object,
            behaviour: self.behaviour,
            now: self.now,
            expect: self.expect,
            expect_alerts: self
                .alerts
                .map(|a| a.into_iter().map(|(id, _)| id).collect()),
            expect_freeze: self.freeze.map(|(id, _)| id),
            origin: self.origin,
        })
    }
}

struct Builder<'t> {
    tiers: &'t [TierSpec],
    tier_names: &'t [String],
    rules: Vec<Rule>,
    raw_tests: Vec<RawTest>,
    guardrails: Guardrails,
    diags: Vec<Diagnostic>,
    rule_count: usize,
    /// Every rule id seen, with where, for the duplicate check (including rules that had errors).
    ids: Vec<(String, Origin)>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn as_int(v: &DeValue<'_>) -> Option<i64> {
    let DeValue::Integer(i) = v else { return None };
    let s: String = i.as_str().chars().filter(|&c| c != '_').collect();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let digits = digits
        .trim_start_matches("0x")
        .trim_start_matches("0o")
        .trim_start_matches("0b");
    // The sign is parsed with the digits: i64::MIN's digits alone do not fit in an i64.
    let sign = if neg { "-" } else { "" };
    i64::from_str_radix(&format!("{sign}{digits}"), i.radix()).ok()
}

/// The largest value a quantity of `kind` may hold, in canonical units, with how messages say it.
fn quantity_limit(kind: Kind) -> Option<(f64, String)> {
    match kind {
        Kind::Duration => Some((
            MAX_DURATION_SECS as f64,
            format!(
                "{}d (100 years), the longest duration allowed",
                MAX_DURATION_SECS / 86_400
            ),
        )),
        Kind::Size => Some((
            MAX_SIZE_BYTES as f64,
            format!("{}PiB, the largest size allowed", MAX_SIZE_BYTES >> 50),
        )),
        _ => None,
    }
}

/// What to write instead of the bare number `n` given for a duration or a size: the same number
/// with a unit, worded as conditions word it (days for a duration, bytes for a size), or only an
/// example when the number with that unit would be refused (negative, not finite, too large).
fn unitless_fix(kind: Kind, n: f64) -> String {
    let (scale, with_unit, example, units) = if kind == Kind::Duration {
        (
            86_400.0,
            format!("\"{n}d\""),
            "a duration such as \"7d\"",
            "s, m, h, d, w",
        )
    } else {
        (
            1.0,
            format!("\"{n}B\" for bytes, or a size such as \"500GiB\""),
            "a size such as \"500GiB\"",
            "B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB",
        )
    };
    let fits = quantity_limit(kind).is_some_and(|(max, _)| n >= 0.0 && n * scale <= max);
    let fix = if fits { with_unit } else { example.to_string() };
    format!("{fix} (units: {units})")
}

/// Why a plain-number test fact cannot be held (a NaN or an infinity, or a count beyond `u32`),
/// or `None` when it can.
fn fact_overflow(kind: Kind, x: f64, field: &str) -> Option<String> {
    if !x.is_finite() {
        return Some(format!(
            "{field} = {x} is not a finite number; write a number such as 3"
        ));
    }
    if kind == Kind::Count && x > f64::from(u32::MAX) {
        return Some(format!(
            "{field} = {x} is more than {}, the largest count allowed; write a smaller count",
            u32::MAX
        ));
    }
    None
}

fn as_float(v: &DeValue<'_>) -> Option<f64> {
    match v {
        DeValue::Float(f) => f.as_str().replace('_', "").parse().ok(),
        DeValue::Integer(_) => as_int(v).map(|i| i as f64),
        _ => None,
    }
}

/// Maps each byte offset of a TOML string's decoded value to its byte offset in the raw source
/// (relative to the opening quote), handling escapes and multi-line strings. The last entry maps
/// the end of the value.
pub fn string_offsets(raw: &str, decoded: &str) -> Vec<usize> {
    let b = raw.as_bytes();
    let (multiline, literal) = (
        raw.starts_with("\"\"\"") || raw.starts_with("'''"),
        raw.starts_with('\''),
    );
    let mut i = if multiline { 3 } else { 1 };
    let end = raw.len().saturating_sub(if multiline { 3 } else { 1 });
    if multiline {
        if raw[i..].starts_with("\r\n") {
            i += 2;
        } else if raw[i..].starts_with('\n') {
            i += 1;
        }
    }
    let content_start = i;
    let mut out = Vec::with_capacity(decoded.len() + 1);
    while i < end {
        if !literal && b[i] == b'\\' {
            let hex = |n: usize| {
                raw.get(i + 2..i + 2 + n)
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .and_then(char::from_u32)
            };
            let (len, skip) = match b.get(i + 1) {
                Some(b'u') => (hex(4).map_or(1, char::len_utf8), 6),
                Some(b'U') => (hex(8).map_or(1, char::len_utf8), 10),
                Some(b'x') => (hex(2).map_or(1, char::len_utf8), 4),
                Some(b' ' | b'\t' | b'\n' | b'\r') if multiline => {
                    let mut j = i + 1;
                    while j < end && matches!(b[j], b' ' | b'\t' | b'\n' | b'\r') {
                        j += 1;
                    }
                    (0, j - i)
                }
                _ => (1, 2),
            };
            out.extend(std::iter::repeat_n(i, len));
            i += skip;
        } else {
            let n = raw[i..].chars().next().map_or(1, char::len_utf8);
            out.extend(i..i + n);
            i += n;
        }
    }
    out.push(end);
    if out.len() != decoded.len() + 1 {
        // Unexpected encoding: point every offset at the start of the value.
        return vec![content_start; decoded.len() + 1];
    }
    out
}

/// Where the string left open on the line of `offset` starts, and its quote: a TOML error at the
/// end of a line whose last string has no closing quote is about that quote. `None` when every
/// string on the line is closed (or it opens a multi-line string).
fn unclosed_quote(text: &str, offset: usize) -> Option<(usize, char)> {
    let offset = offset.min(text.len());
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[start..end];
    let mut open: Option<(usize, char)> = None;
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match (open, c) {
            (None, '#') => return None,
            (None, '"' | '\'') => {
                if line[i..].starts_with("\"\"\"") || line[i..].starts_with("'''") {
                    return None;
                }
                open = Some((start + i, c));
            }
            (Some((_, '"')), '\\') => {
                chars.next();
            }
            (Some((_, q)), c) if c == q => open = None,
            _ => {}
        }
    }
    open
}

/// A character a bucket name may hold: S3's `a-z`, `0-9`, `.` and `-`, and the upper-case
/// letters and `_` that older buckets (and stores with relaxed names) have.
fn bucket_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')
}

/// The fix for a destination written at the top of a rule (`to = "cloud"` or `tier = "cloud"`)
/// rather than in its action: the action that carries it, keeping the rule's action kind when
/// it is one that takes a destination.
fn stray_destination_fix(rule: &DeTable<'_>, name: &str, v: &Value<'_>) -> Option<String> {
    if !matches!(name, "to" | "tier") {
        return None;
    }
    let to = match v.get_ref() {
        DeValue::String(s) => s.as_ref(),
        _ => "cloud",
    };
    let written = match rule.get("action").map(|a| a.get_ref()) {
        Some(DeValue::String(k)) => Some(k.as_ref()),
        Some(DeValue::Table(at)) => at.get("kind").and_then(|k| k.get_ref().as_str()),
        _ => None,
    };
    Some(match written {
        Some(kind @ ("alert" | "freeze" | "pin" | "unfreeze")) => format!(
            "action \"{kind}\" takes no destination; remove it, or write action = {{ kind = \"move\", to = \"{to}\" }}"
        ),
        Some("snapshot") => format!(
            "a destination belongs in the action: write action = {{ kind = \"snapshot\", to = \"{to}\" }}"
        ),
        _ => format!(
            "a destination belongs in the action: write action = {{ kind = \"move\", to = \"{to}\" }}"
        ),
    })
}

impl Builder<'_> {
    /// The destination a `kind` action's fix suggests when none is written: for a move the last
    /// data tier (a vault holds snapshots only), for a snapshot the first vault, else the last tier.
    fn example_destination(&self, kind: &str) -> Option<&str> {
        let tiers = self.tiers.iter();
        let found = if kind == "snapshot" {
            tiers.clone().find(|t| t.vault)
        } else {
            tiers.clone().rev().find(|t| !t.vault)
        };
        found.or(self.tiers.last()).map(|t| t.name.as_str())
    }

    fn err(&mut self, o: &Origin, message: String) {
        self.diags.push(diag(o, true, message));
    }

    fn warn(&mut self, o: &Origin, message: String) {
        self.diags.push(diag(o, false, message));
    }

    /// Reports every key of `table` that is not in `known`.
    fn check_keys(
        &mut self,
        f: &File<'_>,
        table: &DeTable<'_>,
        known: &[&str],
        subject: &str,
        prefix: &str,
    ) {
        self.check_keys_with(f, table, known, subject, prefix, |_, _| None);
    }

    /// [`Self::check_keys`], with `fix` giving the fix for a key that is a known mistake (a field
    /// written in the wrong table) in place of the nearest known field.
    fn check_keys_with(
        &mut self,
        f: &File<'_>,
        table: &DeTable<'_>,
        known: &[&str],
        subject: &str,
        prefix: &str,
        fix: impl Fn(&str, &Value<'_>) -> Option<String>,
    ) {
        for (k, v) in table.iter() {
            let name = k.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            let hint = match fix(name, v) {
                Some(fix) => format!("; {fix}"),
                None => signals::near(name, known.iter().copied())
                    .first()
                    .map(|n| format!("; did you mean \"{n}\"?"))
                    .unwrap_or_default(),
            };
            let mut sorted = known.to_vec();
            sorted.sort_unstable();
            let lead = if subject.is_empty() {
                String::new()
            } else {
                format!("{subject}: ")
            };
            self.err(
                &f.at(k.span().start),
                format!(
                    "{lead}unknown field \"{prefix}{name}\"; known fields: {}{hint}",
                    sorted.join(", ")
                ),
            );
        }
    }

    fn wrong_type(
        &mut self,
        f: &File<'_>,
        v: &Value<'_>,
        subject: &str,
        field: &str,
        expected: &str,
        example: &str,
    ) {
        let lead = if subject.is_empty() {
            String::new()
        } else {
            format!("{subject}: ")
        };
        // An integer refused where an integer is expected did not fit: say that, not "must be
        // an integer, found an integer".
        if let (DeValue::Integer(i), true) = (v.get_ref(), expected.contains("integer")) {
            self.err(
                &f.at(v.span().start),
                format!(
                    "{lead}{field} = {} is too large (at most 9223372036854775807); write {example}",
                    i.as_str()
                ),
            );
            return;
        }
        self.err(
            &f.at(v.span().start),
            format!(
                "{lead}{field} must be {expected}, found {}; write {example}",
                type_name(v.get_ref())
            ),
        );
    }

    fn string<'v>(
        &mut self,
        f: &File<'_>,
        v: &'v Value<'_>,
        subject: &str,
        field: &str,
        example: &str,
    ) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(f, v, subject, field, "a string", example);
                None
            }
        }
    }

    /// A quantity string such as `"7d"` or `"500GiB"`, checked against `kind`, in canonical units
    /// (seconds or bytes): never negative and never above [`MAX_DURATION_SECS`] or
    /// [`MAX_SIZE_BYTES`], so it converts to `u64` and `i64` without overflow.
    fn quantity(
        &mut self,
        f: &File<'_>,
        v: &Value<'_>,
        subject: &str,
        field: &str,
        kind: Kind,
    ) -> Option<f64> {
        let example = if kind == Kind::Duration {
            "\"7d\""
        } else {
            "\"500GiB\""
        };
        let lead = if subject.is_empty() {
            String::new()
        } else {
            format!("{subject}: ")
        };
        let s = match v.get_ref() {
            DeValue::String(s) => s.as_ref(),
            DeValue::Integer(_) | DeValue::Float(_) => {
                let n = as_float(v.get_ref()).unwrap_or(f64::NAN);
                let written = f
                    .text
                    .get(v.span())
                    .map_or_else(|| n.to_string(), |t| t.trim().to_string());
                self.err(
                    &f.at(v.span().start),
                    format!(
                        "{lead}{field} = {written} has no unit; write {}",
                        unitless_fix(kind, n)
                    ),
                );
                return None;
            }
            _ => {
                self.wrong_type(f, v, subject, field, "a string with a unit", example);
                return None;
            }
        };
        match crate::expr::parse(s) {
            Ok(Expr::Atom(Atom::Num {
                value, unit, text, ..
            })) => match literal_value(kind, value, unit.as_deref(), &text, field) {
                Ok(x) => match quantity_limit(kind) {
                    Some((max, limit)) if x.is_nan() || x > max => {
                        self.err(
                            &f.at(v.span().start + 1),
                            format!(
                                "{lead}{field} = \"{s}\" is more than {limit}; write {example}"
                            ),
                        );
                        None
                    }
                    _ => Some(x),
                },
                Err(m) => {
                    self.err(&f.at(v.span().start + 1), format!("{lead}{m}"));
                    None
                }
            },
            _ => {
                self.err(
                    &f.at(v.span().start),
                    format!(
                        "{lead}{field} = \"{s}\" is not {}; write {example}",
                        kind.noun()
                    ),
                );
                None
            }
        }
    }

    /// Compiles an expression string, mapping its errors to file locations inside the string.
    fn expr(
        &mut self,
        f: &File<'_>,
        v: &Value<'_>,
        subject: &str,
        field: &str,
        allowed: Option<&[SignalId]>,
    ) -> Option<(String, cond::Cond, Vec<cond::Leaf>)> {
        let src = self
            .string(f, v, subject, field, "\"age > 30d\"")?
            .to_string();
        let span: Range<usize> = v.span();
        let raw = f.text.get(span.clone()).unwrap_or("");
        let offsets = string_offsets(raw, &src);
        let ctx = CheckCtx {
            subject,
            field,
            tiers: self.tier_names,
            allowed,
        };
        match cond::compile(&src, &ctx) {
            Ok((c, leaves, warnings)) => {
                for (s, msg) in warnings {
                    let off = offsets.get(s.start).copied().unwrap_or(0);
                    self.warn(&f.at(span.start + off), msg);
                }
                Some((src, c, leaves))
            }
            Err(errs) => {
                for (s, msg) in errs {
                    let off = offsets.get(s.start).copied().unwrap_or(0);
                    self.err(&f.at(span.start + off), msg);
                }
                None
            }
        }
    }

    fn file(&mut self, f: &File<'_>, root: &DeTable<'_>) {
        self.check_keys(f, root, &["rule", "guardrails", "tests"], "", "");
        for (k, v) in root.iter() {
            match k.get_ref().as_ref() {
                "rule" => match v.get_ref() {
                    DeValue::Array(items) => {
                        for item in items.iter() {
                            self.rule(f, item);
                        }
                    }
                    _ => self.wrong_type(
                        f,
                        v,
                        "",
                        "rule",
                        "an array of tables",
                        "[[rule]] (two brackets)",
                    ),
                },
                "tests" => match v.get_ref() {
                    DeValue::Array(items) => {
                        for item in items.iter() {
                            self.test(f, item);
                        }
                    }
                    _ => self.wrong_type(
                        f,
                        v,
                        "",
                        "tests",
                        "an array of tables",
                        "[[tests]] (two brackets)",
                    ),
                },
                "guardrails" => self.guardrails(f, k, v),
                _ => {}
            }
        }
    }

    fn rule(&mut self, f: &File<'_>, item: &Value<'_>) {
        self.rule_count += 1;
        let origin = f.at(item.span().start);
        let DeValue::Table(t) = item.get_ref() else {
            self.wrong_type(f, item, "", "rule", "a table", "[[rule]]");
            return;
        };
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let id = match t.get("id") {
            Some(v) => self
                .string(
                    f,
                    v,
                    &format!("rule #{}", self.rule_count),
                    "id",
                    "id = \"cold-to-cloud\"",
                )
                .map(|s| (s.to_string(), f.at(v.span().start))),
            None => {
                self.err(&origin, format!("rule #{}: missing id; write id = \"cold-to-cloud\" (a unique name used in decisions and tests)", self.rule_count));
                None
            }
        };
        let subject = match &id {
            Some((s, _)) => format!("rule \"{s}\""),
            None => format!("rule #{}", self.rule_count),
        };
        if let Some((s, o)) = &id {
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                let fix: String = s
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                            c.to_ascii_lowercase()
                        } else {
                            '-'
                        }
                    })
                    .collect();
                let fix = if fix.is_empty() {
                    "cold-to-cloud".to_string()
                } else {
                    fix
                };
                self.err(o, format!("{subject}: id may contain only letters, digits, '-', '_' and '.'; write id = \"{fix}\""));
            }
            self.ids.push((s.clone(), o.clone()));
        }
        self.check_keys_with(
            f,
            t,
            &[
                "id",
                "description",
                "scope",
                "when",
                "action",
                "priority",
                "cooldown",
            ],
            &subject,
            "",
            |name, v| stray_destination_fix(t, name, v),
        );
        let description = t.get("description").and_then(|v| {
            self.string(
                f,
                v,
                &subject,
                "description",
                "description = \"why this rule exists\"",
            )
            .map(str::to_string)
        });
        let scope = self.scope(f, t, &subject, &origin);
        let when = match t.get("when") {
            Some(v) => self.expr(f, v, &subject, "when", None),
            None => Some(("true".to_string(), cond::Cond::Const(true), Vec::new())),
        };
        let action = self.action(f, t, &subject, &origin);
        let priority = match t.get("priority") {
            Some(v) => match as_int(v.get_ref()) {
                Some(p) if v.get_ref().is_integer() => Some(p),
                _ => {
                    self.wrong_type(
                        f,
                        v,
                        &subject,
                        "priority",
                        "an integer",
                        "priority = 100 (higher wins)",
                    );
                    None
                }
            },
            None => Some(0),
        };
        let cooldown = match t.get("cooldown") {
            Some(v) => self
                .quantity(f, v, &subject, "cooldown", Kind::Duration)
                // In 0..=MAX_DURATION_SECS: the cast neither wraps nor saturates.
                .map(|s| s as u64),
            None => Some(0),
        };
        let errors_after = self.diags.iter().filter(|d| d.is_error()).count();
        if errors_after > errors_before {
            return;
        }
        if let (
            Some((id, _)),
            Some(scope),
            Some((when, cond, leaves)),
            Some(action),
            Some(priority),
            Some(cooldown_secs),
        ) = (id, scope, when, action, priority, cooldown)
        {
            self.rules.push(Rule {
                id,
                description,
                scope,
                when,
                cond,
                leaves,
                action,
                priority,
                cooldown_secs,
                origin,
            });
        }
    }

    fn scope(
        &mut self,
        f: &File<'_>,
        t: &DeTable<'_>,
        subject: &str,
        origin: &Origin,
    ) -> Option<Scope> {
        let Some(v) = t.get("scope") else {
            self.err(origin, format!("{subject}: missing scope; write scope = {{ bucket = \"logs\" }}, or scope = {{ bucket = \"*\" }} for every bucket"));
            return None;
        };
        let DeValue::Table(st) = v.get_ref() else {
            self.wrong_type(
                f,
                v,
                subject,
                "scope",
                "a table",
                "scope = { bucket = \"logs\", prefix = \"2024/\" }",
            );
            return None;
        };
        self.check_keys(f, st, &["bucket", "prefix", "glob"], subject, "scope.");
        let mut scope = Scope::default();
        let mut ok = true;
        if st.is_empty() {
            self.err(
                &f.at(v.span().start),
                format!("{subject}: empty scope; name a bucket, prefix or glob, e.g. scope = {{ bucket = \"logs\" }}, or write scope = {{ bucket = \"*\" }} to mean every object"),
            );
            return None;
        }
        if let Some(b) = st.get("bucket") {
            match self.string(f, b, subject, "scope.bucket", "bucket = \"logs\"") {
                Some("") => {
                    self.err(&f.at(b.span().start), format!("{subject}: scope.bucket is empty; write a bucket name, or \"*\" for every bucket"));
                    ok = false;
                }
                Some("*") => {}
                Some(s) if !s.chars().all(bucket_char) => {
                    self.err(&f.at(b.span().start), format!("{subject}: scope.bucket = \"{s}\" is not a bucket name: bucket takes one name, or \"*\" for every bucket (a bucket name holds only letters, digits, '.', '-' and '_'); match keys with prefix = \"logs/\" or glob = \"**.log\", and write one rule per bucket for several buckets"));
                    ok = false;
                }
                Some(s) => scope.bucket = Some(s.to_string()),
                None => ok = false,
            }
        } else if let Some(part) = ["prefix", "glob"]
            .into_iter()
            .find(|k| st.get(*k).is_some())
        {
            // A scope = {} must say bucket = "*": so must a key filter meant for every bucket.
            self.err(&f.at(v.span().start), format!("{subject}: scope has a {} but no bucket; write bucket = \"*\" to apply it in every bucket, or name the bucket (bucket = \"logs\")", part));
            ok = false;
        }
        if let Some(p) = st.get("prefix") {
            match self.string(f, p, subject, "scope.prefix", "prefix = \"2024/\"") {
                Some("") => self.warn(
                    &f.at(p.span().start),
                    format!("{subject}: scope.prefix is empty and matches every key; remove it"),
                ),
                Some(s) => scope.prefix = Some(s.to_string()),
                None => ok = false,
            }
        }
        if let Some(g) = st.get("glob") {
            match self.string(f, g, subject, "scope.glob", "glob = \"**.parquet\"") {
                Some(s) => {
                    if s.contains('[') && s.contains(']') {
                        self.warn(&f.at(g.span().start), format!("{subject}: scope.glob = \"{s}\": [...] is not glob syntax here, '[' and ']' match themselves; a glob has * (within a segment), ** (across segments) and ? (one character): write one rule per alternative"));
                    }
                    scope.glob = Some(Glob::new(s));
                }
                None => ok = false,
            }
        }
        ok.then_some(scope)
    }

    fn tier(&mut self, f: &File<'_>, v: &Value<'_>, subject: &str, field: &str) -> Option<usize> {
        // The fix names the field written: `tier = "onprem"` in facts, `to = "cloud"` elsewhere.
        let example = match field.rsplit('.').next() {
            Some("tier") => format!(
                "tier = \"{}\"",
                self.tier_names.first().map_or("onprem", String::as_str)
            ),
            _ => "to = \"cloud\"".to_string(),
        };
        let name = self.string(f, v, subject, field, &example)?;
        match self.tier_names.iter().position(|t| t == name) {
            Some(i) => Some(i),
            None => {
                let msg = format!("{subject}: {}", unknown_tier(name, field, self.tier_names));
                self.err(&f.at(v.span().start), msg);
                None
            }
        }
    }

    fn action(
        &mut self,
        f: &File<'_>,
        t: &DeTable<'_>,
        subject: &str,
        origin: &Origin,
    ) -> Option<Action> {
        const KINDS: [&str; 6] = ["alert", "freeze", "move", "pin", "snapshot", "unfreeze"];
        let Some(v) = t.get("action") else {
            self.err(origin, format!("{subject}: missing action; write action = {{ kind = \"move\", to = \"cloud\" }} (kinds: {})", KINDS.join(", ")));
            return None;
        };
        let (kind, kind_value, table) = match v.get_ref() {
            DeValue::String(s) => (s.as_ref(), v, None),
            DeValue::Table(at) => {
                self.check_keys(
                    f,
                    at,
                    &["kind", "to", "severity", "message"],
                    subject,
                    "action.",
                );
                match at.get("kind") {
                    Some(k) => (
                        self.string(f, k, subject, "action.kind", "kind = \"move\"")?,
                        k,
                        Some(at),
                    ),
                    None => {
                        self.err(&f.at(v.span().start), format!("{subject}: action has no kind; write action = {{ kind = \"move\", to = \"cloud\" }} (kinds: {})", KINDS.join(", ")));
                        return None;
                    }
                }
            }
            _ => {
                self.wrong_type(
                    f,
                    v,
                    subject,
                    "action",
                    "a table",
                    "action = { kind = \"move\", to = \"cloud\" }",
                );
                return None;
            }
        };
        let to = table.and_then(|at| at.get("to"));
        let needs_to = matches!(kind, "move" | "snapshot");
        if !KINDS.contains(&kind) {
            let near = signals::near(kind, KINDS);
            let hint = near
                .first()
                .map(|n| format!("; did you mean \"{n}\"?"))
                .unwrap_or_default();
            self.err(
                &f.at(kind_value.span().start),
                format!(
                    "{subject}: unknown action \"{kind}\"; actions: {}{hint}",
                    KINDS.join(", ")
                ),
            );
            return None;
        }
        if let Some(at) = table {
            for extra in ["severity", "message"] {
                if kind != "alert"
                    && let Some(x) = at.get(extra)
                {
                    self.err(&f.at(x.span().start), format!("{subject}: action \"{kind}\" takes no {extra}; remove it (only alert takes severity and message)"));
                    return None;
                }
            }
        }
        if !needs_to && let Some(x) = to {
            self.err(&f.at(x.span().start), format!("{subject}: action \"{kind}\" takes no \"to\"; remove it (only move and snapshot have a destination)"));
            return None;
        }
        let mut sorted: Vec<&str> = self.tier_names.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        Some(match kind {
            "move" | "snapshot" => {
                let Some(to) = to else {
                    // A destination written at the top of the rule (`to = "cloud"`, reported as
                    // an unknown field) is the one meant, when it names a tier.
                    let stray =
                        ["to", "tier"]
                            .iter()
                            .filter_map(|k| t.get(*k))
                            .find_map(|x| match x.get_ref() {
                                DeValue::String(s) => {
                                    sorted.iter().copied().find(|n| *n == s.as_ref())
                                }
                                _ => None,
                            });
                    let example = stray
                        .or_else(|| self.example_destination(kind))
                        .unwrap_or("cloud");
                    self.err(
                        &f.at(v.span().start),
                        format!("{subject}: action \"{kind}\" needs a destination; write action = {{ kind = \"{kind}\", to = \"{example}\" }} (known tiers: {})", sorted.join(", ")),
                    );
                    return None;
                };
                let to_value = to;
                let to = self.tier(f, to, subject, "action.to")?;
                if kind == "move" && self.tiers[to].vault {
                    let data: Vec<&str> = self
                        .tiers
                        .iter()
                        .filter(|t| !t.vault)
                        .map(|t| t.name.as_str())
                        .collect();
                    let name = &self.tiers[to].name;
                    self.err(
                        &f.at(to_value.span().start),
                        format!("{subject}: action.to = \"{name}\" is a vault (role = \"vault\"), which holds snapshots only: a move puts the live copy of objects there and deletes the source; move to a data tier ({}), or write action = {{ kind = \"snapshot\", to = \"{name}\" }} to copy objects into the vault", data.join(", ")),
                    );
                    return None;
                }
                if kind == "move" {
                    Action::Move { to }
                } else {
                    Action::Snapshot { to }
                }
            }
            "freeze" => Action::Freeze,
            "unfreeze" => Action::Unfreeze,
            "pin" => Action::Pin,
            _ => {
                let severity = match table.and_then(|at| at.get("severity")) {
                    None => AlertSeverity::Warning,
                    Some(s) => match self.string(
                        f,
                        s,
                        subject,
                        "action.severity",
                        "severity = \"critical\"",
                    )? {
                        "info" => AlertSeverity::Info,
                        "warning" => AlertSeverity::Warning,
                        "critical" => AlertSeverity::Critical,
                        other => {
                            let hint = signals::near(other, SEVERITIES)
                                .first()
                                .map(|n| format!("; did you mean \"{n}\"?"))
                                .unwrap_or_default();
                            self.err(&f.at(s.span().start), format!("{subject}: unknown severity \"{other}\" in action.severity; severities: {}{hint}", SEVERITIES.join(", ")));
                            return None;
                        }
                    },
                };
                let message = match table.and_then(|at| at.get("message")) {
                    None => None,
                    Some(m) => {
                        let text = self.string(
                            f,
                            m,
                            subject,
                            "action.message",
                            "message = \"what happened\"",
                        )?;
                        let chars = text.chars().count();
                        if chars > MAX_ALERT_MESSAGE_CHARS {
                            self.err(&f.at(m.span().start), format!("{subject}: action.message is {chars} characters long; an alert message may have at most {MAX_ALERT_MESSAGE_CHARS} (every alert decision carries it): say what happened, and put the rest in the rule's description"));
                            return None;
                        }
                        Some(text.to_string())
                    }
                };
                Action::Alert { severity, message }
            }
        })
    }

    fn guardrails(&mut self, f: &File<'_>, k: &Spanned<std::borrow::Cow<'_, str>>, v: &Value<'_>) {
        let origin = f.at(k.span().start);
        if let Some(first) = &self.guardrails.origin {
            self.err(&origin, format!("a second [guardrails] table; the first is at {first}; keep one [guardrails] table across all policy files"));
            return;
        }
        self.guardrails.origin = Some(origin);
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(f, v, "", "guardrails", "a table", "[guardrails]");
            return;
        };
        const KNOWN: [&str; 9] = [
            "min_residency",
            "max_bytes_per_hour",
            "max_bytes_per_day",
            "max_objects_per_hour",
            "max_objects_per_day",
            "max_money_per_day",
            "max_concurrency",
            "blackout",
            "dry_run",
        ];
        self.check_keys(f, t, &KNOWN, "guardrails", "");
        let s = "guardrails";
        for (key, val) in t.iter() {
            let field = key.get_ref().as_ref();
            match field {
                "dry_run" => match val.get_ref() {
                    DeValue::Boolean(b) => self.guardrails.dry_run = *b,
                    _ => self.wrong_type(f, val, s, "dry_run", "a boolean", "dry_run = true"),
                },
                "max_bytes_per_hour" | "max_bytes_per_day" => {
                    if let Some(x) = self.quantity(f, val, s, field, Kind::Size) {
                        let slot = if field == "max_bytes_per_hour" { &mut self.guardrails.max_bytes_per_hour } else { &mut self.guardrails.max_bytes_per_day };
                        // In 0..=MAX_SIZE_BYTES: the cast neither wraps nor saturates.
                        *slot = Some(x as u64);
                    }
                }
                "max_objects_per_hour" | "max_objects_per_day" | "max_concurrency" => match as_int(val.get_ref()) {
                    Some(n) if n >= i64::from(field == "max_concurrency") => {
                        let n = n as u64;
                        match field {
                            "max_objects_per_hour" => self.guardrails.max_objects_per_hour = Some(n),
                            "max_objects_per_day" => self.guardrails.max_objects_per_day = Some(n),
                            _ => self.guardrails.max_concurrency = Some(n.min(u64::from(u32::MAX)) as u32),
                        }
                    }
                    Some(n) => {
                        let min = i64::from(field == "max_concurrency");
                        self.err(&f.at(val.span().start), format!("guardrails: {field} = {n} is below {min}; write {field} = {}", if min == 1 { 4 } else { 1000 }));
                    }
                    None => self.wrong_type(f, val, s, field, "an integer", &format!("{field} = {}", if field == "max_concurrency" { 4 } else { 1000 })),
                },
                "max_money_per_day" => match as_float(val.get_ref()) {
                    Some(x) if x >= 0.0 && x.is_finite() => self.guardrails.max_money_per_day = Some(x),
                    Some(x) if x.is_finite() => self.err(&f.at(val.span().start), format!("guardrails: max_money_per_day = {x} is negative; write a daily budget in US dollars such as 25.0")),
                    Some(x) => self.err(&f.at(val.span().start), format!("guardrails: max_money_per_day = {x} is not a finite number; write a daily budget in US dollars such as 25.0")),
                    None => self.wrong_type(f, val, s, field, "a number of US dollars", "max_money_per_day = 25.0"),
                },
                "min_residency" => self.min_residency(f, val),
                "blackout" => match val.get_ref() {
                    DeValue::Array(items) => {
                        let allowed = [SignalId::HourOfDay, SignalId::Weekday, SignalId::Now];
                        for it in items.iter() {
                            if let Some((when, cond, leaves)) = self.expr(f, it, s, "blackout", Some(&allowed)) {
                                self.guardrails.blackout.push(Window { when, cond, leaves });
                            }
                        }
                    }
                    _ => self.wrong_type(f, val, s, field, "an array of conditions", "blackout = [\"weekday in mon..fri and hour_of_day in 9..17\"]"),
                },
                _ => {}
            }
        }
        if let (Some(h), Some(d)) = (
            self.guardrails.max_bytes_per_hour,
            self.guardrails.max_bytes_per_day,
        ) && h > d
            && let Some(v) = t.get("max_bytes_per_hour")
        {
            self.warn(&f.at(v.span().start), "guardrails: max_bytes_per_hour is larger than max_bytes_per_day, so the hourly limit never applies; lower it".to_string());
        }
        if let (Some(h), Some(d)) = (
            self.guardrails.max_objects_per_hour,
            self.guardrails.max_objects_per_day,
        ) && h > d
            && let Some(v) = t.get("max_objects_per_hour")
        {
            self.warn(&f.at(v.span().start), "guardrails: max_objects_per_hour is larger than max_objects_per_day, so the hourly limit never applies; lower it".to_string());
        }
    }

    fn min_residency(&mut self, f: &File<'_>, val: &Value<'_>) {
        let DeValue::Table(t) = val.get_ref() else {
            self.wrong_type(
                f,
                val,
                "guardrails",
                "min_residency",
                "a table of tier = duration",
                "min_residency = { cloud = \"90d\" }",
            );
            return;
        };
        for (k, v) in t.iter() {
            let name = k.get_ref().as_ref();
            let Some(i) = self.tier_names.iter().position(|t| t == name) else {
                let msg = format!(
                    "guardrails: {}",
                    unknown_tier(name, "min_residency", self.tier_names)
                );
                self.err(&f.at(k.span().start), msg);
                continue;
            };
            let field = format!("min_residency.{name}");
            if let Some(secs) = self.quantity(f, v, "guardrails", &field, Kind::Duration) {
                let min_days = self.tiers[i].min_storage_days;
                if secs < f64::from(min_days) * 86_400.0 {
                    self.warn(
                        &f.at(v.span().start),
                        format!("guardrails: min_residency.{name} is shorter than the {min_days} days tier \"{name}\" charges for at minimum; objects moved off earlier still pay for {min_days} days; write \"{min_days}d\" or more"),
                    );
                }
                // In 0..=MAX_DURATION_SECS: the cast neither wraps nor saturates.
                self.guardrails.min_residency_secs[i] = secs as u64;
            }
        }
    }

    fn test(&mut self, f: &File<'_>, item: &Value<'_>) {
        let origin = f.at(item.span().start);
        let DeValue::Table(t) = item.get_ref() else {
            self.wrong_type(f, item, "", "tests", "a table", "[[tests]]");
            return;
        };
        let name = match t.get("name") {
            Some(v) => self
                .string(f, v, "test", "name", "name = \"cold logs go to the cloud\"")
                .unwrap_or("?")
                .to_string(),
            None => {
                self.err(
                    &origin,
                    "test: missing name; write name = \"cold logs go to the cloud\"".to_string(),
                );
                return;
            }
        };
        let subject = format!("test \"{name}\"");
        self.check_keys(f, t, &["name", "now", "facts", "expect"], &subject, "");
        let errors_before = self.diags.iter().filter(|d| d.is_error()).count();
        let now = match t.get("now") {
            None => DEFAULT_TEST_NOW,
            Some(v) => {
                let text = match v.get_ref() {
                    DeValue::Datetime(d) => Some(d.to_string()),
                    DeValue::String(s) => Some(s.to_string()),
                    _ => None,
                };
                match text.as_deref().and_then(parse_utc) {
                    Some(n) => n,
                    None => {
                        self.err(&f.at(v.span().start), format!("{subject}: now must be a UTC date-time; write now = 2026-01-05T12:00:00Z"));
                        DEFAULT_TEST_NOW
                    }
                }
            }
        };
        let (object, behaviour) = self.facts(f, t.get("facts"), &subject, now);
        let (expect, expect_origin) = match t.get("expect") {
            None => {
                self.err(&origin, format!("{subject}: missing expect; write expect = {{ action = \"move\", to = \"cloud\", rule = \"cold-to-cloud\" }} or expect = {{ action = \"none\" }}"));
                return;
            }
            Some(v) => (self.expect(f, v, &subject), f.at(v.span().start)),
        };
        if self.diags.iter().filter(|d| d.is_error()).count() > errors_before {
            return;
        }
        if let Some((expect, alerts, freeze)) = expect {
            self.raw_tests.push(RawTest {
                name,
                object,
                behaviour,
                now,
                expect,
                expect_origin,
                alerts,
                freeze,
                origin,
            });
        }
    }

    /// `expect`: what wins, and the side channels (`alerts`, `freeze`), each id with where it is.
    fn expect(&mut self, f: &File<'_>, v: &Value<'_>, subject: &str) -> Option<ExpectRaw> {
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(
                f,
                v,
                subject,
                "expect",
                "a table",
                "expect = { action = \"move\", to = \"cloud\", rule = \"cold-to-cloud\" }",
            );
            return None;
        };
        self.check_keys(
            f,
            t,
            &["action", "to", "rule", "alerts", "freeze"],
            subject,
            "expect.",
        );
        let alerts = match t.get("alerts") {
            None => None,
            Some(x) => Some(self.expect_alerts(f, x, subject)?),
        };
        let freeze = match t.get("freeze") {
            None => None,
            Some(x) => Some((
                self.string(
                    f,
                    x,
                    subject,
                    "expect.freeze",
                    "freeze = \"freeze-on-incident\"",
                )?
                .to_string(),
                f.at(x.span().start),
            )),
        };
        let Some(a) = t.get("action") else {
            if alerts.is_some() || freeze.is_some() {
                return Some((Expect::Any, alerts, freeze));
            }
            self.err(&f.at(v.span().start), format!("{subject}: expect has no action; write action = \"move\" (or \"none\" when no rule should win), or expect.alerts or expect.freeze alone"));
            return None;
        };
        let kind = self
            .string(f, a, subject, "expect.action", "action = \"move\"")?
            .to_string();
        if kind == "alert" {
            let id = match t.get("rule").map(|x| x.get_ref()) {
                Some(DeValue::String(id)) => id.to_string(),
                _ => "alert-rule-id".to_string(),
            };
            self.err(
                &f.at(a.span().start),
                format!("{subject}: expect.action = \"alert\" can never hold: alerts never compete, so no alert is ever the winner; write expect = {{ alerts = [\"{id}\"] }} (exactly the alert rules that fire), with an action only to check the winner too"),
            );
            return None;
        }
        const KINDS: [&str; 6] = ["freeze", "move", "none", "pin", "snapshot", "unfreeze"];
        if !KINDS.contains(&kind.as_str()) {
            self.err(
                &f.at(a.span().start),
                format!(
                    "{subject}: unknown action \"{kind}\" in expect.action; actions: {}",
                    KINDS.join(", ")
                ),
            );
            return None;
        }
        let to = match t.get("to") {
            Some(x) => {
                let i = self.tier(f, x, subject, "expect.to")?;
                Some(self.tier_names[i].clone())
            }
            None => None,
        };
        let rule = match t.get("rule") {
            Some(x) => Some(
                self.string(f, x, subject, "expect.rule", "rule = \"cold-to-cloud\"")?
                    .to_string(),
            ),
            None => None,
        };
        if kind == "none" {
            if to.is_some() || rule.is_some() {
                self.err(
                    &f.at(v.span().start),
                    format!("{subject}: expect.action = \"none\" takes no to or rule; remove them"),
                );
                return None;
            }
            return Some((Expect::Nothing, alerts, freeze));
        }
        Some((Expect::Action { kind, to, rule }, alerts, freeze))
    }

    /// `expect.alerts`: an array of rule ids (perhaps empty: no alert fires).
    fn expect_alerts(
        &mut self,
        f: &File<'_>,
        v: &Value<'_>,
        subject: &str,
    ) -> Option<Vec<(String, Origin)>> {
        let example = "alerts = [\"alert-protection-change\"]";
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(
                f,
                v,
                subject,
                "expect.alerts",
                "an array of rule ids",
                example,
            );
            return None;
        };
        let mut ids = Vec::new();
        for item in items.iter() {
            let id = self.string(f, item, subject, "expect.alerts", example)?;
            ids.push((id.to_string(), f.at(item.span().start)));
        }
        Some(ids)
    }

    fn facts(
        &mut self,
        f: &File<'_>,
        v: Option<&Value<'_>>,
        subject: &str,
        now: i64,
    ) -> (ObjectFacts, BehaviourFacts) {
        let mut o = ObjectFacts {
            bucket: String::new(),
            key: String::new(),
            tier: self.tier_names.first().cloned().unwrap_or_default(),
            created: now,
            last_access: now,
            tier_since: now,
            ..ObjectFacts::default()
        };
        let mut b = BehaviourFacts::default();
        let Some(v) = v else { return (o, b) };
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(
                f,
                v,
                subject,
                "facts",
                "a table",
                "facts = { bucket = \"logs\", key = \"a.gz\", size = \"5MiB\" }",
            );
            return (o, b);
        };
        let mut age = None;
        let mut since_access = None;
        let mut on_tier = None;
        for (k, val) in t.iter() {
            let name = k.get_ref().as_ref();
            let at = f.at(k.span().start);
            let Some(sig) = signals::lookup(name) else {
                let near = signals::near(name, signals::SIGNALS.iter().map(|s| s.name));
                let hint = near
                    .first()
                    .map(|n| format!("; did you mean \"{n}\"?"))
                    .unwrap_or_default();
                self.err(
                    &at,
                    format!("{subject}: unknown signal \"{name}\" in facts{hint}"),
                );
                continue;
            };
            let field = format!("facts.{name}");
            match sig.id {
                SignalId::Prefix | SignalId::Extension => {
                    self.err(
                        &at,
                        format!("{subject}: {name} is derived from the key; set facts.key instead"),
                    );
                }
                SignalId::HourOfDay | SignalId::Weekday | SignalId::Now => {
                    self.err(&at, format!("{subject}: {name} comes from the test's time; set now = 2026-01-10T09:00:00Z next to facts instead"));
                }
                SignalId::Bucket | SignalId::Key => {
                    if let Some(s) = self.string(f, val, subject, &field, "\"logs\"") {
                        if sig.id == SignalId::Bucket {
                            o.bucket = s.to_string()
                        } else {
                            o.key = s.to_string()
                        }
                    }
                }
                SignalId::Tier => {
                    if let Some(i) = self.tier(f, val, subject, &field) {
                        o.tier = self.tier_names[i].clone();
                    }
                }
                _ => match sig.kind {
                    Kind::Bool => match val.get_ref() {
                        DeValue::Boolean(x) => match sig.id {
                            SignalId::IncidentOpen => b.incident_open = *x,
                            SignalId::PrincipalIsNew => b.principal_is_new = *x,
                            SignalId::SourceIpIsNew => b.source_ip_is_new = *x,
                            SignalId::BucketConfigChanged => b.bucket_config_changed = *x,
                            SignalId::LifecycleChanged => b.lifecycle_changed = *x,
                            SignalId::BucketPolicyChanged => b.bucket_policy_changed = *x,
                            SignalId::VersioningChanged => b.versioning_changed = *x,
                            _ => b.object_lock_changed = *x,
                        },
                        _ => self.wrong_type(
                            f,
                            val,
                            subject,
                            &field,
                            "a boolean",
                            &format!("{name} = true"),
                        ),
                    },
                    Kind::Duration | Kind::Size => {
                        let Some(x) = self.quantity(f, val, subject, &field, sig.kind) else {
                            continue;
                        };
                        // In 0..=MAX_SIZE_BYTES or 0..=MAX_DURATION_SECS: the casts neither
                        // wrap nor saturate, and `now - x` stays far from i64::MIN.
                        match sig.id {
                            SignalId::Size => o.size = x as u64,
                            SignalId::Age => age = Some(x as i64),
                            SignalId::DaysSinceLastAccess => since_access = Some(x as i64),
                            _ => on_tier = Some(x as i64),
                        }
                    }
                    kind => {
                        let Some(x) = as_float(val.get_ref()) else {
                            self.wrong_type(
                                f,
                                val,
                                subject,
                                &field,
                                "a number",
                                &format!("{name} = 3"),
                            );
                            continue;
                        };
                        if let Err(m) = literal_value(kind, x, None, &x.to_string(), name) {
                            self.err(&f.at(val.span().start), format!("{subject}: {m}"));
                            continue;
                        }
                        if let Some(m) = fact_overflow(kind, x, &field) {
                            self.err(&f.at(val.span().start), format!("{subject}: {m}"));
                            continue;
                        }
                        if kind == Kind::Count && x.fract() != 0.0 {
                            self.err(&f.at(val.span().start), format!("{subject}: {field} = {x} is not a whole number, and a count is; write {} or {}", x.floor(), x.ceil()));
                            continue;
                        }
                        match sig.id {
                            SignalId::Reads1d => o.reads[0] = x as u32,
                            SignalId::Reads7d => o.reads[1] = x as u32,
                            SignalId::Reads30d => o.reads[2] = x as u32,
                            SignalId::Reads90d => o.reads[3] = x as u32,
                            SignalId::Writes1d => o.writes[0] = x as u32,
                            SignalId::Writes7d => o.writes[1] = x as u32,
                            SignalId::Writes30d => o.writes[2] = x as u32,
                            SignalId::Writes90d => o.writes[3] = x as u32,
                            SignalId::ReadBackProbability => o.read_back_probability = x as f32,
                            SignalId::SavingsPerMonth => o.savings_per_month = x,
                            SignalId::ReadBackCostPerMonth => o.read_back_cost_per_month = x,
                            SignalId::PrincipalAnomaly => b.principal_anomaly = x as f32,
                            _ => b.bucket_anomaly = x as f32,
                        }
                    }
                },
            }
        }
        // An object is at least as old as its last access and its arrival on its tier.
        let age = age.unwrap_or_else(|| since_access.unwrap_or(0).max(on_tier.unwrap_or(0)));
        o.created = now.saturating_sub(age);
        o.last_access = now.saturating_sub(since_access.unwrap_or(age));
        o.tier_since = now.saturating_sub(on_tier.unwrap_or(age));
        (o, b)
    }
}
