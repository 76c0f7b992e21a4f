//! The report's `--why` sections: for each object named, what the terminal prints after the
//! summary ([`crate::simulate::why`]): its size and tiers, its client traffic, every decision
//! about it, the runs of passes a guardrail held its move, the timeline of passes where the
//! outcome changed, and the last pass's verdict with each test's value and the move's cost.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::ReportData;
use super::svg::{esc, fmt_grouped};
use super::tables::{capped, count, explain_hint, gb, table_end, table_head};

/// Decisions, held runs, timeline stretches and rule lines listed per object; the rest are
/// counted.
pub const MAX_WHY_ROWS: usize = 50;

/// One object `--why` named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhyObject {
    /// `BUCKET/KEY` as given.
    pub object: String,
    /// Why the replay has no answer (it never saw the object); `None` when it saw it.
    pub not_seen: Option<String>,
    /// Its size in bytes at the end, and the same as the terminal prints it (`4.8MiB`).
    pub size: u64,
    pub size_text: String,
    /// When the replay first knew it (RFC 3339 UTC), and its tier then.
    pub first_seen: Option<String>,
    pub tier_at_start: Option<String>,
    /// Where it was at the end, in words: `on "cloud" at the end`, `deleted at T`.
    pub end: String,
    /// Its client traffic: `1 write, the last at T; 19 reads, the last at T`.
    pub traffic: String,
    pub decisions: Vec<WhyDecision>,
    /// Decisions past those kept, counted only.
    pub decisions_omitted: u64,
    pub held: Vec<WhyHeld>,
    pub timeline: Vec<WhyStretch>,
    /// Stretches and held runs past those kept, counted only.
    pub timeline_omitted: u64,
    pub last_pass: Option<WhyLastPass>,
}

/// A decision about the object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhyDecision {
    pub id: String,
    pub at: String,
    pub action: String,
    /// `onprem -> cloud`, `-> cloud` or empty.
    pub direction: String,
    pub rule: Option<String>,
}

/// Passes in a row in which one guardrail held one rule's move back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhyHeld {
    pub rule: String,
    pub guardrail: String,
    pub passes: u64,
    pub from: String,
    pub to: String,
}

/// Passes in a row with the same outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhyStretch {
    pub from: String,
    pub to: String,
    pub passes: u64,
    /// What the passes made of the object, as the terminal's timeline line says it.
    pub outcome: String,
}

/// The verdict of the last pass that saw the object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhyLastPass {
    pub at: String,
    /// `rule "X" wins (move to "cloud")` or `no rule wins`.
    pub verdict: String,
    /// The winner's `when` as written, and its tests.
    pub when: String,
    pub conditions: Vec<ConditionLine>,
    /// A note under the tests (a test marked no that an `or` did without), or empty.
    pub conditions_note: String,
    /// Every other rule that applies: `rule "Y" does not match: test (value: no)`.
    pub rules: Vec<String>,
    /// What the move would cost, if a move rule applies.
    pub cost: Option<WhyCost>,
}

/// One test of the winning rule, or a group of them (`any of:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConditionLine {
    /// How many groups it is inside.
    pub depth: usize,
    pub holds: bool,
    pub text: String,
    /// The signal's value, for a test.
    pub value: Option<String>,
}

/// The cost signals of the move the last pass weighed, in [`ReportData::currency`], to the
/// millionth as decision records carry them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhyCost {
    /// The terminal's line: `a move to "cloud" (rule "idle"): saves USD 0.0001/month in
    /// storage, one-off charges USD 0.000012 (...); savings_per_month ... vs ...`.
    pub text: String,
    pub rule: String,
    pub to: String,
    pub storage_saved_per_month: f64,
    pub retrieval: f64,
    pub egress: f64,
    pub requests: f64,
    pub early_deletion: f64,
    pub savings_per_month: f64,
    pub read_back_cost_per_month: f64,
}

/// The sections, one per object named; nothing without `--why`.
pub(crate) fn sections(out: &mut String, data: &ReportData) {
    if data.why.is_empty() {
        return;
    }
    out.push_str("<section id=\"why\">\n<h2>Why: the objects named with <code>--why</code></h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"hint\">What the replay did with each object named, and why: its decisions, the passes a guardrail \
         held its move, the planning passes where the outcome changed, and how the policy saw it at the last pass. {}</p>",
        explain_hint(data, "a decision was made")
    );
    for (n, w) in data.why.iter().enumerate() {
        object(out, n + 1, w, &data.currency);
    }
    out.push_str("</section>\n");
}

fn object(out: &mut String, n: usize, w: &WhyObject, currency: &str) {
    let _ = writeln!(
        out,
        "<article class=\"why\" id=\"why-{n}\">\n<h3>why <code>{}</code></h3>",
        esc(&w.object)
    );
    if let Some(message) = &w.not_seen {
        let _ = writeln!(
            out,
            "<p class=\"note\">No answer: {}.</p>\n</article>",
            esc(message)
        );
        return;
    }
    let _ = writeln!(
        out,
        "<dl class=\"about\">\n<dt>size</dt><dd>{} ({}, {})</dd>",
        gb(w.size),
        esc(&w.size_text),
        count(w.size, "byte", "bytes")
    );
    let _ = writeln!(
        out,
        "<dt>tier</dt><dd>on {} when first seen ({}), {}</dd>",
        w.tier_at_start
            .as_deref()
            .map_or_else(|| "-".to_string(), |t| format!("\"{}\"", esc(t))),
        esc(w.first_seen.as_deref().unwrap_or("-")),
        esc(&w.end)
    );
    let _ = writeln!(
        out,
        "<dt>client traffic</dt><dd>{}</dd>\n</dl>",
        esc(&w.traffic)
    );
    decisions(out, w);
    held(out, w);
    timeline(out, w);
    last_pass(out, w, currency);
    out.push_str("</article>\n");
}

