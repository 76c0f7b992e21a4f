//! The strategies a simulation compares the policy with, on the same trace and the same prices:
//! never move; move after N days idle; move after N days idle and recall on access; and an offline
//! oracle that knows every object's future.
//!
//! # The oracle
//! Per object, a dynamic program over its access sequence with two states, on the hot tier or on
//! the cheapest tier. Between two accesses the object may stay where it is or change tier (a move
//! to the cold tier right after an access, a recall right before the next one, both priced with
//! [`CostModel::transfer`]); a read is served from where the object is (priced with
//! [`CostModel::read`]); a write puts the new version on the hot tier (the cold copy is deleted,
//! paying early deletion); at the end of the trace nothing more is charged. The cold state keeps
//! the arrival time of its cheapest path for the early-deletion charge, so the oracle is
//! near-optimal rather than proven optimal; it ignores guardrails, budgets and snapshots.

use crate::cost::{Charges, CostModel, Ledger};

/// Where one object is under a strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Place {
    /// Tier index; `u8::MAX` once deleted.
    pub tier: u8,
    pub since: i64,
    pub last_access: i64,
    pub size: u64,
}

pub const GONE: u8 = u8::MAX;

impl Place {
    /// An object that arrived on `tier` at `t` (written there, or first seen), not read since.
    fn arrived(tier: u8, t: i64, size: u64) -> Place {
        Place {
            tier,
            since: t,
            last_access: t,
            size,
        }
    }
}

/// Storage accrued continuously: bytes per tier times price, integrated over event time.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    pub bytes: Vec<i128>,
    last: i64,
}

impl Meter {
    pub fn new(tiers: usize, t: i64) -> Meter {
        Meter {
            bytes: vec![0; tiers],
            last: t,
        }
    }

    /// Charges storage up to `t`.
    pub fn advance(&mut self, cost: &CostModel, ledger: &mut Ledger, t: i64) {
        if t > self.last {
            let dt = t - self.last;
            for (tier, b) in self.bytes.iter().enumerate() {
                if *b > 0 {
                    ledger.charges.storage += cost.storage(tier, *b as u64, dt);
                }
            }
            self.last = t;
        }
    }

    pub fn add(&mut self, tier: u8, bytes: u64) {
        if let Some(b) = self.bytes.get_mut(usize::from(tier)) {
            *b += i128::from(bytes);
        }
    }

    pub fn remove(&mut self, tier: u8, bytes: u64) {
        if let Some(b) = self.bytes.get_mut(usize::from(tier)) {
            *b -= i128::from(bytes);
        }
    }
}

/// A fixed rule over a trace.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    /// `None`: never move.
    pub idle_secs: Option<i64>,
    pub recall_on_access: bool,
    pub places: Vec<Place>,
    pub ledger: Ledger,
    pub meter: Meter,
    /// At most the last access of every object on the hot tier: while `t` minus it is within
    /// the idle time, a pass has nothing to move and skips its scan of every object.
    hot_access_floor: i64,
}

impl Baseline {
    pub fn new(name: String, idle_secs: Option<i64>, recall: bool, tiers: usize, t: i64) -> Self {
        Baseline {
            name,
            idle_secs,
            recall_on_access: recall,
            places: Vec::new(),
            ledger: Ledger::default(),
            meter: Meter::new(tiers, t),
            hot_access_floor: i64::MIN,
        }
    }

    /// Places `row` (keeping `hot_access_floor` at most its last access, whatever the tier).
    fn set_place(&mut self, row: usize, p: Place) {
        self.hot_access_floor = self.hot_access_floor.min(p.last_access);
        *self.place(row) = p;
    }

    fn place(&mut self, row: usize) -> &mut Place {
        if self.places.len() <= row {
            self.places.resize(row + 1, Place::arrived(GONE, 0, 0));
        }
        &mut self.places[row]
    }

    /// An object that exists on `tier` when the trace starts, written (and last read, as far as
    /// anyone knows) at `written`.
    pub fn exists(&mut self, row: usize, tier: u8, size: u64, written: i64) {
        self.set_place(row, Place::arrived(tier, written, size));
        self.meter.add(tier, size);
    }

    /// A client read of `row` at `t` (the object appears on `hot` if unknown).
    pub fn read(&mut self, cost: &CostModel, row: usize, size: u64, t: i64) {
        self.meter.advance(cost, &mut self.ledger, t);
        let hot = cost.hot as u8;
        let p = *self.place(row);
        if p.tier == GONE {
            self.set_place(row, Place::arrived(hot, t, size));
            self.meter.add(hot, size);
            return;
        }
        self.ledger.read(cost, usize::from(p.tier), p.size);
        self.set_place(
            row,
            Place {
                last_access: t,
                ..p
            },
        );
        if self.recall_on_access && p.tier != hot {
            self.ledger
                .moved(cost, usize::from(p.tier), cost.hot, p.size, t - p.since);
            self.meter.remove(p.tier, p.size);
            self.meter.add(hot, p.size);
            let q = self.place(row);
            q.tier = hot;
            q.since = t;
        }
    }

