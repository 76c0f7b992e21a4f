//! The service's Prometheus metrics: one [`Metrics`] registry shared by every stage, rendered in
//! the Prometheus text exposition format 0.0.4 by [`Metrics::render`] (served at `/metrics`).
//!
//! Every series is a plain number behind one mutex: updates are a map lookup and an add, far off
//! any hot path that matters next to a storage request or a model fit.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tierd_events_ingested_total` | counter | `source` (`logs`, `webhook`) |
//! | `tierd_bad_lines_total` | counter | `source` |
//! | `tierd_decisions_total` | counter | `action`, `state` |
//! | `tierd_objects_moved_total`, `tierd_bytes_moved_total` | counter | |
//! | `tierd_objects_snapshotted_total`, `tierd_bytes_snapshotted_total` | counter | |
//! | `tierd_log_bytes_read_total` | counter | |
//! | `tierd_failures_total` | counter | `stage` (`ingest`, `score`, `plan`, `execute`, `snapshot`, `journal`, `reload`) |
//! | `tierd_policy_reloads_total` | counter | `result` (`ok`, `rejected`) |
//! | `tierd_policy_valid` | gauge | |
//! | `tierd_http_requests_total` | counter | `route`, `code` |
//! | `tierd_anomaly_score` | gauge | `bucket` |
//! | `tierd_anomaly_threshold` | gauge | |
//! | `tierd_model_age_seconds` | gauge | | (from the end of its training data)
//! | `tierd_ingest_lag_seconds` | gauge | |
//! | `tierd_open_freezes`, `tierd_open_incidents` | gauge | |
//! | `tierd_unlisted` | gauge | |
//! | `tierd_moves_held` | gauge | `why` (`frozen`, `residency`, `cooldown`, `blackout`, `budget`, `cycle_limit`, `retry`, `operator`) |
//! | `tierd_tier_objects`, `tierd_tier_bytes` | gauge | `tier` |
//! | `tierd_recovery_pending` | gauge | `what` (`moves`, `uploads`, `staging_files`) |
//! | `tierd_vault_snapshots`, `tierd_vault_bytes` | gauge | `vault` |
//! | `tierd_cycle_seconds` | histogram | `stage` |
//! | `tierd_start_time_seconds` | gauge | |
//! | `tierd_build_info` | gauge (always 1) | `version` |
//!
//! # Guarantees
//! - Cardinality is bounded: at most [`MAX_BUCKETS`] distinct `bucket` values on
//!   `tierd_anomaly_score` and [`MAX_SERIES`] label sets on every other labelled metric; anything
//!   beyond is folded into the label value `_other`. Callers pass label values from fixed sets
//!   (stage names, actions, states); the caps only protect against a caller that does not.
//! - The output order is stable: metrics sorted by name, series by label values.
//! - Label values are escaped (`\\`, `\"`, `\n`), so any bucket name renders as valid text.
//! - A poisoned lock (a panic elsewhere while updating) never stops metrics: the last values are
//!   used as they are.
//!
//! # Example
//! ```
//! let m = tierd::metrics::Metrics::new();
//! m.events_ingested("webhook", 3);
//! m.anomaly_score("photos", 0.93);
//! let text = m.render(1_800_000_000);
//! assert!(text.contains("tierd_events_ingested_total{source=\"webhook\"} 3\n"));
//! assert!(text.contains("tierd_anomaly_score{bucket=\"photos\"} 0.93\n"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The most distinct buckets `tierd_anomaly_score` keeps; more are folded into `bucket="_other"`.
pub const MAX_BUCKETS: usize = 1000;
/// The most label sets any other labelled metric keeps; more are folded into `_other`.
pub const MAX_SERIES: usize = 64;
/// The label value that overflowing series are folded into.
pub const OTHER: &str = "_other";

/// Upper bounds (seconds) of the `tierd_cycle_seconds` histogram buckets; `+Inf` is implied.
pub const CYCLE_BUCKETS: [f64; 13] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];

/// Ingest sources that always have a series (zero until used), so `rate()` works from the start.
const SOURCES: [&str; 2] = ["logs", "webhook"];
/// Pipeline stages that always have a `tierd_failures_total` series.
const STAGES: [&str; 7] = [
    "ingest", "score", "plan", "execute", "snapshot", "journal", "reload",
];

