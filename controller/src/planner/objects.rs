//! The planner's object table: every object seen in the logs (or listed), where it is, and its
//! access history, kept as the columns the policy evaluator reads ([`policies::Catalog`]).
//!
//! Access counts over 1, 7, 30 and 90 days are estimated per object from two aligned periods per
//! window (the current one and the previous one, weighted by how much of the window it still
//! covers): 36 bytes per object instead of a timestamp per access. Counts are exact while all of
//! an object's accesses fall in the current period and approximate across a period boundary.

use std::collections::HashMap;

use models::{AccessEvent, OpClass};
use policies::Catalog;

use super::readback::Estimator;
pub use super::readback::{ReadBack, SIGNAL_DAYS, SavedGaps};

/// Window lengths of the read and write counts, days.
pub const WINDOWS_DAYS: [i64; 4] = [1, 7, 30, 90];

/// Per-object access counts in aligned periods.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counts {
    /// Day (since the epoch) of the last update.
    day: i64,
    /// `[window][0 = current period, 1 = previous period]`.
    reads: [[u16; 2]; 4],
    writes: [[u16; 2]; 4],
}

impl Counts {
    fn roll(&mut self, day: i64) {
        for (w, len) in WINDOWS_DAYS.iter().enumerate() {
            let (then, now) = (self.day.div_euclid(*len), day.div_euclid(*len));
            if now == then + 1 {
                self.reads[w] = [0, self.reads[w][0]];
                self.writes[w] = [0, self.writes[w][0]];
            } else if now > then + 1 {
                self.reads[w] = [0, 0];
                self.writes[w] = [0, 0];
            }
        }
        self.day = self.day.max(day);
    }

    fn bump(&mut self, t: i64, read: bool) {
        let day = t.div_euclid(86_400);
        if day < self.day {
            // A late event: count it in the current period (never lose it).
        } else {
            self.roll(day);
        }
        let c = if read {
            &mut self.reads
        } else {
            &mut self.writes
        };
        for w in c.iter_mut() {
            w[0] = w[0].saturating_add(1);
        }
    }

    /// The estimated read and write counts over the last `WINDOWS_DAYS[w]` days at the clock `c`.
    fn estimate(&self, c: &Clock) -> ([u32; 4], [u32; 4]) {
        let mut reads = [0u32; 4];
        let mut writes = [0u32; 4];
        for (w, len) in WINDOWS_DAYS.iter().enumerate() {
            if c.day - self.day >= *len {
                // Every counted access is older than the window.
                continue;
            }
            // The period of the last update against the clock's (comparisons with the clock's
            // period bounds rather than a division per object and window).
            let start = c.period_start[w];
            let (same, next) = if self.day >= start {
                (self.day < start + len, false)
            } else {
                (false, self.day >= start - len)
            };
            let weight = 1.0 - c.into[w];
            let pick = |x: &[[u16; 2]; 4]| -> u32 {
                let (current, previous) = if same {
                    (x[w][0], x[w][1])
                } else if next {
                    (0, x[w][0])
                } else {
                    (0, 0)
                };
                if previous == 0 {
                    return u32::from(current);
                }
                u32::from(current) + (f64::from(previous) * weight + 0.5) as u32
            };
            reads[w] = pick(&self.reads);
            writes[w] = pick(&self.writes);
        }
        (reads, writes)
    }
}

/// The calendar of one refresh, computed once: today, each window's current period and how far
/// into it `now` is.
#[derive(Debug, Clone, Copy)]
struct Clock {
    day: i64,
    /// First day of each window's current period.
    period_start: [i64; 4],
    into: [f64; 4],
}

impl Clock {
    fn at(now: i64) -> Clock {
        let day = now.div_euclid(86_400);
        let mut period_start = [0; 4];
        let mut into = [0.0; 4];
        for (w, len) in WINDOWS_DAYS.iter().enumerate() {
            period_start[w] = day.div_euclid(*len) * len;
            let secs = len * 86_400;
            into[w] = now.rem_euclid(secs) as f64 / secs as f64;
        }
        Clock {
            day,
            period_start,
            into,
        }
    }
}

/// True for the step of a multipart upload that creates the object.
pub(crate) fn is_upload_completion(operation: &str) -> bool {
    let op = operation.to_ascii_lowercase();
    op.contains("complete") || op == "rest.post.upload"
}

