//! `tierd simulate`: replays access logs in event time through the planner `tierd run` uses,
//! with a dry-run executor, and prices what the policy would have done against fixed-rule
//! baselines and an offline oracle on the same trace.
//!
//! # The replay
//! The log objects are read as one stream in time order ([`crate::ingest::merge`]: each object opens when the
//! replay reaches its first event, so several stores' logs of the same days interleave). Events
//! then pass through a reorder buffer (events up to `simulate.lateness` behind the
//! newest are put back in time order; later ones are replayed at the current time, counted as
//! late, and scored by the behaviour model apart, in the windows of their own time). The clock is the events' time: at each window boundary the window's events are scored
//! (after learning the model from the first `model.learning_days`, unless a trained model is
//! given), and an incident that opens triggers a planning pass at once; a planning pass also runs
//! every `planner.interval`. Moves are applied at once (dry run); every strategy is charged for
//! the same client reads and writes wherever it keeps the object.
//!
//! # Guarantees
//! The same logs, configuration, policy and options give byte-for-byte the same decisions and
//! summary: no wall clock, no unseeded randomness, ordered maps only where order shows.
//!
//! # Threads
//! The log reader parses, numbers each object's name, reorders and cuts the events into scoring
//! windows on its own thread ([`feed::Feeder`]); the behaviour model scores each window on its
//! own thread ([`scoring`]) while the replay applies earlier windows' events; the replay takes
//! the scores when its clock reaches the window's end. Nothing the replay decides depends on
//! the threads' timing.
//!
//! # Layout
//! - [`feed`]: key numbers, the reorder buffer, late events and scoring windows.
//! - [`scoring`]: the behaviour model's thread.
//! - [`strategies`]: the baselines and the oracle.
//! - [`incidents`]: the incidents opened, one row each.
//! - [`model`]: learning, then scoring, the behaviour model on the replayed windows.
//! - [`outcomes`]: what became of the policy's moves (read back, deleted), and the holds per rule.
//! - [`report`]: the findings as the HTML report's data.
//! - [`why`]: what the replay did with the objects `--why` names, and why.

pub mod feed;
pub mod incidents;
pub mod inventory;
pub mod model;
pub mod outcomes;
pub mod report;
pub mod scoring;
pub mod strategies;
pub mod why;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use models::AccessEvent;
use policies::PolicySet;
use serde::Serialize;

use crate::config::Config;
use crate::cost::{CostModel, Ledger};
use crate::decision::{Action, Decision};
use crate::ingest::{IngestOptions, IngestReport};
use crate::planner::behaviour::IncidentChange;
use crate::planner::objects::Touch;
use crate::planner::{Deferred, Plan, Planner};
use feed::{FeedEnd, FeedOptions, Feeder, NO_KEY, Window};
use model::ModelState;
use scoring::Scorer;
use strategies::{Baseline, Meter, Oracle};

/// What to replay.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    pub sources: Vec<String>,
    pub ingest: IngestOptions,
    /// Replay events at or after this time (unix seconds).
    pub from: Option<i64>,
    /// Replay events before this time.
    pub until: Option<i64>,
    /// Objects that exist when the replay starts (`--inventory`), whether or not the logs name
    /// them.
    pub inventory: Vec<inventory::Listed>,
    /// Objects (bucket, key) to answer for (`--why`): [`why`].
    pub why: Vec<(String, String)>,
}

/// One bucket's anomaly timeline: `bucket:NAME`, the model's threshold at the first point,
/// (window end, score), and (from, threshold) where a retrain changed the threshold.
pub type AnomalySeries = (String, f64, Vec<(i64, f64)>, Vec<(i64, f64)>);

/// Progress, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub events: u64,
    pub event_time: i64,
    pub decisions: u64,
    /// The stored bytes the log readers had read ([`crate::ingest::STORED_BYTES_READ`]) when the
    /// last window replayed was complete.
    pub read: u64,
}

/// One strategy's totals.
#[derive(Debug, Clone, Serialize)]
pub struct StrategySummary {
    pub strategy: String,
    pub ledger: Ledger,
    pub total: f64,
}

