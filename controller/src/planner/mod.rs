//! The planner: rules and behaviour in, decisions out, within the guardrails. The same code
//! plans for `tierd run` (wall clock, real executor) and `tierd simulate` (event time, dry run).
//!
//! # A planning pass ([`Planner::plan`])
//! 1. Incidents quiet for `incident_quiet` close.
//! 2. Every object's derived signals are refreshed for `now` (access counts, read-back
//!    probability, cost signals) and each bucket's behaviour facts are set.
//! 3. The policy set is evaluated over the whole catalog at once (the columnar evaluator).
//! 4. Winners become decisions, after the guardrails:
//!    - a matching freeze opens a freeze on its scope (once); an open freeze blocks every move
//!      in its scope until an unfreeze (a rule or `tierd unfreeze`) lifts it; an operator's
//!      freeze of every bucket (bucket [`EVERY_BUCKET`]) blocks every move, only `tierd
//!      unfreeze --all-buckets` lifts it;
//!    - every matching alert fires beside the winner (alerts never compete);
//!    - snapshots and alerts are per bucket (and rule prefix), once per cooldown (at least one
//!      hour for alerts);
//!    - moves wait (no decision) during a blackout window, before the minimum residency on the
//!      current tier is over, during the rule's cooldown on that object, and when the hour's or
//!      the day's object, byte or money budget is spent; candidate moves are taken by rule
//!      precedence, then by the storage they save, largest first;
//!    - at most `max_decisions_per_cycle` decisions per pass;
//!    - an object whose last move failed waits before it is tried again ([`retry`]).
//!
//! The planner never touches data: it returns decisions (state `planned`, or `dry-run` when the
//! guardrails say so); the caller executes them and reports back with [`Planner::moved`].

pub mod behaviour;
pub mod objects;
mod readback;
pub mod retry;
pub mod verdict;
mod waits;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use policies::eval::format_value;
use policies::signals::Kind;
use policies::{Action as RuleAction, NO_RULE, PolicySet};

use crate::config::PlannerSettings;
use crate::cost::{CostModel, MONTH_SECS, ReadOutlook};
use crate::decision::{
    Action, Anomaly, Condition, Cost, Decision, Explanation, State, freeze_command,
};
use crate::journal::freezes::EVERY_BUCKET;
use behaviour::{Behaviour, IncidentChange};
use objects::{ObjectTable, SIGNAL_DAYS};
use waits::Waits;
pub use waits::{Budget, Guardrail, Holds, HoldsByRule};

/// Alerts repeat at most this often per bucket and rule when the rule sets no longer cooldown.
pub const MIN_ALERT_COOLDOWN_SECS: u64 = 3600;

/// An open freeze.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freeze {
    /// [`EVERY_BUCKET`]: every bucket, present and future.
    pub bucket: String,
    /// Key prefix; empty = the whole bucket.
    pub prefix: String,
    pub since: i64,
    pub decision_id: String,
    pub rule: Option<String>,
}

/// A move the caller should execute (or, in a dry run, apply at once).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedMove {
    /// Index into [`Plan::decisions`].
    pub decision: usize,
    pub row: usize,
    pub from: u8,
    pub to: u8,
    pub bytes: u64,
}

/// A snapshot the caller should take.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSnapshot {
    pub decision: usize,
    pub bucket: String,
    pub prefix: String,
    pub to: u8,
    /// Bytes of live objects in scope at planning time.
    pub bytes: u64,
    pub objects: u64,
    /// What it copies: the objects in scope written since the last snapshot the planner made
    /// of the same scope (all of them at its first), and their bytes. Snapshots are
    /// incremental: an unchanged object is already in the vault.
    pub copy_objects: u64,
    pub copy_bytes: u64,
}

/// Why candidate moves waited in a pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Deferred {
    pub frozen: u64,
    pub residency: u64,
    pub cooldown: u64,
    pub blackout: u64,
    pub budget: u64,
    pub cycle_limit: u64,
    /// Objects whose last move failed, waiting to be tried again.
    pub retry: u64,
    /// Objects an operator moved within `planner.operator_hold`.
    pub operator: u64,
    /// The same holds per move rule (index in the policy set) and guardrail, budgets by limit.
    #[serde(skip)]
    pub by_rule: HoldsByRule,
}

impl Deferred {
    /// Counts a move `guardrail` held back.
    fn count(&mut self, guardrail: Guardrail) {
        *match guardrail {
            Guardrail::Frozen => &mut self.frozen,
            Guardrail::Blackout => &mut self.blackout,
            Guardrail::Residency => &mut self.residency,
            Guardrail::Cooldown => &mut self.cooldown,
            Guardrail::Retry => &mut self.retry,
            Guardrail::CycleLimit => &mut self.cycle_limit,
            Guardrail::Budget(_) => &mut self.budget,
            Guardrail::Operator => &mut self.operator,
        } += 1;
    }
}

/// The result of one pass.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub decisions: Vec<Decision>,
    pub moves: Vec<PlannedMove>,
    pub snapshots: Vec<PlannedSnapshot>,
    pub deferred: Deferred,
    pub incidents: Vec<IncidentChange>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Spent {
    period: i64,
    objects: u64,
    bytes: u64,
    money: f64,
}

