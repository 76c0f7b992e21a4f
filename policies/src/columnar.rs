//! Vectorised evaluation over a columnar catalog.
//!
//! The catalog is processed chunk by chunk ([`CHUNK`] objects at a time). For each rule, a
//! selection vector of the chunk's rows in scope is built (bucket, then prefix, glob and
//! destination), then narrowed by the rule's `when`: each conjunct filters only the survivors of
//! the previous one, with numeric signals materialised once per chunk into `f64` buffers and
//! compared in tight loops. The conflict semantics of [`crate::eval`] are then applied per row. The per-row values
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

/// Per-row results of the columnar evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnEvaluation {
    /// The winning rule of each row, or [`NO_RULE`].
    pub winners: Vec<u32>,
    /// The first matching freeze of each row in precedence order, or [`NO_RULE`].
    pub frozen_by: Vec<u32>,
    /// The first matching unfreeze of each row in precedence order, where no freeze matches the
    /// row, or [`NO_RULE`]: it lifts a freeze on its scope beside the row's winner (a rule of
    /// higher priority, such as a daily snapshot of the bucket, must not keep a freeze forever).
    pub unfrozen_by: Vec<u32>,
    /// The move rule that would have won each row a matching freeze holds (the first matching
    /// move in precedence order, when no pin matches), or [`NO_RULE`]: a move held back by a
    /// freeze, for the planner to count.
    pub move_held_by_freeze: Vec<u32>,
    /// `(row, rule)` for every matching alert, by row, then precedence: alerts never compete,
    /// so each fires beside the row's winner.
    pub alerts: Vec<(u32, u32)>,
}

impl ColumnEvaluation {
    /// The alert rules matching row `row`, in precedence order.
    pub fn alerts_of(&self, row: u32) -> impl Iterator<Item = u32> + '_ {
        let start = self.alerts.partition_point(|&(r, _)| r < row);
        self.alerts[start..]
            .iter()
            .take_while(move |&&(r, _)| r == row)
            .map(|&(_, rule)| rule)
    }
}

/// The catalog as columns: one `Vec` per field, one row per object.
///
/// Build it with [`Catalog::push`] (or fill the columns directly, keeping them the same length).
///
/// # Panics
/// The evaluator panics if the columns have different lengths or hold a bucket id without a name.
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
            reads: [
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            ],
            writes: [
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n),
            ],
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
            self.behaviour
                .resize(self.bucket_names.len(), BehaviourFacts::default());
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
        self.read_back_cost_per_month
            .push(o.read_back_cost_per_month);
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
        self.behaviour
            .get(self.bucket[i] as usize)
            .copied()
            .unwrap_or_default()
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
            reads: [
                self.reads[0][i],
                self.reads[1][i],
                self.reads[2][i],
                self.reads[3][i],
            ],
            writes: [
                self.writes[0][i],
                self.writes[1][i],
                self.writes[2][i],
                self.writes[3][i],
            ],
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
    /// Policy tier index of each row of the chunk.
    tier: Vec<u32>,
}

/// The value per bucket of the condition [`Ctx::filter_by_bucket`] is filtering with, so that it
/// is evaluated once per bucket and chunk, not once per row.
#[derive(Default)]
struct BucketMemo {
    /// Per bucket id: (generation, value); a value counts only if stamped with `generation`.
    values: Vec<(u32, bool)>,
    generation: u32,
}

impl BucketMemo {
    /// Forgets every value (in O(1)); `buckets` ids follow.
    fn reset(&mut self, buckets: usize) {
        if self.values.len() < buckets {
            self.values.resize(buckets, (0, false));
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            // Wrapped: clear the stamps so that none is mistaken for the new generation.
            self.values.iter_mut().for_each(|v| v.0 = 0);
            self.generation = 1;
        }
    }
}

