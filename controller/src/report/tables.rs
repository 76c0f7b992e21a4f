//! The report's tables of what the terminal summary says in lines: what became of the policy's
//! moves (and every strategy's read-backs), the moves the guardrails held back per rule, and the
//! incidents. Each list is capped so that a long replay's page stays small; the page says how
//! many rows it shows and where the rest are (`--json`).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::svg::{esc, fmt_grouped, fmt_money};
use super::{ORACLE_STRATEGY, ReportData};

/// Incidents listed; the rest are counted.
pub const MAX_INCIDENT_ROWS: usize = 50;
/// Rows of the held-back table listed; the rest are counted.
pub const MAX_HELD_ROWS: usize = 100;

/// The moves one move rule wanted and one guardrail held back, over the replay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldRow {
    /// The move rule's id.
    pub rule: String,
    /// The guardrail, as the summary names it: `minimum residency`, `budget (objects per hour)`.
    pub guardrail: String,
    /// Moves held, one per object and planning pass.
    pub passes: u64,
    /// Objects held, once per wait.
    pub objects: u64,
}

/// One incident of the replay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentRow {
    pub bucket: String,
    /// When it opened and closed, as text (RFC 3339 UTC); `None`: still open at the end.
    pub opened: String,
    pub closed: Option<String>,
    /// The subject whose window opened it, its score and the threshold it was over.
    pub subject: String,
    pub score: f64,
    pub threshold: f64,
    /// The principal behind that window, if known.
    pub principal: Option<String>,
    /// Protective decisions on the bucket while it was open.
    pub snapshots: u64,
    pub freezes: u64,
    pub alerts: u64,
    /// The first of them, for `tierd explain ID --log FILE`.
    pub first_decision: Option<String>,
}

/// What became of the policy's moves; money in [`ReportData::currency`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MoveOutcomes {
    /// Move decisions applied, recalls included.
    pub moves: u64,
    /// Moves whose object was read back from where they put it, those reads, bytes and cost.
    pub read_back_moves: u64,
    pub read_backs: u64,
    pub read_back_bytes: u64,
    pub read_back_cost: f64,
    /// Moves whose object was deleted or overwritten on the colder tier they put it on.
    pub deleted_or_overwritten: u64,
    /// Early deletion charged to the objects the moves put on a tier.
    pub early_deletion: f64,
    /// Reads of objects listed on a colder tier that no move had put there.
    pub unattributed_read_backs: u64,
    pub unattributed_read_back_bytes: u64,
    pub unattributed_read_back_cost: f64,
    /// Where `--out` wrote the decisions (`-`: stdout), for the `tierd explain` hint.
    pub decision_log: Option<String>,
}

/// `2.270 GB`: bytes in GB of 10^9 bytes, the unit prices are per.
pub(crate) fn gb(bytes: u64) -> String {
    format!("{} GB", fmt_grouped(bytes as f64 / 1e9, 3))
}

/// `"one"` or `"other"` as `n` is 1 or not, after `n`: `1 read`, `3 reads`.
pub(crate) fn count(n: u64, one: &str, other: &str) -> String {
    format!(
        "{} {}",
        fmt_grouped(n as f64, 0),
        if n == 1 { one } else { other }
    )
}

