//! Vectorised evaluation over a columnar catalog.
//!
//! Each rule's scope and `when` are evaluated chunk by chunk ([`CHUNK`] objects at a time): a
//! signal is materialised once per chunk into an `f64` buffer, each leaf compares a whole buffer
//! with its threshold into a byte mask, masks are combined by the condition tree, and the
//! conflict semantics of [`crate::eval`] are applied with branch-free selects. The per-row values
//! come from the same functions as the one-object path, so the winners are identical.

use crate::cond::{Cond, Leaf, Test, in_bits};
use crate::expr::CmpOp;
use crate::facts::{BehaviourFacts, ObjectFacts, TimeCtx, elapsed, extension_of, prefix_of};
use crate::model::{Action, PolicySet};
use crate::signals::{SIGNALS, SignalId};

/// Objects per chunk.
pub const CHUNK: usize = 2048;

/// "No rule wins" in the result of [`PolicySet::evaluate_columns`].
pub const NO_RULE: u32 = u32::MAX;

/// The catalog as columns: one `Vec` per field, one row per object.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Distinct bucket names; `bucket` holds indices into it.
    pub bucket_names: Vec<String>,
    pub bucket: Vec<u32>,
    /// Every key, concatenated; key `i` is `keys[key_ends[i-1]..key_ends[i]]` (from 0 for `i = 0`).
    pub keys: String,
    pub key_ends: Vec<usize>,
    /// Distinct tier names; `tier` holds indices into it.
    pub tier_names: Vec<String>,
    pub tier: Vec<u8>,
    pub size: Vec<u64>,
    pub created: Vec<i64>,
    pub last_access: Vec<i64>,
    pub tier_since: Vec<i64>,
    /// Reads over 1, 7, 30, 90 days.
    pub reads: [Vec<u32>; 4],
    /// Writes over 1, 7, 30, 90 days.
    pub writes: [Vec<u32>; 4],
    pub read_back_probability: Vec<f32>,
    pub savings_per_month: Vec<f64>,
    pub read_back_cost_per_month: Vec<f64>,
    /// Behaviour per bucket (indexed like `bucket_names`); a bucket without an entry has the default.
    pub behaviour: Vec<BehaviourFacts>,
}

fn intern(names: &mut Vec<String>, name: &str) -> usize {
    match names.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            names.push(name.to_string());
            names.len() - 1
        }
    }
}

impl Catalog {
    pub fn len(&self) -> usize {
        self.size.len()
    }

    pub fn is_empty(&self) -> bool {
        self.size.is_empty()
    }

    pub fn with_capacity(n: usize) -> Self {
        Catalog {
            bucket: Vec::with_capacity(n),
            key_ends: Vec::with_capacity(n),
            tier: Vec::with_capacity(n),
            size: Vec::with_capacity(n),
            created: Vec::with_capacity(n),
            last_access: Vec::with_capacity(n),
            tier_since: Vec::with_capacity(n),
            reads: [Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n)],
            writes: [Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n)],
            read_back_probability: Vec::with_capacity(n),
            savings_per_month: Vec::with_capacity(n),
            read_back_cost_per_month: Vec::with_capacity(n),
            ..Catalog::default()
        }
    }

    /// Appends one object. Buckets and tiers are interned (at most 256 distinct tiers).
    pub fn push(&mut self, o: &ObjectFacts) {
        let b = intern(&mut self.bucket_names, &o.bucket);
        if self.behaviour.len() < self.bucket_names.len() {
            self.behaviour.resize(self.bucket_names.len(), BehaviourFacts::default());
        }
        self.bucket.push(b as u32);
        self.keys.push_str(&o.key);
        self.key_ends.push(self.keys.len());
        let t = intern(&mut self.tier_names, &o.tier);
        self.tier.push(t.min(255) as u8);
        self.size.push(o.size);
        self.created.push(o.created);
        self.last_access.push(o.last_access);
        self.tier_since.push(o.tier_since);
        for k in 0..4 {
            self.reads[k].push(o.reads[k]);
            self.writes[k].push(o.writes[k]);
        }
        self.read_back_probability.push(o.read_back_probability);
        self.savings_per_month.push(o.savings_per_month);
        self.read_back_cost_per_month.push(o.read_back_cost_per_month);
    }

    /// Sets the behaviour facts of every object in `bucket`.
    pub fn set_behaviour(&mut self, bucket: &str, b: BehaviourFacts) {
        let i = intern(&mut self.bucket_names, bucket);
        if self.behaviour.len() <= i {
            self.behaviour.resize(i + 1, BehaviourFacts::default());
        }
        self.behaviour[i] = b;
    }

    pub fn key(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.keys[start..self.key_ends[i]]
    }

    pub fn behaviour_of(&self, i: usize) -> BehaviourFacts {
        self.behaviour.get(self.bucket[i] as usize).copied().unwrap_or_default()
    }

    /// Row `i` as one object's facts.
    pub fn object(&self, i: usize) -> ObjectFacts {
        ObjectFacts {
            bucket: self.bucket_names[self.bucket[i] as usize].clone(),
            key: self.key(i).to_string(),
            tier: self.tier_names[self.tier[i] as usize].clone(),
            size: self.size[i],
            created: self.created[i],
            last_access: self.last_access[i],
            tier_since: self.tier_since[i],
            reads: [self.reads[0][i], self.reads[1][i], self.reads[2][i], self.reads[3][i]],
            writes: [self.writes[0][i], self.writes[1][i], self.writes[2][i], self.writes[3][i]],
            read_back_probability: self.read_back_probability[i],
            savings_per_month: self.savings_per_month[i],
            read_back_cost_per_month: self.read_back_cost_per_month[i],
        }
    }
}

