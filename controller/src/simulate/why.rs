//! `tierd simulate --why BUCKET/KEY`: why the replay moved an object, or did not.
//!
//! For the objects named (at most [`MAX_OBJECTS`]) and for no other, the replay notes each event
//! (writes, reads, a delete) and, at each planning pass, how the policy saw the object
//! ([`Planner::evaluate_row`]), whether a guardrail held its move ([`Planner::held_at`]) and the
//! decisions about it. Passes in a row with the same outcome (the same rule wins, held by the
//! same guardrail, or no rule wins) make one stretch of the object's timeline; the verdict of
//! the last pass is kept whole: every rule that applies with each test's value, and what a move
//! would cost. Without `--why` nothing here runs.
//!
//! # Guarantees
//! It reads the planner's state and changes none of it: the decisions are the same with or
//! without `--why`, and the same `--why` gives the same answer on every run.

use serde::Serialize;

use crate::decision::{Action, Decision};
use crate::journal::freezes::EVERY_BUCKET;
use crate::planner::objects::{ObjectTable, Touch};
use crate::planner::verdict::{Held, RowVerdict};
use crate::planner::{Plan, Planner};

/// At most this many objects may be named.
pub const MAX_OBJECTS: usize = 20;
/// Decisions kept per object (the rest are counted).
const MAX_DECISIONS: usize = 100;
/// Timeline stretches and held runs kept per object (the rest are counted).
const MAX_STRETCHES: usize = 200;
/// Key names shown for an object the replay did not see.
const NEAREST: usize = 3;

/// Times as the decision records write them (RFC 3339, UTC).
mod utc {
    pub fn serialize<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&policies::facts::format_utc(*t))
    }

    pub mod option {
        pub fn serialize<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => super::serialize(t, s),
                None => s.serialize_none(),
            }
        }
    }
}

/// A decision about the object, with the id `tierd explain ID --log OUT` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRef {
    pub id: String,
    pub at: String,
    pub action: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub rule: Option<String>,
}

/// What one pass made of the object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The winning rule, and what it does (`move to "cloud"`).
    pub winner: Option<String>,
    pub action: String,
    /// The winner's tests with their values (`days_since_last_access > 7d (8d: yes)`).
    pub tests: String,
    /// The move rule a guardrail held back, and the guardrail (`the minimum residency`).
    pub held: Option<(String, &'static str)>,
    /// The id of the move decided at this pass.
    pub decision: Option<String>,
}

/// Passes in a row with the same outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stretch {
    /// The first and the last pass.
    #[serde(with = "utc")]
    pub from: i64,
    #[serde(with = "utc")]
    pub to: i64,
    pub passes: u64,
    /// The winning rule (`null`: no rule wins), its action, and its tests with their values
    /// at the first pass.
    pub winner: Option<String>,
    pub action: String,
    pub tests: String,
    /// The move rule a guardrail held back in these passes, and the guardrail.
    pub held_rule: Option<String>,
    pub held_by: Option<String>,
    /// The move decided (a stretch of one pass).
    pub decision: Option<String>,
    /// The last pass number, to tell passes in a row (not shown).
    #[serde(skip)]
    last_pass: u64,
}

/// A run of passes in which the same guardrail held the same rule's move back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldRun {
    pub rule: String,
    pub guardrail: String,
    #[serde(with = "utc")]
    pub from: i64,
    #[serde(with = "utc")]
    pub to: i64,
    pub passes: u64,
    #[serde(skip)]
    last_pass: u64,
}

/// The verdict of the last pass that saw the object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastPass {
    #[serde(with = "utc")]
    pub at: i64,
    #[serde(flatten)]
    pub verdict: RowVerdict,
}

/// What the replay did with one named object, and why.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ObjectWhy {
    /// `BUCKET/KEY` as given.
    pub object: String,
    /// Whether the replay saw the object; if not, `message` says what it saw instead.
    pub found: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub size: u64,
    /// When the replay first knew the object, and its tier then; its tier at the end (`null`:
    /// deleted).
    #[serde(with = "utc::option")]
    pub first_seen: Option<i64>,
    pub tier_at_start: Option<String>,
    pub tier_at_end: Option<String>,
    pub writes: u64,
    #[serde(with = "utc::option")]
    pub last_write: Option<i64>,
    pub reads: u64,
    #[serde(with = "utc::option")]
    pub last_read: Option<i64>,
    #[serde(with = "utc::option")]
    pub deleted: Option<i64>,
    pub decisions: Vec<DecisionRef>,
    pub decisions_omitted: u64,
    pub held: Vec<HeldRun>,
    pub timeline: Vec<Stretch>,
    /// Stretches and held runs past the first [`MAX_STRETCHES`].
    pub timeline_omitted: u64,
    pub last_pass: Option<LastPass>,
}