/// The opening of a table: its class and the column heads (`true`: a number column).
pub(crate) fn table_head(out: &mut String, class: &str, heads: &[(&str, bool)]) {
    let _ = write!(
        out,
        "<div class=\"table-wrap\">\n<table class=\"{class}\">\n<thead><tr>"
    );
    for (h, num) in heads {
        let class = if *num { " class=\"num\"" } else { "" };
        let _ = write!(out, "<th scope=\"col\"{class}>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
}

/// The end of a table [`table_head`] opened.
pub(crate) fn table_end(out: &mut String) {
    out.push_str("</tbody>\n</table>\n</div>\n");
}

/// Says that `shown` of `total` rows are listed when some are not: `50 of 143 incidents shown
/// (the first); all are in --json (incidents).`
pub(crate) fn capped(out: &mut String, shown: usize, total: u64, what: &str, json: &str) {
    if (shown as u64) < total {
        let _ = writeln!(
            out,
            "<p class=\"note capped\">{} of {} {what} shown (the first); all are in <code>--json</code> (<code>{json}</code>).</p>",
            fmt_grouped(shown as f64, 0),
            fmt_grouped(total as f64, 0)
        );
    }
}

/// The `tierd explain` hint: it tells why `what` (`each was made`), with the file `--out` wrote
/// the decisions to, if one.
pub(crate) fn explain_hint(data: &ReportData, what: &str) -> String {
    let log = data
        .outcomes
        .as_ref()
        .and_then(|o| o.decision_log.as_deref());
    match log {
        Some(log) if log != "-" => format!(
            "<code>tierd explain ID --log {}</code> tells why {what}.",
            esc(log)
        ),
        _ => format!(
            "<code>tierd explain ID --log FILE</code>, FILE being what <code>--out</code> wrote, tells why {what}."
        ),
    }
}

/// What became of the policy's moves (the summary's line after the read-backs), and every
/// strategy's read-backs.
pub(crate) fn outcomes(out: &mut String, data: &ReportData) {
    let Some(o) = &data.outcomes else {
        return;
    };
    let places = data.money_places();
    let cur = esc(&data.currency);
    let money = |v: f64| format!("{} {cur}", fmt_money(v, places));
    out.push_str("<section id=\"outcomes\">\n<h2>What became of the policy's moves</h2>\n");
    out.push_str(
        "<p class=\"hint\">Every read-back of the policy (a client read served from a tier other than the hot one, \
         with the retrieval, egress and request it was charged) and every early-deletion charge is put to the move \
         that last put the object there. These costs are already in the totals of the cost summary.</p>\n<dl class=\"about outcomes\">\n",
    );
    let _ = writeln!(
        out,
        "<dt>moves made</dt><dd>{} (recalls included)</dd>",
        fmt_grouped(o.moves as f64, 0)
    );
    let _ = writeln!(
        out,
        "<dt>read back later</dt><dd>{}: {}, {}, cost {}</dd>",
        count(o.read_back_moves, "move", "moves"),
        count(o.read_backs, "read", "reads"),
        gb(o.read_back_bytes),
        money(o.read_back_cost)
    );
    let _ = writeln!(
        out,
        "<dt>deleted or overwritten on the colder tier</dt><dd>{} (early deletion {})</dd>",
        count(o.deleted_or_overwritten, "move", "moves"),
        money(o.early_deletion)
    );
    if o.unattributed_read_backs > 0 {
        let _ = writeln!(
            out,
            "<dt>read back, put there by no move</dt><dd>{} ({}, cost {}) of objects listed on a colder tier that no move had put there</dd>",
            count(o.unattributed_read_backs, "read", "reads"),
            gb(o.unattributed_read_back_bytes),
            money(o.unattributed_read_back_cost)
        );
    }
    out.push_str("</dl>\n");
    let strategies: Vec<_> = data
        .summary
        .iter()
        .filter(|r| r.strategy != ORACLE_STRATEGY)
        .collect();
    if !strategies.is_empty() {
        out.push_str(
            "<h3>Read-backs per strategy</h3>\n<p class=\"hint\">Client reads served from a colder tier, \
             per strategy: where a policy loses to never moving, this is usually why.</p>\n",
        );
        let cost_head = format!("Cost ({})", data.currency);
        table_head(
            out,
            "readbacks",
            &[
                ("Strategy", false),
                ("Reads", true),
                ("Bytes", true),
                (&cost_head, true),
            ],
        );
        for r in strategies {
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&r.strategy),
                fmt_grouped(r.read_backs as f64, 0),
                gb(r.read_back_bytes),
                fmt_money(r.read_back_cost, places)
            );
        }
        table_end(out);
    }
    out.push_str("</section>\n");
}