/// True for the signals with one value per bucket (or per pass): the behaviour's, the clock's
/// and the bucket's name. A condition reading only these has one value per bucket.
fn per_bucket(sig: SignalId) -> bool {
    matches!(
        sig,
        SignalId::Bucket
            | SignalId::PrincipalAnomaly
            | SignalId::BucketAnomaly
            | SignalId::IncidentOpen
            | SignalId::PrincipalIsNew
            | SignalId::SourceIpIsNew
            | SignalId::BucketConfigChanged
            | SignalId::LifecycleChanged
            | SignalId::BucketPolicyChanged
            | SignalId::VersioningChanged
            | SignalId::ObjectLockChanged
            | SignalId::HourOfDay
            | SignalId::Weekday
            | SignalId::Now
    )
}

/// How much of a rule's condition has one value per bucket: decided once per bucket of a chunk
/// before any row is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// The whole condition.
    Whole,
    /// The first `n` conjuncts of a conjunction.
    Leading(usize),
    /// None of it.
    None,
}

impl Gate {
    fn of(cond: &Cond, leaves: &[Leaf]) -> Gate {
        match cond {
            Cond::Const(_) => Gate::None,
            c if cond_per_bucket(c, leaves) => Gate::Whole,
            Cond::And(items) => match items
                .iter()
                .take_while(|c| cond_per_bucket(c, leaves))
                .count()
            {
                0 => Gate::None,
                n => Gate::Leading(n),
            },
            _ => Gate::None,
        }
    }

    /// (the per-bucket conjuncts, the rest).
    fn split(self, cond: &Cond) -> (&[Cond], &[Cond]) {
        match (self, cond) {
            (Gate::Whole, c) => (std::slice::from_ref(c), &[]),
            (Gate::Leading(n), Cond::And(items)) => items.split_at(n.min(items.len())),
            (_, c) => (&[], std::slice::from_ref(c)),
        }
    }
}

/// Whether `cond` has the same value for every object of a bucket.
fn cond_per_bucket(cond: &Cond, leaves: &[Leaf]) -> bool {
    match cond {
        Cond::Const(_) => true,
        Cond::Leaf(i) => match &leaves[*i].test {
            // Flags come from the bucket's behaviour whatever the signal.
            Test::Bool { .. } => true,
            Test::NumSig { a, b, .. } => per_bucket(*a) && per_bucket(*b),
            Test::Num { sig, .. }
            | Test::Set { sig, .. }
            | Test::TextEq { sig, .. }
            | Test::TextIn { sig, .. }
            | Test::Glob { sig, .. } => per_bucket(*sig),
        },
        Cond::Not(c) => cond_per_bucket(c, leaves),
        Cond::And(items) | Cond::Or(items) => items.iter().all(|c| cond_per_bucket(c, leaves)),
    }
}

struct Ctx<'a> {
    cat: &'a Catalog,
    time: TimeCtx,
    /// Catalog tier id → policy tier index (`u32::MAX` if not configured).
    tier_map: Vec<u32>,
}

