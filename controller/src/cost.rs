//! The cost model: what storing, reading and moving an object costs on each tier, from the
//! prices in the configuration (`[tiers.NAME.price]`), and the ledger that adds charges up.
//!
//! Units: bytes in, money out (the configured currency); a GB is 10^9 bytes and a month 30 days,
//! as cloud price lists count them.

use serde::Serialize;

use crate::config::{Config, Price, Role};

/// Bytes in a GB as price lists count it.
pub const GB: f64 = 1e9;
/// Seconds in a billing month.
pub const MONTH_SECS: f64 = 30.0 * 86_400.0;
/// The longest horizon the cost signals weigh reads over, days (ten years): a longer minimum
/// storage duration is priced as this long.
pub const MAX_HORIZON_DAYS: i64 = 3650;

/// Charges by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Charges {
    pub storage: f64,
    pub retrieval: f64,
    pub egress: f64,
    pub requests: f64,
    /// Storage charged for the rest of a tier's minimum storage duration when an object leaves early.
    pub early_deletion: f64,
}

impl Charges {
    pub fn total(&self) -> f64 {
        self.storage + self.retrieval + self.egress + self.requests + self.early_deletion
    }

    /// Everything but storage: what a day's money budget limits.
    pub fn transfer(&self) -> f64 {
        self.retrieval + self.egress + self.requests + self.early_deletion
    }

    pub fn add(&mut self, o: &Charges) {
        self.storage += o.storage;
        self.retrieval += o.retrieval;
        self.egress += o.egress;
        self.requests += o.requests;
        self.early_deletion += o.early_deletion;
    }
}

/// Prices and minimum durations per tier, indexed like the configuration's tiers.
#[derive(Debug, Clone, PartialEq)]
pub struct CostModel {
    pub tiers: Vec<String>,
    pub prices: Vec<Price>,
    pub roles: Vec<Role>,
    /// Minimum storage duration per tier, seconds.
    pub min_storage_secs: Vec<i64>,
    pub currency: String,
    /// The data tier with the lowest storage price (the "cheapest tier" of the cost signals).
    pub cheapest: usize,
    /// The first data tier: where clients write (on-premise).
    pub hot: usize,
}

impl CostModel {
    pub fn from_config(c: &Config) -> CostModel {
        let roles = if c.roles.len() == c.tiers.len() {
            c.roles.clone()
        } else {
            vec![Role::Data; c.tiers.len()]
        };
        let prices = if c.prices.len() == c.tiers.len() {
            c.prices.clone()
        } else {
            vec![Price::default(); c.tiers.len()]
        };
        let data: Vec<usize> = (0..c.tiers.len())
            .filter(|&i| roles[i] == Role::Data)
            .collect();
        let hot = data.first().copied().unwrap_or(0);
        let cheapest = data
            .iter()
            .copied()
            .min_by(|&a, &b| {
                prices[a]
                    .storage_gb_month
                    .total_cmp(&prices[b].storage_gb_month)
                    .then(a.cmp(&b))
            })
            .unwrap_or(hot);
        CostModel {
            tiers: c.tiers.iter().map(|t| t.name.clone()).collect(),
            prices,
            roles,
            min_storage_secs: c
                .tiers
                .iter()
                .map(|t| i64::from(t.min_storage_days) * 86_400)
                .collect(),
            currency: c.currency.clone(),
            cheapest,
            hot,
        }
    }