/// The metrics registry. `Send + Sync`; share it as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    /// When this process started (unix seconds): `tierd_start_time_seconds`.
    start_time: f64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    events_ingested: Family,
    bad_lines: Family,
    decisions: Family,
    failures: Family,
    policy_reloads: Family,
    http_requests: Family,
    objects_moved: u64,
    bytes_moved: u64,
    objects_snapshotted: u64,
    bytes_snapshotted: u64,
    /// Decisions the journal's retention forgot.
    decisions_pruned: u64,
    /// The journal's size on disk (with its write-ahead log), after the last cycle.
    journal_bytes: Option<u64>,
    /// Latest score per bucket; `_other` holds the highest score of the overflowing buckets.
    anomaly_scores: BTreeMap<String, f64>,
    anomaly_threshold: Option<f64>,
    model_trained_at: Option<i64>,
    /// The newest access event's time, unix seconds: `tierd_ingest_lag_seconds` is computed
    /// from it at render time, so the lag grows while no event comes.
    newest_event: Option<i64>,
    /// 1 while the policy files are the policy in force, 0 while an edit was refused.
    policy_valid: Option<u64>,
    open_freezes: Option<u64>,
    /// Tiers and buckets the last listing of the tiers could not list.
    unlisted: Option<u64>,
    open_incidents: Option<u64>,
    /// Candidate moves a guardrail held in the last planning pass, by guardrail.
    moves_held: BTreeMap<&'static str, u64>,
    /// What recovery left for a store that did not answer, by kind (set at start, then after
    /// each retry).
    recovery_pending: BTreeMap<&'static str, u64>,
    /// Objects and bytes tierd knows on each tier, after the last planning pass and its moves.
    tiers: BTreeMap<String, (u64, u64)>,
    /// Snapshots recorded in each vault, and the bytes they copied into it.
    vaults: BTreeMap<String, (u64, u64)>,
    cycles: BTreeMap<String, Histogram>,
}

/// The series of one labelled counter: label values (in the family's label order) → count.
#[derive(Debug, Default)]
struct Family {
    series: BTreeMap<Vec<String>, u64>,
}

