//! `tierd explain ID`: one decision in full — the rule, each test of its condition with the
//! value it saw, the anomaly's features against their baselines, the rules that lost and why, the
//! guardrails checked, the cost, and the undo command.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use super::common::load_config;
use super::moves::{Guard, Interlocks};
use crate::config::Config;
use crate::decision::{Action, Condition, Decision, State};
use crate::journal::Journal;

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The decision's id (as `tierd decisions` or the decision log shows it).
    pub id: String,
    /// Look in a decision-log file (or `tierd simulate --out` file) instead of the journal.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// The main configuration (for the journal's path). Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Print the decision record as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
///
/// # Errors
/// No such decision; an unreadable journal or log.
pub fn run(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    // With the journal: whether the undo would be held now.
    let mut opened = None;
    let found = match &args.log {
        Some(p) => {
            // The last record of the id is its latest state; the log is read, not held.
            let mut last = None;
            super::decisions::each_logged(p, |d| {
                if d.id == args.id {
                    last = Some(d);
                }
            })?;
            last
        }
        None => {
            let config = load_config(args.config.as_deref())?;
            let mut journal = Journal::open_existing(&config.journal_path)?;
            let d = journal.decision(&args.id)?;
            opened = Some((config, journal));
            d
        }
    };
    let Some(d) = found else {
        let kept = match opened.as_ref().map(|(c, _)| c.journal_keep_secs) {
            Some(Some(secs)) => format!(
                "; the journal forgets ended decisions after journal.keep_decisions ({}), a decision log keeps what was written to it",
                crate::config::shown_duration(secs)
            ),
            _ => String::new(),
        };
        bail!(
            "no decision {:?}; `tierd decisions` lists them (add --log FILE to read a decision log){kept}",
            args.id
        );
    };
    // The undo acts on the journal read now: a journal restored on another host, or beside a
    // configuration moved since, gets the `--config` it was read with, not the one of the
    // decision's time (the record itself, and --json, keep what was written).
    let mut d = d;
    if let (Some((config, _)), Some(undo), false) = (&opened, &d.undo, args.json) {
        d.undo = Some(with_config(
            undo,
            &crate::decision::config_arg(config.path.as_deref()),
        ));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &d)?;
        writeln!(out)?;
    } else {
        write_explanation(&d, &mut out)?;
        if let Some((config, mut journal)) = opened {
            // A move already undone (or overtaken by a later one) needs no undo, and no advice
            // on lifting a freeze for it.
            if let Some(moved_on) = moved_on(&d, &mut journal) {
                writeln!(out, "  {moved_on}")?;
            } else if let Some(held) = undo_held(&d, &config, &mut journal) {
                writeln!(out, "  {held}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// For a move that was done: where its object is now, when the catalog has it elsewhere than
/// the move put it (undone, or moved again since).
fn moved_on(d: &Decision, journal: &mut Journal) -> Option<String> {
    let (Action::Move, State::Done, Some(bucket), Some(key), Some(to)) =
        (d.action, d.state, &d.bucket, &d.key, &d.to)
    else {
        return None;
    };
    let entry = journal.locate(bucket, key).ok()??;
    if entry.tier == *to {
        return None;
    }
    let by = match &entry.decision_id {
        Some(id) => format!("put there by decision {id}"),
        None => "found there by a scan".to_string(),
    };
    Some(format!(
        "not needed now: the object is no longer on {to} but on {} since {} ({by}); `tierd locate {}` shows where it is",
        entry.tier,
        entry.since,
        crate::decision::shell_word(&format!("{bucket}/{key}"))
    ))
}

/// Why the undo of a move would be held now (an open freeze, a pin), as `tierd move` would say.
fn undo_held(d: &Decision, config: &Config, journal: &mut Journal) -> Option<String> {
    let (Action::Move, Some(undo), Some(bucket), Some(key)) =
        (d.action, &d.undo, &d.bucket, &d.key)
    else {
        return None;
    };
    if matches!(d.state, State::DryRun | State::Skipped) {
        return None;
    }
    // The undo of a move that overrode an interlock carries the override.
    let overrides = Interlocks {
        ignore_freezes: undo.contains(" --ignore-freezes"),
        ignore_pins: undo.contains(" --ignore-pins"),
    };
    match Guard::load(config, journal, &overrides) {
        Ok(guard) => guard
            .check(bucket, key)
            .err()
            .map(|why| format!("held now, {why}")),
        Err(e) => Some(format!("the interlocks could not be checked now: {e}")),
    }
}

/// A winning rule's condition, test by test (`[yes] test  value v`), each line after `indent`:
/// as written, then as an outline of its groups when the `when` parses over the tests.
///
/// # Errors
/// Output errors.
pub(crate) fn write_conditions(
    when: &str,
    conditions: &[Condition],
    indent: &str,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if !when.is_empty() {
        writeln!(out, "{indent}as written: {when}")?;
    }
    let yes = |holds: bool| if holds { "yes" } else { " no" };
    let (lines, note) = condition_lines(when, conditions);
    for l in lines {
        let nested = "  ".repeat(l.depth);
        match l.value {
            Some(v) => {
                let width = 50usize.saturating_sub(nested.len());
                let text = &l.text;
                writeln!(
                    out,
                    "{indent}{nested}[{}] {text:<width$} value {v}",
                    yes(l.holds)
                )?;
            }
            None => writeln!(out, "{indent}{nested}[{}] {}", yes(l.holds), l.text)?,
        }
    }
    if let Some(note) = note {
        writeln!(out, "{indent}({note})")?;
    }
    Ok(())
}

/// A rule's tests as lines (each group saying whether it held, so a test marked no shows what
/// did without it), and a note to show under them, if one: the outline of `when`, or, when the
/// two do not fit together, the tests in the order recorded.
pub(crate) fn condition_lines(
    when: &str,
    conditions: &[Condition],
) -> (Vec<super::outline::Line>, Option<&'static str>) {
    if let Some(lines) = super::outline::outline(when, conditions) {
        return (lines, None);
    }
    let lines = conditions
        .iter()
        .map(|c| super::outline::Line {
            depth: 0,
            holds: c.holds,
            text: c.test.clone(),
            value: Some(c.value.clone()),
        })
        .collect();
    // The rule won, so its condition held: a test that did not, an `or` did without.
    let note = (conditions.iter().any(|c| !c.holds) && when.contains(" or "))
        .then_some("the condition holds as written: a test marked no is one an `or` did without");
    (lines, note)
}

/// The human-readable explanation of one decision.
///
/// # Errors
/// Output errors.
pub fn write_explanation(d: &Decision, out: &mut dyn Write) -> std::io::Result<()> {
    let scope = match (&d.bucket, &d.key, &d.prefix) {
        (Some(b), Some(k), _) => format!("{b}/{k}"),
        (Some(b), None, Some(p)) if !p.is_empty() => format!("{b}/{p}*"),
        (Some(b), _, _) => format!("bucket {b}"),
        (None, None, None) => "every bucket".into(), // freeze --all-buckets and its unfreeze
        _ => "-".into(),
    };
    writeln!(out, "decision  {}", d.id)?;
    writeln!(out, "at        {}", d.at)?;
    let dir = match (&d.from, &d.to) {
        (Some(f), Some(t)) => format!(" from {f} to {t}"),
        (None, Some(t)) => format!(" to {t}"),
        _ => String::new(),
    };
    writeln!(out, "action    {}{dir} — {scope}", d.action)?;
    write!(out, "state     {}", d.state)?;
    match &d.why {
        Some(w) => writeln!(out, " ({})", crate::decision::one_line(w))?,
        None => writeln!(out)?,
    }
    writeln!(
        out,
        "rule      {}",
        d.rule.as_deref().unwrap_or("none (an operator's command)")
    )?;
    writeln!(out, "reason    {}", crate::decision::one_line(&d.reason))?;
    if let Some(e) = &d.explanation {
        if !e.conditions.is_empty() {
            writeln!(out, "\ncondition, test by test:")?;
            write_conditions(&e.when, &e.conditions, "  ", out)?;
        }
        if !e.alternatives.is_empty() {
            writeln!(out, "\nother rules:")?;
            for a in &e.alternatives {
                writeln!(out, "  - {a}")?;
            }
        }
        if !e.guardrails.is_empty() {
            writeln!(out, "\nguardrails checked:")?;
            for g in &e.guardrails {
                writeln!(out, "  - {g}")?;
            }
        }
    }
    if let Some(a) = &d.anomaly {
        writeln!(
            out,
            "\nanomaly: {} scored {:.3} (threshold {:.3}, model {})",
            a.subject, a.score, a.threshold, a.model
        )?;
        if let (Some(start), Some(secs)) = (&a.window_start, a.window_secs) {
            writeln!(out, "  window     {start}, {secs} s")?;
        }
        if let Some(p) = &a.principal {
            writeln!(out, "  principal  {p}")?;
        }
        for f in &a.top_features {
            let deviation = f
                .deviation
                .map_or(String::new(), |z| format!("   {z:>5.1} deviations above"));
            writeln!(
                out,
                "  {:<28} {:>14}   baseline {:>12}{deviation}",
                f.name,
                number(f.value),
                number(f.baseline)
            )?;
        }
    }
    if let Some(c) = &d.cost {
        let size = policies::eval::format_value(policies::signals::Kind::Size, c.bytes as f64);
        writeln!(out, "\ncost: {size} ({} bytes)", c.bytes)?;
        // A snapshot saves nothing: what it adds is the vault's storage of its copies.
        let storage = match (d.action, c.storage_saved_per_month) {
            (Action::Snapshot, Some(v)) => ("vault storage per month", Some(-v)),
            (_, v) => ("storage saved per month", v),
        };
        let parts = [
            storage,
            ("retrieval", c.retrieval),
            ("egress", c.egress),
            ("requests", c.requests),
            ("early deletion", c.early_deletion),
        ];
        for (name, v) in parts {
            if let Some(v) = v {
                writeln!(out, "  {name:<24} {v:.6}")?;
            }
        }
    }
    writeln!(out, "\nundo: {}", undo_line(d))?;
    Ok(())
}

/// `undo` with its trailing ` --config PATH` (one shell word, as
/// [`crate::decision::config_arg`] writes it) replaced by `config` (empty: none); as it is when
/// it has none.
fn with_config(undo: &str, config: &str) -> String {
    let Some(i) = undo.rfind(" --config ") else {
        return undo.to_string();
    };
    let word = &undo[i + " --config ".len()..];
    // The word as `config_arg` wrote it: an argument that `shell_word` prints as exactly it.
    let arg = match word.strip_prefix('\'').and_then(|w| w.strip_suffix('\'')) {
        Some(inner) => inner.replace("'\\''", "'"),
        None => word.to_string(),
    };
    if !arg.is_empty() && crate::decision::shell_word(&arg) == word {
        format!("{}{config}", &undo[..i])
    } else {
        undo.to_string()
    }
}

/// A feature value: counts without decimals, ratios and medians with up to four.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').to_string()
    }
}

/// The command that reverses the decision, or why there is nothing to undo: a dry run and a
/// skipped decision changed nothing (a dry run's record keeps the command it would take).
fn undo_line(d: &Decision) -> String {
    match (d.state, &d.undo) {
        (State::DryRun, Some(undo)) => {
            format!("nothing to undo: a dry run changes nothing (had it been done: {undo})")
        }
        (State::DryRun, None) => "nothing to undo: a dry run changes nothing".to_string(),
        (State::Skipped, _) => "nothing to undo: it was skipped, nothing changed".to_string(),
        // A move that fails leaves the object where it was (the move protocol deletes the
        // source only after a verified copy).
        (State::Failed, Some(undo)) if d.action == Action::Move => {
            format!(
                "nothing to undo: the move failed, the object stayed where it was (had it been done: {undo})"
            )
        }
        (_, Some(undo)) => match after_unfreeze(d) {
            Some(then) => format!("{undo}; {then}"),
            None => undo.clone(),
        },
        (_, None) => "nothing to undo".to_string(),
    }
}

/// The signals a condition reads, in order, each once (quoted text is not a signal).
fn signals_read(when: &str) -> Vec<&'static policies::signals::Signal> {
    let mut unquoted = String::new();
    let mut quote = None;
    for c in when.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None => unquoted.push(c),
        }
    }
    let mut out: Vec<&'static policies::signals::Signal> = Vec::new();
    for word in unquoted.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if let Some(s) = policies::signals::lookup(word)
            && !out.iter().any(|o| o.id == s.id)
        {
            out.push(s);
        }
    }
    out
}

