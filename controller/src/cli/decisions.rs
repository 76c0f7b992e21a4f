//! `tierd decisions`: query the decisions in the journal, or in a decision-log file, as a table
//! or as JSON lines.

use std::collections::BTreeSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::load_config;
use super::summary::{Entry, Summary};
use crate::decision::{Action, Decision};
use crate::journal::Journal;
use crate::journal::decisions::DecisionFilter;

#[derive(Debug, clap::Args)]
pub struct DecisionsArgs {
    /// Only decisions taken at or after this time: RFC 3339, a date (`2026-11-27`, from 00:00
    /// UTC), or a duration ago (`15m`, `2d`).
    #[arg(long)]
    pub since: Option<String>,
    /// Only decisions taken before this time: RFC 3339, a date (00:00 UTC), or a duration ago.
    #[arg(long)]
    pub until: Option<String>,
    /// Only decisions with this action. `recall` selects the moves that are recalls (a rule's
    /// move to the hot tier or a dearer one, an operator's `tierd recall`); `move` takes them all.
    #[arg(long, value_parser = ["move", "recall", "snapshot", "freeze", "unfreeze", "pin", "alert", "restore", "reconcile"])]
    pub action: Option<String>,
    /// Only decisions about this bucket (its objects, prefixes, or the whole bucket).
    #[arg(long)]
    pub bucket: Option<String>,
    /// Decisions about this one object: BUCKET/KEY as the table's scope shows it
    /// (`photos/2025/a.jpg`: the bucket is the text before the first `/`, the key all after it,
    /// slashes and all). With --bucket, the key alone. Decisions on a scope that holds the key
    /// are listed too: a freeze, unfreeze, snapshot or restore of its bucket or of a prefix of it.
    #[arg(long, conflicts_with = "prefix")]
    pub key: Option<String>,
    /// Decisions about keys under this prefix (or about this prefix, a prefix under it, or a
    /// scope that holds it: its bucket or a shorter prefix): BUCKET/PREFIX (`photos/2025/`,
    /// split at the first `/` as --key is). With --bucket, the prefix alone.
    #[arg(long)]
    pub prefix: Option<String>,
    /// The id of the rule that fired.
    #[arg(long)]
    pub rule: Option<String>,
    /// Only decisions in this state.
    #[arg(long, value_parser = ["planned", "running", "done", "failed", "skipped", "dry-run"])]
    pub state: Option<String>,
    /// Read a decision-log file (JSON lines) instead of the journal: each decision once, at its
    /// last record (its latest state), which the filters are applied to.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The main configuration (for the journal's path). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print JSON lines (the decision records) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Print what the decisions add up to instead of each: counts per action and state, the
    /// moves done per way and per rule, and their savings and charges (with --json, one object).
    #[arg(long)]
    pub summary: bool,
}

/// Where the decisions asked for are: `--bucket`, `--key` and `--prefix` resolved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Scope {
    bucket: Option<String>,
    key: Option<String>,
    prefix: Option<String>,
}

/// Resolves `--key` and `--prefix`: with `--bucket` they are the key or prefix as written;
/// without, they are `BUCKET/KEY` and `BUCKET/PREFIX`, split at the first `/` (a bucket name
/// never holds one, a key may hold many).
///
/// # Errors
/// A `--key` or `--prefix` without `--bucket` that names no bucket (no `/`, or nothing before it).
fn scope(bucket: Option<&str>, key: Option<&str>, prefix: Option<&str>) -> anyhow::Result<Scope> {
    let given = Scope {
        bucket: bucket.map(str::to_string),
        key: key.map(str::to_string),
        prefix: prefix.map(str::to_string),
    };
    if bucket.is_some() {
        return Ok(given);
    }
    let (flag, text, example) = match (key, prefix) {
        (Some(k), _) => ("key", k, "photos/2025/a.jpg"),
        (None, Some(p)) => ("prefix", p, "photos/2025/"),
        (None, None) => return Ok(given),
    };
    let Some((b, rest)) = text.split_once('/').filter(|(b, _)| !b.is_empty()) else {
        anyhow::bail!(
            "--{flag} {text:?} names no bucket; write BUCKET/{} (for example {example}), or give --bucket",
            flag.to_uppercase()
        );
    };
    let rest = Some(rest.to_string());
    Ok(Scope {
        bucket: Some(b.to_string()),
        key: key.and(rest.clone()),
        prefix: prefix.and(rest),
    })
}

