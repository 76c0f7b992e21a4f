//! The checked policy: rules, guardrails and tests, as [`load`](crate::load()) produces them.

use std::path::PathBuf;

use crate::cond::{Cond, Leaf};
use crate::glob::Glob;
use crate::{Diagnostic, TierSpec};

/// Where something was written: a file and a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
    }
}

/// What a rule does when it wins.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Action {
    /// Move the object to a tier (a move back on-premise is a recall). `to` indexes [`PolicySet::tiers`].
    Move { to: usize },
    /// Copy the object into a tier (normally the vault), incrementally, with a manifest.
    Snapshot { to: usize },
    /// Stop tierd moving or deleting anything in the rule's scope.
    Freeze,
    /// Lift a freeze on the rule's scope.
    Unfreeze,
    /// Never move the object (residency, compliance).
    Pin,
    /// Raise an alert.
    Alert {
        severity: AlertSeverity,
        message: Option<String>,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Move { .. } => "move",
            Action::Snapshot { .. } => "snapshot",
            Action::Freeze => "freeze",
            Action::Unfreeze => "unfreeze",
            Action::Pin => "pin",
            Action::Alert { .. } => "alert",
        }
    }

    /// The destination tier of a move or snapshot.
    pub fn target(&self) -> Option<usize> {
        match self {
            Action::Move { to } | Action::Snapshot { to } => Some(*to),
            _ => None,
        }
    }

    pub fn is_move(&self) -> bool {
        matches!(self, Action::Move { .. })
    }

    pub fn is_alert(&self) -> bool {
        matches!(self, Action::Alert { .. })
    }
}

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AlertSeverity {
    Info,
    Warning,
    Critical,
}

/// Which objects a rule may touch. All parts must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// `None` = every bucket (`bucket = "*"`).
    pub bucket: Option<String>,
    /// Keys starting with this text.
    pub prefix: Option<String>,
    /// Keys matching this glob (`*` within a segment, `**` across).
    pub glob: Option<Glob>,
}

impl Scope {
    pub fn matches(&self, bucket: &str, key: &str) -> bool {
        self.bucket.as_deref().is_none_or(|b| b == bucket)
            && self.prefix.as_deref().is_none_or(|p| key.starts_with(p))
            && self.glob.as_ref().is_none_or(|g| g.is_match(key))
    }

    /// True if every object in `other` is also in `self` (conservative: may say false when true).
    pub fn contains(&self, other: &Scope) -> bool {
        let bucket = match (&self.bucket, &other.bucket) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        let prefix = match (&self.prefix, &other.prefix) {
            (None, _) => true,
            (Some(a), Some(b)) => b.starts_with(a.as_str()),
            (Some(_), None) => false,
        };
        let glob = match (&self.glob, &other.glob) {
            (None, _) => true,
            (Some(a), Some(b)) => a == b,
            (Some(_), None) => false,
        };
        bucket && prefix && glob
    }

    /// True if some object may be in both scopes (conservative: may say true when false).
    pub fn overlaps(&self, other: &Scope) -> bool {
        let bucket = match (&self.bucket, &other.bucket) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        let prefix = match (&self.prefix, &other.prefix) {
            (Some(a), Some(b)) => a.starts_with(b.as_str()) || b.starts_with(a.as_str()),
            _ => true,
        };
        bucket && prefix
    }

    /// `bucket "logs", prefix "2024/"` for messages.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!(
            "bucket {}",
            self.bucket
                .as_deref()
                .map_or("*".to_string(), |b| format!("\"{b}\""))
        )];
        if let Some(p) = &self.prefix {
            parts.push(format!("prefix \"{p}\""));
        }
        if let Some(g) = &self.glob {
            parts.push(format!("glob \"{}\"", g.as_str()));
        }
        parts.join(", ")
    }
}

/// One checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub description: Option<String>,
    pub scope: Scope,
    /// The `when` text as written (`"true"` when absent).
    pub when: String,
    pub cond: Cond,
    /// The leaves of `cond`, each a test on one signal, for evaluation and explanation.
    pub leaves: Vec<Leaf>,
    pub action: Action,
    /// Higher wins; default 0.
    pub priority: i64,
    /// Seconds during which the rule does not fire again on the same scope (enforced by the planner).
    pub cooldown_secs: u64,
    /// Where the `[[rule]]` header is.
    pub origin: Origin,
}