impl ObjectWhy {
    /// Adds one pass's outcome (pass number `pass`, at `t`) to the timeline and the held runs.
    pub fn pass(&mut self, pass: u64, t: i64, o: Outcome) {
        let follows = |last: u64| last + 1 == pass;
        let held_rule = o.held.as_ref().map(|h| h.0.clone());
        let held_by = o.held.as_ref().map(|h| h.1.to_string());
        let same = self.timeline.last().is_some_and(|s| {
            follows(s.last_pass)
                && s.decision.is_none()
                && o.decision.is_none()
                && s.winner == o.winner
                && s.held_rule == held_rule
                && s.held_by == held_by
        });
        let full = self.timeline.len() >= MAX_STRETCHES;
        match self.timeline.last_mut() {
            Some(s) if same => {
                s.to = t;
                s.passes += 1;
                s.last_pass = pass;
            }
            _ if full => self.timeline_omitted += 1,
            _ => self.timeline.push(Stretch {
                from: t,
                to: t,
                passes: 1,
                winner: o.winner,
                action: o.action,
                tests: o.tests,
                held_rule,
                held_by,
                decision: o.decision,
                last_pass: pass,
            }),
        }
        let Some((rule, guardrail)) = o.held else {
            return;
        };
        let same = self
            .held
            .last()
            .is_some_and(|h| follows(h.last_pass) && h.rule == rule && h.guardrail == guardrail);
        let full = self.held.len() >= MAX_STRETCHES;
        match self.held.last_mut() {
            Some(h) if same => {
                h.to = t;
                h.passes += 1;
                h.last_pass = pass;
            }
            _ if full => self.timeline_omitted += 1,
            _ => self.held.push(HeldRun {
                rule,
                guardrail: guardrail.to_string(),
                from: t,
                to: t,
                passes: 1,
                last_pass: pass,
            }),
        }
    }

    fn decision(&mut self, d: &Decision) {
        if self.decisions.len() >= MAX_DECISIONS {
            self.decisions_omitted += 1;
            return;
        }
        self.decisions.push(DecisionRef {
            id: d.id.clone(),
            at: d.at.clone(),
            action: d.action.as_str().to_string(),
            from: d.from.clone(),
            to: d.to.clone(),
            rule: d.rule.clone(),
        });
    }
}

/// The guardrail that held a wait at this pass: the one whose count rose since `before`, the
/// same wait at the pass before (or, for a wait that starts, the one that counted).
pub fn guardrail_now(held: &Held, before: Option<&Held>) -> &'static str {
    let same = before.filter(|b| b.rule == held.rule && b.since == held.since);
    let count = |name: &str| {
        same.and_then(|b| b.passes.iter().find(|p| p.0 == name))
            .map_or(0, |p| p.1)
    };
    held.passes
        .iter()
        .find(|(name, n)| *n > count(name))
        .or(held.passes.first())
        .map_or("a guardrail", |p| p.0)
}

/// One named object being followed.
#[derive(Debug)]
struct Followed {
    bucket: String,
    key: String,
    row: Option<usize>,
    /// Its wait after the last pass, to tell which guardrail held it at the next.
    wait: Option<Held>,
    why: ObjectWhy,
}

/// The objects `--why` names, followed through the replay.
#[derive(Debug, Default)]
pub struct Tracker {
    followed: Vec<Followed>,
    /// The object table's length when the unfound objects were last looked up.
    rows_seen: usize,
    passes: u64,
}

impl Tracker {
    /// Follows `objects` ((bucket, key), each once).
    pub fn new(objects: &[(String, String)]) -> Tracker {
        let mut followed: Vec<Followed> = Vec::new();
        for (bucket, key) in objects {
            if followed
                .iter()
                .any(|f| &f.bucket == bucket && &f.key == key)
            {
                continue;
            }
            followed.push(Followed {
                bucket: bucket.clone(),
                key: key.clone(),
                row: None,
                wait: None,
                why: ObjectWhy {
                    object: format!("{bucket}/{key}"),
                    ..ObjectWhy::default()
                },
            });
        }
        Tracker {
            followed,
            ..Tracker::default()
        }
    }