/// A time given as RFC 3339, as a date (`2026-11-27`: 00:00 UTC that day), or as a duration
/// before `now` (`15m`, `2d`).
fn parse_time(
    flag: &str,
    s: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<chrono::DateTime<chrono::FixedOffset>> {
    if let Some(ago) = crate::config::parse_duration(s)
        .and_then(|secs| i64::try_from(secs).ok())
        .and_then(chrono::TimeDelta::try_seconds)
        .and_then(|d| now.checked_sub_signed(d))
    {
        return Ok(ago.fixed_offset());
    }
    if let Some(day) = parse_date(flag, s)? {
        return Ok(day);
    }
    chrono::DateTime::parse_from_rfc3339(s).with_context(|| {
        format!(
            "--{flag} {s:?} is neither an RFC 3339 time (2026-11-29T10:00:00Z), a date (2026-11-29) nor a duration ago (15m, 12h, 2d)"
        )
    })
}

/// `YYYY-MM-DD` as 00:00 UTC that day; `None` when `s` is not written as a date at all.
///
/// # Errors
/// A date not in the calendar (`2026-02-30`, `2026-13-01`), never rolled over into the next.
fn parse_date(
    flag: &str,
    s: &str,
) -> anyhow::Result<Option<chrono::DateTime<chrono::FixedOffset>>> {
    let b = s.as_bytes();
    let shaped = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shaped {
        return Ok(None);
    }
    if let Some(why) = policies::facts::date_error(s) {
        anyhow::bail!("--{flag} {s:?} is not a date: {why}");
    }
    // Ten ASCII characters in the checked shape, in the calendar: the slices are its numbers.
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let day = chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
        .and_then(|n| n.and_hms_opt(0, 0, 0))
        .with_context(|| format!("--{flag} {s:?} is not a date tierd can use"))?;
    Ok(Some(day.and_utc().fixed_offset()))
}

/// The names a filter was checked against: every bucket and rule id the decisions read name.
#[derive(Debug, Default)]
struct Seen {
    buckets: BTreeSet<String>,
    rules: BTreeSet<String>,
}

impl Seen {
    fn add(&mut self, d: &Decision) {
        for (set, name) in [(&mut self.buckets, &d.bucket), (&mut self.rules, &d.rule)] {
            if let Some(n) = name
                && !set.contains(n)
            {
                set.insert(n.clone());
            }
        }
    }
}

/// Why a query found nothing, when a filter names a bucket or rule no decision has: one line per
/// such filter, with the nearest name seen (`where` says what was read).
fn absent(scope: &Scope, rule: Option<&str>, seen: &Seen, place: &str) -> Vec<String> {
    let filters = [
        ("bucket", scope.bucket.as_deref(), &seen.buckets),
        ("rule", rule, &seen.rules),
    ];
    filters
        .into_iter()
        .filter_map(|(what, name, known)| {
            let name = name.filter(|n| !known.contains(*n))?;
            let hint = policies::signals::near(name, known.iter().map(String::as_str))
                .first()
                .map(|n| format!("; did you mean \"{n}\"?"))
                .unwrap_or_default();
            Some(format!(
                "note: no decision {place} names the {what} \"{name}\"{hint}"
            ))
        })
        .collect()
}

/// The number that ends a decision id (`move-20261130T134919Z-000500` → 500), if any.
fn id_number(id: &str) -> Option<u64> {
    id.rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

/// Whether a move is a recall, as its record says: a rule's reason reads `Rule "ID" recalls`
/// (a move to the hot tier or to a dearer one), an operator's names `tierd recall`.
fn is_recall(d: &Decision) -> bool {
    d.action == Action::Move
        && match &d.rule {
            Some(rule) => d.reason.starts_with(&format!("Rule \"{rule}\" recalls ")),
            None => d.reason.starts_with("An operator ran `tierd recall`"),
        }
}

/// The decisions of a log, each at its last record, in the order of their first: a record that
/// passes `keep` replaces the id's earlier one, a record that does not drops it. Only the
/// decisions kept are held (and an index of their ids), so a log of any size is read in the
/// memory of what it selects. `T` is what is held of each: the decision, or what a summary
/// reads of it.
struct Latest<T> {
    /// In the order of their first record; `None` where a later record dropped one.
    slots: Vec<Option<T>>,
    /// Id → its slot.
    by_id: std::collections::HashMap<String, usize>,
}

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Latest {
            slots: Vec::new(),
            by_id: std::collections::HashMap::new(),
        }
    }
}

