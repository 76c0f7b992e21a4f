//! The facts a rule is evaluated against: one object ([`ObjectFacts`]), the behaviour around it
//! ([`BehaviourFacts`]), and the time. The derived signals (ages, prefix, extension, hour, weekday)
//! are computed by the functions here, which both the one-object and the columnar evaluator call,
//! so both see bit-identical values.

use crate::signals::SignalId;

/// What the catalog and the cost model know about one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectFacts {
    pub bucket: String,
    pub key: String,
    /// The tier the object is on now (a configured tier name).
    pub tier: String,
    /// Bytes.
    pub size: u64,
    /// When the object was created (last written), seconds since the Unix epoch, UTC.
    pub created: i64,
    /// When the object was last read or written, seconds since the Unix epoch.
    pub last_access: i64,
    /// When the object arrived on its current tier, seconds since the Unix epoch.
    pub tier_since: i64,
    /// GET counts over the last 1, 7, 30 and 90 days.
    pub reads: [u32; 4],
    /// Write counts over the last 1, 7, 30 and 90 days.
    pub writes: [u32; 4],
    /// Probability of a read in the next 30 days, [0, 1].
    pub read_back_probability: f32,
    /// USD per month saved on the cheapest tier; see the signal table.
    pub savings_per_month: f64,
    /// Expected USD per month of reading the object back from the cheapest tier.
    pub read_back_cost_per_month: f64,
}

/// What the behaviour models say about the object's bucket and principals right now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BehaviourFacts {
    pub principal_anomaly: f32,
    pub bucket_anomaly: f32,
    pub incident_open: bool,
    pub principal_is_new: bool,
    pub source_ip_is_new: bool,
    pub bucket_config_changed: bool,
    pub lifecycle_changed: bool,
    pub bucket_policy_changed: bool,
    pub versioning_changed: bool,
    pub object_lock_changed: bool,
}

impl BehaviourFacts {
    /// The value of a boolean behaviour signal.
    #[inline]
    pub fn flag(&self, sig: SignalId) -> bool {
        match sig {
            SignalId::IncidentOpen => self.incident_open,
            SignalId::PrincipalIsNew => self.principal_is_new,
            SignalId::SourceIpIsNew => self.source_ip_is_new,
            SignalId::BucketConfigChanged => {
                self.bucket_config_changed
                    || self.lifecycle_changed
                    || self.bucket_policy_changed
                    || self.versioning_changed
                    || self.object_lock_changed
            }
            SignalId::LifecycleChanged => self.lifecycle_changed,
            SignalId::BucketPolicyChanged => self.bucket_policy_changed,
            SignalId::VersioningChanged => self.versioning_changed,
            SignalId::ObjectLockChanged => self.object_lock_changed,
            _ => false,
        }
    }
}

/// The clock, with its derived calendar fields, computed once per evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeCtx {
    /// Seconds since the Unix epoch, UTC.
    pub now: i64,
    /// 0..=23.
    pub hour: u32,
    /// 0 = Monday .. 6 = Sunday.
    pub weekday: u32,
}

impl TimeCtx {
    pub fn at(now: i64) -> Self {
        let days = now.div_euclid(86_400);
        let secs = now.rem_euclid(86_400);
        // 1970-01-01 was a Thursday (index 3).
        TimeCtx {
            now,
            hour: (secs / 3600) as u32,
            weekday: (days + 3).rem_euclid(7) as u32,
        }
    }
}

/// Seconds elapsed from `then` to `now`, never negative.
#[inline(always)]
pub fn elapsed(now: i64, then: i64) -> f64 {
    now.saturating_sub(then).max(0) as f64
}

/// The key's prefix: up to and including its last `/`.
pub fn prefix_of(key: &str) -> &str {
    key.rfind('/').map_or("", |i| &key[..=i])
}

