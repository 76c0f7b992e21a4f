//! The closed set of signals a rule's `when` may read: one table, the documented contract shared
//! with the models crate (which produces the behaviour signals) and the controller (which produces
//! the object signals from the catalog).
//!
//! Every numeric signal is held as an `f64` in a canonical unit: bytes for sizes, seconds for
//! durations, seconds since the Unix epoch (UTC) for timestamps, US dollars for money.

/// What kind of value a signal carries; decides which literals it may be compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// Bytes; literals need a unit: `512KiB`, `1MiB`, `1GB`, or `0`.
    Size,
    /// Seconds; literals need a unit: `90s`, `15m`, `12h`, `30d`, `2w`.
    Duration,
    /// A non-negative whole count; plain numbers.
    Count,
    /// An anomaly score in [0, 1]; plain numbers.
    Score,
    /// A probability in [0, 1]; plain numbers.
    Probability,
    /// US dollars; plain numbers, may be negative.
    Money,
    /// true or false; used bare (`incident_open`, `not incident_open`) or with `== true`.
    Bool,
    /// A tier name from the main configuration, quoted: `'cloud'`.
    Tier,
    /// Text, quoted: `'logs/'`; `matches` takes a glob.
    Text,
    /// The UTC hour, 0 to 23; plain numbers; `in 9..17` is a half-open window that may wrap midnight.
    Hour,
    /// The UTC day of the week: `mon` .. `sun`.
    Weekday,
    /// A UTC instant; literals are quoted dates: `'2026-01-31'` or `'2026-01-31T12:00:00Z'`.
    Timestamp,
}

impl Kind {
    /// How the kind is named in messages ("a duration").
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Size => "a size",
            Kind::Duration => "a duration",
            Kind::Count => "a count",
            Kind::Score => "a score",
            Kind::Probability => "a probability",
            Kind::Money => "an amount of money",
            Kind::Bool => "a boolean",
            Kind::Tier => "a tier",
            Kind::Text => "text",
            Kind::Hour => "an hour of the day",
            Kind::Weekday => "a day of the week",
            Kind::Timestamp => "a timestamp",
        }
    }

    /// True for kinds held as a number (compared with `<`, `>=`, ...).
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            Kind::Size
                | Kind::Duration
                | Kind::Count
                | Kind::Score
                | Kind::Probability
                | Kind::Money
                | Kind::Hour
                | Kind::Timestamp
        )
    }

    /// The inclusive range a literal of this kind must lie in, if bounded.
    pub fn range(self) -> (f64, f64) {
        match self {
            Kind::Score | Kind::Probability => (0.0, 1.0),
            Kind::Hour => (0.0, 23.0),
            Kind::Money => (f64::NEG_INFINITY, f64::INFINITY),
            Kind::Timestamp => (f64::NEG_INFINITY, f64::INFINITY),
            _ => (0.0, f64::INFINITY),
        }
    }
}

/// Who produces a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The catalog: one value per object.
    Object,
    /// The cost model: one value per object.
    Cost,
    /// The behaviour models (models crate): per principal and bucket, broadcast to the bucket's objects.
    Behaviour,
    /// The clock (event time in `tierd simulate`).
    Time,
}

/// Identifies a signal; the index into [`SIGNALS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SignalId {
    Size,
    Age,
    DaysSinceLastAccess,
    Reads1d,
    Reads7d,
    Reads30d,
    Reads90d,
    Writes1d,
    Writes7d,
    Writes30d,
    Writes90d,
    Tier,
    DaysOnTier,
    Bucket,
    Key,
    Prefix,
    Extension,
    ReadBackProbability,
    SavingsPerMonth,
    ReadBackCostPerMonth,
    PrincipalAnomaly,
    BucketAnomaly,
    IncidentOpen,
    PrincipalIsNew,
    SourceIpIsNew,
    BucketConfigChanged,
    LifecycleChanged,
    BucketPolicyChanged,
    VersioningChanged,
    ObjectLockChanged,
    HourOfDay,
    Weekday,
    Now,
}

/// One row of the signal table.
#[derive(Debug, Clone, Copy)]
pub struct Signal {
    pub id: SignalId,
    /// The name written in `when` expressions and in `[[tests]]` facts.
    pub name: &'static str,
    pub kind: Kind,
    pub source: Source,
    /// Unit and range in words, for `docs/policy-reference.md` and messages.
    pub unit: &'static str,
    pub doc: &'static str,
}