impl<T> Latest<T> {
    fn add(&mut self, id: &str, d: T, kept: bool) {
        match (self.by_id.get(id).copied(), kept) {
            (Some(slot), true) => self.slots[slot] = Some(d),
            (Some(slot), false) => {
                self.slots[slot] = None;
                self.by_id.remove(id);
            }
            (None, true) => {
                self.by_id.insert(id.to_string(), self.slots.len());
                self.slots.push(Some(d));
            }
            (None, false) => {}
        }
    }

    /// The decisions, in the memory that held them (the index freed first).
    // `filter_map` collects in place; `flatten` allocates a second vector (600 MB more for a
    // million moves: docs/BENCHMARKS.md).
    #[allow(clippy::filter_map_identity)]
    fn into_vec(self) -> Vec<T> {
        let Latest { slots, by_id } = self;
        drop(by_id);
        slots
            .into_iter()
            .filter_map(std::convert::identity)
            .collect()
    }
}

/// How many bad lines of a decision log are named one by one on stderr; the rest are counted.
const BAD_LINES_SHOWN: u64 = 10;

/// Reads a decision-log file (JSON lines, or gzip-compressed as log rotation leaves it, by its
/// `.gz` name) one record at a time, handing each to `f`, so that a log of any size is read in
/// the memory of one record (the service appends to its log for as long as it runs). A line that
/// is not a record (cut short by a crash, not UTF-8, an action this tierd does not know) is
/// named on stderr with its `file:line` and skipped; returns how many were.
///
/// # Errors
/// The file cannot be opened or read.
pub(crate) fn each_logged(
    path: &std::path::Path,
    mut f: impl FnMut(Decision),
) -> anyhow::Result<u64> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let reader: Box<dyn std::io::Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut reader = std::io::BufReader::new(reader);
    let mut bad = 0u64;
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("{}:{n}: cannot read", path.display()))?;
        if read == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Decision>(&text) {
            Ok(d) => f(d),
            Err(e) => {
                bad += 1;
                // A writer killed in the middle of a line leaves it cut short, and the next
                // record is appended to it: that record is whole, and kept.
                let glued = text.rfind("{\"id\":").filter(|&i| i > 0).and_then(|i| {
                    serde_json::from_str::<Decision>(&text[i..])
                        .ok()
                        .map(|d| (i, d))
                });
                if bad <= BAD_LINES_SHOWN {
                    let (column, what) = located(&text, &e);
                    let kept = glued.as_ref().map_or(String::new(), |(i, _)| {
                        format!(
                            "; the whole record after it, from column {}, is kept",
                            text[..*i].chars().count() + 1
                        )
                    });
                    eprintln!(
                        "{}:{n}:{column}: not a decision record ({what}); skipped{kept}",
                        path.display()
                    );
                }
                if let Some((_, d)) = glued {
                    f(d);
                }
            }
        }
    }
    if bad > BAD_LINES_SHOWN {
        eprintln!(
            "{}: {} more lines that are not decision records were skipped",
            path.display(),
            bad - BAD_LINES_SHOWN
        );
    }
    Ok(bad)
}

/// Where in its line `text` a record failed to parse, and why, without serde's own position
/// (which counts the line's end as a line of its own: "line 2 column 0" for a record cut short).
/// The column counts characters from 1; a record cut short fails one past its last.
fn located(text: &str, e: &serde_json::Error) -> (usize, String) {
    let said = e.to_string();
    let what = said
        .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
        .unwrap_or(&said)
        .to_string();
    let line = text.trim_end_matches(['\n', '\r']);
    // serde's line and column (1-based lines; the column is the characters up to and including
    // the one it stopped at) into characters from the start of the text.
    let before: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.chars().count())
        .sum();
    let at = (before + e.column()).clamp(1, line.chars().count() + 1);
    (at, what)
}