/// Every object the planner knows, as evaluator columns plus history.
#[derive(Debug, Default)]
pub struct ObjectTable {
    /// Bucket name → bucket id (its index in `cat.bucket_names`).
    bucket_ids: HashMap<String, u32>,
    /// Per bucket id: key → row. Looked up by `&str`, so that an event's lookup allocates
    /// nothing.
    index: Vec<HashMap<Box<str>, u32>>,
    /// The evaluator's columns (tier indices are the configuration's tier order).
    pub cat: Catalog,
    counts: Vec<Counts>,
    /// False for objects deleted since they were seen.
    pub live: Vec<bool>,
    live_count: usize,
    /// Per row: its read-back estimator group (its bucket's prefix).
    group: Vec<u32>,
    /// Per row: whether the idle gap running now began where the table knows (false after a
    /// restart that found no saved read-back history: the estimator then neither counts the
    /// gap as exposure nor learns from its end, as for a first sighting).
    gap_known: Vec<bool>,
    /// Rows a move found on no tier ([`ObjectTable::gone`]), until seen again.
    gone: std::collections::HashSet<u32>,
    readback: Estimator,
    /// Per row: the probability of a read within the horizon of the last refresh, for the
    /// decision's reason (the catalog holds the 30-day one, a signal).
    pub read_back_horizon: Vec<f32>,
    /// Per row: the probability of a read on the day ahead, likewise.
    pub read_back_daily: Vec<f32>,
}

/// What an event did to the table, for the strategies that account for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// A read; `new` when the object was not known (or deleted) before: it now is on the hot tier.
    Read { row: usize, new: bool },
    /// A write: the object is (again) on the hot tier; `previous` is its tier, arrival time and
    /// size before the write, if it existed.
    Write {
        row: usize,
        previous: Option<(u8, i64, u64)>,
    },
    /// A delete of a known object; its tier and arrival time.
    Delete { row: usize, tier: u8, since: i64 },
    /// Nothing object-level (a list, a config change, an unknown object's delete...).
    None,
}

impl ObjectTable {
    /// A table whose catalog knows the tier names in configuration order.
    pub fn new(tiers: &[String]) -> ObjectTable {
        ObjectTable {
            cat: Catalog {
                tier_names: tiers.to_vec(),
                ..Catalog::default()
            },
            ..ObjectTable::default()
        }
    }

    pub fn len(&self) -> usize {
        self.cat.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cat.is_empty()
    }

    /// Objects not deleted.
    /// Per tier (by index): the live objects on it and their bytes.
    pub fn per_tier(&self, tiers: usize) -> Vec<(u64, u64)> {
        let mut out = vec![(0u64, 0u64); tiers];
        for r in 0..self.len() {
            if self.live[r]
                && let Some(t) = out.get_mut(usize::from(self.cat.tier[r]))
            {
                t.0 += 1;
                t.1 = t.1.saturating_add(self.cat.size[r]);
            }
        }
        out
    }

    pub fn live_count(&self) -> usize {
        self.live_count
    }

    pub fn row(&self, bucket: &str, key: &str) -> Option<usize> {
        let b = *self.bucket_ids.get(bucket)?;
        self.index[b as usize].get(key).map(|&r| r as usize)
    }

    pub fn bucket_of(&self, row: usize) -> &str {
        &self.cat.bucket_names[self.cat.bucket[row] as usize]
    }

    pub fn key_of(&self, row: usize) -> &str {
        self.cat.key(row)
    }

    fn bucket_id(&mut self, bucket: &str) -> u32 {
        match self.bucket_ids.get(bucket) {
            Some(&i) => i,
            None => {
                let id = self.cat.bucket_names.len() as u32;
                self.bucket_ids.insert(bucket.to_string(), id);
                self.index.push(HashMap::new());
                self.cat.bucket_names.push(bucket.to_string());
                self.cat
                    .behaviour
                    .resize(self.cat.bucket_names.len(), Default::default());
                (self.cat.bucket_names.len() - 1) as u32
            }
        }
    }

    /// Adds an object on `tier` (or revives a deleted one there); returns its row.
    pub fn insert(&mut self, bucket: &str, key: &str, tier: u8, size: u64, t: i64) -> usize {
        let row = self.row(bucket, key);
        self.insert_at(row, bucket, key, tier, size, t)
    }

