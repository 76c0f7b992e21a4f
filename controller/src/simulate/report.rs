//! A simulation's findings as the HTML report's data ([`crate::report::ReportData`]).

use crate::report::{
    DayCount, DecisionRow, Marker, ORACLE_STRATEGY, ReportData, Series, SubjectTimeline, SummaryRow,
};

use super::SimReport;

/// How many anomaly timelines the report shows (the subjects that scored highest).
pub const TIMELINES: usize = 8;

/// Builds the report's data from a simulation (`context`: lines shown under the title).
pub fn report_data(r: &SimReport, tiers: &[String], context: Vec<(String, String)>) -> ReportData {
    let mut cost_series: Vec<Series> = r
        .summaries
        .iter()
        .enumerate()
        .map(|(i, s)| Series {
            name: s.strategy.clone(),
            points: r
                .days
                .iter()
                .map(|d| (d.day + 86_400, d.cost.get(i).copied().unwrap_or(0.0)))
                .collect(),
        })
        .collect();
    // The oracle's total is only known at the end: one point from the start to it.
    cost_series.push(Series {
        name: ORACLE_STRATEGY.to_string(),
        points: vec![(r.from, 0.0), (r.until, r.oracle_total)],
    });
    let bytes_per_tier = tiers
        .iter()
        .enumerate()
        .map(|(t, name)| Series {
            name: name.clone(),
            points: r
                .days
                .iter()
                .map(|d| {
                    (
                        d.day + 86_400,
                        d.bytes.get(t).copied().unwrap_or(0).max(0) as f64,
                    )
                })
                .collect(),
        })
        .collect();
    let mut anomaly: Vec<&super::AnomalySeries> = r.anomaly.iter().collect();
    let peak = |a: &super::AnomalySeries| a.2.iter().map(|p| p.1).fold(0.0, f64::max);
    anomaly.sort_by(|a, b| peak(b).total_cmp(&peak(a)).then(a.0.cmp(&b.0)));
    let anomaly = anomaly
        .into_iter()
        .take(TIMELINES)
        .map(|(subject, threshold, points)| SubjectTimeline {
            subject: subject.clone(),
            threshold: *threshold,
            points: points.clone(),
        })
        .collect();
    let mut summary: Vec<SummaryRow> = r
        .summaries
        .iter()
        .map(|s| SummaryRow {
            strategy: s.strategy.clone(),
            storage: s.ledger.charges.storage,
            retrieval: s.ledger.charges.retrieval,
            egress: s.ledger.charges.egress,
            requests: s.ledger.charges.requests,
            early_deletion: s.ledger.charges.early_deletion,
            total: s.total,
            moves: s.ledger.moves,
            recalls: s.ledger.recalls,
            ping_pongs: s.ledger.ping_pongs,
            snapshots: s.ledger.snapshots,
            freezes: s.ledger.freezes,
            alerts: s.ledger.alerts,
        })
        .collect();
    summary.push(SummaryRow {
        strategy: ORACLE_STRATEGY.to_string(),
        total: r.oracle_total,
        ..SummaryRow::default()
    });
    ReportData {
        title: "tierd simulate".to_string(),
        context,
        from: r.from,
        until: r.until,
        currency: r.currency.clone(),
        tiers: tiers.to_vec(),
        cost_series,
        bytes_per_tier,
        anomaly,
        markers: r
            .markers
            .iter()
            .map(|m| Marker {
                at: m.at,
                subject: m.subject.clone(),
                kind: m.kind.clone(),
                label: m.label.clone(),
            })
            .collect(),
        markers_omitted: r.markers_omitted,
        moves_per_day: r
            .days
            .iter()
            .map(|d| DayCount {
                day: d.day,
                moves_out: d.moves_out,
                recalls: d.recalls,
                snapshots: d.snapshots,
            })
            .collect(),
        summary,
        decisions: r
            .sample
            .iter()
            .map(|d| DecisionRow {
                id: d.id.clone(),
                at: d.at.clone(),
                action: d.action.as_str().to_string(),
                scope: match (&d.bucket, &d.key, &d.prefix) {
                    (Some(b), Some(k), _) => format!("{b}/{k}"),
                    (Some(b), None, Some(p)) if !p.is_empty() => format!("{b}/{p}*"),
                    (Some(b), _, _) => format!("bucket {b}"),
                    _ => String::new(),
                },
                rule: d.rule.clone().unwrap_or_default(),
                reason: d.reason.clone(),
                state: d.state.as_str().to_string(),
            })
            .collect(),
        about: Vec::new(),
        prices: Vec::new(),
    }
}