/// A point of a daily series.
#[derive(Debug, Clone, Serialize)]
pub struct DayPoint {
    /// Unix seconds of 00:00 UTC of the day that ends at this point.
    pub day: i64,
    /// Cumulative cost per strategy (in `summaries` order, without the oracle).
    pub cost: Vec<f64>,
    /// Bytes per tier under the policy (configuration order), a vault's snapshot copies
    /// included.
    pub bytes: Vec<i128>,
    pub moves_out: u64,
    pub recalls: u64,
    pub snapshots: u64,
}

/// A protective event for the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub at: i64,
    pub subject: String,
    pub kind: String,
    pub label: String,
}

/// Everything a simulation found.
#[derive(Debug, Clone, Serialize)]
pub struct SimReport {
    pub events: u64,
    /// Events replayed later than the reorder window allowed.
    pub late_events: u64,
    /// Events outside --from/--until.
    pub filtered_events: u64,
    pub bad_lines: u64,
    pub from: i64,
    pub until: i64,
    /// The newest event replayed (`until` runs past it when `--until` is later than the logs).
    pub last_event: i64,
    pub objects: u64,
    /// Objects the inventory added at the start (listed as written before it).
    pub inventory_objects: u64,
    pub decisions: u64,
    pub decisions_by_action: BTreeMap<String, u64>,
    pub deferred: Deferred,
    /// The moves the guardrails held, per move rule and guardrail (budgets by limit).
    pub held_by_rule: Vec<outcomes::HeldByRule>,
    /// What became of the policy's moves: read-backs and early deletions put to the move
    /// that put the object where it was.
    pub outcomes: outcomes::OutcomeTotals,
    /// The moves whose read-backs and early deletions cost most, up to [`outcomes::COSTLIEST`].
    pub costliest_moves: Vec<outcomes::CostlyMove>,
    pub currency: String,
    /// The policy first, then the baselines.
    pub summaries: Vec<StrategySummary>,
    pub oracle_total: f64,
    /// What the vault's snapshot copies cost (not in the strategies' totals: baselines do not
    /// protect anything, so placement is compared on placement alone).
    pub protection: f64,
    /// Bytes the snapshots copied into the vault.
    pub vault_bytes: u64,
    pub incidents_opened: u64,
    /// Every incident opened, in order.
    pub incidents: Vec<incidents::Incident>,
    pub model: String,
    /// The model's warnings, in order (a bucket it was not trained on, learning).
    pub model_notices: Vec<String>,
    pub days: Vec<DayPoint>,
    pub markers: Vec<Marker>,
    /// Decisions past [`MAX_DECISION_MARKERS`], not kept as markers.
    pub markers_omitted: u64,
    /// Per bucket: the highest score of its subjects (the bucket, a principal in it) and window
    /// lengths at each window's end, and the threshold.
    pub anomaly: Vec<AnomalySeries>,
    /// The first protective decisions and a sample of moves, for the report.
    pub sample: Vec<Decision>,
    #[serde(skip)]
    pub ingest: IngestReport,
    /// The objects `--why` named, in its order (no key without `--why`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<why::ObjectWhy>,
}

/// Decisions kept for the report.
const SAMPLE_DECISIONS: usize = 300;

/// Protective decisions (snapshot, freeze, alert, ...) kept as markers for the report's anomaly
/// timelines; the rest are counted. Every one is in the decision log; the bound keeps a replay's
/// memory from growing with a policy that alerts on every pass.
const MAX_DECISION_MARKERS: usize = 5_000;

struct Sim<'a> {
    cost: CostModel,
    planner: Planner,
    /// The behaviour model, scoring on its own thread.
    scorer: Scorer,
    /// The model's name after the last window scored.
    model_name: String,
    /// How often the accumulated events are scored (a multiple of the model's window).
    window_secs: i64,
    /// The model's main window (seconds): timeline points fall at its ends.
    model_window: i64,
    interval: i64,
    out: &'a mut dyn Write,
    // clock
    started: bool,
    now: i64,
    first: i64,
    window_start: i64,
    /// The open window's bucket configuration changes (the model has all its events).
    config_events: Vec<AccessEvent>,
    /// Per key number ([`feed::KeyIds`]): the object's row plus one, 0 until looked up.
    key_rows: Vec<u32>,
    next_tick: i64,
    next_day: i64,
    // strategies
    ledger: Ledger,
    meter: Meter,
    /// The vault's snapshot copies: protection, priced apart from placement.
    vault_meter: Meter,
    protection: Ledger,
    /// The policy's read-backs and early deletions, per move.
    outcomes: outcomes::Outcomes,
    /// The guardrails' holds per rule over the replay.
    holds: crate::planner::HoldsByRule,
    baselines: Vec<Baseline>,
    oracle: Oracle,
    /// Listed objects, placed when the replay starts.
    inventory: Vec<inventory::Listed>,
    // results
    report: SimReport,
    day_counts: (u64, u64, u64),
    /// Markers kept for protective decisions, up to [`MAX_DECISION_MARKERS`].
    decision_markers: usize,
    progress: &'a mut dyn FnMut(&Progress),
    /// [`Window::read`] of the last window replayed.
    read: u64,
    incidents: incidents::Incidents,
    /// The objects `--why` follows (none: nothing is done for them).
    why: why::Tracker,
}