macro_rules! sig {
    ($id:ident, $name:literal, $kind:ident, $src:ident, $unit:literal, $doc:literal) => {
        Signal {
            id: SignalId::$id,
            name: $name,
            kind: Kind::$kind,
            source: Source::$src,
            unit: $unit,
            doc: $doc,
        }
    };
}

/// The signal table, in [`SignalId`] order.
pub const SIGNALS: &[Signal] = &[
    sig!(Size, "size", Size, Object, "bytes, >= 0", "Object size."),
    sig!(
        Age,
        "age",
        Duration,
        Object,
        "duration, >= 0",
        "Time since the object was created (last written)."
    ),
    sig!(
        DaysSinceLastAccess,
        "days_since_last_access",
        Duration,
        Object,
        "duration, >= 0",
        "Time since the last read or write of the object (its creation if never read). Despite the name it is a duration: write `90d`, not `90`."
    ),
    sig!(
        Reads1d,
        "reads_1d",
        Count,
        Object,
        "count, >= 0",
        "GET requests on the object over the last day."
    ),
    sig!(
        Reads7d,
        "reads_7d",
        Count,
        Object,
        "count, >= 0",
        "GET requests over the last 7 days."
    ),
    sig!(
        Reads30d,
        "reads_30d",
        Count,
        Object,
        "count, >= 0",
        "GET requests over the last 30 days."
    ),
    sig!(
        Reads90d,
        "reads_90d",
        Count,
        Object,
        "count, >= 0",
        "GET requests over the last 90 days."
    ),
    sig!(
        Writes1d,
        "writes_1d",
        Count,
        Object,
        "count, >= 0",
        "PUT/COPY/multipart writes over the last day."
    ),
    sig!(
        Writes7d,
        "writes_7d",
        Count,
        Object,
        "count, >= 0",
        "Writes over the last 7 days."
    ),
    sig!(
        Writes30d,
        "writes_30d",
        Count,
        Object,
        "count, >= 0",
        "Writes over the last 30 days."
    ),
    sig!(
        Writes90d,
        "writes_90d",
        Count,
        Object,
        "count, >= 0",
        "Writes over the last 90 days."
    ),
    sig!(
        Tier,
        "tier",
        Tier,
        Object,
        "a configured tier name",
        "The tier the object is on now."
    ),
    sig!(
        DaysOnTier,
        "days_on_tier",
        Duration,
        Object,
        "duration, >= 0",
        "Time since the object arrived on its current tier."
    ),
    sig!(
        Bucket,
        "bucket",
        Text,
        Object,
        "text",
        "The object's bucket."
    ),
    sig!(Key, "key", Text, Object, "text", "The full object key."),
    sig!(
        Prefix,
        "prefix",
        Text,
        Object,
        "text",
        "The key up to and including its last `/` (empty for a key without `/`)."
    ),
    sig!(
        Extension,
        "extension",
        Text,
        Object,
        "text, lower case, no dot",
        "The key's extension after the last `.` of its last segment, lower-cased (`gz` for `a/b.tar.GZ`); empty if none."
    ),
    sig!(
        ReadBackProbability,
        "read_back_probability",
        Probability,
        Cost,
        "probability, [0, 1]",
        "Estimated probability that the object is read at least once in the next 30 days (from its access history)."
    ),
    sig!(
        SavingsPerMonth,
        "savings_per_month",
        Money,
        Cost,
        "USD per month, any sign",
        "Storage cost saved per month by keeping the object on the cheapest configured tier instead of its current one, net of the move's one-off charges (reading it out, writing it in) spread over that tier's minimum storage duration, at least a month (negative when the move does not pay)."
    ),
    sig!(
        ReadBackCostPerMonth,
        "read_back_cost_per_month",
        Money,
        Cost,
        "USD per month, >= 0",
        "Expected retrieval + egress + request cost per month if the object lived on the cheapest tier: read_back_probability x the cost of one full read back."
    ),
    sig!(
        PrincipalAnomaly,
        "principal_anomaly",
        Score,
        Behaviour,
        "score, [0, 1]",
        "Anomaly score of the principal that last touched the object (highest over the principals active in the bucket's current window)."
    ),
    sig!(
        BucketAnomaly,
        "bucket_anomaly",
        Score,
        Behaviour,
        "score, [0, 1]",
        "Anomaly score of the object's bucket over the current window."
    ),
    sig!(
        IncidentOpen,
        "incident_open",
        Bool,
        Behaviour,
        "true/false",
        "An incident is open on a scope containing the object."
    ),
    sig!(
        PrincipalIsNew,
        "principal_is_new",
        Bool,
        Behaviour,
        "true/false",
        "A principal never seen before in the baseline is active in the bucket's current window."
    ),
    sig!(
        SourceIpIsNew,
        "source_ip_is_new",
        Bool,
        Behaviour,
        "true/false",
        "A source IP never seen before in the baseline is active in the bucket's current window."
    ),
    sig!(
        BucketConfigChanged,
        "bucket_config_changed",
        Bool,
        Behaviour,
        "true/false",
        "Any bucket configuration change in the current window (any of the four below, or another)."
    ),
    sig!(
        LifecycleChanged,
        "lifecycle_changed",
        Bool,
        Behaviour,
        "true/false",
        "The bucket's lifecycle configuration changed in the current window."
    ),
    sig!(
        BucketPolicyChanged,
        "bucket_policy_changed",
        Bool,
        Behaviour,
        "true/false",
        "The bucket policy (or ACL) changed in the current window."
    ),
    sig!(
        VersioningChanged,
        "versioning_changed",
        Bool,
        Behaviour,
        "true/false",
        "Bucket versioning was enabled or suspended in the current window."
    ),
    sig!(
        ObjectLockChanged,
        "object_lock_changed",
        Bool,
        Behaviour,
        "true/false",
        "The bucket's object-lock or retention configuration changed in the current window."
    ),
    sig!(
        HourOfDay,
        "hour_of_day",
        Hour,
        Time,
        "hour, 0..23 UTC",
        "The UTC hour of `now`."
    ),
    sig!(
        Weekday,
        "weekday",
        Weekday,
        Time,
        "mon..sun, UTC",
        "The UTC day of the week of `now`."
    ),
    sig!(
        Now,
        "now",
        Timestamp,
        Time,
        "UTC instant",
        "The evaluation time (event time in `tierd simulate`)."
    ),
];

