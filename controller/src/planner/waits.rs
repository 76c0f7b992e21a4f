//! The waits of moves a guardrail held back: kept per object for as long as a rule keeps wanting
//! the move pass after pass, and told in the explanation of the move once it is decided (the
//! alternatives the guardrails rejected, and why). A wait ends when the rule no longer wants the
//! move, or another rule does.

use std::collections::HashMap;

use super::rfc3339;

/// What held a move back in a pass, in the order the planner checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guardrail {
    Frozen,
    Blackout,
    Residency,
    Cooldown,
    Retry,
    CycleLimit,
    Budget,
    /// An operator moved the object lately (`planner.operator_hold`).
    Operator,
}

impl Guardrail {
    const ALL: [Guardrail; 8] = [
        Guardrail::Frozen,
        Guardrail::Blackout,
        Guardrail::Residency,
        Guardrail::Cooldown,
        Guardrail::Retry,
        Guardrail::CycleLimit,
        Guardrail::Budget,
        Guardrail::Operator,
    ];

    fn describe(self) -> &'static str {
        match self {
            Guardrail::Frozen => "an open freeze",
            Guardrail::Blackout => "a blackout window",
            Guardrail::Residency => "the minimum residency",
            Guardrail::Cooldown => "the rule's cooldown",
            Guardrail::Retry => "the wait after a failed move",
            Guardrail::CycleLimit => "the per-pass decision limit",
            Guardrail::Budget => "a budget",
            Guardrail::Operator => "an operator's recent move of the object",
        }
    }
}

/// Passes held, per guardrail (described: `the minimum residency`).
pub type HeldPasses = Vec<(&'static str, u32)>;

/// One object's wait.
#[derive(Debug, Clone)]
struct Wait {
    /// The move rule that wanted it.
    rule: u32,
    /// The first and the last pass that held it.
    since: i64,
    last: i64,
    /// Passes held, by [`Guardrail::ALL`]'s order.
    passes: [u32; 8],
}

/// The objects whose move a guardrail is holding back (rows of the planner's table).
#[derive(Debug, Default)]
pub struct Waits {
    held: HashMap<u32, Wait>,
}

impl Waits {
    /// Notes that `guardrail` held back `rule`'s move of `row` in the pass at `now`, and counts
    /// it in the pass's `deferred`.
    pub fn held(
        &mut self,
        deferred: &mut super::Deferred,
        row: usize,
        rule: u32,
        guardrail: Guardrail,
        now: i64,
    ) {
        deferred.count(guardrail);
        let fresh = Wait {
            rule,
            since: now,
            last: now,
            passes: [0; 8],
        };
        let w = self.held.entry(row as u32).or_insert_with(|| fresh.clone());
        if w.rule != rule {
            // Another rule wants it now: its wait starts here.
            *w = fresh;
        }
        w.last = now;
        // (`ALL` lists the guardrails in their declared order.)
        w.passes[guardrail as usize] += 1;
    }

    /// Ends the wait of `row`, whose move `rule` now decides, and says what it was: `None` when
    /// no guardrail held it back (or the wait was another rule's).
    pub fn take(&mut self, row: usize, rule: u32) -> Option<String> {
        let w = self.held.remove(&(row as u32)).filter(|w| w.rule == rule)?;
        let total: u32 = w.passes.iter().sum();
        let by: Vec<String> = Guardrail::ALL
            .iter()
            .zip(w.passes)
            .filter(|(_, n)| *n > 0)
            .map(|(g, n)| format!("{} ({n})", g.describe()))
            .collect();
        let span = if w.since == w.last {
            format!("at {}", rfc3339(w.since))
        } else {
            format!("from {} to {}", rfc3339(w.since), rfc3339(w.last))
        };
        Some(format!(
            "held back before: the rule wanted this move at {total} earlier pass{} {span}, held by {}",
            if total == 1 { "" } else { "es" },
            by.join(", ")
        ))
    }

    /// Forgets the waits no pass at `now` held: the rule no longer wants those moves.
    pub fn forget_stale(&mut self, now: i64) {
        self.held.retain(|_, w| w.last == now);
    }

    /// `row`'s wait as it stands: its rule, its first and last pass, and the passes held by
    /// each guardrail that held it (described, in the planner's order).
    pub fn of(&self, row: usize) -> Option<(u32, i64, i64, HeldPasses)> {
        let w = self.held.get(&(row as u32))?;
        let passes = Guardrail::ALL
            .iter()
            .zip(w.passes)
            .filter(|(_, n)| *n > 0)
            .map(|(g, n)| (g.describe(), n))
            .collect();
        Some((w.rule, w.since, w.last, passes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_told_once_by_guardrail_and_ends_when_the_rule_stops_wanting_the_move() {
        let mut w = Waits::default();
        let mut d = super::super::Deferred::default();
        w.held(&mut d, 7, 1, Guardrail::Budget, 3600);
        w.held(&mut d, 7, 1, Guardrail::Frozen, 7200);
        w.held(&mut d, 7, 1, Guardrail::Budget, 10_800);
        w.forget_stale(10_800);
        assert_eq!(
            w.take(7, 1).as_deref(),
            Some(
                "held back before: the rule wanted this move at 3 earlier passes from 1970-01-01T01:00:00Z to 1970-01-01T03:00:00Z, held by an open freeze (1), a budget (2)"
            )
        );
        assert_eq!(w.take(7, 1), None, "told once");
        // Held once, then not wanted at the next pass: forgotten.
        w.held(&mut d, 8, 1, Guardrail::Residency, 3600);
        w.forget_stale(7200);
        assert_eq!(w.take(8, 1), None);
        // Another rule's wait is not this rule's.
        w.held(&mut d, 9, 2, Guardrail::Cooldown, 3600);
        assert_eq!(w.take(9, 1), None);
        w.held(&mut d, 9, 2, Guardrail::Cooldown, 3600);
        w.held(&mut d, 9, 3, Guardrail::Blackout, 7200);
        assert_eq!(
            w.take(9, 3).as_deref(),
            Some(
                "held back before: the rule wanted this move at 1 earlier pass at 1970-01-01T02:00:00Z, held by a blackout window (1)"
            )
        );
        // Every hold is counted in the pass's tally too.
        assert_eq!(
            (d.budget, d.frozen, d.residency, d.cooldown, d.blackout),
            (2, 1, 1, 2, 1)
        );
    }
}
