//! The read-back estimator: how likely an object idle for `d` days is to be read again, learnt
//! from the idle gaps of its bucket, per top-level prefix.
//!
//! Each ended gap between two accesses of an object is counted in a life table by its length in
//! days, as ended by a read or otherwise (a write, a delete); gaps still running count as
//! exposure. The table gives a daily read hazard per idle age, pooled into [`BINS`], and from it
//! the probabilities behind `read_back_probability` and the cost signals.
//!
//! Objects under one top-level prefix (`logs/`, `data/`, the part of the key up to its first
//! `/`) usually share a life: logs read once and then almost never, documents read for months.
//! Pooled over the bucket, the documents' reads would keep the logs from ever looking cold. So
//! every prefix keeps a table of its own, and uses it once it holds [`MIN_PREFIX_GAPS`] ended
//! gaps; until then, and for keys without a `/`, the bucket's table (all its prefixes pooled)
//! stands in. A bucket keeps at most [`MAX_PREFIXES`] prefixes apart, and all buckets together
//! [`MAX_PREFIXES_IN_ALL`]; later ones share their bucket's table, so keys like `<uuid>/file`
//! cannot grow the tables without bound.

use std::collections::HashMap;

/// Ages (in days) the read-back estimator keeps separately; older idle ages share the last slot.
pub const MAX_AGE_DAYS: usize = 400;

/// A life table of idle gaps (of one prefix of a bucket, or of the whole bucket): how often an object idle for `d` days is read on day `d`.
#[derive(Debug, Clone)]
struct GapTable {
    /// Gaps that ended with a read, by length in days.
    ended_by_read: Vec<u64>,
    /// Gaps that ended otherwise (a write, a delete): censored at that length.
    ended_other: Vec<u64>,
}

impl Default for GapTable {
    fn default() -> Self {
        GapTable {
            ended_by_read: vec![0; MAX_AGE_DAYS + 1],
            ended_other: vec![0; MAX_AGE_DAYS + 1],
        }
    }
}

/// Hazard bins (first day of each bin): pooled so that sparse ages borrow from their neighbours.
const BINS: [usize; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256];

/// Days of the `read_back_probability` signal.
pub const SIGNAL_DAYS: usize = 30;

/// What the read-back estimator expects of one object, given how long it has been idle.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadBack {
    /// P(read at least once in the next [`SIGNAL_DAYS`] days): the `read_back_probability` signal.
    pub p30: f32,
    /// P(read at least once within the horizon: the cheapest tier's minimum storage duration,
    /// at least 30 days), what a move to it commits to.
    pub p_horizon: f32,
    /// Expected reads within the horizon (the cumulative hazard; a lower bound, since a read
    /// makes the next one likelier).
    pub reads_horizon: f32,
    /// P(read on the day ahead): the read rate at this idle age, which tells whether waiting
    /// a day before a move is worth more than the day's savings.
    pub daily: f32,
}

