//! Behaviour features: per subject (principal, bucket, principal within a bucket) per window, and
//! per object for tiering.
//!
//! [`extract`] is the stage's main function. It runs in two passes:
//! 1. **Stateful, in Rust**, over the events in a canonical order: the facts that need memory
//!    across windows ("does this key already exist?", "was this IP ever seen for this principal
//!    before?", "is this extension new in this bucket?", "is this copy a copy onto itself?") are
//!    looked up in a [`History`] and written as per-event columns.
//! 2. **Columnar, in polars**: the per-event columns are grouped by subject and window and
//!    aggregated (counts per operation class, byte sums, distinct keys and IPs, ...), once per
//!    subject kind.
//!
//! Then the hour-of-week profile of every subject is consulted (and, while the history learns,
//! updated) to give the `off_hours_ops` feature.
//!
//! [`object_features`] computes the per-object features (last access, reads over 1/7/30/90 days,
//! a decayed read rate, age, size, reads since the last write) with polars from an event frame
//! ([`crate::frame`]).
//!
//! # Caveats
//! - Run polars only from a multi-threaded context (a plain thread, `spawn_blocking`, a plain
//!   `#[test]`): on a current-thread tokio runtime polars' `collect()` panics.
//! - The key state that tells an overwrite from a first write lives in the [`History`] the caller
//!   keeps between calls; it is not part of a model artifact (it can hold millions of keys). A
//!   controller starting from an artifact warms it from the catalog or the log tail; until then a
//!   PUT over a key written before it started is counted as a first write.

mod history;
mod object;

use std::collections::HashMap;
use std::fmt;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::event::{AccessEvent, ConfigKind, OpClass};
use crate::{Error, Result};

pub use history::{History, fx_hash};
pub use object::{OBJECT_COLUMNS, object_features};

/// The default window: 5 minutes.
pub const DEFAULT_WINDOW_SECS: i64 = 300;

/// How features are computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Window length in seconds (default 300).
    pub window_secs: i64,
    /// Two copy halves (`copy-source`, `copy-dest`) of the same key by the same principal within
    /// this many seconds are one copy onto itself (default 5).
    pub copy_pair_secs: i64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            window_secs: DEFAULT_WINDOW_SECS,
            copy_pair_secs: 5,
        }
    }
}

impl FeatureConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// A window shorter than 10 s or longer than a day, or a negative copy pairing interval.
    pub fn check(&self) -> Result<()> {
        if !(10..=86_400).contains(&self.window_secs) {
            return Err(Error::Config(format!(
                "window_secs = {}: expected 10 to 86400 seconds (default 300)",
                self.window_secs
            )));
        }
        if self.copy_pair_secs < 0 {
            return Err(Error::Config(format!(
                "copy_pair_secs = {}: expected 0 or more seconds (default 5)",
                self.copy_pair_secs
            )));
        }
        Ok(())
    }
}

/// What behaviour is modelled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    Principal,
    Bucket,
    PrincipalInBucket,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 3] = [
        SubjectKind::Principal,
        SubjectKind::Bucket,
        SubjectKind::PrincipalInBucket,
    ];
}

/// A principal, a bucket, or a principal within a bucket. Anonymous requests have the principal
/// `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    pub kind: SubjectKind,
    pub bucket: Option<String>,
    pub principal: Option<String>,
}

impl fmt::Display for Subject {
    /// `principal:NAME`, `bucket:NAME` or `principal:NAME@bucket:NAME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.principal.as_deref().unwrap_or("anonymous");
        let b = self.bucket.as_deref().unwrap_or("");
        match self.kind {
            SubjectKind::Principal => write!(f, "principal:{p}"),
            SubjectKind::Bucket => write!(f, "bucket:{b}"),
            SubjectKind::PrincipalInBucket => write!(f, "principal:{p}@bucket:{b}"),
        }
    }
}