/// Per-chunk scratch space: signal buffers materialised at most once per chunk.
struct Scratch {
    num: Vec<Vec<f64>>,
    filled: Vec<bool>,
    tier: Vec<u32>,
}

struct Ctx<'a> {
    cat: &'a Catalog,
    time: TimeCtx,
    /// Catalog tier id → policy tier index (`u32::MAX` if not configured).
    tier_map: Vec<u32>,
}

impl Ctx<'_> {
    fn num<'s>(&self, s: &'s mut Scratch, sig: SignalId, rows: std::ops::Range<usize>) -> &'s [f64] {
        let k = sig as usize;
        if !s.filled[k] {
            let out = &mut s.num[k];
            out.clear();
            let c = self.cat;
            let now = self.time.now;
            let r = rows.clone();
            match sig {
                SignalId::Size => out.extend(c.size[r].iter().map(|&v| v as f64)),
                SignalId::Age => out.extend(c.created[r].iter().map(|&t| elapsed(now, t))),
                SignalId::DaysSinceLastAccess => out.extend(c.last_access[r].iter().map(|&t| elapsed(now, t))),
                SignalId::DaysOnTier => out.extend(c.tier_since[r].iter().map(|&t| elapsed(now, t))),
                SignalId::Reads1d => out.extend(c.reads[0][r].iter().map(|&v| f64::from(v))),
                SignalId::Reads7d => out.extend(c.reads[1][r].iter().map(|&v| f64::from(v))),
                SignalId::Reads30d => out.extend(c.reads[2][r].iter().map(|&v| f64::from(v))),
                SignalId::Reads90d => out.extend(c.reads[3][r].iter().map(|&v| f64::from(v))),
                SignalId::Writes1d => out.extend(c.writes[0][r].iter().map(|&v| f64::from(v))),
                SignalId::Writes7d => out.extend(c.writes[1][r].iter().map(|&v| f64::from(v))),
                SignalId::Writes30d => out.extend(c.writes[2][r].iter().map(|&v| f64::from(v))),
                SignalId::Writes90d => out.extend(c.writes[3][r].iter().map(|&v| f64::from(v))),
                SignalId::ReadBackProbability => out.extend(c.read_back_probability[r].iter().map(|&v| f64::from(v))),
                SignalId::SavingsPerMonth => out.extend_from_slice(&c.savings_per_month[r]),
                SignalId::ReadBackCostPerMonth => out.extend_from_slice(&c.read_back_cost_per_month[r]),
                SignalId::PrincipalAnomaly => out.extend(c.bucket[r].iter().map(|&b| f64::from(c.behaviour.get(b as usize).map_or(0.0, |x| x.principal_anomaly)))),
                SignalId::BucketAnomaly => out.extend(c.bucket[r].iter().map(|&b| f64::from(c.behaviour.get(b as usize).map_or(0.0, |x| x.bucket_anomaly)))),
                SignalId::HourOfDay => out.resize(rows.len(), f64::from(self.time.hour)),
                SignalId::Now => out.resize(rows.len(), now as f64),
                _ => out.resize(rows.len(), f64::NAN),
            }
            s.filled[k] = true;
        }
        &s.num[k]
    }

    fn leaf(&self, s: &mut Scratch, leaf: &Leaf, rows: std::ops::Range<usize>, out: &mut Vec<u8>) {
        out.clear();
        let c = self.cat;
        match &leaf.test {
            Test::Num { sig, op, value } => {
                let v = *value;
                let buf = self.num(s, *sig, rows);
                macro_rules! cmp {
                    ($e:expr) => {
                        out.extend(buf.iter().map(|&x| u8::from($e(x))))
                    };
                }
                match op {
                    CmpOp::Eq => cmp!(|x: f64| x == v),
                    CmpOp::Ne => cmp!(|x: f64| x != v),
                    CmpOp::Lt => cmp!(|x: f64| x < v),
                    CmpOp::Le => cmp!(|x: f64| x <= v),
                    CmpOp::Gt => cmp!(|x: f64| x > v),
                    CmpOp::Ge => cmp!(|x: f64| x >= v),
                }
            }
            Test::NumSig { a, op, b } => {
                let a = self.num(s, *a, rows.clone()).to_vec();
                let b = self.num(s, *b, rows);
                out.extend(a.iter().zip(b).map(|(&x, &y)| u8::from(op.apply(x, y))));
            }
            Test::Bool { sig } => {
                out.extend(c.bucket[rows].iter().map(|&b| u8::from(c.behaviour.get(b as usize).is_some_and(|x| x.flag(*sig)))));
            }
            Test::Set { sig, bits } => match sig {
                SignalId::Tier => out.extend(s.tier.iter().map(|&t| u8::from(in_bits(*bits, t)))),
                SignalId::Weekday => out.resize(rows.len(), u8::from(in_bits(*bits, self.time.weekday))),
                SignalId::HourOfDay => out.resize(rows.len(), u8::from(in_bits(*bits, self.time.hour))),
                _ => out.resize(rows.len(), 0),
            },
            Test::TextEq { sig, value } => out.extend(rows.map(|i| u8::from(self.text(*sig, i, |t| t == value.as_str())))),
            Test::TextIn { sig, values } => out.extend(rows.map(|i| u8::from(self.text(*sig, i, |t| values.iter().any(|v| v == t))))),
            Test::Glob { sig, glob } => out.extend(rows.map(|i| u8::from(self.text(*sig, i, |t| glob.is_match(t))))),
        }
    }

    fn text(&self, sig: SignalId, i: usize, f: impl Fn(&str) -> bool) -> bool {
        let c = self.cat;
        match sig {
            SignalId::Bucket => f(&c.bucket_names[c.bucket[i] as usize]),
            SignalId::Key => f(c.key(i)),
            SignalId::Prefix => f(prefix_of(c.key(i))),
            SignalId::Extension => f(&extension_of(c.key(i))),
            _ => f(""),
        }
    }
}

