//! How the policy sees one object at a pass, for `tierd simulate --why`: every rule that applies
//! to it with each test's value, what a move would cost, and whether a guardrail held its move.
//! It evaluates as the pass did and changes nothing: decisions are the same with or without it.

use std::sync::Arc;

use policies::Action as RuleAction;
use policies::eval::Verdict;
use serde::Serialize;

use super::Planner;
use crate::cost::MONTH_SECS;
use crate::decision::Condition;

/// One object's evaluation at a pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RowVerdict {
    /// The winning rule's id, if one wins.
    pub winner: Option<String>,
    /// What the winner does (`move to "cloud"`), empty without one.
    pub action: String,
    /// Whether the winner is a move (one a guardrail may hold back).
    pub moves: bool,
    /// The policy's explanation lines (`rule "X" wins: ...`, `rule "Y" does not match: test
    /// (value: no)`), the rules out of scope left out.
    pub rules: Vec<String>,
    /// The winner's `when` as written, and its tests with their values (none without a
    /// winner).
    pub when: String,
    pub conditions: Vec<Condition>,
    /// What the winning move, or else the first move rule that applies, would cost.
    pub cost: Option<MoveCost>,
}

/// The cost signals of a move of one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MoveCost {
    /// The rule whose move it is, and its destination.
    pub rule: String,
    pub to: String,
    /// The storage a month on `to` saves against staying (negative: it adds).
    pub storage_saved_per_month: f64,
    /// The one-off charges of the move: reading out, writing in, early deletion.
    pub retrieval: f64,
    pub egress: f64,
    pub requests: f64,
    pub early_deletion: f64,
    /// The signals rules read: `savings_per_month` and `read_back_cost_per_month`.
    pub savings_per_month: f64,
    pub read_back_cost_per_month: f64,
}

impl MoveCost {
    /// One line, amounts to the millionth as decision records carry them: `a move to "cloud"
    /// (rule "idle"): saves USD 0.0001/month in storage, one-off charges USD 0.000012 (...);
    /// savings_per_month USD 0.000088 vs read_back_cost_per_month USD 0.0014`.
    pub fn describe(&self, currency: &str) -> String {
        let one_off =
            super::money(self.retrieval + self.egress + self.requests + self.early_deletion);
        let storage = if self.storage_saved_per_month < 0.0 {
            format!(
                "adds {currency} {}/month in storage",
                -self.storage_saved_per_month
            )
        } else {
            format!(
                "saves {currency} {}/month in storage",
                self.storage_saved_per_month
            )
        };
        format!(
            "a move to \"{}\" (rule \"{}\"): {storage}, one-off charges {currency} {one_off} (retrieval {}, egress {}, requests {}, early deletion {}); savings_per_month {currency} {} vs read_back_cost_per_month {currency} {}",
            self.to,
            self.rule,
            self.retrieval,
            self.egress,
            self.requests,
            self.early_deletion,
            self.savings_per_month,
            self.read_back_cost_per_month,
        )
    }
}

/// A wait of a move a guardrail held back at a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The move rule that wanted the move.
    pub rule: String,
    /// The first pass of the wait.
    pub since: i64,
    /// Passes held so far, per guardrail (described: `the minimum residency`).
    pub passes: Vec<(&'static str, u32)>,
}

impl Planner {
    /// How the policy sees `row` at `now`: call it after the pass at `now` and before its moves
    /// are applied, to see what the pass saw (the signals it refreshed, the object's tier).
    pub fn evaluate_row(&self, row: usize, now: i64) -> RowVerdict {
        let policy = Arc::clone(&self.policy);
        let facts = self.objects.facts(row);
        let beh = self.objects.cat.behaviour_of(row);
        let eval = policy.evaluate(&facts, &beh, now);
        let rules = policy
            .explain(&eval)
            .into_iter()
            .filter(|l| !l.contains(" is out of scope"))
            .collect();
        let conditions = eval.winner.map_or_else(Vec::new, |w| {
            eval.outcomes[w]
                .leaves
                .iter()
                .map(Condition::from)
                .collect()
        });
        let is_move = |r: usize| matches!(policy.rules[r].action, RuleAction::Move { .. });
        let applies = |r: &usize| {
            !matches!(
                eval.outcomes[*r].verdict,
                Verdict::OutOfScope | Verdict::AlreadyOnTarget
            )
        };
        let mover = eval.winner.filter(|&w| is_move(w)).or_else(|| {
            policy
                .order
                .iter()
                .copied()
                .filter(applies)
                .find(|&r| is_move(r))
        });
        let cost = mover.and_then(|r| {
            let RuleAction::Move { to } = policy.rules[r].action else {
                return None;
            };
            let from = usize::from(self.objects.cat.tier[row]);
            let c = self
                .cost
                .transfer(from, to, facts.size, now - facts.tier_since);
            let month = MONTH_SECS as i64;
            Some(MoveCost {
                rule: policy.rules[r].id.clone(),
                to: policy.tiers[to].clone(),
                storage_saved_per_month: super::money(
                    self.cost.storage(from, facts.size, month)
                        - self.cost.storage(to, facts.size, month),
                ),
                retrieval: super::money(c.retrieval),
                egress: super::money(c.egress),
                requests: super::money(c.requests),
                early_deletion: super::money(c.early_deletion),
                savings_per_month: super::money(facts.savings_per_month),
                read_back_cost_per_month: super::money(facts.read_back_cost_per_month),
            })
        });
        RowVerdict {
            winner: eval.winner.map(|w| policy.rules[w].id.clone()),
            action: eval.winner.map_or_else(String::new, |w| {
                match policy.rules[w].action {
                    // A bucket's unfreeze, the object's outcome only when nothing else matches:
                    // say that it moves nothing.
                    RuleAction::Unfreeze => "unfreeze, which moves nothing".to_string(),
                    ref a => policy.describe_action(a),
                }
            }),
            moves: eval.winner.is_some_and(is_move),
            rules,
            when: eval
                .winner
                .map_or_else(String::new, |w| policy.rules[w].when.clone()),
            conditions,
            cost,
        }
    }

    /// The wait of `row`'s move if a guardrail held it back at the pass at `now` (call it after
    /// that pass): `None` when no guardrail held it then.
    pub fn held_at(&self, row: usize, now: i64) -> Option<Held> {
        let (rule, since, last, passes) = self.waits.of(row)?;
        (last == now).then(|| Held {
            rule: self
                .policy
                .rules
                .get(rule as usize)
                .map_or_else(|| "?".to_string(), |r| r.id.clone()),
            since,
            passes,
        })
    }
}