impl GapTable {
    /// The read-back expectations for every idle age d in 0..=MAX_AGE_DAYS (days), from the
    /// completed gaps and the gaps still running: `running[d]` gaps idle between d and d + 1
    /// days now, `running_part[d]` the sum of their fractions of day d already elapsed.
    fn read_back_table(
        &self,
        running: &[u32],
        running_part: &[f64],
        horizon: usize,
    ) -> Vec<ReadBack> {
        let n = MAX_AGE_DAYS + 1;
        let at = |v: &[u32], k: usize| f64::from(v.get(k).copied().unwrap_or(0));
        // Object-days at risk on day k of a gap: a gap read on day k counts it whole; a gap
        // still running counts its elapsed part of its current day (counting it whole made the
        // newest idle ages look never read: a day of exposure with no chance of a read yet);
        // a gap ended by a write or a delete counts half its last day.
        let mut beyond = vec![0f64; n + 1]; // gaps that went past day k
        for k in (0..n).rev() {
            beyond[k] = beyond[k + 1]
                + self.ended_by_read[k] as f64
                + self.ended_other[k] as f64
                + at(running, k);
        }
        let exposure_on = |k: usize| {
            beyond[k + 1]
                + self.ended_by_read[k] as f64
                + 0.5 * self.ended_other[k] as f64
                + running_part.get(k).copied().unwrap_or(0.0)
        };
        // Per-bin hazard (reads per object-day), shrunk towards the previous bin's. Upwards
        // with a weight of PRIOR_DAYS object-days; downwards with the weight of PRIOR_READS
        // reads at the previous hazard (in object-days, at most PRIOR_MAX_DAYS): a bin looks
        // colder than its younger neighbour only on exposure enough to have seen those reads.
        // Moving data that is read back costs far more than keeping data that stays cold, and
        // a weak prior both ways let the oldest idle ages seen so far (a few hundred
        // object-days without a read where one or two were expected) look ten times colder
        // than their neighbours. 1.5 reads: at 2, a bucket of 25 objects silent for 27 days
        // after a busy day (the bundled sample logs, run 27 days later) never looks cold; at 1,
        // on the generator's 60-day trace, moves at the edge of its history cost more than
        // never moving (docs/BENCHMARKS.md).
        let mut hazard_of_bin = [0f64; BINS.len()];
        const PRIOR_DAYS: f64 = 20.0;
        const PRIOR_READS: f64 = 1.5;
        const PRIOR_MAX_DAYS: f64 = 1000.0;
        let mut prev: f64 = 0.05; // before the first bin: one read in 20 days
        for (b, &start) in BINS.iter().enumerate() {
            let end = BINS.get(b + 1).copied().unwrap_or(n).min(n);
            let (mut events, mut exposure) = (0.0, 0.0);
            for k in start..end {
                events += self.ended_by_read[k] as f64;
                exposure += exposure_on(k);
            }
            let shrunk = |weight: f64| (events + prev * weight) / (exposure + weight);
            let up = shrunk(PRIOR_DAYS);
            let h = if up >= prev {
                up
            } else {
                shrunk((PRIOR_READS / prev.max(1e-9)).clamp(PRIOR_DAYS, PRIOR_MAX_DAYS))
            };
            hazard_of_bin[b] = h.clamp(0.0, 0.999_999);
            prev = hazard_of_bin[b];
        }
        let bin_of = |k: usize| BINS.iter().rposition(|&s| s <= k).unwrap_or(0);
        // Cumulative hazard from day k on; ages past the table keep its last bin's hazard.
        let span = horizon.max(SIGNAL_DAYS);
        let mut cum = vec![0f64; n + span + 1];
        for k in (0..n + span).rev() {
            cum[k] = cum[k + 1] - (1.0 - hazard_of_bin[bin_of(k.min(MAX_AGE_DAYS))]).ln();
        }
        (0..n)
            .map(|d| {
                let lambda = cum[d] - cum[d + horizon.max(1)];
                ReadBack {
                    p30: (1.0 - (-(cum[d] - cum[d + SIGNAL_DAYS])).exp()) as f32,
                    p_horizon: (1.0 - (-lambda).exp()) as f32,
                    reads_horizon: lambda as f32,
                    daily: (1.0 - (-(cum[d] - cum[d + 1])).exp()) as f32,
                }
            })
            .collect()
    }
}

/// Ended gaps a prefix's table needs before it is used instead of its bucket's.
pub const MIN_PREFIX_GAPS: u64 = 200;
/// Prefixes a bucket keeps tables for.
pub const MAX_PREFIXES: usize = 64;
/// Prefixes all buckets together keep tables for (each table, and each pass's tally of running
/// gaps, is a few KB: thousands of buckets with many prefixes each stay within tens of MB).
pub const MAX_PREFIXES_IN_ALL: usize = 4096;

impl GapTable {
    fn ended(&self) -> u64 {
        self.ended_by_read.iter().chain(&self.ended_other).sum()
    }

    fn add(&mut self, other: &GapTable) {
        for (a, b) in self.ended_by_read.iter_mut().zip(&other.ended_by_read) {
            *a += b;
        }
        for (a, b) in self.ended_other.iter_mut().zip(&other.ended_other) {
            *a += b;
        }
    }
}

