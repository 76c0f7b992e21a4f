//! A seeded workload generator: S3 server access log lines of realistic benign traffic with
//! injected incidents, plus the ground truth.
//!
//! [`generate`] streams lines to any writer in time order, one hour at a time, so memory holds
//! one hour of events and the object inventory, never the whole log. The same seed and
//! [`GeneratorConfig`] always give the same bytes.
//!
//! # What the traffic holds
//! Per bucket `b` (`bucket-00`, `bucket-01`, ...):
//! - a service principal `user/app-b` around the clock with a daily and weekly rhythm: reads of
//!   Zipf-popular objects, uploads of new keys (heavy-tailed sizes), some overwrites, HEADs,
//!   listings, deletes of old keys, a few 404s and 403s;
//! - two people (of `alice`, `bob`, `carol`, `dave`) in office hours on weekdays, occasionally
//!   from a new IP (a hotel, home);
//! - `role/backup` reading the whole bucket every night from 01:00;
//! - `role/etl` rewriting the `reports/` prefix on the last day of every month at 23:00;
//! - cold data re-heating: a person reads a batch of long-unread objects for an hour;
//! - benign bursts that look alarming: a person's bulk upload in office hours, and `user/admin`
//!   cleaning up `tmp/`; `user/admin` also edits the lifecycle configuration now and then.
//!
//! # Incidents
//! From day [`GeneratorConfig::incidents_from_day`], [`GeneratorConfig::incidents_per_bucket`]
//! incidents per bucket, cycling through every [`IncidentKind`], each fast or slow and small or
//! large, by a known principal whose credentials were stolen (from a new IP) or an insider (from
//! the principal's usual IP). Small incidents touch 200 to 400 objects, large ones 2,000 to
//! 4,000; a fast small mass overwrite with stolen credentials (boto3's default user agent, a new
//! IP) touches 120 to 200, like the end-to-end service test's. Every malicious request is
//! counted in [`Incident::malicious_ops`].

pub mod logs;

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
const US: i64 = 1_000_000;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorConfig {
    /// Seeds every random choice.
    pub seed: u64,
    /// First day, as days since 1970-01-01 (UTC midnight). Default 2026-10-05, a Monday.
    pub start_day: i64,
    /// Days of traffic.
    pub days: u32,
    /// Buckets, each with its own principals' traffic.
    pub buckets: u32,
    /// Objects each bucket starts with (the nightly backup reads them all).
    pub objects_per_bucket: u32,
    /// Requests per day of each bucket's service principal (at the average hour).
    pub app_ops_per_day: u32,
    /// Incidents start on this day (0-based) or later: the days before are a clean baseline.
    pub incidents_from_day: u32,
    /// Incidents per bucket, spread over the days from `incidents_from_day`.
    pub incidents_per_bucket: u32,
    /// Whether to add benign bursts (bulk uploads, admin cleanups, re-heating, new IPs).
    pub benign_bursts: bool,
    /// Whether a backup principal reads every object every night (a full backup makes every
    /// object look hot to access-based tiering; turn it off for tiering studies).
    pub nightly_backup: bool,
    /// Log objects each bucket's service writes per day under `logs/` (0: none). They follow a
    /// log archive's life: read once by ETL within the hour, sometimes again while debugging,
    /// rarely in an audit (see [`logs`]). Drawn from a random stream of their own, so the rest
    /// of the traffic is the same with or without them.
    pub logs_per_day: u32,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            seed: 1,
            start_day: 20_731,
            days: 14,
            buckets: 2,
            objects_per_bucket: 3_000,
            app_ops_per_day: 20_000,
            incidents_from_day: 7,
            incidents_per_bucket: 0,
            benign_bursts: true,
            nightly_backup: true,
            logs_per_day: 0,
        }
    }
}

/// The kinds of injected incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentKind {
    /// Ransomware overwriting objects in place (PUT over existing keys).
    MassOverwrite,
    /// Server-side copies of each object onto itself (SSE-C re-encryption).
    CopyInPlace,
    /// Read, write under a new extension (`.locked`), delete the original.
    RenameExtension,
    /// Mass reads from an IP never seen before.
    Exfiltration,
    /// Deleting many objects.
    DeleteStorm,
    /// Rewriting the lifecycle configuration (expire everything) and suspending versioning.
    LifecycleTamper,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 6] = [
        IncidentKind::MassOverwrite,
        IncidentKind::CopyInPlace,
        IncidentKind::RenameExtension,
        IncidentKind::Exfiltration,
        IncidentKind::DeleteStorm,
        IncidentKind::LifecycleTamper,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentKind::MassOverwrite => "mass-overwrite",
            IncidentKind::CopyInPlace => "copy-in-place",
            IncidentKind::RenameExtension => "rename-extension",
            IncidentKind::Exfiltration => "exfiltration",
            IncidentKind::DeleteStorm => "delete-storm",
            IncidentKind::LifecycleTamper => "lifecycle-tamper",
        }
    }
}