/// One feature: its column name, unit and meaning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeatureInfo {
    pub name: &'static str,
    pub unit: &'static str,
    /// Rare-event features (new IPs, new principals, copies onto themselves, ...) are judged on a
    /// finer scale than volume features: one occurrence where there were none is already far off.
    pub rare: bool,
    /// How much the feature counts in scores (1, or 0.5 for creation volume: uploads of new data
    /// are the commonest benign burst and destroy nothing; they still show in explanations).
    pub weight: f64,
    /// Features of one family measure one fact (the volume of activity moves requests, keys and
    /// bytes together): the robust baseline counts at most one feature per family in a score.
    pub family: u8,
    pub doc: &'static str,
}

/// Number of feature families (see [`FeatureInfo::family`]).
pub const N_FAMILIES: usize = 18;

/// The family of a feature, by name: volume (requests, keys and bytes read or written, one
/// fact), then one family per independent fact.
const fn family_of(name: &str) -> u8 {
    match name.as_bytes() {
        b"ops_get" | b"ops_put" | b"ops_head" | b"ops_list" | b"ops_multipart" | b"bytes_out"
        | b"bytes_in" | b"distinct_keys" => 0,
        b"ops_delete" => 1,
        b"ops_copy_source" | b"ops_copy_dest" => 2,
        b"ops_config_change" => 3,
        b"ops_other" => 4,
        b"overwrites" | b"overwrite_ratio" => 5,
        b"copy_in_place" => 6,
        b"new_extension_keys" | b"new_extension_share" => 7,
        b"errors" | b"error_ratio" => 8,
        b"distinct_ips" => 9,
        b"new_ips" => 10,
        b"new_principals" => 11,
        b"new_user_agents" => 12,
        b"off_hours_ops" => 13,
        b"config_changes_new" => 14,
        _ => 17,
    }
}

macro_rules! feat {
    ($name:literal, $unit:literal, $rare:literal, $doc:literal) => {
        FeatureInfo {
            name: $name,
            unit: $unit,
            rare: $rare,
            weight: 1.0,
            family: family_of($name),
            doc: $doc,
        }
    };
    ($name:literal, $unit:literal, $rare:literal, $weight:literal, $doc:literal) => {
        FeatureInfo {
            name: $name,
            unit: $unit,
            rare: $rare,
            weight: $weight,
            family: family_of($name),
            doc: $doc,
        }
    };
}

/// Number of window features.
pub const N_FEATURES: usize = 26;