/// What the undo of a rule's freeze (`tierd unfreeze`) leads to, as the service does it. A whole
/// bucket's unfreeze acknowledges the bucket's incident and every behaviour signal behind it
/// (they start afresh); a prefix's acknowledges nothing. Either way the rule freezes the scope
/// again at its next pass if its condition holds then: for a whole bucket whose rule reads only
/// behaviour signals, that takes new behaviour.
fn after_unfreeze(d: &Decision) -> Option<String> {
    let (Action::Freeze, Some(rule), Some(prefix)) = (d.action, &d.rule, &d.prefix) else {
        return None;
    };
    let when = match d.explanation.as_ref() {
        Some(e) if !e.when.is_empty() => e.when.clone(),
        Some(e) => e
            .conditions
            .iter()
            .map(|c| c.test.as_str())
            .collect::<Vec<_>>()
            .join(" and "),
        None => String::new(),
    };
    let signals = signals_read(&when);
    let (behaviour, other): (Vec<_>, Vec<_>) = signals
        .iter()
        .partition(|s| s.source == policies::signals::Source::Behaviour);
    let names =
        |v: &[&&policies::signals::Signal]| v.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
    let condition = if when.is_empty() {
        "its condition".to_string()
    } else {
        format!("its condition (`{when}`)")
    };
    let again =
        format!("rule \"{rule}\" will freeze it again at its next pass while {condition} holds");
    Some(
        match (prefix.is_empty(), behaviour.is_empty(), other.is_empty()) {
            (true, false, true) => format!(
                "it acknowledges the bucket's incident and the signals behind it ({}): rule \"{rule}\" freezes it again only on new behaviour (a new anomaly or configuration change)",
                names(&behaviour)
            ),
            (true, false, false) => format!(
                "it acknowledges the bucket's incident and the signals behind it ({}), not {}: rule \"{rule}\" will freeze it again at its next pass if {condition} holds without them",
                names(&behaviour),
                names(&other)
            ),
            (false, false, _) => format!(
                "{again}: lifting a prefix's freeze leaves the bucket's behaviour signals as they are ({}) until they fade (planner.anomaly_hold, planner.incident_quiet); to acknowledge them at once, lift a freeze of the whole bucket (`tierd freeze {bucket}`, then `tierd unfreeze {bucket}`, when it has none)",
                names(&behaviour),
                bucket = d.bucket.as_deref().unwrap_or("BUCKET")
            ),
            (_, true, _) => again,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::{number, undo_line, with_config, write_explanation};

    #[test]
    fn the_undo_gets_the_configuration_it_is_read_with() {
        let now = " --config /srv/new/tierd.toml";
        for (recorded, shown) in [
            (
                "tierd move b/k --to onprem --config /srv/old/tierd.toml",
                "tierd move b/k --to onprem --config /srv/new/tierd.toml",
            ),
            (
                "tierd move b/k --to onprem --ignore-freezes --config '/srv/o d/it'\\''s.toml'",
                "tierd move b/k --to onprem --ignore-freezes --config /srv/new/tierd.toml",
            ),
            // None recorded: none added (the embedded defaults then).
            ("tierd unfreeze photos", "tierd unfreeze photos"),
            // Not one shell word after it: left alone.
            (
                "tierd move 'b/a --config x y' --to onprem",
                "tierd move 'b/a --config x y' --to onprem",
            ),
        ] {
            assert_eq!(with_config(recorded, now), shown, "{recorded}");
        }
        assert_eq!(
            with_config("tierd move b/k --to onprem --config /srv/old/t.toml", ""),
            "tierd move b/k --to onprem"
        );
    }
    use crate::decision::{Action, Condition, Decision, Explanation, State};

    /// Rule `rule`'s freeze of `prefix` in bucket `photos`, its condition `when`.
    fn rule_freeze(rule: &str, prefix: &str, when: &str) -> Decision {
        let mut d = Decision::operator_move(
            "freeze-1".into(),
            "2026-11-30T10:00:00Z".into(),
            ("photos", "x"),
            (None, "cloud"),
            "froze".into(),
        );
        d.action = Action::Freeze;
        d.key = None;
        d.to = None;
        d.prefix = Some(prefix.into());
        d.rule = Some(rule.into());
        d.state = State::Done;
        let arg = if prefix.is_empty() {
            String::new()
        } else {
            format!(" --prefix {prefix}")
        };
        d.undo = Some(format!(
            "tierd unfreeze photos{arg} --config /etc/tierd/tierd.toml"
        ));
        d.explanation = Some(Explanation {
            when: when.into(),
            ..Explanation::default()
        });
        d
    }

    #[test]
    fn a_snapshots_cost_is_the_vaults_storage_not_a_negative_saving() {
        let cost = crate::decision::Cost {
            bytes: 1_000,
            storage_saved_per_month: Some(-0.071514),
            requests: Some(0.009),
            ..crate::decision::Cost::default()
        };
        let mut snap = rule_freeze("protect", "", "incident_open");
        (snap.action, snap.cost) = (Action::Snapshot, Some(cost.clone()));
        let mut out = Vec::new();
        write_explanation(&snap, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  vault storage per month  0.071514\n"),
            "{text}"
        );
        assert!(!text.contains("storage saved"), "{text}");
        // A move's saving keeps its name and sign.
        let mut mv = rule_freeze("idle", "", "");
        (mv.action, mv.cost) = (Action::Move, Some(cost));
        let mut out = Vec::new();
        write_explanation(&mv, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("  storage saved per month  -0.071514\n"),
            "{text}"
        );
    }

    #[test]
    fn the_undo_of_a_rules_freeze_says_whether_the_rule_freezes_it_again() {
        let line = |prefix: &str, when: &str| undo_line(&rule_freeze("guard", prefix, when));
        assert_eq!(
            line("", "incident_open"),
            "tierd unfreeze photos --config /etc/tierd/tierd.toml; it acknowledges the bucket's incident and the signals behind it (incident_open): rule \"guard\" freezes it again only on new behaviour (a new anomaly or configuration change)"
        );
        assert_eq!(
            line("app/", "incident_open and key glob 'app/*'"),
            "tierd unfreeze photos --prefix app/ --config /etc/tierd/tierd.toml; rule \"guard\" will freeze it again at its next pass while its condition (`incident_open and key glob 'app/*'`) holds: lifting a prefix's freeze leaves the bucket's behaviour signals as they are (incident_open) until they fade (planner.anomaly_hold, planner.incident_quiet); to acknowledge them at once, lift a freeze of the whole bucket (`tierd freeze photos`, then `tierd unfreeze photos`, when it has none)"
        );
        assert_eq!(
            line("", "tier == 'onprem' and age < 1d"),
            "tierd unfreeze photos --config /etc/tierd/tierd.toml; rule \"guard\" will freeze it again at its next pass while its condition (`tier == 'onprem' and age < 1d`) holds"
        );
        assert_eq!(
            line("", "bucket_anomaly > 0.8 or age < 1d"),
            "tierd unfreeze photos --config /etc/tierd/tierd.toml; it acknowledges the bucket's incident and the signals behind it (bucket_anomaly), not age: rule \"guard\" will freeze it again at its next pass if its condition (`bucket_anomaly > 0.8 or age < 1d`) holds without them"
        );
        // An operator's freeze is an operator's: nothing freezes it again.
        let mut op = rule_freeze("guard", "", "incident_open");
        op.rule = None;
        assert_eq!(
            undo_line(&op),
            "tierd unfreeze photos --config /etc/tierd/tierd.toml"
        );
    }

    #[test]
    fn a_condition_is_shown_as_written_before_its_tests() {
        let mut d = Decision::operator_move(
            "move-1".into(),
            "2026-10-13T14:00:00Z".into(),
            ("photos", "a.jpg"),
            (Some("onprem"), "cloud"),
            "Rule \"cold\" moves it.".into(),
        );
        d.rule = Some("cold".into());
        let test = |t: &str, v: &str, holds| Condition {
            test: t.into(),
            value: v.into(),
            holds,
        };
        d.explanation = Some(Explanation {
            when: "tier == 'onprem' and (days_since_last_access > 20d or size >= 100KiB)".into(),
            conditions: vec![
                test("tier == 'onprem'", "'onprem'", true),
                test("days_since_last_access > 20d", "1.0d", false),
                test("size >= 100KiB", "150.3KiB", true),
            ],
            ..Explanation::default()
        });
        let mut out = Vec::new();
        write_explanation(&d, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        let at = lines
            .iter()
            .position(|l| *l == "condition, test by test:")
            .expect(&text);
        assert_eq!(
            lines[at + 1..at + 6],
            [
                "  as written: tier == 'onprem' and (days_since_last_access > 20d or size >= 100KiB)",
                "  [yes] tier == 'onprem'                                   value 'onprem'",
                "  [yes] any of:",
                "    [ no] days_since_last_access > 20d                     value 1.0d",
                "    [yes] size >= 100KiB                                   value 150.3KiB",
            ],
            "{text}"
        );
        assert!(!text.contains("did without"), "{text}");

        // A record whose tests do not fit its `when` (another version of the rule) is shown flat.
        if let Some(e) = d.explanation.as_mut() {
            e.conditions.pop();
        }
        let mut out = Vec::new();
        write_explanation(&d, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "\n  [ no] days_since_last_access > 20d                       value 1.0d\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "  (the condition holds as written: a test marked no is one an `or` did without)\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_failed_move_has_nothing_to_undo_and_a_long_error_stays_on_its_line() {
        let mut d = Decision::operator_move(
            "op-1".into(),
            "2026-10-13T14:00:00Z".into(),
            ("photos", "a.jpg"),
            (Some("onprem"), "cloud"),
            "An operator ran `tierd move`.".into(),
        );
        d.state = crate::decision::State::Failed;
        d.why = Some("404 Not Found: <?xml?>\n<Error>NoSuchBucket</Error>".into());
        let mut out = Vec::new();
        write_explanation(&d, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains(
                "\nstate     failed (404 Not Found: <?xml?> <Error>NoSuchBucket</Error>)\n"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("\nundo: nothing to undo: the move failed, the object stayed where it was (had it been done: tierd move photos/a.jpg --to onprem)\n"),
            "{text}"
        );
    }

    #[test]
    fn counts_print_without_decimals_and_ratios_with_up_to_four() {
        assert_eq!(number(1790.0), "1790");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.123_456), "0.1235");
    }
}