/// One injected incident: the ground truth a detector is judged against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    #[serde(rename = "type")]
    pub kind: IncidentKind,
    /// `fast` or `slow`.
    pub speed: String,
    /// `small` or `large`.
    pub size: String,
    /// `stolen-credentials` (new IP) or `insider` (the principal's usual IP).
    pub actor: String,
    /// First malicious request, µs since the epoch.
    pub start_us: i64,
    /// Last malicious request, µs since the epoch.
    pub end_us: i64,
    pub bucket: String,
    pub principal: String,
    pub source_ip: String,
    /// Malicious requests written (every log line of the incident).
    pub malicious_ops: u64,
    /// The request times of the malicious lines, µs (for "operations before detection").
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub op_times_us: Vec<i64>,
}

/// A benign burst that looks alarming, recorded so that alarms on it can be attributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenignBurst {
    /// `bulk-upload`, `admin-cleanup`, `re-heat`, `month-end-rewrite`, `new-ip`, `config-edit`.
    pub kind: String,
    pub start_us: i64,
    pub bucket: String,
    pub principal: String,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub lines: u64,
    pub incidents: Vec<Incident>,
    pub benign: Vec<BenignBurst>,
    /// First and last hour written, µs.
    pub start_us: i64,
    pub end_us: i64,
    pub buckets: Vec<String>,
}

impl GroundTruth {
    /// The labels as JSON lines, one incident per line (without `op_times_us`).
    ///
    /// # Errors
    /// Only the writer's errors.
    pub fn write_labels(&self, mut w: impl Write) -> std::io::Result<()> {
        for i in &self.incidents {
            let mut i = i.clone();
            i.op_times_us.clear();
            let line = serde_json::to_string(&i).map_err(std::io::Error::other)?;
            writeln!(w, "{line}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Get,
    Put,
    Head,
    Delete,
    List,
    CopyGet,
    Copy,
    PutLifecycle,
    PutVersioning,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "REST.GET.OBJECT",
            Op::Put => "REST.PUT.OBJECT",
            Op::Head => "REST.HEAD.OBJECT",
            Op::Delete => "REST.DELETE.OBJECT",
            Op::List => "REST.GET.BUCKET",
            Op::CopyGet => "REST.COPY.OBJECT_GET",
            Op::Copy => "REST.COPY.OBJECT",
            Op::PutLifecycle => "REST.PUT.LIFECYCLE",
            Op::PutVersioning => "REST.PUT.VERSIONING",
        }
    }
    fn method(self) -> &'static str {
        match self {
            Op::Get | Op::List | Op::CopyGet => "GET",
            Op::Head => "HEAD",
            Op::Delete => "DELETE",
            _ => "PUT",
        }
    }
}

/// One line to write.
#[derive(Debug)]
struct Line {
    t_us: i64,
    bucket: u16,
    op: Op,
    key: Option<String>,
    principal: u16,
    ip: u16,
    ua: u8,
    status: u16,
    bytes_sent: u64,
    size: Option<u64>,
}

#[derive(Debug, Clone)]
struct Obj {
    key: String,
    size: u64,
    alive: bool,
}

struct Bucket {
    name: String,
    objects: Vec<Obj>,
    next_id: u64,
    app: u16,
    app_ip: u16,
    people: [u16; 2],
    logs: logs::Archive,
}

/// An activity spread over time: one request (or request group) at a time.
struct Job {
    bucket: usize,
    principal: u16,
    ip: u16,
    ua: u8,
    next_s: f64,
    interval_s: f64,
    remaining: u64,
    what: JobKind,
    cursor: usize,
    incident: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum JobKind {
    BackupRead,
    PrefixRewrite,
    BulkUpload,
    Cleanup,
    Reheat,
    Attack(IncidentKind, u16),
}

const UAS: [&str; 6] = [
    "aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21",
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.debian.12 prompt/off command/s3.cp",
    "rclone/v1.66.0",
    "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 lang/python#3.11",
    "restic/0.16.4",
    "python-requests/2.31.0",
];
const UA_APP: u8 = 0;
const UA_HUMAN: u8 = 1;
const UA_BACKUP: u8 = 4;
const UA_BOTO3: u8 = 3;
const UA_ATTACK: u8 = 5;
const EXTS: [&str; 6] = ["jpg", "pdf", "csv", "parquet", "json", "txt"];
const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "dave"];
const ATTACK_EXTS: [&str; 4] = ["locked", "enc", "crypt", "r4nsom"];

struct Gen<'a> {
    cfg: &'a GeneratorConfig,
    rng: Xoshiro256PlusPlus,
    buckets: Vec<Bucket>,
    principals: Vec<String>,
    ips: Vec<String>,
    jobs: Vec<Job>,
    truth: GroundTruth,
    buf: Vec<Line>,
    request_counter: u64,
    backup: u16,
    etl: u16,
    admin: u16,
    backup_ip: u16,
    admin_ip: u16,
    person_ips: Vec<u16>,
    /// Per person and day: whether they work from a new IP that day (and which).
    away_ip: Vec<Option<u16>>,
    /// The log archive's own random stream.
    log_rng: Xoshiro256PlusPlus,
}