/// The window features, in column order. Part of a model artifact's contract.
pub const FEATURES: [FeatureInfo; N_FEATURES] = [
    feat!("ops_get", "requests", false, "GET requests (object reads)."),
    feat!("ops_put", "requests", false, 0.5, "PUT/POST object writes."),
    feat!(
        "ops_head",
        "requests",
        false,
        "HEAD and other metadata reads."
    ),
    feat!(
        "ops_delete",
        "requests",
        false,
        "Deletes (objects, versions, delete markers)."
    ),
    feat!(
        "ops_copy_source",
        "requests",
        false,
        "Read sides of server-side copies."
    ),
    feat!(
        "ops_copy_dest",
        "requests",
        false,
        "Write sides of server-side copies."
    ),
    feat!(
        "ops_list",
        "requests",
        false,
        "Bucket, version and upload listings."
    ),
    feat!(
        "ops_multipart",
        "requests",
        false,
        0.5,
        "Multipart upload steps."
    ),
    feat!(
        "ops_config_change",
        "requests",
        true,
        "Bucket configuration writes (lifecycle, policy, versioning, object lock, ...)."
    ),
    feat!("ops_other", "requests", false, "Every other request."),
    feat!(
        "bytes_out",
        "bytes",
        false,
        "Response bytes sent to clients."
    ),
    feat!(
        "bytes_in",
        "bytes",
        false,
        0.5,
        "Request body bytes received (uploads)."
    ),
    feat!(
        "distinct_keys",
        "keys",
        false,
        "Distinct object keys touched."
    ),
    feat!(
        "overwrites",
        "requests",
        false,
        "PUTs and copy destinations onto keys that already existed."
    ),
    feat!(
        "overwrite_ratio",
        "ratio 0..1",
        false,
        "overwrites / (PUTs + copy destinations); 0 without writes."
    ),
    feat!(
        "copy_in_place",
        "requests",
        true,
        "Copies of a key onto itself (copy source and destination the same key by the same principal within copy_pair_secs), or SSE-C copies."
    ),
    feat!(
        "new_extension_keys",
        "keys",
        true,
        "Distinct written keys whose extension was never seen in the bucket before."
    ),
    feat!(
        "new_extension_share",
        "ratio 0..1",
        true,
        "new_extension_keys / distinct written keys; 0 without writes."
    ),
    feat!(
        "errors",
        "requests",
        false,
        "Requests answered 403, 404 or 5xx."
    ),
    feat!("error_ratio", "ratio 0..1", false, "errors / requests."),
    feat!("distinct_ips", "IPs", false, "Distinct source IPs."),
    feat!(
        "new_ips",
        "IPs",
        true,
        "Distinct source IPs never seen for this subject in the baseline."
    ),
    feat!(
        "new_principals",
        "principals",
        true,
        "Distinct principals never seen before (in the bucket; for a principal subject: anywhere)."
    ),
    feat!(
        "new_user_agents",
        "user agents",
        true,
        "Distinct user agents never seen for this subject in the baseline."
    ),
    feat!(
        "off_hours_ops",
        "requests",
        false,
        "Requests x (1 - share of the subject's baseline windows at this hour of the week x 168, capped at 1): all requests at an hour of the week the subject is never active, none at a usual hour."
    ),
    feat!(
        "config_changes_new",
        "requests",
        true,
        "Configuration writes of a kind this principal never made on this bucket before."
    ),
];

/// The feature names, in column order.
pub fn feature_names() -> Vec<String> {
    FEATURES.iter().map(|f| f.name.to_owned()).collect()
}

/// The index of a feature by name.
pub fn feature_index(name: &str) -> Option<usize> {
    FEATURES.iter().position(|f| f.name == name)
}

/// Per-window flags the controller maps onto policy signals (not scored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowFlags {
    /// A principal never seen in the baseline was active (in the bucket, for bucket subjects).
    pub principal_is_new: bool,
    /// A source IP never seen in the baseline for this subject was active.
    pub source_ip_is_new: bool,
    /// The bucket configuration kinds changed in the window.
    pub config_changed: Vec<ConfigKind>,
}

/// Subject-window features: one row per subject and active window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowFeatures {
    pub subjects: Vec<Subject>,
    /// Window start, µs since the epoch (UTC).
    pub window_start_us: Vec<i64>,
    /// Raw feature values in [`FEATURES`] order (counts, bytes, ratios; not log-scaled).
    pub values: Vec<[f64; N_FEATURES]>,
    pub flags: Vec<WindowFlags>,
    /// Window length, seconds.
    pub window_secs: i64,
}

impl WindowFeatures {
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// Appends another batch's rows.
    pub fn extend(&mut self, other: WindowFeatures) {
        self.subjects.extend(other.subjects);
        self.window_start_us.extend(other.window_start_us);
        self.values.extend(other.values);
        self.flags.extend(other.flags);
        self.window_secs = other.window_secs;
    }

    /// The rows as a polars frame: `subject`, `kind`, `window_start` and one column per feature.
    ///
    /// # Errors
    /// Only polars' own errors.
    pub fn to_frame(&self) -> Result<DataFrame> {
        let mut cols = vec![
            Column::new(
                "subject".into(),
                self.subjects
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "kind".into(),
                self.subjects
                    .iter()
                    .map(|s| match s.kind {
                        SubjectKind::Principal => "principal",
                        SubjectKind::Bucket => "bucket",
                        SubjectKind::PrincipalInBucket => "principal-in-bucket",
                    })
                    .collect::<Vec<_>>(),
            ),
            Column::new("window_start".into(), self.window_start_us.clone()).cast(
                &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            )?,
        ];
        for (j, f) in FEATURES.iter().enumerate() {
            cols.push(Column::new(
                f.name.into(),
                self.values.iter().map(|v| v[j]).collect::<Vec<f64>>(),
            ));
        }
        Ok(DataFrame::new(self.len(), cols)?)
    }
}

