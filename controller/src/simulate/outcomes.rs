//! What became of the policy's moves in a replay: every read-back (a client read served from a
//! tier other than the hot one) and every early-deletion charge of the policy's ledger, put to
//! the decision that last moved the object there; and the moves guardrails held back, per rule.
//!
//! # Memory
//! A `u32` per object (the move that put it where it is) and one small record per move decision
//! (its id kept in one shared string): a replay of millions of events with a few thousand moves
//! adds a few MB.
//!
//! # Guarantees
//! The read-back costs put to moves, plus those of objects no move had put where they were
//! (listed there by an inventory), add up to the policy's read-back cost
//! ([`crate::cost::Ledger::read_back_cost`]): each is the same charge, added once to each side.

use std::io::Write;

use serde::Serialize;

use crate::planner::{Deferred, HoldsByRule, Planner};
use policies::PolicySet;

/// The policy's moves, and what became of them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutcomeTotals {
    /// Move decisions applied (recalls included).
    pub moves: u64,
    /// Moves whose object was read back from where they put it, and those reads.
    pub read_back_moves: u64,
    pub read_backs: u64,
    pub read_back_bytes: u64,
    /// Retrieval, egress and requests of those reads, as the policy's ledger charged them.
    pub read_back_cost: f64,
    /// Moves whose object was deleted or overwritten while on the colder tier they put it on.
    pub deleted_or_overwritten: u64,
    /// Early-deletion charges of the objects the moves put on a tier (deleted, overwritten or
    /// moved off again before the tier's minimum storage duration).
    pub early_deletion: f64,
    /// Read-backs of objects no move had put where they were (an inventory listed them on a
    /// colder tier): in the policy's read-back cost, put to no move.
    pub unattributed_read_backs: u64,
    pub unattributed_read_back_bytes: u64,
    pub unattributed_read_back_cost: f64,
    /// Where `--out` wrote the decisions (`-` for stdout), for the hint to explain one.
    #[serde(skip)]
    pub decision_log: Option<String>,
}

/// One move and what it cost after it was made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostlyMove {
    /// The decision's id (`tierd explain ID --log FILE`).
    pub id: String,
    pub bucket: String,
    pub key: String,
    /// When it was decided (RFC 3339).
    pub at: String,
    /// Seconds from the move to the first read-back; `None` when never read back.
    pub first_read_back_after_secs: Option<i64>,
    pub read_backs: u64,
    pub read_back_bytes: u64,
    pub read_back_cost: f64,
    pub early_deletion: f64,
    /// `read_back_cost + early_deletion`.
    pub cost: f64,
}

/// The holds of one move rule by one guardrail over the replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldByRule {
    pub rule: String,
    /// As the summary names it: `minimum residency`, `budget (objects per hour)`.
    pub guardrail: String,
    /// Moves held, one per object and pass (the summary's per-pass counts, by rule).
    pub passes: u64,
    /// Objects held (once per wait, however many passes it lasted).
    pub objects: u64,
}

/// How many of the costliest moves `--json` and the report list.
pub const COSTLIEST: usize = 20;
/// How many of them the terminal lists.
const COSTLIEST_SHOWN: usize = 5;

/// One move decision's outcome so far.
#[derive(Debug, Clone)]
struct Moved {
    /// Its id: `ids[id_start..id_end]`.
    id_start: u32,
    id_end: u32,
    row: u32,
    at: i64,
    /// The first read-back's time; `i64::MIN` before any.
    first_read: i64,
    reads: u32,
    bytes: u64,
    read_cost: f64,
    early: f64,
    ended: bool,
}

/// The attribution of the policy's read-backs and early deletions to its moves.
#[derive(Debug, Default)]
pub struct Outcomes {
    /// Per row of the planner's table: 1 + the index in `moves` of the decision that last moved
    /// the object, 0 when none did (or it was written or deleted since).
    by_row: Vec<u32>,
    moves: Vec<Moved>,
    /// Every moved decision's id, end to end.
    ids: String,
    totals: OutcomeTotals,
}

