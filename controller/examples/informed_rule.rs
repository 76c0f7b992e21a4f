//! The informed rule: what the generator's log archive would cost under the best policy that
//! knows how the archive is used but not what will happen, the yardstick between the tierd
//! policy and the clairvoyant oracle of `tierd simulate` (docs/simulate.md, "The informed rule").
//!
//! `cargo run -p tierd --example informed_rule -- --logs L.log --summary S.json [--config C]`
//!
//! `L.log` is a trace of the workload generator with `--logs-per-day` (`tierd-models`' example
//! `generate`), `S.json` what `tierd simulate --json` printed for it, with the same `C` (the
//! embedded configuration by default: its prices, its hot tier and its cheapest tier).
//!
//! The rule knows the generator's parameters ([`models::generator::logs`]): the share of logs
//! debugged and the delay, the audit rate and the days audits choose from. It does not know
//! which log will be debugged, or which day audited. Per log it moves to the cheapest tier at
//! the age after the ETL read that minimises the expected cost, and after any later read it
//! chooses again with only audits to come. It never recalls. Objects outside `logs/` stay on
//! the hot tier, as never moving keeps them. It is given more than a policy has: no learning,
//! the true parameters from the first day, and a debugging read known for what it is.
//!
//! Printed: the informed rule's total on the trace (never moving's total, less what it saves on
//! the logs), next to the policy, never moving and the oracle of `S.json`, and its expected
//! extra cost over the oracle (the oracle priced high: its answers to a debugging read and to an
//! audit are priced apart), a floor under what any policy without foresight can expect.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

use models::OpClass;
use models::generator::logs::{AUDIT_PER_DAY, DEBUG_MEAN_DAYS, DEBUG_READ, RETENTION_DAYS};
use tierd::config::Config;
use tierd::cost::{CostModel, GB};

/// Debugging reads later than this many days after the ETL read are dropped by the generator.
const DEBUG_CUT_DAYS: f64 = 14.0;
/// Audits read a day at least this many days old.
const AUDIT_MIN_AGE: i64 = 7;
/// The hour of day an audit reads (they start between 10:00 and 14:00).
const AUDIT_HOUR: f64 = 12.0;
/// The grid of move ages tried, days (an hour).
const STEP: f64 = 1.0 / 24.0;
/// The integration step over the debugging delay, days.
const DX: f64 = 1.0 / 48.0;

/// The prices the rule weighs, per GB and per request, from the configuration's cost model.
#[derive(Debug, Clone, Copy)]
struct Prices {
    /// Hot storage less cold storage, per GB-day.
    premium: f64,
    /// One read served from the cold tier, per GB (retrieval and egress).
    read: f64,
}

impl Prices {
    fn from(cost: &CostModel) -> Prices {
        let (hot, cold) = (cost.hot, cost.cheapest);
        let day = 86_400;
        let r = cost.read(cold, GB as u64);
        Prices {
            premium: cost.storage(hot, GB as u64, day) - cost.storage(cold, GB as u64, day),
            read: r.retrieval + r.egress,
        }
    }
}

/// One day's chance of being audited, by the time of the audit (days).
type Audits = Vec<(f64, f64)>;

/// The audits that may read the logs written on `day` of `bucket`, with their probability: on
/// each workday from a week later to the trace's end (`end`, days), the generator audits with
/// probability [`AUDIT_PER_DAY`] one day chosen uniformly from the bucket's first live day to a
/// week ago.
fn audits(day: i64, first_day: i64, end: f64) -> Audits {
    let mut out = Vec::new();
    let mut c = day + AUDIT_MIN_AGE;
    while (c as f64) + AUDIT_HOUR / 24.0 < end && c - day < RETENTION_DAYS {
        if (c + 3).rem_euclid(7) < 5 {
            let first = first_day.max(c - RETENTION_DAYS + 1);
            let choices = (c - AUDIT_MIN_AGE - first + 1) as f64;
            out.push((c as f64 + AUDIT_HOUR / 24.0, AUDIT_PER_DAY / choices));
        }
        c += 1;
    }
    out
}

/// The debugging read's density on `DX` steps: (delay in days, probability of that step).
fn debug_steps() -> Vec<(f64, f64)> {
    let n = (DEBUG_CUT_DAYS / DX) as usize;
    (0..n)
        .map(|i| {
            let x = (i as f64 + 0.5) * DX;
            (
                x,
                DEBUG_READ / DEBUG_MEAN_DAYS * (-x / DEBUG_MEAN_DAYS).exp() * DX,
            )
        })
        .collect()
}