/// Hour of the week, 0 = Monday 00:00 UTC.
pub fn hour_of_week(time_us: i64) -> usize {
    let hours = time_us.div_euclid(3_600_000_000);
    // 1970-01-01 00:00 was a Thursday: hour 72 of its week.
    ((hours + 72).rem_euclid(168)) as usize
}

/// Interned subjects of one call.
#[derive(Default)]
struct Interner {
    /// (principal, bucket) hash → the ids of the principal, bucket and principal-in-bucket
    /// subjects: one lookup per event, no allocation.
    pairs: HashMap<u64, [u32; 3], std::hash::BuildHasherDefault<history::IdHasher>>,
    /// Subject hash → id.
    ids: HashMap<u64, u32, std::hash::BuildHasherDefault<history::IdHasher>>,
    list: Vec<Subject>,
}

impl Interner {
    fn id(&mut self, hash: u64, make: impl FnOnce() -> Subject) -> u32 {
        if let Some(&i) = self.ids.get(&hash) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(make());
        self.ids.insert(hash, i);
        i
    }

    /// The principal, bucket and principal-in-bucket subject ids of an event.
    fn subjects(&mut self, e: &AccessEvent, h: &history::EventHashes) -> [u32; 3] {
        let pair = history::mix(h.principal, h.bucket);
        if let Some(&ids) = self.pairs.get(&pair) {
            return ids;
        }
        let p_id = self.id(history::mix(1, h.principal), || Subject {
            kind: SubjectKind::Principal,
            bucket: None,
            principal: e.principal.clone(),
        });
        let b_id = self.id(history::mix(2, h.bucket), || Subject {
            kind: SubjectKind::Bucket,
            bucket: Some(e.bucket.clone()),
            principal: None,
        });
        let pb_id = self.id(history::mix(3, pair), || Subject {
            kind: SubjectKind::PrincipalInBucket,
            bucket: Some(e.bucket.clone()),
            principal: e.principal.clone(),
        });
        let ids = [p_id, b_id, pb_id];
        self.pairs.insert(pair, ids);
        ids
    }
}

fn extension(key: &str) -> &str {
    let last = key.rsplit('/').next().unwrap_or(key);
    match last.rfind('.') {
        Some(i) if i + 1 < last.len() => &last[i + 1..],
        _ => "",
    }
}

/// One subject's counts in one window, while the window is open.
#[derive(Default)]
struct Acc {
    ops: [u32; 10],
    bytes_out: u64,
    bytes_in: u64,
    overwrites: u32,
    writes: u32,
    copy_in_place: u32,
    errors: u32,
    requests: u32,
    config_new: u32,
    /// Hashes, deduplicated when the window closes.
    keys: Vec<u64>,
    new_ext_keys: Vec<u64>,
    written_keys: Vec<u64>,
    ips: Vec<u64>,
    new_ips: Vec<u64>,
    new_principals: Vec<u64>,
    new_user_agents: Vec<u64>,
    config_kinds: Vec<ConfigKind>,
}

impl Acc {
    fn clear(&mut self) {
        self.ops = [0; 10];
        self.bytes_out = 0;
        self.bytes_in = 0;
        self.overwrites = 0;
        self.writes = 0;
        self.copy_in_place = 0;
        self.errors = 0;
        self.requests = 0;
        self.config_new = 0;
        self.keys.clear();
        self.new_ext_keys.clear();
        self.written_keys.clear();
        self.ips.clear();
        self.new_ips.clear();
        self.new_principals.clear();
        self.new_user_agents.clear();
        self.config_kinds.clear();
    }