impl Family {
    fn add(&mut self, labels: &[&str], n: u64) {
        let key: Vec<String> = labels.iter().map(|l| (*l).to_string()).collect();
        if let Some(v) = self.series.get_mut(&key) {
            *v = v.saturating_add(n);
            return;
        }
        let key = if self.series.len() >= MAX_SERIES {
            vec![OTHER.to_string(); labels.len()]
        } else {
            key
        };
        let v = self.series.entry(key).or_insert(0);
        *v = v.saturating_add(n);
    }
}

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Non-cumulative counts per bucket of [`CYCLE_BUCKETS`]; the last slot is `+Inf`.
    counts: [u64; CYCLE_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, v: f64) {
        let i = CYCLE_BUCKETS
            .iter()
            .position(|b| v <= *b)
            .unwrap_or(CYCLE_BUCKETS.len());
        self.counts[i] = self.counts[i].saturating_add(1);
        self.sum += v;
        self.count = self.count.saturating_add(1);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// An empty registry; `tierd_start_time_seconds` is now.
    pub fn new() -> Metrics {
        let start_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Metrics::with_start_time(start_time)
    }

    /// An empty registry whose process start time is `unix_secs` (tests pin it).
    pub fn with_start_time(unix_secs: f64) -> Metrics {
        const DECISIONS_FROM_ZERO: [(&str, &str); 8] = [
            ("move", "done"),
            ("move", "failed"),
            ("move", "skipped"),
            ("snapshot", "done"),
            ("snapshot", "failed"),
            ("freeze", "done"),
            ("unfreeze", "done"),
            ("alert", "done"),
        ];
        let mut inner = Inner::default();
        for s in SOURCES {
            inner.events_ingested.add(&[s], 0);
            inner.bad_lines.add(&[s], 0);
        }
        for s in STAGES {
            inner.failures.add(&[s], 0);
        }
        for r in ["ok", "rejected"] {
            inner.policy_reloads.add(&[r], 0);
        }
        // From zero, so that the first of them after a start is an increase an alert sees.
        for (action, state) in DECISIONS_FROM_ZERO {
            inner.decisions.add(&[action, state], 0);
        }
        Metrics {
            start_time: unix_secs,
            inner: Mutex::new(inner),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `n` access events entered the pipeline from `source` (`logs` or `webhook`).
    pub fn events_ingested(&self, source: &str, n: u64) {
        self.lock().events_ingested.add(&[source], n);
    }

    /// `n` malformed log lines or webhook entries from `source` were counted and skipped.
    pub fn bad_lines(&self, source: &str, n: u64) {
        self.lock().bad_lines.add(&[source], n);
    }

    /// A decision of `action` (`move`, `snapshot`, ...) reached `state` (`planned`, `done`, ...).
    pub fn decision(&self, action: &str, state: &str) {
        self.lock().decisions.add(&[action, state], 1);
    }

    /// Moves finished: objects and bytes.
    pub fn moved(&self, objects: u64, bytes: u64) {
        let mut g = self.lock();
        g.objects_moved = g.objects_moved.saturating_add(objects);
        g.bytes_moved = g.bytes_moved.saturating_add(bytes);
    }

    /// Objects and bytes copied into the vault by snapshots.
    pub fn snapshotted(&self, objects: u64, bytes: u64) {
        let mut g = self.lock();
        g.objects_snapshotted = g.objects_snapshotted.saturating_add(objects);
        g.bytes_snapshotted = g.bytes_snapshotted.saturating_add(bytes);
    }

    /// The journal's retention forgot `n` decisions.
    pub fn decisions_pruned(&self, n: u64) {
        let mut g = self.lock();
        g.decisions_pruned = g.decisions_pruned.saturating_add(n);
    }

    /// The journal's size on disk, its write-ahead log included.
    pub fn set_journal_bytes(&self, n: u64) {
        self.lock().journal_bytes = Some(n);
    }

    /// A failure in `stage` (`ingest`, `score`, `plan`, `execute`, `snapshot`, `journal`, `reload`).
    pub fn failure(&self, stage: &str) {
        self.lock().failures.add(&[stage], 1);
    }

    /// The latest anomaly score of `bucket`. Past [`MAX_BUCKETS`] distinct buckets, new buckets
    /// are folded into `bucket="_other"`, which keeps the highest score folded into it.
    pub fn anomaly_score(&self, bucket: &str, score: f64) {
        let mut g = self.lock();
        let scores = &mut g.anomaly_scores;
        if bucket != OTHER
            && let Some(v) = scores.get_mut(bucket)
        {
            *v = score;
            return;
        }
        let named = scores.len() - usize::from(scores.contains_key(OTHER));
        if bucket != OTHER && named < MAX_BUCKETS {
            scores.insert(bucket.to_string(), score);
            return;
        }
        let other = scores.entry(OTHER.to_string()).or_insert(score);
        // `max` keeps a number over a NaN, so one bad score does not hide the others.
        *other = other.max(score);
    }

    /// Forgets every bucket's score (call at the start of a scoring pass, so buckets that are
    /// gone stop being exported and `_other` starts afresh).
    pub fn clear_anomaly_scores(&self) {
        self.lock().anomaly_scores.clear();
    }

    /// The calibrated anomaly threshold of the model in use.
    pub fn set_anomaly_threshold(&self, t: f64) {
        self.lock().anomaly_threshold = Some(t);
    }

    /// When the model in use was trained; `tierd_model_age_seconds` is computed at render time.
    pub fn set_model_trained_at(&self, unix_secs: i64) {
        self.lock().model_trained_at = Some(unix_secs);
    }

    /// An access event of this time (unix seconds) was ingested: `tierd_ingest_lag_seconds` is
    /// now minus the newest such time, at render time.
    pub fn event_seen(&self, unix_secs: i64) {
        let mut g = self.lock();
        g.newest_event = Some(g.newest_event.map_or(unix_secs, |t| t.max(unix_secs)));
    }

    /// The last listing of the tiers could not list `n` tiers or buckets (the gauge, not a
    /// failure count: one alert, `TierdTiersUnlisted`, for as long as it lasts).
    pub fn set_unlisted(&self, n: u64) {
        self.lock().unlisted = Some(n);
    }

    /// Freezes open now.
    pub fn set_open_freezes(&self, n: u64) {
        self.lock().open_freezes = Some(n);
    }

    /// Incidents open now.
    pub fn set_open_incidents(&self, n: u64) {
        self.lock().open_incidents = Some(n);
    }

    /// Candidate moves the last planning pass held back, by guardrail (`why` from a fixed set):
    /// moves a rule wants that wait, with no decision of their own.
    pub fn set_moves_held(&self, held: &[(&'static str, u64)]) {
        let mut g = self.lock();
        g.moves_held.clear();
        g.moves_held.extend(held.iter().copied());
    }

    /// What recovery could not settle yet because a store did not answer: moves left in flight,
    /// incomplete multipart uploads not aborted, staging files not removed.
    pub fn set_recovery_pending(&self, moves: u64, uploads: u64, staging_files: u64) {
        let mut g = self.lock();
        g.recovery_pending.clear();
        g.recovery_pending.extend([
            ("moves", moves),
            ("uploads", uploads),
            ("staging_files", staging_files),
        ]);
    }

    /// The objects and bytes tierd knows on each tier (`(tier, objects, bytes)`; tier names come
    /// from the configuration, at most [`MAX_SERIES`] of them are kept).
    pub fn set_tiers(&self, tiers: &[(String, u64, u64)]) {
        let mut g = self.lock();
        g.tiers.clear();
        for (name, objects, bytes) in tiers.iter().take(MAX_SERIES) {
            g.tiers.insert(name.clone(), (*objects, *bytes));
        }
    }

    /// The snapshots recorded in each vault and the bytes they copied there (`(vault,
    /// snapshots, bytes)`; at most [`MAX_SERIES`] vaults are kept).
    pub fn set_vaults(&self, vaults: &[(String, u64, u64)]) {
        let mut g = self.lock();
        g.vaults.clear();
        for (name, snapshots, bytes) in vaults.iter().take(MAX_SERIES) {
            g.vaults.insert(name.clone(), (*snapshots, *bytes));
        }
    }

    /// A policy reload was applied (`ok`) or refused, keeping the last good policy (`rejected`).
    /// `tierd_policy_valid` says which until the next reload.
    pub fn policy_reload(&self, ok: bool) {
        let mut g = self.lock();
        g.policy_reloads
            .add(&[if ok { "ok" } else { "rejected" }], 1);
        g.policy_valid = Some(u64::from(ok));
    }

    /// The newest access event's time seen (unix seconds), if any.
    pub fn newest_event(&self) -> Option<i64> {
        self.lock().newest_event
    }

    /// The policy loaded at start-up is the one on disk.
    pub fn policy_loaded(&self) {
        self.lock().policy_valid = Some(1);
    }

    /// One run of a daemon-cycle `stage` took `seconds`. Negative durations count as 0; a NaN
    /// is not recorded.
    pub fn cycle(&self, stage: &str, seconds: f64) {
        if seconds.is_nan() {
            return;
        }
        let seconds = seconds.max(0.0);
        let mut g = self.lock();
        let key = if g.cycles.contains_key(stage) || g.cycles.len() < MAX_SERIES {
            stage
        } else {
            OTHER
        };
        g.cycles
            .entry(key.to_string())
            .or_default()
            .observe(seconds);
    }

    /// An HTTP request to `route` (a fixed name such as `metrics` or `audit`, never the raw path)
    /// was answered with `status`.
    pub fn http_request(&self, route: &str, status: u16) {
        let code = status.to_string();
        self.lock().http_requests.add(&[route, &code], 1);
    }

    /// The metrics in the Prometheus text format 0.0.4; `now_unix` is the clock for
    /// `tierd_model_age_seconds`.
    pub fn render(&self, now_unix: i64) -> String {
        let g = self.lock();
        let mut out = Vec::<Rendered>::new();

        let counters: [(&str, &str, &[&str], &Family); 6] = [
            (
                "tierd_events_ingested_total",
                "Access events that entered the pipeline, by source.",
                &["source"],
                &g.events_ingested,
            ),
            (
                "tierd_bad_lines_total",
                "Malformed log lines or webhook entries counted and skipped, by source.",
                &["source"],
                &g.bad_lines,
            ),
            (
                "tierd_decisions_total",
                "Decisions taken, by action and state.",
                &["action", "state"],
                &g.decisions,
            ),
            (
                "tierd_failures_total",
                "Failures, by pipeline stage.",
                &["stage"],
                &g.failures,
            ),
            (
                "tierd_policy_reloads_total",
                "Policy reloads, by result (a rejected reload keeps the last good policy).",
                &["result"],
                &g.policy_reloads,
            ),
            (
                "tierd_http_requests_total",
                "HTTP requests answered, by route and status code.",
                &["route", "code"],
                &g.http_requests,
            ),
        ];
        for (name, help, labels, fam) in counters {
            let samples = fam
                .series
                .iter()
                .map(|(values, v)| Sample {
                    suffix: "",
                    labels: labels
                        .iter()
                        .zip(values)
                        .map(|(k, v)| ((*k).to_string(), v.clone()))
                        .collect(),
                    value: Value::Int(*v),
                })
                .collect();
            out.push(Rendered::new(name, help, "counter", samples));
        }

        let plain_counters = [
            (
                "tierd_objects_moved_total",
                "Objects moved between tiers (copied, verified, source deleted).",
                g.objects_moved,
            ),
            (
                "tierd_bytes_moved_total",
                "Bytes moved between tiers.",
                g.bytes_moved,
            ),
            (
                "tierd_objects_snapshotted_total",
                "Objects copied into the vault by snapshots.",
                g.objects_snapshotted,
            ),
            (
                "tierd_bytes_snapshotted_total",
                "Bytes copied into the vault by snapshots.",
                g.bytes_snapshotted,
            ),
            (
                "tierd_journal_decisions_pruned_total",
                "Ended decisions the journal forgot, older than journal.keep_decisions (with their move steps).",
                g.decisions_pruned,
            ),
            (
                "tierd_log_bytes_read_total",
                "Bytes of access-log files and objects read, as stored (compressed, for gzip).",
                crate::ingest::STORED_BYTES_READ.load(std::sync::atomic::Ordering::Relaxed),
            ),
        ];
        for (name, help, v) in plain_counters {
            out.push(Rendered::new(
                name,
                help,
                "counter",
                vec![Sample::plain(Value::Int(v))],
            ));
        }

        let scores = g
            .anomaly_scores
            .iter()
            .map(|(b, s)| Sample {
                suffix: "",
                labels: vec![("bucket".to_string(), b.clone())],
                value: Value::Float(*s),
            })
            .collect();
        let held = g
            .moves_held
            .iter()
            .map(|(why, n)| Sample {
                suffix: "",
                labels: vec![("why".to_string(), (*why).to_string())],
                value: Value::Int(*n),
            })
            .collect();
        let pending = g
            .recovery_pending
            .iter()
            .map(|(what, n)| Sample {
                suffix: "",
                labels: vec![("what".to_string(), (*what).to_string())],
                value: Value::Int(*n),
            })
            .collect();
        out.push(Rendered::new(
            "tierd_recovery_pending",
            "What recovery left for a store that did not answer (moves in flight, incomplete uploads, staging files); the service retries it.",
            "gauge",
            pending,
        ));
        out.extend(gauge_pair(
            &g.vaults,
            "vault",
            [
                (
                    "tierd_vault_snapshots",
                    "Snapshots recorded in each vault (keep- snapshots of restores included).",
                ),
                (
                    "tierd_vault_bytes",
                    "Bytes tierd's snapshots copied into each vault (each snapshot copies only what changed since the last), manifests aside.",
                ),
            ],
        ));
        out.extend(gauge_pair(
            &g.tiers,
            "tier",
            [
                (
                    "tierd_tier_objects",
                    "Objects tierd knows on each tier (from the access logs and the listings), after the last planning pass and its moves.",
                ),
                (
                    "tierd_tier_bytes",
                    "Bytes of the objects tierd knows on each tier, after the last planning pass and its moves.",
                ),
            ],
        ));
        out.push(Rendered::new(
            "tierd_moves_held",
            "Moves a rule wanted that a guardrail held back in the last planning pass, by guardrail.",
            "gauge",
            held,
        ));
        out.push(Rendered::new(
            "tierd_anomaly_score",
            "Latest anomaly score per bucket, in [0, 1] (bucket=\"_other\": the highest of buckets past the series cap).",
            "gauge",
            scores,
        ));

        let optional_gauges = [
            (
                "tierd_anomaly_threshold",
                "The calibrated anomaly threshold of the model in use.",
                g.anomaly_threshold.map(Value::Float),
            ),
            (
                "tierd_model_age_seconds",
                "Seconds from the end of the model in use's training data (its newest event) to now.",
                g.model_trained_at
                    .map(|t| Value::Float(now_unix.saturating_sub(t) as f64)),
            ),
            (
                "tierd_ingest_lag_seconds",
                "Seconds between now and the newest access event ingested (by this run, or saved by the last).",
                g.newest_event
                    .map(|t| Value::Float(now_unix.saturating_sub(t).max(0) as f64)),
            ),
            (
                "tierd_policy_valid",
                "1 while the policy files are the policy in force; 0 while an edit of them was refused and the last good policy is kept.",
                g.policy_valid.map(Value::Int),
            ),
            (
                "tierd_unlisted",
                "Tiers and buckets the last listing of the tiers could not list (their objects the logs never named are not placed).",
                g.unlisted.map(Value::Int),
            ),
            (
                "tierd_journal_bytes",
                "The journal's size on disk (the SQLite file and its write-ahead log), after the last cycle.",
                g.journal_bytes.map(Value::Int),
            ),
            (
                "tierd_open_freezes",
                "Freezes open now (no moves or deletes in their scope).",
                g.open_freezes.map(Value::Int),
            ),
            (
                "tierd_open_incidents",
                "Incidents open now (snapshots are kept while one is open).",
                g.open_incidents.map(Value::Int),
            ),
            (
                "tierd_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds.",
                Some(Value::Float(self.start_time)),
            ),
        ];
        for (name, help, v) in optional_gauges {
            out.push(Rendered::new(
                name,
                help,
                "gauge",
                v.map(Sample::plain).into_iter().collect(),
            ));
        }

        out.push(Rendered::new(
            "tierd_build_info",
            "The tierd build; the value is always 1.",
            "gauge",
            vec![Sample {
                suffix: "",
                labels: vec![("version".to_string(), env!("CARGO_PKG_VERSION").to_string())],
                value: Value::Int(1),
            }],
        ));

        let mut hist = Vec::new();
        for (stage, h) in &g.cycles {
            let mut cumulative = 0u64;
            let bounds = CYCLE_BUCKETS.iter().map(|b| format_float(*b));
            for (i, le) in bounds
                .chain(std::iter::once("+Inf".to_string()))
                .enumerate()
            {
                cumulative = cumulative.saturating_add(h.counts[i]);
                hist.push(Sample {
                    suffix: "_bucket",
                    labels: vec![("stage".to_string(), stage.clone()), ("le".to_string(), le)],
                    value: Value::Int(cumulative),
                });
            }
            hist.push(Sample {
                suffix: "_sum",
                labels: vec![("stage".to_string(), stage.clone())],
                value: Value::Float(h.sum),
            });
            hist.push(Sample {
                suffix: "_count",
                labels: vec![("stage".to_string(), stage.clone())],
                value: Value::Int(h.count),
            });
        }
        out.push(Rendered::new(
            "tierd_cycle_seconds",
            "Duration of daemon-cycle stages, in seconds.",
            "histogram",
            hist,
        ));
        drop(g);

        out.sort_by(|a, b| a.name.cmp(b.name));
        let mut text = String::with_capacity(4096);
        for r in &out {
            r.write(&mut text);
        }
        text
    }
}

#[derive(Debug, Clone, Copy)]
enum Value {
    Int(u64),
    Float(f64),
}

#[derive(Debug)]
struct Sample {
    /// `_bucket`, `_sum`, `_count` for histograms; empty otherwise.
    suffix: &'static str,
    labels: Vec<(String, String)>,
    value: Value,
}

impl Sample {
    fn plain(value: Value) -> Sample {
        Sample {
            suffix: "",
            labels: Vec::new(),
            value,
        }
    }
}

#[derive(Debug)]
struct Rendered {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<Sample>,
}

impl Rendered {
    fn new(
        name: &'static str,
        help: &'static str,
        kind: &'static str,
        samples: Vec<Sample>,
    ) -> Rendered {
        Rendered {
            name,
            help,
            kind,
            samples,
        }
    }

    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}", self.name, escape_help(self.help));
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for s in &self.samples {
            out.push_str(self.name);
            out.push_str(s.suffix);
            if !s.labels.is_empty() {
                out.push('{');
                for (i, (k, v)) in s.labels.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "{k}=\"{}\"", escape_label(v));
                }
                out.push('}');
            }
            out.push(' ');
            match s.value {
                Value::Int(v) => {
                    let _ = write!(out, "{v}");
                }
                Value::Float(v) => out.push_str(&format_float(v)),
            }
            out.push('\n');
        }
    }
}