/// The life tables of every bucket and prefix.
#[derive(Debug, Default)]
pub struct Estimator {
    /// Per bucket id: prefix → group (looked up by `&str`, without allocating).
    ids: Vec<HashMap<Box<str>, u32>>,
    /// Per group: its bucket id, and whether it stands for a prefix (false: the bucket's own
    /// group, for keys without a prefix and prefixes past [`MAX_PREFIXES`]).
    bucket: Vec<u32>,
    is_prefix: Vec<bool>,
    /// Per group: its prefix (empty for the bucket's own group).
    prefix: Vec<Box<str>>,
    /// Per group: counted gaps since the last [`Estimator::take_changed`].
    changed: Vec<bool>,
    /// Per bucket id: its own group.
    own: Vec<u32>,
    gaps: Vec<GapTable>,
}

/// One group's life table as the journal keeps it: `(day, gaps)` for the days with any.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SavedGaps {
    pub ended_by_read: Vec<(u32, u64)>,
    pub ended_other: Vec<(u32, u64)>,
}

/// The gaps running now, per group: `count[g][d]` objects idle between d and d + 1 days, and
/// `part[g][d]` the sum of their fractions of day d already elapsed.
#[derive(Debug)]
pub struct Running {
    count: Vec<Vec<u32>>,
    part: Vec<Vec<f64>>,
}

impl Running {
    /// Adds an object of `group` idle for `idle` seconds.
    pub fn add(&mut self, group: u32, idle: i64) {
        let d = ((idle / 86_400) as usize).min(MAX_AGE_DAYS);
        self.count[group as usize][d] += 1;
        self.part[group as usize][d] += (idle % 86_400) as f64 / 86_400.0;
    }
}

impl Estimator {
    /// The group of `key` in bucket `bucket` (an id the caller numbers from 0 up).
    pub fn group(&mut self, bucket: u32, key: &str) -> u32 {
        let b = bucket as usize;
        while self.own.len() <= b {
            let id = self.new_group(self.own.len() as u32, false);
            self.own.push(id);
            self.ids.push(HashMap::new());
        }
        let Some(slash) = key.find('/') else {
            return self.own[b];
        };
        let prefix = &key[..=slash];
        if let Some(&g) = self.ids[b].get(prefix) {
            return g;
        }
        if self.ids[b].len() >= MAX_PREFIXES
            || self.gaps.len() - self.own.len() >= MAX_PREFIXES_IN_ALL
        {
            return self.own[b];
        }
        let g = self.new_group(bucket, true);
        self.prefix[g as usize] = prefix.into();
        self.ids[b].insert(prefix.into(), g);
        g
    }

    fn new_group(&mut self, bucket: u32, is_prefix: bool) -> u32 {
        self.bucket.push(bucket);
        self.is_prefix.push(is_prefix);
        self.prefix.push("".into());
        self.changed.push(false);
        self.gaps.push(GapTable::default());
        (self.gaps.len() - 1) as u32
    }

    /// The groups that counted gaps since the last call: (bucket id, prefix, table).
    pub fn take_changed(&mut self) -> Vec<(u32, &str, SavedGaps)> {
        let sparse = |v: &[u64]| -> Vec<(u32, u64)> {
            let nonzero = v.iter().enumerate().filter(|(_, n)| **n > 0);
            nonzero.map(|(d, &n)| (d as u32, n)).collect()
        };
        let mut out = Vec::new();
        for g in 0..self.gaps.len() {
            if std::mem::take(&mut self.changed[g]) {
                let t = &self.gaps[g];
                let saved = SavedGaps {
                    ended_by_read: sparse(&t.ended_by_read),
                    ended_other: sparse(&t.ended_other),
                };
                out.push((self.bucket[g], &*self.prefix[g], saved));
            }
        }
        out
    }

    /// Adds a saved table (of [`Estimator::take_changed`]) to the group of `prefix` in
    /// `bucket` (the bucket's own group for an empty prefix).
    pub fn restore(&mut self, bucket: u32, prefix: &str, saved: &SavedGaps) {
        let g = if prefix.is_empty() {
            self.group(bucket, "")
        } else {
            self.group(bucket, prefix)
        };
        let t = &mut self.gaps[g as usize];
        for (into, from) in [
            (&mut t.ended_by_read, &saved.ended_by_read),
            (&mut t.ended_other, &saved.ended_other),
        ] {
            for &(d, n) in from {
                into[(d as usize).min(MAX_AGE_DAYS)] += n;
            }
        }
    }