    /// The feature values (`off_hours_ops` is filled in later from the profile).
    fn values(&mut self) -> [f64; N_FEATURES] {
        fn distinct(v: &mut Vec<u64>) -> f64 {
            if v.len() > 1 {
                v.sort_unstable();
                v.dedup();
            }
            v.len() as f64
        }
        let mut v = [0.0; N_FEATURES];
        for (j, &n) in self.ops.iter().enumerate() {
            v[j] = f64::from(n);
        }
        let writes = f64::from(self.writes);
        let new_ext = distinct(&mut self.new_ext_keys);
        let written = distinct(&mut self.written_keys);
        v[10] = self.bytes_out as f64;
        v[11] = self.bytes_in as f64;
        v[12] = distinct(&mut self.keys);
        v[13] = f64::from(self.overwrites);
        v[14] = if writes > 0.0 {
            f64::from(self.overwrites) / writes
        } else {
            0.0
        };
        v[15] = f64::from(self.copy_in_place);
        v[16] = new_ext;
        v[17] = if written > 0.0 {
            new_ext / written
        } else {
            0.0
        };
        v[18] = f64::from(self.errors);
        v[19] = if self.requests > 0 {
            f64::from(self.errors) / f64::from(self.requests)
        } else {
            0.0
        };
        v[20] = distinct(&mut self.ips);
        v[21] = distinct(&mut self.new_ips);
        v[22] = distinct(&mut self.new_principals);
        v[23] = distinct(&mut self.new_user_agents);
        v[25] = f64::from(self.config_new);
        v
    }
}

/// A closed subject-window: (window start, subject id, values, config kinds).
type ClosedRow = (i64, u32, [f64; N_FEATURES], Vec<ConfigKind>);

/// The open windows of one window length: one accumulator per active subject.
struct Windows {
    w_us: i64,
    /// The open window's start (`i64::MIN` before the first event).
    open: i64,
    /// Subject id → index into `accs` + 1 (0: not active in the open window).
    slot: Vec<u32>,
    /// The active subjects' ids, in order of first activity.
    active: Vec<u32>,
    accs: Vec<Acc>,
    rows: Vec<ClosedRow>,
}