/// A time window during which nothing is moved.
#[derive(Debug, Clone)]
pub struct Window {
    pub when: String,
    pub cond: Cond,
    pub leaves: Vec<Leaf>,
}

/// Limits the planner enforces on whatever the rules decide.
#[derive(Debug, Clone, Default)]
pub struct Guardrails {
    /// Per tier (indexed like [`PolicySet::tiers`]): seconds an object must stay on it before it may be moved off.
    pub min_residency_secs: Vec<u64>,
    pub max_bytes_per_hour: Option<u64>,
    pub max_bytes_per_day: Option<u64>,
    pub max_objects_per_hour: Option<u64>,
    pub max_objects_per_day: Option<u64>,
    /// USD per UTC day of expected retrieval, egress, request and early-deletion charges.
    pub max_money_per_day: Option<f64>,
    pub max_concurrency: Option<u32>,
    pub blackout: Vec<Window>,
    pub dry_run: bool,
    /// Where the `[guardrails]` table is, if one was written.
    pub origin: Option<Origin>,
}

/// A validated set of rules from all policy files.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// Tier names, from the main configuration.
    pub tiers: Vec<String>,
    /// Rules in file order (files in the order given).
    pub rules: Vec<Rule>,
    /// Rule indices in precedence order: priority descending, then file order.
    pub order: Vec<usize>,
    pub guardrails: Guardrails,
    /// The currency money values are shown in, in explanations (`USD 0.0012`): the main
    /// configuration's `costs.currency`; `USD` unless the controller sets it.
    pub currency: String,
}

impl PolicySet {
    /// The index of a tier name.
    pub fn tier_index(&self, name: &str) -> Option<usize> {
        self.tiers.iter().position(|t| t == name)
    }

    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// A one-line description of an action (`move to "cloud"`).
    pub fn describe_action(&self, a: &Action) -> String {
        match a.target() {
            Some(t) => format!(
                "{} to \"{}\"",
                a.kind(),
                self.tiers.get(t).map_or("?", String::as_str)
            ),
            None => a.kind().to_string(),
        }
    }

    pub(crate) fn tier_specs_default(tiers: &[TierSpec]) -> Vec<u64> {
        tiers
            .iter()
            .map(|t| (u64::from(t.min_storage_days) * 86_400).max(DEFAULT_MIN_RESIDENCY_SECS))
            .collect()
    }
}

/// The least time an object stays on a tier before tierd moves it off again, unless the policy's
/// `guardrails.min_residency` says otherwise for that tier: one day, so that two rules (or a
/// rule and a recall) can never move an object back and forth pass after pass on tiers that
/// charge no minimum storage duration. A tier's `min_storage_days` raises it.
pub const DEFAULT_MIN_RESIDENCY_SECS: u64 = 86_400;

/// What a `[[tests]]` block expects of the winner.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// No rule wins.
    Nothing,
    /// An action of this kind (and, if given, to this tier and by this rule) wins.
    Action {
        kind: String,
        to: Option<String>,
        rule: Option<String>,
    },
    /// Whatever wins (`expect.action` left out): the test asserts only `expect.alerts` or
    /// `expect.freeze`.
    Any,
}

/// A test embedded in a policy file.
#[derive(Debug, Clone)]
pub struct PolicyTest {
    pub name: String,
    pub object: crate::facts::ObjectFacts,
    pub behaviour: crate::facts::BehaviourFacts,
    pub now: i64,
    pub expect: Expect,
    /// `expect.alerts`: the ids of exactly the alert rules that fire (in any order), if given.
    pub expect_alerts: Option<Vec<String>>,
    /// `expect.freeze`: the id of the freeze opened beside the winner, if given.
    pub expect_freeze: Option<String>,
    /// Where the `[[tests]]` header is.
    pub origin: Origin,
}

/// The result of [`load`](crate::load()): a policy set that passed every check, its warnings, its tests.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub policy: PolicySet,
    /// Problems that do not stop the policy from loading (sorted by location).
    pub warnings: Vec<Diagnostic>,
    pub tests: Vec<PolicyTest>,
}