    /// [`ObjectTable::insert`], the object's row (`None` if new) already looked up.
    fn insert_at(
        &mut self,
        row: Option<usize>,
        bucket: &str,
        key: &str,
        tier: u8,
        size: u64,
        t: i64,
    ) -> usize {
        if let Some(r) = row {
            if !self.live[r] {
                self.live[r] = true;
                self.live_count += 1;
                self.gone.remove(&(r as u32));
            }
            self.gap_known[r] = true;
            self.cat.tier[r] = tier;
            self.cat.size[r] = size;
            self.cat.created[r] = t;
            self.cat.last_access[r] = t;
            self.cat.tier_since[r] = t;
            return r;
        }
        let b = self.bucket_id(bucket);
        let c = &mut self.cat;
        let row = c.size.len();
        c.bucket.push(b);
        c.keys.push_str(key);
        c.key_ends.push(c.keys.len());
        c.tier.push(tier);
        c.size.push(size);
        c.created.push(t);
        c.last_access.push(t);
        c.tier_since.push(t);
        for k in 0..4 {
            c.reads[k].push(0);
            c.writes[k].push(0);
        }
        c.read_back_probability.push(0.0);
        self.read_back_horizon.push(0.0);
        self.read_back_daily.push(0.0);
        c.savings_per_month.push(0.0);
        c.read_back_cost_per_month.push(0.0);
        self.counts.push(Counts {
            day: t.div_euclid(86_400),
            ..Counts::default()
        });
        self.live.push(true);
        self.live_count += 1;
        self.group.push(self.readback.group(b, key));
        self.gap_known.push(true);
        self.index[b as usize].insert(key.into(), row as u32);
        row
    }

    fn end_gap(&mut self, row: usize, t: i64, by_read: bool) {
        if !std::mem::replace(&mut self.gap_known[row], true) {
            return;
        }
        let gap = ((t - self.cat.last_access[row]).max(0) / 86_400) as usize;
        self.readback.end_gap(self.group[row], gap, by_read);
    }

    /// Applies one access event; new objects land on `hot`.
    pub fn observe(&mut self, e: &AccessEvent, hot: u8) -> Touch {
        self.observe_with(e, hot, |table, bucket, key| table.row(bucket, key))
    }

    /// [`ObjectTable::observe`], with the look-up of the event's object by its bucket and key
    /// given: `row(table, bucket, key)` must answer as [`ObjectTable::row`] does (the replay
    /// remembers rows by a number per name). Called at most once.
    pub fn observe_with(
        &mut self,
        e: &AccessEvent,
        hot: u8,
        row: impl FnOnce(&ObjectTable, &str, &str) -> Option<usize>,
    ) -> Touch {
        let (bucket, Some(key)) = (e.bucket.as_str(), e.key.as_deref()) else {
            return Touch::None;
        };
        if e.status.is_some_and(|s| s >= 300) || bucket.is_empty() {
            return Touch::None;
        }
        let is_write = matches!(e.op, OpClass::Put | OpClass::CopyDest | OpClass::Multipart);
        if !matches!(e.op, OpClass::Get | OpClass::CopySource | OpClass::Delete) && !is_write
            || e.op == OpClass::Multipart && !is_upload_completion(&e.operation)
        {
            return Touch::None;
        }
        let found = row(self, bucket, key);
        let t = e.time_us.div_euclid(1_000_000);
        let size = e
            .object_size
            .or(match e.op {
                OpClass::Get => e.bytes_sent,
                _ => e.bytes_received,
            })
            .unwrap_or(0);
        match e.op {
            OpClass::Get | OpClass::CopySource => {
                let (row, new) = match found {
                    Some(r) if self.live[r] => (r, false),
                    // An object read before tierd saw it written: it existed; learn it now.
                    _ => (self.insert_at(found, bucket, key, hot, size, t), true),
                };
                if !new {
                    // A first sighting ends no gap: its start is unknown.
                    self.end_gap(row, t, true);
                }
                self.counts[row].bump(t, true);
                self.cat.last_access[row] = self.cat.last_access[row].max(t);
                if size > 0 && self.cat.size[row] == 0 {
                    self.cat.size[row] = size;
                }
                Touch::Read { row, new }
            }
            OpClass::Put | OpClass::CopyDest | OpClass::Multipart => {
                let existing = found.filter(|&r| self.live[r]);
                let previous =
                    existing.map(|r| (self.cat.tier[r], self.cat.tier_since[r], self.cat.size[r]));
                let row = match existing {
                    Some(r) => {
                        self.end_gap(r, t, false);
                        self.cat.tier[r] = hot;
                        self.cat.tier_since[r] = t;
                        self.cat.created[r] = t;
                        self.cat.last_access[r] = t;
                        if size > 0 {
                            self.cat.size[r] = size;
                        }
                        r
                    }
                    _ => self.insert_at(found, bucket, key, hot, size, t),
                };
                self.counts[row].bump(t, false);
                Touch::Write { row, previous }
            }
            OpClass::Delete => match found {
                Some(r) if self.live[r] => {
                    self.end_gap(r, t, false);
                    self.live[r] = false;
                    self.live_count -= 1;
                    Touch::Delete {
                        row: r,
                        tier: self.cat.tier[r],
                        since: self.cat.tier_since[r],
                    }
                }
                _ => Touch::None,
            },
            _ => Touch::None,
        }
    }