/// One decision as a row of the table: id, at, action, state, scope, tiers, reason.
fn row(d: &Decision) -> [String; 7] {
    // A prefix is marked as `explain` marks it (`photos/2026/*`), so it does not read as a key.
    let bucket = d.bucket.as_deref().unwrap_or("*");
    let scope = match (&d.key, d.prefix.as_deref()) {
        (None, None) if d.bucket.is_none() => "every bucket".to_string(), // freeze --all-buckets
        (Some(k), _) => format!("{bucket}/{k}"),
        (None, Some(p)) if !p.is_empty() => format!("{bucket}/{p}*"),
        _ => format!("{bucket}/"),
    };
    let scope = crate::decision::one_line(&scope).into_owned();
    let tiers = format!(
        "{} -> {}",
        d.from.as_deref().unwrap_or("-"),
        d.to.as_deref().unwrap_or("-")
    );
    let reason = match &d.why {
        Some(w) => format!("{} ({w})", d.reason),
        None => d.reason.clone(),
    };
    let reason = crate::decision::one_line(&reason).into_owned();
    [
        d.id.clone(),
        d.at.clone(),
        d.action.as_str().to_string(),
        d.state.as_str().to_string(),
        scope,
        tiers,
        reason,
    ]
}

/// The table's header, one name per column of [`row`].
const HEADER: [&str; 7] = [
    "id",
    "at",
    "action",
    "state",
    "scope",
    "from -> to",
    "reason",
];

/// Writes the decisions as a table, each column as wide as its widest value (the last, the
/// reason, unpadded), then how many there are. The widths take a first pass over the rows and
/// the printing a second, so that no more than one row is held besides the decisions.
fn write_table(out: &mut impl Write, ds: &[&Decision]) -> std::io::Result<()> {
    let mut widths = HEADER.map(|h| h.chars().count());
    for d in ds {
        for (w, cell) in widths.iter_mut().zip(row(d)) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 7]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<w$} ", w = widths[i]));
            }
        }
        text
    };
    writeln!(out, "{}", line(HEADER))?;
    for d in ds {
        let cells = row(d);
        writeln!(out, "{}", line(cells.each_ref().map(String::as_str)))?;
    }
    writeln!(
        out,
        "{}",
        super::common::plural(ds.len(), "decision", "decisions")
    )
}

/// Whether `d` is about the key `k`: a decision on that key, or on a scope that holds it (a
/// freeze, unfreeze, snapshot or restore of its bucket, prefix `""`, or of a prefix of the key).
/// [`Journal::decisions`] selects the same with [`DecisionFilter::key`].
fn about_key(d: &Decision, k: &str) -> bool {
    match (d.key.as_deref(), d.prefix.as_deref()) {
        (Some(own), _) => own == k,
        (None, Some(scope)) => k.starts_with(scope),
        (None, None) => every_bucket(d),
    }
}

/// Whether `d` is a freeze of every bucket, or its lift: it holds every bucket, key and prefix.
fn every_bucket(d: &Decision) -> bool {
    d.bucket.is_none() && matches!(d.action, Action::Freeze | Action::Unfreeze)
}

/// Whether `d` is about the prefix `p`: a decision on a key or a prefix under it, or on a scope
/// that holds it (its bucket, prefix `""`, or a shorter prefix).
fn about_prefix(d: &Decision, p: &str) -> bool {
    every_bucket(d)
        || d.key.as_deref().is_some_and(|k| k.starts_with(p))
        || d.prefix.as_deref().is_some_and(|q| q.starts_with(p))
        || d.key.is_none() && d.prefix.as_deref().is_some_and(|q| p.starts_with(q))
}