/// The moves held back by the guardrails: the per-pass counts, then per rule.
pub(crate) fn held(out: &mut String, data: &ReportData) {
    if data.held_per_pass.is_empty() && data.held_by_rule.is_empty() {
        return;
    }
    out.push_str("<section id=\"held\">\n<h2>Moves held back by the guardrails</h2>\n");
    let per_pass: Vec<String> = data
        .held_per_pass
        .iter()
        .map(|(g, n)| format!("{} {}", esc(g), fmt_grouped(*n as f64, 0)))
        .collect();
    if !per_pass.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"hint\">Candidate moves that waited, counted once per planning pass in which they waited, by the \
             first guardrail that held them: {}.</p>",
            per_pass.join(", ")
        );
    }
    if data.held_by_rule.is_empty() {
        out.push_str("<p class=\"note\">No rule's move was held back.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p class=\"hint\">Per move rule: the passes are the counts above, by the rule that wanted the move; \
         the objects are the objects held, each counted once per wait.</p>\n",
    );
    capped(
        out,
        data.held_by_rule.len().min(MAX_HELD_ROWS),
        data.held_by_rule.len() as u64,
        "rows",
        "held_by_rule",
    );
    table_head(
        out,
        "held",
        &[
            ("Rule", false),
            ("Guardrail", false),
            ("Passes", true),
            ("Objects", true),
        ],
    );
    for h in data.held_by_rule.iter().take(MAX_HELD_ROWS) {
        let _ = writeln!(
            out,
            "<tr><td class=\"rule\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&h.rule),
            esc(&h.guardrail),
            fmt_grouped(h.passes as f64, 0),
            fmt_grouped(h.objects as f64, 0)
        );
    }
    table_end(out);
    out.push_str("</section>\n");
}

/// The incidents, one row each.
pub(crate) fn incidents(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"incidents\">\n<h2>Incidents</h2>\n");
    if data.incidents.is_empty() {
        out.push_str("<p class=\"note\">No incident was opened.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"hint\">Each incident tierd opened (shaded on the <a href=\"#anomaly\">anomaly timelines</a>): \
         the window whose score opened it, when it closed (quiet for <code>planner.incident_quiet</code>), and the snapshots, \
         freezes and alerts the policy decided on the bucket while it was open. {}</p>",
        explain_hint(data, "the first was made")
    );
    capped(
        out,
        data.incidents.len().min(MAX_INCIDENT_ROWS),
        data.incidents.len() as u64,
        "incidents",
        "incidents",
    );
    table_head(
        out,
        "decisions incidents",
        &[
            ("Bucket", false),
            ("Opened", false),
            ("Closed", false),
            ("Opened by", false),
            ("Score", true),
            ("Threshold", true),
            ("Principal", false),
            ("Snapshots", true),
            ("Freezes", true),
            ("Alerts", true),
            ("First decision", false),
        ],
    );
    for (n, i) in data.incidents.iter().take(MAX_INCIDENT_ROWS).enumerate() {
        let _ = writeln!(
            out,
            "<tr id=\"incident-{}\"><td>{}</td><td class=\"at\">{}</td><td class=\"at\">{}</td><td class=\"scope\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"scope\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"id\">{}</td></tr>",
            n + 1,
            esc(&i.bucket),
            esc(&i.opened),
            i.closed
                .as_deref()
                .map_or_else(|| "still open at the end".to_string(), esc),
            esc(&i.subject),
            fmt_grouped(i.score, 2),
            fmt_grouped(i.threshold, 2),
            i.principal.as_deref().map_or_else(String::new, esc),
            fmt_grouped(i.snapshots as f64, 0),
            fmt_grouped(i.freezes as f64, 0),
            fmt_grouped(i.alerts as f64, 0),
            i.first_decision.as_deref().map_or_else(String::new, esc)
        );
    }
    table_end(out);
    out.push_str("</section>\n");
}
