//! Benchmark: a 20-rule policy over a 10,000,000-object columnar catalog, on one core.
//!
//! `cargo run --release -p tierd-policies --example eval_bench [-- OBJECTS]`

use std::time::Instant;

use policies::{BehaviourFacts, Catalog, NO_RULE, ObjectFacts, TierSpec, load_from_strs};

const NOW: i64 = 1_767_614_400; // 2026-01-05T12:00:00Z
const DAY: i64 = 86_400;

fn policy() -> String {
    let mut s = String::from(
        r#"
[[rule]]
id = "pin-legal"
scope = { bucket = "legal" }
action = "pin"

[[rule]]
id = "freeze-incident"
priority = 900
scope = { bucket = "*" }
when = "incident_open or (bucket_anomaly >= 0.95 and principal_is_new)"
action = "freeze"

[[rule]]
id = "snapshot-anomaly"
priority = 950
scope = { bucket = "*" }
when = "bucket_anomaly >= 0.8 and tier != 'vault'"
action = { kind = "snapshot", to = "vault" }

[[rule]]
id = "alert-config"
priority = 990
scope = { bucket = "*" }
when = "lifecycle_changed or bucket_policy_changed"
action = { kind = "alert", severity = "critical" }

[[rule]]
id = "recall-hot"
priority = 500
scope = { bucket = "*" }
when = "tier == 'cloud' and reads_7d >= 5 and days_since_last_access < 1d"
action = { kind = "move", to = "onprem" }
"#,
    );
    // Fifteen tiering rules over different buckets and prefixes, with 3 to 5 tests each.
    let buckets = ["logs", "media", "backups", "analytics", "home"];
    let prefixes = ["2023/", "2024/", "raw/"];
    let mut n = 0;
    for b in buckets {
        for p in prefixes {
            n += 1;
            s.push_str(&format!(
                r#"
[[rule]]
id = "cold-{n}"
priority = {n}
scope = {{ bucket = "{b}", prefix = "{p}" }}
when = "tier == 'onprem' and days_since_last_access > {d}d and size >= {sz}KiB and reads_30d <= {r} and savings_per_month > read_back_cost_per_month"
action = {{ kind = "move", to = "cloud" }}
"#,
                d = 30 + n * 5,
                sz = 64 * n,
                r = n % 4,
            ));
        }
    }
    s
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let tiers = [
        TierSpec {
            name: "onprem".into(),
            min_storage_days: 0,
            vault: false,
        },
        TierSpec {
            name: "cloud".into(),
            min_storage_days: 90,
            vault: false,
        },
        TierSpec {
            name: "vault".into(),
            min_storage_days: 0,
            vault: true,
        },
    ];
    let text = policy();
    let loaded = match load_from_strs(&[("bench.toml", &text)], &tiers) {
        Ok(l) => l,
        Err(d) => {
            for x in d {
                eprintln!("{x}");
            }
            std::process::exit(1);
        }
    };
    let p = &loaded.policy;

    let t0 = Instant::now();
    let buckets = ["logs", "media", "backups", "analytics", "home", "legal"];
    let prefixes = ["2023/", "2024/", "raw/", "tmp/"];
    let tier_names = ["onprem", "onprem", "onprem", "cloud", "vault"];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut cat = Catalog::with_capacity(n);
    let mut o = ObjectFacts::default();
    for i in 0..n {
        o.bucket.clear();
        o.bucket.push_str(buckets[rng.below(6) as usize]);
        o.key.clear();
        o.key.push_str(prefixes[rng.below(4) as usize]);
        o.key.push_str("part-");
        o.key.push_str(&i.to_string());
        o.key.push_str(".parquet");
        o.tier.clear();
        o.tier.push_str(tier_names[rng.below(5) as usize]);
        o.size = rng.below(64 << 20);
        o.created = NOW - rng.below(2 * 365 * DAY as u64) as i64;
        o.last_access = NOW - rng.below(365 * DAY as u64) as i64;
        o.tier_since = o.created;
        o.reads = [
            rng.below(3) as u32,
            rng.below(8) as u32,
            rng.below(20) as u32,
            rng.below(60) as u32,
        ];
        o.writes = [0, 0, rng.below(2) as u32, rng.below(4) as u32];
        o.read_back_probability = (rng.below(1000) as f32) / 1000.0;
        o.savings_per_month = rng.below(500) as f64 / 1000.0;
        o.read_back_cost_per_month = rng.below(500) as f64 / 1000.0;
        cat.push(&o);
    }
    cat.set_behaviour(
        "media",
        BehaviourFacts {
            bucket_anomaly: 0.85,
            ..BehaviourFacts::default()
        },
    );
    cat.set_behaviour(
        "home",
        BehaviourFacts {
            incident_open: true,
            ..BehaviourFacts::default()
        },
    );
    let built = t0.elapsed();

    let t1 = Instant::now();
    let winners = p.evaluate_columns(&cat, NOW);
    let secs = t1.elapsed().as_secs_f64();

    let mut counts = vec![0usize; p.rules.len()];
    let mut none = 0;
    for &w in &winners {
        if w == NO_RULE {
            none += 1
        } else {
            counts[w as usize] += 1
        }
    }
    println!("objects:   {n}");
    println!("rules:     {}", p.rules.len());
    println!(
        "catalog built in {:.2} s (not measured)",
        built.as_secs_f64()
    );
    println!("seconds:   {secs:.3}");
    println!("objects/s: {:.0}", n as f64 / secs);
    println!("no action: {none}");
    for (i, c) in counts.iter().enumerate() {
        if *c > 0 {
            println!("  {:<18} {c}", p.rules[i].id);
        }
    }
}
