//! What feature extraction remembers across windows: the baseline's "seen" sets, the
//! hour-of-week profiles, and the live key state.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use super::{Subject, extension};
use crate::event::{AccessEvent, ConfigKind, OpClass};

/// A hasher for values that already are 64-bit hashes.
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8)) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashSet64 = HashSet<u64, BuildHasherDefault<IdHasher>>;
type HashMap64<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

const SEED: u64 = 0x517c_c1b7_2722_0a95;

/// A fast, stable 64-bit hash of bytes (FxHash-style with a final mix). Stable across runs and
/// builds, so hashed sets can be saved in model artifacts.
pub fn fx_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(SEED);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(SEED);
    }
    h = (h.rotate_left(5) ^ bytes.len() as u64).wrapping_mul(SEED);
    finalise(h)
}

/// splitmix64's finaliser: spreads the bits so that combined hashes do not collide.
fn finalise(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Combines two hashes (order matters).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    finalise((a.rotate_left(5) ^ b).wrapping_mul(SEED) ^ a)
}

/// A subject's activity by hour of the week: how many of its windows fell in each hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub counts: Vec<u32>,
    pub total: u32,
}

/// The state feature extraction keeps between batches.
///
/// While learning (not [`frozen`](History::freeze)), everything seen is added to the baseline
/// at the end of the day (UTC) it was first seen in: within that day it stays new, as it will
/// stay new all day once the history is frozen and scoring (a person working from a hotel is
/// "from a new IP" in every window of that day, in training as in scoring, so the detectors
/// and the calibration see benign novelty as often as scoring will). Once frozen, the baseline sets and profiles stay as they were at the end of training, so
/// "new" means new against the baseline. The key state (which keys exist) is always updated:
/// it is a fact about the bucket, not a baseline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    frozen: bool,
    /// (subject kind, subject, IP) triples seen, hashed.
    seen_ip: HashSet64,
    /// (subject kind, subject, user agent) triples seen, hashed.
    seen_ua: HashSet64,
    /// Principals seen anywhere, and (bucket, principal) pairs, hashed.
    seen_principal: HashSet64,
    seen_principal_in_bucket: HashSet64,
    /// (bucket, extension) pairs seen on written or read keys.
    seen_extension: HashSet64,
    /// (principal, bucket, configuration kind) triples seen.
    seen_config: HashSet64,
    /// Hour-of-week activity per subject (keyed by its display form), in key order so that a
    /// saved model is the same bytes for the same training.
    profiles: BTreeMap<String, Profile>,
    /// How many times each hour of the week went by while the history learned (from its first
    /// event to its last): 30 days hold some hours of the week four times and others five, so a
    /// subject's windows at an hour are compared with how often that hour occurred.
    #[serde(default)]
    hours_seen: Vec<u32>,
    /// The last hour (since the epoch) counted in `hours_seen`.
    #[serde(default)]
    last_hour: Option<i64>,
    /// Items first seen on the current day while learning, as (set, hash): added to their set
    /// when the day ends (or the history is frozen). Empty in a saved artifact.
    #[serde(skip)]
    pending: Vec<(Seen, u64)>,
    /// (bucket, key) pairs known to exist now.
    #[serde(skip)]
    keys: HashSet64,
    /// Per principal: the last copy source and destination (bucket+key hash, time µs).
    #[serde(skip)]
    last_copy_source: HashMap64<(u64, i64)>,
    #[serde(skip)]
    last_copy_dest: HashMap64<(u64, i64)>,
    /// Buckets (hashed) the frozen baseline never saw, learning now ([`History::learn_bucket`]).
    #[serde(skip)]
    learning_buckets: HashSet64,
    /// While frozen with buckets learning: the UTC day (since the epoch) of the last event, so
    /// that what they first saw joins the baseline when the day ends.
    #[serde(skip)]
    frozen_day: Option<i64>,
}

/// Which baseline set a pending item belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Ip,
    Ua,
    Principal,
    PrincipalInBucket,
    Extension,
    Config,
}

