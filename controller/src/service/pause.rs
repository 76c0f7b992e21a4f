//! The freeze of every bucket (`tierd freeze --all-buckets`) as the running service says it: a
//! `/readyz` warning (`frozen`) while it is open, and a log line at warn level at the cycle that
//! first sees it (at start, when it was open already) and at the cycle that sees it lifted.

use crate::decision::every_bucket_freeze_because;
use crate::journal::freezes::EVERY_BUCKET;
use crate::planner::Freeze;

use super::Service;

impl Service {
    /// Says whether every bucket is frozen, once per change: sets or clears the `/readyz`
    /// warning and logs the opening or the lift.
    ///
    /// # Errors
    /// Journal errors (reading the freeze's decision for its reason).
    pub(super) fn note_pause(&mut self) -> anyhow::Result<()> {
        let open: Option<Freeze> = self
            .planner
            .freezes()
            .find(|f| f.bucket == EVERY_BUCKET)
            .cloned();
        if open.as_ref().map(|f| &f.decision_id) == self.paused.as_ref() {
            return Ok(());
        }
        match open {
            Some(f) => {
                let since = policies::facts::format_utc(f.since);
                // (The journal's lock is let go at the end of the statement.)
                let reason = self.executor.journal().decision(&f.decision_id)?;
                let because = reason
                    .as_ref()
                    .and_then(|d| every_bucket_freeze_because(&d.reason))
                    .map_or_else(String::new, |r| format!(" ({r})"));
                tracing::warn!(
                    target: "tierd::incident",
                    decision = %f.decision_id,
                    since = %since,
                    "every bucket frozen: nothing is moved or deleted until `tierd unfreeze --all-buckets`; snapshots still run"
                );
                self.warnings.set(
                    "frozen",
                    Some(format!(
                        "every bucket since {since} by decision {}{because}: nothing is moved or deleted until `tierd unfreeze --all-buckets`",
                        f.decision_id
                    )),
                );
                self.paused = Some(f.decision_id);
            }
            None => {
                tracing::warn!(
                    target: "tierd::incident",
                    decision = self.paused.as_deref().unwrap_or("-"),
                    "the freeze of every bucket is lifted: moves resume"
                );
                self.warnings.set("frozen", None);
                self.paused = None;
            }
        }
        Ok(())
    }
}