/// The planner's whole state.
pub struct Planner {
    policy: Arc<PolicySet>,
    pub cost: CostModel,
    settings: PlannerSettings,
    pub objects: ObjectTable,
    pub behaviour: Behaviour,
    freezes: BTreeMap<(String, String), Freeze>,
    /// (rule, row) → until, for moves; (rule, bucket + prefix) → until, for bucket-level actions.
    move_cooldown: HashMap<(u32, u32), i64>,
    scope_cooldown: HashMap<(u32, String), i64>,
    /// When the planner last snapshotted each (bucket, prefix): what a snapshot copies is what
    /// was written since.
    snapshot_marks: HashMap<(String, String), i64>,
    /// Moves a guardrail is holding back, told in their decision once made.
    waits: Waits,
    hour: Spent,
    day: Spent,
    /// Rows with a planned move not yet reported back ([`Planner::moved`], [`Planner::move_ended`],
    /// [`Planner::move_failed`]).
    pending: HashSet<u32>,
    /// Objects whose last move failed.
    retries: retry::Retries,
    /// Row → until: objects an operator moved, which no rule moves before then.
    operator_holds: HashMap<u32, i64>,
    /// Policy tier index → catalog tier index (the catalog uses the configuration's order).
    hot: u8,
    next_seq: u64,
    /// Forces dry-run decisions whatever the guardrails say (`tierd simulate`).
    pub force_dry_run: bool,
    /// Added to every `undo` command: ` --config PATH` of the service's configuration
    /// ([`crate::decision::config_arg`]), so that a pasted undo acts on this journal.
    pub undo_config: String,
}

impl std::fmt::Debug for Planner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Planner")
            .field("objects", &self.objects.len())
            .field("freezes", &self.freezes.len())
            .finish_non_exhaustive()
    }
}

fn rfc3339(t: i64) -> String {
    policies::facts::format_utc(t)
}

/// An amount of money as reasons show it, to four places: never `-0.0000` (a tiny negative
/// amount rounds to plain zero).
fn amount(x: f64) -> String {
    let shown = format!("{x:.4}");
    match shown.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|b| b == b'0' || b == b'.') => rest.to_string(),
        _ => shown,
    }
}

/// An amount of money as decision records carry it: rounded to a millionth.
pub(crate) fn money(x: f64) -> f64 {
    // `+ 0.0` turns a negative amount that rounds to nothing into 0, not -0.
    (x * 1e6).round() / 1e6 + 0.0
}

impl Planner {
    /// A planner for `policy` (whose tiers must be the configuration's, in order).
    pub fn new(
        policy: Arc<PolicySet>,
        cost: CostModel,
        settings: PlannerSettings,
        model_name: &str,
        first_seq: u64,
    ) -> Planner {
        let behaviour = Behaviour::new(
            settings.anomaly_hold_secs,
            settings.incident_quiet_secs,
            model_name,
        );
        let hot = cost.hot as u8;
        Planner {
            objects: ObjectTable::new(&cost.tiers),
            policy,
            cost,
            settings,
            behaviour,
            freezes: BTreeMap::new(),
            move_cooldown: HashMap::new(),
            scope_cooldown: HashMap::new(),
            snapshot_marks: HashMap::new(),
            waits: Waits::default(),
            hour: Spent::default(),
            day: Spent::default(),
            pending: HashSet::new(),
            retries: retry::Retries::default(),
            operator_holds: HashMap::new(),
            hot,
            next_seq: first_seq.max(1),
            force_dry_run: false,
            undo_config: String::new(),
        }
    }

    pub fn policy(&self) -> &Arc<PolicySet> {
        &self.policy
    }

    /// Replaces the policy (a reload); state (freezes, cooldowns, budgets) is kept.
    pub fn set_policy(&mut self, policy: Arc<PolicySet>) {
        self.policy = policy;
        self.move_cooldown.clear();
    }

    /// An operator moved `bucket/key` at `at`: no rule moves it for `planner.operator_hold`
    /// (an undo is not undone by the rule it reversed). Returns whether the object is known.
    pub fn operator_moved(&mut self, bucket: &str, key: &str, at: i64) -> bool {
        let Some(row) = self.objects.row(bucket, key) else {
            return false;
        };
        let until = at.saturating_add(self.settings.operator_hold_secs as i64);
        let e = self.operator_holds.entry(row as u32).or_insert(until);
        *e = (*e).max(until);
        true
    }

    pub fn settings(&self) -> &PlannerSettings {
        &self.settings
    }

    /// The tier new objects land on.
    pub fn hot_tier(&self) -> u8 {
        self.hot
    }

    pub fn freezes(&self) -> impl Iterator<Item = &Freeze> {
        self.freezes.values()
    }

    /// The open freeze covering an object, if any: the freeze of every bucket first (bucket
    /// [`EVERY_BUCKET`]), then its bucket's.
    pub fn frozen(&self, bucket: &str, key: &str) -> Option<&Freeze> {
        [EVERY_BUCKET, bucket].into_iter().find_map(|bucket| {
            self.freezes
                .range((bucket.to_string(), String::new())..)
                .take_while(|((b, _), _)| b == bucket)
                .map(|(_, f)| f)
                .find(|f| key.starts_with(&f.prefix))
        })
    }

