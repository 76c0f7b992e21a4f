//! Failed moves wait before they are tried again, longer after each failure.
//!
//! A move can fail for a passing reason (the store was down) or for one that lasts until an
//! operator acts (the destination holds an older copy of a rewritten object; tierd never
//! overwrites). Without a wait, the second kind fails at every planning pass, each time with a
//! new failed decision. So the planner holds an object whose last move failed for
//! [`RETRY_FIRST_SECS`] after the first failure, twice as long after each further one, at most
//! [`RETRY_MAX_SECS`]. A successful move ends the wait, and so does anything that changed the
//! object's tier since the failure (an owner's write puts it back on the hot tier, an operator
//! moved it): the failure said nothing about the object as it is now.

use std::collections::HashMap;

/// The wait after a first failure.
pub const RETRY_FIRST_SECS: i64 = 3600;
/// The longest wait, however many failures.
pub const RETRY_MAX_SECS: i64 = 86_400;

/// The wait after `failures` consecutive failures (at least one).
pub fn backoff(failures: u32) -> i64 {
    let doublings = failures.saturating_sub(1).min(20);
    (RETRY_FIRST_SECS << doublings).min(RETRY_MAX_SECS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Failed {
    failures: u32,
    /// When the last failure happened.
    last: i64,
    /// The object's arrival on its tier when it failed: a different one now means the
    /// object changed since.
    tier_since: i64,
}

/// The consecutive move failures of each object (by planner row).
#[derive(Debug, Default)]
pub struct Retries {
    by_row: HashMap<u32, Failed>,
}

/// An object's failures, as they bear on its next move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: u32,
    pub last: i64,
    /// No move before this time.
    pub until: i64,
}

impl Retries {
    /// Records that a move of `row` failed at `at`, the object having arrived on its tier at
    /// `tier_since`; returns its failures now.
    pub fn failed(&mut self, row: usize, at: i64, tier_since: i64) -> Failures {
        let f = self.by_row.entry(row as u32).or_insert(Failed {
            failures: 0,
            last: at,
            tier_since,
        });
        if f.tier_since != tier_since {
            f.failures = 0;
            f.tier_since = tier_since;
        }
        f.failures = f.failures.saturating_add(1);
        f.last = f.last.max(at);
        failures(f)
    }

    /// Records that a move of `row` succeeded: its failures are over.
    pub fn succeeded(&mut self, row: usize) {
        self.by_row.remove(&(row as u32));
    }

    /// The failures of `row` since it arrived on its tier at `tier_since`, if any.
    pub fn of(&self, row: usize, tier_since: i64) -> Option<Failures> {
        self.by_row
            .get(&(row as u32))
            .filter(|f| f.tier_since == tier_since)
            .map(failures)
    }
}

fn failures(f: &Failed) -> Failures {
    Failures {
        count: f.failures,
        last: f.last,
        until: f.last.saturating_add(backoff(f.failures)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_from_an_hour_up_to_a_day() {
        let waits: Vec<i64> = (1..=7).map(backoff).collect();
        assert_eq!(waits, [3600, 7200, 14_400, 28_800, 57_600, 86_400, 86_400]);
        assert_eq!(backoff(u32::MAX), 86_400);
        assert_eq!(backoff(0), 3600);
    }

    #[test]
    fn failures_count_until_a_success_or_a_change_of_the_object() {
        let mut r = Retries::default();
        assert_eq!(r.of(4, 100), None);
        let f = r.failed(4, 1000, 100);
        assert_eq!((f.count, f.until), (1, 1000 + 3600));
        let f = r.failed(4, 5000, 100);
        assert_eq!((f.count, f.last, f.until), (2, 5000, 5000 + 7200));
        assert_eq!(r.of(4, 100), Some(f));
        // The object moved or was rewritten since (another arrival on its tier): the failures
        // no longer hold it, and a new failure counts from one.
        assert_eq!(r.of(4, 6000), None);
        assert_eq!(r.failed(4, 7000, 6000).count, 1);
        r.succeeded(4);
        assert_eq!(r.of(4, 6000), None);
    }
}
