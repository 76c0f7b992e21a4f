//! `tierd simulate --why BUCKET/KEY` on the terminal: after the summary, for each object named,
//! what the replay did with it and why ([`crate::simulate::why`]).

use std::io::Write;
use std::process::ExitCode;

use super::common::plural;
use crate::planner::verdict::RowVerdict;
use crate::simulate::why::{DecisionRef, MAX_OBJECTS, ObjectWhy, Stretch};

/// `--why`'s value: `BUCKET/KEY`, split at the first `/`.
///
/// # Errors
/// A value without `/`, or with nothing before or after it.
pub fn parse_why(s: &str) -> Result<(String, String), String> {
    match s.split_once('/') {
        Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
            Ok((bucket.to_string(), key.to_string()))
        }
        _ => Err(format!(
            "{s:?} is not BUCKET/KEY: give the bucket, a \"/\" and the object's key, as in photos/2026/a.jpg"
        )),
    }
}

/// Refuses more objects than `--why` follows.
///
/// # Errors
/// More than [`MAX_OBJECTS`] objects.
pub fn check_count(n: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        n <= MAX_OBJECTS,
        "--why names {n} objects; at most {MAX_OBJECTS} may be named in one replay"
    );
    Ok(())
}

fn utc(t: i64) -> String {
    policies::facts::format_utc(t)
}

/// The answers for the objects the replay saw (the others are said by [`exit_code`]).
///
/// # Errors
/// Output errors.
pub fn print(whys: &[ObjectWhy], currency: &str, out: &mut dyn Write) -> std::io::Result<()> {
    for w in whys.iter().filter(|w| w.found) {
        writeln!(out)?;
        print_one(w, currency, out)?;
    }
    Ok(())
}

fn print_one(w: &ObjectWhy, currency: &str, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "why {}: {}, on {} when first seen ({}), {}",
        w.object,
        size_text(w),
        w.tier_at_start
            .as_deref()
            .map_or("-".to_string(), |t| format!("\"{t}\"")),
        w.first_seen.map_or("-".to_string(), utc),
        end_text(w)
    )?;
    writeln!(out, "  {}", traffic_text(w))?;
    if w.decisions.is_empty() {
        writeln!(out, "  decisions: none")?;
    } else {
        writeln!(
            out,
            "  decisions (tierd explain ID --log FILE, FILE: the decisions of --out):"
        )?;
        for d in &w.decisions {
            let dir = direction(d);
            let dir = if dir.is_empty() {
                dir
            } else {
                format!(" {dir}")
            };
            writeln!(
                out,
                "    {}  {}  {}{dir}  rule {}",
                d.id,
                d.at,
                d.action,
                d.rule.as_deref().unwrap_or("-")
            )?;
        }
        if w.decisions_omitted > 0 {
            writeln!(out, "    ... and {} more", w.decisions_omitted)?;
        }
    }
    if !w.held.is_empty() {
        writeln!(out, "  held back by guardrails:")?;
        for h in &w.held {
            writeln!(
                out,
                "    rule \"{}\" wanted a move, held by {}: {} from {} to {}",
                h.rule,
                h.guardrail,
                plural(h.passes as usize, "pass", "passes"),
                utc(h.from),
                utc(h.to)
            )?;
        }
    }
    if !w.timeline.is_empty() {
        writeln!(out, "  timeline (planning passes):")?;
        for s in &w.timeline {
            writeln!(
                out,
                "    from {}: {} ({})",
                utc(s.from),
                stretch_text(s),
                plural(s.passes as usize, "pass", "passes")
            )?;
        }
        if w.timeline_omitted > 0 {
            writeln!(out, "    ... and {} more stretches", w.timeline_omitted)?;
        }
    }
    let Some(p) = &w.last_pass else {
        return writeln!(out, "  no planning pass saw it");
    };
    let v = &p.verdict;
    writeln!(
        out,
        "  at the last pass ({}): {}",
        utc(p.at),
        verdict_text(v)
    )?;
    if !v.conditions.is_empty() {
        super::explain::write_conditions(&v.when, &v.conditions, "    ", out)?;
    }
    for line in other_rules(v) {
        writeln!(out, "    - {line}")?;
    }
    if let Some(c) = &v.cost {
        writeln!(out, "    cost: {}", c.describe(currency))?;
    }
    Ok(())
}

/// The object's size as policies write sizes: `4.8MiB`.
fn size_text(w: &ObjectWhy) -> String {
    policies::eval::format_value(policies::signals::Kind::Size, w.size as f64)
}

/// Where the object was at the end: `on "cloud" at the end`, `deleted at T`.
fn end_text(w: &ObjectWhy) -> String {
    match (&w.tier_at_end, w.deleted) {
        (Some(t), _) => format!("on \"{t}\" at the end"),
        (None, Some(d)) => format!("deleted at {}", utc(d)),
        (None, None) => "gone at the end".to_string(),
    }
}

/// Its client traffic: `1 write, the last at T; 19 reads, the last at T`.
fn traffic_text(w: &ObjectWhy) -> String {
    let last = |t: Option<i64>| t.map_or(String::new(), |t| format!(", the last at {}", utc(t)));
    format!(
        "{}{}; {}{}",
        plural(w.writes as usize, "write", "writes"),
        last(w.last_write),
        plural(w.reads as usize, "read", "reads"),
        last(w.last_read)
    )
}

/// A decision's tiers: `onprem -> cloud`, `-> cloud`, or empty.
fn direction(d: &DecisionRef) -> String {
    match (&d.from, &d.to) {
        (Some(f), Some(t)) => format!("{f} -> {t}"),
        (None, Some(t)) => format!("-> {t}"),
        _ => String::new(),
    }
}