/// What the history says about one event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts {
    /// Hash of (bucket, key), when the event has a key.
    pub key: Option<u64>,
    pub write: bool,
    pub overwrite: bool,
    pub copy_in_place: bool,
    pub new_extension: bool,
    pub ip: Option<u64>,
    pub ua: Option<u64>,
    pub principal: u64,
    /// Per subject kind (principal, bucket, principal in bucket).
    pub new_ip: [bool; 3],
    pub new_ua: [bool; 3],
    pub new_principal: [bool; 3],
    pub config_new: bool,
}

impl History {
    /// A fresh, learning history.
    pub fn new() -> Self {
        History::default()
    }

    /// Stops adding to the baseline (sets and profiles); key state keeps being updated.
    pub fn freeze(&mut self) {
        self.merge_pending();
        self.frozen = true;
    }

    /// Lets the baseline learn again (a copy that keeps learning for a scheduled refit).
    pub fn unfreeze(&mut self) {
        self.frozen = false;
    }

    /// Adds the items first seen today to the baseline sets.
    fn merge_pending(&mut self) {
        for (set, h) in self.pending.drain(..) {
            let set = match set {
                Seen::Ip => &mut self.seen_ip,
                Seen::Ua => &mut self.seen_ua,
                Seen::Principal => &mut self.seen_principal,
                Seen::PrincipalInBucket => &mut self.seen_principal_in_bucket,
                Seen::Extension => &mut self.seen_extension,
                Seen::Config => &mut self.seen_config,
            };
            set.insert(h);
        }
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// Whether the baseline holds `bucket`: it had windows while the history learned.
    pub fn knows_bucket(&self, bucket: &str) -> bool {
        self.profiles.contains_key(&format!("bucket:{bucket}"))
    }

    /// Lets a frozen baseline learn one bucket it never saw, as a learning history would: its
    /// principals, their IPs and user agents in it, its extensions and configuration kinds join
    /// the baseline at the end of the day they were first seen. What is not the bucket's own
    /// (principals anywhere, a principal's IPs over all buckets, hour-of-week profiles) stays
    /// frozen. [`History::stop_learning_bucket`] ends it.
    pub fn learn_bucket(&mut self, bucket: &str) {
        self.learning_buckets.insert(fx_hash(bucket.as_bytes()));
    }

    /// Ends [`History::learn_bucket`]: what it saw so far joins the baseline.
    pub fn stop_learning_bucket(&mut self, bucket: &str) {
        self.learning_buckets.remove(&fx_hash(bucket.as_bytes()));
        if self.frozen {
            self.merge_pending();
        }
    }

    /// Number of keys known to exist.
    pub fn known_keys(&self) -> usize {
        self.keys.len()
    }

    /// Distinct principals in the baseline.
    pub fn known_principals(&self) -> usize {
        let mut today: Vec<u64> = self
            .pending
            .iter()
            .filter(|p| p.0 == Seen::Principal)
            .map(|p| p.1)
            .collect();
        today.sort_unstable();
        today.dedup();
        self.seen_principal.len() + today.len()
    }

    /// Drops the live key and copy state (keeps the baseline): what a history loaded from an
    /// artifact looks like.
    pub fn without_live_state(&self) -> History {
        History {
            keys: HashSet64::default(),
            last_copy_source: HashMap64::default(),
            last_copy_dest: HashMap64::default(),
            ..self.clone()
        }
    }

    /// Whether `h` is outside the baseline `set`; while learning (or, frozen, for a bucket
    /// being learned: `bucket_learns`), it joins the set when the day ends.
    fn learn(&mut self, which: Seen, h: u64) -> bool {
        self.learn_if(which, h, false)
    }

    fn learn_if(&mut self, which: Seen, h: u64, bucket_learns: bool) -> bool {
        let set = match which {
            Seen::Ip => &self.seen_ip,
            Seen::Ua => &self.seen_ua,
            Seen::Principal => &self.seen_principal,
            Seen::PrincipalInBucket => &self.seen_principal_in_bucket,
            Seen::Extension => &self.seen_extension,
            Seen::Config => &self.seen_config,
        };
        if set.contains(&h) {
            return false;
        }
        if !self.frozen || bucket_learns {
            self.pending.push((which, h));
        }
        true
    }

    /// Looks up (and records) one event, whose strings are already hashed. Events must come
    /// in time order.
    pub(crate) fn observe_hashed(
        &mut self,
        e: &AccessEvent,
        h: &EventHashes,
        copy_pair_us: i64,
    ) -> Facts {
        let (bucket, principal) = (h.bucket, h.principal);
        let subjects = [
            mix(1, principal),
            mix(2, bucket),
            mix(3, mix(principal, bucket)),
        ];
        let mut f = Facts {
            principal,
            ..Facts::default()
        };
        // A bucket the frozen baseline is learning: its own facts are learned (see
        // `learn_bucket`).
        let own = self.frozen && self.learning_buckets.contains(&bucket);
        let ok = matches!(e.status, None | Some(200..=299));
        if let (Some(key), Some(key_hash)) = (e.key.as_deref(), h.key) {
            let bk = mix(bucket, key_hash);
            f.key = Some(bk);
            let complete_multipart = e.op == OpClass::Multipart
                && (e.operation.ends_with("POST.UPLOAD")
                    || e.operation.contains("CompleteMultipartUpload"));
            f.write =
                ok && (matches!(e.op, OpClass::Put | OpClass::CopyDest) || complete_multipart);
            match e.op {
                _ if f.write => {
                    f.overwrite = !self.keys.insert(bk);
                    let ext = mix(bucket, fx_hash(extension(key).as_bytes()));
                    // Only a key being created can bring a new extension into the bucket: an
                    // overwrite keeps a name the bucket already held (a key renamed by an
                    // incident and later rewritten by its usual writer is not new again).
                    let new = self.learn_if(Seen::Extension, ext, own);
                    f.new_extension = new && !f.overwrite;
                }
                OpClass::Delete if ok => {
                    self.keys.remove(&bk);
                }
                OpClass::Get | OpClass::Head | OpClass::CopySource if ok => {
                    // A successful read proves the key exists (it may predate the logs).
                    self.keys.insert(bk);
                    self.learn_if(
                        Seen::Extension,
                        mix(bucket, fx_hash(extension(key).as_bytes())),
                        own,
                    );
                }
                _ => {}
            }
            if e.op == OpClass::CopyDest || e.op == OpClass::CopySource {
                let (mine, other) = if e.op == OpClass::CopyDest {
                    (&mut self.last_copy_dest, &self.last_copy_source)
                } else {
                    (&mut self.last_copy_source, &self.last_copy_dest)
                };
                let paired = other
                    .get(&principal)
                    .is_some_and(|&(k, t)| k == bk && (e.time_us - t).abs() <= copy_pair_us);
                f.copy_in_place = paired || (e.op == OpClass::CopyDest && e.sse_customer);
                mine.insert(principal, (bk, e.time_us));
            }
        }
        if let Some(ip) = h.ip {
            f.ip = Some(ip);
            for (k, s) in subjects.iter().enumerate() {
                // k = 0: the principal's own subject, over all buckets: not the bucket's.
                f.new_ip[k] = self.learn_if(Seen::Ip, mix(*s, ip), own && k > 0);
            }
        }
        if let Some(ua) = h.user_agent {
            f.ua = Some(ua);
            for (k, s) in subjects.iter().enumerate() {
                f.new_ua[k] = self.learn_if(Seen::Ua, mix(*s, ua), own && k > 0);
            }
        }
        let new_global = self.learn(Seen::Principal, principal);
        let new_in_bucket = self.learn_if(Seen::PrincipalInBucket, mix(bucket, principal), own);
        f.new_principal = [new_global, new_in_bucket, new_in_bucket];
        // For a principal (or principal-in-bucket) subject never seen before, every IP and user
        // agent is new by definition: that is one fact, counted in new_principals, not three.
        // The same holds for a bucket: a principal new in the bucket brings its IP and user
        // agent with it (a person's first day in a bucket is not three independent surprises).
        for k in 0..3 {
            if f.new_principal[k] {
                f.new_ip[k] = false;
                f.new_ua[k] = false;
            }
        }
        if e.op == OpClass::ConfigChange {
            let kind = e.config.unwrap_or(ConfigKind::Other) as u64;
            f.config_new = self.learn_if(Seen::Config, mix(mix(principal, bucket), kind), own);
        }
        f
    }

    /// How usual hour-of-week `how` is for `subject`: the share of its baseline windows in that
    /// hour times 168 (1 = as often as the average hour), smoothed so that a subject with little
    /// history looks usual everywhere.
    pub fn hour_share(&self, subject: &Subject, how: usize) -> f64 {
        self.hour_share_of(&subject.to_string(), how)
    }

    /// [`History::hour_share`] by the subject's display form.
    pub(crate) fn hour_share_of(&self, subject: &str, how: usize) -> f64 {
        const PRIOR: f64 = 0.5;
        let seen_total: u32 = self.hours_seen.iter().sum();
        match self.profiles.get(subject) {
            Some(p) if seen_total > 0 => {
                // Windows at this hour of the week against what the subject's average rate per
                // hour would give in as many occurrences of the hour.
                let c = p.counts.get(how).copied().unwrap_or(0) as f64;
                let seen = self.hours_seen.get(how).copied().unwrap_or(0) as f64;
                let expected = seen * p.total as f64 / seen_total as f64;
                (c + PRIOR) / (expected + PRIOR)
            }
            Some(p) => {
                let c = p.counts.get(how).copied().unwrap_or(0) as f64;
                (c + PRIOR) * 168.0 / (p.total as f64 + 168.0 * PRIOR)
            }
            None => 1.0,
        }
    }

    /// Counts the hours of the week that went by up to `time_us` (while learning).
    pub(crate) fn pass_time(&mut self, time_us: i64) {
        let hour = time_us.div_euclid(3_600_000_000);
        if self.frozen {
            // Only buckets being learned add to a frozen baseline: at the end of the day.
            let day = hour.div_euclid(24);
            if self.frozen_day.is_some_and(|d| d < day) {
                self.merge_pending();
            }
            self.frozen_day = Some(day);
            return;
        }
        if self.hours_seen.len() != 168 {
            self.hours_seen = vec![0; 168];
        }
        let from = match self.last_hour {
            Some(last) if hour <= last => return,
            Some(last) => last + 1,
            None => hour,
        };
        // A new day: what was first seen on the previous one joins the baseline.
        if self
            .last_hour
            .is_some_and(|last| last.div_euclid(24) != hour.div_euclid(24))
        {
            self.merge_pending();
        }
        // Whole weeks at once, then the remaining hours one by one.
        let weeks = (hour - from + 1) / 168;
        if weeks > 0 {
            for c in self.hours_seen.iter_mut() {
                *c = c.saturating_add(weeks as u32);
            }
        }
        for h in from + weeks * 168..=hour {
            self.hours_seen[super::hour_of_week(h * 3_600_000_000)] += 1;
        }
        self.last_hour = Some(hour);
    }

    /// Records that `subject` was active in hour-of-week `how` (unless frozen).
    pub(crate) fn record_window(&mut self, subject: &str, how: usize) {
        if self.frozen {
            return;
        }
        // Looked up by &str first, so that only a subject's first window allocates its key.
        if !self.profiles.contains_key(subject) {
            self.profiles.insert(
                subject.to_owned(),
                Profile {
                    counts: vec![0; 168],
                    total: 0,
                },
            );
        }
        if let Some(p) = self.profiles.get_mut(subject)
            && let Some(c) = p.counts.get_mut(how)
        {
            *c += 1;
            p.total += 1;
        }
    }
}

/// The 64-bit hashes of an event's strings, computed once per event.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct EventHashes {
    pub bucket: u64,
    /// The principal (`anonymous` when there is none).
    pub principal: u64,
    pub key: Option<u64>,
    pub ip: Option<u64>,
    pub user_agent: Option<u64>,
}

impl EventHashes {
    pub(crate) fn of(e: &AccessEvent) -> Self {
        let opt = |s: &Option<String>| s.as_deref().map(|s| fx_hash(s.as_bytes()));
        EventHashes {
            bucket: fx_hash(e.bucket.as_bytes()),
            principal: fx_hash(e.principal.as_deref().unwrap_or("anonymous").as_bytes()),
            key: opt(&e.key),
            ip: opt(&e.source_ip),
            user_agent: opt(&e.user_agent),
        }
    }
}
