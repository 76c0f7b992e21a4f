//! `tierd run`: the service. One cycle every `service.ingest_interval`:
//!
//! 1. **ingest** new log lines from every source (checkpointed in the journal) and the events
//!    the MinIO webhook received;
//! 2. **score** them with the behaviour model (learning first when no trained model is named),
//!    which opens and closes incidents;
//! 3. **plan** with the same planner `tierd simulate` replays;
//! 4. **record** every decision in the journal and the decision log, then **execute** moves
//!    (copy, verify, delete; journalled) and snapshots, and record how each ended.
//!
//! Signals: SIGTERM and SIGINT stop the service after the current step, waiting at most
//! `service.shutdown_timeout` (a move cut short is finished or undone by recovery at the next
//! start); a second one ends the process at once (exit code 130 for SIGINT, 143 for SIGTERM),
//! leaving what was in flight to recovery as a crash does; SIGHUP reloads the policy files (a set with errors is refused and the last good one
//! kept) and reopens the decision log. A change to a policy file is picked up the same way.
//!
//! # Layout
//! - [`decision_log`]: the JSON-lines decision log (file and/or stderr), reopenable.
//! - [`demo`]: the embedded demo's objects.
//! - `endpoint`: the HTTP endpoint, listening from before recovery.
//! - `pause`: what the service says while every bucket is frozen (`tierd freeze --all-buckets`).
//! - `run`: `tierd run`'s signals and loop of cycles.

mod config_watch;
pub mod decision_log;
pub mod demo;
mod endpoint;
mod listing;
pub mod owner;
mod pause;
mod recovery;
mod retention;
mod run;

pub use run::{catch_early_sighup, run};

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use models::AccessEvent;
use tokio::signal::unix::{SignalKind, signal};

use crate::config::Config;
use crate::cost::CostModel;
use crate::decision::{Action, Decision, State, rfc3339};
use crate::executor::{Executor, ExecutorConfig, MoveOutcome, MoveRequest, recover};
use crate::http::{Check, HttpState, ReadyFn, Startup, TierAccess, check_tier};
use crate::ingest::{self, IngestOptions};
use crate::journal::Journal;
use crate::journal::checkpoints::Checkpoint;
use crate::journal::decisions::DecisionFilter;
use crate::journal::freezes::FreezeRow;
use crate::metrics::Metrics;
use crate::planner::objects::{AccessState, SavedGaps, Touch};
use crate::planner::{Freeze, Plan, Planner};
use crate::simulate::model::ModelState;
use crate::tier::Tiers;
use decision_log::DecisionLog;

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The configuration file; `None`: the embedded defaults (with the demo's objects).
    pub config: Option<PathBuf>,
    /// One cycle, then exit.
    pub once: bool,
}

/// What one cycle did (printed by `--once`, counted in metrics).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CycleReport {
    pub events: u64,
    pub bad_lines: u64,
    pub decisions: u64,
    pub moves_done: u64,
    pub moves_failed: u64,
    /// Moves with nothing to do: the object was already on the tier, or is on no tier (then
    /// it is not planned again until the logs or a listing show it).
    pub moves_skipped: u64,
    /// Planned moves (and snapshots) that did not start because a stop was asked for: decided
    /// again at the next start.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_started: u64,
    pub snapshots: u64,
    pub open_freezes: u64,
    pub open_incidents: u64,
    /// Log objects that could not be read this cycle (retried from their checkpoints).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unreadable_logs: Vec<String>,
    /// What the listing of the tiers could not list (retried at the next listing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlisted: Vec<String>,
    /// Objects the listing of the tiers found that the logs never named; absent when no
    /// listing ended in the cycle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects_listed: Option<u64>,
    /// Moves a rule wanted that a guardrail held back in this cycle's pass, by guardrail.
    #[serde(skip_serializing_if = "held_nothing")]
    pub moves_held: crate::planner::Deferred,
}