/// What a stretch of passes made of the object: `rule "idle" wins (move to "cloud": tests),
/// held by the minimum residency`.
fn stretch_text(s: &Stretch) -> String {
    let mut line = match &s.winner {
        Some(r) if s.tests.is_empty() => format!("rule \"{r}\" wins ({})", s.action),
        Some(r) => format!("rule \"{r}\" wins ({}: {})", s.action, s.tests),
        None => "no rule wins".to_string(),
    };
    match (&s.held_rule, &s.held_by, &s.decision) {
        (_, _, Some(id)) => line.push_str(&format!(", decided {id}")),
        (Some(r), Some(g), _) if s.winner.as_ref() == Some(r) => {
            line.push_str(&format!(", held by {g}"));
        }
        (Some(r), Some(g), _) => {
            line.push_str(&format!("; rule \"{r}\" wanted a move, held by {g}"));
        }
        _ => {}
    }
    line
}

/// The last pass's outcome: `rule "idle" wins (move to "cloud")` or `no rule wins`.
fn verdict_text(v: &RowVerdict) -> String {
    match &v.winner {
        Some(r) => format!("rule \"{r}\" wins ({})", v.action),
        None => "no rule wins".to_string(),
    }
}

/// The explanation lines of the rules other than the winner (whose line is its tests).
fn other_rules(v: &RowVerdict) -> impl Iterator<Item = &String> {
    let own = v.winner.as_ref().map(|r| format!("rule \"{r}\" wins"));
    v.rules.iter().filter(move |line| {
        *line != "no rule wins" && !own.as_ref().is_some_and(|o| line.starts_with(o.as_str()))
    })
}

/// The answers as the report's `--why` sections, the same lines the terminal prints.
pub fn report_objects(whys: &[ObjectWhy], currency: &str) -> Vec<crate::report::WhyObject> {
    use crate::report::{WhyDecision, WhyHeld, WhyLastPass, WhyObject, WhyStretch};
    whys.iter()
        .map(|w| WhyObject {
            object: w.object.clone(),
            not_seen: (!w.found).then(|| w.message.clone().unwrap_or_default()),
            size: w.size,
            size_text: size_text(w),
            first_seen: w.first_seen.map(utc),
            tier_at_start: w.tier_at_start.clone(),
            end: end_text(w),
            traffic: traffic_text(w),
            decisions: w
                .decisions
                .iter()
                .map(|d| WhyDecision {
                    id: d.id.clone(),
                    at: d.at.clone(),
                    action: d.action.clone(),
                    direction: direction(d),
                    rule: d.rule.clone(),
                })
                .collect(),
            decisions_omitted: w.decisions_omitted,
            held: w
                .held
                .iter()
                .map(|h| WhyHeld {
                    rule: h.rule.clone(),
                    guardrail: h.guardrail.clone(),
                    passes: h.passes,
                    from: utc(h.from),
                    to: utc(h.to),
                })
                .collect(),
            timeline: w
                .timeline
                .iter()
                .map(|s| WhyStretch {
                    from: utc(s.from),
                    to: utc(s.to),
                    passes: s.passes,
                    outcome: stretch_text(s),
                })
                .collect(),
            timeline_omitted: w.timeline_omitted,
            last_pass: w.last_pass.as_ref().map(|p| {
                let v = &p.verdict;
                let (conditions, note) = super::explain::condition_lines(&v.when, &v.conditions);
                WhyLastPass {
                    at: utc(p.at),
                    verdict: verdict_text(v),
                    when: v.when.clone(),
                    conditions: conditions
                        .into_iter()
                        .map(|l| crate::report::ConditionLine {
                            depth: l.depth,
                            holds: l.holds,
                            text: l.text,
                            value: l.value,
                        })
                        .collect(),
                    conditions_note: note.unwrap_or_default().to_string(),
                    rules: other_rules(v).cloned().collect(),
                    cost: v.cost.as_ref().map(|c| crate::report::WhyCost {
                        text: c.describe(currency),
                        rule: c.rule.clone(),
                        to: c.to.clone(),
                        storage_saved_per_month: c.storage_saved_per_month,
                        retrieval: c.retrieval,
                        egress: c.egress,
                        requests: c.requests,
                        early_deletion: c.early_deletion,
                        savings_per_month: c.savings_per_month,
                        read_back_cost_per_month: c.read_back_cost_per_month,
                    }),
                }
            }),
        })
        .collect()
}

/// Says on stderr which objects the replay did not see, and why: exit status 1 if any, else 0.
pub fn exit_code(whys: &[ObjectWhy]) -> ExitCode {
    let mut missing = false;
    for w in whys.iter().filter(|w| !w.found) {
        missing = true;
        eprintln!(
            "error: --why {}: {}",
            w.object,
            w.message.as_deref().unwrap_or("not seen")
        );
    }
    if missing {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_why_value_is_a_bucket_a_slash_and_a_key() {
        assert_eq!(
            parse_why("photos/2026/a.jpg"),
            Ok(("photos".to_string(), "2026/a.jpg".to_string()))
        );
        for bad in ["photos", "/a.jpg", "photos/"] {
            assert_eq!(
                parse_why(bad),
                Err(format!(
                    "{bad:?} is not BUCKET/KEY: give the bucket, a \"/\" and the object's key, as in photos/2026/a.jpg"
                ))
            );
        }
        assert!(check_count(MAX_OBJECTS).is_ok());
        assert_eq!(
            check_count(MAX_OBJECTS + 1).unwrap_err().to_string(),
            "--why names 21 objects; at most 20 may be named in one replay"
        );
    }
}