    /// A client write of `row` at `t`: the new version is on the hot tier.
    pub fn write(&mut self, cost: &CostModel, row: usize, size: u64, t: i64) {
        self.meter.advance(cost, &mut self.ledger, t);
        let hot = cost.hot as u8;
        let p = *self.place(row);
        if p.tier != GONE {
            self.meter.remove(p.tier, p.size);
            if p.tier != hot {
                self.ledger.charges.early_deletion +=
                    cost.early_deletion(usize::from(p.tier), p.size, t - p.since);
            }
        }
        self.ledger.charges.add(&cost.write(cost.hot));
        self.meter.add(hot, size);
        self.set_place(row, Place::arrived(hot, t, size));
    }

    pub fn delete(&mut self, cost: &CostModel, row: usize, t: i64) {
        self.meter.advance(cost, &mut self.ledger, t);
        let p = *self.place(row);
        if p.tier == GONE {
            return;
        }
        self.meter.remove(p.tier, p.size);
        self.ledger.charges.early_deletion +=
            cost.early_deletion(usize::from(p.tier), p.size, t - p.since);
        self.place(row).tier = GONE;
    }

    /// The periodic pass: objects idle longer than the rule's N days move to the cheapest tier.
    /// The scan of every object is skipped while no object on the hot tier can be idle that long.
    pub fn tick(&mut self, cost: &CostModel, t: i64) {
        self.meter.advance(cost, &mut self.ledger, t);
        let Some(idle) = self.idle_secs else {
            return;
        };
        if t.saturating_sub(self.hot_access_floor) <= idle {
            return;
        }
        let (hot, cold) = (cost.hot as u8, cost.cheapest as u8);
        let mut floor = i64::MAX;
        for i in 0..self.places.len() {
            let p = self.places[i];
            if p.tier == hot && t - p.last_access > idle && hot != cold {
                self.ledger
                    .moved(cost, cost.hot, cost.cheapest, p.size, t - p.since);
                self.meter.remove(hot, p.size);
                self.meter.add(cold, p.size);
                let q = &mut self.places[i];
                q.tier = cold;
                q.since = t;
            } else if p.tier == hot {
                floor = floor.min(p.last_access);
            }
        }
        self.hot_access_floor = floor;
    }
}

const INF: f64 = f64::INFINITY;

#[derive(Debug, Clone, Copy)]
struct Dp {
    hot: f64,
    cold: f64,
    cold_since: i64,
    last: i64,
    size: u64,
    alive: bool,
}

/// The offline oracle (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Oracle {
    dp: Vec<Dp>,
    /// Costs of objects whose story ended (deleted), plus charges outside the DP.
    pub settled: f64,
    /// Moves and recalls on the settled optimal paths are not tracked; the oracle reports money only.
    pub charges: Charges,
}

impl Oracle {
    fn get(&mut self, row: usize) -> &mut Dp {
        if self.dp.len() <= row {
            self.dp.resize(
                row + 1,
                Dp {
                    hot: 0.0,
                    cold: INF,
                    cold_since: 0,
                    last: 0,
                    size: 0,
                    alive: false,
                },
            );
        }
        &mut self.dp[row]
    }

    /// Costs of reaching `t` on each tier: (hot, cold, cold arrival).
    fn advance(cost: &CostModel, d: &Dp, t: i64) -> (f64, f64, i64, f64) {
        let (h, c) = (cost.hot, cost.cheapest);
        let g = (t - d.last).max(0);
        let stay_hot = d.hot + cost.storage(h, d.size, g);
        let recall = d.cold
            + cost.storage(c, d.size, g)
            + cost.transfer(c, h, d.size, t - d.cold_since).total();
        let stay_cold = d.cold + cost.storage(c, d.size, g);
        let go_cold = d.hot + cost.transfer(h, c, d.size, 0).total()
            - cost.early_deletion(h, d.size, 0)
            + cost.storage(c, d.size, g);
        let to_hot = stay_hot.min(recall);
        let (to_cold, since) = if stay_cold <= go_cold {
            (stay_cold, d.cold_since)
        } else {
            (go_cold, d.last)
        };
        let cold_early = cost.early_deletion(c, d.size, t - since);
        (to_hot, to_cold, since, cold_early)
    }

    /// An object that exists on `tier` when the trace starts at `t` (written at `written`): the
    /// oracle starts where the object is, and may move it at once.
    pub fn exists(
        &mut self,
        cost: &CostModel,
        row: usize,
        tier: u8,
        size: u64,
        written: i64,
        t: i64,
    ) {
        let cold = usize::from(tier) == cost.cheapest && cost.cheapest != cost.hot;
        *self.get(row) = Dp {
            hot: if cold { INF } else { 0.0 },
            cold: if cold { 0.0 } else { INF },
            cold_since: written.min(t),
            last: t,
            size,
            alive: true,
        };
    }

    pub fn read(&mut self, cost: &CostModel, row: usize, size: u64, t: i64) {
        let d = *self.get(row);
        if !d.alive {
            *self.get(row) = Dp {
                hot: 0.0,
                cold: INF,
                cold_since: t,
                last: t,
                size,
                alive: true,
            };
            return;
        }
        let (hot, cold, since, _) = Self::advance(cost, &d, t);
        let e = self.get(row);
        e.hot = hot + cost.read(cost.hot, d.size).total();
        e.cold = cold + cost.read(cost.cheapest, d.size).total();
        e.cold_since = since;
        e.last = t;
    }