    /// Counts a gap of `days` days in `group`, ended by a read or otherwise.
    pub fn end_gap(&mut self, group: u32, days: usize, by_read: bool) {
        self.changed[group as usize] = true;
        let g = &mut self.gaps[group as usize];
        let slot = days.min(MAX_AGE_DAYS);
        if by_read {
            g.ended_by_read[slot] += 1;
        } else {
            g.ended_other[slot] += 1;
        }
    }

    /// An empty tally of running gaps, one row per group.
    pub fn running(&self) -> Running {
        let n = self.gaps.len();
        Running {
            count: vec![vec![0; MAX_AGE_DAYS + 1]; n],
            part: vec![vec![0.0; MAX_AGE_DAYS + 1]; n],
        }
    }

    /// The read-back tables for time now: each group's own where it has the history and its
    /// bucket has other groups, else its bucket's.
    pub fn tables(&self, running: &Running, horizon: usize) -> Tables {
        let mut pooled: Vec<(GapTable, Vec<u32>, Vec<f64>)> = Vec::new();
        for g in 0..self.gaps.len() {
            let b = self.bucket[g] as usize;
            if pooled.len() <= b {
                pooled.resize_with(b + 1, || {
                    let n = MAX_AGE_DAYS + 1;
                    (GapTable::default(), vec![0; n], vec![0.0; n])
                });
            }
            let (gaps, count, part) = &mut pooled[b];
            gaps.add(&self.gaps[g]);
            for d in 0..=MAX_AGE_DAYS {
                count[d] += running.count[g][d];
                part[d] += running.part[g][d];
            }
        }
        let mut tables: Vec<Vec<ReadBack>> = pooled
            .iter()
            .map(|(gaps, count, part)| gaps.read_back_table(count, part, horizon))
            .collect();
        let mut of_group = Vec::with_capacity(self.gaps.len());
        for g in 0..self.gaps.len() {
            let b = self.bucket[g] as usize;
            let ended = self.gaps[g].ended();
            if self.is_prefix[g] && ended >= MIN_PREFIX_GAPS && ended < pooled[b].0.ended() {
                let (count, part) = (&running.count[g], &running.part[g]);
                tables.push(self.gaps[g].read_back_table(count, part, horizon));
                of_group.push(tables.len() - 1);
            } else {
                of_group.push(b);
            }
        }
        Tables { tables, of_group }
    }
}

/// The read-back tables of one refresh.
#[derive(Debug)]
pub struct Tables {
    tables: Vec<Vec<ReadBack>>,
    of_group: Vec<usize>,
}

impl Tables {
    /// What an object of `group` idle for `idle` seconds can expect.
    pub fn get(&self, group: u32, idle: i64) -> &ReadBack {
        let d = ((idle.max(0) / 86_400) as usize).min(MAX_AGE_DAYS);
        &self.tables[self.of_group[group as usize]][d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_keeps_a_bounded_number_of_prefixes_apart() {
        let mut e = Estimator::default();
        let own = e.group(0, "top-level.bin");
        let logs = e.group(0, "logs/2026/a.gz");
        assert_ne!(own, logs);
        assert_eq!(e.group(0, "logs/2027/b.gz"), logs, "the top-level prefix");
        assert_ne!(e.group(1, "logs/a.gz"), logs, "another bucket's logs/");
        // Keys like <uuid>/file: past the cap they share the bucket's own table.
        let groups: std::collections::BTreeSet<u32> = (0..1_000)
            .map(|i| e.group(0, &format!("{i:032x}/f")))
            .collect();
        assert!(groups.contains(&own));
        // logs/ and 63 of them are kept apart; the rest share the bucket's own.
        assert_eq!(groups.len(), (MAX_PREFIXES - 1) + 1);
        // Bucket 0: its own and 64 prefixes; bucket 1: its own and logs/.
        assert_eq!(e.gaps.len(), 1 + MAX_PREFIXES + 2);
        // Across buckets: at most MAX_PREFIXES_IN_ALL prefixes, then each bucket's own table.
        for b in 2..200u32 {
            for p in 0..MAX_PREFIXES {
                e.group(b, &format!("p{p}/k"));
            }
        }
        assert_eq!(e.gaps.len() - e.own.len(), MAX_PREFIXES_IN_ALL);
        let own = e.group(199, "");
        assert_eq!(e.group(199, "p0/k"), own);
    }
}