impl Ctx<'_> {
    /// Materialises a numeric signal for the rows of the chunk, once per chunk.
    fn ensure(&self, s: &mut Scratch, sig: SignalId, rows: std::ops::Range<usize>) {
        let k = sig as usize;
        if s.filled[k] {
            return;
        }
        let out = &mut s.num[k];
        out.clear();
        let c = self.cat;
        let now = self.time.now;
        let n = rows.len();
        let r = rows;
        match sig {
            SignalId::Size => out.extend(c.size[r].iter().map(|&v| v as f64)),
            SignalId::Age => out.extend(c.created[r].iter().map(|&t| elapsed(now, t))),
            SignalId::DaysSinceLastAccess => {
                out.extend(c.last_access[r].iter().map(|&t| elapsed(now, t)))
            }
            SignalId::DaysOnTier => out.extend(c.tier_since[r].iter().map(|&t| elapsed(now, t))),
            SignalId::Reads1d => out.extend(c.reads[0][r].iter().map(|&v| f64::from(v))),
            SignalId::Reads7d => out.extend(c.reads[1][r].iter().map(|&v| f64::from(v))),
            SignalId::Reads30d => out.extend(c.reads[2][r].iter().map(|&v| f64::from(v))),
            SignalId::Reads90d => out.extend(c.reads[3][r].iter().map(|&v| f64::from(v))),
            SignalId::Writes1d => out.extend(c.writes[0][r].iter().map(|&v| f64::from(v))),
            SignalId::Writes7d => out.extend(c.writes[1][r].iter().map(|&v| f64::from(v))),
            SignalId::Writes30d => out.extend(c.writes[2][r].iter().map(|&v| f64::from(v))),
            SignalId::Writes90d => out.extend(c.writes[3][r].iter().map(|&v| f64::from(v))),
            SignalId::ReadBackProbability => {
                out.extend(c.read_back_probability[r].iter().map(|&v| f64::from(v)))
            }
            SignalId::SavingsPerMonth => out.extend_from_slice(&c.savings_per_month[r]),
            SignalId::ReadBackCostPerMonth => out.extend_from_slice(&c.read_back_cost_per_month[r]),
            SignalId::PrincipalAnomaly => out.extend(c.bucket[r].iter().map(|&b| {
                f64::from(
                    c.behaviour
                        .get(b as usize)
                        .map_or(0.0, |x| x.principal_anomaly),
                )
            })),
            SignalId::BucketAnomaly => out.extend(c.bucket[r].iter().map(|&b| {
                f64::from(
                    c.behaviour
                        .get(b as usize)
                        .map_or(0.0, |x| x.bucket_anomaly),
                )
            })),
            SignalId::HourOfDay => out.resize(n, f64::from(self.time.hour)),
            SignalId::Now => out.resize(n, now as f64),
            _ => out.resize(n, f64::NAN),
        }
        s.filled[k] = true;
    }

    /// Materialises every numeric signal a rule's leaves read.
    fn ensure_leaves(&self, s: &mut Scratch, leaves: &[Leaf], rows: std::ops::Range<usize>) {
        for l in leaves {
            match &l.test {
                Test::Num { sig, .. } => self.ensure(s, *sig, rows.clone()),
                Test::NumSig { a, b, .. } => {
                    self.ensure(s, *a, rows.clone());
                    self.ensure(s, *b, rows.clone());
                }
                _ => {}
            }
        }
    }

    /// One leaf on row `j` of the chunk starting at `start` (signals already materialised).
    #[inline]
    fn leaf_at(&self, s: &Scratch, leaf: &Leaf, start: usize, j: usize) -> bool {
        let c = self.cat;
        match &leaf.test {
            Test::Num { sig, op, value } => op.apply(s.num[*sig as usize][j], *value),
            Test::NumSig { a, op, b } => op.apply(s.num[*a as usize][j], s.num[*b as usize][j]),
            Test::Bool { sig } => c
                .behaviour
                .get(c.bucket[start + j] as usize)
                .is_some_and(|x| x.flag(*sig)),
            Test::Set { sig, bits } => match sig {
                SignalId::Tier => in_bits(*bits, s.tier[j]),
                SignalId::Weekday => in_bits(*bits, self.time.weekday),
                SignalId::HourOfDay => in_bits(*bits, self.time.hour),
                _ => false,
            },
            Test::TextEq { sig, value } => self.text(*sig, start + j, |t| t == value.as_str()),
            Test::TextIn { sig, values } => {
                self.text(*sig, start + j, |t| values.iter().any(|v| v == t))
            }
            Test::Glob { sig, glob } => self.text(*sig, start + j, |t| glob.is_match(t)),
        }
    }

    /// Keeps in `sel` only the rows where a leaf holds; numeric comparisons run as tight loops.
    fn filter_leaf(&self, s: &Scratch, leaf: &Leaf, start: usize, sel: &mut Vec<u32>) {
        if let Test::Num { sig, op, value } = &leaf.test {
            let buf = &s.num[*sig as usize];
            let v = *value;
            macro_rules! keep {
                ($e:expr) => {
                    sel.retain(|&j| $e(buf[j as usize]))
                };
            }
            match op {
                CmpOp::Eq => keep!(|x: f64| x == v),
                CmpOp::Ne => keep!(|x: f64| x != v),
                CmpOp::Lt => keep!(|x: f64| x < v),
                CmpOp::Le => keep!(|x: f64| x <= v),
                CmpOp::Gt => keep!(|x: f64| x > v),
                CmpOp::Ge => keep!(|x: f64| x >= v),
            }
        } else {
            sel.retain(|&j| self.leaf_at(s, leaf, start, j as usize));
        }
    }

    /// A whole condition on one row.
    fn cond_at(&self, s: &Scratch, cond: &Cond, leaves: &[Leaf], start: usize, j: usize) -> bool {
        match cond {
            Cond::Const(b) => *b,
            Cond::Leaf(i) => self.leaf_at(s, &leaves[*i], start, j),
            Cond::Not(c) => !self.cond_at(s, c, leaves, start, j),
            Cond::And(items) => items.iter().all(|c| self.cond_at(s, c, leaves, start, j)),
            Cond::Or(items) => items.iter().any(|c| self.cond_at(s, c, leaves, start, j)),
        }
    }

    /// Narrows the selection to the rows where `cond` holds: a condition with one value per
    /// bucket is evaluated once per bucket; conjunctions filter one after the other (each only
    /// over the survivors); anything else is evaluated row by row.
    fn filter(
        &self,
        s: &Scratch,
        memo: &mut BucketMemo,
        cond: &Cond,
        leaves: &[Leaf],
        start: usize,
        sel: &mut Vec<u32>,
    ) {
        if !matches!(cond, Cond::Const(_)) && cond_per_bucket(cond, leaves) {
            self.filter_by_bucket(s, memo, cond, leaves, start, sel);
            return;
        }
        match cond {
            Cond::Const(true) => {}
            Cond::Const(false) => sel.clear(),
            Cond::Leaf(i) => self.filter_leaf(s, &leaves[*i], start, sel),
            Cond::And(items) => {
                for c in items {
                    if sel.is_empty() {
                        return;
                    }
                    self.filter(s, memo, c, leaves, start, sel);
                }
            }
            other => sel.retain(|&j| self.cond_at(s, other, leaves, start, j as usize)),
        }
    }

    /// [`Ctx::filter`] for a condition with one value per bucket: evaluated on the first row of
    /// each bucket met, then looked up.
    fn filter_by_bucket(
        &self,
        s: &Scratch,
        memo: &mut BucketMemo,
        cond: &Cond,
        leaves: &[Leaf],
        start: usize,
        sel: &mut Vec<u32>,
    ) {
        let buckets = &self.cat.bucket;
        memo.reset(self.cat.bucket_names.len());
        let generation = memo.generation;
        sel.retain(|&j| {
            let m = &mut memo.values[buckets[start + j as usize] as usize];
            if m.0 != generation {
                *m = (generation, self.cond_at(s, cond, leaves, start, j as usize));
            }
            m.1
        });
    }

    /// Decides the conjuncts `gate` for each bucket of `present` (bucket ids with their rows in
    /// the chunk, at least one each), on the bucket's first row; the values are left in `memo`.
    /// Returns whether they hold for any bucket, and for all.
    fn decide_buckets<'b>(
        &self,
        s: &Scratch,
        memo: &mut BucketMemo,
        gate: &[Cond],
        leaves: &[Leaf],
        start: usize,
        present: impl Iterator<Item = (usize, &'b [u32])>,
    ) -> (bool, bool) {
        memo.reset(self.cat.bucket_names.len());
        let (mut any, mut all) = (false, true);
        for (b, rows) in present {
            let Some(&j) = rows.first() else {
                continue;
            };
            let holds = gate
                .iter()
                .all(|c| self.cond_at(s, c, leaves, start, j as usize));
            memo.values[b] = (memo.generation, holds);
            any |= holds;
            all &= holds;
        }
        (any, all)
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

impl PolicySet {
    /// Evaluates every object of the catalog at `now`: for row `i`, the index of the winning rule
    /// (into [`PolicySet::rules`]) or [`NO_RULE`].
    ///
    /// # Guarantees
    /// Row `i`'s winner equals `self.evaluate(&cat.object(i), &cat.behaviour_of(i), now).winner`.
    pub fn evaluate_columns(&self, cat: &Catalog, now: i64) -> Vec<u32> {
        self.evaluate_columns_detailed(cat, now).winners
    }

    /// As [`PolicySet::evaluate_columns`], also giving, per row, the first matching freeze in
    /// precedence order (whether or not it won), which the planner opens on its scope, and the
    /// matching alerts, which fire beside the winner.
    ///
    /// # Guarantees
    /// Row `i` equals `winner`, `frozen_by`, `unfrozen_by` and `alerts` of the one-object
    /// [`PolicySet::evaluate`].
    pub fn evaluate_columns_detailed(&self, cat: &Catalog, now: i64) -> ColumnEvaluation {
        let ctx = Ctx {
            cat,
            time: TimeCtx::at(now),
            tier_map: cat.tier_names.iter().map(|t| self.tier_id(t)).collect(),
        };
        // Per rule: `None` = every bucket, `Some(None)` = a bucket absent from the catalog, `Some(Some(id))`.
        let bucket_of: Vec<Option<Option<usize>>> = self
            .rules
            .iter()
            .map(|r| {
                r.scope
                    .bucket
                    .as_deref()
                    .map(|b| cat.bucket_names.iter().position(|n| n == b))
            })
            .collect();
        let gates: Vec<Gate> = self
            .rules
            .iter()
            .map(|r| Gate::of(&r.cond, &r.leaves))
            .collect();
        let mut by_bucket: Vec<Vec<u32>> = vec![Vec::new(); cat.bucket_names.len()];
        // Bucket ids with rows in the chunk.
        let mut present: Vec<usize> = Vec::new();
        let mut scratch = Scratch {
            num: vec![Vec::with_capacity(CHUNK); SIGNALS.len()],
            filled: vec![false; SIGNALS.len()],
            tier: Vec::with_capacity(CHUNK),
        };
        let mut result = Vec::with_capacity(cat.len());
        // Per row of a chunk, the first match in precedence order of: a pin; a freeze, snapshot
        // or unfreeze; any rule but a pin or an alert; a move; a freeze.
        let (mut best_pin, mut best_nonmove, mut best_any) = (Vec::new(), Vec::new(), Vec::new());
        let mut best_move: Vec<u32> = Vec::new();
        let mut frozen: Vec<u32> = Vec::new();
        let mut unfrozen: Vec<u32> = Vec::new();
        let mut frozen_by = Vec::with_capacity(cat.len());
        let mut unfrozen_by = Vec::with_capacity(cat.len());
        let mut move_held_by_freeze = Vec::with_capacity(cat.len());
        let mut alerts: Vec<(u32, u32)> = Vec::new();
        let mut rank = vec![0; self.rules.len()];
        for (p, &r) in self.order.iter().enumerate() {
            rank[r] = p;
        }
        let mut sel: Vec<u32> = Vec::with_capacity(CHUNK);
        let mut memo = BucketMemo::default();
        let mut start = 0;
        while start < cat.len() {
            let end = (start + CHUNK).min(cat.len());
            let n = end - start;
            scratch.filled.iter_mut().for_each(|f| *f = false);
            scratch.tier.clear();
            scratch.tier.extend(
                cat.tier[start..end]
                    .iter()
                    .map(|&t| ctx.tier_map.get(t as usize).copied().unwrap_or(u32::MAX)),
            );
            for v in [
                &mut best_pin,
                &mut best_nonmove,
                &mut best_any,
                &mut best_move,
            ] {
                v.clear();
                v.resize(n, NO_RULE);
            }
            frozen.clear();
            frozen.resize(n, NO_RULE);
            unfrozen.clear();
            unfrozen.resize(n, NO_RULE);
            by_bucket.iter_mut().for_each(Vec::clear);
            present.clear();
            for (j, &b) in cat.bucket[start..end].iter().enumerate() {
                if by_bucket[b as usize].is_empty() {
                    present.push(b as usize);
                }
                by_bucket[b as usize].push(j as u32);
            }
            let chunk_alerts = alerts.len();
            // Lowest precedence first, so that later (higher-precedence) matches overwrite.
            for &ri in self.order.iter().rev() {
                let rule = &self.rules[ri];
                let (gate, rest) = gates[ri].split(&rule.cond);
                sel.clear();
                if gate.is_empty() {
                    match bucket_of[ri] {
                        None => sel.extend(0..n as u32),
                        Some(Some(b)) => sel.extend_from_slice(&by_bucket[b]),
                        Some(None) => continue,
                    }
                } else {
                    // The per-bucket conjuncts first: a bucket where they fail selects nothing.
                    ctx.ensure_leaves(&mut scratch, &rule.leaves, start..end);
                    let (any, all) = match bucket_of[ri] {
                        None => ctx.decide_buckets(
                            &scratch,
                            &mut memo,
                            gate,
                            &rule.leaves,
                            start,
                            present.iter().map(|&b| (b, by_bucket[b].as_slice())),
                        ),
                        Some(Some(b)) => ctx.decide_buckets(
                            &scratch,
                            &mut memo,
                            gate,
                            &rule.leaves,
                            start,
                            std::iter::once((b, by_bucket[b].as_slice())),
                        ),
                        Some(None) => continue,
                    };
                    if !any {
                        continue;
                    }
                    match bucket_of[ri] {
                        Some(Some(b)) => sel.extend_from_slice(&by_bucket[b]),
                        _ => {
                            sel.extend(0..n as u32);
                            if !all {
                                let bucket = &cat.bucket[start..end];
                                sel.retain(|&j| memo.values[bucket[j as usize] as usize].1);
                            }
                        }
                    }
                }
                if let Some(p) = &rule.scope.prefix {
                    sel.retain(|&j| cat.key(start + j as usize).starts_with(p.as_str()));
                }
                if let Some(g) = &rule.scope.glob {
                    sel.retain(|&j| g.is_match(cat.key(start + j as usize)));
                }
                if let Some(t) = rule.action.target() {
                    sel.retain(|&j| scratch.tier[j as usize] != t as u32);
                }
                if sel.is_empty() {
                    continue;
                }
                ctx.ensure_leaves(&mut scratch, &rule.leaves, start..end);
                for c in rest {
                    if sel.is_empty() {
                        break;
                    }
                    ctx.filter(&scratch, &mut memo, c, &rule.leaves, start, &mut sel);
                }
                let id = ri as u32;
                if rule.action.is_alert() {
                    // Alerts never compete: every match is kept, beside the winner.
                    alerts.extend(sel.iter().map(|&j| ((start + j as usize) as u32, id)));
                    continue;
                }
                let (is_pin, is_freeze, is_move) = (
                    rule.action == Action::Pin,
                    rule.action == Action::Freeze,
                    rule.action.is_move(),
                );
                let is_unfreeze = rule.action == Action::Unfreeze;
                for &j in &sel {
                    let j = j as usize;
                    if is_pin {
                        best_pin[j] = id;
                        continue;
                    }
                    best_any[j] = id;
                    if is_move {
                        best_move[j] = id;
                    } else {
                        best_nonmove[j] = id;
                    }
                    if is_freeze {
                        frozen[j] = id;
                    }
                    if is_unfreeze {
                        unfrozen[j] = id;
                    }
                }
            }
            // This chunk's alerts, by row then precedence (they were found rule by rule).
            alerts[chunk_alerts..].sort_unstable_by_key(|&(r, rule)| (r, rank[rule as usize]));
            for j in 0..n {
                let (pin, freeze) = (best_pin[j], frozen[j]);
                // A freeze that matches the row holds: no unfreeze of it lifts one.
                unfrozen_by.push(if freeze == NO_RULE {
                    unfrozen[j]
                } else {
                    NO_RULE
                });
                move_held_by_freeze.push(if pin == NO_RULE && freeze != NO_RULE {
                    best_move[j]
                } else {
                    NO_RULE
                });
                // A pin or a freeze holds moves; a pin wins only where nothing else matches.
                let best = if pin != NO_RULE || freeze != NO_RULE {
                    best_nonmove[j]
                } else {
                    best_any[j]
                };
                result.push(if best == NO_RULE { pin } else { best });
            }
            frozen_by.extend_from_slice(&frozen);
            start = end;
        }
        ColumnEvaluation {
            winners: result,
            frozen_by,
            unfrozen_by,
            move_held_by_freeze,
            alerts,
        }
    }
}
