//! The self-contained HTML report of `tierd simulate --report report.html`.
//!
//! `simulate` fills a [`ReportData`]; [`render`] turns it into one HTML5 document with inline CSS
//! and inline SVG charts, no scripts and no external resources, so the file can be mailed,
//! archived or printed as it is.
//!
//! # Layout
//! - this module: the data the report shows and [`render`].
//! - `html`: the document: header, findings, summary table, figures, decisions table, CSS.
//! - `tables`: what became of the moves, the moves held back per rule, the incidents.
//! - `why`: a section per object `--why` named.
//! - `charts`: the four charts (cumulative cost, bytes per tier, anomaly timelines, moves per day).
//! - `svg`: chart primitives: escaping, number/byte/date formatting, scales, ticks, axes.
//!
//! # Example
//! ```
//! use tierd::report::{render, ReportData, Series};
//!
//! let data = ReportData {
//!     title: "Simulation of March".into(),
//!     from: 1_740_787_200,
//!     until: 1_740_787_200 + 30 * 86_400,
//!     currency: "USD".into(),
//!     cost_series: vec![Series {
//!         name: "tierd policy".into(),
//!         points: vec![(1_740_787_200, 0.0), (1_740_787_200 + 30 * 86_400, 42.5)],
//!     }],
//!     ..ReportData::default()
//! };
//! let html = render(&data);
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert_eq!(html, render(&data));
//! ```

mod charts;
mod html;
mod svg;
mod tables;
mod why;

pub use tables::{HeldRow, IncidentRow, MAX_HELD_ROWS, MAX_INCIDENT_ROWS, MoveOutcomes};
pub use why::{
    ConditionLine, MAX_WHY_ROWS, WhyCost, WhyDecision, WhyHeld, WhyLastPass, WhyObject, WhyStretch,
};

use serde::{Deserialize, Serialize};

/// The strategy name of the row and the series that show tierd's own policy; highlighted in the
/// summary table, drawn on top and thicker in the cost chart. Without a row of that name the
/// first summary row is taken as the policy.
pub const POLICY_STRATEGY: &str = "tierd policy";

/// The strategy name of the offline oracle: it knows the future, so it is the lower bound of
/// the cost, not a competitor. It is drawn dashed and is not marked "cheapest".
pub const ORACLE_STRATEGY: &str = "offline oracle";

/// Everything the report shows. `simulate` fills it; [`render`] draws it.
///
/// Times are unix seconds UTC. Nothing needs to be sorted or cleaned beforehand: points are
/// sorted by time for drawing, and non-finite values are left out (and counted under the chart).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// The page's title and first heading.
    pub title: String,
    /// Lines shown under the title: config path, log sources, event count, time range, policy files.
    pub context: Vec<(String, String)>,
    /// Simulated period, unix seconds UTC.
    pub from: i64,
    /// End of the simulated period, unix seconds UTC.
    pub until: i64,
    /// The currency of every money value, e.g. "USD"; shown in column heads and axis titles.
    pub currency: String,
    /// The tiers, hottest first; the order of the bytes-per-tier stack when it names them.
    pub tiers: Vec<String>,
    /// Cumulative cost over time, one series per strategy: "tierd policy", "never move",
    /// "move after 30 d idle", "move after 30 d idle + recall on access", "offline oracle".
    pub cost_series: Vec<Series>,
    /// Bytes stored per tier over time under the policy (one series per tier, same x points).
    pub bytes_per_tier: Vec<Series>,
    /// Anomaly score per subject over time (only the subjects worth showing: the top N).
    pub anomaly: Vec<SubjectTimeline>,
    /// Incidents tierd opened/closed and protective decisions (snapshot, freeze, alert), drawn as
    /// markers on the anomaly timelines.
    pub markers: Vec<Marker>,
    /// Protective decisions not drawn as markers because there were too many to draw (the
    /// caption says how many); they are all in the decision log.
    #[serde(default)]
    pub markers_omitted: u64,
    /// Per UTC day: moves out (to colder tiers), recalls, snapshots.
    pub moves_per_day: Vec<DayCount>,
    /// The cost summary table: one row per strategy.
    pub summary: Vec<SummaryRow>,
    /// Decisions worth listing (at most a few hundred): shown as a table.
    pub decisions: Vec<DecisionRow>,
    /// What each strategy does, in words: `(strategy or term, what it means)`, shown under the
    /// cost summary so that the page says what was compared.
    #[serde(default)]
    pub about: Vec<(String, String)>,
    /// The prices every cost was computed with, one row per tier (hottest first).
    #[serde(default)]
    pub prices: Vec<PriceRow>,
    /// The policy's moves whose later read-backs and early deletions cost most, costliest
    /// first (the table "The policy's costliest moves").
    #[serde(default)]
    pub costliest_moves: Vec<MoveOutcomeRow>,
    /// What became of the policy's moves (the section "What became of the policy's moves");
    /// `None`: not shown.
    #[serde(default)]
    pub outcomes: Option<MoveOutcomes>,
    /// The moves held back, counted per pass, by guardrail: `("minimum residency", 1900)`, in
    /// the terminal summary's order.
    #[serde(default)]
    pub held_per_pass: Vec<(String, u64)>,
    /// The same per move rule and guardrail.
    #[serde(default)]
    pub held_by_rule: Vec<HeldRow>,
    /// Every incident opened, in order (the page lists the first [`MAX_INCIDENT_ROWS`]).
    #[serde(default)]
    pub incidents: Vec<IncidentRow>,
    /// The objects `--why` named, in its order; empty without `--why`.
    #[serde(default)]
    pub why: Vec<WhyObject>,
}