    pub fn write(&mut self, cost: &CostModel, row: usize, size: u64, t: i64) {
        let d = *self.get(row);
        let base = if d.alive {
            let (hot, cold, _, early) = Self::advance(cost, &d, t);
            hot.min(cold + early)
        } else {
            0.0
        };
        *self.get(row) = Dp {
            hot: base + cost.write(cost.hot).total(),
            cold: INF,
            cold_since: t,
            last: t,
            size,
            alive: true,
        };
    }

    pub fn delete(&mut self, cost: &CostModel, row: usize, t: i64) {
        let d = *self.get(row);
        if !d.alive {
            return;
        }
        let (hot, cold, _, early) = Self::advance(cost, &d, t);
        self.settled += hot.min(cold + early);
        self.get(row).alive = false;
    }

    /// The oracle's total if the trace ended at `t`.
    pub fn total(&self, cost: &CostModel, t: i64) -> f64 {
        self.settled
            + self
                .dp
                .iter()
                .filter(|d| d.alive)
                .map(|d| {
                    let (hot, cold, _, _) = Self::advance(cost, d, t);
                    hot.min(cold)
                })
                .sum::<f64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const DAY: i64 = 86_400;
    const GB: u64 = 1_000_000_000;

    fn cost() -> CostModel {
        CostModel::from_config(&Config::embedded())
    }

    #[test]
    fn the_oracle_keeps_busy_data_hot_and_sends_idle_data_cold() {
        let c = cost();
        let mut o = Oracle::default();
        // Object 0 is written and never read for a year: cold is cheaper.
        o.write(&c, 0, GB, 0);
        // Object 1 is read every day: hot is cheaper (cold reads cost retrieval + egress).
        o.write(&c, 1, GB, 0);
        for d in 1..=365 {
            o.read(&c, 1, GB, d * DAY);
        }
        let end = 365 * DAY;
        let total = o.total(&c, end);
        let hot_year = c.storage(0, GB, end);
        let cold_year = c.storage(1, GB, end) + c.transfer(0, 1, GB, 0).total();
        assert!(
            (total - (cold_year + hot_year)).abs() < 1e-9,
            "{total} vs {}",
            cold_year + hot_year
        );
    }

    #[test]
    fn a_baseline_moves_each_object_at_the_first_pass_after_it_has_been_idle_n_days() {
        let c = cost();
        let mut b = Baseline::new("idle".into(), Some(30 * DAY), false, 3, 0);
        let moves_after = |b: &mut Baseline, day: i64| {
            b.tick(&c, day * DAY);
            b.ledger.moves
        };
        b.write(&c, 0, GB, 0);
        assert_eq!(moves_after(&mut b, 10), 0);
        assert_eq!(moves_after(&mut b, 20), 0);
        b.write(&c, 1, GB, 25 * DAY);
        b.read(&c, 0, GB, 26 * DAY);
        assert_eq!(moves_after(&mut b, 31), 0, "object 0 was read on day 26");
        assert_eq!(moves_after(&mut b, 55), 0);
        assert_eq!(moves_after(&mut b, 56), 1, "object 1, idle since day 25");
        assert_eq!(moves_after(&mut b, 57), 2, "object 0, idle since day 26");
        // Listed as written long before: moved at the next pass, however recent the last one.
        b.exists(2, 0, GB, -100 * DAY);
        assert_eq!(moves_after(&mut b, 58), 3);
        assert_eq!(b.places[2].tier, c.cheapest as u8);
    }

    #[test]
    fn baselines_move_after_idle_and_recall_on_access() {
        let c = cost();
        let mut never = Baseline::new("never".into(), None, false, 3, 0);
        let mut idle = Baseline::new("idle".into(), Some(30 * DAY), false, 3, 0);
        let mut recall = Baseline::new("recall".into(), Some(30 * DAY), true, 3, 0);
        for b in [&mut never, &mut idle, &mut recall] {
            b.write(&c, 0, GB, 0);
            b.tick(&c, 31 * DAY);
            b.read(&c, 0, GB, 40 * DAY);
            b.read(&c, 0, GB, 41 * DAY);
            b.tick(&c, 100 * DAY);
        }
        assert_eq!((never.ledger.moves, never.ledger.recalls), (0, 0));
        assert_eq!((idle.ledger.moves, idle.ledger.recalls), (1, 0));
        // Recalled on day 40, idle again from day 41: moved out again by day 100.
        assert_eq!((recall.ledger.moves, recall.ledger.recalls), (2, 1));
        assert_eq!(
            recall.ledger.ping_pongs, 1,
            "recalled 9 days into a 90-day minimum"
        );
        // Two reads served from the cold tier cost retrieval and egress twice.
        assert!((idle.ledger.charges.egress - 0.18).abs() < 1e-9);
        assert!(never.ledger.charges.egress == 0.0);
    }
}