fn decisions(out: &mut String, w: &WhyObject) {
    out.push_str("<h4>Decisions</h4>\n");
    if w.decisions.is_empty() {
        out.push_str("<p class=\"note\">None.</p>\n");
        return;
    }
    let total = w.decisions.len() as u64 + w.decisions_omitted;
    let shown = w.decisions.len().min(MAX_WHY_ROWS);
    capped(out, shown, total, "decisions", "why[].decisions");
    table_head(
        out,
        "decisions",
        &[
            ("ID", false),
            ("Time", false),
            ("Action", false),
            ("From, to", false),
            ("Rule", false),
        ],
    );
    for d in w.decisions.iter().take(shown) {
        let _ = writeln!(
            out,
            "<tr><td class=\"id\">{}</td><td class=\"at\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.id),
            esc(&d.at),
            esc(&d.action),
            esc(&d.direction),
            esc(d.rule.as_deref().unwrap_or("-"))
        );
    }
    table_end(out);
}

fn held(out: &mut String, w: &WhyObject) {
    if w.held.is_empty() {
        return;
    }
    out.push_str("<h4>Held back by guardrails</h4>\n");
    let shown = w.held.len().min(MAX_WHY_ROWS);
    capped(out, shown, w.held.len() as u64, "held runs", "why[].held");
    table_head(
        out,
        "decisions held",
        &[
            ("Rule that wanted a move", false),
            ("Held by", false),
            ("Passes", true),
            ("From", false),
            ("To", false),
        ],
    );
    for h in w.held.iter().take(shown) {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"at\">{}</td><td class=\"at\">{}</td></tr>",
            esc(&h.rule),
            esc(&h.guardrail),
            fmt_grouped(h.passes as f64, 0),
            esc(&h.from),
            esc(&h.to)
        );
    }
    table_end(out);
}

fn timeline(out: &mut String, w: &WhyObject) {
    if w.timeline.is_empty() {
        return;
    }
    out.push_str("<h4>Timeline (planning passes)</h4>\n");
    let shown = w.timeline.len().min(MAX_WHY_ROWS);
    let total = w.timeline.len() as u64 + w.timeline_omitted;
    capped(out, shown, total, "stretches", "why[].timeline");
    table_head(
        out,
        "decisions timeline",
        &[
            ("From", false),
            ("To", false),
            ("Passes", true),
            ("Outcome", false),
        ],
    );
    for s in w.timeline.iter().take(shown) {
        let _ = writeln!(
            out,
            "<tr><td class=\"at\">{}</td><td class=\"at\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&s.from),
            esc(&s.to),
            fmt_grouped(s.passes as f64, 0),
            esc(&s.outcome)
        );
    }
    table_end(out);
}

fn last_pass(out: &mut String, w: &WhyObject, currency: &str) {
    let Some(p) = &w.last_pass else {
        out.push_str("<p class=\"note\">No planning pass saw it.</p>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<h4>At the last pass ({})</h4>\n<p>{}</p>",
        esc(&p.at),
        esc(&p.verdict)
    );
    if !p.when.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"hint\">as written: <code>{}</code></p>",
            esc(&p.when)
        );
    }
    if !p.conditions.is_empty() {
        out.push_str("<ul class=\"tests\">\n");
        for c in &p.conditions {
            let (class, mark) = if c.holds {
                ("yes", "yes")
            } else {
                ("no", "no")
            };
            let value = c.value.as_deref().map_or_else(String::new, |v| {
                format!(" <span class=\"value\">value {}</span>", esc(v))
            });
            let _ = writeln!(
                out,
                "<li class=\"depth-{}\"><span class=\"{class}\">[{mark}]</span> <code>{}</code>{value}</li>",
                c.depth.min(9),
                esc(&c.text)
            );
        }
        out.push_str("</ul>\n");
    }
    if !p.conditions_note.is_empty() {
        let _ = writeln!(out, "<p class=\"hint\">{}</p>", esc(&p.conditions_note));
    }
    if !p.rules.is_empty() {
        out.push_str("<p>The other rules:</p>\n");
        let shown = p.rules.len().min(MAX_WHY_ROWS);
        capped(
            out,
            shown,
            p.rules.len() as u64,
            "rules",
            "why[].last_pass.rules",
        );
        out.push_str("<ul class=\"rules\">\n");
        for r in p.rules.iter().take(shown) {
            let _ = writeln!(out, "<li>{}</li>", esc(r));
        }
        out.push_str("</ul>\n");
    }
    if let Some(c) = &p.cost {
        cost(out, c, currency);
    }
}

/// The move's cost signals, amounts as recorded (to the millionth).
fn cost(out: &mut String, c: &WhyCost, currency: &str) {
    let _ = writeln!(
        out,
        "<p>cost: {}</p>\n<p class=\"hint\">The same, in {}:</p>",
        esc(&c.text),
        esc(currency)
    );
    table_head(
        out,
        "cost",
        &[
            ("Storage saved per month", true),
            ("Retrieval", true),
            ("Egress", true),
            ("Requests", true),
            ("Early deletion", true),
            ("savings_per_month", true),
            ("read_back_cost_per_month", true),
        ],
    );
    out.push_str("<tr>");
    for v in [
        c.storage_saved_per_month,
        c.retrieval,
        c.egress,
        c.requests,
        c.early_deletion,
        c.savings_per_month,
        c.read_back_cost_per_month,
    ] {
        let _ = write!(out, "<td class=\"num\">{}</td>", esc(&format!("{v}")));
    }
    out.push_str("</tr>\n");
    table_end(out);
}