    /// Opens a freeze (state restored from the journal, or an operator's freeze).
    pub fn open_freeze(&mut self, f: Freeze) {
        self.freezes.insert((f.bucket.clone(), f.prefix.clone()), f);
    }

    /// Notes a snapshot of `bucket`/`prefix` taken at `at` (restored from the journal at
    /// start): the next one copies what was written since.
    pub fn snapshot_taken(&mut self, bucket: &str, prefix: &str, at: i64) {
        self.snapshot_marks
            .insert((bucket.to_string(), prefix.to_string()), at);
    }

    /// The snapshot of `bucket`/`prefix` into tier `to` that decision `decision` plans: the live
    /// objects under it (what it holds), and those written after `since`, the last snapshot of
    /// the scope (what it copies; all of them without one).
    fn snapshot_of(
        &self,
        decision: usize,
        (bucket, prefix): (&str, &str),
        to: u8,
        since: Option<i64>,
    ) -> PlannedSnapshot {
        let o = &self.objects;
        let mut s = PlannedSnapshot {
            decision,
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            to,
            bytes: 0,
            objects: 0,
            copy_objects: 0,
            copy_bytes: 0,
        };
        let Some(b) = o.cat.bucket_names.iter().position(|n| n == bucket) else {
            return s;
        };
        for r in 0..o.len() {
            if !o.live[r] || o.cat.bucket[r] as usize != b || !o.key_of(r).starts_with(prefix) {
                continue;
            }
            let size = o.cat.size[r];
            s.objects += 1;
            s.bytes = s.bytes.saturating_add(size);
            if since.is_none_or(|m| o.cat.created[r] > m) {
                s.copy_objects += 1;
                s.copy_bytes = s.copy_bytes.saturating_add(size);
            }
        }
        s
    }

    /// Lifts a freeze; closes the bucket's incident when the whole bucket is unfrozen (the
    /// freeze of every bucket opened none).
    pub fn lift_freeze(&mut self, bucket: &str, prefix: &str) -> Option<Freeze> {
        let f = self
            .freezes
            .remove(&(bucket.to_string(), prefix.to_string()));
        if f.is_some() && prefix.is_empty() && bucket != EVERY_BUCKET {
            self.behaviour.close(bucket);
        }
        f
    }

    fn id(&mut self, kind: &str, at: i64) -> String {
        let compact: String = rfc3339(at)
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let id = format!("{kind}-{compact}-{:06}", self.next_seq);
        self.next_seq += 1;
        id
    }

    fn state(&self) -> State {
        if self.force_dry_run || self.policy.guardrails.dry_run {
            State::DryRun
        } else {
            State::Planned
        }
    }

    /// Spends the hour's and the day's budget on a move of `bytes` costing `money`, or says
    /// which limit it would go over (nothing is spent then).
    fn budget_allows(&mut self, now: i64, bytes: u64, money: f64) -> Result<(), Budget> {
        let (h, d) = (now.div_euclid(3600), now.div_euclid(86_400));
        if self.hour.period != h {
            self.hour = Spent {
                period: h,
                ..Spent::default()
            };
        }
        if self.day.period != d {
            self.day = Spent {
                period: d,
                ..Spent::default()
            };
        }
        let g = &self.policy.guardrails;
        let over = |limit: Option<u64>, used: u64, add: u64| limit.is_some_and(|l| used + add > l);
        let limits = [
            (
                over(g.max_objects_per_hour, self.hour.objects, 1),
                Budget::ObjectsPerHour,
            ),
            (
                over(g.max_objects_per_day, self.day.objects, 1),
                Budget::ObjectsPerDay,
            ),
            (
                over(g.max_bytes_per_hour, self.hour.bytes, bytes),
                Budget::BytesPerHour,
            ),
            (
                over(g.max_bytes_per_day, self.day.bytes, bytes),
                Budget::BytesPerDay,
            ),
            (
                g.max_money_per_day
                    .is_some_and(|m| self.day.money + money > m),
                Budget::MoneyPerDay,
            ),
        ];
        if let Some(&(_, limit)) = limits.iter().find(|(over, _)| *over) {
            return Err(limit);
        }
        for s in [&mut self.hour, &mut self.day] {
            s.objects += 1;
            s.bytes += bytes;
            s.money += money;
        }
        Ok(())
    }