    /// Fills the derived columns for time `now`: read/write counts, the read-back estimate
    /// (over the next 30 days and over `horizon_days`) and the two cost signals, from
    /// `signals(tier, size, secs_on_tier, read_back)`.
    pub fn refresh(
        &mut self,
        now: i64,
        horizon_days: usize,
        signals: impl Fn(usize, u64, i64, &ReadBack) -> (f64, f64),
    ) {
        let mut running = self.readback.running();
        for r in 0..self.len() {
            if self.live[r] && self.gap_known[r] {
                running.add(self.group[r], (now - self.cat.last_access[r]).max(0));
            }
        }
        let tables = self.readback.tables(&running, horizon_days);
        let clock = Clock::at(now);
        for r in 0..self.len() {
            if !self.live[r] {
                continue;
            }
            let (reads, writes) = self.counts[r].estimate(&clock);
            for k in 0..4 {
                self.cat.reads[k][r] = reads[k];
                self.cat.writes[k][r] = writes[k];
            }
            let rb = tables.get(self.group[r], now - self.cat.last_access[r]);
            self.cat.read_back_probability[r] = rb.p30;
            self.read_back_horizon[r] = rb.p_horizon;
            self.read_back_daily[r] = rb.daily;
            let (saved, back) = signals(
                usize::from(self.cat.tier[r]),
                self.cat.size[r],
                now - self.cat.tier_since[r],
                rb,
            );
            self.cat.savings_per_month[r] = saved;
            self.cat.read_back_cost_per_month[r] = back;
        }
    }

    /// Moves an object to another tier (after the executor, or the dry-run, moved it).
    pub fn set_tier(&mut self, row: usize, tier: u8, t: i64) {
        self.cat.tier[row] = tier;
        self.cat.tier_since[row] = t;
    }

    /// The facts of one object, as the one-object evaluator (and `explain`) sees them.
    pub fn facts(&self, row: usize) -> policies::ObjectFacts {
        self.cat.object(row)
    }

    /// An object's access history, as the journal keeps it across restarts.
    pub fn access_state(&self, row: usize) -> AccessState {
        let c = &self.counts[row];
        AccessState {
            tier: self.cat.tier_names[self.cat.tier[row] as usize].clone(),
            size: self.cat.size[row],
            created: self.cat.created[row],
            last_access: self.cat.last_access[row],
            tier_since: self.cat.tier_since[row],
            day: c.day,
            reads: c.reads,
            writes: c.writes,
        }
    }

    /// An object that no tier holds (a move found it on none: deleted without a log line the
    /// service read, or named by logs of a store it does not manage): deleted for the planner,
    /// which no longer plans it, until the logs or a listing show it again. Its idle gap is
    /// not learnt from (when it went is unknown).
    pub fn gone(&mut self, row: usize) {
        if self.live[row] {
            self.forget_gap(row);
            self.live[row] = false;
            self.live_count -= 1;
            self.gone.insert(row as u32);
        }
    }

    /// Whether `row` is [`ObjectTable::gone`] (and not seen since).
    pub fn is_gone(&self, row: usize) -> bool {
        self.gone.contains(&(row as u32))
    }

