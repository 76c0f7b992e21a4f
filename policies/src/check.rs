//! Validation passes over the whole policy set. Each `check_*` collects every problem it finds.

use std::collections::HashMap;

use crate::cond::{Cond, Leaf, Test};
use crate::diag::{Diagnostic, Severity};
use crate::expr::CmpOp;
use crate::model::{Action, Origin, PolicySet, Rule};
use crate::signals::SignalId;

fn push(diags: &mut Vec<Diagnostic>, o: &Origin, severity: Severity, message: String) {
    diags.push(Diagnostic {
        path: o.path.clone(),
        line: o.line,
        col: o.col,
        severity,
        message,
    });
}

/// Two rules with the same id (in one file or across files): an error at each later one, naming the first.
pub fn check_duplicate_ids(ids: &[(String, Origin)], diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Origin> = HashMap::new();
    for (id, origin) in ids {
        match first.get(id.as_str()) {
            Some(f) => push(
                diags,
                origin,
                Severity::Error,
                format!(
                    "rule \"{id}\": duplicate id; the first rule \"{id}\" is at {f}; rename one of them"
                ),
            ),
            None => {
                first.insert(id, origin);
            }
        }
    }
}

/// A literal conjunct of a rule's condition: a leaf or a negated leaf.
fn literal(c: &Cond) -> Option<(usize, bool)> {
    match c {
        Cond::Leaf(i) => Some((*i, true)),
        Cond::Not(inner) => match inner.as_ref() {
            Cond::Leaf(i) => Some((*i, false)),
            _ => None,
        },
        _ => None,
    }
}

/// The set of tiers (as bits) a rule's condition allows, from its top-level conjuncts.
fn tier_bits(rule: &Rule) -> u64 {
    let mut bits = u64::MAX;
    for c in rule.cond.conjuncts() {
        if let Some((i, positive)) = literal(c)
            && let Test::Set {
                sig: SignalId::Tier,
                bits: b,
            } = rule.leaves[i].test
        {
            bits &= if positive { b } else { !b };
        }
    }
    bits
}

/// A move or snapshot whose condition only matches objects already on its destination.
pub fn check_moves_to_current_tier(policy: &PolicySet, diags: &mut Vec<Diagnostic>) {
    let all = if policy.tiers.len() >= 64 {
        u64::MAX
    } else {
        (1u64 << policy.tiers.len()) - 1
    };
    for r in &policy.rules {
        let Some(to) = r.action.target() else {
            continue;
        };
        let bits = tier_bits(r) & all;
        if bits != 0 && bits == 1 << to {
            let t = &policy.tiers[to];
            push(
                diags,
                &r.origin,
                Severity::Error,
                format!(
                    "rule \"{}\": {} to \"{t}\" but its condition only matches objects already on \"{t}\", so it can never act; change action.to or the tier condition",
                    r.id,
                    r.action.kind()
                ),
            );
        } else if bits == 0 {
            push(
                diags,
                &r.origin,
                Severity::Error,
                format!(
                    "rule \"{}\": its tier conditions exclude every tier, so it can never match; fix the tier condition",
                    r.id
                ),
            );
        }
    }
}

/// A numeric interval with open/closed ends.
#[derive(Debug, Clone, Copy)]
struct Interval {
    lo: f64,
    lo_open: bool,
    hi: f64,
    hi_open: bool,
}

impl Interval {
    const ALL: Interval = Interval {
        lo: f64::NEG_INFINITY,
        lo_open: false,
        hi: f64::INFINITY,
        hi_open: false,
    };

    fn meet(self, op: CmpOp, v: f64) -> Interval {
        let mut r = self;
        let lower = |r: &mut Interval, v: f64, open: bool| {
            if v > r.lo || (v == r.lo && open) {
                r.lo = v;
                r.lo_open = open;
            }
        };
        let upper = |r: &mut Interval, v: f64, open: bool| {
            if v < r.hi || (v == r.hi && open) {
                r.hi = v;
                r.hi_open = open;
            }
        };
        match op {
            CmpOp::Gt => lower(&mut r, v, true),
            CmpOp::Ge => lower(&mut r, v, false),
            CmpOp::Lt => upper(&mut r, v, true),
            CmpOp::Le => upper(&mut r, v, false),
            CmpOp::Eq => {
                lower(&mut r, v, false);
                upper(&mut r, v, false);
            }
            CmpOp::Ne => {}
        }
        r
    }

    fn disjoint(self, o: Interval) -> bool {
        let lo =
            |a: Interval, b: Interval| a.hi < b.lo || (a.hi == b.lo && (a.hi_open || b.lo_open));
        lo(self, o) || lo(o, self)
    }

