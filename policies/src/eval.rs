//! Evaluating the policy set for one object, with the full story for `tierd explain`.
//!
//! # Conflict semantics
//! 1. A rule *matches* an object when the object is in its scope, its `when` holds, and, for a
//!    move or snapshot, the object is not already on the destination tier.
//! 2. Alerts never compete: every matching alert fires ([`Evaluation::alerts`]), beside whatever
//!    the object's decision is, and makes no other rule lose.
//! 3. A pin holds moves only: if any pin matches, every matching move loses ("pinned by" the
//!    first matching pin in precedence order), whatever its priority.
//! 4. A freeze blocks moves, not snapshots: if any freeze matches (and no pin), every matching
//!    move loses; the first matching freeze ([`Evaluation::frozen_by`]) is opened on its scope
//!    whether or not it wins.
//! 5. Among the other matching rules (freezes, snapshots, unfreezes, and moves nothing holds),
//!    the first in precedence order wins; a pin wins only when none of them matches.
//! 6. The first matching unfreeze ([`Evaluation::unfrozen_by`]) lifts a freeze on its scope
//!    whether or not it wins, unless a freeze matches the object too: a rule of higher priority
//!    (a daily snapshot of the bucket) must not keep a freeze open forever.
//!    Precedence order is priority descending, then file order (files in the order given,
//!    rules top to bottom).

use crate::cond::{Row, Test, num_value, small_value, text_value};
use crate::facts::{BehaviourFacts, ObjectFacts, TimeCtx, format_utc};
use crate::model::{Action, PolicySet, Rule};
use crate::signals::{Kind, SignalId};

/// Why a rule did not win.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    Won,
    OutOfScope,
    /// The object already is on the rule's destination tier.
    AlreadyOnTarget,
    ConditionFalse,
    /// A pin (this rule index) matched.
    Pinned {
        by: usize,
    },
    /// A freeze (this rule index) matched and this rule is a move.
    Frozen {
        by: usize,
    },
    /// A rule ahead in precedence (this index) won.
    Outranked {
        by: usize,
    },
    /// An alert that matched: it fires beside the winner (alerts never compete).
    Fires,
    /// The first matching freeze or pin, which takes effect beside the winner: the freeze is
    /// opened on its scope, the pin holds every move of the object.
    Applies,
}

/// One leaf of a rule's condition, with the object's value, for explanations.
#[derive(Debug, Clone, PartialEq)]
pub struct LeafValue {
    /// The comparison as written (`size >= 1MiB`).
    pub text: String,
    /// The signal's value for this object, formatted in its unit (`5MiB`, `120d`, `0.93`).
    pub value: String,
    pub holds: bool,
}

/// What happened to one rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    pub rule: usize,
    pub verdict: Verdict,
    /// Each test of the condition with the value it saw (empty when out of scope).
    pub leaves: Vec<LeafValue>,
}

/// The result of evaluating every rule for one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Rules that matched, in precedence order.
    pub matched: Vec<usize>,
    pub winner: Option<usize>,
    /// The first matching freeze in precedence order, won or not: the planner opens it on its
    /// scope, and it blocks every move for this object.
    pub frozen_by: Option<usize>,
    /// The first matching unfreeze in precedence order, won or not, when no freeze matches: the
    /// planner lifts a freeze open on its scope.
    pub unfrozen_by: Option<usize>,
    /// Every matching alert, in precedence order: each fires, whatever the winner.
    pub alerts: Vec<usize>,
    /// One outcome per rule, in file order.
    pub outcomes: Vec<RuleOutcome>,
}