/// Adds to the planner the catalog's objects it does not know yet, each on its tier since its
/// entry says (at most `t`: a store's clock ahead of tierd's does not make an arrival future).
/// Returns how many were added.
fn adopt(
    planner: &mut Planner,
    entries: impl IntoIterator<Item = crate::journal::catalog::Entry>,
    t: i64,
) -> u64 {
    let mut added = 0;
    for e in entries {
        // Known, unless a move found it on no tier: a listing shows it again.
        if let Some(row) = planner.objects.row(&e.bucket, &e.key)
            && !planner.objects.is_gone(row)
        {
            continue;
        }
        let Some(tier) = planner.cost.tier_index(&e.tier) else {
            continue;
        };
        let since = policies::facts::parse_utc(&e.since).unwrap_or(t).min(t);
        let row = planner
            .objects
            .insert(&e.bucket, &e.key, tier as u8, e.size, since);
        planner.objects.set_tier(row, tier as u8, since);
        added += 1;
    }
    added
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn held_nothing(d: &crate::planner::Deferred) -> bool {
    *d == crate::planner::Deferred::default()
}

#[cfg(test)]
mod tests;

/// How far back the guardrails' state reaches (the longest cooldown, a day's budgets): the
/// decisions a start reads back, which the journal's retention never forgets.
fn guardrail_memory_secs(policy: &policies::PolicySet) -> i64 {
    policy
        .rules
        .iter()
        .map(|r| r.cooldown_secs)
        .max()
        .unwrap_or(0)
        .max(crate::planner::MIN_ALERT_COOLDOWN_SECS)
        .max(86_400) as i64
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Modification times of the policy files: a change triggers a reload.
fn policy_stamp(config: &Config) -> Vec<(String, Option<SystemTime>)> {
    config
        .policy_files
        .iter()
        .flat_map(|p| crate::policy::expand(p).unwrap_or_default())
        .map(|p| {
            let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok();
            (p.display().to_string(), m)
        })
        .collect()
}

/// What [`Service::start`] is given besides the configuration. [`Default`]: a start nothing
/// stops, with a registry of its own, that nobody watches.
#[derive(Debug, Default)]
pub struct StartContext {
    /// Asked for during start-up: recovery stops between two moves.
    pub shutdown: crate::shutdown::Shutdown,
    /// The registry the service counts into: `tierd run`'s HTTP endpoint, listening before
    /// recovery, already serves it.
    pub metrics: Arc<Metrics>,
    /// Where start-up says what it is doing (`/readyz` while the service starts).
    pub startup: Startup,
    /// The journal's mover lock, when taken already; `None`: taken by the start.
    pub mover_lock: Option<crate::journal::lock::MoverLock>,
}

/// The service's state between cycles.
#[allow(missing_debug_implementations)]
pub struct Service {
    pub config: Config,
    pub executor: Arc<Executor>,
    pub planner: Planner,
    pub model: ModelState,
    pub log: DecisionLog,
    /// Events the webhook received since the last cycle.
    pub audit: Option<tokio::sync::mpsc::Receiver<Vec<AccessEvent>>>,
    pub metrics: Arc<Metrics>,
    policy_stamp: Vec<(String, Option<SystemTime>)>,
    /// What `/readyz` warns of while the service stays ready: a refused policy edit
    /// (`policy`), an edit of the configuration file (`config`), no anomaly signal yet
    /// (`model`), tiers another journal claimed too (`tiers`), every bucket frozen (`frozen`).
    /// Shared with the readiness checks.
    warnings: Warnings,
    /// The configuration file as the service started with it, against edits on disk.
    config_watch: config_watch::ConfigWatch,
    /// The behaviour model's state as last logged.
    model_seen: String,
    /// Buckets whose objects were scanned into the catalog.
    scanned: BTreeSet<String>,
    /// Log objects two sources name, already warned of.
    named_twice: BTreeSet<String>,
    /// What ingest learned of its log sources at earlier cycles (where to list them from).
    log_listings: ingest::Listings,
    /// A listing of the tiers under way beside the cycles ([`Service::list_in_background`]).
    listing: Option<listing::Listing>,
    /// Whether the tiers are listed beside the cycles, not within them.
    list_in_background: bool,
    /// Objects whose access history changed since it was last saved, and when that was.
    dirty: BTreeSet<usize>,
    /// Log checkpoints of events already taken into the access history whose save failed:
    /// saved before anything is read again, so that those events are never counted twice.
    unsaved: Vec<Checkpoint>,
    /// When the next full planning pass is due (unix seconds); an incident that opens plans at once.
    next_plan: i64,
    /// When the data tiers are next listed for objects the logs never named (unix seconds).
    next_scan: i64,
    /// Every bucket an event named (a HEAD, a listing or a failed request too): listed by
    /// [`Service::list_tiers`].
    seen_buckets: BTreeSet<String>,
    /// The buckets' behaviour as last saved to the journal (JSON per bucket).
    behaviour_saved: BTreeMap<String, String>,
    /// When the journal's retention next runs (unix seconds; at the first cycle).
    next_prune: i64,
    /// Held while the service runs: no other tierd moves data or recovers moves beside it.
    _mover_lock: crate::journal::lock::MoverLock,
    /// The decision of the freeze of every bucket as last said (`/readyz`, the log).
    paused: Option<String>,
    /// What recovery at start could not settle (a store did not answer), retried by the cycles.
    recovery: recovery::Pending,
}

impl Service {
    /// Opens the journal and tiers, recovers moves left in flight, loads the policy and the
    /// model, and restores open freezes and the catalog into the planner. `None` when
    /// `shutdown` was asked for before the service could run: recovery stopped between two moves
    /// (the rest are recovered at the next start).
    ///
    /// # Errors
    /// Invalid configuration or policy (every diagnostic), a journal this user cannot write,
    /// journal or tier errors.
    pub async fn start(config: Config, ctx: StartContext) -> anyhow::Result<Option<Service>> {
        let StartContext {
            shutdown,
            metrics,
            startup,
            mover_lock,
        } = ctx;
        let loaded = crate::policy::load(&config, &[]).map_err(|d| {
            let text: Vec<String> = d.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("the policy is not valid:\n{}", text.join("\n"))
        })?;
        for w in &loaded.warnings {
            tracing::warn!(target: "tierd::policy", "{w}");
        }
        let mover_lock = match mover_lock {
            Some(l) => l,
            None => crate::journal::lock::MoverLock::acquire(&config.journal_path, "run")?,
        };
        // A journal damaged on disk is refused before anything writes to it (a command that
        // reads only sound pages would go on, and a write could damage it further): every page
        // is read once per start (docs/BENCHMARKS.md: 1.5 s per GB cached, 23 s from disk).
        startup.set("checking the journal");
        if let Some(why) = crate::journal::damage(&config.journal_path) {
            anyhow::bail!(
                "{}: the journal is damaged ({why}); tierd run does not start on it: restore the last backup (docs/operations.md, \"A damaged or lost journal\")",
                config.journal_path.display()
            );
        }
        let mut journal =
            Journal::open_writable(&config.journal_path).context("opening the journal")?;
        mover_lock.claim(&mut journal)?;
        let tiers = Tiers::open(&config.tiers)?;
        let mut ex = Executor::new(
            Arc::new(tiers),
            Arc::new(Mutex::new(journal)),
            ExecutorConfig {
                concurrency: config.service.executor_concurrency,
                max_bytes_per_sec: config.service.max_bytes_per_sec,
                max_objects_per_sec: config.service.max_objects_per_sec,
                ..ExecutorConfig::default()
            },
        );
        ex.stop_on(shutdown);
        // Recovery logs what it did.
        startup.set("recovering what the last run left in flight");
        let recovered = recover::recover_watched(&ex, |done, total| {
            startup.set(format!(
                "recovering the moves the last run left in flight: {done} of {total} done"
            ));
        })
        .await?;
        let mut log = DecisionLog::open(
            config.service.decision_log.as_deref(),
            config.service.decision_log_stderr,
        )?;
        // The decisions recovery settled end in the log too (their earlier records say planned),
        // also when a stop cut recovery short.
        log.write(&recovered.decisions)?;
        if recovered.stopped {
            return Ok(None);
        }
        startup.set("restoring what the last run knew from the journal");
        // The webhook listens wherever the HTTP endpoint does (with or without a token).
        if config.ingest_sources.is_empty() && config.service.listen.is_none() {
            tracing::warn!(
                "no access logs to read: [ingest] sources is empty and the MinIO webhook is off (service.listen = \"off\"), so nothing is learnt and only rules without access signals can act; see docs/configuration.md"
            );
        }
        let model = ModelState::new(&config.model)?;
        let seq = ex.journal().last_decision_seq()? + 1;
        let mut planner = Planner::new(
            Arc::new(loaded.policy),
            CostModel::from_config(&config),
            config.planner.clone(),
            &model.describe(),
            seq,
        );
        planner.undo_config = crate::decision::config_arg(config.path.as_deref());
        // What the journal knows: where objects are, and the open freezes.
        let t = now();
        ex.journal().catalog_each(None, |e| {
            adopt(&mut planner, [e], t);
        })?;
        // The access history saved by the last run (a catalog row alone would make a busy
        // object look idle since it arrived).
        let mut with_history = Vec::new();
        for (bucket, key, json) in ex.journal().access_all()? {
            match serde_json::from_str::<AccessState>(&json) {
                Ok(s) => with_history.push(planner.objects.restore_access(&bucket, &key, &s)),
                Err(e) => tracing::warn!(
                    "the journal's access history of {bucket}/{key} is unreadable ({e}); it starts afresh"
                ),
            }
        }
        let restored = with_history.len();
        // The read-back estimator's life tables. The objects' idle gaps alone would be a
        // history of gaps never ended by a read (those that were are gone): every idle object
        // would look cold. So an object's running gap counts only where the tables it belongs
        // with were saved too; otherwise it is forgotten until its next access, as a first
        // sighting's is.
        let mut tables = 0usize;
        for (bucket, prefix, json) in ex.journal().readback_all()? {
            match serde_json::from_str::<SavedGaps>(&json) {
                Ok(g) => {
                    planner.objects.restore_readback(&bucket, &prefix, &g);
                    tables += 1;
                }
                Err(e) => tracing::warn!(
                    "the journal's read-back history of {bucket}/{prefix} is unreadable ({e}); it starts afresh"
                ),
            }
        }
        let mut gap_known = vec![false; planner.objects.len()];
        if tables > 0 {
            for r in with_history {
                gap_known[r] = true;
            }
        }
        for (r, known) in gap_known.into_iter().enumerate() {
            if !known {
                planner.objects.forget_gap(r);
            }
        }
        // The guardrails' state: budgets spent this hour and today, cooldowns still running.
        let since = policies::facts::format_utc(t - guardrail_memory_secs(planner.policy()));
        let recent = ex.journal().decisions(&DecisionFilter {
            since: Some(since),
            ..DecisionFilter::default()
        })?;
        for d in &recent {
            planner.remember(d, t);
        }
        if restored > 0 || !recent.is_empty() {
            tracing::info!(
                objects = restored,
                decisions = recent.len(),
                "restored the access history and the guardrails' state of the last run"
            );
        }
        // Each bucket's behaviour that still mattered: open incidents, held signals (a change
        // of a bucket's configuration seen just before the stop is still acted on).
        let mut behaviour_saved = BTreeMap::new();
        let rows = ex.journal().behaviour_all()?;
        for (bucket, json) in rows {
            match planner.behaviour.restore(&bucket, &json) {
                Ok(()) => {
                    behaviour_saved.insert(bucket, json);
                }
                Err(e) => tracing::warn!(
                    "the journal's behaviour of bucket {bucket} is unreadable ({e}); it starts afresh"
                ),
            }
        }
        if planner.behaviour.open_incidents() > 0 {
            tracing::warn!(
                incidents = planner.behaviour.open_incidents(),
                "incidents open at the last stop are open again"
            );
        }
        // What the last snapshots of each scope hold: the next one is priced for what changed
        // since (the rows are in time order, so the latest stays).
        for s in ex.journal().snapshots(None)? {
            if s.is_keep() {
                continue; // (what a restore replaced: not the state of its scope)
            }
            if let Some(at) = policies::facts::parse_utc(&s.created_at) {
                planner.snapshot_taken(&s.bucket, &s.prefix, at);
            }
        }
        // The event clock, before a freeze resumes an incident: it counts as anomalous at the
        // newest event any run read (docs: behaviour holds count in the logs' time).
        let newest_event = ex.journal().service_state("newest_event")?;
        planner.behaviour.set_clock(newest_event);
        let freezes = ex.journal().open_freezes()?;
        for f in freezes {
            // A freeze an anomaly opened, on a bucket whose behaviour was not saved (a journal
            // written before behaviour was kept, or an incident closed just before the stop):
            // the last run may have stopped in the middle of an attack, so the bucket has an
            // incident open until it has been quiet for `incident_quiet` (otherwise a rule such
            // as the bundled `unfreeze-after-incident` would lift the freeze at the first pass).
            // A freeze no anomaly opened resumes none: its rule's own signals were restored
            // with the behaviour, and a restart must not invent an incident.
            let since = policies::facts::parse_utc(&f.since).unwrap_or(t);
            let anomaly = ex
                .journal()
                .decision(&f.decision_id)?
                .and_then(|d| d.anomaly);
            if anomaly.is_some() && !behaviour_saved.contains_key(&f.bucket) {
                planner.behaviour.resume(&f.bucket, since, t, anomaly);
            }
            planner.open_freeze(Freeze {
                since,
                bucket: f.bucket,
                prefix: f.prefix,
                decision_id: f.decision_id,
                rule: f.rule,
            });
        }
        for d in &recovered.decisions {
            metrics.decision(d.action.as_str(), d.metric_state());
        }
        // The tiers this journal manages, and whether another journal manages them too.
        // (The journal's lock is let go before the arm that takes it again.)
        let known_id = ex.journal().service_state("journal_id")?;
        let journal_id = match known_id {
            Some(id) => id,
            None => {
                let id = owner::new_journal_id(&config.journal_path);
                ex.journal().set_service_state("journal_id", id)?;
                id
            }
        };
        let shared = owner::claim(&config, journal_id, &policies::facts::format_utc(t)).await;
        for w in &shared {
            tracing::warn!(target: "tierd::owner", "{w}");
        }
        let warnings = Warnings::default();
        warnings.set("tiers", (!shared.is_empty()).then(|| shared.join("; ")));
        // Objects an operator moved lately (the service was stopped for it: a running service
        // keeps other movers out): no rule moves them back before `planner.operator_hold`.
        let hold = config.planner.operator_hold_secs as i64;
        if hold > 0 {
            let since = policies::facts::format_utc(t.saturating_sub(hold));
            let moved = ex.journal().operator_moves_since(&since)?;
            let held = moved
                .iter()
                .filter(|(b, k, at)| {
                    let at = policies::facts::parse_utc(at).unwrap_or(t);
                    planner.operator_moved(b, k, at)
                })
                .count();
            if held > 0 {
                tracing::info!(
                    objects = held,
                    "objects an operator moved lately: no rule moves them before planner.operator_hold has passed"
                );
            }
        }
        metrics.policy_loaded();
        // The lag of the logs counts from the newest event any run read, so that logs that
        // stopped before a restart still show as late after it.
        if let Some(t) = newest_event {
            metrics.event_seen(t);
        }
        let mut svc = Service {
            policy_stamp: policy_stamp(&config),
            warnings,
            config_watch: config_watch::ConfigWatch::new(config.path.as_deref()),
            model_seen: String::new(),
            config,
            executor: Arc::new(ex),
            planner,
            model,
            log,
            audit: None,
            metrics,
            scanned: BTreeSet::new(),
            named_twice: BTreeSet::new(),
            log_listings: ingest::Listings::default(),
            listing: None,
            list_in_background: false,
            dirty: BTreeSet::new(),
            unsaved: Vec::new(),
            next_plan: 0,
            next_scan: 0,
            seen_buckets: BTreeSet::new(),
            behaviour_saved,
            next_prune: 0,
            _mover_lock: mover_lock,
            paused: None,
            recovery: recovery::Pending::after(&recovered.report, t),
        };
        svc.show_recovery();
        svc.set_tier_metrics();
        svc.note_pause()?;
        Ok(Some(svc))
    }

    /// Reloads the policy files; keeps the last good set (and says why) when the new one fails.
    /// Returns whether the new set was taken.
    pub fn reload(&mut self) -> bool {
        self.policy_stamp = policy_stamp(&self.config);
        match crate::policy::load(&self.config, &[]) {
            Ok(loaded) => {
                let n = loaded.policy.rules.len();
                // An emptied policy set among them: it loads, and decides nothing.
                for w in &loaded.warnings {
                    tracing::warn!(target: "tierd::policy", "{w}");
                }
                self.warnings.set("policy", None);
                self.planner.set_policy(Arc::new(loaded.policy));
                // A new policy is planned with at the next cycle, not at the next interval.
                self.next_plan = 0;
                tracing::info!(target: "tierd::policy", rules = n, "policy reloaded");
                self.metrics.policy_reload(true);
                true
            }
            Err(diags) => {
                for d in &diags {
                    tracing::error!(target: "tierd::policy", "{d}");
                }
                tracing::error!(
                    target: "tierd::policy",
                    errors = diags.len(),
                    "the new policy is not valid; keeping the last good policy"
                );
                self.metrics.policy_reload(false);
                self.metrics.failure("reload");
                let first = diags.iter().find(|d| d.is_error()).or(diags.first());
                self.warnings.set(
                    "policy",
                    first.map(|d| {
                        format!(
                            "the edit of {} was refused ({d}); the last good policy is in force",
                            d.path.display()
                        )
                    }),
                );
                false
            }
        }
    }

    /// Keeps the journal's catalog true to the owners' writes and deletes. A client writes to
    /// the hot tier (and a delete removes the object) whatever tier tierd placed the object on,
    /// so an entry older than such an event no longer says where the object is: it is
    /// forgotten, and the next move or `tierd locate` finds the object by a scan. tierd's own
    /// copies and deletes, when the store logs them, are older than the entry they made.
    ///
    /// `events` are the owners' writes and deletes of objects the planner had off the hot tier
    /// (an object on the hot tier is still there after a write): few, so each is one look-up.
    fn forget_rewritten(&mut self, events: &[&AccessEvent]) -> anyhow::Result<()> {
        let mut forgotten = 0u64;
        let mut j = self.executor.journal();
        for e in events {
            let Some(key) = &e.key else {
                continue;
            };
            let Some(entry) = j.locate(&e.bucket, key)? else {
                continue;
            };
            let since = policies::facts::parse_utc(&entry.since).unwrap_or(i64::MAX);
            if e.time_us.div_euclid(1_000_000) > since {
                j.remove_entry(&e.bucket, key)?;
                forgotten += 1;
            }
        }
        if forgotten > 0 {
            tracing::debug!(
                objects = forgotten,
                "written or deleted by their owners since tierd placed them: forgotten from the catalog until found again"
            );
        }
        Ok(())
    }

    /// Saves the access history of the objects a cycle's events touched (deleted ones are
    /// forgotten), so that the next start knows it: every cycle that read events, before their
    /// log checkpoints are saved, and when the service stops.
    ///
    /// # Errors
    /// Journal errors.
    pub fn save_access(&mut self) -> anyhow::Result<()> {
        if self.dirty.is_empty() {
            return Ok(());
        }
        if let Some(t) = self.metrics.newest_event() {
            tokio::task::block_in_place(|| {
                self.executor.journal().set_service_state("newest_event", t)
            })?;
        }
        let tables = self.planner.objects.take_readback();
        let tables = tables
            .iter()
            .map(|(b, p, g)| Ok((b.as_str(), p.as_str(), serde_json::to_string(g)?)))
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        tokio::task::block_in_place(|| self.executor.journal().save_readback(&tables))?;
        // Marked saved only once written: a failed write is tried again with the next save.
        let rows: Vec<usize> = self.dirty.iter().copied().collect();
        let objects = &self.planner.objects;
        // In chunks: what is serialised at once stays small whatever the number of objects.
        for chunk in rows.chunks(8192) {
            let mut upsert = Vec::with_capacity(chunk.len());
            let mut forget = Vec::new();
            for &r in chunk {
                let (b, k) = (objects.bucket_of(r), objects.key_of(r));
                if objects.live[r] {
                    upsert.push((b, k, serde_json::to_string(&objects.access_state(r))?));
                } else {
                    forget.push((b, k));
                }
            }
            tokio::task::block_in_place(|| self.executor.journal().save_access(&upsert, &forget))?;
        }
        self.dirty.clear();
        Ok(())
    }

    /// The next cycle runs a full planning pass, whatever the interval says.
    pub fn plan_now(&mut self) {
        self.next_plan = 0;
    }

    /// Takes events into the access history (each object's last access and counts; the
    /// catalog entries owners' writes made stale are forgotten), then saves it with the log
    /// checkpoints waiting in [`Service::unsaved`].
    ///
    /// # Errors
    /// Journal errors; what was not saved is tried again at the next save.
    fn take_in(&mut self, events: &[AccessEvent]) -> anyhow::Result<()> {
        let hot = self.planner.hot_tier();
        // Owners' writes and deletes of objects tierd placed off the hot tier (as `observe`
        // found them before the event): the catalog's entries for them may be out of date.
        let mut off_hot = Vec::new();
        for e in events {
            if !self.seen_buckets.contains(&e.bucket) {
                self.seen_buckets.insert(e.bucket.clone());
            }
            // The planner's tier for the object before the event, deleted or not (a write of an
            // object deleted while off the hot tier may find a stale entry a listing made
            // since), taken from observe's own look-up of the object.
            let mut before = None;
            let touch = self
                .planner
                .objects
                .observe_with(e, hot, |table, bucket, key| {
                    let row = table.row(bucket, key);
                    before = row.map(|r| table.cat.tier[r]);
                    row
                });
            if matches!(touch, Touch::Write { .. } | Touch::Delete { .. })
                && before.is_some_and(|tier| tier != hot)
            {
                off_hot.push(e);
            }
            match touch {
                Touch::Read { row, .. } | Touch::Write { row, .. } | Touch::Delete { row, .. } => {
                    self.dirty.insert(row);
                }
                Touch::None => {}
            }
        }
        self.forget_rewritten(&off_hot)?;
        self.save_read()
    }

    /// Saves the access history, then the log checkpoints of the events in it: a crash between
    /// the two reads those events again (counted twice), never forgets them (a read object
    /// taken for an idle one).
    ///
    /// # Errors
    /// Journal errors; what was not saved is tried again at the next call.
    pub fn save_read(&mut self) -> anyhow::Result<()> {
        self.save_access()?;
        if !self.unsaved.is_empty() {
            let cps = &self.unsaved;
            tokio::task::block_in_place(|| self.executor.journal().save_checkpoints(cps))?;
            self.unsaved.clear();
        }
        Ok(())
    }

    /// Logs the behaviour model's state when it changes (learning, fitted, off), and keeps the
    /// `/readyz` warning while no anomaly signal can open an incident.
    pub fn note_model(&mut self) {
        let described = self.model.describe();
        if described == self.model_seen {
            return;
        }
        let note = match &self.model {
            ModelState::Active { .. } => {
                tracing::info!(target: "tierd::model", model = %described, "the behaviour model scores the logs");
                None
            }
            _ => {
                tracing::warn!(target: "tierd::model", model = %described, "no anomaly signal: no incident can open until the model scores");
                Some(format!(
                    "{described}: no anomaly signal, so no incident can open (freeze and snapshot rules on incident_open wait); set [model] path to a trained model to score from the start"
                ))
            }
        };
        self.warnings.set("model", note);
        self.model_seen = described;
    }

    /// Logs an edit of the configuration file since start, once, and shows it in `/readyz`.
    pub fn check_config_edit(&mut self) {
        self.config_watch.check();
        self.warnings.set("config", self.config_watch.note.clone());
    }

    /// Whether a policy file changed since the last load.
    pub fn policy_changed(&self) -> bool {
        policy_stamp(&self.config) != self.policy_stamp
    }

    /// Reads new log lines and the webhook's events; returns them with the log checkpoints to
    /// save once their access history is saved (see [`IngestOptions::defer_checkpoints`]).
    async fn ingest(
        &mut self,
        report: &mut CycleReport,
    ) -> anyhow::Result<(Vec<AccessEvent>, Vec<Checkpoint>)> {
        let ex = Arc::clone(&self.executor);
        let sources = self.config.ingest_sources.clone();
        let opts = IngestOptions {
            format: self.config.ingest_format,
            store_options: self.config.ingest_options.0.clone(),
            follow: true,
            keep_going: true,
            defer_checkpoints: true,
            ..IngestOptions::default()
        };
        let rt = tokio::runtime::Handle::current();
        let mut listings = std::mem::take(&mut self.log_listings);
        let (mut events, r, listings) = tokio::task::spawn_blocking(move || {
            let mut events = Vec::new();
            let mut journal = ex.journal();
            let j = Some(&mut *journal);
            let r = ingest::run_with(&sources, &opts, &rt, j, &mut listings, &mut |batch| {
                events.extend(batch);
                Ok(())
            });
            (events, r, listings)
        })
        .await?;
        self.log_listings = listings;
        // On an error (the journal's: unreadable sources and objects are listed instead), the
        // events read are dropped with their checkpoints, unsaved: the next cycle reads them.
        let r = r?;
        for u in &r.unreadable {
            // Retried from its checkpoint every cycle; the later objects are read meanwhile.
            tracing::error!(target: "tierd::ingest", "unreadable log source or object, retried next cycle: {u}");
            self.metrics.failure("ingest");
        }
        report.unreadable_logs.clone_from(&r.unreadable);
        // Once per object: the overlap is the configuration's, and holds at every pass.
        for name in &r.named_twice {
            if self.named_twice.insert(name.clone()) {
                tracing::warn!(target: "tierd::ingest", object = %name, "a log object named twice in ingest.sources is read once, under the first");
            }
        }
        for b in &r.bad_lines_shown {
            tracing::warn!(target: "tierd::ingest", "bad line: {b}");
        }
        report.bad_lines += r.bad_lines;
        self.metrics.events_ingested("logs", events.len() as u64);
        self.metrics.bad_lines("logs", r.bad_lines);
        if let Some(rx) = &mut self.audit {
            // The endpoint counted what it accepted.
            while let Ok(batch) = rx.try_recv() {
                events.extend(batch);
            }
        }
        events.sort_by_key(|e| e.time_us);
        report.events += events.len() as u64;
        Ok((events, r.checkpoints))
    }

    /// One cycle at wall-clock time.
    ///
    /// # Errors
    /// Journal errors and unreadable sources; a failed move or snapshot is an outcome, not an error.
    pub async fn cycle(&mut self) -> anyhow::Result<CycleReport> {
        let report = self.cycle_inner().await?;
        if let Err(e) = self.save_behaviour() {
            self.metrics.failure("journal");
            return Err(e);
        }
        if !self.executor.stop_requested() {
            self.prune_journal();
        }
        self.measure_journal();
        Ok(report)
    }

    /// Saves the buckets' behaviour that changed since the last save (incidents opened, kept
    /// open or closed; signals held or faded), so that a restart resumes it.
    ///
    /// # Errors
    /// Journal errors.
    pub fn save_behaviour(&mut self) -> anyhow::Result<()> {
        let current = self.planner.behaviour.saved(now());
        let changed: Vec<(&str, &str)> = current
            .iter()
            .filter(|(b, json)| self.behaviour_saved.get(*b) != Some(*json))
            .map(|(b, json)| (b.as_str(), json.as_str()))
            .collect();
        let gone: Vec<&str> = self
            .behaviour_saved
            .keys()
            .filter(|b| !current.contains_key(*b))
            .map(String::as_str)
            .collect();
        if !changed.is_empty() || !gone.is_empty() {
            tokio::task::block_in_place(|| {
                self.executor.journal().save_behaviour(&changed, &gone)
            })?;
        }
        self.behaviour_saved = current;
        Ok(())
    }

    async fn cycle_inner(&mut self) -> anyhow::Result<CycleReport> {
        let mut report = CycleReport::default();
        let started = std::time::Instant::now();
        // A cycle that failed after taking its events in saves how far they were read first.
        if !self.unsaved.is_empty()
            && let Err(e) = self.save_read()
        {
            self.metrics.failure("journal");
            return Err(e);
        }
        // What recovery at start left for a store that did not answer, when a retry is due.
        if let Err(e) = self.retry_recovery(now()).await {
            self.metrics.failure("journal");
            return Err(e);
        }
        let (events, checkpoints) = match self.ingest(&mut report).await {
            Ok(read) => read,
            Err(e) => {
                self.metrics.failure("ingest");
                return Err(e);
            }
        };
        self.metrics
            .cycle("ingest", started.elapsed().as_secs_f64());
        if let Some(last) = events.last() {
            // A clock ahead (an event dated in the future) must not hide logs that stop.
            self.metrics
                .event_seen(last.time_us.div_euclid(1_000_000).min(now()));
        }
        if self.config.path.is_none() && !events.is_empty() {
            let n = demo::seed(self.executor.tiers(), "onprem", &events).await?;
            if n > 0 {
                tracing::info!(
                    objects = n,
                    "embedded demo: created the sample logs' objects on the onprem tier (tierd-data/onprem)"
                );
            }
        }
        // From here the events are in the access history: their checkpoints must be saved
        // before the logs are read again.
        self.unsaved.extend(checkpoints);
        if let Err(e) = self.take_in(&events) {
            self.metrics.failure("journal");
            return Err(e);
        }
        let changed = self.planner.behaviour.config_changes(&events) > 0;
        let scores = tokio::task::block_in_place(|| self.model.window(&events))?;
        // Already logged as warnings (a bucket the model does not know, learning).
        self.model.take_notices();
        if let Some(t) = self.model.trained_to_secs() {
            self.metrics.set_model_trained_at(t);
        }
        self.note_model();
        // Per bucket, the highest score of the cycle among its subjects (the bucket, and each
        // principal in it): what would open an incident.
        let mut highest: BTreeMap<&str, f64> = BTreeMap::new();
        for s in &scores {
            if let Some(b) = s.subject.bucket.as_deref() {
                let h = highest.entry(b).or_insert(s.score);
                *h = h.max(s.score);
            }
            self.metrics.set_anomaly_threshold(s.threshold);
        }
        for (b, score) in highest {
            self.metrics.anomaly_score(b, score);
        }
        if !scores.is_empty() {
            self.planner
                .behaviour
                .set_model_name(&self.model.describe());
        }
        let mut opened = false;
        self.planner.behaviour.note_drivers(&scores);
        for s in &scores {
            if let Some(change) = self.planner.behaviour.observe(s, s.window_secs) {
                log_incident(&change);
                opened = true;
            }
        }
        let lifted = self.sync_freezes()?;
        self.note_pause()?;
        let t = now();
        let mut listed = 0;
        // A stop asked for: the events are in (their checkpoints and access history are kept);
        // listing and planning wait for the next start.
        let stopping = self.executor.stop_requested();
        if let Some(learnt) = self.listing_step(t, stopping, &mut report).await? {
            listed = learnt;
        }
        // A full pass every `planner.interval`; at once when an incident opened, a bucket's
        // configuration changed, an operator lifted a freeze, or a listing found new objects.
        if stopping || (t < self.next_plan && !opened && !changed && !lifted && listed == 0) {
            report.open_freezes = self.planner.freezes().count() as u64;
            report.open_incidents = self.planner.behaviour.open_incidents() as u64;
            return Ok(report);
        }
        self.next_plan = t + self.config.planner.interval_secs as i64;
        let started = std::time::Instant::now();
        // Holds and quiet periods count in the logs' time: a backlog, or logs hours late, are
        // judged as they happened.
        self.planner
            .behaviour
            .set_clock(self.metrics.newest_event());
        let plan = tokio::task::block_in_place(|| self.planner.plan(t));
        for change in &plan.incidents {
            log_incident(change);
        }
        self.metrics.cycle("plan", started.elapsed().as_secs_f64());
        let d = &plan.deferred;
        self.metrics.set_moves_held(&[
            ("frozen", d.frozen),
            ("residency", d.residency),
            ("cooldown", d.cooldown),
            ("blackout", d.blackout),
            ("budget", d.budget),
            ("cycle_limit", d.cycle_limit),
            ("retry", d.retry),
            ("operator", d.operator),
        ]);
        report.moves_held = d.clone();
        let started = std::time::Instant::now();
        if let Err(e) = self.execute(plan, t, &mut report).await {
            self.metrics.failure("journal");
            return Err(e);
        }
        self.metrics
            .cycle("execute", started.elapsed().as_secs_f64());
        self.set_tier_metrics();
        report.open_freezes = self.planner.freezes().count() as u64;
        report.open_incidents = self.planner.behaviour.open_incidents() as u64;
        self.metrics.set_open_freezes(report.open_freezes);
        self.metrics.set_open_incidents(report.open_incidents);
        Ok(report)
    }

    /// Tells the planner the tier the catalog says `bucket/key` is on, and since when (at most
    /// `t`); an object the planner does not know yet is added. `false` when the catalog does
    /// not know the object.
    ///
    /// # Errors
    /// Journal errors.
    fn learn_location(&mut self, bucket: &str, key: &str, t: i64) -> anyhow::Result<bool> {
        let Some(e) = self.executor.journal().locate(bucket, key)? else {
            return Ok(false);
        };
        match self.planner.objects.row(bucket, key) {
            Some(row) if !self.planner.objects.is_gone(row) => {
                if let Some(tier) = self.planner.cost.tier_index(&e.tier)
                    && tier as u8 != self.planner.objects.cat.tier[row]
                {
                    let since = policies::facts::parse_utc(&e.since).unwrap_or(t).min(t);
                    self.planner.objects.set_tier(row, tier as u8, since);
                }
            }
            _ => {
                adopt(&mut self.planner, [e], t);
            }
        }
        Ok(true)
    }

    /// `tierd_tier_objects` and `tierd_tier_bytes`: what the planner knows on each data tier;
    /// `tierd_vault_snapshots` and `tierd_vault_bytes`: what the journal's snapshots put in
    /// each vault (the planner places no object there: a vault's tier series would read 0).
    fn set_tier_metrics(&self) {
        let names = &self.planner.cost.tiers;
        let counts = self.planner.objects.per_tier(names.len());
        let vaults: BTreeSet<String> = self
            .config
            .tier_specs()
            .into_iter()
            .filter(|t| t.vault)
            .map(|t| t.name)
            .collect();
        let tiers: Vec<(String, u64, u64)> = names
            .iter()
            .zip(counts)
            .filter(|(n, _)| !vaults.contains(*n))
            .map(|(n, (objects, bytes))| (n.clone(), objects, bytes))
            .collect();
        self.metrics.set_tiers(&tiers);
        // (A small aggregate over the snapshot table, a row per snapshot.)
        let usage = self.executor.journal().vault_usage();
        match usage {
            // Every vault has a series, 0 until its first snapshot.
            Ok(mut used) => {
                for v in &vaults {
                    if !used.iter().any(|(name, _, _)| name == v) {
                        used.push((v.clone(), 0, 0));
                    }
                }
                self.metrics.set_vaults(&used);
            }
            Err(e) => tracing::warn!("the vaults' usage could not be read from the journal: {e}"),
        }
    }

    /// Freezes lifted by `tierd unfreeze` since the last cycle are lifted in the planner too,
    /// and those opened by `tierd freeze` opened (a scope lifted and frozen again between two
    /// cycles: both); returns whether any was.
    fn sync_freezes(&mut self) -> anyhow::Result<bool> {
        let journal = self.executor.journal().open_freezes()?;
        let open: BTreeSet<(&str, &str, &str)> = journal
            .iter()
            .map(|f| (f.bucket.as_str(), f.prefix.as_str(), f.decision_id.as_str()))
            .collect();
        let lifted: Vec<(String, String)> = self
            .planner
            .freezes()
            .filter(|f| {
                !open.contains(&(f.bucket.as_str(), f.prefix.as_str(), f.decision_id.as_str()))
            })
            .map(|f| (f.bucket.clone(), f.prefix.clone()))
            .collect();
        let mut any = !lifted.is_empty();
        for (b, p) in lifted {
            self.planner.lift_freeze(&b, &p);
            if p.is_empty() && b != crate::journal::freezes::EVERY_BUCKET {
                self.planner.behaviour.acknowledge(&b);
            }
            // (The freeze of every bucket is said by the pause's own lines.)
            if b != crate::journal::freezes::EVERY_BUCKET {
                tracing::info!(bucket = b, prefix = p, "freeze lifted by an operator");
            }
        }
        for f in journal {
            // (Two open on one scope, a rule's and an operator's taken at once: the first holds.)
            if self
                .planner
                .freezes()
                .any(|p| p.bucket == f.bucket && p.prefix == f.prefix)
            {
                continue;
            }
            if f.bucket != crate::journal::freezes::EVERY_BUCKET {
                tracing::info!(
                    bucket = f.bucket,
                    prefix = f.prefix,
                    decision = f.decision_id,
                    "freeze opened by an operator"
                );
            }
            self.planner.open_freeze(Freeze {
                since: policies::facts::parse_utc(&f.since).unwrap_or_else(now),
                bucket: f.bucket,
                prefix: f.prefix,
                decision_id: f.decision_id,
                rule: f.rule,
            });
            any = true;
        }
        Ok(any)
    }

    async fn execute(
        &mut self,
        plan: Plan,
        t: i64,
        report: &mut CycleReport,
    ) -> anyhow::Result<()> {
        let at = rfc3339(chrono::DateTime::from_timestamp(t, 0).unwrap_or_default());
        let mut decisions = plan.decisions;
        report.decisions += decisions.len() as u64;
        // Alerts, freezes and unfreezes take effect as they are recorded.
        for d in &mut decisions {
            if matches!(d.action, Action::Alert | Action::Freeze | Action::Unfreeze)
                && d.state == State::Planned
            {
                d.state = State::Done;
            }
        }
        {
            let mut j = self.executor.journal();
            j.record_decisions(&decisions)?;
            for d in &decisions {
                let (Some(bucket), prefix) =
                    (d.bucket.clone(), d.prefix.clone().unwrap_or_default())
                else {
                    continue;
                };
                match d.action {
                    Action::Freeze => {
                        // Said at warn level: data movement on the scope stops until lifted.
                        tracing::warn!(target: "tierd::incident", bucket = %bucket, prefix = %prefix, decision = %d.id, rule = d.rule.as_deref().unwrap_or("-"), "freeze opened: no move on its scope until it is lifted");
                        j.open_freeze(&FreezeRow {
                            bucket,
                            prefix,
                            since: at.clone(),
                            decision_id: d.id.clone(),
                            rule: d.rule.clone(),
                        })?;
                    }
                    Action::Unfreeze => {
                        j.lift_freeze(&bucket, &prefix, &at, &d.id)?;
                    }
                    _ => {}
                }
            }
        }
        self.log.write(&decisions)?;
        for d in &decisions {
            if !matches!(d.action, Action::Move | Action::Snapshot) || d.state != State::Planned {
                self.metrics.decision(d.action.as_str(), d.metric_state());
            }
        }
        let live = |d: &Decision| d.state == State::Planned;

        // Snapshots first: protection before placement.
        for s in &plan.snapshots {
            let d = &mut decisions[s.decision];
            if !live(d) {
                continue;
            }
            if self.executor.stop_requested() {
                d.state = State::Failed;
                d.why = Some(crate::decision::snapshot_never_started_why());
                report.not_started += 1;
                continue;
            }
            let vault = self.planner.cost.tiers[usize::from(s.to)].clone();
            let r = crate::snapshot::create_reporting(
                &self.executor,
                &vault,
                &s.bucket,
                &s.prefix,
                &d.id,
            )
            .await;
            match r {
                Ok(made) => {
                    d.state = State::Done;
                    self.metrics
                        .snapshotted(made.row.objects, made.row.copied_bytes);
                    d.why = Some(made.why());
                    report.snapshots += 1;
                }
                // Cut short by a stop between two objects: the decision stays open, as after
                // a crash, and recovery at the next start settles it (nothing was recorded).
                Err(e @ crate::snapshot::SnapshotError::Stopped { .. }) => {
                    tracing::warn!(
                        message = "Snapshot stopped.",
                        decision = %d.id,
                        bucket = %s.bucket,
                        reason = %e
                    );
                }
                Err(e) => {
                    d.state = State::Failed;
                    d.why = Some(e.to_string());
                    self.metrics.failure("snapshot");
                }
            }
        }

        let mut reqs = Vec::new();
        for m in &plan.moves {
            let d = &decisions[m.decision];
            if !live(d) {
                self.planner.move_ended(m.row);
                continue;
            }
            let (bucket, key) = (
                d.bucket.clone().unwrap_or_default(),
                d.key.clone().unwrap_or_default(),
            );
            // The executor moves what the catalog knows: learn the object from its tier first
            // (and the planner, the others the listing found). Not when stopping: no move starts.
            if !self.executor.stop_requested()
                && self.executor.journal().locate(&bucket, &key)?.is_none()
            {
                // (A listing under way lists the rest of the bucket.)
                let prefix = if self.listed_or_listing(&bucket) {
                    key.as_str()
                } else {
                    self.scanned.insert(bucket.clone());
                    ""
                };
                let found = self.executor.scan_entries(&bucket, prefix).await?;
                adopt(&mut self.planner, found, t);
            }
            reqs.push((
                m.clone(),
                MoveRequest {
                    decision_id: d.id.clone(),
                    bucket,
                    key,
                    to: d.to.clone().unwrap_or_default(),
                },
            ));
        }
        let (planned, requests): (Vec<_>, Vec<_>) = reqs.into_iter().unzip();
        let max = self
            .planner
            .policy()
            .guardrails
            .max_concurrency
            .map(|m| m as usize);
        let outcomes = self.executor.apply_limited(requests, max).await;
        for (m, (_, outcome)) in planned.iter().zip(outcomes) {
            let d = &mut decisions[m.decision];
            match outcome {
                MoveOutcome::Done { bytes, .. } => {
                    d.state = State::Done;
                    self.metrics.moved(1, bytes);
                    self.planner.moved(m.row, m.to, now());
                    report.moves_done += 1;
                }
                // On no tier: gone for the planner until the logs or a listing show it again
                // (otherwise the same move is decided, and skipped, at every pass).
                MoveOutcome::NotFound { why, on_no_tier } => {
                    d.state = State::Skipped;
                    d.why = Some(why);
                    self.planner.move_ended(m.row);
                    if on_no_tier {
                        self.planner.objects.gone(m.row);
                    }
                    report.moves_skipped += 1;
                }
                // Already there: nothing to move.
                MoveOutcome::Skipped(why) => {
                    d.state = State::Skipped;
                    d.why = Some(why);
                    self.planner.move_ended(m.row);
                    report.moves_skipped += 1;
                    // The planner learns where the catalog says the object is, so that the next
                    // pass does not decide the same move again.
                    if let (Some(b), Some(k)) = (d.bucket.as_deref(), d.key.as_deref()) {
                        self.learn_location(b, k, t)?;
                    }
                }
                // A stop came first: no failure, and nothing to wait for at the next start.
                MoveOutcome::NotStarted => {
                    d.state = State::Failed;
                    d.why = Some(crate::decision::never_started_why());
                    self.planner.move_ended(m.row);
                    report.not_started += 1;
                }
                // Its tier kept failing: tried again at the next pass, like a move not started.
                MoveOutcome::TierDown(why) => {
                    d.state = State::Failed;
                    d.why = Some(crate::decision::tier_down_why(&why));
                    self.planner.move_ended(m.row);
                    report.not_started += 1;
                    self.metrics.failure("execute");
                }
                MoveOutcome::Aborted(why) | MoveOutcome::Failed(why) => {
                    let f = self.planner.move_failed(m.row, now());
                    d.state = State::Failed;
                    d.why = Some(format!(
                        "{why} (failure {} in a row; the next attempt waits until {})",
                        f.count,
                        rfc3339(chrono::DateTime::from_timestamp(f.until, 0).unwrap_or_default())
                    ));
                    report.moves_failed += 1;
                    self.metrics.failure("execute");
                }
            }
        }
        let changed: Vec<Decision> = decisions
            .into_iter()
            .filter(|d| matches!(d.action, Action::Move | Action::Snapshot))
            .filter(|d| d.state != State::Planned)
            .collect();
        // The decision log first, then the journal: a process ended between the two (a kill,
        // a second SIGTERM) leaves the journal's decisions open, and the next start's recovery
        // settles them and logs them again; the other way round, the log would say `planned`
        // for good. A log that cannot be written does not keep the journal from the outcomes.
        let logged = self.log.write(&changed);
        {
            let mut j = self.executor.journal();
            for d in &changed {
                j.set_decision_state(&d.id, d.state, d.why.as_deref())?;
            }
        }
        for d in &changed {
            self.metrics.decision(d.action.as_str(), d.metric_state());
        }
        logged?;
        Ok(())
    }
}

/// The warnings `/readyz` shows while the service stays ready, by check name; each part of the
/// service sets or clears its own.
#[derive(Debug, Clone, Default)]
pub struct Warnings(Arc<std::sync::Mutex<BTreeMap<&'static str, String>>>);

impl Warnings {
    /// Sets the warning of check `name` (`None` clears it).
    pub fn set(&self, name: &'static str, detail: Option<String>) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match detail {
            Some(d) => {
                map.insert(name, d);
            }
            None => {
                map.remove(name);
            }
        }
    }

    /// Every warning, by check name.
    pub fn all(&self) -> Vec<(&'static str, String)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }
}

/// An incident's opening as log fields a log pipeline can index (bucket, time, subject, score,
/// threshold, principal, the top feature), not one debug dump.
fn log_incident(change: &crate::planner::behaviour::IncidentChange) {
    use crate::planner::behaviour::IncidentChange;
    match change {
        IncidentChange::Opened {
            bucket,
            at,
            anomaly,
        } => {
            let top = anomaly.top_features.first();
            tracing::warn!(
                target: "tierd::incident",
                bucket = %bucket,
                window_end = %policies::facts::format_utc(*at),
                subject = %anomaly.subject,
                score = anomaly.score,
                threshold = anomaly.threshold,
                principal = anomaly.principal.as_deref().unwrap_or("-"),
                window_start = anomaly.window_start.as_deref().unwrap_or("-"),
                top_feature = top.map_or("-", |f| f.name.as_str()),
                top_value = top.map_or(0.0, |f| f.value),
                top_baseline = top.map_or(0.0, |f| f.baseline),
                "incident opened"
            );
        }
        IncidentChange::Closed {
            bucket,
            at,
            opened_at,
        } => tracing::warn!(
            target: "tierd::incident",
            bucket = %bucket,
            opened_at = %policies::facts::format_utc(*opened_at),
            at = %policies::facts::format_utc(*at),
            "incident closed: no anomalous window for planner.incident_quiet"
        ),
    }
}