/// Two gauges labelled `label` from one map of pairs: the first of each pair, then the second
/// (objects and bytes per tier, snapshots and bytes per vault).
fn gauge_pair(
    map: &BTreeMap<String, (u64, u64)>,
    label: &str,
    names: [(&'static str, &'static str); 2],
) -> [Rendered; 2] {
    let gauge = |(name, help): (&'static str, &'static str), pick: fn(&(u64, u64)) -> u64| {
        let samples = map
            .iter()
            .map(|(value, v)| Sample {
                suffix: "",
                labels: vec![(label.to_string(), value.clone())],
                value: Value::Int(pick(v)),
            })
            .collect();
        Rendered::new(name, help, "gauge", samples)
    };
    [gauge(names[0], |v| v.0), gauge(names[1], |v| v.1)]
}

/// A label value escaped for the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// HELP text escaped for the text format: `\` → `\\`, newline → `\n`.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as Prometheus writes it: `NaN`, `+Inf`, `-Inf`, or the shortest decimal that reads
/// back to the same number.
fn format_float(v: f64) -> String {
    if v.is_nan() {
        "NaN".to_string()
    } else if v == f64::INFINITY {
        "+Inf".to_string()
    } else if v == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with([' ', '{', '_']))
            })
            .collect()
    }

    #[test]
    fn a_fresh_registry_renders_zero_counters_for_the_known_label_values() {
        let m = Metrics::with_start_time(1_700_000_000.5);
        let text = m.render(1_800_000_000);
        assert_eq!(
            family(&text, "tierd_events_ingested_total"),
            vec![
                "tierd_events_ingested_total{source=\"logs\"} 0",
                "tierd_events_ingested_total{source=\"webhook\"} 0",
            ]
        );
        assert_eq!(
            family(&text, "tierd_failures_total").len(),
            STAGES.len(),
            "{text}"
        );
        assert!(text.contains(
            "# HELP tierd_start_time_seconds Start time of the process since the Unix epoch, in seconds.\n# TYPE tierd_start_time_seconds gauge\ntierd_start_time_seconds 1700000000.5\n"
        ));
        assert!(text.contains(&format!(
            "tierd_build_info{{version=\"{}\"}} 1\n",
            env!("CARGO_PKG_VERSION")
        )));
        assert_eq!(
            family(&text, "tierd_log_bytes_read_total").len(),
            1,
            "{text}"
        );
        // Unset gauges have no sample (absent means unknown), but are still described.
        assert!(text.contains("# TYPE tierd_model_age_seconds gauge\n"));
        assert!(family(&text, "tierd_model_age_seconds").is_empty());
    }

    #[test]
    fn metrics_are_sorted_by_name_and_every_one_is_described_once() {
        let m = Metrics::new();
        m.decision("move", "done");
        m.cycle("plan", 0.2);
        let text = m.render(0);
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap_or(""))
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        assert_eq!(
            text.lines().filter(|l| l.starts_with("# HELP ")).count(),
            names.len()
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.anomaly_score("we\"ird\\bucket\nname", 0.5);
        let text = m.render(0);
        assert!(
            text.contains("tierd_anomaly_score{bucket=\"we\\\"ird\\\\bucket\\nname\"} 0.5\n"),
            "{text}"
        );
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
    }

    #[test]
    fn moves_held_are_the_last_passes_by_guardrail() {
        let m = Metrics::new();
        m.set_moves_held(&[("residency", 3), ("cooldown", 0)]);
        m.set_moves_held(&[("blackout", 2), ("residency", 1)]);
        assert_eq!(
            family(&m.render(0), "tierd_moves_held"),
            vec![
                "tierd_moves_held{why=\"blackout\"} 2",
                "tierd_moves_held{why=\"residency\"} 1",
            ]
        );
    }

    #[test]
    fn recovery_pending_is_the_last_count_of_each_kind() {
        let m = Metrics::new();
        assert!(family(&m.render(0), "tierd_recovery_pending").is_empty());
        m.set_recovery_pending(2, 1, 0);
        m.set_recovery_pending(1, 1, 0);
        assert_eq!(
            family(&m.render(0), "tierd_recovery_pending"),
            vec![
                "tierd_recovery_pending{what=\"moves\"} 1",
                "tierd_recovery_pending{what=\"staging_files\"} 0",
                "tierd_recovery_pending{what=\"uploads\"} 1",
            ]
        );
    }

    #[test]
    fn each_vault_shows_its_snapshots_and_bytes() {
        let m = Metrics::new();
        m.set_vaults(&[("vault".into(), 3, 12_442_782)]);
        let text = m.render(0);
        assert_eq!(
            family(&text, "tierd_vault_snapshots"),
            vec!["tierd_vault_snapshots{vault=\"vault\"} 3"]
        );
        assert_eq!(
            family(&text, "tierd_vault_bytes"),
            vec!["tierd_vault_bytes{vault=\"vault\"} 12442782"]
        );
    }

    #[test]
    fn each_tier_shows_the_objects_and_bytes_of_the_last_pass() {
        let m = Metrics::new();
        m.set_tiers(&[("onprem".into(), 3, 300), ("cloud".into(), 1, 50)]);
        m.set_tiers(&[("onprem".into(), 2, 200), ("cloud".into(), 2, 150)]);
        let text = m.render(0);
        assert_eq!(
            family(&text, "tierd_tier_objects"),
            vec![
                "tierd_tier_objects{tier=\"cloud\"} 2",
                "tierd_tier_objects{tier=\"onprem\"} 2",
            ]
        );
        assert_eq!(
            family(&text, "tierd_tier_bytes"),
            vec![
                "tierd_tier_bytes{tier=\"cloud\"} 150",
                "tierd_tier_bytes{tier=\"onprem\"} 200",
            ]
        );
    }

    #[test]
    fn the_model_age_is_computed_from_the_clock_at_render_time() {
        let m = Metrics::new();
        m.set_model_trained_at(1_000);
        assert!(m.render(1_060).contains("\ntierd_model_age_seconds 60\n"));
        assert!(m.render(4_600).contains("\ntierd_model_age_seconds 3600\n"));
    }

    #[test]
    fn the_ingest_lag_grows_while_no_event_comes_and_counts_from_the_newest() {
        let m = Metrics::new();
        assert!(!m.render(10).contains("\ntierd_ingest_lag_seconds "));
        m.event_seen(1_000);
        m.event_seen(900);
        assert!(m.render(1_060).contains("\ntierd_ingest_lag_seconds 60\n"));
        assert!(
            m.render(8_200)
                .contains("\ntierd_ingest_lag_seconds 7200\n")
        );
        assert_eq!(m.newest_event(), Some(1_000));
    }

    #[test]
    fn a_listing_that_left_tiers_unlisted_shows_until_the_next_one() {
        let m = Metrics::new();
        assert!(!m.render(0).contains("\ntierd_unlisted "));
        m.set_unlisted(2);
        let text = m.render(0);
        assert!(text.contains("\ntierd_unlisted 2\n"), "{text}");
        assert!(!text.contains("stage=\"scan\""), "{text}");
        m.set_unlisted(0);
        assert!(m.render(0).contains("\ntierd_unlisted 0\n"));
    }

    #[test]
    fn the_journal_shows_its_size_and_counts_what_retention_forgot() {
        let m = Metrics::new();
        let text = m.render(0);
        assert!(!text.contains("\ntierd_journal_bytes "), "{text}");
        assert!(
            text.contains("\ntierd_journal_decisions_pruned_total 0\n"),
            "{text}"
        );
        m.set_journal_bytes(4096);
        m.decisions_pruned(3);
        m.decisions_pruned(2);
        let text = m.render(0);
        assert!(text.contains("\ntierd_journal_bytes 4096\n"), "{text}");
        assert!(
            text.contains("\ntierd_journal_decisions_pruned_total 5\n"),
            "{text}"
        );
    }

    #[test]
    fn the_policy_is_valid_until_an_edit_is_refused_and_again_once_one_loads() {
        let m = Metrics::new();
        assert!(!m.render(0).contains("\ntierd_policy_valid "));
        m.policy_loaded();
        assert!(m.render(0).contains("\ntierd_policy_valid 1\n"));
        m.policy_reload(false);
        assert!(m.render(0).contains("\ntierd_policy_valid 0\n"));
        m.policy_reload(true);
        assert!(m.render(0).contains("\ntierd_policy_valid 1\n"));
    }

    #[test]
    fn buckets_past_the_cap_fold_into_other_with_their_highest_score() {
        let m = Metrics::new();
        for i in 0..MAX_BUCKETS {
            m.anomaly_score(&format!("b{i:04}"), 0.1);
        }
        m.anomaly_score("late-1", 0.7);
        m.anomaly_score("late-2", 0.4);
        // A bucket already kept is still updated in place.
        m.anomaly_score("b0000", 0.9);
        let text = m.render(0);
        let series = family(&text, "tierd_anomaly_score");
        assert_eq!(series.len(), MAX_BUCKETS + 1);
        assert!(series.contains(&"tierd_anomaly_score{bucket=\"_other\"} 0.7"));
        assert!(series.contains(&"tierd_anomaly_score{bucket=\"b0000\"} 0.9"));
        assert!(!text.contains("late-1"));
        m.clear_anomaly_scores();
        assert!(family(&m.render(0), "tierd_anomaly_score").is_empty());
    }

    #[test]
    fn counter_label_sets_past_the_cap_fold_into_other() {
        let m = Metrics::new();
        for i in 0..(MAX_SERIES * 2) {
            m.decision(&format!("a{i}"), "done");
        }
        let text = m.render(0);
        let series = family(&text, "tierd_decisions_total");
        assert_eq!(series.len(), MAX_SERIES + 1);
        // The 8 series kept from zero (move/done, alert/done, ...) count against the cap.
        assert!(
            series.contains(&"tierd_decisions_total{action=\"_other\",state=\"_other\"} 72"),
            "{series:?}"
        );
        assert!(series.contains(&"tierd_decisions_total{action=\"alert\",state=\"done\"} 0"));
    }

    #[test]
    fn the_cycle_histogram_is_cumulative_with_sum_and_count() {
        let m = Metrics::new();
        m.cycle("score", 0.03);
        m.cycle("score", 0.3);
        m.cycle("score", 1000.0);
        m.cycle("score", f64::NAN);
        m.cycle("score", -1.0);
        let text = m.render(0);
        let series = family(&text, "tierd_cycle_seconds");
        assert_eq!(series.len(), CYCLE_BUCKETS.len() + 3);
        assert_eq!(
            series[0],
            "tierd_cycle_seconds_bucket{stage=\"score\",le=\"0.01\"} 1"
        );
        assert_eq!(
            series[1],
            "tierd_cycle_seconds_bucket{stage=\"score\",le=\"0.05\"} 2"
        );
        assert_eq!(
            series[4],
            "tierd_cycle_seconds_bucket{stage=\"score\",le=\"0.5\"} 3"
        );
        assert_eq!(
            series[CYCLE_BUCKETS.len()],
            "tierd_cycle_seconds_bucket{stage=\"score\",le=\"+Inf\"} 4"
        );
        assert_eq!(
            series[CYCLE_BUCKETS.len() + 1],
            format!(
                "tierd_cycle_seconds_sum{{stage=\"score\"}} {}",
                0.03 + 0.3 + 1000.0 + 0.0
            )
        );
        assert_eq!(
            series[CYCLE_BUCKETS.len() + 2],
            "tierd_cycle_seconds_count{stage=\"score\"} 4"
        );
    }

    #[test]
    fn special_floats_render_as_prometheus_spells_them() {
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(2.0), "2");
        assert_eq!(format_float(0.25), "0.25");
    }

    #[test]
    fn counters_accumulate_and_saturate() {
        let m = Metrics::new();
        m.moved(2, 100);
        m.moved(1, u64::MAX);
        m.snapshotted(3, 30);
        m.policy_reload(false);
        m.failure("execute");
        m.failure("execute");
        let text = m.render(0);
        assert!(text.contains("\ntierd_objects_moved_total 3\n"));
        assert!(text.contains(&format!("\ntierd_bytes_moved_total {}\n", u64::MAX)));
        assert!(text.contains("\ntierd_objects_snapshotted_total 3\n"));
        assert!(text.contains("tierd_policy_reloads_total{result=\"rejected\"} 1\n"));
        assert!(text.contains("tierd_policy_reloads_total{result=\"ok\"} 0\n"));
        assert!(text.contains("tierd_failures_total{stage=\"execute\"} 2\n"));
    }
}