impl Outcomes {
    fn current(&mut self, row: usize) -> Option<&mut Moved> {
        let i = *self.by_row.get(row)?;
        (i > 0).then(|| &mut self.moves[i as usize - 1])
    }

    /// Decision `id` at `at` moved `row`; `early`: the early deletion its leaving the previous
    /// tier was charged (put to the move that had put it there).
    pub fn moved(&mut self, row: usize, id: &str, at: i64, early: f64) {
        self.early_deletion(row, early);
        let id_start = self.ids.len() as u32;
        self.ids.push_str(id);
        self.moves.push(Moved {
            id_start,
            id_end: self.ids.len() as u32,
            row: row as u32,
            at,
            first_read: i64::MIN,
            reads: 0,
            bytes: 0,
            read_cost: 0.0,
            early: 0.0,
            ended: false,
        });
        if self.by_row.len() <= row {
            self.by_row.resize(row + 1, 0);
        }
        self.by_row[row] = self.moves.len() as u32;
        self.totals.moves += 1;
    }

    /// A client read of `row` at `t` served from a colder tier: `bytes`, charged `cost`.
    pub fn read_back(&mut self, row: usize, t: i64, bytes: u64, cost: f64) {
        match self.current(row) {
            Some(m) => {
                if m.reads == 0 {
                    m.first_read = t;
                }
                m.reads = m.reads.saturating_add(1);
                m.bytes = m.bytes.saturating_add(bytes);
                m.read_cost += cost;
            }
            None => {
                let u = &mut self.totals;
                u.unattributed_read_backs += 1;
                u.unattributed_read_back_bytes =
                    u.unattributed_read_back_bytes.saturating_add(bytes);
                u.unattributed_read_back_cost += cost;
            }
        }
    }

    /// An early-deletion charge of `row` (put to the move that put it where it was, if any).
    fn early_deletion(&mut self, row: usize, charge: f64) {
        if charge > 0.0
            && let Some(m) = self.current(row)
        {
            m.early += charge;
        }
    }

    /// `row` was written (a new version on the hot tier) or deleted, charged `early`;
    /// `colder`: it was on a tier other than the hot one.
    pub fn ended(&mut self, row: usize, colder: bool, early: f64) {
        self.early_deletion(row, early);
        if let Some(m) = self.current(row) {
            m.ended |= colder;
        }
        if let Some(i) = self.by_row.get_mut(row) {
            *i = 0;
        }
    }

    /// The totals, and the costliest moves (up to [`COSTLIEST`]: cost, highest first, then id).
    pub fn finish(self, planner: &Planner) -> (OutcomeTotals, Vec<CostlyMove>) {
        let mut totals = self.totals;
        let mut costly: Vec<&Moved> = Vec::new();
        for m in &self.moves {
            if m.reads > 0 {
                totals.read_back_moves += 1;
                totals.read_backs += u64::from(m.reads);
                totals.read_back_bytes = totals.read_back_bytes.saturating_add(m.bytes);
                totals.read_back_cost += m.read_cost;
            }
            totals.deleted_or_overwritten += u64::from(m.ended);
            totals.early_deletion += m.early;
            if m.read_cost + m.early > 0.0 {
                costly.push(m);
            }
        }
        let id = |m: &Moved| &self.ids[m.id_start as usize..m.id_end as usize];
        costly.sort_by(|a, b| {
            (b.read_cost + b.early)
                .total_cmp(&(a.read_cost + a.early))
                .then_with(|| id(a).cmp(id(b)))
        });
        let rows = costly
            .into_iter()
            .take(COSTLIEST)
            .map(|m| CostlyMove {
                id: id(m).to_string(),
                bucket: planner.objects.bucket_of(m.row as usize).to_string(),
                key: planner.objects.key_of(m.row as usize).to_string(),
                at: policies::facts::format_utc(m.at),
                first_read_back_after_secs: (m.reads > 0).then(|| m.first_read - m.at),
                read_backs: u64::from(m.reads),
                read_back_bytes: m.bytes,
                read_back_cost: m.read_cost,
                early_deletion: m.early,
                cost: m.read_cost + m.early,
            })
            .collect();
        (totals, rows)
    }
}