fn days_to_civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A log-normal draw: `median` x e^(`sigma` x a standard normal draw, by Box-Muller).
fn log_normal(rng: &mut Xoshiro256PlusPlus, median: f64, sigma: f64) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.r#gen();
    let n = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    median * (sigma * n).exp()
}

/// Heavy-tailed object size: log-normal around 200 KB, capped at 2 GB.
fn object_size(rng: &mut Xoshiro256PlusPlus) -> u64 {
    log_normal(rng, 200_000.0, 1.6).clamp(100.0, 2e9) as u64
}

/// A Zipf-like rank in `0..n`: log-uniform, so rank r is drawn with probability about 1/r.
fn zipf(rng: &mut Xoshiro256PlusPlus, n: usize) -> usize {
    let u: f64 = rng.r#gen();
    let r = ((n as f64 + 1.0).ln() * u).exp() as usize;
    r.saturating_sub(1).min(n.saturating_sub(1))
}

impl<'a> Gen<'a> {
    fn new(cfg: &'a GeneratorConfig) -> Self {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(cfg.seed);
        let mut principals = Vec::new();
        let mut ips = Vec::new();
        let add_p = |p: &mut Vec<String>, s: String| {
            p.push(s);
            (p.len() - 1) as u16
        };
        let person_ids: Vec<u16> = PEOPLE
            .iter()
            .map(|n| {
                add_p(
                    &mut principals,
                    format!("arn:aws:iam::123456789012:user/{n}"),
                )
            })
            .collect();
        let backup = add_p(
            &mut principals,
            "arn:aws:iam::123456789012:role/backup".into(),
        );
        let etl = add_p(&mut principals, "arn:aws:iam::123456789012:role/etl".into());
        let admin = add_p(
            &mut principals,
            "arn:aws:iam::123456789012:user/admin".into(),
        );
        let person_ips: Vec<u16> = (0..PEOPLE.len())
            .map(|i| add_p(&mut ips, format!("192.0.2.{}", 10 + i)))
            .collect();
        let backup_ip = add_p(&mut ips, "10.1.0.5".into());
        let admin_ip = add_p(&mut ips, "192.0.2.50".into());
        let mut buckets = Vec::new();
        for b in 0..cfg.buckets as usize {
            let app = add_p(
                &mut principals,
                format!("arn:aws:iam::123456789012:user/app-{b:02}"),
            );
            let app_ip = add_p(&mut ips, format!("10.0.{}.10", b % 250));
            let mut objects = Vec::with_capacity(cfg.objects_per_bucket as usize);
            for i in 0..cfg.objects_per_bucket as u64 {
                let prefix = match i % 20 {
                    0 => "reports/",
                    1 => "tmp/",
                    _ => "data/",
                };
                let ext = EXTS[rng.gen_range(0..EXTS.len())];
                objects.push(Obj {
                    key: format!("{prefix}{i:07}.{ext}"),
                    size: object_size(&mut rng),
                    alive: true,
                });
            }
            buckets.push(Bucket {
                name: format!("bucket-{b:02}"),
                objects,
                next_id: cfg.objects_per_bucket as u64,
                app,
                app_ip,
                people: [person_ids[b % 4], person_ids[(b + 1) % 4]],
                logs: logs::Archive::default(),
            });
        }
        let truth = GroundTruth {
            buckets: buckets.iter().map(|b| b.name.clone()).collect(),
            ..GroundTruth::default()
        };
        Gen {
            cfg,
            rng,
            buckets,
            principals,
            ips,
            jobs: Vec::new(),
            truth,
            buf: Vec::new(),
            request_counter: 0,
            backup,
            etl,
            admin,
            backup_ip,
            admin_ip,
            person_ips,
            away_ip: vec![None; PEOPLE.len()],
            log_rng: logs::rng(cfg.seed),
        }
    }

    fn new_ip(&mut self) -> u16 {
        let n = self.ips.len();
        let (third, fourth) = ((n / 250) % 100, n % 250);
        let ip = if n.is_multiple_of(2) {
            format!("198.51.{}.{fourth}", 100 + third)
        } else {
            format!("203.0.{}.{fourth}", 113 + third)
        };
        self.ips.push(ip);
        (self.ips.len() - 1) as u16
    }