/// The key's extension, lower-cased, without the dot; empty if none.
pub fn extension_of(key: &str) -> String {
    let last = key.rsplit('/').next().unwrap_or(key);
    match last.rfind('.') {
        Some(i) if i + 1 < last.len() && i > 0 => last[i + 1..].to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The number of days in month `m` (1..=12) of year `y`, proleptic Gregorian; 0 for no such month.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    let leap = y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0);
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// Why `s`, written as a date (`YYYY-MM-DD`, perhaps followed by a time), is not one in the
/// calendar: `there is no month 13; months are 01 to 12` or `2026-02 has days 01 to 28`.
/// `None` when its date is in the calendar or it is not written as a date at all.
pub fn date_error(s: &str) -> Option<String> {
    let b = s.trim().as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = b.get(r)?;
        if t.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(t).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let days = days_in_month(i64::from(y), m);
    if days == 0 {
        Some(format!("there is no month {m}; months are 01 to 12"))
    } else if d == 0 || d > days {
        Some(format!("{y:04}-{m:02} has days 01 to {days}"))
    } else {
        None
    }
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]Z` (or with a space, or `+00:00`) into epoch seconds.
///
/// A date that is not in the calendar (`2026-02-30`, `2026-11-31`) is `None`, never rolled over
/// into the next month.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if t.bytes().all(|b| b.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if s.len() < 10 || s.as_bytes().get(4) != Some(&b'-') || s.as_bytes().get(7) != Some(&b'-') {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > i64::from(days_in_month(y, m as u32)) {
        return None;
    }
    let mut secs = days_from_civil(y, m as u32, d as u32) * 86_400;
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(secs);
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let rest = rest
        .strip_suffix(['Z', 'z'])
        .or_else(|| rest.strip_suffix("+00:00"))
        .unwrap_or(rest);
    let parts: Vec<&str> = rest.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let field = |t: &str, max: i64| -> Option<i64> {
        let v: f64 = t.parse().ok()?;
        (v >= 0.0 && v < max as f64).then_some(v.floor() as i64)
    };
    secs += field(parts[0], 24)? * 3600 + field(parts[1], 60)? * 60;
    if let Some(sec) = parts.get(2) {
        secs += field(sec, 61)?;
    }
    Some(secs)
}

/// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_round_trip_and_weekday_is_right() {
        let t = parse_utc("2026-11-29T10:11:12Z");
        assert_eq!(t.map(format_utc).as_deref(), Some("2026-11-29T10:11:12Z"));
        let ctx = TimeCtx::at(t.unwrap_or(0));
        assert_eq!((ctx.hour, ctx.weekday), (10, 6), "2026-11-29 is a Sunday");
        assert_eq!(parse_utc("2026-13-01"), None);
    }

    #[test]
    fn dates_that_are_not_in_the_calendar_are_refused_not_rolled_over() {
        assert_eq!(parse_utc("2026-02-30"), None);
        assert_eq!(parse_utc("2026-02-29"), None, "2026 is not a leap year");
        assert_eq!(parse_utc("2026-11-31"), None);
        assert_eq!(parse_utc("2026-04-31T00:00:00Z"), None);
        assert_eq!(parse_utc("2100-02-29"), None, "2100 is not a leap year");
        assert_eq!(
            parse_utc("2028-02-29").map(format_utc).as_deref(),
            Some("2028-02-29T00:00:00Z")
        );
        assert_eq!(
            parse_utc("2000-02-29").map(format_utc).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(
            parse_utc("2026-12-31T23:59:59Z").map(format_utc).as_deref(),
            Some("2026-12-31T23:59:59Z")
        );
        assert_eq!(days_in_month(2026, 13), 0);
    }

    #[test]
    fn a_date_error_says_which_part_of_the_date_is_not_in_the_calendar() {
        assert_eq!(
            date_error("2026-02-29").as_deref(),
            Some("2026-02 has days 01 to 28")
        );
        assert_eq!(
            date_error(" 2026-11-00T10:00:00Z").as_deref(),
            Some("2026-11 has days 01 to 30")
        );
        assert_eq!(
            date_error("2026-13-01").as_deref(),
            Some("there is no month 13; months are 01 to 12")
        );
        for fine_or_not_a_date in [
            "2028-02-29",
            "2026-11-30T25:00:00Z",
            "yesterday",
            "2026-1-1",
            "",
        ] {
            assert_eq!(
                date_error(fine_or_not_a_date),
                None,
                "{fine_or_not_a_date:?}"
            );
        }
    }

    #[test]
    fn prefix_and_extension_come_from_the_key() {
        assert_eq!(prefix_of("logs/2024/a.tar.GZ"), "logs/2024/");
        assert_eq!(extension_of("logs/2024/a.tar.GZ"), "gz");
        assert_eq!(extension_of("logs/.hidden"), "");
        assert_eq!(prefix_of("top"), "");
    }
}