impl SignalId {
    pub fn signal(self) -> &'static Signal {
        &SIGNALS[self as usize]
    }
    pub fn name(self) -> &'static str {
        self.signal().name
    }
    pub fn kind(self) -> Kind {
        self.signal().kind
    }
}

/// Finds a signal by its name.
pub fn lookup(name: &str) -> Option<&'static Signal> {
    SIGNALS.iter().find(|s| s.name == name)
}

/// Weekday names, Monday first (index 0 = Monday).
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidates close to `word`, nearest first (at most three): every "did you mean" in policy
/// files and in `tierd.toml` goes through here.
///
/// A candidate is close when its edit distance is at most a third of the word's length, and at
/// least 1: one typo in any word, two from six letters, three from nine. A fixed floor of 2 made
/// every two-letter word "close" to every other (`to` → `id`), which is a guess, not a typo. A
/// candidate that contains the whole word (three letters or more) is close too: `reads` →
/// `reads_7d`.
pub fn near<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let limit = near_limit(word);
    let mut found: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= limit || c.contains(word) && word.chars().count() >= 3)
        .collect();
    found.sort();
    found.into_iter().map(|(_, c)| c).take(3).collect()
}

/// The largest edit distance [`near`] accepts for `word`: max(1, chars / 3).
fn near_limit(word: &str) -> usize {
    (word.chars().count() / 3).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_table_is_in_id_order() {
        for (i, s) in SIGNALS.iter().enumerate() {
            assert_eq!(s.id as usize, i, "{} is out of order", s.name);
        }
    }

    #[test]
    fn near_suggests_the_closest_signal_first() {
        let names = SIGNALS.iter().map(|s| s.name);
        assert_eq!(
            near("days_since_last_acess", names.clone()),
            vec!["days_since_last_access"]
        );
        assert_eq!(near("red_7d", names)[0], "reads_7d");
    }

    #[test]
    fn near_allows_one_edit_per_three_letters_and_at_least_one() {
        assert_eq!(near_limit("to"), 1);
        assert_eq!(near_limit("sise"), 1);
        assert_eq!(near_limit("bukket"), 2);
        assert_eq!(near_limit("max_byte_per_sec"), 5);
        // Two edits on a two-letter word is a different word, not a typo.
        assert_eq!(near("to", ["id", "scope", "when"]), Vec::<&str>::new());
        assert_eq!(near("q", ["r"]), vec!["r"]);
        assert_eq!(near("bukket", ["bucket", "glob"]), vec!["bucket"]);
        assert_eq!(near("reads", ["reads_7d", "size"]), vec!["reads_7d"]);
    }
}
