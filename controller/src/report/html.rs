//! The HTML document around the charts: header, findings, summary table, figures, decisions.
//!
//! The markup is XHTML-compatible (void elements self-closed, every attribute quoted) so that
//! the whole page, not only its SVG, can be checked for well-formedness.

use std::fmt::Write as _;

use super::charts::{self, Chart, LegendItem, Swatch};
use super::svg::{esc, fmt_grouped, fmt_money, fmt_signed_money, fmt_time};
use super::{Comparison, ORACLE_STRATEGY, POLICY_STRATEGY, ReportData, SummaryRow, tables, why};

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #ffffff; color: #1f2328; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1220px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 6px; line-height: 1.25; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d0d7de; }
.period { color: #57606a; margin: 0 0 14px; }
dl.context { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; padding: 12px 16px; background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; font-size: 13.5px; }
dl.context dt { font-weight: 600; color: #57606a; }
dl.context dd { margin: 0; overflow-wrap: anywhere; font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 13px; }
.findings { margin: 18px 0 0; padding: 12px 16px; border-left: 4px solid #0072B2; background: #eef6fc; }
.findings p { margin: 4px 0; }
p.note, figcaption, .hint { color: #57606a; font-size: 13.5px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { padding: 5px 7px; border-bottom: 1px solid #d8dee4; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; border-bottom: 2px solid #afb8c1; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.summary tbody th { min-width: 9em; }
thead th.num { white-space: normal; }
td.total .badge { display: block; width: fit-content; margin: 3px 0 0 auto; }
.pct { display: block; font-size: 11.5px; }
table.summary tbody tr:nth-child(even) td { background: #fafbfc; }
table.summary tr.policy td { background: #e3f0fa; font-weight: 600; }
table.summary tr.policy td:first-child { box-shadow: inset 4px 0 0 #0072B2; }
table.summary tr.oracle td { color: #57606a; font-style: italic; }
td.cheapest { outline: 2px solid #009E73; outline-offset: -2px; }
.badge { display: inline-block; margin-left: 6px; padding: 0 6px; border-radius: 9px; font-size: 11.5px; font-weight: 600; font-style: normal; background: #009E73; color: #ffffff; white-space: nowrap; }
.badge.bound { background: #6e7781; }
.badge.you { background: #0072B2; }
.better { color: #1a7f37; }
.worse { color: #b3261e; }
figure { margin: 18px 0 8px; break-inside: avoid; page-break-inside: avoid; }
svg.chart { display: block; width: 100%; height: auto; font-family: inherit; }
svg.chart .grid line { stroke: #e6e9ec; stroke-width: 1; }
svg.chart .axis text { font-size: 11px; fill: #424a53; }
svg.chart .axis-title text { font-size: 12px; fill: #1f2328; font-weight: 600; }
svg.chart .axis-line { fill: none; stroke: #57606a; stroke-width: 1; }
svg.chart .nodata-box { fill: #f6f8fa; stroke: #d0d7de; }
svg.chart .nodata { font-size: 15px; fill: #57606a; }
svg.chart .row-label { font-size: 12.5px; font-weight: 600; fill: #1f2328; }
svg.chart .row-note { font-weight: 400; fill: #57606a; }
svg.chart .plot-box { fill: none; stroke: #c9d1d9; }
svg.chart .incident { fill: #D55E00; fill-opacity: 0.16; }
svg.chart .threshold line, svg.chart .threshold path { stroke: #D55E00; stroke-width: 1.5; stroke-dasharray: 5 3; }
svg.chart .threshold text { font-size: 10.5px; fill: #a3470a; }
svg.chart .score { fill: none; stroke: #0072B2; stroke-width: 1.5; stroke-linejoin: round; }
svg.chart .score-dot { fill: #0072B2; }
svg.chart .over { fill: #D55E00; stroke: #fff; stroke-width: 1.2; }
svg.chart .marker-rule { stroke: #8c959f; stroke-width: 1; stroke-dasharray: 2 2; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 20px; margin: 8px 0 0; padding: 0; font-size: 13px; }
ul.legend li { display: flex; align-items: center; gap: 7px; }
.sw-line { display: inline-block; width: 30px; height: 0; }
.sw-area { display: inline-block; width: 14px; height: 14px; border-radius: 2px; }
.sw-glyph { display: inline-block; width: 14px; text-align: center; font-size: 13px; }
dl.about { display: grid; grid-template-columns: minmax(9em, max-content) 1fr; gap: 4px 16px; margin: 8px 0 14px; font-size: 13.5px; }
dl.about dt { font-weight: 600; }
dl.about dd { margin: 0; }
table.decisions td { overflow-wrap: anywhere; }
table.decisions td.id, table.decisions td.scope { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; }
table.decisions td.at { white-space: nowrap; }
h3 { font-size: 16px; margin: 22px 0 6px; overflow-wrap: anywhere; }
h4 { font-size: 14px; margin: 14px 0 4px; }
article.why { margin: 10px 0 26px; padding: 4px 16px 10px; border-left: 3px solid #d0d7de; }
ul.tests, ul.rules { margin: 4px 0 10px; padding-left: 18px; font-size: 13px; }
ul.tests { list-style: none; padding-left: 4px; }
ul.tests li.depth-1 { padding-left: 22px; }
ul.tests li.depth-2 { padding-left: 44px; }
ul.tests li.depth-3, ul.tests li.depth-4, ul.tests li.depth-5, ul.tests li.depth-6, ul.tests li.depth-7, ul.tests li.depth-8, ul.tests li.depth-9 { padding-left: 66px; }
ul.tests .yes { color: #1a7f37; font-weight: 600; }
ul.tests .no { color: #b3261e; font-weight: 600; }
ul.tests .value { color: #57606a; }
footer { margin-top: 36px; color: #6e7781; font-size: 12.5px; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  .table-wrap { overflow: visible; }
}
@page { margin: 14mm; }
"#;

/// The whole document.
pub(crate) fn document(data: &ReportData) -> String {
    let title = if data.title.trim().is_empty() {
        "tierd simulation report"
    } else {
        data.title.as_str()
    };
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n");
    out.push_str("<meta name=\"generator\" content=\"tierd ");
    out.push_str(env!("CARGO_PKG_VERSION"));
    out.push_str("\" />\n");
    let _ = writeln!(out, "<title>{}</title>", esc(title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>\n<main>");
    header(&mut out, data, title);
    findings(&mut out, data);
    summary(&mut out, data);
    method(&mut out, data);
    figures(&mut out, data);
    tables::outcomes(&mut out, data);
    costliest_moves(&mut out, data);
    tables::held(&mut out, data);
    tables::incidents(&mut out, data);
    why::sections(&mut out, data);
    decisions(&mut out, data);
    let _ = writeln!(
        out,
        "<footer>Made by tierd {} <code>simulate</code>. The page is self-contained: no scripts, no external resources.</footer>",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn header(out: &mut String, data: &ReportData, title: &str) {
    let _ = writeln!(out, "<header>\n<h1>{}</h1>", esc(title));
    if data.until > data.from {
        let days = (data.until as i128 - data.from as i128) as f64 / 86_400.0;
        let _ = writeln!(
            out,
            "<p class=\"period\">Simulated period: {} to {} ({} days)</p>",
            fmt_time(data.from),
            fmt_time(data.until),
            fmt_grouped(days, if days.fract().abs() < 1e-9 { 0 } else { 1 })
        );
    } else {
        let _ = writeln!(out, "<p class=\"period\">Simulated period: not given</p>");
    }
    if !data.context.is_empty() {
        out.push_str("<dl class=\"context\">\n");
        for (k, v) in &data.context {
            let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        out.push_str("</dl>\n");
    }
    out.push_str("</header>\n");
}

/// The index of the policy's summary row: the one named [`POLICY_STRATEGY`], else the first.
fn policy_row(rows: &[SummaryRow]) -> Option<usize> {
    rows.iter()
        .position(|r| r.strategy == POLICY_STRATEGY)
        .or(if rows.is_empty() { None } else { Some(0) })
}

/// Indices of the rows with the lowest finite total among the strategies that could really be
/// run (every row but the offline oracle, unless it is the only one). Ties are all marked.
fn cheapest_rows(rows: &[SummaryRow]) -> Vec<usize> {
    let candidates: Vec<usize> = {
        let real: Vec<usize> = (0..rows.len())
            .filter(|i| rows[*i].strategy != ORACLE_STRATEGY)
            .collect();
        if real.is_empty() {
            (0..rows.len()).collect()
        } else {
            real
        }
    };
    let min = candidates
        .iter()
        .map(|i| rows[*i].total)
        .filter(|t| t.is_finite())
        .fold(f64::INFINITY, f64::min);
    if !min.is_finite() {
        return Vec::new();
    }
    candidates
        .into_iter()
        .filter(|i| rows[*i].total == min)
        .collect()
}

/// The policy's total against `other`'s as HTML, as the terminal prints it: the policy's total
/// minus this one, "-12.30 (-8.1 %)", the percentage of this total in a `pct` span (or "too
/// small to compare" when both print as 0.00), and the cell's class ("better" when the policy
/// costs less, "worse" when more); "n/a" if not finite.
fn policy_vs(policy: f64, other: f64, places: usize) -> (String, &'static str) {
    let diff = policy - other;
    if !diff.is_finite() {
        return ("n/a".into(), "");
    }
    let mut s = fmt_signed_money(diff, places);
    let class = if s.bytes().all(|b| b == b'0' || b == b'.') {
        ""
    } else if diff < 0.0 {
        "better"
    } else {
        "worse"
    };
    match super::compare(policy, other) {
        Comparison::Percent(pct) => {
            let p = fmt_grouped(pct, 1);
            let p = if pct > 0.0 && p != "0.0" {
                format!("+{p}")
            } else {
                p
            };
            let _ = write!(s, " <span class=\"pct\">({p} %)</span>");
        }
        Comparison::TooSmall => {
            s.push_str(" <span class=\"pct\">(too small to compare)</span>");
        }
        Comparison::Undefined => {}
    }
    (s, class)
}

/// One or two sentences a newcomer reads first: what the policy costs against the others.
fn findings(out: &mut String, data: &ReportData) {
    let places = data.money_places();
    let Some(p) = policy_row(&data.summary) else {
        return;
    };
    let policy = &data.summary[p];
    let cur = esc(&data.currency);
    let mut lines = Vec::new();
    if policy.total.is_finite() {
        lines.push(format!(
            "<strong>{}</strong> costs <strong>{} {cur}</strong> over the period, with {} moves, {} recalls and {} ping-pongs.",
            esc(&policy.strategy),
            fmt_money(policy.total, places),
            fmt_grouped(policy.moves as f64, 0),
            fmt_grouped(policy.recalls as f64, 0),
            fmt_grouped(policy.ping_pongs as f64, 0)
        ));
    }
    let baselines: Vec<&SummaryRow> = data
        .summary
        .iter()
        .enumerate()
        .filter(|(i, r)| *i != p && r.strategy != ORACLE_STRATEGY && r.total.is_finite())
        .map(|(_, r)| r)
        .collect();
    if policy.total.is_finite() && !baselines.is_empty() {
        let best = baselines
            .iter()
            .copied()
            .fold(baselines[0], |a, b| if b.total < a.total { b } else { a });
        let diff = best.total - policy.total;
        let verdict = if diff > 0.0 {
            format!(
                "saves {} {cur} against the cheapest baseline",
                fmt_money(diff, places)
            )
        } else if diff < 0.0 {
            format!(
                "costs {} {cur} more than the cheapest baseline",
                fmt_money(-diff, places)
            )
        } else {
            "costs the same as the cheapest baseline".to_string()
        };
        lines.push(format!(
            "The policy {verdict}, <em>{}</em> ({} {cur}).",
            esc(&best.strategy),
            fmt_money(best.total, places)
        ));
    }
    if let Some(o) = data
        .summary
        .iter()
        .find(|r| r.strategy == ORACLE_STRATEGY && r.total.is_finite())
        && policy.total.is_finite()
    {
        lines.push(format!(
            "The offline oracle, which knows every future access, needs {} {cur}: the policy is {} {cur} above that lower bound.",
            fmt_money(o.total, places),
            fmt_money(policy.total - o.total, places)
        ));
    }
    if lines.is_empty() {
        return;
    }
    out.push_str("<section class=\"findings\" aria-label=\"Findings\">\n");
    for l in lines {
        let _ = writeln!(out, "<p>{l}</p>");
    }
    out.push_str("</section>\n");
}

fn summary(out: &mut String, data: &ReportData) {
    let places = data.money_places();
    out.push_str("<section id=\"summary\">\n<h2>Cost summary</h2>\n");
    if data.summary.is_empty() {
        out.push_str(
            "<p class=\"note\">No strategies to compare: no data in this period.</p>\n</section>\n",
        );
        return;
    }
    let cur = esc(&data.currency);
    let p = policy_row(&data.summary);
    let policy_total = p.map(|i| data.summary[i].total).unwrap_or(f64::NAN);
    let cheapest = cheapest_rows(&data.summary);
    let _ = writeln!(
        out,
        "<p class=\"hint\">Money in {cur} over the simulated period. The highlighted row is the policy; \
         <span class=\"badge\">cheapest</span> marks the lowest total among the strategies that could really run. \
         The offline oracle knows the future, so it is the lower bound, not a competitor. \
         “Policy vs this” is the policy's total minus this strategy's, and that difference as a percentage of \
         this strategy's total, as the terminal summary prints it: negative (green) means the policy costs less. \
         When both totals are under 0.0001 {cur} no percentage is given: they are too small to compare.</p>"
    );
    out.push_str("<div class=\"table-wrap\">\n<table class=\"summary\">\n<thead><tr><th scope=\"col\">Strategy</th>");
    for h in [
        "Storage",
        "Retrieval",
        "Egress",
        "Requests",
        "Early deletion",
        "Total",
        "Policy vs this",
    ] {
        let _ = write!(out, "<th scope=\"col\" class=\"num\">{h}</th>");
    }
    for h in [
        "Moves",
        "Recalls",
        "Ping-pongs",
        "Snapshots",
        "Freezes",
        "Alerts",
    ] {
        let _ = write!(out, "<th scope=\"col\" class=\"num\">{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, r) in data.summary.iter().enumerate() {
        let is_policy = Some(i) == p;
        let class = if is_policy {
            " class=\"policy\""
        } else if r.strategy == ORACLE_STRATEGY {
            " class=\"oracle\""
        } else {
            ""
        };
        let _ = write!(out, "<tr{class}><th scope=\"row\">{}", esc(&r.strategy));
        if is_policy {
            out.push_str("<span class=\"badge you\">policy</span>");
        }
        if r.strategy == ORACLE_STRATEGY {
            out.push_str("<span class=\"badge bound\">lower bound</span>");
        }
        out.push_str("</th>");
        // The oracle reports its total only: no breakdown, no counts.
        let oracle = r.strategy == ORACLE_STRATEGY;
        let untracked = "<td class=\"num\" title=\"the oracle reports its total only\">—</td>";
        for v in [
            r.storage,
            r.retrieval,
            r.egress,
            r.requests,
            r.early_deletion,
        ] {
            if oracle {
                out.push_str(untracked);
            } else {
                let _ = write!(out, "<td class=\"num\">{}</td>", fmt_money(v, places));
            }
        }
        if cheapest.contains(&i) {
            let _ = write!(
                out,
                "<td class=\"num total cheapest\">{}<span class=\"badge\">cheapest</span></td>",
                fmt_money(r.total, places)
            );
        } else {
            let _ = write!(
                out,
                "<td class=\"num total\">{}</td>",
                fmt_money(r.total, places)
            );
        }
        if is_policy {
            out.push_str("<td class=\"num\">—</td>");
        } else {
            let (s, class) = policy_vs(policy_total, r.total, places);
            let _ = write!(out, "<td class=\"num {class}\">{s}</td>");
        }
        for v in [
            r.moves,
            r.recalls,
            r.ping_pongs,
            r.snapshots,
            r.freezes,
            r.alerts,
        ] {
            if oracle {
                out.push_str(untracked);
            } else {
                let _ = write!(out, "<td class=\"num\">{}</td>", fmt_grouped(v as f64, 0));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// What was compared, and at what prices: the strategies in words, then the tiers' prices.
fn method(out: &mut String, data: &ReportData) {
    if data.about.is_empty() && data.prices.is_empty() {
        return;
    }
    out.push_str("<section id=\"method\">\n<h2>What is compared, at what prices</h2>\n");
    if !data.about.is_empty() {
        out.push_str("<dl class=\"about\">\n");
        for (k, v) in &data.about {
            let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
        }
        out.push_str("</dl>\n");
    }
    if !data.prices.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"hint\">Prices in {}, as configured: a GB is 10<sup>9</sup> bytes and a month 30 days.</p>",
            esc(&data.currency)
        );
        out.push_str("<div class=\"table-wrap\">\n<table class=\"prices\">\n<thead><tr><th scope=\"col\">Tier</th><th scope=\"col\">Role</th>");
        for h in [
            "Storage per GB-month",
            "Minimum storage (days)",
            "Retrieval per GB",
            "Egress per GB",
            "Per 1,000 requests",
        ] {
            let _ = write!(out, "<th scope=\"col\" class=\"num\">{h}</th>");
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for p in &data.prices {
            let _ = write!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td>",
                esc(&p.tier),
                esc(&p.role)
            );
            // Prices as written (0.023, 0.0125): fixed decimals would round them away.
            for v in [
                p.storage_gb_month,
                p.min_storage_days.into(),
                p.retrieval_gb,
                p.egress_gb,
                p.requests_per_1000,
            ] {
                let _ = write!(out, "<td class=\"num\">{}</td>", esc(&format!("{v}")));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n</div>\n");
    }
    out.push_str("</section>\n");
}

fn legend(out: &mut String, items: &[LegendItem]) {
    if items.is_empty() {
        return;
    }
    out.push_str("<ul class=\"legend\">");
    for item in items {
        let swatch = match &item.swatch {
            Swatch::Line {
                colour,
                dash,
                width,
            } => format!(
                "<span class=\"sw-line\" style=\"border-top: {}px {} {colour}\"></span>",
                (width.max(1.0)).round(),
                match dash.split(' ').next().and_then(|d| d.parse::<f64>().ok()) {
                    None => "solid",
                    Some(d) if d <= 2.0 => "dotted",
                    Some(_) => "dashed",
                }
            ),
            Swatch::Area { colour } => {
                format!("<span class=\"sw-area\" style=\"background: {colour}\"></span>")
            }
            Swatch::Glyph { glyph, colour } => {
                format!("<span class=\"sw-glyph\" style=\"color: {colour}\">{glyph}</span>")
            }
        };
        let _ = write!(out, "<li>{swatch}{}</li>", esc(&item.label));
    }
    out.push_str("</ul>\n");
}

fn figure(out: &mut String, id: &str, heading: &str, caption: &str, chart: &Chart) {
    figure_noted(out, id, heading, caption, chart, "");
}

/// A figure whose caption ends with `note` (after the count of left-out points, if any).
fn figure_noted(
    out: &mut String,
    id: &str,
    heading: &str,
    caption: &str,
    chart: &Chart,
    note: &str,
) {
    let _ = writeln!(
        out,
        "<section id=\"{id}\">\n<h2>{}</h2>\n<figure>",
        esc(heading)
    );
    out.push_str(&chart.svg);
    out.push('\n');
    legend(out, &chart.legend);
    let _ = write!(out, "<figcaption>{}", esc(caption));
    if chart.dropped > 0 {
        let _ = write!(
            out,
            " {} point{} left out: {}.",
            fmt_grouped(chart.dropped as f64, 0),
            if chart.dropped == 1 { "" } else { "s" },
            chart.dropped_why
        );
    }
    if !note.is_empty() {
        let _ = write!(out, " {}", esc(note));
    }
    out.push_str("</figcaption>\n</figure>\n</section>\n");
}

fn figures(out: &mut String, data: &ReportData) {
    figure(
        out,
        "cost",
        "Cumulative cost",
        "What each strategy has spent since the start of the period. The policy is the thick blue line. \
         The dotted black line is the offline oracle, the lowest cost possible with hindsight: only its total \
         is known, so it is drawn straight from 0 at the start to that total at the end, and early in the period \
         it may lie above strategies that end dearer. Lines that coincide are drawn over one another; \
         the legend gives every strategy's end value.",
        &charts::cost_chart(data),
    );
    figure(
        out,
        "bytes",
        "Bytes per tier",
        "Where the data sits under the policy; the stack's top is the total stored. Tiers are stacked hottest first.",
        &charts::bytes_chart(data),
    );
    let omitted = match data.markers_omitted {
        0 => String::new(),
        n => format!(
            "{} more protective decision{} not drawn (too many to draw; every one is in the decision log).",
            fmt_grouped(n as f64, 0),
            if n == 1 { "" } else { "s" }
        ),
    };
    figure_noted(
        out,
        "anomaly",
        "Anomaly timelines",
        "One row per subject, each on its own scale. Scores above the dashed threshold are marked in red; \
         shaded spans are incidents tierd had open, with their opening and closing marked at the top of the plot; \
         symbols above each row are tierd's protective decisions (hover for details). Markers of subjects \
         without a timeline are in the last row.",
        &charts::anomaly_chart(data),
        &omitted,
    );
    figure(
        out,
        "moves",
        "Moves per day",
        "Moves to colder tiers, recalls to hotter tiers and protective snapshots, per UTC day (hover a day for its counts).",
        &charts::moves_chart(data),
    );
}

fn costliest_moves(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"costliest-moves\">\n<h2>The policy's costliest moves</h2>\n");
    if data.costliest_moves.is_empty() {
        out.push_str(
            "<p class=\"note\">No move of the policy was read back or left its tier early.</p>\n</section>\n",
        );
        return;
    }
    let cur = esc(&data.currency);
    let _ = writeln!(
        out,
        "<p class=\"hint\">The moves whose object was read again from the tier they put it on (retrieval, egress and \
         the request of each read) or left it before its minimum storage duration (early deletion), costliest first, \
         money in {cur}. {}</p>",
        tables::explain_hint(data, "each was made")
    );
    out.push_str("<div class=\"table-wrap\">\n<table class=\"decisions\">\n<thead><tr>");
    for h in [
        "ID",
        "Moved at",
        "Object",
        "First read back after",
        "Reads",
        "Read-back cost",
        "Early deletion",
        "Cost",
    ] {
        let _ = write!(out, "<th scope=\"col\">{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for m in &data.costliest_moves {
        let _ = writeln!(
            out,
            "<tr><td class=\"id\">{}</td><td class=\"at\">{}</td><td class=\"scope\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&m.id),
            esc(&m.at),
            esc(&m.object),
            esc(&m.first_read_back),
            m.read_backs,
            fmt_grouped(m.read_back_cost, 4),
            fmt_grouped(m.early_deletion, 4),
            fmt_grouped(m.read_back_cost + m.early_deletion, 4)
        );
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

fn decisions(out: &mut String, data: &ReportData) {
    out.push_str("<section id=\"decisions\">\n<h2>Decisions</h2>\n");
    if data.decisions.is_empty() {
        out.push_str("<p class=\"note\">No decisions listed for this period.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        out,
        "<p class=\"hint\">{} decision{} worth a look, in the order tierd made them.</p>",
        fmt_grouped(data.decisions.len() as f64, 0),
        if data.decisions.len() == 1 { "" } else { "s" }
    );
    out.push_str("<div class=\"table-wrap\">\n<table class=\"decisions\">\n<thead><tr>");
    for h in ["ID", "Time", "Action", "Scope", "Rule", "Reason", "State"] {
        let _ = write!(out, "<th scope=\"col\">{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for d in &data.decisions {
        let _ = writeln!(
            out,
            "<tr><td class=\"id\">{}</td><td class=\"at\">{}</td><td>{}</td><td class=\"scope\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&d.id),
            esc(&d.at),
            esc(&d.action),
            esc(&d.scope),
            esc(&d.rule),
            esc(&d.reason),
            esc(&d.state)
        );
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(strategy: &str, total: f64) -> SummaryRow {
        SummaryRow {
            strategy: strategy.into(),
            total,
            ..SummaryRow::default()
        }
    }

    #[test]
    fn the_policy_row_is_found_by_name_or_is_the_first() {
        assert_eq!(
            policy_row(&[row("never move", 1.0), row(POLICY_STRATEGY, 2.0)]),
            Some(1)
        );
        assert_eq!(policy_row(&[row("a", 1.0), row("b", 2.0)]), Some(0));
        assert_eq!(policy_row(&[]), None);
    }

    #[test]
    fn cheapest_ignores_the_oracle_and_non_finite_totals() {
        let rows = [
            row(POLICY_STRATEGY, 10.0),
            row("never move", f64::NAN),
            row("idle", 10.0),
            row(ORACLE_STRATEGY, 1.0),
        ];
        assert_eq!(cheapest_rows(&rows), vec![0, 2]);
        assert_eq!(cheapest_rows(&[row(ORACLE_STRATEGY, 3.0)]), vec![0]);
        assert_eq!(
            cheapest_rows(&[row("a", f64::INFINITY)]),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn policy_vs_is_the_terminals_percentage_and_too_small_totals_get_none() {
        // (policy - other) / other, as the terminal prints "policy vs best baseline".
        assert_eq!(
            policy_vs(100.0, 110.0, 2),
            (
                "-10.00 <span class=\"pct\">(-9.1 %)</span>".to_string(),
                "better"
            )
        );
        assert_eq!(
            policy_vs(100.0, 80.0, 2),
            (
                "+20.00 <span class=\"pct\">(+25.0 %)</span>".to_string(),
                "worse"
            )
        );
        assert_eq!(policy_vs(5.0, 0.0, 2), ("+5.00".to_string(), "worse"));
        assert_eq!(
            policy_vs(0.5712, 0.7, 4).0,
            "-0.1288 <span class=\"pct\">(-18.4 %)</span>"
        );
        assert_eq!(policy_vs(100.0, f64::NAN, 2), ("n/a".to_string(), ""));
        assert_eq!(
            policy_vs(100.0, 100.0, 2),
            ("0.00 <span class=\"pct\">(0.0 %)</span>".to_string(), "")
        );
        // Totals that both print as 0.0000: no percentage of them.
        assert_eq!(
            policy_vs(0.000028, 0.000004, 4),
            (
                "0.0000 <span class=\"pct\">(too small to compare)</span>".to_string(),
                ""
            )
        );
    }
}