    pub fn tier_index(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t == name)
    }

    /// Storage of `bytes` on `tier` for `secs` seconds.
    pub fn storage(&self, tier: usize, bytes: u64, secs: i64) -> f64 {
        self.prices.get(tier).map_or(0.0, |p| p.storage_gb_month) * bytes as f64 / GB
            * secs.max(0) as f64
            / MONTH_SECS
    }

    /// One client read of the whole object served from `tier`.
    pub fn read(&self, tier: usize, bytes: u64) -> Charges {
        let p = self.prices.get(tier).copied().unwrap_or_default();
        Charges {
            retrieval: p.retrieval_gb * bytes as f64 / GB,
            egress: p.egress_gb * bytes as f64 / GB,
            requests: p.requests_per_1000 / 1000.0,
            ..Charges::default()
        }
    }

    /// One client write (PUT) landing on `tier`.
    pub fn write(&self, tier: usize) -> Charges {
        Charges {
            requests: self.prices.get(tier).map_or(0.0, |p| p.requests_per_1000) / 1000.0,
            ..Charges::default()
        }
    }

    /// The charge for leaving `tier` after `secs_on_tier` when its minimum duration is longer.
    pub fn early_deletion(&self, tier: usize, bytes: u64, secs_on_tier: i64) -> f64 {
        let min = self.min_storage_secs.get(tier).copied().unwrap_or(0);
        if secs_on_tier >= min {
            0.0
        } else {
            self.storage(tier, bytes, min - secs_on_tier.max(0))
        }
    }

    /// Moving an object: read it from `from` (retrieval, egress, a GET), write it to `to` (a PUT),
    /// delete it from `from` (early deletion if it leaves before its minimum duration).
    pub fn transfer(&self, from: usize, to: usize, bytes: u64, secs_on_tier: i64) -> Charges {
        let mut c = self.read(from, bytes);
        c.add(&self.write(to));
        c.early_deletion = self.early_deletion(from, bytes, secs_on_tier);
        c
    }

    /// The decision horizon of the cost signals, seconds: the cheapest tier's minimum storage
    /// duration (a move there commits to paying for it), at least a month and at most
    /// [`MAX_HORIZON_DAYS`].
    pub fn horizon_secs(&self) -> i64 {
        self.min_storage_secs
            .get(self.cheapest)
            .copied()
            .unwrap_or(0)
            .clamp(MONTH_SECS as i64, MAX_HORIZON_DAYS * 86_400)
    }

    /// The two cost signals of an object of `bytes` on `tier` for `secs_on_tier`, per month,
    /// given what its read history predicts (`outlook`: the probability of a read within the
    /// horizon [`CostModel::horizon_secs`], `H`, the expected reads within `H`, and the
    /// probability of a read on the day ahead). Expected read costs are spread over `H`. A move's one-off charges are counted whole
    /// against one month of savings: the margin of the break-even test, so that a move pays its
    /// charges back within a month and not only at the end of a residency that a delete, an
    /// overwrite or a misjudged read-back can cut short. A recall's are spread over `H`, like
    /// the reads it saves: `reads` already undercounts them (a read makes the next likelier).
    ///
    /// - On any tier but the cheapest: what a move to the cheapest tier saves (a month of
    ///   storage, less the move's one-off charges), and the expected cost of reading it back
    ///   from there: `p_read` x (one full read, plus bringing the object back: a re-read object
    ///   is usually read again soon, so it is recalled or read again, either about one more
    ///   full read), spread over `H`; or, if higher, that read-back at today's read rate
    ///   (`daily` x 30 days): where reads thin out with idle time (logs read while they are
    ///   new, then hardly ever), a move that would pay over `H` still pays more a few days
    ///   later, and waiting a day is worth it while the day's chance of a read-back costs more
    ///   than the day's savings.
    /// - On the cheapest tier: what staying there saves against the hot tier (a month of
    ///   storage, plus the recall it avoids: reading it out, writing it on the hot tier, early
    ///   deletion, spread over `H`), and the expected cost of serving its reads from there: `reads` x one full
    ///   read, spread over `H`. Recalling pays when the second exceeds the first.
    pub fn signals(
        &self,
        tier: usize,
        bytes: u64,
        secs_on_tier: i64,
        outlook: &ReadOutlook,
    ) -> (f64, f64) {
        let (p_read, reads) = (outlook.p_horizon, outlook.reads_horizon);
        let month = MONTH_SECS as i64;
        let months = self.horizon_secs() as f64 / MONTH_SECS;
        let (c, hot) = (self.cheapest, self.hot);
        let read_cold = self.read(c, bytes).total();
        if tier != c {
            let mut one_off = self.read(tier, bytes);
            one_off.add(&self.write(c));
            let one_off = one_off.total() + self.early_deletion(tier, bytes, secs_on_tier);
            let saved = self.storage(tier, bytes, month) - self.storage(c, bytes, month) - one_off;
            let back = self.write(tier).total();
            let read_back = (2.0 * read_cold + back)
                * (p_read / months).max(outlook.daily * MONTH_SECS / 86_400.0);
            (saved, read_back)
        } else if hot == c {
            (0.0, reads * read_cold / months)
        } else {
            let recall =
                read_cold + self.write(hot).total() + self.early_deletion(c, bytes, secs_on_tier);
            let saved =
                self.storage(hot, bytes, month) - self.storage(c, bytes, month) + recall / months;
            (saved, reads * read_cold / months)
        }
    }
}