impl Sim<'_> {
    fn start(&mut self, t: i64) {
        self.started = true;
        self.now = t;
        self.first = t;
        self.window_start = t - t.rem_euclid(self.window_secs);
        self.next_tick = t - t.rem_euclid(self.interval) + self.interval;
        self.next_day = t - t.rem_euclid(86_400) + 86_400;
        let tiers = self.cost.tiers.len();
        self.meter = Meter::new(tiers, t);
        self.vault_meter = Meter::new(tiers, t);
        for b in &mut self.baselines {
            b.meter = Meter::new(tiers, t);
        }
        self.place_inventory(t);
    }

    /// Places the listed objects written before `t` where the listing says (the hot tier
    /// unless it names one), for the policy and every strategy alike: each knows when it was
    /// last written, so idle time counts from then; storage is charged from `t`. Objects
    /// listed as written later are left to the logs.
    fn place_inventory(&mut self, t: i64) {
        let hot = self.planner.hot_tier();
        for o in std::mem::take(&mut self.inventory) {
            if o.last_modified > t || self.planner.objects.row(&o.bucket, &o.key).is_some() {
                continue;
            }
            let tier = o
                .tier
                .as_deref()
                .and_then(|n| self.cost.tier_index(n))
                .map_or(hot, |i| i as u8);
            let row = self
                .planner
                .objects
                .insert(&o.bucket, &o.key, tier, o.size, o.last_modified);
            self.meter.add(tier, o.size);
            for b in &mut self.baselines {
                b.exists(row, tier, o.size, o.last_modified);
            }
            self.oracle
                .exists(&self.cost, row, tier, o.size, o.last_modified, t);
            self.report.inventory_objects += 1;
        }
    }

    /// Moves the clock to `t`, running every window close, planning pass and day boundary on the way.
    fn advance(&mut self, t: i64) -> Result<(), String> {
        loop {
            let window_end = self.window_start + self.window_secs;
            let next = window_end.min(self.next_tick).min(self.next_day);
            if next > t {
                break;
            }
            self.now = next;
            if next == window_end {
                self.close_window(window_end)?;
                self.window_start = window_end;
            }
            // A day ends before the pass at its last instant, which is the next day's first
            // (a decision at 00:00:00Z is of the day it opens, as `tierd decisions --since`
            // counts it).
            if next == self.next_day {
                self.day_point(next - 86_400);
                self.next_day += 86_400;
            }
            if next == self.next_tick {
                self.plan(next)?;
                self.next_tick += self.interval;
            }
        }
        self.now = self.now.max(t);
        Ok(())
    }

    fn close_window(&mut self, end: i64) -> Result<(), String> {
        let events = std::mem::take(&mut self.config_events);
        let changed = self.planner.behaviour.config_changes(&events) > 0;
        let scored = self.scorer.next()?;
        if scored.end != end {
            return Err(format!(
                "internal error: the replay closed the window ending at {end} but the behaviour model scored the one ending at {}",
                scored.end
            ));
        }
        let scores = scored.scores?;
        self.model_name = scored.model;
        self.report.model_notices.extend(scored.notices);
        if !scores.is_empty() {
            self.planner.behaviour.set_model_name(&self.model_name);
        }
        // A bucket's configuration changed: its rules (alerts on protection) do not wait either.
        let mut opened = changed;
        self.planner.behaviour.note_drivers(&scores);
        // Per bucket, the score that could open its incident: the highest of the bucket's own
        // and of each principal's in it, over every window length (a 1-minute burst, a
        // principal's), with the threshold it is measured against, at the end of the scoring
        // window it falls in (a late log's windows are scored at their own time).
        let mut highest: Vec<(&str, i64, f64, f64)> = Vec::new();
        for s in &scores {
            if s.subject.kind == models::features::SubjectKind::Principal || !s.score.is_finite() {
                continue;
            }
            let Some(bucket) = s.subject.bucket.as_deref() else {
                continue;
            };
            let w = self.model_window;
            let at = s.window_start_us.div_euclid(1_000_000).div_euclid(w) * w + w;
            match highest.iter_mut().find(|h| h.0 == bucket && h.1 == at) {
                Some(h) if s.score > h.2 => *h = (bucket, at, s.score, s.threshold),
                Some(_) => {}
                None => highest.push((bucket, at, s.score, s.threshold)),
            }
        }
        for (bucket, at, score, threshold) in highest {
            let name = format!("bucket:{bucket}");
            let point = (at, crate::planner::behaviour::round4(score));
            match self.report.anomaly.iter_mut().find(|a| a.0 == name) {
                Some(a) => {
                    a.2.push(point);
                    let now = a.3.last().map_or(a.1, |c| c.1);
                    if (now - threshold).abs() > 1e-9 {
                        a.3.push((at.max(a.3.last().map_or(at, |c| c.0)), threshold));
                    }
                }
                None => self
                    .report
                    .anomaly
                    .push((name, threshold, vec![point], Vec::new())),
            }
        }
        for s in &scores {
            if let Some(IncidentChange::Opened {
                bucket,
                at,
                anomaly,
            }) = self.planner.behaviour.observe(s, s.window_secs)
            {
                opened = true;
                self.report.incidents_opened += 1;
                self.incidents.opened(&bucket, at, &anomaly);
                self.report.markers.push(Marker {
                    at,
                    subject: format!("bucket:{bucket}"),
                    kind: "incident-open".into(),
                    label: format!(
                        "incident opened: {} scored {:.2} (threshold {:.2})",
                        anomaly.subject, anomaly.score, anomaly.threshold
                    ),
                });
            }
        }
        if opened {
            // Protection does not wait for the next pass.
            self.plan(end)?;
        }
        Ok(())
    }

    fn plan(&mut self, t: i64) -> Result<(), String> {
        self.meter.advance(&self.cost, &mut self.ledger, t);
        self.vault_meter
            .advance(&self.cost, &mut self.protection, t);
        for b in &mut self.baselines {
            b.tick(&self.cost, t);
        }
        let plan = self.planner.plan(t);
        if self.why.active() {
            self.why.pass(&self.planner, &plan, t);
        }
        self.apply(plan, t)
    }

    fn apply(&mut self, plan: Plan, t: i64) -> Result<(), String> {
        for c in &plan.incidents {
            if let IncidentChange::Closed { bucket, at, .. } = c {
                self.incidents.closed(bucket, *at);
                self.report.markers.push(Marker {
                    at: *at,
                    subject: format!("bucket:{bucket}"),
                    kind: "incident-close".into(),
                    label: "incident closed (quiet)".into(),
                });
            }
        }
        let d = &mut self.report.deferred;
        d.frozen += plan.deferred.frozen;
        d.residency += plan.deferred.residency;
        d.cooldown += plan.deferred.cooldown;
        d.blackout += plan.deferred.blackout;
        d.budget += plan.deferred.budget;
        d.cycle_limit += plan.deferred.cycle_limit;
        d.retry += plan.deferred.retry;
        d.operator += plan.deferred.operator;
        outcomes::add_holds(&mut self.holds, &plan.deferred.by_rule);
        for m in &plan.moves {
            let on_tier = t - self.planner.objects.cat.tier_since[m.row];
            let early = self
                .cost
                .early_deletion(usize::from(m.from), m.bytes, on_tier);
            let id = &plan.decisions[m.decision].id;
            self.outcomes.moved(m.row, id, t, early);
            let (recalls, moves) = (self.ledger.recalls, self.ledger.moves);
            self.ledger.moved(
                &self.cost,
                usize::from(m.from),
                usize::from(m.to),
                m.bytes,
                on_tier,
            );
            self.day_counts.0 += self.ledger.moves - moves;
            self.day_counts.1 += self.ledger.recalls - recalls;
            self.meter.remove(m.from, m.bytes);
            self.meter.add(m.to, m.bytes);
            self.planner.moved(m.row, m.to, t);
        }
        for s in &plan.snapshots {
            // Incremental: the first snapshot of a scope copies everything, later ones what
            // changed (the planner counts them); a write per object copied.
            self.vault_meter.add(s.to, s.copy_bytes);
            self.protection.charges.requests +=
                s.copy_objects as f64 * self.cost.write(usize::from(s.to)).requests;
            self.ledger.snapshots += 1;
            self.day_counts.2 += 1;
        }
        for d in &plan.decisions {
            self.incidents.decided(d);
            match d.action {
                Action::Freeze => self.ledger.freezes += 1,
                Action::Alert => self.ledger.alerts += 1,
                _ => {}
            }
            if !matches!(d.action, Action::Move) && self.decision_markers >= MAX_DECISION_MARKERS {
                self.report.markers_omitted += 1;
            } else if !matches!(d.action, Action::Move) {
                self.decision_markers += 1;
                self.report.markers.push(Marker {
                    at: t,
                    subject: format!("bucket:{}", d.bucket.as_deref().unwrap_or("")),
                    kind: d.action.as_str().to_string(),
                    label: d.reason.clone(),
                });
            }
            let keep = !matches!(d.action, Action::Move)
                || self
                    .report
                    .sample
                    .iter()
                    .filter(|s| s.action == Action::Move)
                    .count()
                    < 100;
            if keep && self.report.sample.len() < SAMPLE_DECISIONS {
                self.report.sample.push(d.clone());
            }
            *self
                .report
                .decisions_by_action
                .entry(d.action.as_str().to_string())
                .or_default() += 1;
            serde_json::to_writer(&mut *self.out, d).map_err(|e| e.to_string())?;
            self.out.write_all(b"\n").map_err(|e| e.to_string())?;
        }
        self.report.decisions += plan.decisions.len() as u64;
        Ok(())
    }

    fn day_point(&mut self, day: i64) {
        let end = day + 86_400;
        self.meter.advance(&self.cost, &mut self.ledger, end);
        let mut cost = vec![self.ledger.charges.total()];
        for b in &mut self.baselines {
            b.meter.advance(&self.cost, &mut b.ledger, end);
            cost.push(b.ledger.charges.total());
        }
        let (moves_out, recalls, snapshots) = std::mem::take(&mut self.day_counts);
        // The vault's bytes are its snapshot copies (objects are never moved there).
        let bytes = self
            .meter
            .bytes
            .iter()
            .zip(self.vault_meter.bytes.iter().chain(std::iter::repeat(&0)))
            .map(|(placed, copies)| placed + copies)
            .collect();
        self.report.days.push(DayPoint {
            day,
            cost,
            bytes,
            moves_out,
            recalls,
            snapshots,
        });
        (self.progress)(&Progress {
            events: self.report.events,
            // (The last day's point is made when the replay ends, before the day does.)
            event_time: end.min(self.now),
            decisions: self.report.decisions,
            read: self.read,
        });
    }

    /// One event, in time order (the feed moved late ones to the current time), with its key
    /// number.
    fn event(&mut self, e: &AccessEvent, key: u32) -> Result<(), String> {
        let t = e.time_us.div_euclid(1_000_000);
        if !self.started {
            self.start(t);
        }
        self.advance(t)?;
        self.report.events += 1;
        self.report.last_event = self.report.last_event.max(t);
        let hot = self.planner.hot_tier();
        let known = self.key_rows.get(key as usize).copied().unwrap_or(0);
        let touch = self
            .planner
            .objects
            .observe_with(e, hot, |table, bucket, name| {
                if known > 0 {
                    Some(known as usize - 1)
                } else {
                    table.row(bucket, name)
                }
            });
        if let (
            Touch::Read { row, .. } | Touch::Write { row, .. } | Touch::Delete { row, .. },
            true,
        ) = (touch, key != NO_KEY)
        {
            let k = key as usize;
            if self.key_rows.len() <= k {
                self.key_rows.resize(k + 1, 0);
            }
            self.key_rows[k] = row as u32 + 1;
        }
        let cost = &self.cost;
        match touch {
            Touch::Read { row, new } => {
                let size = self.planner.objects.cat.size[row];
                self.meter.advance(cost, &mut self.ledger, t);
                if new {
                    self.meter.add(hot, size);
                } else {
                    let tier = usize::from(self.planner.objects.cat.tier[row]);
                    if let Some(charge) = self.ledger.read(cost, tier, size) {
                        self.outcomes.read_back(row, t, size, charge);
                    }
                }
                for b in &mut self.baselines {
                    b.read(cost, row, size, t);
                }
                self.oracle.read(cost, row, size, t);
            }
            Touch::Write { row, previous } => {
                let size = self.planner.objects.cat.size[row];
                self.meter.advance(cost, &mut self.ledger, t);
                if let Some((tier, since, old)) = previous {
                    self.meter.remove(tier, old);
                    let mut early = 0.0;
                    if tier != hot {
                        early = cost.early_deletion(usize::from(tier), old, t - since);
                        self.ledger.charges.early_deletion += early;
                    }
                    self.outcomes.ended(row, tier != hot, early);
                }
                self.meter.add(hot, size);
                self.ledger.charges.add(&cost.write(usize::from(hot)));
                for b in &mut self.baselines {
                    b.write(cost, row, size, t);
                }
                self.oracle.write(cost, row, size, t);
            }
            Touch::Delete { row, tier, since } => {
                let size = self.planner.objects.cat.size[row];
                self.meter.advance(cost, &mut self.ledger, t);
                self.meter.remove(tier, size);
                let early = cost.early_deletion(usize::from(tier), size, t - since);
                self.ledger.charges.early_deletion += early;
                self.outcomes.ended(row, tier != hot, early);
                for b in &mut self.baselines {
                    b.delete(cost, row, t);
                }
                self.oracle.delete(cost, row, t);
            }
            Touch::None => {}
        }
        if self.why.active() {
            self.why.event(touch, t, &self.planner.objects);
        }
        if e.op == models::OpClass::ConfigChange {
            self.config_events.push(e.clone());
        }
        Ok(())
    }

    fn finish(mut self, until: i64) -> Result<SimReport, String> {
        if !self.started {
            return Err("no events to replay in the given logs and time range".into());
        }
        let end = until.max(self.now);
        self.advance(end)?;
        // The last partial window and day.
        let last_window_end = self.window_start + self.window_secs;
        self.close_window(last_window_end.min(end.max(self.window_start)))?;
        // (A pass at the very end, on a midnight, decides in a day of its own.)
        if self.report.days.last().is_none_or(|d| d.day + 86_400 < end)
            || self.day_counts != (0, 0, 0)
        {
            self.day_point(self.next_day - 86_400);
        }
        self.meter.advance(&self.cost, &mut self.ledger, end);
        self.vault_meter
            .advance(&self.cost, &mut self.protection, end);
        let mut summaries = vec![StrategySummary {
            strategy: "tierd policy".into(),
            total: self.ledger.charges.total(),
            ledger: self.ledger.clone(),
        }];
        for b in &mut self.baselines {
            b.meter.advance(&self.cost, &mut b.ledger, end);
            summaries.push(StrategySummary {
                strategy: b.name.clone(),
                total: b.ledger.charges.total(),
                ledger: b.ledger.clone(),
            });
        }
        let mut r = self.report;
        r.summaries = summaries;
        r.oracle_total = self.oracle.total(&self.cost, end);
        r.protection = self.protection.charges.total();
        r.vault_bytes = self.vault_meter.bytes.iter().sum::<i128>().max(0) as u64;
        r.from = self.first;
        r.until = end;
        r.objects = self.planner.objects.live_count() as u64;
        r.model = self.model_name;
        r.held_by_rule = outcomes::held_by_rule(&self.holds, self.planner.policy());
        (r.outcomes, r.costliest_moves) = self.outcomes.finish(&self.planner);
        r.incidents = self.incidents.list;
        r.why = self.why.finish(&self.planner.objects);
        self.scorer.join()?;
        Ok(r)
    }
}