    /// Whether any object is followed: without one, the replay calls nothing here.
    pub fn active(&self) -> bool {
        !self.followed.is_empty()
    }

    /// Looks up the objects not found yet, when the table has grown.
    fn resolve(&mut self, table: &ObjectTable, t: i64) {
        if table.len() == self.rows_seen {
            return;
        }
        self.rows_seen = table.len();
        for f in self.followed.iter_mut().filter(|f| f.row.is_none()) {
            if let Some(row) = table.row(&f.bucket, &f.key) {
                f.row = Some(row);
                f.why.found = true;
                f.why.first_seen = Some(t);
                let tier = usize::from(table.cat.tier[row]);
                f.why.tier_at_start = table.cat.tier_names.get(tier).cloned();
            }
        }
    }

    /// An event at `t` that did `touch` to the table.
    pub fn event(&mut self, touch: Touch, t: i64, table: &ObjectTable) {
        self.resolve(table, t);
        let row = match touch {
            Touch::Read { row, .. } | Touch::Write { row, .. } | Touch::Delete { row, .. } => row,
            Touch::None => return,
        };
        let Some(f) = self.followed.iter_mut().find(|f| f.row == Some(row)) else {
            return;
        };
        let w = &mut f.why;
        match touch {
            Touch::Read { .. } => {
                w.reads += 1;
                w.last_read = Some(t);
            }
            Touch::Write { .. } => {
                w.writes += 1;
                w.last_write = Some(t);
                w.deleted = None;
            }
            Touch::Delete { .. } => w.deleted = Some(t),
            Touch::None => {}
        }
    }