/// The move age (days after `from`, at most `life`, the days left in the trace) with the least
/// expected cost, and its expected extra over the oracle (per GB). Expected costs are counted
/// over keeping the log cold from `from` on: the online rule keeps it hot until `from + t`, or
/// until a debugging read if `debug` (then moved at once), and pays a cold read for each read
/// after the move; the oracle keeps it hot until a read it knows of or moves it at once and
/// pays the read, whichever is cheaper, pricing a debugging read and an audit apart.
fn best_age(
    from: f64,
    life: f64,
    debug: Option<&[(f64, f64)]>,
    aud: &Audits,
    p: &Prices,
) -> (f64, f64) {
    let debug = debug.unwrap_or(&[]);
    let debug = &debug[..debug.partition_point(|&(x, _)| x < life)];
    let aud = &aud[aud.partition_point(|&(at, _)| at <= from)..];
    let p_debug: f64 = debug.iter().map(|d| d.1).sum();
    let oracle = debug
        .iter()
        .map(|&(x, f)| f * (p.premium * x).min(p.read))
        .sum::<f64>()
        + aud
            .iter()
            .map(|&(at, q)| q * (p.premium * (at - from)).min(p.read))
            .sum::<f64>();
    // Sweeping t up: debugging reads before t (hot, then moved), audits still to come.
    let (mut held, mut p_before, mut i) = (0.0, 0.0, 0);
    let (mut audits_after, mut j): (f64, usize) = (aud.iter().map(|a| a.1).sum(), 0);
    let mut best = (life, f64::INFINITY);
    let mut t: f64 = 0.0;
    loop {
        let t_here = t.min(life);
        while let Some(&(x, f)) = debug.get(i).filter(|d| d.0 < t_here) {
            (held, p_before, i) = (held + f * p.premium * x, p_before + f, i + 1);
        }
        while let Some(&(_, q)) = aud.get(j).filter(|a| a.0 <= from + t_here) {
            (audits_after, j) = (audits_after - q, j + 1);
        }
        let online = held
            + (p.premium * t_here + p.read) * (p_debug - p_before)
            + (1.0 - p_debug) * p.premium * t_here
            + p.read * audits_after;
        if online - oracle < best.1 {
            best = (t_here, online - oracle);
        }
        if t >= life {
            return (best.0, best.1.max(0.0));
        }
        t += STEP;
    }
}

/// One log of the trace (times in days).
#[derive(Debug, Default)]
struct Log {
    bucket: usize,
    gb: f64,
    put: f64,
    /// Reads in time order: the first is the ETL read.
    reads: Vec<f64>,
    gone: Option<f64>,
}

/// What the informed rule did to one log on the trace.
#[derive(Debug, Default, PartialEq)]
struct Replayed {
    /// Its cost over never moving it, charged as `tierd simulate` charges (the move, reads
    /// served from the cold tier, early deletion).
    over_never: f64,
    /// The retrieval and egress of the reads served from the cold tier.
    read_back: f64,
    /// The move age planned after the ETL read and its expected extra over the oracle (per GB);
    /// none for a log not read before the trace ends.
    planned: Option<(f64, f64)>,
}

