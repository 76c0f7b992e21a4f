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
    pub doc: &'static str,
}

macro_rules! feat {
    ($name:literal, $unit:literal, $rare:literal, $doc:literal) => {
        FeatureInfo {
            name: $name,
            unit: $unit,
            rare: $rare,
            weight: 1.0,
            doc: $doc,
        }
    };
    ($name:literal, $unit:literal, $rare:literal, $weight:literal, $doc:literal) => {
        FeatureInfo {
            name: $name,
            unit: $unit,
            rare: $rare,
            weight: $weight,
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

/// Per-event columns of the stateful pass.
#[derive(Default)]
struct EventColumns {
    win: Vec<i64>,
    b_id: Vec<u32>,
    p_id: Vec<u32>,
    pb_id: Vec<u32>,
    op: Vec<u32>,
    bytes_out: Vec<u64>,
    bytes_in: Vec<u64>,
    key: Vec<Option<u64>>,
    overwrite: Vec<u32>,
    write: Vec<u32>,
    copy_in_place: Vec<u32>,
    new_ext_key: Vec<Option<u64>>,
    written_key: Vec<Option<u64>>,
    error: Vec<u32>,
    ip: Vec<Option<u64>>,
    new_ip: [Vec<Option<u64>>; 3],
    new_ua: [Vec<Option<u64>>; 3],
    new_principal: [Vec<Option<u64>>; 3],
    config: Vec<u32>,
    config_new: Vec<u32>,
}

/// Interned subjects of one call.
#[derive(Default)]
struct Interner {
    /// Keyed by a 64-bit hash of the subject (kind, bucket, principal), so that looking a
    /// subject up allocates nothing.
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
}

fn kind_index(kind: SubjectKind) -> usize {
    match kind {
        SubjectKind::Principal => 0,
        SubjectKind::Bucket => 1,
        SubjectKind::PrincipalInBucket => 2,
    }
}

fn extension(key: &str) -> &str {
    let last = key.rsplit('/').next().unwrap_or(key);
    match last.rfind('.') {
        Some(i) if i + 1 < last.len() => &last[i + 1..],
        _ => "",
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
/// An invalid [`FeatureConfig`], or a polars error.
///
/// # Guarantees
/// The same events in any order give the same rows, sorted by window start then subject.
pub fn extract(
    events: &[AccessEvent],
    history: &mut History,
    cfg: &FeatureConfig,
) -> Result<WindowFeatures> {
    cfg.check()?;
    let w_us = cfg.window_secs * 1_000_000;
    // A canonical order: time, then bucket and key (so that a read and a write of a key in the
    // same second are seen read first), then the operation, then everything else. Compared as
    // 64-bit hashes of the strings: S3 logs have one-second times, so ties are common.
    let opt = |s: &Option<String>| s.as_deref().map_or(0, |s| fx_hash(s.as_bytes()));
    let mut keyed: Vec<(i64, u64, u64, u8, u64, u32)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let rest = history::mix(
                history::mix(opt(&e.principal), opt(&e.source_ip)),
                history::mix(
                    history::mix(opt(&e.request_id), opt(&e.user_agent)),
                    u64::from(e.status.unwrap_or(0)),
                ),
            );
            (
                e.time_us,
                fx_hash(e.bucket.as_bytes()),
                opt(&e.key),
                e.op as u8,
                rest,
                i as u32,
            )
        })
        .collect();
    keyed.sort_unstable();
    let order: Vec<usize> = keyed.into_iter().map(|k| k.5 as usize).collect();
    let mut interner = Interner::default();
    let mut c = EventColumns::default();
    let mut config_by_window: HashMap<(u32, i64), Vec<ConfigKind>> = HashMap::new();
    let n = events.len();
    c.win.reserve(n);
    for &i in &order {
        let e = &events[i];
        let win = e.time_us.div_euclid(w_us) * w_us;
        let bh = fx_hash(e.bucket.as_bytes());
        let ph = fx_hash(e.principal.as_deref().unwrap_or("anonymous").as_bytes());
        let b_id = interner.id(history::mix(2, bh), || Subject {
            kind: SubjectKind::Bucket,
            bucket: Some(e.bucket.clone()),
            principal: None,
        });
        let p_id = interner.id(history::mix(1, ph), || Subject {
            kind: SubjectKind::Principal,
            bucket: None,
            principal: e.principal.clone(),
        });
        let pb_id = interner.id(history::mix(3, history::mix(ph, bh)), || Subject {
            kind: SubjectKind::PrincipalInBucket,
            bucket: Some(e.bucket.clone()),
            principal: e.principal.clone(),
        });
        let facts = history.observe(e, cfg.copy_pair_secs * 1_000_000);
        c.win.push(win);
        c.b_id.push(b_id);
        c.p_id.push(p_id);
        c.pb_id.push(pb_id);
        c.op.push(OpClass::ALL.iter().position(|&k| k == e.op).unwrap_or(9) as u32);
        c.bytes_out.push(e.bytes_sent.unwrap_or(0));
        c.bytes_in.push(e.bytes_received.unwrap_or(0));
        c.key.push(facts.key);
        c.overwrite.push(u32::from(facts.overwrite));
        c.write.push(u32::from(facts.write));
        c.copy_in_place.push(u32::from(facts.copy_in_place));
        c.new_ext_key
            .push(if facts.new_extension { facts.key } else { None });
        c.written_key
            .push(if facts.write { facts.key } else { None });
        c.error
            .push(u32::from(matches!(e.status, Some(403 | 404 | 500..=599))));
        c.ip.push(facts.ip);
        for k in 0..3 {
            c.new_ip[k].push(if facts.new_ip[k] { facts.ip } else { None });
            c.new_ua[k].push(if facts.new_ua[k] { facts.ua } else { None });
            c.new_principal[k].push(if facts.new_principal[k] {
                Some(facts.principal)
            } else {
                None
            });
        }
        let is_config = e.op == OpClass::ConfigChange;
        c.config.push(u32::from(is_config));
        c.config_new.push(u32::from(facts.config_new));
        if is_config {
            let kind = e.config.unwrap_or(ConfigKind::Other);
            for id in [b_id, p_id, pb_id] {
                let v = config_by_window.entry((id, win)).or_default();
                if !v.contains(&kind) {
                    v.push(kind);
                }
            }
        }
    }
    let mut out = WindowFeatures {
        window_secs: cfg.window_secs,
        ..WindowFeatures::default()
    };
    if n == 0 {
        return Ok(out);
    }
    let df = event_frame(c)?;
    let mut rows: Vec<(i64, u32, [f64; N_FEATURES], bool, bool)> = Vec::new();
    for kind in SubjectKind::ALL {
        let k = kind_index(kind);
        let id_col = ["p_id", "b_id", "pb_id"][k];
        let agg = df
            .clone()
            .lazy()
            .group_by([col(id_col).alias("id"), col("win")])
            .agg(aggregations(k))
            .collect()?;
        read_rows(&agg, &mut rows)?;
    }
    rows.sort_unstable_by(|a, b| {
        (a.0, &interner.list[a.1 as usize]).cmp(&(b.0, &interner.list[b.1 as usize]))
    });
    for (win, id, mut v, new_p, new_ip) in rows {
        let subject = interner.list[id as usize].clone();
        let ops: f64 = v[..10].iter().sum();
        let share = history.hour_share(&subject, hour_of_week(win));
        v[feature_index("off_hours_ops").unwrap_or(24)] = ops * (1.0 - share.min(1.0));
        history.record_window(&subject, hour_of_week(win));
        out.flags.push(WindowFlags {
            principal_is_new: new_p,
            source_ip_is_new: new_ip,
            config_changed: config_by_window.remove(&(id, win)).unwrap_or_default(),
        });
        out.subjects.push(subject);
        out.window_start_us.push(win);
        out.values.push(v);
    }
    Ok(out)
}

fn event_frame(c: EventColumns) -> Result<DataFrame> {
    let n = c.win.len();
    let [nip0, nip1, nip2] = c.new_ip;
    let [nua0, nua1, nua2] = c.new_ua;
    let [npr0, npr1, npr2] = c.new_principal;
    let columns = vec![
        Column::new("win".into(), c.win),
        Column::new("b_id".into(), c.b_id),
        Column::new("p_id".into(), c.p_id),
        Column::new("pb_id".into(), c.pb_id),
        Column::new("op".into(), c.op),
        Column::new("bytes_out".into(), c.bytes_out),
        Column::new("bytes_in".into(), c.bytes_in),
        Column::new("key".into(), c.key),
        Column::new("overwrite".into(), c.overwrite),
        Column::new("write".into(), c.write),
        Column::new("copy_in_place".into(), c.copy_in_place),
        Column::new("new_ext_key".into(), c.new_ext_key),
        Column::new("written_key".into(), c.written_key),
        Column::new("error".into(), c.error),
        Column::new("ip".into(), c.ip),
        Column::new("new_ip_0".into(), nip0),
        Column::new("new_ip_1".into(), nip1),
        Column::new("new_ip_2".into(), nip2),
        Column::new("new_ua_0".into(), nua0),
        Column::new("new_ua_1".into(), nua1),
        Column::new("new_ua_2".into(), nua2),
        Column::new("new_pr_0".into(), npr0),
        Column::new("new_pr_1".into(), npr1),
        Column::new("new_pr_2".into(), npr2),
        Column::new("config".into(), c.config),
        Column::new("config_new".into(), c.config_new),
    ];
    Ok(DataFrame::new(n, columns)?)
}

/// The aggregations for subject kind `k`, in the order [`read_rows`] reads them.
fn aggregations(k: usize) -> Vec<Expr> {
    let distinct = |name: &str| col(name).drop_nulls().n_unique().cast(DataType::Float64);
    let sum = |name: &str| col(name).sum().cast(DataType::Float64);
    let mut v: Vec<Expr> = (0..10u32)
        .map(|op| {
            col("op")
                .eq(lit(op))
                .cast(DataType::Float64)
                .sum()
                .alias(format!("op{op}"))
        })
        .collect();
    v.extend([
        sum("bytes_out").alias("f_bytes_out"),
        sum("bytes_in").alias("f_bytes_in"),
        distinct("key").alias("f_keys"),
        sum("overwrite").alias("f_overwrite"),
        sum("write").alias("f_write"),
        sum("copy_in_place").alias("f_cip"),
        distinct("new_ext_key").alias("f_new_ext"),
        distinct("written_key").alias("f_written"),
        sum("error").alias("f_error"),
        len().cast(DataType::Float64).alias("f_len"),
        distinct("ip").alias("f_ips"),
        distinct(&format!("new_ip_{k}")).alias("f_new_ips"),
        distinct(&format!("new_pr_{k}")).alias("f_new_pr"),
        distinct(&format!("new_ua_{k}")).alias("f_new_ua"),
        sum("config_new").alias("f_config_new"),
    ]);
    v
}

fn f64_col<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Float64Chunked> {
    Ok(df.column(name)?.f64()?)
}

fn read_rows(
    df: &DataFrame,
    rows: &mut Vec<(i64, u32, [f64; N_FEATURES], bool, bool)>,
) -> Result<()> {
    let id = df.column("id")?.u32()?;
    let win = df.column("win")?.i64()?;
    let ops: Vec<&Float64Chunked> = (0..10)
        .map(|op| f64_col(df, &format!("op{op}")))
        .collect::<Result<_>>()?;
    let g = |name: &str| f64_col(df, name);
    let (bo, bi, keys, ow, wr, cip, nx, wk, er, ln, ips, nip, npr, nua, cn) = (
        g("f_bytes_out")?,
        g("f_bytes_in")?,
        g("f_keys")?,
        g("f_overwrite")?,
        g("f_write")?,
        g("f_cip")?,
        g("f_new_ext")?,
        g("f_written")?,
        g("f_error")?,
        g("f_len")?,
        g("f_ips")?,
        g("f_new_ips")?,
        g("f_new_pr")?,
        g("f_new_ua")?,
        g("f_config_new")?,
    );
    let at = |c: &Float64Chunked, i: usize| c.get(i).unwrap_or(0.0);
    for i in 0..df.height() {
        let (Some(idv), Some(w)) = (id.get(i), win.get(i)) else {
            return Err(Error::Schema(
                "feature aggregation produced a null subject or window".into(),
            ));
        };
        let mut v = [0.0; N_FEATURES];
        for (j, c) in ops.iter().enumerate() {
            v[j] = at(c, i);
        }
        let writes = at(wr, i);
        let written = at(wk, i);
        v[10] = at(bo, i);
        v[11] = at(bi, i);
        v[12] = at(keys, i);
        v[13] = at(ow, i);
        v[14] = if writes > 0.0 {
            at(ow, i) / writes
        } else {
            0.0
        };
        v[15] = at(cip, i);
        v[16] = at(nx, i);
        v[17] = if written > 0.0 {
            at(nx, i) / written
        } else {
            0.0
        };
        v[18] = at(er, i);
        v[19] = if at(ln, i) > 0.0 {
            at(er, i) / at(ln, i)
        } else {
            0.0
        };
        v[20] = at(ips, i);
        v[21] = at(nip, i);
        v[22] = at(npr, i);
        v[23] = at(nua, i);
        // v[24] (off_hours_ops) is filled from the hour-of-week profile afterwards.
        v[25] = at(cn, i);
        rows.push((w, idv, v, v[22] > 0.0, v[21] > 0.0));
    }
    Ok(())
}

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
    fn the_feature_table_has_unique_names() {
        let mut names = feature_names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), N_FEATURES);
        assert_eq!(feature_index("off_hours_ops"), Some(24));
        assert_eq!(feature_index("config_changes_new"), Some(25));
    }
}