    /// One planning pass at `now` (unix seconds).
    pub fn plan(&mut self, now: i64) -> Plan {
        let mut plan = Plan {
            incidents: self.behaviour.close_quiet(now),
            ..Plan::default()
        };
        let cost = self.cost.clone();
        let horizon_days = (cost.horizon_secs() / 86_400) as usize;
        self.objects
            .refresh(now, horizon_days, |tier, size, on_tier, rb| {
                let outlook = ReadOutlook {
                    p_horizon: f64::from(rb.p_horizon),
                    reads_horizon: f64::from(rb.reads_horizon),
                    daily: f64::from(rb.daily),
                };
                cost.signals(tier, size, on_tier, &outlook)
            });
        let buckets = self.objects.cat.bucket_names.clone();
        for (i, b) in buckets.iter().enumerate() {
            self.objects.cat.behaviour[i] = self.behaviour.facts(b, now);
        }
        // This pass acts on every incident open now: from the next one, they may close.
        self.behaviour.planned();
        let eval = self
            .policy
            .evaluate_columns_detailed(&self.objects.cat, now);
        let policy = Arc::clone(&self.policy);
        let blackout = policy.in_blackout(now);
        let max = self.settings.max_decisions_per_cycle;

        // Bucket-level actions, collected per (rule, bucket) in row order for determinism: a
        // dense table (rule-major, like the ordered map it becomes) rather than a map look-up
        // per row, since a rule such as the default unfreeze wins on nearly every row.
        let n_buckets = buckets.len();
        let mut scoped_by: Vec<Option<usize>> = vec![None; policy.rules.len() * n_buckets];
        let mut freezes: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        let mut candidates: Vec<(usize, usize, f64)> = Vec::new(); // (precedence, row, saved)
        let precedence: HashMap<usize, usize> = policy
            .order
            .iter()
            .enumerate()
            .map(|(p, &r)| (r, p))
            .collect();
        for row in 0..self.objects.len() {
            if !self.objects.live[row] {
                continue;
            }
            let b = self.objects.cat.bucket[row];
            if eval.frozen_by[row] != NO_RULE {
                freezes.entry((eval.frozen_by[row], b)).or_insert(row);
                // A move the freeze rule outranked is a move the freeze holds back.
                if eval.move_held_by_freeze[row] != NO_RULE && !self.pending.contains(&(row as u32))
                {
                    let rule = eval.move_held_by_freeze[row];
                    self.waits
                        .held(&mut plan.deferred, row, rule, Guardrail::Frozen, now);
                }
            }
            // An unfreeze lifts a freeze beside the row's winner (a daily snapshot of the bucket
            // of higher priority must not keep a freeze open for ever).
            let u = eval.unfrozen_by[row];
            if u != NO_RULE {
                scoped_by[u as usize * n_buckets + b as usize].get_or_insert(row);
            }
            let w = eval.winners[row];
            if w == NO_RULE {
                continue;
            }
            match &policy.rules[w as usize].action {
                RuleAction::Move { .. } => candidates.push((
                    precedence[&(w as usize)],
                    row,
                    self.objects.cat.savings_per_month[row],
                )),
                RuleAction::Snapshot { .. } | RuleAction::Unfreeze => {
                    // The first row: the one its explanation describes.
                    scoped_by[w as usize * n_buckets + b as usize].get_or_insert(row);
                }
                _ => {}
            }
        }
        // Alerts never compete: each matching alert fires beside the rows' winners.
        for &(row, r) in &eval.alerts {
            let row = row as usize;
            if self.objects.live[row] {
                let b = self.objects.cat.bucket[row] as usize;
                scoped_by[r as usize * n_buckets + b].get_or_insert(row);
            }
        }
        let scoped: BTreeMap<(u32, u32), usize> = scoped_by
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.map(|e| (((i / n_buckets) as u32, (i % n_buckets) as u32), e)))
            .collect();

        // Freezes first: they block this pass's moves.
        for (&(r, b), &first) in &freezes {
            let rule = &policy.rules[r as usize];
            let bucket = &buckets[b as usize];
            let prefix = rule.scope.prefix.clone().unwrap_or_default();
            if self.freezes.contains_key(&(bucket.clone(), prefix.clone())) {
                continue;
            }
            let id = self.id("freeze", now);
            let anomaly = self.behaviour.anomaly(bucket, now);
            // What lifts it: the first unfreeze rule for this scope, and always the operator.
            let lifted_by = policy
                .rules
                .iter()
                .find(|u| {
                    matches!(u.action, RuleAction::Unfreeze)
                        && u.scope.bucket.as_deref().is_none_or(|b| b == bucket)
                        && u.scope.prefix.clone().unwrap_or_default() == prefix
                })
                .map_or_else(
                    || "an operator runs `tierd unfreeze`".to_string(),
                    |u| {
                        format!(
                            "rule \"{}\" lifts it (`{}`) or an operator runs `tierd unfreeze`",
                            u.id, u.when
                        )
                    },
                );
            let reason = format!(
                "Rule \"{}\" froze {}: {}; nothing is moved or deleted there until {lifted_by}.",
                rule.id,
                scope_text(bucket, &prefix),
                cause(&rule.when, anomaly.as_ref()),
            );
            let undo = Some(freeze_command(
                "unfreeze",
                bucket,
                &prefix,
                &self.undo_config,
            ));
            self.freezes.insert(
                (bucket.clone(), prefix.clone()),
                Freeze {
                    bucket: bucket.clone(),
                    prefix: prefix.clone(),
                    since: now,
                    decision_id: id.clone(),
                    rule: Some(rule.id.clone()),
                },
            );
            let explanation = Some(self.explain_row(first, r as usize, now));
            plan.decisions.push(Decision {
                id,
                at: rfc3339(now),
                action: Action::Freeze,
                bucket: Some(bucket.clone()),
                key: None,
                prefix: Some(prefix),
                from: None,
                to: None,
                rule: Some(rule.id.clone()),
                anomaly,
                reason,
                cost: None,
                undo,
                state: self.state(),
                why: None,
                explanation,
            });
        }