pub fn run(args: DecisionsArgs) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time("since", s, now))
        .transpose()?;
    let until = args
        .until
        .as_deref()
        .map(|s| parse_time("until", s, now))
        .transpose()?;
    if let (Some(since), Some(until)) = (since, until) {
        anyhow::ensure!(
            since < until,
            "--since ({}) must be before --until ({}): nothing lies between them",
            crate::decision::rfc3339(since.to_utc()),
            crate::decision::rfc3339(until.to_utc())
        );
    }
    let recalls = args.action.as_deref() == Some("recall");
    let action = if recalls {
        Some("move")
    } else {
        args.action.as_deref()
    };
    let target = scope(
        args.bucket.as_deref(),
        args.key.as_deref(),
        args.prefix.as_deref(),
    )?;
    let keep = |d: &Decision| -> bool {
        let at = chrono::DateTime::parse_from_rfc3339(&d.at).ok();
        since.is_none_or(|s| at.is_some_and(|t| t >= s))
            && until.is_none_or(|u| at.is_some_and(|t| t < u))
            && action.is_none_or(|a| d.action.as_str() == a)
            && (!recalls || is_recall(d))
            && target
                .bucket
                .as_deref()
                .is_none_or(|b| d.bucket.as_deref() == Some(b) || every_bucket(d))
            && target.key.as_deref().is_none_or(|k| about_key(d, k))
            && target.prefix.as_deref().is_none_or(|p| about_prefix(d, p))
            && args
                .rule
                .as_deref()
                .is_none_or(|r| d.rule.as_deref() == Some(r))
            && args.state.as_deref().is_none_or(|s| d.state.as_str() == s)
    };
    // The buckets and rules named anywhere, to say so when a filter names one that is absent:
    // a set of names, small however long the log.
    let mut seen = Seen::default();
    // The decisions selected, each once, in its latest state: whole, or for a summary only what
    // it reads (`entries`).
    let (all, entries, place): (Vec<Decision>, Vec<Entry>, String) = match &args.log {
        Some(path) => {
            // Only the matching decisions are kept: the log may be far larger than memory.
            let (mut all, mut entries) = (Latest::default(), Latest::default());
            each_logged(path, |d| {
                seen.add(&d);
                let kept = keep(&d);
                let id = d.id.clone();
                if args.summary {
                    entries.add(&id, Entry::from(d), kept);
                } else {
                    all.add(&id, d, kept);
                }
            })?;
            let place = format!("in {}", path.display());
            // In the order they were decided, whatever a filter dropped: by time, then by the
            // number that ends an id (tierd numbers the decisions of a journal or a replay in
            // order), then in the order of the log.
            let mut all = all.into_vec();
            all.sort_by(|a, b| {
                a.at.cmp(&b.at)
                    .then(id_number(&a.id).cmp(&id_number(&b.id)))
            });
            (all, entries.into_vec(), place)
        }
        None => {
            let config = load_config(args.config.as_deref())?;
            let mut j = Journal::open_existing(&config.journal_path)?;
            // SQL selects (a second wider for times written with fractions of one); `keep`
            // decides.
            let utc = |t: chrono::DateTime<chrono::FixedOffset>, by: i64| {
                crate::decision::rfc3339(t.to_utc() + chrono::Duration::seconds(by))
            };
            let filter = DecisionFilter {
                bucket: target.bucket.clone(),
                key: target.key.clone(),
                prefix: target.prefix.clone(),
                action: action.map(str::to_string),
                state: args.state.clone(),
                rule: args.rule.clone(),
                since: since.map(|t| utc(t, -1)),
                until: until.map(|t| utc(t, 1)),
                limit: None,
            };
            // JSON lines are written as they are read: the first comes at once, and memory
            // holds one decision, whatever the journal's size.
            let stream = args.json && !args.summary;
            let (mut found, mut entries, mut written) = (Vec::new(), Vec::new(), 0u64);
            let mut out = std::io::stdout().lock();
            let mut failed = None;
            j.each_decision(&filter, |d| {
                if !keep(&d) {
                    return true;
                }
                if args.summary {
                    entries.push(Entry::from(d));
                } else if stream {
                    let line = serde_json::to_string(&d).map_err(anyhow::Error::from);
                    match line.and_then(|l| writeln!(out, "{l}").map_err(anyhow::Error::from)) {
                        Ok(()) => written += 1,
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                } else {
                    found.push(d);
                }
                true
            })?;
            drop(out);
            if let Some(e) = failed {
                return Err(e);
            }
            if found.is_empty() && entries.is_empty() && written == 0 {
                if target.bucket.is_some() || args.rule.is_some() {
                    seen.buckets.extend(j.decision_names("bucket")?);
                    seen.rules.extend(j.decision_names("rule")?);
                }
            } else if stream {
                return Ok(ExitCode::SUCCESS);
            }
            (found, entries, "in the journal".to_string())
        }
    };
    let selected: Vec<&Decision> = all.iter().collect();
    if selected.is_empty() && entries.is_empty() {
        for note in absent(&target, args.rule.as_deref(), &seen, &place) {
            eprintln!("{note}");
        }
    }
    let mut out = std::io::stdout().lock();
    if args.summary {
        let mut s = Summary::default();
        for e in entries {
            s.add(e);
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&s.rounded())?)?;
        } else {
            s.write(&mut out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        for d in &selected {
            writeln!(out, "{}", serde_json::to_string(d)?)?;
        }
    } else {
        write_table(&mut out, &selected)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_rfc_3339_or_a_duration_ago() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let at = |s: &str| parse_time("since", s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("15m").unwrap(), "2026-11-30T11:45:00+00:00");
        assert_eq!(at("2d").unwrap(), "2026-11-28T12:00:00+00:00");
        assert_eq!(
            at("2026-11-29T10:00:00Z").unwrap(),
            "2026-11-29T10:00:00+00:00"
        );
        assert_eq!(
            at("yesterday").unwrap_err().to_string(),
            "--since \"yesterday\" is neither an RFC 3339 time (2026-11-29T10:00:00Z), a date (2026-11-29) nor a duration ago (15m, 12h, 2d)"
        );
        // Further back than a time can be: not a duration ago, and not a time either.
        assert!(at("99999999999999w").is_err());
    }

    #[test]
    fn a_date_is_midnight_utc_and_an_impossible_date_is_refused() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let at = |s: &str| parse_time("until", s, now).map(|t| t.to_rfc3339());
        assert_eq!(at("2026-11-27").unwrap(), "2026-11-27T00:00:00+00:00");
        assert_eq!(at("2028-02-29").unwrap(), "2028-02-29T00:00:00+00:00");
        assert_eq!(
            at("2026-02-29").unwrap_err().to_string(),
            "--until \"2026-02-29\" is not a date: 2026-02 has days 01 to 28"
        );
        assert_eq!(
            at("2026-11-00").unwrap_err().to_string(),
            "--until \"2026-11-00\" is not a date: 2026-11 has days 01 to 30"
        );
        assert_eq!(
            at("2026-13-01").unwrap_err().to_string(),
            "--until \"2026-13-01\" is not a date: there is no month 13; months are 01 to 12"
        );
    }

    #[test]
    fn a_key_or_prefix_without_a_bucket_is_split_at_its_first_slash() {
        let s = |b: Option<&str>, k: Option<&str>, p: Option<&str>| {
            scope(b, k, p).map_err(|e| e.to_string())
        };
        let some = |t: &str| Some(t.to_string());
        assert_eq!(
            s(None, Some("photos/2025/a.jpg"), None).unwrap(),
            Scope {
                bucket: some("photos"),
                key: some("2025/a.jpg"),
                prefix: None
            }
        );
        assert_eq!(
            s(None, None, Some("photos/2025/")).unwrap(),
            Scope {
                bucket: some("photos"),
                key: None,
                prefix: some("2025/")
            }
        );
        // With --bucket the key is taken whole, slashes and all.
        assert_eq!(
            s(Some("photos"), Some("2025/a.jpg"), None).unwrap(),
            Scope {
                bucket: some("photos"),
                key: some("2025/a.jpg"),
                prefix: None
            }
        );
        assert_eq!(
            s(None, Some("a.jpg"), None).unwrap_err(),
            "--key \"a.jpg\" names no bucket; write BUCKET/KEY (for example photos/2025/a.jpg), or give --bucket"
        );
        assert_eq!(
            s(None, None, Some("/2025/")).unwrap_err(),
            "--prefix \"/2025/\" names no bucket; write BUCKET/PREFIX (for example photos/2025/), or give --bucket"
        );
    }

    fn decision(id: &str, key: &str, rule: Option<&str>) -> Decision {
        let mut d = Decision::operator_move(
            id.into(),
            "2026-11-30T10:00:00Z".into(),
            ("photos", key),
            (Some("onprem"), "cloud"),
            "idle".into(),
        );
        d.rule = rule.map(str::to_string);
        d
    }

    #[test]
    fn a_freeze_of_every_bucket_is_about_every_key_and_prefix_and_a_bucket_freeze_only_its_own() {
        let freeze = |bucket: Option<&str>, prefix: Option<&str>| {
            let mut d = decision("f", "x", None);
            (d.action, d.bucket, d.key, d.prefix) = (
                Action::Freeze,
                bucket.map(str::to_string),
                None,
                prefix.map(str::to_string),
            );
            d
        };
        let every = freeze(None, None);
        assert!(every_bucket(&every));
        assert!(about_key(&every, "2025/a.jpg") && about_prefix(&every, "2025/"));
        let logs = freeze(Some("photos"), Some("logs/"));
        assert!(!every_bucket(&logs));
        assert!(about_key(&logs, "logs/a") && !about_key(&logs, "2025/a.jpg"));
        // A move with no bucket is not a freeze of every bucket.
        let mut odd = decision("m", "k", None);
        (odd.bucket, odd.key) = (None, None);
        assert!(!every_bucket(&odd) && !about_key(&odd, "k"));
    }

    #[test]
    fn a_filter_naming_an_absent_bucket_or_rule_is_noted_with_the_nearest() {
        let mut seen = Seen::default();
        seen.add(&decision("a", "x", Some("cold-to-cloud")));
        let target = Scope {
            bucket: Some("photo".into()),
            ..Scope::default()
        };
        assert_eq!(
            absent(&target, Some("cold-to-clod"), &seen, "in the journal"),
            vec![
                "note: no decision in the journal names the bucket \"photo\"; did you mean \"photos\"?",
                "note: no decision in the journal names the rule \"cold-to-clod\"; did you mean \"cold-to-cloud\"?",
            ]
        );
        assert_eq!(
            absent(&Scope::default(), Some("nope"), &seen, "in d.jsonl"),
            vec!["note: no decision in d.jsonl names the rule \"nope\""]
        );
        // Names that are there: the filters together found nothing, and that is no typo.
        let there = Scope {
            bucket: Some("photos".into()),
            ..Scope::default()
        };
        assert!(absent(&there, Some("cold-to-cloud"), &seen, "in the journal").is_empty());
    }

    #[test]
    fn the_table_columns_are_as_wide_as_their_widest_value() {
        let long = decision(
            "snapshot-20261127T160000Z-000007",
            "2025/a-rather-long-key-name-that-is-longer-than-forty.jpg",
            None,
        );
        let short = decision("op-1", "a.jpg", None);
        let mut out = Vec::new();
        write_table(&mut out, &[&long, &short]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Every column starts at the same place on every line: where `at` starts, the two
        // decisions' times start too.
        let col = |l: &str, what: &str| l.find(what).unwrap();
        assert_eq!(
            col(lines[0], "at"),
            "snapshot-20261127T160000Z-000007 ".len()
        );
        assert_eq!(col(lines[1], "2026-11-30"), col(lines[0], "at"));
        assert_eq!(col(lines[2], "2026-11-30"), col(lines[0], "at"));
        assert_eq!(col(lines[1], "onprem"), col(lines[0], "from -> to"));
        assert_eq!(col(lines[2], "onprem"), col(lines[0], "from -> to"));
        assert_eq!(col(lines[2], "idle"), col(lines[0], "reason"));
        assert_eq!(lines[3], "2 decisions");
        let mut one = Vec::new();
        write_table(&mut one, &[&short]).unwrap();
        assert!(String::from_utf8(one).unwrap().ends_with("\n1 decision\n"));
    }

    #[test]
    fn a_decision_log_keeps_its_records_around_lines_that_are_not_and_may_be_gzipped() {
        let dir = tempfile::tempdir().unwrap();
        let d = Decision::operator_move(
            "op-1".into(),
            "2026-11-30T10:00:00Z".into(),
            ("photos", "a.jpg"),
            (Some("onprem"), "cloud"),
            "test".into(),
        );
        let good = serde_json::to_string(&d).unwrap();
        let unknown = good.replace("\"action\":\"move\"", "\"action\":\"archive\"");
        assert_ne!(unknown, good);
        // A good record, one cut short by a crash, one of an action this tierd does not know,
        // a line that is not UTF-8, then a good record again.
        let mut text = format!("{good}\n{}\n{unknown}\n", &good[..good.len() / 2]).into_bytes();
        text.extend_from_slice(b"\xff\xfe\n");
        text.extend_from_slice(format!("{good}\n").as_bytes());
        let plain = dir.path().join("decisions.jsonl");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("decisions.jsonl.1.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &text).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        for path in [plain, gz] {
            let mut seen = Vec::new();
            let bad = each_logged(&path, |d| seen.push(d.id)).unwrap();
            assert_eq!(
                (seen, bad),
                (vec!["op-1".to_string(), "op-1".to_string()], 3)
            );
        }
    }
}