    fn within(self, o: Interval) -> bool {
        let lo_ok = self.lo > o.lo || (self.lo == o.lo && (self.lo_open || !o.lo_open));
        let hi_ok = self.hi < o.hi || (self.hi == o.hi && (self.hi_open || !o.hi_open));
        lo_ok && hi_ok
    }
}

/// What the top-level conjuncts of a rule pin down, per signal.
#[derive(Debug, Default)]
struct Facts {
    num: HashMap<SignalId, Interval>,
    flags: HashMap<SignalId, bool>,
    sets: HashMap<SignalId, u64>,
}

fn facts(rule: &Rule) -> Facts {
    let mut f = Facts::default();
    for c in rule.cond.conjuncts() {
        let Some((i, positive)) = literal(c) else {
            continue;
        };
        match &rule.leaves[i].test {
            Test::Num { sig, op, value } if positive => {
                let e = f.num.entry(*sig).or_insert(Interval::ALL);
                *e = e.meet(*op, *value);
            }
            Test::Bool { sig } => {
                f.flags.insert(*sig, positive);
            }
            Test::Set { sig, bits } => {
                let e = f.sets.entry(*sig).or_insert(u64::MAX);
                *e &= if positive { *bits } else { !*bits };
            }
            _ => {}
        }
    }
    f
}

/// The most time since the last access that a rule's read counts allow: a read counted in
/// `reads_Nd` is within the last `2N` days (the counts are kept per aligned period, the current
/// one and the previous, so the window reaches back at most two periods), so `reads_7d >= 1`
/// means `days_since_last_access < 14d`. In seconds; infinite when no count asks for a read.
fn recent_access_bound(f: &Facts) -> f64 {
    let windows = [
        (SignalId::Reads1d, 1.0),
        (SignalId::Reads7d, 7.0),
        (SignalId::Reads30d, 30.0),
        (SignalId::Reads90d, 90.0),
    ];
    windows
        .iter()
        .filter(|(sig, _)| {
            f.num
                .get(sig)
                .is_some_and(|i| i.lo > 0.0 || (i.lo == 0.0 && i.lo_open))
        })
        .map(|(_, days)| 2.0 * days * 86_400.0)
        .fold(f64::INFINITY, f64::min)
}

/// True if a rule that asks for a recent read and one that asks for a long idle time cannot both
/// hold (`reads_1d >= 3` against `days_since_last_access > 3d`).
fn read_excludes_idle(reads: &Facts, idle: &Facts) -> bool {
    let bound = recent_access_bound(reads);
    idle.num
        .get(&SignalId::DaysSinceLastAccess)
        .is_some_and(|i| i.lo >= bound)
}

/// True if no object can satisfy both rules' conditions at once, judging by their conjuncts.
fn exclusive(a: &Facts, b: &Facts) -> bool {
    read_excludes_idle(a, b)
        || read_excludes_idle(b, a)
        || a.num
            .iter()
            .any(|(s, ia)| b.num.get(s).is_some_and(|ib| ia.disjoint(*ib)))
        || a.flags
            .iter()
            .any(|(s, va)| b.flags.get(s).is_some_and(|vb| va != vb))
        || a.sets
            .iter()
            .any(|(s, ba)| *s != SignalId::Tier && b.sets.get(s).is_some_and(|bb| ba & bb == 0))
}

/// Two move rules that can move the same objects back and forth: a warning on the later one.
pub fn check_ping_pong(policy: &PolicySet, diags: &mut Vec<Diagnostic>) {
    let moves: Vec<(usize, usize)> = policy
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r.action {
            Action::Move { to } => Some((i, to)),
            _ => None,
        })
        .collect();
    for (n, &(ia, ta)) in moves.iter().enumerate() {
        for &(ib, tb) in &moves[n + 1..] {
            let (a, b) = (&policy.rules[ia], &policy.rules[ib]);
            if ta == tb || !a.scope.overlaps(&b.scope) {
                continue;
            }
            // a moves objects from tb's side to ta; b moves them back.
            if tier_bits(a) & (1 << tb) == 0 || tier_bits(b) & (1 << ta) == 0 {
                continue;
            }
            if exclusive(&facts(a), &facts(b)) {
                continue;
            }
            let (x, y) = (&policy.tiers[tb], &policy.tiers[ta]);
            push(
                diags,
                &b.origin,
                Severity::Warning,
                format!(
                    "rules \"{}\" ({}) and \"{}\" may move the same objects back and forth between \"{x}\" and \"{y}\": no condition keeps them apart; give both a threshold on the same signal that cannot hold at once (e.g. days_since_last_access > 90d and days_since_last_access < 1d)",
                    a.id, a.origin, b.id
                ),
            );
        }
    }
}