/// The costliest moves as the report's table rows.
pub fn report_rows(costly: &[CostlyMove]) -> Vec<crate::report::MoveOutcomeRow> {
    costly
        .iter()
        .map(|m| crate::report::MoveOutcomeRow {
            id: m.id.clone(),
            at: m.at.clone(),
            object: format!("{}/{}", m.bucket, m.key),
            first_read_back: m
                .first_read_back_after_secs
                .map_or_else(String::new, duration_text),
            read_backs: m.read_backs,
            read_back_cost: m.read_back_cost,
            early_deletion: m.early_deletion,
        })
        .collect()
}

/// The totals as the report's section "What became of the policy's moves" shows them.
pub fn report_outcomes(t: &OutcomeTotals) -> crate::report::MoveOutcomes {
    crate::report::MoveOutcomes {
        moves: t.moves,
        read_back_moves: t.read_back_moves,
        read_backs: t.read_backs,
        read_back_bytes: t.read_back_bytes,
        read_back_cost: t.read_back_cost,
        deleted_or_overwritten: t.deleted_or_overwritten,
        early_deletion: t.early_deletion,
        unattributed_read_backs: t.unattributed_read_backs,
        unattributed_read_back_bytes: t.unattributed_read_back_bytes,
        unattributed_read_back_cost: t.unattributed_read_back_cost,
        decision_log: t.decision_log.clone(),
    }
}

/// The holds per rule as the report's table rows.
pub fn report_held(held: &[HeldByRule]) -> Vec<crate::report::HeldRow> {
    held.iter()
        .map(|h| crate::report::HeldRow {
            rule: h.rule.clone(),
            guardrail: h.guardrail.clone(),
            passes: h.passes,
            objects: h.objects,
        })
        .collect()
}

