//! A log archive (opt-in, [`GeneratorConfig::logs_per_day`](super::GeneratorConfig)): the kind
//! of data access-based tiering exists for, written once, read while it is new, then almost
//! never.
//!
//! Each bucket's service writes `logs_per_day` objects a day under
//! `logs/YYYY/MM/DD/HH-<id>.log.gz` (log-normal sizes around 16 MB, at most 512 MB), spread over
//! the hours. Each one is:
//! - read once by `role/etl` 5 to 60 minutes after it is written (ingestion);
//! - with probability [`DEBUG_READ`], read again by one of the bucket's people while debugging,
//!   an exponential delay of mean [`DEBUG_MEAN_DAYS`] days later (reads after 14 days dropped);
//! - read in an audit: on a workday, with probability [`AUDIT_PER_DAY`] per bucket, a person
//!   reads every log of one past day at least a week old, chosen uniformly;
//! - deleted by the service when it is [`RETENTION_DAYS`] old.
//!
//! The stream has a random generator of its own (seeded from the configuration's seed), so
//! turning the archive on adds its lines and changes no other request (only request ids shift).

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{DAY, Gen, HOUR, Op, UA_APP, UA_BACKUP, UA_HUMAN, US, days_to_civil};

/// The share of logs read again while debugging.
pub const DEBUG_READ: f64 = 0.15;
/// Mean delay of a debugging read, in days.
pub const DEBUG_MEAN_DAYS: f64 = 1.5;
/// Per bucket and workday: the probability of an audit reading one past day's logs.
pub const AUDIT_PER_DAY: f64 = 0.05;
/// Age at which the service deletes a log.
pub const RETENTION_DAYS: i64 = 180;

/// One bucket's log archive.
#[derive(Debug, Default)]
pub(super) struct Archive {
    /// Live logs in the order written: (key, size, day written).
    live: std::collections::VecDeque<(String, u64, i64)>,
    next_id: u64,
}

/// The archive's own random stream.
pub(super) fn rng(seed: u64) -> Xoshiro256PlusPlus {
    Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x1095_A2C8_1F3E_77D1)
}

/// Log-normal around 16 MB, capped at 512 MB.
fn log_size(rng: &mut Xoshiro256PlusPlus) -> u64 {
    super::log_normal(rng, 16e6, 0.7).clamp(10_000.0, 512e6) as u64
}

impl Gen<'_> {
    /// The archive's writes of one hour in bucket `b`, with each log's later reads.
    pub(super) fn logs_hour(&mut self, b: usize, hour_start: i64) {
        let per_day = self.cfg.logs_per_day;
        if per_day == 0 {
            return;
        }
        let n = super::poisson(&mut self.log_rng, f64::from(per_day) / 24.0);
        let day = hour_start.div_euclid(DAY);
        let (y, m, d) = days_to_civil(day);
        let hh = hour_start.rem_euclid(DAY) / HOUR;
        let (app, app_ip) = (self.buckets[b].app, self.buckets[b].app_ip);
        for _ in 0..n {
            let t = hour_start * US + self.log_rng.gen_range(0..HOUR * US);
            let id = self.buckets[b].logs.next_id;
            self.buckets[b].logs.next_id += 1;
            let key = format!("logs/{y:04}/{m:02}/{d:02}/{hh:02}-{id:07}.log.gz");
            let size = log_size(&mut self.log_rng);
            self.line_key(
                t,
                b,
                Op::Put,
                Some(key.clone()),
                Some(size),
                app,
                app_ip,
                UA_APP,
            );
            let etl_at = t + self.log_rng.gen_range(5 * 60 * US..60 * 60 * US);
            let (etl, etl_ip) = (self.etl, self.backup_ip);
            let k = Some(key.clone());
            self.line_key(etl_at, b, Op::Get, k, Some(size), etl, etl_ip, UA_BACKUP);
            if self.log_rng.gen_bool(DEBUG_READ) {
                let u: f64 = self.log_rng.gen_range(f64::EPSILON..1.0);
                let delay_days = -DEBUG_MEAN_DAYS * u.ln();
                let who = self.buckets[b].people[self.log_rng.gen_range(0..2)];
                if delay_days < 14.0 {
                    let at = etl_at + (delay_days * (DAY * US) as f64) as i64;
                    let ip = self.person_ips[who as usize];
                    let k = Some(key.clone());
                    self.line_key(at, b, Op::Get, k, Some(size), who, ip, UA_HUMAN);
                }
            }
            self.buckets[b].logs.live.push_back((key, size, day));
        }
    }

    /// The archive's daily jobs in bucket `b`: retention deletes at 00:30, and perhaps an audit.
    pub(super) fn logs_day(&mut self, b: usize, day: i64, workday: bool) {
        if self.cfg.logs_per_day == 0 {
            return;
        }
        let (app, app_ip) = (self.buckets[b].app, self.buckets[b].app_ip);
        let mut t = (day * DAY + HOUR / 2) * US;
        while let Some((_, _, written)) = self.buckets[b].logs.live.front() {
            if day - written < RETENTION_DAYS {
                break;
            }
            if let Some((key, _, _)) = self.buckets[b].logs.live.pop_front() {
                self.line_key(t, b, Op::Delete, Some(key), None, app, app_ip, UA_APP);
                t += US;
            }
        }
        if !(workday && self.log_rng.gen_bool(AUDIT_PER_DAY)) {
            return;
        }
        let first = self.buckets[b].logs.live.front().map(|l| l.2);
        let Some(first) = first.filter(|&f| f <= day - 7) else {
            return;
        };
        let audited = self.log_rng.gen_range(first..=day - 7);
        let who = self.buckets[b].people[self.log_rng.gen_range(0..2)];
        let ip = self.person_ips[who as usize];
        let mut t = (day * DAY + 10 * HOUR) * US + self.log_rng.gen_range(0..4 * HOUR * US);
        let batch: Vec<(String, u64)> = self.buckets[b]
            .logs
            .live
            .iter()
            .filter(|l| l.2 == audited)
            .map(|l| (l.0.clone(), l.1))
            .collect();
        for (key, size) in batch {
            self.line_key(t, b, Op::Get, Some(key), Some(size), who, ip, UA_HUMAN);
            t += self.log_rng.gen_range(2 * US..20 * US);
        }
    }
}