    /// Makes the idle gap `row` is in now unknown to the read-back estimator until its next
    /// access: neither exposure nor, when it ends, a gap (see `gap_known`).
    pub fn forget_gap(&mut self, row: usize) {
        self.gap_known[row] = false;
    }

    /// The read-back history learnt since the last call, to save: (bucket, prefix, table) of
    /// each group that changed.
    pub fn take_readback(&mut self) -> Vec<(String, String, SavedGaps)> {
        let names = &self.cat.bucket_names;
        let changed = self.readback.take_changed();
        changed
            .into_iter()
            .map(|(b, prefix, t)| (names[b as usize].clone(), prefix.to_string(), t))
            .collect()
    }

    /// Adds saved read-back history (of [`ObjectTable::take_readback`]).
    pub fn restore_readback(&mut self, bucket: &str, prefix: &str, saved: &SavedGaps) {
        let b = self.bucket_id(bucket);
        self.readback.restore(b, prefix, saved);
    }

    /// Restores an object's access history. An object the table already has (from the journal's
    /// catalog, which knows best where it is now) keeps its tier, size and arrival; one it does
    /// not have is added as the history says.
    pub fn restore_access(&mut self, bucket: &str, key: &str, s: &AccessState) -> usize {
        let row = match self.row(bucket, key) {
            Some(r) if self.live[r] => r,
            _ => {
                let tier = self
                    .cat
                    .tier_names
                    .iter()
                    .position(|t| *t == s.tier)
                    .unwrap_or(0) as u8;
                let r = self.insert(bucket, key, tier, s.size, s.tier_since);
                self.cat.tier_since[r] = s.tier_since;
                r
            }
        };
        self.cat.created[row] = s.created;
        self.cat.last_access[row] = s.last_access;
        self.counts[row] = Counts {
            day: s.day,
            reads: s.reads,
            writes: s.writes,
        };
        row
    }
}