/// One move of the policy and what it cost after it was made, in [`ReportData::currency`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MoveOutcomeRow {
    /// The decision's id.
    pub id: String,
    /// When it was decided, as text (RFC 3339 UTC).
    pub at: String,
    /// The object: `bucket/key`.
    pub object: String,
    /// How long after the move it was first read back, as text (`7.1d`), or empty.
    pub first_read_back: String,
    /// Client reads served from where the move put it.
    pub read_backs: u64,
    /// What those reads cost (retrieval, egress, requests).
    pub read_back_cost: f64,
    /// Early deletion charged when it left that tier before its minimum storage duration.
    pub early_deletion: f64,
}

impl ReportData {
    /// The decimal places the page shows money with: [`money_places`] of its largest total.
    pub fn money_places(&self) -> usize {
        money_places(
            self.summary
                .iter()
                .map(|r| r.total.abs())
                .fold(0.0, f64::max),
        )
    }
}

/// What one tier costs, in [`ReportData::currency`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceRow {
    /// The tier's name.
    pub tier: String,
    /// What the tier is to the strategies: "hot tier", "cheapest data tier", "vault", ...
    pub role: String,
    /// Storage per GB (10^9 bytes) per month (30 days).
    pub storage_gb_month: f64,
    /// The minimum storage duration the tier charges for, in days.
    pub min_storage_days: u32,
    /// Retrieval per GB read.
    pub retrieval_gb: f64,
    /// Egress per GB leaving the tier.
    pub egress_gb: f64,
    /// Per 1,000 requests.
    pub requests_per_1000: f64,
}

/// The policy's total against another strategy's, as the terminal summary and the report both
/// print it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Comparison {
    /// `(policy - other) / other` in percent: negative when the policy costs less.
    Percent(f64),
    /// Both totals print as 0.0000 (under 0.00005): a percentage of such fractions would
    /// mislead (the embedded demo's +257%).
    TooSmall,
    /// No percentage exists: the other total is zero, or a total is not a finite number.
    Undefined,
}

/// The decimal places money is shown with: four below 100 (a month of a small bucket costs
/// cents, and two decimals would hide what a policy changes), two from 100 on.
pub fn money_places(v: f64) -> usize {
    if v.abs() >= 100.0 { 2 } else { 4 }
}

/// Totals under this print as zero with [`money_places`]' four decimals.
pub const TOO_SMALL_TO_COMPARE: f64 = 0.000_05;

/// Compares the policy's total with `other`'s: see [`Comparison`].
pub fn compare(policy: f64, other: f64) -> Comparison {
    if !(policy.is_finite() && other.is_finite()) {
        Comparison::Undefined
    } else if policy.abs() < TOO_SMALL_TO_COMPARE && other.abs() < TOO_SMALL_TO_COMPARE {
        Comparison::TooSmall
    } else if other.abs() < 1e-12 {
        Comparison::Undefined
    } else {
        Comparison::Percent((policy - other) / other * 100.0)
    }
}