/// Evaluates a condition tree over leaf masks into `out`.
fn tree(cond: &Cond, leaves: &[Vec<u8>], n: usize, out: &mut Vec<u8>) {
    out.clear();
    match cond {
        Cond::Const(b) => out.resize(n, u8::from(*b)),
        Cond::Leaf(i) => out.extend_from_slice(&leaves[*i]),
        Cond::Not(c) => {
            tree(c, leaves, n, out);
            out.iter_mut().for_each(|x| *x ^= 1);
        }
        Cond::And(items) | Cond::Or(items) => {
            let and = matches!(cond, Cond::And(_));
            out.resize(n, u8::from(and));
            let mut tmp = Vec::with_capacity(n);
            for c in items {
                tree(c, leaves, n, &mut tmp);
                if and {
                    out.iter_mut().zip(&tmp).for_each(|(o, t)| *o &= t);
                } else {
                    out.iter_mut().zip(&tmp).for_each(|(o, t)| *o |= t);
                }
            }
        }
    }
}

impl PolicySet {
    /// Evaluates every object of the catalog at `now`: for row `i`, the index of the winning rule
    /// (into [`PolicySet::rules`]) or [`NO_RULE`].
    ///
    /// # Guarantees
    /// Row `i`'s winner equals `self.evaluate(&cat.object(i), &cat.behaviour_of(i), now).winner`.
    pub fn evaluate_columns(&self, cat: &Catalog, now: i64) -> Vec<u32> {
        let ctx = Ctx { cat, time: TimeCtx::at(now), tier_map: cat.tier_names.iter().map(|t| self.tier_id(t)).collect() };
        let bucket_ok: Vec<Vec<bool>> = self
            .rules
            .iter()
            .map(|r| cat.bucket_names.iter().map(|b| r.scope.bucket.as_deref().is_none_or(|s| s == b)).collect())
            .collect();
        let mut scratch = Scratch { num: vec![Vec::with_capacity(CHUNK); SIGNALS.len()], filled: vec![false; SIGNALS.len()], tier: Vec::with_capacity(CHUNK) };
        let mut result = Vec::with_capacity(cat.len());
        let (mut best_pin, mut best_nonmove, mut best_any, mut frozen) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut mask = Vec::with_capacity(CHUNK);
        let mut leaf_masks: Vec<Vec<u8>> = Vec::new();
        let mut start = 0;
        while start < cat.len() {
            let end = (start + CHUNK).min(cat.len());
            let n = end - start;
            scratch.filled.iter_mut().for_each(|f| *f = false);
            scratch.tier.clear();
            scratch.tier.extend(cat.tier[start..end].iter().map(|&t| ctx.tier_map.get(t as usize).copied().unwrap_or(u32::MAX)));
            for v in [&mut best_pin, &mut best_nonmove, &mut best_any] {
                v.clear();
                v.resize(n, NO_RULE);
            }
            frozen.clear();
            frozen.resize(n, 0u8);
            for &ri in self.order.iter().rev() {
                let rule = &self.rules[ri];
                // Scope and destination first; skip the condition when nothing in the chunk is in scope.
                mask.clear();
                let ok = &bucket_ok[ri];
                mask.extend(cat.bucket[start..end].iter().map(|&b| u8::from(ok[b as usize])));
                if let Some(p) = &rule.scope.prefix {
                    for (j, m) in mask.iter_mut().enumerate() {
                        *m &= u8::from(cat.key(start + j).starts_with(p.as_str()));
                    }
                }
                if let Some(g) = &rule.scope.glob {
                    for (j, m) in mask.iter_mut().enumerate() {
                        if *m != 0 {
                            *m = u8::from(g.is_match(cat.key(start + j)));
                        }
                    }
                }
                if let Some(t) = rule.action.target() {
                    mask.iter_mut().zip(&scratch.tier).for_each(|(m, &x)| *m &= u8::from(x != t as u32));
                }
                if mask.iter().all(|&m| m == 0) {
                    continue;
                }
                if !matches!(rule.cond, Cond::Const(true)) {
                    leaf_masks.resize_with(rule.leaves.len().max(leaf_masks.len()), Vec::new);
                    for (l, out) in rule.leaves.iter().zip(leaf_masks.iter_mut()) {
                        ctx.leaf(&mut scratch, l, start..end, out);
                    }
                    let mut c = Vec::with_capacity(n);
                    tree(&rule.cond, &leaf_masks[..rule.leaves.len()], n, &mut c);
                    mask.iter_mut().zip(&c).for_each(|(m, x)| *m &= x);
                }
                let id = ri as u32;
                let (is_pin, is_freeze, is_move) = (rule.action == Action::Pin, rule.action == Action::Freeze, rule.action.is_move());
                for j in 0..n {
                    let m = mask[j] != 0;
                    best_any[j] = if m { id } else { best_any[j] };
                    if !is_move {
                        best_nonmove[j] = if m { id } else { best_nonmove[j] };
                    }
                    if is_pin {
                        best_pin[j] = if m { id } else { best_pin[j] };
                    }
                    if is_freeze {
                        frozen[j] |= mask[j];
                    }
                }
            }
            for j in 0..n {
                result.push(if best_pin[j] != NO_RULE {
                    best_pin[j]
                } else if frozen[j] != 0 {
                    best_nonmove[j]
                } else {
                    best_any[j]
                });
            }
            start = end;
        }
        result
    }
}