    fn pick_alive(&mut self, b: usize, popular: bool) -> Option<usize> {
        let n = self.buckets[b].objects.len();
        if n == 0 {
            return None;
        }
        for _ in 0..8 {
            let i = if popular {
                n - 1 - zipf(&mut self.rng, n)
            } else {
                self.rng.gen_range(0..n)
            };
            if self.buckets[b].objects[i].alive {
                return Some(i);
            }
        }
        None
    }

    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        t_us: i64,
        b: usize,
        op: Op,
        obj: Option<usize>,
        principal: u16,
        ip: u16,
        ua: u8,
    ) {
        let (key, size) = match obj {
            Some(i) => {
                let o = &self.buckets[b].objects[i];
                (Some(o.key.clone()), Some(o.size))
            }
            None => (None, None),
        };
        self.line_key(t_us, b, op, key, size, principal, ip, ua);
    }

    #[allow(clippy::too_many_arguments)]
    fn line_key(
        &mut self,
        t_us: i64,
        b: usize,
        op: Op,
        key: Option<String>,
        size: Option<u64>,
        principal: u16,
        ip: u16,
        ua: u8,
    ) {
        let (status, bytes_sent, size) = match op {
            Op::Get => (200, size.unwrap_or(0), size),
            Op::Head => (200, 0, size),
            Op::Put => (200, 0, size),
            Op::Delete => (204, 0, None),
            Op::List => (200, 2_000 + (t_us as u64 % 30_000), None),
            Op::CopyGet => (200, 0, size),
            Op::Copy => (200, 234, size),
            Op::PutLifecycle | Op::PutVersioning => (200, 0, None),
        };
        self.buf.push(Line {
            t_us,
            bucket: b as u16,
            op,
            key,
            principal,
            ip,
            ua,
            status,
            bytes_sent,
            size,
        });
    }

    /// Benign traffic of one bucket in one hour.
    fn background_hour(&mut self, b: usize, hour_start: i64) {
        let day = hour_start.div_euclid(DAY);
        let hod = (hour_start.rem_euclid(DAY) / HOUR) as f64;
        let weekday = (day + 3).rem_euclid(7); // 1970-01-01 was a Thursday; 0 = Monday
        let weekend = weekday >= 5;
        // Service: diurnal sine peaking at 14:00, quieter at weekends.
        let diurnal = 1.0 + 0.6 * ((hod - 8.0) / 24.0 * std::f64::consts::TAU).sin();
        let rate =
            self.cfg.app_ops_per_day as f64 / 24.0 * diurnal * if weekend { 0.5 } else { 1.0 };
        let n = poisson(&mut self.rng, rate);
        let (app, app_ip) = (self.buckets[b].app, self.buckets[b].app_ip);
        for _ in 0..n {
            let t = hour_start * US + self.rng.gen_range(0..HOUR * US);
            let r: f64 = self.rng.r#gen();
            if r < 0.60 {
                match self.pick_alive(b, true) {
                    Some(i) if self.rng.gen_bool(0.99) => {
                        self.line(t, b, Op::Get, Some(i), app, app_ip, UA_APP)
                    }
                    _ => {
                        let key = format!("data/missing-{}.json", self.rng.gen_range(0..1000));
                        self.line_key(t, b, Op::Get, Some(key), None, app, app_ip, UA_APP);
                        if let Some(l) = self.buf.last_mut() {
                            l.status = 404;
                            l.bytes_sent = 243;
                        }
                    }
                }
            } else if r < 0.72 {
                self.put_new(t, b, app, app_ip, UA_APP, "data/");
            } else if r < 0.75 {
                if let Some(i) = self.pick_alive(b, true) {
                    self.buckets[b].objects[i].size = object_size(&mut self.rng);
                    self.line(t, b, Op::Put, Some(i), app, app_ip, UA_APP);
                }
            } else if r < 0.90 {
                let i = self.pick_alive(b, true);
                self.line(t, b, Op::Head, i, app, app_ip, UA_APP);
            } else if r < 0.95 {
                self.line(t, b, Op::List, None, app, app_ip, UA_APP);
            } else if r < 0.99 {
                // Deletes of old, unpopular objects (retention).
                if let Some(i) = self.pick_alive(b, false) {
                    self.buckets[b].objects[i].alive = false;
                    self.line(t, b, Op::Delete, Some(i), app, app_ip, UA_APP);
                }
            } else {
                let i = self.pick_alive(b, false);
                self.line(t, b, Op::Get, i, app, app_ip, UA_APP);
                if let Some(l) = self.buf.last_mut() {
                    l.status = 403;
                    l.bytes_sent = 243;
                    l.size = None;
                }
            }
        }
        // People: office hours on weekdays, 08:00-18:00, about 40 requests an hour each.
        if !weekend && (8.0..18.0).contains(&hod) {
            for k in 0..2 {
                let p = self.buckets[b].people[k];
                // People are the first principals, in PEOPLE order.
                let pi = (p as usize).min(PEOPLE.len() - 1);
                let ip = self.away_ip[pi].unwrap_or(self.person_ips[pi]);
                let n = poisson(&mut self.rng, if hod == 12.0 { 15.0 } else { 40.0 });
                for _ in 0..n {
                    let t = hour_start * US + self.rng.gen_range(0..HOUR * US);
                    let r: f64 = self.rng.r#gen();
                    if r < 0.7 {
                        let i = self.pick_alive(b, true);
                        self.line(t, b, Op::Get, i, p, ip, UA_HUMAN);
                    } else if r < 0.8 {
                        self.put_new(t, b, p, ip, UA_HUMAN, "data/");
                    } else if r < 0.85 {
                        if let Some(i) = self.pick_alive(b, true) {
                            self.line(t, b, Op::Put, Some(i), p, ip, UA_HUMAN);
                        }
                    } else {
                        self.line(t, b, Op::List, None, p, ip, UA_HUMAN);
                    }
                }
            }
        }
    }

    fn put_new(&mut self, t: i64, b: usize, p: u16, ip: u16, ua: u8, prefix: &str) {
        let id = self.buckets[b].next_id;
        self.buckets[b].next_id += 1;
        let ext = EXTS[self.rng.gen_range(0..EXTS.len())];
        let size = object_size(&mut self.rng);
        self.buckets[b].objects.push(Obj {
            key: format!("{prefix}{id:07}.{ext}"),
            size,
            alive: true,
        });
        let i = self.buckets[b].objects.len() - 1;
        self.line(t, b, Op::Put, Some(i), p, ip, ua);
    }

    /// Daily decisions at midnight: schedule the day's jobs.
    fn plan_day(&mut self, day: i64, day_index: u32) {
        let weekday = (day + 3).rem_euclid(7);
        let t0 = (day * DAY) as f64;
        // Who works away from the office today (a new IP, benign).
        for pi in 0..PEOPLE.len() {
            self.away_ip[pi] = None;
            if self.cfg.benign_bursts && weekday < 5 && self.rng.gen_bool(0.04) {
                let ip = self.new_ip();
                self.away_ip[pi] = Some(ip);
                for b in 0..self.buckets.len() {
                    if self.buckets[b].people.contains(&(pi as u16)) {
                        let name = self.buckets[b].name.clone();
                        self.truth.benign.push(BenignBurst {
                            kind: "new-ip".into(),
                            start_us: day * DAY * US + 8 * HOUR * US,
                            bucket: name,
                            principal: self.principals[pi].clone(),
                        });
                    }
                }
            }
        }
        let (y, m, d) = days_to_civil(day);
        let (_, m2, _) = days_to_civil(day + 1);
        let month_end = m2 != m;
        let _ = (y, d);
        for b in 0..self.buckets.len() {
            let n = self.buckets[b].objects.len() as f64;
            // Nightly backup: reads every live object, starting at 01:00, in about an hour.
            if self.cfg.nightly_backup {
                self.jobs.push(Job {
                    bucket: b,
                    principal: self.backup,
                    ip: self.backup_ip,
                    ua: UA_BACKUP,
                    next_s: t0 + 3600.0 + self.rng.gen_range(0.0..300.0),
                    interval_s: 3600.0 / n.max(1.0),
                    remaining: n as u64,
                    what: JobKind::BackupRead,
                    cursor: 0,
                    incident: None,
                });
            }
            if month_end {
                let count = self.buckets[b]
                    .objects
                    .iter()
                    .filter(|o| o.key.starts_with("reports/") && o.alive)
                    .count();
                self.jobs.push(Job {
                    bucket: b,
                    principal: self.etl,
                    ip: self.backup_ip,
                    ua: UA_BACKUP,
                    next_s: t0 + 23.0 * 3600.0,
                    interval_s: 1200.0 / (count.max(1) as f64),
                    remaining: count as u64,
                    what: JobKind::PrefixRewrite,
                    cursor: 0,
                    incident: None,
                });
                let name = self.buckets[b].name.clone();
                let p = self.principals[self.etl as usize].clone();
                self.truth.benign.push(BenignBurst {
                    kind: "month-end-rewrite".into(),
                    start_us: (day * DAY + 23 * HOUR) * US,
                    bucket: name,
                    principal: p,
                });
            }
            if !self.cfg.benign_bursts {
                continue;
            }
            let workday = weekday < 5;
            let name = self.buckets[b].name.clone();
            // A person's bulk upload in office hours: about twice a month per bucket.
            if workday && self.rng.gen_bool(0.1) {
                let who = self.buckets[b].people[self.rng.gen_range(0..2)];
                let ip = self.away_ip[who as usize].unwrap_or(self.person_ips[who as usize]);
                let count = self.rng.gen_range(300..2000);
                let start = t0 + self.rng.gen_range(9.0..16.0) * 3600.0;
                self.jobs.push(Job {
                    bucket: b,
                    principal: who,
                    ip,
                    ua: UA_HUMAN,
                    next_s: start,
                    interval_s: self.rng.gen_range(0.3..1.5),
                    remaining: count,
                    what: JobKind::BulkUpload,
                    cursor: 0,
                    incident: None,
                });
                self.truth.benign.push(BenignBurst {
                    kind: "bulk-upload".into(),
                    start_us: (start as i64) * US,
                    bucket: name.clone(),
                    principal: self.principals[who as usize].clone(),
                });
            }
            // An admin cleanup of tmp/: about twice a month per bucket.
            if workday && self.rng.gen_bool(0.08) {
                let start = t0 + self.rng.gen_range(10.0..17.0) * 3600.0;
                let count = self.buckets[b]
                    .objects
                    .iter()
                    .filter(|o| o.key.starts_with("tmp/") && o.alive)
                    .count() as u64;
                let count = count.min(self.rng.gen_range(100..600));
                self.jobs.push(Job {
                    bucket: b,
                    principal: self.admin,
                    ip: self.admin_ip,
                    ua: UA_HUMAN,
                    next_s: start,
                    interval_s: self.rng.gen_range(0.5..2.0),
                    remaining: count,
                    what: JobKind::Cleanup,
                    cursor: 0,
                    incident: None,
                });
                self.truth.benign.push(BenignBurst {
                    kind: "admin-cleanup".into(),
                    start_us: (start as i64) * US,
                    bucket: name.clone(),
                    principal: self.principals[self.admin as usize].clone(),
                });
            }
            // The admin edits the lifecycle configuration now and then.
            if workday && (self.rng.gen_bool(0.05) || day_index == 1) {
                let t = ((t0 + self.rng.gen_range(9.0..17.0) * 3600.0) as i64) * US;
                let admin = self.admin;
                let ip = self.admin_ip;
                self.line(t, b, Op::PutLifecycle, None, admin, ip, UA_HUMAN);
                self.truth.benign.push(BenignBurst {
                    kind: "config-edit".into(),
                    start_us: t,
                    bucket: name.clone(),
                    principal: self.principals[admin as usize].clone(),
                });
            }
            // Cold data re-heats: a person reads a batch of unpopular objects.
            if workday && self.rng.gen_bool(0.07) {
                let who = self.buckets[b].people[self.rng.gen_range(0..2)];
                let ip = self.person_ips[who as usize];
                let start = t0 + self.rng.gen_range(9.0..15.0) * 3600.0;
                self.jobs.push(Job {
                    bucket: b,
                    principal: who,
                    ip,
                    ua: UA_HUMAN,
                    next_s: start,
                    interval_s: self.rng.gen_range(2.0..8.0),
                    remaining: self.rng.gen_range(100..500),
                    what: JobKind::Reheat,
                    cursor: 0,
                    incident: None,
                });
                self.truth.benign.push(BenignBurst {
                    kind: "re-heat".into(),
                    start_us: (start as i64) * US,
                    bucket: name.clone(),
                    principal: self.principals[who as usize].clone(),
                });
            }
        }
    }

    fn plan_incidents(&mut self) {
        let first = self.cfg.incidents_from_day.min(self.cfg.days) as i64;
        let span_days = self.cfg.days as i64 - first;
        let per = self.cfg.incidents_per_bucket as i64;
        if span_days <= 0 || per == 0 {
            return;
        }
        let slot = span_days * DAY / per;
        for b in 0..self.buckets.len() {
            for k in 0..per {
                let kind = IncidentKind::ALL[((b as i64 * per + k) % 6) as usize];
                let variant = (b as i64 * 5 + k * 3 + self.cfg.seed as i64) % 4;
                let fast = variant % 2 == 0;
                let large = variant / 2 == 1;
                let insider = self.rng.gen_bool(0.2) && kind != IncidentKind::Exfiltration;
                let slot_start = (self.cfg.start_day + first) * DAY + k * slot;
                let start_s = slot_start as f64 + self.rng.gen_range(0.1..0.6) * slot as f64;
                let principal = match (kind, self.rng.gen_range(0..3)) {
                    (IncidentKind::LifecycleTamper, _) => self.buckets[b].app,
                    (_, 0) => self.buckets[b].people[0],
                    _ => self.buckets[b].app,
                };
                let usual_ip = if principal == self.buckets[b].app {
                    self.buckets[b].app_ip
                } else {
                    self.person_ips[principal as usize]
                };
                let ip = if insider { usual_ip } else { self.new_ip() };
                let count: u64 = match (kind, large) {
                    (IncidentKind::LifecycleTamper, _) => 1,
                    // Stolen credentials overwriting a small bucket's documents in place in
                    // seconds, as in the end-to-end service test: about 160 objects.
                    (IncidentKind::MassOverwrite, false) if fast && !insider => {
                        self.rng.gen_range(120..200)
                    }
                    (_, false) => self.rng.gen_range(200..400),
                    (_, true) => self.rng.gen_range(2_000..4_000),
                };
                let interval = if fast {
                    self.rng.gen_range(0.02..0.2)
                } else {
                    self.rng.gen_range(5.0..20.0)
                };
                let ext = self.rng.gen_range(0..ATTACK_EXTS.len()) as u16;
                self.truth.incidents.push(Incident {
                    kind,
                    speed: if fast { "fast" } else { "slow" }.into(),
                    size: if large { "large" } else { "small" }.into(),
                    actor: if insider {
                        "insider"
                    } else {
                        "stolen-credentials"
                    }
                    .into(),
                    start_us: (start_s * US as f64) as i64,
                    end_us: (start_s * US as f64) as i64,
                    bucket: self.buckets[b].name.clone(),
                    principal: self.principals[principal as usize].clone(),
                    source_ip: self.ips[ip as usize].clone(),
                    malicious_ops: 0,
                    op_times_us: Vec::new(),
                });
                self.jobs.push(Job {
                    bucket: b,
                    principal,
                    ip,
                    // An insider uses the service's own client; stolen credentials a script:
                    // boto3 with its default user agent for in-place overwrites, a bare HTTP
                    // library for the rest.
                    ua: match (insider, kind) {
                        (true, _) => UA_APP,
                        (false, IncidentKind::MassOverwrite) => UA_BOTO3,
                        (false, _) => UA_ATTACK,
                    },
                    next_s: start_s,
                    interval_s: interval,
                    remaining: count,
                    what: JobKind::Attack(kind, ext),
                    cursor: 0,
                    incident: Some(self.truth.incidents.len() - 1),
                });
            }
        }
    }

    /// Runs every job's steps that fall before `until` (seconds).
    fn run_jobs(&mut self, until: f64) {
        let mut jobs = std::mem::take(&mut self.jobs);
        for job in jobs.iter_mut() {
            while job.remaining > 0 && job.next_s < until {
                let t = (job.next_s * US as f64) as i64;
                let before = self.buf.len();
                self.step(job, t);
                if let Some(k) = job.incident {
                    let added = self.buf.len() - before;
                    let inc = &mut self.truth.incidents[k];
                    inc.malicious_ops += added as u64;
                    inc.end_us = inc.end_us.max(t);
                    inc.op_times_us.extend(std::iter::repeat_n(t, added));
                }
                job.remaining -= 1;
                let jitter: f64 = self.rng.gen_range(0.5..1.5);
                job.next_s += job.interval_s * jitter;
            }
        }
        jobs.retain(|j| j.remaining > 0);
        jobs.append(&mut self.jobs);
        self.jobs = jobs;
    }

    fn step(&mut self, job: &mut Job, t: i64) {
        let b = job.bucket;
        let (p, ip, ua) = (job.principal, job.ip, job.ua);
        match job.what {
            JobKind::BackupRead => {
                while job.cursor < self.buckets[b].objects.len()
                    && !self.buckets[b].objects[job.cursor].alive
                {
                    job.cursor += 1;
                }
                if job.cursor < self.buckets[b].objects.len() {
                    self.line(t, b, Op::Get, Some(job.cursor), p, ip, ua);
                    job.cursor += 1;
                } else {
                    job.remaining = 1;
                }
            }
            JobKind::PrefixRewrite => {
                while job.cursor < self.buckets[b].objects.len()
                    && !(self.buckets[b].objects[job.cursor].alive
                        && self.buckets[b].objects[job.cursor]
                            .key
                            .starts_with("reports/"))
                {
                    job.cursor += 1;
                }
                if job.cursor < self.buckets[b].objects.len() {
                    self.line(t, b, Op::Put, Some(job.cursor), p, ip, ua);
                    job.cursor += 1;
                } else {
                    job.remaining = 1;
                }
            }
            JobKind::BulkUpload => self.put_new(t, b, p, ip, ua, "data/"),
            JobKind::Cleanup => {
                while job.cursor < self.buckets[b].objects.len()
                    && !(self.buckets[b].objects[job.cursor].alive
                        && self.buckets[b].objects[job.cursor].key.starts_with("tmp/"))
                {
                    job.cursor += 1;
                }
                if job.cursor < self.buckets[b].objects.len() {
                    self.buckets[b].objects[job.cursor].alive = false;
                    self.line(t, b, Op::Delete, Some(job.cursor), p, ip, ua);
                    job.cursor += 1;
                } else {
                    job.remaining = 1;
                }
            }
            JobKind::Reheat => {
                let i = self.pick_alive(b, false);
                self.line(t, b, Op::Get, i, p, ip, ua);
            }
            JobKind::Attack(kind, ext) => match kind {
                IncidentKind::MassOverwrite => {
                    if let Some(i) = self.pick_alive(b, false) {
                        self.line(t, b, Op::Put, Some(i), p, ip, ua);
                    }
                }
                IncidentKind::CopyInPlace => {
                    if let Some(i) = self.pick_alive(b, false) {
                        self.line(t, b, Op::CopyGet, Some(i), p, ip, ua);
                        self.line(t, b, Op::Copy, Some(i), p, ip, ua);
                    }
                }
                IncidentKind::RenameExtension => {
                    if let Some(i) = self.pick_alive(b, false) {
                        self.line(t, b, Op::Get, Some(i), p, ip, ua);
                        let o = self.buckets[b].objects[i].clone();
                        let key = format!(
                            "{}.{}",
                            o.key,
                            ATTACK_EXTS[ext as usize % ATTACK_EXTS.len()]
                        );
                        self.buckets[b].objects[i].alive = false;
                        self.buckets[b].objects.push(Obj {
                            key: key.clone(),
                            size: o.size,
                            alive: true,
                        });
                        self.line_key(t, b, Op::Put, Some(key), Some(o.size), p, ip, ua);
                        self.line_key(t, b, Op::Delete, Some(o.key), None, p, ip, ua);
                    }
                }
                IncidentKind::Exfiltration => {
                    if let Some(i) = self.pick_alive(b, false) {
                        self.line(t, b, Op::Get, Some(i), p, ip, ua);
                    }
                }
                IncidentKind::DeleteStorm => {
                    if let Some(i) = self.pick_alive(b, false) {
                        self.buckets[b].objects[i].alive = false;
                        self.line(t, b, Op::Delete, Some(i), p, ip, ua);
                    }
                }
                IncidentKind::LifecycleTamper => {
                    self.line(t, b, Op::PutLifecycle, None, p, ip, ua);
                    self.line(t, b, Op::PutVersioning, None, p, ip, ua);
                }
            },
        }
    }

    /// Writes the buffered lines before `until_us` in time order; later ones stay buffered.
    fn flush(
        &mut self,
        w: &mut impl Write,
        clock: &mut Clock,
        until_us: i64,
    ) -> std::io::Result<()> {
        self.buf.sort_by_key(|l| l.t_us);
        let cut = self.buf.partition_point(|l| l.t_us < until_us);
        let later = self.buf.split_off(cut);
        let mut s = String::with_capacity(512);
        for l in std::mem::replace(&mut self.buf, later) {
            use std::fmt::Write as _;
            s.clear();
            self.request_counter += 1;
            let bucket = &self.buckets[l.bucket as usize].name;
            let key = l.key.as_deref().unwrap_or("-");
            let uri_key = if l.key.is_some() {
                format!("/{key}")
            } else {
                String::new()
            };
            let suffix = match l.op {
                Op::PutLifecycle => "?lifecycle",
                Op::PutVersioning => "?versioning",
                _ => "",
            };
            let err = match l.status {
                404 => "NoSuchKey",
                403 => "AccessDenied",
                _ => "-",
            };
            let sent = if l.bytes_sent == 0 {
                "-".to_string()
            } else {
                l.bytes_sent.to_string()
            };
            let size = l.size.map_or("-".to_string(), |v| v.to_string());
            let _ = writeln!(
                s,
                "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {bucket} [{}] {} {} {:016X} {} {key} \"{} /{bucket}{uri_key}{suffix} HTTP/1.1\" {} {err} {sent} {size} {} {} \"-\" \"{}\" - {:016x}= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader {bucket}.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1",
                clock.format(l.t_us),
                self.ips[l.ip as usize],
                self.principals[l.principal as usize],
                self.request_counter,
                l.op.name(),
                l.op.method(),
                l.status,
                10 + l.t_us % 90,
                5 + l.t_us % 20,
                UAS[l.ua as usize],
                self.request_counter.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            w.write_all(s.as_bytes())?;
            self.truth.lines += 1;
        }
        Ok(())
    }
}

