//! What recovery at start could not settle, retried while the service runs.
//!
//! Recovery at start finishes or undoes every move the last run left in flight. A move whose
//! store does not answer then (an outage, a restart of the store beside tierd's) stays in flight,
//! and so do incomplete multipart uploads whose abort failed and staging files that could not be
//! removed. The objects of such moves are not moved by anyone meanwhile, and the parts of the
//! uploads are billed. So the running service tries again: at the first cycle after
//! [`FIRST_RETRY_SECS`], then with the wait doubled after each try that left something, up to
//! [`MAX_RETRY_SECS`] (a store that stays down costs a few requests an hour, not one a cycle).
//! `/readyz` warns (`recovery`) and `tierd_recovery_pending` counts what is left meanwhile.
//!
//! A retry is recovery itself ([`recover::recover_settling`]): between two cycles no move of the
//! service is in flight, and the service holds the mover's lock, so what the journal shows in
//! flight is what the last run left.

use crate::decision::Action;
use crate::executor::recover::{self, RecoveryReport};

use super::Service;

/// The first retry's wait after the start (seconds).
pub(super) const FIRST_RETRY_SECS: i64 = 30;
/// The longest wait between two retries (seconds).
pub(super) const MAX_RETRY_SECS: i64 = 15 * 60;

/// What recovery left, and when it is tried again.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Pending {
    pub moves: u64,
    pub uploads: u64,
    pub staging_files: u64,
    /// When the next retry is due (unix seconds).
    next_try: i64,
    /// The wait after the next retry if it leaves something (seconds).
    wait: i64,
}

impl Pending {
    /// What `report` left at `now`; the first retry is due [`FIRST_RETRY_SECS`] later.
    pub(super) fn after(report: &RecoveryReport, now: i64) -> Pending {
        // The start counts as a try whose wait was the first one.
        let start = Pending {
            wait: FIRST_RETRY_SECS,
            ..Pending::default()
        };
        start.retried(report, now)
    }

    /// Anything left.
    pub(super) fn any(&self) -> bool {
        self.moves + self.uploads + self.staging_files > 0
    }

    /// A retry is due at `now`.
    pub(super) fn due(&self, now: i64) -> bool {
        self.any() && now >= self.next_try
    }

    /// The outcome of a retry at `now`: what it left, and the next wait (doubled).
    fn retried(&self, report: &RecoveryReport, now: i64) -> Pending {
        Pending {
            moves: report.pending,
            uploads: report.uploads_pending,
            staging_files: report.staging_pending,
            next_try: now + self.wait,
            wait: (self.wait * 2).min(MAX_RETRY_SECS),
        }
    }

    /// `/readyz`'s warning while something is left.
    pub(super) fn warning(&self) -> Option<String> {
        if !self.any() {
            return None;
        }
        let mut parts = Vec::new();
        for (n, one, many) in [
            (self.moves, "move", "moves"),
            (
                self.uploads,
                "incomplete multipart upload",
                "incomplete multipart uploads",
            ),
            (self.staging_files, "staging file", "staging files"),
        ] {
            match n {
                0 => {}
                1 => parts.push(format!("1 {one}")),
                n => parts.push(format!("{n} {many}")),
            }
        }
        Some(format!(
            "{} left by the last run wait for a store that did not answer; the service retries (the log says why: \"Cannot recover the move yet\")",
            parts.join(", ")
        ))
    }
}

impl Service {
    /// Says what recovery left (`/readyz`, `tierd_recovery_pending`).
    pub(super) fn show_recovery(&self) {
        let p = &self.recovery;
        self.warnings.set("recovery", p.warning());
        self.metrics
            .set_recovery_pending(p.moves, p.uploads, p.staging_files);
    }

    /// Retries what recovery left, when a retry is due: settles the decisions it can, and
    /// tells the planner where their objects are now.
    ///
    /// # Errors
    /// Journal errors (a store's error leaves the move for the next retry).
    pub(super) async fn retry_recovery(&mut self, now: i64) -> anyhow::Result<()> {
        if !self.recovery.due(now) || self.executor.stop_requested() {
            return Ok(());
        }
        let before = self.recovery.clone();
        tracing::info!(
            moves = before.moves,
            uploads = before.uploads,
            staging_files = before.staging_files,
            "retrying what recovery left in flight"
        );
        let recovered = recover::recover_settling(&self.executor).await?;
        let logged = self.log.write(&recovered.decisions);
        for d in &recovered.decisions {
            self.metrics.decision(d.action.as_str(), d.metric_state());
            if d.action == Action::Move
                && let (Some(bucket), Some(key)) = (d.bucket.as_deref(), d.key.as_deref())
            {
                // A move undone because its source was deleted: the catalog forgot the object.
                if !self.learn_location(bucket, key, now)?
                    && let Some(row) = self.planner.objects.row(bucket, key)
                {
                    self.planner.objects.gone(row);
                }
            }
        }
        self.recovery = before.retried(&recovered.report, now);
        if self.recovery.any() {
            tracing::warn!(
                moves = self.recovery.moves,
                uploads = self.recovery.uploads,
                staging_files = self.recovery.staging_files,
                retry_in_secs = before.wait,
                "recovery still waits for a store that does not answer"
            );
        } else {
            tracing::info!("everything the last run left in flight is recovered");
        }
        self.show_recovery();
        logged?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn left(moves: u64, uploads: u64) -> RecoveryReport {
        RecoveryReport {
            pending: moves,
            uploads_pending: uploads,
            ..RecoveryReport::default()
        }
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_the_cap() {
        let mut p = Pending::after(&left(2, 1), 1000);
        assert!(!p.due(1000 + FIRST_RETRY_SECS - 1));
        assert!(p.due(1000 + FIRST_RETRY_SECS));
        let mut t = 1000 + FIRST_RETRY_SECS;
        let mut waits = Vec::new();
        for _ in 0..8 {
            let q = p.retried(&left(1, 0), t);
            waits.push(q.next_try - t);
            t = q.next_try;
            p = q;
        }
        assert_eq!(waits, [60, 120, 240, 480, 900, 900, 900, 900]);
        assert!(p.any());
    }

    #[test]
    fn nothing_left_is_never_due_and_warns_of_nothing() {
        let p = Pending::after(&left(0, 0), 0);
        assert!(!p.due(i64::MAX));
        assert_eq!(p.warning(), None);
        let q = Pending::after(&left(2, 1), 0).retried(&left(0, 0), 100);
        assert!(!q.any());
        assert_eq!(q.warning(), None);
    }

    #[test]
    fn the_warning_counts_each_kind_left() {
        let p = Pending::after(&left(1, 2), 0);
        let w = p.warning().unwrap_or_default();
        assert!(
            w.starts_with("1 move, 2 incomplete multipart uploads left by the last run"),
            "{w}"
        );
    }
}