        for (&(r, b), &first) in &scoped {
            if plan.decisions.len() >= max {
                break;
            }
            let rule = &policy.rules[r as usize];
            let bucket = buckets[b as usize].clone();
            let prefix = rule.scope.prefix.clone().unwrap_or_default();
            if matches!(rule.action, RuleAction::Unfreeze) {
                // A freeze rule that still matches an object of the bucket holds it: an unfreeze
                // that matched other objects (a freeze whose condition holds for some objects
                // only) must not lift it while its incident is open.
                if freezes.keys().any(|&(_, fb)| fb == b) {
                    continue;
                }
                // An operator's freeze (no rule) is an operator's to lift.
                let by_rule = |f: &Freeze| f.rule.is_some();
                let key = (bucket.clone(), prefix.clone());
                if self.freezes.get(&key).is_some_and(by_rule)
                    && let Some(f) = self.lift_freeze(&bucket, &prefix)
                {
                    let id = self.id("unfreeze", now);
                    plan.decisions.push(Decision {
                        id,
                        at: rfc3339(now),
                        action: Action::Unfreeze,
                        bucket: Some(bucket.clone()),
                        key: None,
                        prefix: Some(prefix.clone()),
                        from: None,
                        to: None,
                        rule: Some(rule.id.clone()),
                        anomaly: None,
                        reason: format!(
                            "Rule \"{}\" lifted the freeze on {} opened by {} at {}: `{}` holds.",
                            rule.id,
                            scope_text(&bucket, &prefix),
                            f.decision_id,
                            rfc3339(f.since),
                            rule.when
                        ),
                        cost: None,
                        undo: Some(freeze_command(
                            "freeze",
                            &bucket,
                            &prefix,
                            &self.undo_config,
                        )),
                        state: self.state(),
                        why: None,
                        explanation: Some(self.explain_row(first, r as usize, now)),
                    });
                }
                continue;
            }
            let cooldown = if matches!(rule.action, RuleAction::Alert { .. }) {
                rule.cooldown_secs.max(MIN_ALERT_COOLDOWN_SECS)
            } else {
                rule.cooldown_secs
            } as i64;
            let key = (r, format!("{bucket}\0{prefix}"));
            if self.scope_cooldown.get(&key).is_some_and(|&u| now < u) {
                continue;
            }
            self.scope_cooldown.insert(key, now + cooldown.max(1));
            let anomaly = self.behaviour.anomaly(&bucket, now);
            let cause = cause(&rule.when, anomaly.as_ref());
            let (action, to, reason, cost) = match &rule.action {
                RuleAction::Snapshot { to } => {
                    let since = self
                        .snapshot_marks
                        .insert((bucket.clone(), prefix.clone()), now);
                    plan.snapshots.push(self.snapshot_of(
                        plan.decisions.len(),
                        (&bucket, &prefix),
                        *to as u8,
                        since,
                    ));
                    let scope = &plan.snapshots[plan.snapshots.len() - 1];
                    let copies = match since {
                        None => "its first: every object is copied".to_string(),
                        Some(m) => format!(
                            "{} object{}, {} bytes written since the snapshot of {} copied",
                            scope.copy_objects,
                            if scope.copy_objects == 1 { "" } else { "s" },
                            scope.copy_bytes,
                            rfc3339(m)
                        ),
                    };
                    (
                        Action::Snapshot,
                        Some(policy.tiers[*to].clone()),
                        format!(
                            "Rule \"{}\" snapshots {} ({} objects, {} bytes; {copies}) into \"{}\": {cause}.",
                            rule.id,
                            scope_text(&bucket, &prefix),
                            scope.objects,
                            scope.bytes,
                            policy.tiers[*to]
                        ),
                        // What the copies cost: the vault's storage of the bytes copied, and a
                        // write per object copied.
                        Some(Cost {
                            bytes: scope.copy_bytes,
                            storage_saved_per_month: Some(money(-self.cost.storage(
                                *to,
                                scope.copy_bytes,
                                MONTH_SECS as i64,
                            ))),
                            requests: Some(money(
                                scope.copy_objects as f64 * self.cost.write(*to).requests,
                            )),
                            currency: Some(self.cost.currency.clone()),
                            ..Cost::default()
                        }),
                    )
                }
                RuleAction::Alert { severity, message } => (
                    Action::Alert,
                    None,
                    format!(
                        "Rule \"{}\" raised {} alert on {}: {}; {cause}.",
                        rule.id,
                        match severity {
                            policies::model::AlertSeverity::Info => "an info",
                            policies::model::AlertSeverity::Critical => "a critical",
                            _ => "a warning",
                        },
                        scope_text(&bucket, &prefix),
                        message.as_deref().unwrap_or("its condition holds"),
                    ),
                    None,
                ),
                _ => continue,
            };
            let id = self.id(action.as_str(), now);
            let mut explanation = self.explain_row(first, r as usize, now);
            explanation.guardrails.push(format!(
                "cooldown: {} per bucket and rule; not fired on this scope within it",
                format_value(Kind::Duration, cooldown.max(1) as f64)
            ));
            plan.decisions.push(Decision {
                id,
                at: rfc3339(now),
                action,
                bucket: Some(bucket),
                key: None,
                prefix: Some(prefix),
                from: None,
                to,
                rule: Some(rule.id.clone()),
                anomaly,
                reason,
                cost,
                undo: None,
                state: self.state(),
                why: None,
                explanation: Some(explanation),
            });
        }

