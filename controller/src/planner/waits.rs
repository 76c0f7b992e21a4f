//! The waits of moves a guardrail held back: kept per object for as long as a rule keeps wanting
//! the move pass after pass, and told in the explanation of the move once it is decided (the
//! alternatives the guardrails rejected, and why). A wait ends when the rule no longer wants the
//! move, or another rule does.

use std::collections::{BTreeMap, HashMap};

use super::rfc3339;

/// What held a move back in a pass, in the order the planner checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Guardrail {
    Frozen,
    Blackout,
    Residency,
    Cooldown,
    Retry,
    CycleLimit,
    /// The budget limit the move would have gone over (the first in [`Budget`]'s order).
    Budget(Budget),
    /// An operator moved the object lately (`planner.operator_hold`).
    Operator,
}

/// The limits of a policy's budget (`[guardrails]`), in the order the planner checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Budget {
    ObjectsPerHour,
    ObjectsPerDay,
    BytesPerHour,
    BytesPerDay,
    MoneyPerDay,
}

/// How many kinds of hold a wait counts: [`Guardrail::index`]'s range.
const KINDS: usize = 12;

impl Guardrail {
    const ALL: [Guardrail; KINDS] = [
        Guardrail::Frozen,
        Guardrail::Blackout,
        Guardrail::Residency,
        Guardrail::Cooldown,
        Guardrail::Retry,
        Guardrail::CycleLimit,
        Guardrail::Budget(Budget::ObjectsPerHour),
        Guardrail::Budget(Budget::ObjectsPerDay),
        Guardrail::Budget(Budget::BytesPerHour),
        Guardrail::Budget(Budget::BytesPerDay),
        Guardrail::Budget(Budget::MoneyPerDay),
        Guardrail::Operator,
    ];

    /// Its place in [`Guardrail::ALL`].
    fn index(self) -> usize {
        match self {
            Guardrail::Frozen => 0,
            Guardrail::Blackout => 1,
            Guardrail::Residency => 2,
            Guardrail::Cooldown => 3,
            Guardrail::Retry => 4,
            Guardrail::CycleLimit => 5,
            Guardrail::Budget(b) => 6 + b as usize,
            Guardrail::Operator => 11,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Guardrail::Frozen => "an open freeze",
            Guardrail::Blackout => "a blackout window",
            Guardrail::Residency => "the minimum residency",
            Guardrail::Cooldown => "the rule's cooldown",
            Guardrail::Retry => "the wait after a failed move",
            Guardrail::CycleLimit => "the per-pass decision limit",
            Guardrail::Budget(Budget::ObjectsPerHour) => "a budget (objects per hour)",
            Guardrail::Budget(Budget::ObjectsPerDay) => "a budget (objects per day)",
            Guardrail::Budget(Budget::BytesPerHour) => "a budget (bytes per hour)",
            Guardrail::Budget(Budget::BytesPerDay) => "a budget (bytes per day)",
            Guardrail::Budget(Budget::MoneyPerDay) => "a budget (money per day)",
            Guardrail::Operator => "an operator's recent move of the object",
        }
    }

    /// Its name in counts, as the summary's "moves held back by guardrails" line names it:
    /// `minimum residency`, `budget (objects per hour)`.
    pub fn name(self) -> &'static str {
        match self {
            Guardrail::Frozen => "frozen",
            Guardrail::Blackout => "blackout",
            Guardrail::Residency => "minimum residency",
            Guardrail::Cooldown => "cooldown",
            Guardrail::Retry => "retry wait",
            Guardrail::CycleLimit => "per-pass limit",
            Guardrail::Budget(Budget::ObjectsPerHour) => "budget (objects per hour)",
            Guardrail::Budget(Budget::ObjectsPerDay) => "budget (objects per day)",
            Guardrail::Budget(Budget::BytesPerHour) => "budget (bytes per hour)",
            Guardrail::Budget(Budget::BytesPerDay) => "budget (bytes per day)",
            Guardrail::Budget(Budget::MoneyPerDay) => "budget (money per day)",
            Guardrail::Operator => "operator's move",
        }
    }
}

/// The holds of one move rule by one guardrail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holds {
    /// Moves held, one per object and pass.
    pub passes: u64,
    /// Objects whose wait this guardrail held for the first time (an object counts once per
    /// wait, however many passes the wait lasts).
    pub objects: u64,
}

/// Holds per (move rule index, guardrail), in that order.
pub type HoldsByRule = BTreeMap<(u32, Guardrail), Holds>;

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
    passes: [u32; KINDS],
}

/// The objects whose move a guardrail is holding back (rows of the planner's table).
#[derive(Debug, Default)]
pub struct Waits {
    held: HashMap<u32, Wait>,
}

impl Waits {
    /// Notes that `guardrail` held back `rule`'s move of `row` in the pass at `now`, and counts
    /// it in the pass's `deferred` (in total and per rule).
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
            passes: [0; KINDS],
        };
        let w = self.held.entry(row as u32).or_insert_with(|| fresh.clone());
        if w.rule != rule {
            // Another rule wants it now: its wait starts here.
            *w = fresh;
        }
        w.last = now;
        let held = &mut w.passes[guardrail.index()];
        let holds = deferred.by_rule.entry((rule, guardrail)).or_default();
        holds.passes += 1;
        if *held == 0 {
            holds.objects += 1;
        }
        *held += 1;
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
        let hour = Guardrail::Budget(Budget::ObjectsPerHour);
        w.held(&mut d, 7, 1, hour, 3600);
        w.held(&mut d, 7, 1, Guardrail::Frozen, 7200);
        w.held(&mut d, 7, 1, hour, 10_800);
        w.forget_stale(10_800);
        assert_eq!(
            w.take(7, 1).as_deref(),
            Some(
                "held back before: the rule wanted this move at 3 earlier passes from 1970-01-01T01:00:00Z to 1970-01-01T03:00:00Z, held by an open freeze (1), a budget (objects per hour) (2)"
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
        // And per rule: passes, and objects once per wait.
        let by: Vec<(u32, String, u64, u64)> = d
            .by_rule
            .iter()
            .map(|((r, g), h)| (*r, g.name().to_string(), h.passes, h.objects))
            .collect();
        assert_eq!(
            by,
            vec![
                (1, "frozen".into(), 1, 1),
                (1, "minimum residency".into(), 1, 1),
                (1, "budget (objects per hour)".into(), 2, 1),
                // (Two waits: the decision of another rule's move ended the first.)
                (2, "cooldown".into(), 2, 2),
                (3, "blackout".into(), 1, 1),
            ]
        );
    }
}