/// Formats a canonical value in the signal's unit.
pub fn format_value(kind: Kind, v: f64) -> String {
    match kind {
        Kind::Duration => {
            if v >= 86_400.0 && (v / 86_400.0).fract() == 0.0 {
                format!("{}d", v / 86_400.0)
            } else if v >= 86_400.0 {
                format!("{:.1}d", v / 86_400.0)
            } else if v >= 3600.0 && (v / 3600.0).fract() == 0.0 {
                format!("{}h", v / 3600.0)
            } else if v >= 3600.0 {
                format!("{:.1}h", v / 3600.0)
            } else {
                format!("{v}s")
            }
        }
        Kind::Size => {
            let units = [
                ("TiB", 1_099_511_627_776.0),
                ("GiB", 1_073_741_824.0),
                ("MiB", 1_048_576.0),
                ("KiB", 1024.0),
            ];
            units
                .iter()
                .find(|(_, f)| v >= *f)
                .map_or(format!("{v}B"), |(u, f)| {
                    if (v / f).fract() == 0.0 {
                        format!("{}{u}", v / f)
                    } else {
                        format!("{:.1}{u}", v / f)
                    }
                })
        }
        Kind::Timestamp => format_utc(v as i64),
        Kind::Money => money(v, "USD"),
        // f32 signals widened to f64 carry float noise (0.9442024827003479): three decimals
        // are what a threshold is written with; whole values stay whole (`0`, `1`).
        Kind::Score | Kind::Probability if v.fract() != 0.0 => {
            let t = format!("{v:.3}");
            t.trim_end_matches('0').trim_end_matches('.').to_string()
        }
        _ => format!("{v}"),
    }
}

/// Money as an explanation shows it, after its currency (`USD 0.0012`, `EUR -0.35`): cents for
/// whole amounts, four significant digits below one (per-object amounts are fractions of a cent,
/// and `0.00 vs 0.00` explains nothing).
pub fn money(v: f64, currency: &str) -> String {
    let a = v.abs();
    if a == 0.0 || a >= 1.0 || !a.is_finite() {
        return format!("{currency} {v:.2}");
    }
    let decimals = (3 - a.log10().floor() as i64).clamp(2, 12) as usize;
    format!("{currency} {v:.decimals$}")
}

/// A signal's value for an explanation, money in `currency`.
fn describe(sig: SignalId, r: &Row<'_>, currency: &str) -> String {
    let kind = sig.kind();
    match kind {
        Kind::Money => money(num_value(sig, r), currency),
        Kind::Bool => r.beh.flag(sig).to_string(),
        Kind::Text => format!("'{}'", text_value(sig, r)),
        Kind::Tier => format!("'{}'", r.obj.tier),
        Kind::Weekday => crate::signals::WEEKDAYS
            .get(small_value(sig, r) as usize)
            .unwrap_or(&"?")
            .to_string(),
        _ => format_value(kind, num_value(sig, r)),
    }
}

impl Rule {
    /// Whether the rule's condition reads the behaviour model's verdict (an anomaly score or an
    /// open incident): its decisions then cite the anomaly behind them.
    pub fn reads_anomaly(&self) -> bool {
        self.leaves.iter().any(|l| {
            l.test.signals().iter().any(|s| {
                matches!(
                    s,
                    SignalId::BucketAnomaly | SignalId::PrincipalAnomaly | SignalId::IncidentOpen
                )
            })
        })
    }

    /// Whether the rule's scope holds and the object is not already on its destination.
    pub fn applies_to(&self, obj: &ObjectFacts, tier: u32) -> Result<(), Verdict> {
        if !self.scope.matches(&obj.bucket, &obj.key) {
            return Err(Verdict::OutOfScope);
        }
        if self.action.target().is_some_and(|t| t as u32 == tier) {
            return Err(Verdict::AlreadyOnTarget);
        }
        Ok(())
    }
}

impl PolicySet {
    /// The tier index of an object's tier name (`u32::MAX` if it is not configured).
    pub fn tier_id(&self, name: &str) -> u32 {
        self.tier_index(name).map_or(u32::MAX, |i| i as u32)
    }