        // Moves: precedence, then the largest saving, then row order.
        candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.total_cmp(&a.2)).then(a.1.cmp(&b.1)));
        for (_, row, _) in candidates {
            let w = eval.winners[row];
            let rule = &policy.rules[w as usize];
            let RuleAction::Move { to } = rule.action else {
                continue;
            };
            if self.pending.contains(&(row as u32)) {
                continue;
            }
            let (bucket, key) = (self.objects.bucket_of(row), self.objects.key_of(row));
            if self.frozen(bucket, key).is_some() {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Frozen, now);
                continue;
            }
            if blackout {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Blackout, now);
                continue;
            }
            let from = usize::from(self.objects.cat.tier[row]);
            let on_tier = now - self.objects.cat.tier_since[row];
            let residency = policy
                .guardrails
                .min_residency_secs
                .get(from)
                .copied()
                .unwrap_or(0) as i64;
            if on_tier < residency {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Residency, now);
                continue;
            }
            if self
                .move_cooldown
                .get(&(w, row as u32))
                .is_some_and(|&u| now < u)
            {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Cooldown, now);
                continue;
            }
            if self
                .operator_holds
                .get(&(row as u32))
                .is_some_and(|&u| now < u)
            {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Operator, now);
                continue;
            }
            let failures = self.retries.of(row, self.objects.cat.tier_since[row]);
            if failures.is_some_and(|f| now < f.until) {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Retry, now);
                continue;
            }
            if plan.decisions.len() >= max {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::CycleLimit, now);
                continue;
            }
            let size = self.objects.cat.size[row];
            let charges = self.cost.transfer(from, to, size, on_tier);
            if let Err(limit) = self.budget_allows(now, size, charges.transfer()) {
                self.waits
                    .held(&mut plan.deferred, row, w, Guardrail::Budget(limit), now);
                continue;
            }
            self.move_cooldown
                .insert((w, row as u32), now + rule.cooldown_secs as i64);
            let mut decision = self.move_decision(row, w as usize, to, now);
            let waited = self.waits.take(row, w);
            let g = &policy.guardrails;
            let (secs, bytes) = (
                |v: i64| format_value(Kind::Duration, v as f64),
                |v: u64| format_value(Kind::Size, v as f64),
            );
            let limit = |l: Option<u64>, f: &dyn Fn(u64) -> String| {
                l.map_or("no limit".to_string(), |l| format!("limit {}", f(l)))
            };
            let count = |v: u64| v.to_string();
            let objects = |v: u64| format!("{v} object{}", if v == 1 { "" } else { "s" });
            let currency = &self.cost.currency;
            if let Some(e) = &mut decision.explanation {
                e.guardrails = vec![
                    "pin: none matches".to_string(),
                    "freeze: none open on this object's scope".to_string(),
                    "blackout: no window open".to_string(),
                    format!(
                        "minimum residency on \"{}\": {} required, {} on the tier",
                        policy.tiers.get(from).map_or("?", String::as_str),
                        secs(residency),
                        secs(on_tier)
                    ),
                    format!(
                        "cooldown: {} per object for this rule",
                        secs(rule.cooldown_secs as i64)
                    ),
                    format!(
                        "budget, this move included: this hour {} ({}) and {} ({}); today {} ({}), {} ({}) and {:.4} {currency} ({})",
                        objects(self.hour.objects),
                        limit(g.max_objects_per_hour, &count),
                        bytes(self.hour.bytes),
                        limit(g.max_bytes_per_hour, &bytes),
                        objects(self.day.objects),
                        limit(g.max_objects_per_day, &count),
                        bytes(self.day.bytes),
                        limit(g.max_bytes_per_day, &bytes),
                        self.day.money,
                        g.max_money_per_day
                            // As written: a limit of 0.001 is not "0.00".
                            .map_or("no limit".to_string(), |m| format!("limit {m}")),
                    ),
                ];
                e.guardrails.extend(waited);
                if let Some(f) = failures {
                    e.guardrails.push(format!(
                        "retry: attempt {} after {} failed, the last at {} and followed by a wait of {}",
                        f.count + 1,
                        f.count,
                        rfc3339(f.last),
                        secs(retry::backoff(f.count)),
                    ));
                }
            }
            self.pending.insert(row as u32);
            plan.moves.push(PlannedMove {
                decision: plan.decisions.len(),
                row,
                from: from as u8,
                to: to as u8,
                bytes: size,
            });
            plan.decisions.push(decision);
        }
        self.waits.forget_stale(now);
        plan
    }

    fn move_decision(&mut self, row: usize, rule: usize, to: usize, now: i64) -> Decision {
        let policy = Arc::clone(&self.policy);
        let r = &policy.rules[rule];
        let facts = self.objects.facts(row);
        let beh = self.objects.cat.behaviour_of(row);
        let eval = policy.evaluate(&facts, &beh, now);
        let why: Vec<String> = eval.outcomes[rule]
            .leaves
            .iter()
            .filter(|l| l.holds)
            .map(|l| format!("{} ({})", l.text, l.value))
            .collect();
        let from = usize::from(self.objects.cat.tier[row]);
        let size = facts.size;
        let on_tier = now - facts.tier_since;
        let c = self.cost.transfer(from, to, size, on_tier);
        let saved = self.cost.storage(from, size, MONTH_SECS as i64)
            - self.cost.storage(to, size, MONTH_SECS as i64);
        let recall = self.cost.prices[to].storage_gb_month
            > self.cost.prices[from].storage_gb_month
            || to == usize::from(self.hot);
        let cur = &self.cost.currency;
        let net = if recall {
            format!(
                "staying would save {cur} {}/month, the recall it avoids included",
                amount(facts.savings_per_month)
            )
        } else {
            format!(
                "{cur} {}/month after the move's one-off charges",
                amount(facts.savings_per_month)
            )
        };
        // (A recall to a dearer tier adds to the storage bill: said so, not as a negative saving.)
        let storage = if saved < 0.0 {
            format!("it adds {cur} {}/month in storage", amount(-saved))
        } else {
            format!("it saves {cur} {}/month in storage", amount(saved))
        };
        let horizon_days = self.cost.horizon_secs() / 86_400;
        let odds = if horizon_days == SIGNAL_DAYS as i64 {
            format!(
                "{:.0}% in 30 days",
                f64::from(facts.read_back_probability) * 100.0
            )
        } else {
            format!(
                "{:.0}% in 30 days and {:.0}% in {horizon_days} days",
                f64::from(facts.read_back_probability) * 100.0,
                f64::from(self.objects.read_back_horizon[row]) * 100.0,
            )
        };
        let reason = format!(
            "Rule \"{}\" {} {}/{} from \"{}\" to \"{}\": {}; {storage} ({net}), read-back probability {:.2}% on the day ahead, {odds} ({cur} {}/month expected).",
            r.id,
            if recall { "recalls" } else { "moves" },
            facts.bucket,
            facts.key,
            facts.tier,
            policy.tiers[to],
            if why.is_empty() {
                format!("`{}` holds", r.when)
            } else {
                why.join(", ")
            },
            f64::from(self.objects.read_back_daily[row]) * 100.0,
            amount(facts.read_back_cost_per_month),
        );
        let id = self.id("move", now);
        Decision {
            id,
            at: rfc3339(now),
            action: Action::Move,
            bucket: Some(facts.bucket.clone()),
            key: Some(facts.key.clone()),
            prefix: None,
            from: Some(facts.tier.clone()),
            to: Some(policy.tiers[to].clone()),
            rule: Some(r.id.clone()),
            // A move the model's verdict drove cites it, as a freeze or a snapshot does.
            anomaly: if r.reads_anomaly() {
                self.behaviour.anomaly(&facts.bucket, now)
            } else {
                None
            },
            reason,
            cost: Some(Cost {
                bytes: size,
                storage_saved_per_month: Some(money(saved)),
                retrieval: Some(money(c.retrieval)),
                egress: Some(money(c.egress)),
                requests: Some(money(c.requests)),
                early_deletion: (c.early_deletion > 0.0).then(|| money(c.early_deletion)),
                currency: Some(self.cost.currency.clone()),
            }),
            undo: Some(crate::decision::move_undo(
                &facts.bucket,
                &facts.key,
                &facts.tier,
                &self.undo_config,
            )),
            state: self.state(),
            why: None,
            explanation: Some(self.explain_row(row, rule, now)),
        }
    }

    /// The evaluation of one object, as an explanation of `rule`'s decision.
    fn explain_row(&self, row: usize, rule: usize, now: i64) -> Explanation {
        let facts = self.objects.facts(row);
        let beh = self.objects.cat.behaviour_of(row);
        let eval = self.policy.evaluate(&facts, &beh, now);
        let conditions = eval.outcomes[rule]
            .leaves
            .iter()
            .map(Condition::from)
            .collect();
        // Every line but the decision's own rule's (the winner's, or an alert or a freeze
        // beside it, whose line then names the winner).
        let own = format!("rule \"{}\" ", self.policy.rules[rule].id);
        let alternatives = self
            .policy
            .explain(&eval)
            .into_iter()
            .filter(|l| {
                !l.contains(" is out of scope") && !l.starts_with(&own) && l != "no rule wins"
            })
            .collect();
        Explanation {
            when: self.policy.rules[rule].when.clone(),
            conditions,
            alternatives,
            guardrails: Vec::new(),
        }
    }

    /// Records that a planned move happened (executor done, or dry run) at `t`.
    pub fn moved(&mut self, row: usize, to: u8, t: i64) {
        self.pending.remove(&(row as u32));
        self.retries.succeeded(row);
        self.objects.set_tier(row, to, t);
    }

    /// Records that a planned move did not happen because there was nothing to do (skipped,
    /// not found): it may be planned again at the next pass.
    pub fn move_ended(&mut self, row: usize) {
        self.pending.remove(&(row as u32));
    }

    /// Records that a planned move failed (or was aborted) at `t`: the object waits before it is
    /// planned again, longer after each failure ([`retry`]). Returns its failures.
    pub fn move_failed(&mut self, row: usize, t: i64) -> retry::Failures {
        self.pending.remove(&(row as u32));
        self.retries
            .failed(row, t, self.objects.cat.tier_since[row])
    }

    /// Moves planned and not yet reported back.
    pub fn pending_moves(&self) -> usize {
        self.pending.len()
    }

    /// Takes a decision recorded before a restart into the guardrails' state at `now`: a move
    /// counts in this hour's and today's budgets and restarts its rule's cooldown on the object;
    /// a snapshot or an alert restarts its rule's cooldown on its scope; a failed move makes its
    /// object wait before the next attempt. (A dry-run decision spent nothing; nor did a move an
    /// interruption came before, and one that recovery undid moved nothing, so neither restarts
    /// the cooldown.) Rules that no longer exist are ignored. Decisions are taken in the order
    /// they were recorded.
    pub fn remember(&mut self, d: &Decision, now: i64) {
        let Some(at) = policies::facts::parse_utc(&d.at) else {
            return;
        };
        if d.state == State::DryRun || at > now {
            return;
        }
        if d.state == State::Failed && d.never_started() {
            return;
        }
        // A failed move waits before the next attempt, whatever rule (or operator) made it.
        if d.action == Action::Move
            && let Some(row) = d
                .key
                .as_deref()
                .and_then(|k| self.objects.row(d.bucket.as_deref().unwrap_or_default(), k))
        {
            match d.state {
                // A move a stop cut short did not fail: it may be tried at once.
                State::Failed if d.interrupted() => {}
                State::Failed => {
                    self.retries
                        .failed(row, at, self.objects.cat.tier_since[row]);
                }
                State::Done => self.retries.succeeded(row),
                _ => {}
            }
        }
        let policy = Arc::clone(&self.policy);
        let Some(r) = d
            .rule
            .as_deref()
            .and_then(|id| policy.rules.iter().position(|x| x.id == id))
        else {
            return;
        };
        let rule = &policy.rules[r];
        let bucket = d.bucket.as_deref().unwrap_or_default();
        match d.action {
            Action::Move => {
                let c = d.cost.clone().unwrap_or_default();
                let money = [c.retrieval, c.egress, c.requests, c.early_deletion]
                    .iter()
                    .flatten()
                    .sum::<f64>();
                for (spent, len) in [(&mut self.hour, 3600), (&mut self.day, 86_400)] {
                    let period = now.div_euclid(len);
                    if at.div_euclid(len) != period {
                        continue;
                    }
                    if spent.period != period {
                        *spent = Spent {
                            period,
                            ..Spent::default()
                        };
                    }
                    spent.objects += 1;
                    spent.bytes += c.bytes;
                    spent.money += money;
                }
                let until = at + rule.cooldown_secs as i64;
                let row = d.key.as_deref().and_then(|k| self.objects.row(bucket, k));
                let moved = !(d.state == State::Failed && d.interrupted());
                if let (Some(row), true, true) = (row, until > now, moved) {
                    self.move_cooldown.insert((r as u32, row as u32), until);
                }
            }
            Action::Snapshot | Action::Alert => {
                let cooldown = if d.action == Action::Alert {
                    rule.cooldown_secs.max(MIN_ALERT_COOLDOWN_SECS)
                } else {
                    rule.cooldown_secs
                } as i64;
                let prefix = d.prefix.as_deref().unwrap_or_default();
                let until = at + cooldown.max(1);
                if until > now {
                    self.scope_cooldown
                        .insert((r as u32, format!("{bucket}\0{prefix}")), until);
                }
            }
            _ => {}
        }
    }
}

/// Why a bucket-level rule fired, for its reason: the anomaly that drove it when the cited
/// window is over its threshold; else the rule's condition, with the window cited for context
/// (a condition on a configuration change fires while the bucket's scores are ordinary).
fn cause(when: &str, anomaly: Option<&Anomaly>) -> String {
    match anomaly {
        Some(a) if a.score >= a.threshold => format!(
            "{} scored {:.2} against a threshold of {:.2}{}",
            a.subject,
            a.score,
            a.threshold,
            crate::decision::window_text(a)
        ),
        Some(a) => format!(
            "its condition `{when}` holds ({}'s strongest recent score, {:.2}, is under its threshold of {:.2})",
            a.subject, a.score, a.threshold
        ),
        None => format!("its condition `{when}` holds"),
    }
}

fn scope_text(bucket: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("bucket \"{bucket}\"")
    } else {
        format!("\"{bucket}/{prefix}\"")
    }
}

#[cfg(test)]
mod tests;