/// True if leaf `b` (with its polarity) implies leaf `a`.
fn leaf_implies(b: (&Leaf, bool), a: (&Leaf, bool)) -> bool {
    if b.1 != a.1 {
        return false;
    }
    match (&b.0.test, &a.0.test) {
        (
            Test::Num {
                sig: sb,
                op: ob,
                value: vb,
            },
            Test::Num {
                sig: sa,
                op: oa,
                value: va,
            },
        ) if sb == sa && b.1 => {
            let ib = Interval::ALL.meet(*ob, *vb);
            let ia = Interval::ALL.meet(*oa, *va);
            *ob != CmpOp::Ne && *oa != CmpOp::Ne && ib.within(ia)
        }
        (Test::Set { sig: sb, bits: bb }, Test::Set { sig: sa, bits: ba }) if sb == sa => {
            if b.1 {
                bb & !ba == 0
            } else {
                ba & !bb == 0
            }
        }
        (x, y) => x == y,
    }
}

/// True if every object satisfying `b`'s condition satisfies `a`'s (conservative).
fn cond_implies(b: &Rule, a: &Rule) -> bool {
    let bc = b.cond.conjuncts();
    a.cond.conjuncts().iter().all(|ca| match literal(ca) {
        Some((ia, pa)) => bc.iter().any(|cb| {
            literal(cb)
                .is_some_and(|(ib, pb)| leaf_implies((&b.leaves[ib], pb), (&a.leaves[ia], pa)))
        }),
        None => false,
    })
}

/// True if, whenever both match, `a` beats `b` (or blocks it). Alerts never compete; a pin
/// holds moves only; the first matching freeze is opened whatever wins.
fn beats(policy: &PolicySet, a: usize, b: usize) -> bool {
    let (ra, rb) = (&policy.rules[a], &policy.rules[b]);
    let ahead =
        policy.order.iter().position(|&i| i == a) < policy.order.iter().position(|&i| i == b);
    match (&ra.action, &rb.action) {
        (Action::Alert { .. }, _) | (_, Action::Alert { .. }) => false,
        (Action::Pin, Action::Pin) | (Action::Freeze, Action::Freeze) => ahead,
        (Action::Pin | Action::Freeze, Action::Move { .. }) => true,
        (Action::Pin, _) | (_, Action::Pin | Action::Freeze) => false,
        // A move can itself be blocked by a freeze, letting a non-move win.
        (Action::Move { .. }, Action::Move { .. }) => ahead,
        (Action::Move { .. }, _) => false,
        _ => ahead,
    }
}

/// A rule that can never win: a rule that beats it matches every object it matches.
pub fn check_shadowed(policy: &PolicySet, diags: &mut Vec<Diagnostic>) {
    for (b, rb) in policy.rules.iter().enumerate() {
        for (a, ra) in policy.rules.iter().enumerate() {
            if a == b
                || !beats(policy, a, b)
                || !ra.scope.contains(&rb.scope)
                || !cond_implies(rb, ra)
            {
                continue;
            }
            // A move or snapshot never matches objects already on its destination; `b` must exclude them too.
            if let Some(t) = ra.action.target()
                && rb.action.target() != Some(t)
                && tier_bits(rb) & (1 << t) != 0
            {
                continue;
            }
            let how = match (&ra.action, &rb.action) {
                (Action::Pin, Action::Move { .. }) => "pins every object it would move",
                (Action::Pin, _) => "pins every object it matches",
                (Action::Freeze, Action::Move { .. }) => "freezes every object it would move",
                _ => "matches every object it matches and takes precedence",
            };
            // A move loses to a pin or a freeze whatever its priority: raising it cannot help.
            let advice = if rb.action.is_move() && matches!(ra.action, Action::Pin | Action::Freeze)
            {
                format!(
                    "a move loses to it whatever its priority: narrow \"{}\" or \"{}\", or remove \"{}\"",
                    ra.id, rb.id, rb.id
                )
            } else {
                format!(
                    "give \"{}\" a higher priority, narrow \"{}\", or remove \"{}\"",
                    rb.id, ra.id, rb.id
                )
            };
            push(
                diags,
                &rb.origin,
                Severity::Warning,
                format!(
                    "rule \"{}\" can never win: rule \"{}\" (priority {}, {}) {how}; {advice}",
                    rb.id, ra.id, ra.priority, ra.origin
                ),
            );
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_know_when_they_cannot_overlap() {
        let a = Interval::ALL.meet(CmpOp::Gt, 90.0);
        let b = Interval::ALL.meet(CmpOp::Lt, 7.0);
        assert!(a.disjoint(b));
        assert!(!a.disjoint(Interval::ALL.meet(CmpOp::Le, 90.5)));
        assert!(
            Interval::ALL.meet(CmpOp::Le, 90.0).disjoint(a),
            "<= 90 and > 90 touch but do not overlap"
        );
        assert!(Interval::ALL.meet(CmpOp::Gt, 100.0).within(a));
    }
}
