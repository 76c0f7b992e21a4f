//! The journal's retention in the service: at the first cycle and then once a day, ended
//! decisions older than `journal.keep_decisions` are forgotten
//! ([`crate::journal::retention`]), a bounded number per cycle, so that the first cycles on a
//! journal never pruned stay short.

use super::{Service, guardrail_memory_secs, now};

/// Decisions forgotten per cycle at most; more due: the next cycle goes on.
const PER_CYCLE: usize = 50_000;
/// How often the journal is pruned once it has caught up.
const EVERY_SECS: i64 = 86_400;
/// How long after a failed prune it is tried again.
const RETRY_SECS: i64 = 3_600;

impl Service {
    /// Forgets what retention allows, when it is due. The cut-off is never nearer than the
    /// decisions a start reads back (the guardrails' state, an operator's moves within
    /// `planner.operator_hold`). A failure is logged and counted and tried again in an hour:
    /// it loses nothing, the journal only grows a little longer.
    pub(super) fn prune_journal(&mut self) {
        let t = now();
        if t < self.next_prune {
            return;
        }
        let Some(keep) = self.config.journal_keep_secs else {
            self.next_prune = i64::MAX;
            return;
        };
        let keep = (keep as i64)
            .max(self.config.planner.operator_hold_secs as i64)
            .max(guardrail_memory_secs(self.planner.policy()));
        let before = policies::facts::format_utc(t.saturating_sub(keep));
        let r = tokio::task::block_in_place(|| self.executor.journal().prune(&before, PER_CYCLE));
        match r {
            Ok(p) => {
                if p.decisions + p.freezes > 0 {
                    tracing::info!(
                        target: "tierd::journal",
                        decisions = p.decisions,
                        moves = p.moves,
                        freezes = p.freezes,
                        before = %before,
                        more = p.more,
                        "forgot ended decisions older than journal.keep_decisions"
                    );
                }
                self.metrics.decisions_pruned(p.decisions);
                self.next_prune = if p.more { t } else { t + EVERY_SECS };
            }
            Err(e) => {
                tracing::warn!(
                    target: "tierd::journal",
                    "the journal's retention failed ({e}); it is tried again in an hour"
                );
                self.metrics.failure("journal");
                self.next_prune = t + RETRY_SECS;
            }
        }
    }

    /// `tierd_journal_bytes`: the journal file and its write-ahead log.
    pub(super) fn measure_journal(&self) {
        let bytes = crate::journal::journal_files(&self.config.journal_path)
            .iter()
            .take(2)
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        self.metrics.set_journal_bytes(bytes);
    }
}