impl Windows {
    fn new(window_secs: i64) -> Self {
        Windows {
            w_us: window_secs * 1_000_000,
            open: i64::MIN,
            slot: Vec::new(),
            active: Vec::new(),
            accs: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn close(&mut self) {
        for (k, &id) in self.active.iter().enumerate() {
            let acc = &mut self.accs[k];
            let v = acc.values();
            let kinds = std::mem::take(&mut acc.config_kinds);
            self.rows.push((self.open, id, v, kinds));
            acc.clear();
            self.slot[id as usize] = 0;
        }
        self.active.clear();
    }

    /// The accumulator of `id` in the window of `time_us` (closing the open window when the
    /// event falls after it; events come in time order).
    fn acc(&mut self, time_us: i64, id: u32) -> &mut Acc {
        let win = time_us.div_euclid(self.w_us) * self.w_us;
        if win != self.open {
            self.close();
            self.open = win;
        }
        let id = id as usize;
        if self.slot.len() <= id {
            self.slot.resize(id + 1, 0);
        }
        if self.slot[id] == 0 {
            self.active.push(id as u32);
            if self.accs.len() < self.active.len() {
                self.accs.push(Acc::default());
            }
            self.slot[id] = self.active.len() as u32;
        }
        &mut self.accs[self.slot[id] as usize - 1]
    }
}

/// Computes subject-window features for a batch of events, reading and (unless frozen)
/// updating `history`.
///
/// Batches must be given in time order (a window may span two batches: its rows then appear
/// once per batch; give whole windows for exact counts). Within a batch the order of events does
/// not matter: they are put in a canonical order first.
///
/// # Errors
/// An invalid [`FeatureConfig`].
///
/// # Guarantees
/// The same events in any order give the same rows, sorted by window start then subject.
pub fn extract(
    events: &[AccessEvent],
    history: &mut History,
    cfg: &FeatureConfig,
) -> Result<WindowFeatures> {
    let mut out = extract_windows(events, history, cfg, &[cfg.window_secs])?;
    Ok(out.pop().unwrap_or_default())
}

/// [`extract`] at several window lengths at once, from one stateful pass over the events (the
/// history sees every event once). The first length is the main window: the hour-of-week
/// profiles are recorded from its rows; the others read them. Returns one [`WindowFeatures`]
/// per length, in the order given.
///
/// # Errors
/// An invalid [`FeatureConfig`], or a window length outside 10 s to 1 day.
///
/// # Guarantees
/// As [`extract`], per window length.
pub fn extract_windows(
    events: &[AccessEvent],
    history: &mut History,
    cfg: &FeatureConfig,
    window_secs: &[i64],
) -> Result<Vec<WindowFeatures>> {
    cfg.check()?;
    for &w in window_secs {
        FeatureConfig {
            window_secs: w,
            ..cfg.clone()
        }
        .check()?;
    }
    let hashes: Vec<history::EventHashes> = events.iter().map(history::EventHashes::of).collect();
    // A canonical order: time, then bucket and key (so that a read and a write of a key in the
    // same second are seen read first), then the operation, then everything else. Compared as
    // 64-bit hashes of the strings: S3 logs have one-second times, so ties are common.
    let mut keyed: Vec<(i64, u64, u64, u8, u64, u32)> = events
        .iter()
        .zip(&hashes)
        .enumerate()
        .map(|(i, (e, h))| {
            let request = e.request_id.as_deref().map_or(0, |s| fx_hash(s.as_bytes()));
            let rest = history::mix(
                history::mix(h.principal, h.ip.unwrap_or(0)),
                history::mix(
                    history::mix(request, h.user_agent.unwrap_or(0)),
                    u64::from(e.status.unwrap_or(0)),
                ),
            );
            (
                e.time_us,
                h.bucket,
                h.key.unwrap_or(0),
                e.op as u8,
                rest,
                i as u32,
            )
        })
        .collect();
    keyed.sort_unstable();
    let mut interner = Interner::default();
    let mut windows: Vec<Windows> = window_secs.iter().map(|&w| Windows::new(w)).collect();
    for &(_, _, _, _, _, i) in &keyed {
        let (e, h) = (&events[i as usize], &hashes[i as usize]);
        let ids = interner.subjects(e, h);
        history.pass_time(e.time_us);
        let facts = history.observe_hashed(e, h, cfg.copy_pair_secs * 1_000_000);
        let op = OpClass::ALL.iter().position(|&k| k == e.op).unwrap_or(9);
        let error = matches!(e.status, Some(403 | 404 | 500..=599));
        let config = (e.op == OpClass::ConfigChange).then(|| e.config.unwrap_or(ConfigKind::Other));
        for w in windows.iter_mut() {
            for (k, &id) in ids.iter().enumerate() {
                let a = w.acc(e.time_us, id);
                a.ops[op] += 1;
                a.requests += 1;
                a.bytes_out = a.bytes_out.saturating_add(e.bytes_sent.unwrap_or(0));
                a.bytes_in = a.bytes_in.saturating_add(e.bytes_received.unwrap_or(0));
                a.errors += u32::from(error);
                if let Some(key) = facts.key {
                    a.keys.push(key);
                    if facts.write {
                        a.writes += 1;
                        a.written_keys.push(key);
                        a.overwrites += u32::from(facts.overwrite);
                        if facts.new_extension {
                            a.new_ext_keys.push(key);
                        }
                    }
                }
                a.copy_in_place += u32::from(facts.copy_in_place);
                if let Some(ip) = facts.ip {
                    // Most requests come from the subject's last IP: skip the repeat (the list
                    // is deduplicated when the window closes).
                    if a.ips.last() != Some(&ip) {
                        a.ips.push(ip);
                    }
                    if facts.new_ip[k] {
                        a.new_ips.push(ip);
                    }
                }
                if facts.new_ua[k]
                    && let Some(ua) = facts.ua
                {
                    a.new_user_agents.push(ua);
                }
                if facts.new_principal[k] {
                    a.new_principals.push(facts.principal);
                }
                if let Some(kind) = config {
                    a.config_new += u32::from(facts.config_new);
                    if !a.config_kinds.contains(&kind) {
                        a.config_kinds.push(kind);
                    }
                }
            }
        }
    }
    // Subjects in their display order, and their profile keys, once per call.
    let mut by_name: Vec<u32> = (0..interner.list.len() as u32).collect();
    by_name.sort_unstable_by(|&a, &b| interner.list[a as usize].cmp(&interner.list[b as usize]));
    let mut rank = vec![0u32; interner.list.len()];
    for (r, &id) in by_name.iter().enumerate() {
        rank[id as usize] = r as u32;
    }
    let names: Vec<String> = interner.list.iter().map(ToString::to_string).collect();
    let mut out = Vec::with_capacity(windows.len());
    for (wi, mut w) in windows.into_iter().enumerate() {
        w.close();
        let mut rows = std::mem::take(&mut w.rows);
        rows.sort_unstable_by_key(|r| (r.0, rank[r.1 as usize]));
        let mut f = WindowFeatures {
            window_secs: window_secs[wi],
            ..WindowFeatures::default()
        };
        f.subjects.reserve(rows.len());
        for (win, id, mut v, config_changed) in rows {
            let name = &names[id as usize];
            let ops: f64 = v[..10].iter().sum();
            let how = hour_of_week(win);
            let share = history.hour_share_of(name, how);
            v[OFF_HOURS] = ops * (1.0 - share.min(1.0));
            if wi == 0 {
                history.record_window(name, how);
            }
            f.flags.push(WindowFlags {
                principal_is_new: v[22] > 0.0,
                source_ip_is_new: v[21] > 0.0,
                config_changed,
            });
            f.subjects.push(interner.list[id as usize].clone());
            f.window_start_us.push(win);
            f.values.push(v);
        }
        out.push(f);
    }
    Ok(out)
}

/// The column of `off_hours_ops`.
const OFF_HOURS: usize = 24;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_of_week_starts_on_monday_midnight_utc() {
        // 2026-10-05 was a Monday.
        let monday = 20_731i64 * 86_400 * 1_000_000;
        assert_eq!(hour_of_week(monday), 0);
        assert_eq!(hour_of_week(monday + 3_600_000_000 * 25), 25);
        assert_eq!(hour_of_week(monday - 1), 167);
    }

    #[test]
    fn extension_is_taken_from_the_last_segment() {
        assert_eq!(extension("a/b.tar.gz"), "gz");
        assert_eq!(extension("a.b/c"), "");
        assert_eq!(extension("x.locked"), "locked");
        assert_eq!(extension("trailing."), "");
    }

    #[test]
    fn volume_features_share_one_family_and_independent_facts_have_their_own() {
        let fam = |n: &str| FEATURES[feature_index(n).unwrap_or(0)].family;
        assert_eq!(fam("ops_put"), fam("bytes_in"));
        assert_eq!(fam("ops_put"), fam("distinct_keys"));
        assert_eq!(fam("ops_get"), fam("bytes_out"));
        assert_eq!(fam("overwrites"), fam("overwrite_ratio"));
        assert_ne!(fam("overwrites"), fam("ops_put"));
        assert_ne!(fam("new_ips"), fam("new_user_agents"));
        assert_ne!(fam("ops_delete"), fam("distinct_keys"));
        assert!(FEATURES.iter().all(|f| (f.family as usize) < N_FAMILIES));
    }

    #[test]
    fn the_feature_table_has_unique_names() {
        let mut names = feature_names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), N_FEATURES);
        assert_eq!(feature_index("off_hours_ops"), Some(24));
        assert_eq!(feature_index("config_changes_new"), Some(25));
    }
}