/// A named line of `(unix seconds, value)` points.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The legend entry: a strategy name or a tier name.
    pub name: String,
    /// `(unix seconds, value)`; any order, non-finite values are left out.
    pub points: Vec<(i64, f64)>,
}

/// The anomaly score of one subject (a bucket, a prefix, a principal) over time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubjectTimeline {
    /// What was scored; markers with the same `subject` are drawn on this row.
    pub subject: String,
    /// The score above which tierd treats the subject as anomalous; drawn dashed.
    pub threshold: f64,
    /// `(unix seconds, score)`; any order, non-finite scores are left out.
    pub points: Vec<(i64, f64)>,
    /// `(from, threshold)` where the threshold changed (a retrained model), in time order; empty:
    /// `threshold` throughout. Drawn as steps.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thresholds: Vec<(i64, f64)>,
}

/// A point event on an anomaly timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// When it happened, unix seconds UTC.
    pub at: i64,
    /// The subject's row it belongs to; a subject without a timeline goes to an "other
    /// subjects" row so that no protective decision is hidden.
    pub subject: String,
    /// "incident-open", "incident-close", "snapshot", "freeze", "unfreeze" or "alert"; other
    /// kinds are drawn as a grey dot. An open and the next close of one subject shade the span.
    pub kind: String,
    /// The tooltip text, e.g. the incident id and the rule.
    pub label: String,
}

/// Counts for one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayCount {
    /// Unix seconds of 00:00 UTC of the day.
    pub day: i64,
    /// Moves to colder tiers.
    pub moves_out: u64,
    /// Recalls to hotter tiers.
    pub recalls: u64,
    /// Protective snapshots taken.
    pub snapshots: u64,
}

/// One strategy's totals over the simulated period; money in [`ReportData::currency`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// The strategy's name, as in the cost series.
    pub strategy: String,
    /// Storage cost.
    pub storage: f64,
    /// Retrieval cost (reading from cold tiers).
    pub retrieval: f64,
    /// Network egress cost.
    pub egress: f64,
    /// Request cost.
    pub requests: f64,
    /// Early-deletion cost (objects leaving a tier before its minimum storage days).
    pub early_deletion: f64,
    /// Total cost.
    pub total: f64,
    /// Moves to colder tiers.
    pub moves: u64,
    /// Recalls to hotter tiers.
    pub recalls: u64,
    /// Objects moved out and back (or back and out) within a short time.
    pub ping_pongs: u64,
    /// Protective snapshots.
    pub snapshots: u64,
    /// Freezes (moves suspended for a subject).
    pub freezes: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Client reads served from a tier other than the hot one, their bytes and their cost
    /// (retrieval, egress, requests; in the columns above).
    #[serde(default)]
    pub read_backs: u64,
    #[serde(default)]
    pub read_back_bytes: u64,
    #[serde(default)]
    pub read_back_cost: f64,
}

/// One decision, as the decision record shows it, flattened to text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    /// The decision's id.
    pub id: String,
    /// When, as text (RFC 3339 UTC).
    pub at: String,
    /// What: move, recall, snapshot, freeze, alert, ...
    pub action: String,
    /// On what: a key, a prefix or a bucket.
    pub scope: String,
    /// The policy rule that fired.
    pub rule: String,
    /// Why, in words.
    pub reason: String,
    /// The decision's state (dry-run, done, failed, ...).
    pub state: String,
}

/// Renders `data` as one self-contained HTML5 document.
///
/// # Guarantees
/// - Never panics: empty series, single points, NaN or infinite values, huge numbers and
///   out-of-calendar times all render; a chart without data says "no data in this period".
/// - Deterministic: the same data gives byte-identical output (no clock, no randomness, no
///   locale; numbers are formatted with fixed decimals).
/// - Every text from `data` is escaped; the document uses no scripts and no external resources,
///   and its inline SVG is well-formed XML.
pub fn render(data: &ReportData) -> String {
    html::document(data)
}

#[cfg(test)]
mod tests;
