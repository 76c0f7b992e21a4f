//! A simulation's findings as the HTML report's data ([`crate::report::ReportData`]).

use crate::config::{Config, Role};
use crate::cost::CostModel;
use crate::report::{
    DayCount, DecisionRow, Marker, ORACLE_STRATEGY, POLICY_STRATEGY, PriceRow, ReportData, Series,
    SubjectTimeline, SummaryRow,
};

use super::SimReport;

/// How many anomaly timelines the report shows (the subjects that scored highest).
pub const TIMELINES: usize = 8;

/// Builds the report's data from a simulation of `config` (`context`: lines shown under the
/// title).
pub fn report_data(r: &SimReport, config: &Config, context: Vec<(String, String)>) -> ReportData {
    let tiers: Vec<String> = config.tiers.iter().map(|t| t.name.clone()).collect();
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
        .map(|(subject, threshold, points, thresholds)| SubjectTimeline {
            subject: subject.clone(),
            threshold: *threshold,
            points: points.clone(),
            thresholds: thresholds.clone(),
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
            read_backs: s.ledger.read_backs,
            read_back_bytes: s.ledger.read_back_bytes,
            read_back_cost: s.ledger.read_back_cost,
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
        tiers,
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
        about: about(config),
        prices: prices(config),
        costliest_moves: super::outcomes::report_rows(&r.costliest_moves),
        outcomes: Some(super::outcomes::report_outcomes(&r.outcomes)),
        held_per_pass: super::outcomes::per_pass(&r.deferred)
            .iter()
            .map(|(g, n)| ((*g).to_string(), *n))
            .collect(),
        held_by_rule: super::outcomes::report_held(&r.held_by_rule),
        incidents: super::incidents::report_rows(&r.incidents),
        why: Vec::new(),
    }
}

/// What each strategy does and what the counts mean, in words (docs/simulate.md, "The
/// baselines", says the same).
fn about(config: &Config) -> Vec<(String, String)> {
    let cost = CostModel::from_config(config);
    let hot = format!("the hot tier ({})", cost.tiers[cost.hot]);
    let cheapest = format!("the cheapest data tier ({})", cost.tiers[cost.cheapest]);
    let mut about = vec![(
        POLICY_STRATEGY.to_string(),
        "The policy's rules under the planner's guardrails (budgets, minimum residency, cooldowns, \
         blackouts, freezes, pins), decided and applied as tierd run would, in a dry run."
            .to_string(),
    )];
    for b in super::baseline_rules(&config.simulate.baseline_idle_days) {
        let what = match (b.idle_days, b.recall) {
            (None, _) => format!("Every object stays on {hot}."),
            (Some(n), false) => format!(
                "At every planning pass, an object on {hot} whose last read or write is more than \
                 {n} days old moves to {cheapest}. Reads are served from wherever the object is."
            ),
            (Some(n), true) => format!(
                "The same as \"move after {n} d idle\", and a read of an object on another tier \
                 moves it back to {hot}, after the read is served from where it was."
            ),
        };
        about.push((b.name, what));
    }
    about.extend([
        (
            "every baseline".to_string(),
            "Sees the same client reads and writes as the policy and pays the same prices; \
             ignores guardrails, freezes and snapshots."
                .to_string(),
        ),
        (
            ORACLE_STRATEGY.to_string(),
            format!(
                "A lower bound, not a strategy that can run: it knows every future access and keeps \
                 each object on {hot} or on {cheapest}, moving it at the best times. It ignores \
                 guardrails, budgets and snapshots."
            ),
        ),
        (
            "moves, recalls".to_string(),
            "A move goes to a tier whose storage price is not higher, other than the hot tier; \
             a recall is every other move (back to the hot tier, or to a dearer tier)."
                .to_string(),
        ),
        (
            "ping-pong".to_string(),
            "A move off a tier before its minimum storage days were over: the rest of the \
             minimum is charged as early deletion."
                .to_string(),
        ),
    ]);
    if cost.roles.contains(&Role::Vault) {
        about.push((
            "protection".to_string(),
            "The snapshots' vault copies, priced apart from the totals at the vault tier's \
             prices: its storage for the bytes kept, from each snapshot to the end, and a write \
             request per object copied. The baselines protect nothing, so placement is compared \
             on placement alone."
                .to_string(),
        ));
    }
    about
}

/// Every tier's prices, in configuration order, with what the tier is to the strategies.
fn prices(config: &Config) -> Vec<PriceRow> {
    let cost = CostModel::from_config(config);
    config
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let p = &cost.prices[i];
            let mut roles = Vec::new();
            if cost.roles[i] == Role::Vault {
                roles.push("vault (snapshots)");
            } else {
                if i == cost.hot {
                    roles.push("hot tier (clients write here)");
                }
                if i == cost.cheapest {
                    roles.push("cheapest data tier (baselines move here)");
                }
                if roles.is_empty() {
                    roles.push("data tier");
                }
            }
            PriceRow {
                tier: t.name.clone(),
                role: roles.join("; "),
                storage_gb_month: p.storage_gb_month,
                min_storage_days: t.min_storage_days,
                retrieval_gb: p.retrieval_gb,
                egress_gb: p.egress_gb,
                requests_per_1000: p.requests_per_1000,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_what_each_baseline_does_and_every_tiers_prices() {
        let mut config = Config::embedded();
        config.simulate.baseline_idle_days = vec![7, 30];
        let about = about(&config);
        let terms: Vec<&str> = about.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            terms,
            [
                "tierd policy",
                "never move",
                "move after 7 d idle",
                "move after 7 d idle + recall on access",
                "move after 30 d idle",
                "move after 30 d idle + recall on access",
                "every baseline",
                "offline oracle",
                "moves, recalls",
                "ping-pong",
                "protection",
            ]
        );
        let said = |term: &str| &about.iter().find(|(k, _)| k == term).unwrap().1;
        assert_eq!(
            said("never move"),
            "Every object stays on the hot tier (onprem)."
        );
        assert!(
            said("move after 30 d idle")
                .contains("more than 30 days old moves to the cheapest data tier (cloud)"),
            "{}",
            said("move after 30 d idle")
        );
        assert!(
            said("move after 7 d idle + recall on access")
                .contains("moves it back to the hot tier (onprem), after the read is served")
        );
        assert!(said("every baseline").contains("ignores guardrails, freezes and snapshots"));

        let prices = prices(&config);
        let rows: Vec<(&str, &str, f64, u32)> = prices
            .iter()
            .map(|p| {
                (
                    p.tier.as_str(),
                    p.role.as_str(),
                    p.storage_gb_month,
                    p.min_storage_days,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("onprem", "hot tier (clients write here)", 0.02, 0),
                (
                    "cloud",
                    "cheapest data tier (baselines move here)",
                    0.004,
                    90
                ),
                ("vault", "vault (snapshots)", 0.004, 0),
            ]
        );
        assert_eq!(
            (
                prices[1].retrieval_gb,
                prices[1].egress_gb,
                prices[1].requests_per_1000
            ),
            (0.03, 0.09, 0.02)
        );
    }
}