    /// Evaluates every rule for one object at `now` (seconds since the Unix epoch, UTC).
    ///
    /// # Guarantees
    /// The winner is the same as [`PolicySet::evaluate_columns`] gives for the same facts.
    pub fn evaluate(&self, obj: &ObjectFacts, beh: &BehaviourFacts, now: i64) -> Evaluation {
        let time = TimeCtx::at(now);
        let row = Row {
            obj,
            beh,
            time: &time,
            tier: self.tier_id(&obj.tier),
        };
        let mut outcomes: Vec<RuleOutcome> = Vec::with_capacity(self.rules.len());
        for (i, rule) in self.rules.iter().enumerate() {
            let (verdict, leaves) = match rule.applies_to(obj, row.tier) {
                Err(v) => (v, Vec::new()),
                Ok(()) => {
                    let results: Vec<bool> = rule.leaves.iter().map(|l| l.eval(&row)).collect();
                    let holds = rule.cond.eval_with(&mut |i| results[i]);
                    let nots = rule.cond.leaves_under_written_not(&rule.leaves);
                    let leaves =
                        rule.leaves
                            .iter()
                            .zip(&results)
                            .zip(&nots)
                            .map(|((l, &holds), &not)| {
                                let value = match &l.test {
                                    Test::NumSig { a, b, .. } => {
                                        format!(
                                            "{} vs {}",
                                            describe(*a, &row, &self.currency),
                                            describe(*b, &row, &self.currency)
                                        )
                                    }
                                    t => t.signals().first().map_or(String::new(), |s| {
                                        describe(*s, &row, &self.currency)
                                    }),
                                };
                                // `not incident_open` as written, holding when the leaf does not.
                                let text = match (not, l.text.contains(' ')) {
                                    (false, _) => l.text.clone(),
                                    (true, false) => format!("not {}", l.text),
                                    (true, true) => format!("not ({})", l.text),
                                };
                                LeafValue {
                                    text,
                                    value,
                                    holds: (holds != l.negated) != not,
                                }
                            })
                            .collect();
                    (
                        if holds {
                            Verdict::Won
                        } else {
                            Verdict::ConditionFalse
                        },
                        leaves,
                    )
                }
            };
            outcomes.push(RuleOutcome {
                rule: i,
                verdict,
                leaves,
            });
        }
        let matched: Vec<usize> = self
            .order
            .iter()
            .copied()
            .filter(|&i| outcomes[i].verdict == Verdict::Won)
            .collect();
        let first =
            |a: fn(&Action) -> bool| matched.iter().copied().find(|&i| a(&self.rules[i].action));
        let pin = first(|a| *a == Action::Pin);
        let freeze = first(|a| *a == Action::Freeze);
        let unfreeze = first(|a| *a == Action::Unfreeze).filter(|_| freeze.is_none());
        let alerts: Vec<usize> = matched
            .iter()
            .copied()
            .filter(|&i| self.rules[i].action.is_alert())
            .collect();
        // Alerts and pins never compete; moves do only while nothing holds them.
        let held = pin.is_some() || freeze.is_some();
        let winner = matched
            .iter()
            .copied()
            .find(|&i| {
                let a = &self.rules[i].action;
                !a.is_alert() && *a != Action::Pin && !(held && a.is_move())
            })
            .or(pin);
        for &i in &matched {
            if Some(i) == winner {
                continue;
            }
            let action = &self.rules[i].action;
            outcomes[i].verdict = match (pin, freeze) {
                _ if action.is_alert() => Verdict::Fires,
                (Some(p), _) if action.is_move() => Verdict::Pinned { by: p },
                (None, Some(f)) if action.is_move() => Verdict::Frozen { by: f },
                (Some(p), _) if *action == Action::Pin && p != i => Verdict::Outranked { by: p },
                (_, Some(f)) if *action == Action::Freeze && f != i => Verdict::Outranked { by: f },
                _ if matches!(action, Action::Pin | Action::Freeze) => Verdict::Applies,
                _ if Some(i) == unfreeze => Verdict::Applies,
                _ => Verdict::Outranked {
                    by: winner.unwrap_or(i),
                },
            };
        }
        Evaluation {
            matched,
            winner,
            frozen_by: freeze,
            unfrozen_by: unfreeze,
            alerts,
            outcomes,
        }
    }

    /// Whether a blackout window is open at `now`.
    pub fn in_blackout(&self, now: i64) -> bool {
        let time = TimeCtx::at(now);
        let obj = ObjectFacts::default();
        let beh = BehaviourFacts::default();
        let row = Row {
            obj: &obj,
            beh: &beh,
            time: &time,
            tier: u32::MAX,
        };
        self.guardrails
            .blackout
            .iter()
            .any(|w| w.cond.eval_with(&mut |i| w.leaves[i].eval(&row)))
    }