/// The moves held back per pass, by guardrail, named and ordered as the summary's line
/// "moves held back by guardrails (per pass)" and the report say them.
pub fn per_pass(d: &Deferred) -> [(&'static str, u64); 6] {
    [
        ("frozen", d.frozen),
        ("minimum residency", d.residency),
        ("cooldown", d.cooldown),
        ("blackout", d.blackout),
        ("budget", d.budget),
        ("per-pass limit", d.cycle_limit),
    ]
}

/// Seconds as explanations write durations: `7.1d`, `5h`.
fn duration_text(secs: i64) -> String {
    policies::eval::format_value(policies::signals::Kind::Duration, secs as f64)
}

/// Adds a pass's holds per rule to the replay's.
pub fn add_holds(total: &mut HoldsByRule, pass: &HoldsByRule) {
    for (k, h) in pass {
        let t = total.entry(*k).or_default();
        t.passes += h.passes;
        t.objects += h.objects;
    }
}

/// The holds per rule, rules named, in the policy's rule order, then the guardrails' order.
pub fn held_by_rule(holds: &HoldsByRule, policy: &PolicySet) -> Vec<HeldByRule> {
    holds
        .iter()
        .map(|((rule, g), h)| HeldByRule {
            rule: policy
                .rules
                .get(*rule as usize)
                .map_or_else(|| format!("rule {rule}"), |r| r.id.clone()),
            guardrail: g.name().to_string(),
            passes: h.passes,
            objects: h.objects,
        })
        .collect()
}

/// The summary's lines under "moves held back by guardrails": per rule, only rules with holds.
///
/// # Errors
/// Output errors.
pub fn print_held(held: &[HeldByRule], out: &mut dyn Write) -> std::io::Result<()> {
    let mut rules: Vec<&str> = held.iter().map(|h| h.rule.as_str()).collect();
    rules.dedup();
    for rule in rules {
        let by: Vec<String> = held
            .iter()
            .filter(|h| h.rule == rule)
            .map(|h| {
                format!(
                    "{} {} pass{} ({} object{})",
                    h.guardrail,
                    h.passes,
                    if h.passes == 1 { "" } else { "es" },
                    h.objects,
                    if h.objects == 1 { "" } else { "s" }
                )
            })
            .collect();
        writeln!(out, "  {rule}: {}", by.join(", "))?;
    }
    Ok(())
}

/// The summary's lines after the read-backs: what became of the policy's moves, and the
/// costliest of them; totals to `places` decimals, as the summary's other money.
///
/// # Errors
/// Output errors.
pub fn print(r: &super::SimReport, places: usize, out: &mut dyn Write) -> std::io::Result<()> {
    let (t, costly, currency) = (&r.outcomes, &r.costliest_moves, &r.currency);
    writeln!(
        out,
        "the policy's moves: {}; read back later: {} moves ({} reads, {:.3} GB, cost {:.places$} {currency}); deleted or overwritten on the colder tier: {} (early deletion {:.places$} {currency})",
        t.moves,
        t.read_back_moves,
        t.read_backs,
        t.read_back_bytes as f64 / 1e9,
        t.read_back_cost,
        t.deleted_or_overwritten,
        t.early_deletion
    )?;
    if t.unattributed_read_backs > 0 {
        writeln!(
            out,
            "  and {} reads ({:.3} GB, cost {:.places$} {currency}) of objects listed on a colder tier that no move had put there",
            t.unattributed_read_backs,
            t.unattributed_read_back_bytes as f64 / 1e9,
            t.unattributed_read_back_cost
        )?;
    }
    if costly.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "the costliest moves (read-backs and early deletion, {currency}):"
    )?;
    for m in costly.iter().take(COSTLIEST_SHOWN) {
        let first = m.first_read_back_after_secs.map_or_else(
            || "never read back".to_string(),
            |s| format!("first read back after {}", duration_text(s)),
        );
        writeln!(
            out,
            "  {} {}/{} moved {}, {first}, {} read{}, cost {:.4}",
            m.id,
            m.bucket,
            m.key,
            m.at,
            m.read_backs,
            if m.read_backs == 1 { "" } else { "s" },
            m.cost
        )?;
    }
    match t.decision_log.as_deref() {
        Some("-") => writeln!(
            out,
            "  (tierd explain ID --log FILE explains one, FILE holding what --out - wrote)"
        ),
        Some(log) => writeln!(out, "  (tierd explain ID --log {log} explains one)"),
        None => writeln!(
            out,
            "  (--out FILE keeps the decisions, to explain one with tierd explain ID --log FILE)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::cost::{CostModel, Ledger};

    const DAY: i64 = 86_400;
    const GB: u64 = 1_000_000_000;

    /// A read of `row` on `tier`, charged to the ledger and, when a read-back, put to a move.
    fn read(o: &mut Outcomes, l: &mut Ledger, c: &CostModel, row: usize, tier: usize, t: i64) {
        if let Some(cost) = l.read(c, tier, GB) {
            o.read_back(row, t, GB, cost);
        }
    }

    #[test]
    fn read_backs_and_early_deletions_go_to_the_move_that_put_the_object_there_and_add_up() {
        let c = CostModel::from_config(&Config::embedded());
        let (hot, cold) = (c.hot, c.cheapest);
        assert_ne!(hot, cold);
        let (mut o, mut l) = (Outcomes::default(), Ledger::default());
        // Row 0 moved, read back twice, moved again (by a recall), then read on the hot tier.
        o.moved(0, "move-a", 0, 0.0);
        read(&mut o, &mut l, &c, 0, cold, 2 * DAY);
        read(&mut o, &mut l, &c, 0, cold, 3 * DAY);
        let early = c.early_deletion(cold, GB, 4 * DAY);
        assert!(
            early > 0.0,
            "the cheapest tier has a minimum storage duration"
        );
        o.moved(0, "move-b", 4 * DAY, early);
        read(&mut o, &mut l, &c, 0, hot, 5 * DAY);
        // Row 1 moved, read back once, then overwritten on the cold tier.
        o.moved(1, "move-c", DAY, 0.0);
        read(&mut o, &mut l, &c, 1, cold, 11 * DAY);
        o.ended(1, true, c.early_deletion(cold, GB, 12 * DAY));
        // Row 2: listed on the cold tier, no move put it there.
        read(&mut o, &mut l, &c, 2, cold, 6 * DAY);
        // Row 1 again, after the write: on the hot tier, nothing to put anywhere.
        read(&mut o, &mut l, &c, 1, hot, 13 * DAY);

        let t = &o.totals;
        assert_eq!((t.moves, t.unattributed_read_backs), (3, 1), "{t:?}");
        let planner = planner_with_rows(3);
        let (t, costly) = o.finish(&planner);
        assert_eq!(
            (t.read_back_moves, t.read_backs, t.deleted_or_overwritten),
            (2, 3, 1)
        );
        assert_eq!(t.read_back_bytes, 3 * GB);
        // What was put to moves and what was not add up to the ledger's read-backs.
        let sum: f64 =
            costly.iter().map(|m| m.read_back_cost).sum::<f64>() + t.unattributed_read_back_cost;
        assert!(
            (sum - l.read_back_cost).abs() < 1e-12,
            "{sum} vs {}",
            l.read_back_cost
        );
        assert!(
            (t.read_back_cost + t.unattributed_read_back_cost - l.read_back_cost).abs() < 1e-12
        );
        assert_eq!(l.read_backs, 4);
        // Costliest first: move-a (two reads and the early deletion of leaving early), then
        // move-c (one read and its early deletion); move-b cost nothing and is not listed.
        let ids: Vec<&str> = costly.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec!["move-a", "move-c"]);
        assert_eq!(costly[0].first_read_back_after_secs, Some(2 * DAY));
        assert_eq!(costly[0].read_backs, 2);
        assert!((costly[0].early_deletion - early).abs() < 1e-12);
        assert_eq!(costly[1].first_read_back_after_secs, Some(10 * DAY));
        assert_eq!(
            (costly[1].bucket.as_str(), costly[1].key.as_str()),
            ("b", "k1")
        );
    }

    #[test]
    fn equal_costs_are_listed_by_decision_id() {
        let c = CostModel::from_config(&Config::embedded());
        let (mut o, mut l) = (Outcomes::default(), Ledger::default());
        for (row, id) in [(0, "move-z"), (1, "move-m"), (2, "move-a")] {
            o.moved(row, id, 0, 0.0);
            read(&mut o, &mut l, &c, row, c.cheapest, DAY);
        }
        let (_, costly) = o.finish(&planner_with_rows(3));
        let ids: Vec<&str> = costly.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, vec!["move-a", "move-m", "move-z"]);
    }

    #[test]
    fn a_move_charged_early_deletion_but_never_read_back_is_listed_without_a_first_read() {
        let c = CostModel::from_config(&Config::embedded());
        let mut o = Outcomes::default();
        o.moved(0, "move-a", 5 * DAY, 0.0);
        o.ended(0, true, c.early_deletion(c.cheapest, GB, DAY));
        let (t, costly) = o.finish(&planner_with_rows(1));
        assert_eq!((t.deleted_or_overwritten, t.read_back_moves), (1, 0));
        assert_eq!(costly.len(), 1);
        assert_eq!(costly[0].first_read_back_after_secs, None);
        assert!(costly[0].early_deletion > 0.0);
    }

    /// A planner whose table holds objects `b/k0`, `b/k1`, ... in rows 0, 1, ...
    pub(super) fn planner_with_rows(n: usize) -> Planner {
        let config = Config::embedded();
        let loaded = policies::load_from_strs(&[], &config.tier_specs())
            .unwrap_or_else(|d| panic!("{}", d[0]));
        let mut p = Planner::new(
            std::sync::Arc::new(loaded.policy),
            CostModel::from_config(&config),
            config.planner.clone(),
            "test",
            1,
        );
        for i in 0..n {
            p.objects.insert("b", &format!("k{i}"), 0, GB, 0);
        }
        p
    }
}