/// Formats `[dd/Mon/yyyy:HH:MM:SS +0000]`, caching the day's text.
struct Clock {
    day: i64,
    date: String,
}

impl Clock {
    fn format(&mut self, t_us: i64) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let secs = t_us.div_euclid(US);
        let day = secs.div_euclid(DAY);
        if day != self.day {
            let (y, m, d) = days_to_civil(day);
            self.date = format!("{d:02}/{}/{y}", MONTHS[(m - 1) as usize]);
            self.day = day;
        }
        let s = secs.rem_euclid(DAY);
        format!(
            "{}:{:02}:{:02}:{:02} +0000",
            self.date,
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }
}

fn poisson(rng: &mut Xoshiro256PlusPlus, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda > 50.0 {
        // Normal approximation.
        let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
        let u2: f64 = rng.r#gen();
        let n = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        return (lambda + n * lambda.sqrt()).round().max(0.0) as u64;
    }
    let l = (-lambda).exp();
    let mut k = 0;
    let mut p = 1.0;
    loop {
        p *= rng.r#gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

/// Writes the configured traffic to `out` as S3 server access log lines, in time order, and
/// returns the ground truth.
///
/// # Errors
/// Only the writer's errors.
///
/// # Guarantees
/// Deterministic for a given configuration; memory holds one hour of lines plus the object
/// inventory; every line parses with [`crate::parse::s3::parse_line`].
pub fn generate(cfg: &GeneratorConfig, mut out: impl Write) -> std::io::Result<GroundTruth> {
    let mut g = Gen::new(cfg);
    g.plan_incidents();
    let mut clock = Clock {
        day: i64::MIN,
        date: String::new(),
    };
    g.truth.start_us = cfg.start_day * DAY * US;
    for d in 0..cfg.days {
        let day = cfg.start_day + d as i64;
        g.plan_day(day, d);
        let workday = (day + 3).rem_euclid(7) < 5;
        for b in 0..g.buckets.len() {
            g.logs_day(b, day, workday);
        }
        for h in 0..24 {
            let hour_start = day * DAY + h * HOUR;
            for b in 0..g.buckets.len() {
                g.background_hour(b, hour_start);
                g.logs_hour(b, hour_start);
            }
            g.run_jobs((hour_start + HOUR) as f64);
            // Lines planned for later in the day stay buffered until their hour.
            g.flush(&mut out, &mut clock, (hour_start + HOUR) * US)?;
        }
    }
    g.truth.end_us = (cfg.start_day + cfg.days as i64) * DAY * US;
    g.flush(&mut out, &mut clock, g.truth.end_us)?;
    g.buf.clear();
    // Incidents still running at the end are cut there.
    for inc in g.truth.incidents.iter_mut() {
        if inc.malicious_ops == 0 {
            inc.end_us = inc.start_us;
        }
    }
    g.truth.incidents.retain(|i| i.malicious_ops > 0);
    out.flush()?;
    Ok(g.truth)
}