    /// Explains an evaluation in plain sentences, one per rule, winner first.
    pub fn explain(&self, e: &Evaluation) -> Vec<String> {
        let mut lines = Vec::new();
        let name = |i: usize| format!("rule \"{}\"", self.rules[i].id);
        let why = |o: &RuleOutcome| {
            o.leaves
                .iter()
                .map(|l| {
                    format!(
                        "{} ({}: {})",
                        l.text,
                        l.value,
                        if l.holds { "yes" } else { "no" }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        // A rule that takes effect beside the winner: what it does, then why it matched.
        let beside = |o: &RuleOutcome, what: &str| {
            let mut line = format!("{} {what}", name(o.rule));
            let cond = why(o);
            if !cond.is_empty() {
                line.push_str("; ");
                line.push_str(&cond);
            }
            line
        };
        match e.winner {
            Some(w) => {
                let r = &self.rules[w];
                // A rule without conditions (a pin by scope alone) has no clause to add: no
                // empty one between semicolons.
                // An unfreeze that wins acts only on a freeze open on exactly its scope: the
                // evaluation cannot know whether one is, and a reader must not take it as done.
                let what = match r.action {
                    Action::Unfreeze => {
                        "unfreeze, which lifts a freeze open on exactly its scope (nothing when none is)"
                            .to_string()
                    }
                    _ => self.describe_action(&r.action),
                };
                let mut parts = vec![format!("{} wins: {what}", name(w))];
                if r.cond.has_written_not(&r.leaves) {
                    parts.push(format!("`{}` holds", r.when));
                }
                parts.push(why(&e.outcomes[w]));
                parts.retain(|p| !p.is_empty());
                lines.push(parts.join("; "));
            }
            None => lines.push("no rule wins".to_string()),
        }
        for o in &e.outcomes {
            let line = match o.verdict {
                Verdict::Won => continue,
                Verdict::OutOfScope => format!(
                    "{} is out of scope ({})",
                    name(o.rule),
                    self.rules[o.rule].scope.describe()
                ),
                Verdict::AlreadyOnTarget => format!(
                    "{} does not apply: the object already is on its destination",
                    name(o.rule)
                ),
                Verdict::ConditionFalse => {
                    let r = &self.rules[o.rule];
                    if r.cond.has_written_not(&r.leaves) {
                        format!(
                            "{} does not match: `{}` is false; {}",
                            name(o.rule),
                            r.when,
                            why(o)
                        )
                    } else {
                        format!("{} does not match: {}", name(o.rule), why(o))
                    }
                }
                Verdict::Pinned { by } => format!("{} loses: pinned by {}", name(o.rule), name(by)),
                Verdict::Fires => {
                    beside(o, "fires beside any decision: alert (alerts never compete)")
                }
                Verdict::Applies if self.rules[o.rule].action == Action::Pin => {
                    beside(o, "applies: pin, so no move is decided for the object")
                }
                Verdict::Applies if self.rules[o.rule].action == Action::Unfreeze => beside(
                    o,
                    "applies: unfreeze, which lifts a freeze open on exactly its scope beside the winner (nothing when none is)",
                ),
                Verdict::Applies => {
                    beside(o, "applies: freeze, opened on its scope beside the winner")
                }
                Verdict::Frozen { by } => {
                    format!("{} loses: moves are frozen by {}", name(o.rule), name(by))
                }
                Verdict::Outranked { by } => {
                    let (won, lost) = (self.rules[by].priority, self.rules[o.rule].priority);
                    // A tie goes to the rule written first (files in the order given).
                    let tie = if won == lost {
                        ", the same: the first written wins"
                    } else {
                        ""
                    };
                    format!(
                        "{} loses to {} (priority {won} vs {lost}{tie})",
                        name(o.rule),
                        name(by),
                    )
                }
            };
            lines.push(line);
        }
        lines
    }
}