/// One object's access history in the journal (`object_access.state`, JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccessState {
    pub tier: String,
    pub size: u64,
    pub created: i64,
    pub last_access: i64,
    pub tier_since: i64,
    day: i64,
    reads: [[u16; 2]; 4],
    writes: [[u16; 2]; 4],
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An event of object `key` of bucket `b` (1000 bytes) at `t`.
    pub(crate) fn ev(t: i64, op: OpClass, key: &str) -> AccessEvent {
        AccessEvent {
            time_us: t * 1_000_000,
            op,
            operation: "REST.X.OBJECT".into(),
            bucket: "b".into(),
            key: Some(key.into()),
            status: Some(200),
            object_size: Some(1000),
            ..AccessEvent::default()
        }
    }

    #[test]
    fn counts_follow_sliding_windows() {
        let mut t = ObjectTable::new(&["hot".into(), "cold".into()]);
        let day = 86_400;
        let base = 20_000 * day;
        t.observe(&ev(base, OpClass::Put, "k"), 0);
        for i in 0..5 {
            t.observe(&ev(base + i * 3600, OpClass::Get, "k"), 0);
        }
        t.refresh(base + 6 * 3600, 90, |_, _, _, _| (0.0, 0.0));
        let r = t.row("b", "k").unwrap();
        assert_eq!(t.cat.reads[0][r], 5);
        assert_eq!(t.cat.writes[0][r], 1);
        // 100 days later nothing is left in any window.
        t.refresh(base + 100 * day, 90, |_, _, _, _| (0.0, 0.0));
        assert_eq!([t.cat.reads[0][r], t.cat.reads[3][r]], [0, 0]);
        assert_eq!(t.cat.last_access[r], base + 4 * 3600);
    }

    #[test]
    fn estimates_follow_the_periods_of_the_last_update_and_of_the_clock() {
        // The estimate as first written: each period by division.
        fn reference(c: &Counts, now: i64) -> ([u32; 4], [u32; 4]) {
            let day = now.div_euclid(86_400);
            let (mut reads, mut writes) = ([0u32; 4], [0u32; 4]);
            for (w, len) in WINDOWS_DAYS.iter().enumerate() {
                if day - c.day >= *len {
                    continue;
                }
                let (then, period) = (c.day.div_euclid(*len), day.div_euclid(*len));
                let weight = 1.0 - now.rem_euclid(len * 86_400) as f64 / (len * 86_400) as f64;
                let pick = |x: &[[u16; 2]; 4]| -> u32 {
                    let (current, previous) = if period == then {
                        (x[w][0], x[w][1])
                    } else if period == then + 1 {
                        (0, x[w][0])
                    } else {
                        (0, 0)
                    };
                    u32::from(current) + (f64::from(previous) * weight + 0.5) as u32
                };
                reads[w] = pick(&c.reads);
                writes[w] = pick(&c.writes);
            }
            (reads, writes)
        }
        let base = 20_000;
        for last in base - 3..base + 200 {
            let c = Counts {
                day: last,
                reads: [[3, 7], [0, 5], [2, 0], [9, 11]],
                writes: [[1, 0], [4, 2], [0, 0], [6, 1]],
            };
            for hours in (0..24 * 200).step_by(7) {
                let now = base * 86_400 + hours * 3600;
                assert_eq!(
                    c.estimate(&Clock::at(now)),
                    reference(&c, now),
                    "updated on day {last}, clock {now}"
                );
            }
        }
    }

    #[test]
    fn read_back_probability_falls_for_objects_nobody_reads() {
        let mut t = ObjectTable::new(&["hot".into(), "cold".into()]);
        let day = 86_400;
        let base = 20_000 * day;
        // 50 hot objects read every day for 60 days; 50 cold ones written once and never read.
        for i in 0..50 {
            t.observe(&ev(base, OpClass::Put, &format!("hot/{i}")), 0);
            t.observe(&ev(base, OpClass::Put, &format!("cold/{i}")), 0);
        }
        for d in 1..60 {
            for i in 0..50 {
                t.observe(&ev(base + d * day, OpClass::Get, &format!("hot/{i}")), 0);
            }
        }
        t.refresh(base + 60 * day, 90, |_, _, _, rb| (0.0, f64::from(rb.p30)));
        let hot = t.cat.read_back_probability[t.row("b", "hot/0").unwrap()];
        let cold = t.cat.read_back_probability[t.row("b", "cold/0").unwrap()];
        assert!(hot > 0.9, "hot {hot}");
        assert!(cold < 0.2, "cold {cold}");
        assert!(t.cat.read_back_cost_per_month[t.row("b", "cold/0").unwrap()] == f64::from(cold));
    }

    #[test]
    fn each_prefix_learns_its_own_read_back_once_it_has_the_history() {
        // One bucket: documents under data/ read every other day; logs under logs/ written ten
        // a day and read once, an hour later, never again; three reports and a top-level
        // object, never read, too few to learn from.
        let mut t = ObjectTable::new(&["hot".into(), "cold".into()]);
        let day = 86_400;
        let base = 20_000 * day;
        for i in 0..300 {
            t.observe(&ev(base, OpClass::Put, &format!("data/{i}")), 0);
        }
        for k in ["reports/a", "reports/b", "reports/c", "top.bin"] {
            t.observe(&ev(base, OpClass::Put, k), 0);
        }
        for d in 0..60 {
            for i in 0..10 {
                let key = format!("logs/{d}-{i}");
                t.observe(&ev(base + d * day + i, OpClass::Put, &key), 0);
                t.observe(&ev(base + d * day + 3600 + i, OpClass::Get, &key), 0);
            }
            if d % 2 == 1 {
                for i in 0..300 {
                    let at = base + d * day + 7200 + i;
                    t.observe(&ev(at, OpClass::Get, &format!("data/{i}")), 0);
                }
            }
        }
        let now = base + 60 * day;
        t.refresh(now, 90, |_, _, _, rb| (f64::from(rb.daily), 0.0));
        let p = |k: &str| t.cat.read_back_probability[t.row("b", k).unwrap()];
        let daily = |k: &str| t.cat.savings_per_month[t.row("b", k).unwrap()];
        assert!(p("data/0") > 0.9, "documents are read: {}", p("data/0"));
        // A log idle for 30 days: its prefix says it will not be read.
        assert!(p("logs/29-0") < 0.1, "logs/ {}", p("logs/29-0"));
        // Too little history of their own: the bucket's table, as for a key without a prefix.
        assert_eq!(p("reports/a"), p("top.bin"));
        // Logs are likelier to be read on the day they are written than a month later.
        assert!(daily("logs/59-0") > daily("logs/29-0"));
    }

    #[test]
    fn a_forgotten_gap_is_neither_exposure_nor_learnt_from() {
        // 200 objects restored idle for 8.5 days, with none of the reads that ended their
        // earlier gaps: counted, they say "never read"; forgotten, the estimator knows nothing.
        let day = 86_400;
        let base = 20_000 * day;
        let table = |forget: bool| {
            let mut t = ObjectTable::new(&["hot".into(), "cold".into()]);
            for i in 0..200 {
                let r = t.insert("b", &format!("k{i}"), 0, 1000, base);
                if forget {
                    t.forget_gap(r);
                }
            }
            t.refresh(base + 8 * day + day / 2, 90, |_, _, _, _| (0.0, 0.0));
            t
        };
        let p = |t: &ObjectTable| t.cat.read_back_probability[t.row("b", "k0").unwrap()];
        let (counted, forgotten) = (table(false), table(true));
        assert!(p(&counted) < 0.1, "counted {}", p(&counted));
        assert!(
            p(&forgotten) > 0.7,
            "forgotten: the prior {}",
            p(&forgotten)
        );
        // The next access ends no gap; the one after does.
        let mut t = table(true);
        t.observe(&ev(base + 9 * day, OpClass::Get, "k0"), 0);
        assert!(t.readback.take_changed().is_empty());
        t.observe(&ev(base + 10 * day, OpClass::Get, "k0"), 0);
        assert_eq!(t.readback.take_changed().len(), 1);
    }

    /// A deterministic stand-in for a random number in [0, 1) (splitmix64).
    fn unit(seed: u64) -> f64 {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn objects_just_idle_longer_than_ever_seen_do_not_look_never_read() {
        // 2,000 objects written at once, each read on any day with probability 0.05 at a random
        // time of day: 8.25 days in, the objects never read are the first to be idle 8 days,
        // and a quarter of a day is all the evidence there is about that age.
        let mut t = ObjectTable::new(&["hot".into(), "cold".into()]);
        let day = 86_400;
        let base = 20_000 * day;
        let now = base + 8 * day + day / 4;
        let mut reads = Vec::new();
        for i in 0..2_000u64 {
            for d in 0..9 {
                if unit(i * 100 + d) < 0.05 {
                    let at = base + d as i64 * day + (unit(i * 100 + d + 50) * day as f64) as i64;
                    reads.push((at.max(base + 1), i));
                }
            }
        }
        reads.retain(|&(at, _)| at < now);
        reads.sort();
        for i in 0..2_000 {
            t.observe(&ev(base, OpClass::Put, &format!("k{i}")), 0);
        }
        for (at, i) in reads {
            t.observe(&ev(at, OpClass::Get, &format!("k{i}")), 0);
        }
        t.refresh(now, 90, |_, _, _, rb| (0.0, f64::from(rb.p30)));
        let idle = (0..2_000)
            .map(|i| t.row("b", &format!("k{i}")).unwrap())
            .find(|&r| t.cat.last_access[r] == base)
            .expect("some object was never read");
        let p = t.cat.read_back_probability[idle];
        // The truth: 1 - 0.95^30 = 0.79. Counting the running day whole gave about 0.3.
        assert!(p > 0.6 && p < 0.95, "p30 {p}");
    }

    #[test]
    fn writes_put_objects_back_on_the_hot_tier_and_deletes_end_them() {
        let mut t = ObjectTable::new(&["hot".into(), "cold".into()]);
        let r = match t.observe(&ev(100, OpClass::Put, "k"), 0) {
            Touch::Write {
                row,
                previous: None,
            } => row,
            other => panic!("{other:?}"),
        };
        t.set_tier(r, 1, 200);
        assert_eq!(
            t.observe(&ev(300, OpClass::Put, "k"), 0),
            Touch::Write {
                row: r,
                previous: Some((1, 200, 1000))
            }
        );
        assert_eq!(t.cat.tier[r], 0);
        assert_eq!(
            t.observe(&ev(400, OpClass::Delete, "k"), 0),
            Touch::Delete {
                row: r,
                tier: 0,
                since: 300
            }
        );
        assert_eq!(t.live_count(), 0);
        assert_eq!(t.observe(&ev(500, OpClass::Delete, "k"), 0), Touch::None);
    }
}