/// Replays the informed rule on one log.
fn replay(
    log: &Log,
    end: f64,
    aud: &Audits,
    debug: &[(f64, f64)],
    cost: &CostModel,
    p: &Prices,
) -> Replayed {
    let (hot, cold) = (cost.hot, cost.cheapest);
    let bytes = (log.gb * GB) as u64;
    let stop = log.gone.unwrap_or(end).min(end);
    let Some(&etl) = log.reads.first() else {
        return Replayed::default(); // not read before the trace ends: kept hot
    };
    let planned = best_age(etl, stop - etl, Some(debug), aud, p);
    let mut move_at = etl + planned.0;
    let (mut reads, mut read_back) = (0.0, 0.0);
    for &r in &log.reads[1..] {
        if r < move_at && move_at < stop {
            // Read while hot: only audits are to come.
            let (t, _) = best_age(r, stop - r, None, aud, p);
            move_at = r + t;
        } else if move_at < stop {
            let c = cost.read(cold, bytes);
            (reads, read_back) = (reads + c.total(), read_back + c.retrieval + c.egress);
        }
    }
    if move_at >= stop {
        return Replayed {
            planned: Some(planned),
            ..Replayed::default()
        };
    }
    let mut charges = reads;
    let day = 86_400.0;
    let cold_secs = ((stop - move_at) * day) as i64;
    charges += cost
        .transfer(hot, cold, bytes, ((move_at - log.put) * day) as i64)
        .total();
    charges -= cost.storage(hot, bytes, cold_secs) - cost.storage(cold, bytes, cold_secs);
    if log.gone.is_some_and(|g| g <= end) {
        charges += cost.early_deletion(cold, bytes, cold_secs);
    }
    Replayed {
        over_never: charges,
        read_back,
        planned: Some(planned),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut logs, mut summary, mut config) = (None, None, None);
    while let Some(a) = args.next() {
        let mut path = || {
            args.next()
                .map(PathBuf::from)
                .ok_or(format!("{a} needs a path"))
        };
        match a.as_str() {
            "--logs" => logs = Some(path()?),
            "--summary" => summary = Some(path()?),
            "--config" => config = Some(path()?),
            _ => return Err(format!("unknown argument {a}").into()),
        }
    }
    let (logs, summary) = logs
        .zip(summary)
        .ok_or("usage: --logs L.log --summary S.json [--config C]")?;
    let cfg = match config {
        Some(c) => Config::load(&c).map_err(|d| {
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })?,
        None => Config::embedded(),
    };
    let cost = CostModel::from_config(&cfg);
    let prices = Prices::from(&cost);
    let day_us = 86_400e6;
    let mut by_key: HashMap<(String, String), Log> = HashMap::new();
    let mut buckets: Vec<String> = Vec::new();
    let mut end = f64::MIN;
    let file = std::io::BufReader::new(std::fs::File::open(&logs)?);
    for (n, line) in file.lines().enumerate() {
        let line = line?;
        let ev = match models::parse::s3::parse_line(&line) {
            Ok(Some(ev)) => ev,
            Ok(None) => continue,
            Err(e) => return Err(format!("{}:{}: {e}", logs.display(), n + 1).into()),
        };
        let t = ev.time_us as f64 / day_us;
        end = end.max(t);
        let Some(key) = ev.key.filter(|k| k.starts_with("logs/")) else {
            continue;
        };
        let b = match buckets.iter().position(|x| *x == ev.bucket) {
            Some(b) => b,
            None => {
                buckets.push(ev.bucket.clone());
                buckets.len() - 1
            }
        };
        let log = by_key.entry((ev.bucket, key)).or_default();
        log.bucket = b;
        match ev.op {
            OpClass::Put => {
                log.gb = ev.bytes_received.or(ev.object_size).unwrap_or(0) as f64 / GB;
                log.put = t;
            }
            OpClass::Get => log.reads.push(t),
            OpClass::Delete => log.gone = Some(t),
            _ => {}
        }
    }
    if by_key.is_empty() {
        return Err(format!(
            "{}: no object under logs/: the informed rule prices the generator's log archive \
             (its example `generate` with --logs-per-day)",
            logs.display()
        )
        .into());
    }
    for log in by_key.values_mut() {
        log.reads.sort_by(f64::total_cmp);
    }
    let mut first = vec![f64::MAX; buckets.len()];
    for log in by_key.values() {
        first[log.bucket] = first[log.bucket].min(log.put.floor());
    }
    let debug = debug_steps();
    let mut cache: HashMap<(usize, i64), Audits> = HashMap::new();
    let (mut saved, mut read_back, mut floor, mut gb, mut age) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut keys: Vec<_> = by_key.keys().cloned().collect();
    keys.sort();
    for k in keys {
        let log = &by_key[&k];
        let day = log.put.floor() as i64;
        let fb = first[log.bucket];
        let aud = cache
            .entry((log.bucket, day))
            .or_insert_with(|| audits(day, fb as i64, end));
        let r = replay(log, end, aud, &debug, &cost, &prices);
        (saved, read_back) = (saved + r.over_never, read_back + r.read_back);
        if let Some((t, extra)) = r.planned {
            (floor, age, gb) = (floor + extra * log.gb, age + t * log.gb, gb + log.gb);
        }
    }
    let s: serde_json::Value = serde_json::from_reader(std::fs::File::open(&summary)?)?;
    let strategy = |name: &str| -> Result<&serde_json::Value, String> {
        s["summaries"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["strategy"] == name))
            .ok_or(format!("{}: no strategy {name:?}", summary.display()))
    };
    let number = |v: &serde_json::Value| v.as_f64().ok_or("a summary total is not a number");
    let (never, policy) = (
        number(&strategy("never move")?["total"])?,
        strategy("tierd policy")?,
    );
    let charges = &policy["ledger"]["charges"];
    let policy_reads = number(&charges["retrieval"])? + number(&charges["egress"])?;
    let policy = number(&policy["total"])?;
    let oracle = s["oracle_total"].as_f64().ok_or("no oracle_total")?;
    let informed = never + saved;
    println!("logs: {} ({gb:.1} GB)", by_key.len());
    println!("never move      {never:.4}");
    println!(
        "tierd policy    {policy:.4}  ({:+.1} % on the informed rule; read-backs {policy_reads:.4})",
        100.0 * (policy / informed - 1.0)
    );
    println!(
        "informed rule   {informed:.4}  ({:+.1} % on the oracle; read-backs {read_back:.4})",
        100.0 * (informed / oracle - 1.0)
    );
    println!("oracle          {oracle:.4}");
    println!(
        "expected extra of the informed rule over the oracle: {floor:.4} ({:+.1} % on the oracle)",
        100.0 * floor / oracle
    );
    println!(
        "the informed rule plans to move a log {:.2} days after its ETL read (GB-weighted mean)",
        age / gb
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedded() -> CostModel {
        CostModel::from_config(&Config::embedded())
    }

    #[test]
    fn without_audits_the_rule_moves_at_the_break_even_of_the_debugging_reads() {
        let p = Prices::from(&embedded());
        // d/dT of the expected cost is P (1 - F(T)) - R f(T), with F the debugging read's
        // distribution: zero at T = -M ln(P (1 - Q) / (Q (R / M - P))).
        let (q, m) = (DEBUG_READ, DEBUG_MEAN_DAYS);
        let want = -m * (p.premium * (1.0 - q) / (q * (p.read / m - p.premium))).ln();
        let (t, extra) = best_age(0.0, 60.0, Some(&debug_steps()), &Vec::new(), &p);
        assert!(
            (t - want).abs() <= 2.0 * STEP,
            "moved at {t} d, break-even {want} d"
        );
        assert!(
            extra > 0.0,
            "the oracle, knowing which logs are debugged, pays less"
        );
    }

    #[test]
    fn a_log_likely_to_be_audited_every_day_stays_hot_until_the_last_audit() {
        let p = Prices::from(&embedded());
        let aud: Audits = (1..60).map(|d| (f64::from(d) + 0.5, 0.5)).collect();
        let (t, _) = best_age(0.0, 60.0, Some(&debug_steps()), &aud, &p);
        assert!(t >= 59.5, "moved at {t} d, before the last audit");
    }

    /// A 16 MB log written at 0 and read at `reads` (days).
    fn log_read_at(reads: Vec<f64>) -> Log {
        Log {
            bucket: 0,
            gb: 16e6 / GB,
            put: 0.0,
            reads,
            gone: None,
        }
    }

    /// What a move of `bytes` at day `at` costs over never moving, to day `end`, reads aside.
    fn moved(cost: &CostModel, bytes: u64, at: f64, end: f64) -> f64 {
        let (hot, cold) = (cost.hot, cost.cheapest);
        let secs = ((end - at) * 86_400.0) as i64;
        cost.transfer(hot, cold, bytes, (at * 86_400.0) as i64)
            .total()
            - (cost.storage(hot, bytes, secs) - cost.storage(cold, bytes, secs))
    }

    #[test]
    fn an_audit_after_the_move_is_served_from_the_cold_tier() {
        let cost = embedded();
        let log = log_read_at(vec![0.02, 40.5]);
        let p = Prices::from(&cost);
        let Replayed {
            over_never: got,
            read_back: reads,
            ..
        } = replay(&log, 60.0, &Vec::new(), &debug_steps(), &cost, &p);
        let (t, _) = best_age(0.02, 59.98, Some(&debug_steps()), &Vec::new(), &p);
        let bytes = (log.gb * GB) as u64;
        let read = cost.read(cost.cheapest, bytes);
        let want = moved(&cost, bytes, 0.02 + t, 60.0) + read.total();
        assert!((got - want).abs() < 1e-12, "{got} against {want}");
        assert!(
            (reads - read.retrieval - read.egress).abs() < 1e-12,
            "{reads}"
        );
    }

    #[test]
    fn a_read_while_hot_restarts_the_wait_with_only_audits_to_come() {
        let cost = embedded();
        // Debugged a day after the ETL read: with no audits to come, moved at once after it.
        let log = log_read_at(vec![0.02, 1.02]);
        let p = Prices::from(&cost);
        let Replayed {
            over_never: got,
            read_back: reads,
            ..
        } = replay(&log, 30.0, &Vec::new(), &debug_steps(), &cost, &p);
        assert_eq!(
            reads, 0.0,
            "the debugging read was served from the hot tier"
        );
        let want = moved(&cost, (log.gb * GB) as u64, 1.02, 30.0);
        assert!((got - want).abs() < 1e-12, "{got} against {want}");
    }
}