/// What an object's read history predicts (the planner's read-back estimator), for
/// [`CostModel::signals`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadOutlook {
    /// P(read at least once within the horizon).
    pub p_horizon: f64,
    /// Expected reads within the horizon.
    pub reads_horizon: f64,
    /// P(read on the day ahead).
    pub daily: f64,
}

/// What one strategy spent and did over a simulation.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ledger {
    pub charges: Charges,
    /// Moves to a colder (cheaper) tier.
    pub moves: u64,
    /// Moves to a warmer tier.
    pub recalls: u64,
    /// Moves off a tier before its minimum residency.
    pub ping_pongs: u64,
    pub snapshots: u64,
    pub freezes: u64,
    pub alerts: u64,
    /// Bytes moved between data tiers.
    pub bytes_moved: u64,
    /// Client reads served from a tier other than the hot one (the read-backs of objects moved
    /// away), their bytes, and what they cost (retrieval, egress, the request).
    pub read_backs: u64,
    pub read_back_bytes: u64,
    pub read_back_cost: f64,
}

impl Ledger {
    /// Charges one client read of `bytes` served from `tier`; one from a tier other than the
    /// hot one counts as a read-back, and its charge is returned.
    pub fn read(&mut self, cost: &CostModel, tier: usize, bytes: u64) -> Option<f64> {
        let c = cost.read(tier, bytes);
        self.charges.add(&c);
        (tier != cost.hot).then(|| {
            self.read_backs += 1;
            self.read_back_bytes = self.read_back_bytes.saturating_add(bytes);
            self.read_back_cost += c.total();
            c.total()
        })
    }