/// What sources that gave no event hold: a folder (or prefix) without a log object, an empty
/// file. At most five empty files are named.
fn empty_sources(
    sources: &[String],
    opts: &IngestOptions,
    rt: &tokio::runtime::Handle,
) -> Vec<String> {
    const NAMED: usize = 5;
    let (mut why, mut empty) = (Vec::new(), Vec::new());
    for src in sources {
        match crate::ingest::list(src, &opts.store_options, rt) {
            Ok(objects) if objects.is_empty() => why.push(format!("{src} holds no log object")),
            Ok(objects) => empty.extend(
                objects
                    .iter()
                    .filter(|o| o.size == 0)
                    .map(|o| o.name.to_string()),
            ),
            // Listed before the replay: an error now is one the replay would have stopped on.
            Err(_) => {}
        }
    }
    empty.dedup();
    let more = empty.len().saturating_sub(NAMED);
    why.extend(
        empty
            .into_iter()
            .take(NAMED)
            .map(|n| format!("{n} is empty")),
    );
    if more > 0 {
        why.push(format!("{more} more empty log objects"));
    }
    why
}

/// A fixed-rule baseline priced beside the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaselineRule {
    /// Its name in the summary and the report.
    pub name: String,
    /// Days idle after which it moves an object to the cheapest data tier; `None`: never.
    pub idle_days: Option<u32>,
    /// Whether a read of an object on another tier moves it back to the hot tier.
    pub recall: bool,
}