    /// The pass at `t` planned `plan` (call it before the plan's moves are applied).
    pub fn pass(&mut self, planner: &Planner, plan: &Plan, t: i64) {
        self.resolve(&planner.objects, t);
        self.passes += 1;
        for f in &mut self.followed {
            let Some(row) = f.row else {
                continue;
            };
            if !planner.objects.live[row] {
                continue;
            }
            let mut decided = None;
            for d in plan
                .decisions
                .iter()
                .filter(|d| covers(d, &f.bucket, &f.key))
            {
                f.why.decision(d);
                if d.action == Action::Move {
                    decided = Some(d.id.clone());
                }
            }
            let verdict = planner.evaluate_row(row, t);
            let held = planner.held_at(row, t);
            let outcome = Outcome {
                winner: verdict.winner.clone(),
                action: verdict.action.clone(),
                tests: verdict
                    .conditions
                    .iter()
                    .map(|c| {
                        let yes = if c.holds { "yes" } else { "no" };
                        format!("{} ({}: {yes})", c.test, c.value)
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                held: held
                    .as_ref()
                    .map(|h| (h.rule.clone(), guardrail_now(h, f.wait.as_ref()))),
                decision: decided,
            };
            f.wait = held;
            f.why.pass(self.passes, t, outcome);
            f.why.last_pass = Some(LastPass { at: t, verdict });
        }
    }

    /// The answers, in the order the objects were named, at the end of the replay.
    pub fn finish(self, table: &ObjectTable) -> Vec<ObjectWhy> {
        self.followed
            .into_iter()
            .map(|f| {
                let mut why = f.why;
                match f.row {
                    Some(row) => {
                        why.size = table.cat.size[row];
                        why.tier_at_end = table.live[row]
                            .then(|| {
                                table
                                    .cat
                                    .tier_names
                                    .get(usize::from(table.cat.tier[row]))
                                    .cloned()
                            })
                            .flatten();
                    }
                    None => why.message = Some(not_found(table, &f.bucket, &f.key)),
                }
                why
            })
            .collect()
    }
}

/// Whether decision `d` acts on `bucket/key`: a move of it, or a freeze, an unfreeze or a
/// snapshot whose scope holds it (alerts act on nothing).
fn covers(d: &Decision, bucket: &str, key: &str) -> bool {
    if d.action == Action::Alert {
        return false;
    }
    match (d.bucket.as_deref(), d.key.as_deref()) {
        (Some(b), Some(k)) => b == bucket && k == key,
        (Some(b), None) => {
            (b == bucket || b == EVERY_BUCKET)
                && key.starts_with(d.prefix.as_deref().unwrap_or_default())
        }
        _ => false,
    }
}

/// Why `bucket/key` has no answer: the objects the replay saw in the bucket and the names
/// nearest the key (sharing the longest prefix with it), or the buckets it saw.
fn not_found(table: &ObjectTable, bucket: &str, key: &str) -> String {
    let names = &table.cat.bucket_names;
    let Some(b) = names.iter().position(|n| n == bucket) else {
        let shown: Vec<String> = names.iter().take(10).map(|n| format!("\"{n}\"")).collect();
        let more = names.len().saturating_sub(shown.len());
        return format!(
            "the replay saw no bucket \"{bucket}\"; its buckets: {}{}",
            if shown.is_empty() {
                "none".to_string()
            } else {
                shown.join(", ")
            },
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    };
    let common = |k: &str| {
        k.chars()
            .zip(key.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    let (mut seen, mut nearest) = (0usize, Vec::<(usize, &str)>::new());
    for row in (0..table.len()).filter(|&r| table.cat.bucket[r] as usize == b) {
        seen += 1;
        let k = table.key_of(row);
        let n = common(k);
        if n > 0 {
            nearest.push((n, k));
            nearest.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(y.1)));
            nearest.truncate(NEAREST);
        }
    }
    let mut text = format!(
        "the replay saw no object \"{key}\" in bucket \"{bucket}\" (it saw {} there, deleted ones included)",
        crate::cli::common::plural(seen, "object", "objects")
    );
    if !nearest.is_empty() {
        let shown: Vec<String> = nearest.iter().map(|(_, k)| format!("\"{k}\"")).collect();
        text.push_str(&format!("; the nearest names: {}", shown.join(", ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(
        winner: Option<&str>,
        held: Option<&'static str>,
        decision: Option<&str>,
    ) -> Outcome {
        Outcome {
            winner: winner.map(str::to_string),
            action: winner.map_or(String::new(), |_| "move to \"cloud\"".to_string()),
            tests: String::new(),
            held: held.map(|g| ("idle".to_string(), g)),
            decision: decision.map(str::to_string),
        }
    }

    #[test]
    fn passes_with_the_same_outcome_make_one_stretch_and_a_held_run_counts_its_passes() {
        let mut w = ObjectWhy::default();
        let residency = "the minimum residency";
        let passes = [
            outcome(None, None, None),
            outcome(None, None, None),
            outcome(Some("idle"), Some(residency), None),
            outcome(Some("idle"), Some(residency), None),
            outcome(Some("idle"), Some(residency), None),
            outcome(Some("idle"), None, Some("move-1")),
            outcome(None, None, None),
        ];
        for (i, o) in passes.into_iter().enumerate() {
            w.pass(i as u64 + 1, 3600 * (i as i64 + 1), o);
        }
        let stretches: Vec<_> = w
            .timeline
            .iter()
            .map(|s| {
                (
                    s.winner.as_deref(),
                    s.held_by.as_deref(),
                    s.decision.as_deref(),
                    s.passes,
                    s.from,
                    s.to,
                )
            })
            .collect();
        assert_eq!(
            stretches,
            vec![
                (None, None, None, 2, 3600, 7200),
                (Some("idle"), Some(residency), None, 3, 10_800, 18_000),
                (Some("idle"), None, Some("move-1"), 1, 21_600, 21_600),
                (None, None, None, 1, 25_200, 25_200),
            ]
        );
        assert_eq!(w.held.len(), 1);
        let h = &w.held[0];
        assert_eq!(
            (
                h.rule.as_str(),
                h.guardrail.as_str(),
                h.from,
                h.to,
                h.passes
            ),
            ("idle", residency, 10_800, 18_000, 3)
        );
    }

    #[test]
    fn a_pass_that_did_not_see_the_object_breaks_a_stretch_and_each_decision_is_its_own() {
        let mut w = ObjectWhy::default();
        w.pass(1, 3600, outcome(None, None, None));
        // Pass 2 did not see it (deleted, then written again).
        w.pass(3, 10_800, outcome(None, None, None));
        w.pass(4, 14_400, outcome(Some("idle"), None, Some("move-1")));
        w.pass(5, 18_000, outcome(Some("idle"), None, Some("move-2")));
        w.pass(6, 21_600, outcome(Some("idle"), Some("a budget"), None));
        w.pass(8, 28_800, outcome(Some("idle"), Some("a budget"), None));
        assert_eq!(w.timeline.len(), 6);
        assert_eq!(w.held.len(), 2, "a gap ends a held run");
        assert_eq!(w.timeline_omitted, 0);
    }

    #[test]
    fn the_timeline_keeps_its_first_stretches_and_counts_the_rest() {
        let mut w = ObjectWhy::default();
        for pass in 1..=(MAX_STRETCHES as u64 + 5) {
            let winner = if pass % 2 == 0 { Some("idle") } else { None };
            w.pass(pass, pass as i64 * 3600, outcome(winner, None, None));
        }
        assert_eq!(w.timeline.len(), MAX_STRETCHES);
        assert_eq!(w.timeline_omitted, 5);
    }

    #[test]
    fn the_guardrail_of_a_pass_is_the_one_whose_count_rose() {
        let held = |since: i64, passes: Vec<(&'static str, u32)>| Held {
            rule: "idle".into(),
            since,
            passes,
        };
        let before = held(3600, vec![("an open freeze", 2), ("a budget", 1)]);
        let now = held(3600, vec![("an open freeze", 2), ("a budget", 2)]);
        assert_eq!(guardrail_now(&now, Some(&before)), "a budget");
        // A wait that starts (another rule's before, or none): the one that counted.
        let fresh = held(7200, vec![("the minimum residency", 1)]);
        assert_eq!(
            guardrail_now(&fresh, Some(&before)),
            "the minimum residency"
        );
        assert_eq!(guardrail_now(&fresh, None), "the minimum residency");
    }

    #[test]
    fn events_of_a_followed_object_are_counted_and_an_unseen_one_is_said_with_the_nearest_names() {
        use crate::planner::objects::tests::ev;
        use models::OpClass;
        let mut table = ObjectTable::new(&["onprem".to_string(), "cloud".to_string()]);
        let named = |k: &str| ("b".to_string(), k.to_string());
        let mut tracker = Tracker::new(&[named("docs/a"), named("docs/c"), named("docs/a")]);
        for (t, op, key) in [
            (100, OpClass::Put, "docs/a"),
            (150, OpClass::Put, "docs/b"),
            (200, OpClass::Get, "docs/a"),
            (300, OpClass::Get, "docs/a"),
            (400, OpClass::Delete, "docs/a"),
        ] {
            let touch = table.observe(&ev(t, op, key), 0);
            tracker.event(touch, t, &table);
        }
        let whys = tracker.finish(&table);
        assert_eq!(whys.len(), 2, "named twice, answered once");
        let a = &whys[0];
        assert_eq!(
            (
                a.found,
                a.first_seen,
                a.tier_at_start.as_deref(),
                a.tier_at_end.as_deref()
            ),
            (true, Some(100), Some("onprem"), None)
        );
        assert_eq!(
            (a.writes, a.last_write, a.reads, a.last_read, a.deleted),
            (1, Some(100), 2, Some(300), Some(400))
        );
        assert_eq!(
            whys[1].message.as_deref(),
            Some(
                "the replay saw no object \"docs/c\" in bucket \"b\" (it saw 2 objects there, deleted ones included); the nearest names: \"docs/a\", \"docs/b\""
            )
        );
        assert!(!whys[1].found);
    }

    #[test]
    fn a_decision_covers_the_object_it_moves_and_the_scopes_that_hold_it() {
        let d = |action: Action, bucket: &str, key: Option<&str>, prefix: Option<&str>| Decision {
            id: "x".into(),
            at: String::new(),
            action,
            bucket: Some(bucket.into()),
            key: key.map(str::to_string),
            prefix: prefix.map(str::to_string),
            from: None,
            to: None,
            rule: None,
            anomaly: None,
            reason: String::new(),
            cost: None,
            undo: None,
            state: crate::decision::State::DryRun,
            why: None,
            explanation: None,
        };
        assert!(covers(
            &d(Action::Move, "b", Some("docs/a"), None),
            "b",
            "docs/a"
        ));
        assert!(!covers(
            &d(Action::Move, "b", Some("docs/ab"), None),
            "b",
            "docs/a"
        ));
        assert!(covers(
            &d(Action::Freeze, "b", None, Some("docs/")),
            "b",
            "docs/a"
        ));
        assert!(!covers(
            &d(Action::Freeze, "b", None, Some("logs/")),
            "b",
            "docs/a"
        ));
        assert!(covers(
            &d(Action::Freeze, EVERY_BUCKET, None, Some("")),
            "b",
            "docs/a"
        ));
        assert!(!covers(
            &d(Action::Alert, "b", None, Some("")),
            "b",
            "docs/a"
        ));
    }
}