    /// Records a move of `bytes` from `from` to `to` after `secs_on_tier` there.
    pub fn moved(
        &mut self,
        cost: &CostModel,
        from: usize,
        to: usize,
        bytes: u64,
        secs_on_tier: i64,
    ) {
        let c = cost.transfer(from, to, bytes, secs_on_tier);
        if c.early_deletion > 0.0
            || secs_on_tier < cost.min_storage_secs.get(from).copied().unwrap_or(0)
        {
            self.ping_pongs += 1;
        }
        self.charges.add(&c);
        let cheaper = cost.prices[to].storage_gb_month <= cost.prices[from].storage_gb_month;
        if cheaper && to != cost.hot {
            self.moves += 1;
        } else {
            self.recalls += 1;
        }
        self.bytes_moved = self.bytes_moved.saturating_add(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_prices_make_cloud_the_cheapest_and_onprem_hot() {
        let m = CostModel::from_config(&Config::embedded());
        assert_eq!(m.tiers[m.cheapest], "cloud", "the vault is not a data tier");
        assert_eq!(m.tiers[m.hot], "onprem");
        // 1 GB for a month on-premise costs its storage price.
        assert!((m.storage(0, 1_000_000_000, MONTH_SECS as i64) - 0.02).abs() < 1e-12);
    }

    #[test]
    fn leaving_a_tier_early_pays_the_rest_of_its_minimum() {
        let m = CostModel::from_config(&Config::embedded());
        let cloud = m.tier_index("cloud").unwrap();
        let gb = 1_000_000_000;
        // 90-day minimum, left after 30 days: 60 days = 2 months of $0.004.
        let e = m.early_deletion(cloud, gb, 30 * 86_400);
        assert!((e - 0.008).abs() < 1e-12, "{e}");
        assert_eq!(m.early_deletion(cloud, gb, 91 * 86_400), 0.0);
        let t = m.transfer(cloud, 0, gb, 30 * 86_400);
        assert!((t.retrieval - 0.03).abs() < 1e-12 && (t.egress - 0.09).abs() < 1e-12);
        assert!((t.early_deletion - 0.008).abs() < 1e-12);
        let mut l = Ledger::default();
        l.moved(&m, cloud, 0, gb, 30 * 86_400);
        assert_eq!((l.recalls, l.ping_pongs, l.moves), (1, 1, 0));
    }

    /// An outlook from the horizon alone (reads no likelier today than on any other day).
    fn horizon(p_horizon: f64, reads_horizon: f64) -> ReadOutlook {
        ReadOutlook {
            p_horizon,
            reads_horizon,
            daily: 0.0,
        }
    }

    #[test]
    fn a_move_waits_while_a_read_today_is_likelier_than_the_day_saves() {
        let m = CostModel::from_config(&Config::embedded());
        let gb = 1_000_000_000;
        // A log two days after it was written and read: 15% likely to be read within 90 days
        // (the move pays over the horizon), but 3% likely to be read tomorrow: a read-back
        // ($0.24) that likely costs more than a day of savings ($0.016 / 30).
        let young = ReadOutlook {
            p_horizon: 0.15,
            reads_horizon: 0.16,
            daily: 0.03,
        };
        let (saved, back) = m.signals(0, gb, 0, &young);
        assert!(back > saved, "{back} vs {saved}: wait");
        assert!(
            (back - 0.03 * 30.0 * 2.0 * (0.12 + 0.00002)).abs() < 1e-9,
            "{back}"
        );
        // A week later reads have thinned out: the same horizon, 0.1% tomorrow.
        let (saved, back) = m.signals(
            0,
            gb,
            0,
            &ReadOutlook {
                daily: 0.001,
                ..young
            },
        );
        assert!(back < saved, "{back} vs {saved}: move");
        assert!(
            (back - 0.15 * 2.0 * (0.12 + 0.00002) / 3.0).abs() < 1e-9,
            "{back}"
        );
    }

    #[test]
    fn the_cost_signals_weigh_savings_against_read_back() {
        let m = CostModel::from_config(&Config::embedded());
        assert_eq!(
            m.horizon_secs(),
            90 * 86_400,
            "the cloud tier's 90-day minimum"
        );
        let mut forever = m.clone();
        forever.min_storage_secs[m.cheapest] = i64::from(u32::MAX) * 86_400;
        assert_eq!(forever.horizon_secs(), MAX_HORIZON_DAYS * 86_400);
        let gb = 1_000_000_000;
        let (saved, back) = m.signals(0, gb, 0, &horizon(0.5, 0.7));
        // $0.016/month saved, less the move's PUT ($0.00002), paid back within the month.
        assert!((saved - (0.016 - 0.00002)).abs() < 1e-12, "{saved}");
        // An object under 1.25 MB does not pay its PUT back within a month.
        assert!(m.signals(0, 1_200_000, 0, &horizon(0.0, 0.0)).0 < 0.0);
        assert!(m.signals(0, 1_300_000, 0, &horizon(0.0, 0.0)).0 > 0.0);
        // A read back: the read ($0.12 + a GET) and bringing it back (as much again, + a PUT),
        // with probability 0.5 within 3 months.
        let episode = 2.0 * (0.03 + 0.09 + 0.00002);
        assert!((back - 0.5 * episode / 3.0).abs() < 1e-12, "{back}");
    }

    #[test]
    fn on_the_cheapest_tier_the_signals_price_staying_against_a_recall() {
        let m = CostModel::from_config(&Config::embedded());
        let cloud = m.tier_index("cloud").unwrap();
        let gb = 1_000_000_000;
        // 30 days in: a recall now reads it out ($0.12 + a GET), writes it on-premise (free
        // there) and pays 60 days of early deletion ($0.008).
        let (saved, back) = m.signals(cloud, gb, 30 * 86_400, &horizon(0.9, 6.0));
        let recall = 0.03 + 0.09 + 0.00002 + 0.008;
        assert!((saved - (0.016 + recall / 3.0)).abs() < 1e-12, "{saved}");
        assert!(
            (back - 6.0 * (0.12 + 0.00002) / 3.0).abs() < 1e-12,
            "{back}"
        );
        assert!(
            back > saved,
            "six reads in 3 months cost more than bringing it back"
        );
        // Two reads from the cloud ($0.24) cost more than a recall ($0.128) and the storage
        // staying saves ($0.048); one does not.
        let (saved, back) = m.signals(cloud, gb, 30 * 86_400, &horizon(0.8, 2.0));
        assert!(
            back > saved,
            "two expected reads in 3 months pay for a recall"
        );
        let (saved, back) = m.signals(cloud, gb, 30 * 86_400, &horizon(0.6, 1.0));
        assert!(back < saved, "one expected read in 3 months does not");
    }
}