/// The baselines, in summary order: never move, then for every `N` of
/// `simulate.baseline_idle_days` the lifecycle rule alone and with recall on access.
pub fn baseline_rules(idle_days: &[u32]) -> Vec<BaselineRule> {
    let mut rules = vec![BaselineRule {
        name: "never move".into(),
        idle_days: None,
        recall: false,
    }];
    for &n in idle_days {
        let name = format!("move after {n} d idle");
        let recall = format!("{name} + recall on access");
        for (name, recall) in [(name, false), (recall, true)] {
            rules.push(BaselineRule {
                name,
                idle_days: Some(n),
                recall,
            });
        }
    }
    rules
}

/// Replays `opts.sources` through `policy` and writes every decision as a JSON line to `out`.
///
/// `rt` serves object-store log sources; `progress` is called once per simulated day.
///
/// # Errors
/// A source that cannot be read, no events, a model artifact that does not load, or an output
/// write error. Malformed lines are counted, never errors.
pub fn simulate(
    config: &Config,
    policy: Arc<PolicySet>,
    opts: &SimOptions,
    rt: &tokio::runtime::Handle,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<SimReport> {
    let cost = CostModel::from_config(config);
    let model = ModelState::new(&config.model)?;
    let mut planner = Planner::new(
        policy,
        cost.clone(),
        config.planner.clone(),
        &model.describe(),
        1,
    );
    planner.force_dry_run = true;
    // An undo names the configuration, as the service's do (its absolute path: an input).
    planner.undo_config = crate::decision::config_arg(config.path.as_deref());
    let tiers = cost.tiers.len();
    let baselines = baseline_rules(&config.simulate.baseline_idle_days)
        .into_iter()
        .map(|b| {
            let idle = b.idle_days.map(|n| i64::from(n) * 86_400);
            Baseline::new(b.name, idle, b.recall, tiers, 0)
        })
        .collect();
    let model_name = model.describe();
    let (scorer, to_score) = Scorer::spawn(model)?;
    let mut sim = Sim {
        cost,
        planner,
        scorer,
        model_name,
        window_secs: config
            .simulate
            .score_every_secs
            .max(config.model.window_secs) as i64
            / config.model.window_secs as i64
            * config.model.window_secs as i64,
        model_window: config.model.window_secs as i64,
        interval: config.planner.interval_secs as i64,
        out,
        started: false,
        now: 0,
        first: 0,
        window_start: 0,
        config_events: Vec::new(),
        key_rows: Vec::new(),
        next_tick: 0,
        next_day: 0,
        ledger: Ledger::default(),
        meter: Meter::default(),
        vault_meter: Meter::default(),
        protection: Ledger::default(),
        outcomes: outcomes::Outcomes::default(),
        holds: Default::default(),
        baselines,
        oracle: Oracle::default(),
        inventory: opts.inventory.clone(),
        report: SimReport {
            events: 0,
            late_events: 0,
            filtered_events: 0,
            bad_lines: 0,
            from: 0,
            until: 0,
            last_event: 0,
            objects: 0,
            inventory_objects: 0,
            decisions: 0,
            decisions_by_action: BTreeMap::new(),
            deferred: Deferred::default(),
            held_by_rule: Vec::new(),
            outcomes: outcomes::OutcomeTotals::default(),
            costliest_moves: Vec::new(),
            currency: config.currency.clone(),
            summaries: Vec::new(),
            oracle_total: 0.0,
            protection: 0.0,
            vault_bytes: 0,
            incidents_opened: 0,
            incidents: Vec::new(),
            model: String::new(),
            model_notices: Vec::new(),
            days: Vec::new(),
            markers: Vec::new(),
            markers_omitted: 0,
            anomaly: Vec::new(),
            sample: Vec::new(),
            ingest: IngestReport::default(),
            why: Vec::new(),
        },
        day_counts: (0, 0, 0),
        decision_markers: 0,
        progress,
        read: 0,
        incidents: incidents::Incidents::default(),
        why: why::Tracker::new(&opts.why),
    };
    let feed_opts = FeedOptions {
        from: opts.from,
        until: opts.until,
        lateness_secs: config.simulate.lateness_secs as i64,
        window_secs: sim.window_secs,
    };
    // The log reader's thread parses and feeds ([`feed::Feeder`]) up to 16 windows ahead of the
    // replay (bounded memory: a few MB per window): an hourly planning pass over every object
    // lasts as long as applying several windows, and the feed and the model keep working
    // meanwhile. The replay itself is sequential, so the result does not depend on the timing.
    let (to_replay, windows) = std::sync::mpsc::sync_channel::<Window>(16);
    let (done, done_rx) = std::sync::mpsc::channel::<Window>();
    let sources = opts.sources.clone();
    let ingest_opts = opts.ingest.clone();
    let handle = rt.clone();
    let reader = std::thread::Builder::new()
        .name("tierd-feed".into())
        .spawn(move || -> anyhow::Result<(IngestReport, FeedEnd)> {
            let mut feeder = Feeder::new(feed_opts, to_score, to_replay, done_rx);
            let report =
                crate::ingest::merge::read_merged(&sources, &ingest_opts, &handle, &mut |batch| {
                    feeder.take(batch)
                })?;
            let end = feeder.finish().map_err(anyhow::Error::msg)?;
            Ok((report, end))
        })?;
    let mut failed: Option<String> = None;
    for w in windows.iter() {
        if let Err(err) = w
            .events
            .iter()
            .zip(&w.keys)
            .try_for_each(|(e, &key)| sim.event(e, key))
        {
            failed = Some(err);
            break;
        }
        sim.read = w.read;
        // Freed on the reader's thread; if it has ended, here.
        let _ = done.send(w);
    }
    drop(windows);
    let fed = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the log reader thread panicked"))?;
    if let Some(err) = failed {
        anyhow::bail!(err);
    }
    let (ingest_report, fed) = fed?;
    let mut report = sim.finish(fed.end).map_err(|e| {
        // Say why nothing was replayed: lines of another format, or a time range that misses.
        let mut why = empty_sources(&opts.sources, &opts.ingest, rt);
        if ingest_report.bad_lines > 0 {
            let first = ingest_report.bad_lines_shown.first();
            why.push(format!(
                "{}{}",
                crate::cli::common::plural(
                    usize::try_from(ingest_report.bad_lines).unwrap_or(usize::MAX),
                    "bad line",
                    "bad lines"
                ),
                first.map_or(String::new(), |b| format!(", the first {b}"))
            ));
            if let (Some(f), 0) = (opts.ingest.format, ingest_report.events) {
                why.push(format!(
                    "is --format {} right? without it, each log's format is told from its first lines",
                    f.as_str()
                ));
            }
        }
        if fed.filtered > 0 {
            let span = fed.filtered_span.map_or(String::new(), |(a, b)| {
                let fmt = policies::facts::format_utc;
                format!(" (the logs span {} to {})", fmt(a), fmt(b))
            });
            why.push(format!("{} events outside --from/--until{span}", fed.filtered));
        }
        if why.is_empty() {
            anyhow::anyhow!(e)
        } else {
            anyhow::anyhow!("{e}: {}", why.join("; "))
        }
    })?;
    report.filtered_events = fed.filtered;
    report.late_events = fed.late;
    report.bad_lines = ingest_report.bad_lines;
    report.ingest = ingest_report;
    Ok(report)
}
