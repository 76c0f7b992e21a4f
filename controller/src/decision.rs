//! The decision record: one JSON object per decision, the same in the decision log, in
//! `tierd simulate` output and in `tierd decisions --json` (see docs/decisions.md).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a decision does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Action {
    Move,
    Snapshot,
    Freeze,
    Unfreeze,
    Pin,
    Alert,
    /// A snapshot restored to a bucket (an operator's decision).
    Restore,
    /// The catalog of a bucket made to say what the tiers hold (`tierd reconcile`: an operator's
    /// decision; only the catalog changed).
    Reconcile,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Move => "move",
            Action::Snapshot => "snapshot",
            Action::Freeze => "freeze",
            Action::Unfreeze => "unfreeze",
            Action::Pin => "pin",
            Action::Alert => "alert",
            Action::Restore => "restore",
            Action::Reconcile => "reconcile",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a decision is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Planned,
    Running,
    Done,
    Failed,
    Skipped,
    DryRun,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Planned => "planned",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
            State::Skipped => "skipped",
            State::DryRun => "dry-run",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A feature that drove an anomaly score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub value: f64,
    pub baseline: f64,
    /// How far off: robust standard deviations of `ln(1 + x)` above the baseline (none in
    /// records written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deviation: Option<f64>,
}

/// The anomaly behind a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    pub subject: String,
    pub score: f64,
    pub threshold: f64,
    pub model: String,
    pub top_features: Vec<Feature>,
    /// The scored window: its start (RFC 3339 UTC) and length (seconds). A later decision of
    /// the same incident may cite an earlier window: this says when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<i64>,
    /// The principal behind the window: the subject's own, or for a bucket subject the
    /// principal in the bucket that scored highest in the same window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// When and whose an anomaly's window was, for a reason: ` (in the 5-min window from
/// 2026-11-09T00:10:00Z, principal alice)`; empty for a record without them.
pub fn window_text(a: &Anomaly) -> String {
    let mut parts = Vec::new();
    if let (Some(start), Some(secs)) = (&a.window_start, a.window_secs) {
        let len = if secs % 60 == 0 {
            format!("{}-min", secs / 60)
        } else {
            format!("{secs}-s")
        };
        parts.push(format!("in the {len} window from {start}"));
    }
    if let Some(p) = a
        .principal
        .as_deref()
        .filter(|_| !a.subject.starts_with("principal:"))
    {
        parts.push(format!("principal {p}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// Expected money (in the configured currency) and bytes of a decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_saved_per_month: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retrieval: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<f64>,
    /// Storage still owed for a tier's minimum duration when the object leaves it early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_deletion: Option<f64>,
    /// The currency of the money above (`costs.currency` when the decision was priced); absent
    /// when nothing is priced (an operator's move) and in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// One decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Unique; deterministic in simulate.
    pub id: String,
    /// RFC 3339 UTC: when the decision was taken (event time in simulate).
    pub at: String,
    pub action: Action,
    pub bucket: Option<String>,
    pub key: Option<String>,
    pub prefix: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The id of the rule that fired; `None` for an operator's command.
    pub rule: Option<String>,
    pub anomaly: Option<Anomaly>,
    /// One sentence a person understands.
    pub reason: String,
    pub cost: Option<Cost>,
    /// How to reverse it, as a tierd command.
    pub undo: Option<String>,
    pub state: State,
    /// Why it was skipped or failed; `None` otherwise.
    pub why: Option<String>,
    /// The evaluation behind a rule's decision, for `tierd explain` (absent from operators'
    /// decisions and from records written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<Explanation>,
}

/// How a move's `why` begins when recovery undid it after an interruption (not a failure of the
/// move itself: a failed move's wait does not count it).
pub const UNDONE_BY_RECOVERY: &str = "undone by recovery after an interruption";
/// How a move's `why` begins when an interruption came before it started.
pub const NEVER_STARTED: &str = "interrupted before the move started";

/// The kind that begins the id of an operator's move decision (`tierd move`, `tierd recall`):
/// `op-<time>-<sequence>`.
pub const OPERATOR_MOVE_KIND: &str = "op";

/// Whether the decision `id` is an operator's move (`tierd move`, `tierd recall`), not the
/// service's.
pub fn is_operator_move(id: &str) -> bool {
    id.strip_prefix(OPERATOR_MOVE_KIND)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// How the `why` of an operator's move begins when the command was stopped (a signal, a kill)
/// before the move started: `skipped`, as the command has no next pass to decide it again.
pub const OPERATOR_STOPPED: &str =
    "the operator's command was stopped before this object's move started";

/// The whole `why` of an operator's move not started because a stop `signal` (`SIGINT`,
/// `SIGTERM`) came first.
pub fn operator_stopped_why(signal: &str) -> String {
    format!(
        "{OPERATOR_STOPPED} (by {signal}): nothing was copied or deleted; run the command again to continue"
    )
}

/// The whole `why` recovery gives an operator's move whose command ended (killed, the machine
/// stopped) before the move started.
pub fn operator_killed_why() -> String {
    format!(
        "{OPERATOR_STOPPED} (the process ended before it could record so: killed, or the machine stopped): nothing was copied or deleted; run the command again to continue"
    )
}

/// How a snapshot's `why` begins when a stop was asked for before it started.
pub const SNAPSHOT_NEVER_STARTED: &str = "interrupted before the snapshot started";

impl Decision {
    /// The state a metric counts the decision under: its `state`, except that a decision an
    /// interruption ended (a crash, a stop; recorded `failed`, or `skipped` for an operator's
    /// move, with a `why` saying so) is `interrupted`, not a failure of the move or snapshot an
    /// alert should page for.
    pub fn metric_state(&self) -> &'static str {
        let interrupted = [
            NEVER_STARTED,
            UNDONE_BY_RECOVERY,
            SNAPSHOT_NEVER_STARTED,
            SNAPSHOT_INTERRUPTED,
        ];
        match (&self.state, &self.why) {
            (State::Failed, Some(why)) if interrupted.iter().any(|p| why.starts_with(p)) => {
                "interrupted"
            }
            (State::Skipped, Some(why)) if why.starts_with(OPERATOR_STOPPED) => "interrupted",
            (state, _) => state.as_str(),
        }
    }
}

/// The whole `why` of a move an interruption (a crash, or a stop asked for) came before: nothing
/// was touched, and it is no failure of the move.
pub fn never_started_why() -> String {
    format!("{NEVER_STARTED} (nothing was copied or deleted); the next pass decides again")
}

/// How a snapshot's `why` begins when recovery found its decision open: the process stopped
/// before the snapshot was recorded.
pub const SNAPSHOT_INTERRUPTED: &str = "interrupted before the snapshot was recorded";

/// The whole `why` recovery gives a snapshot decision it found open: no snapshot was made, and
/// it spent nothing a guardrail counts (the next pass takes it again).
pub fn snapshot_interrupted_why(copies: &str) -> String {
    format!("{SNAPSHOT_INTERRUPTED} (no snapshot was made; {copies}); the next pass decides again")
}

/// The whole `why` of a move not started because its destination tier kept failing in this
/// pass (`detail` says which): nothing was touched, and it is no failure of the move.
pub fn tier_down_why(detail: &str) -> String {
    format!(
        "{NEVER_STARTED} (nothing was copied or deleted): {detail}; the next pass decides again"
    )
}

/// [`never_started_why`] for a snapshot.
pub fn snapshot_never_started_why() -> String {
    format!("{SNAPSHOT_NEVER_STARTED} (nothing was copied); the next pass decides again")
}

impl Decision {
    /// Whether this failed move was only cut short by a stop (recovery undid it, or it never
    /// started), rather than failing.
    pub fn interrupted(&self) -> bool {
        self.why
            .as_deref()
            .is_some_and(|w| w.starts_with(UNDONE_BY_RECOVERY) || w.starts_with(NEVER_STARTED))
    }

    /// Whether this failed move or snapshot never started (an interruption came first): it
    /// copied and spent nothing.
    pub fn never_started(&self) -> bool {
        self.why.as_deref().is_some_and(|w| {
            [NEVER_STARTED, SNAPSHOT_NEVER_STARTED, SNAPSHOT_INTERRUPTED]
                .iter()
                .any(|p| w.starts_with(p))
        })
    }

    /// The record of an operator's move of one object (`tierd move`, `tierd recall`) as it
    /// starts: `running`, no rule, anomaly or cost, and undone by a move back to `from`.
    pub fn operator_move(
        id: String,
        at: String,
        (bucket, key): (&str, &str),
        (from, to): (Option<&str>, &str),
        reason: String,
    ) -> Decision {
        Decision {
            id,
            at,
            action: Action::Move,
            bucket: Some(bucket.to_string()),
            key: Some(key.to_string()),
            prefix: None,
            from: from.map(str::to_string),
            to: Some(to.to_string()),
            rule: None,
            anomaly: None,
            reason,
            cost: None,
            undo: from.map(|f| move_undo(bucket, key, f, "")),
            state: State::Running,
            why: None,
            explanation: None,
        }
    }
}

/// One test of a rule's condition with the value it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// As written (`days_since_last_access > 7d`).
    pub test: String,
    /// The signal's value (`41d`, `'onprem'`, `$0.35 vs $0.02`).
    pub value: String,
    pub holds: bool,
}

impl From<&policies::eval::LeafValue> for Condition {
    fn from(l: &policies::eval::LeafValue) -> Condition {
        Condition {
            test: l.text.clone(),
            value: l.value.clone(),
            holds: l.holds,
        }
    }
}

/// What the planner weighed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The rule's `when` as written, with its `and`, `or`, `not` and brackets (absent from records
    /// written before it was added).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub when: String,
    /// The winning rule's `when`, test by test (for a bucket-level decision: as the first object
    /// in scope saw it).
    pub conditions: Vec<Condition>,
    /// Every other rule that could apply and why it did not win.
    pub alternatives: Vec<String>,
    /// The guardrails checked, each with its verdict.
    pub guardrails: Vec<String>,
}

/// `text` on one line, for a table row or a line of `explain`: each run of line breaks (and the
/// indentation after them) becomes one space. A store's error body (an S3 XML error) can span
/// lines; a record keeps it whole, a row of a table must not be split by it.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['\n', '\r']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut lines = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty());
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for l in lines {
        out.push(' ');
        out.push_str(l);
    }
    std::borrow::Cow::Owned(out)
}

/// `arg` as one shell word, for the commands decisions print (`undo`): as it is when it holds
/// only characters no shell treats specially, else in single quotes (a `'` inside written
/// `'\''`). `photos/summer holiday/beach (1).jpg` → `'photos/summer holiday/beach (1).jpg'`.
pub fn shell_word(arg: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        std::borrow::Cow::Borrowed(arg)
    } else {
        std::borrow::Cow::Owned(format!("'{}'", arg.replace('\'', "'\\''")))
    }
}

/// The command that moves `bucket/key` back `to` its tier (a move's `undo`), each argument one
/// shell word; `config` is [`config_arg`]'s.
pub fn move_undo(bucket: &str, key: &str, to: &str, config: &str) -> String {
    format!(
        "tierd move {} --to {}{config}",
        shell_word(&format!("{bucket}/{key}")),
        shell_word(to)
    )
}

/// The reason of an operator's freeze of every bucket; `because` is empty, or `: ` and the
/// operator's words.
pub fn every_bucket_freeze_reason(because: &str) -> String {
    format!("{EVERY_BUCKET_FROZE}{because}{EVERY_BUCKET_HOLDS}")
}

/// The operator's words in a reason [`every_bucket_freeze_reason`] wrote, if it has any.
pub fn every_bucket_freeze_because(reason: &str) -> Option<&str> {
    let r = reason
        .strip_prefix(EVERY_BUCKET_FROZE)?
        .strip_prefix(": ")?;
    r.strip_suffix(EVERY_BUCKET_HOLDS)
}

const EVERY_BUCKET_FROZE: &str = "An operator froze every bucket";
const EVERY_BUCKET_HOLDS: &str =
    "; nothing is moved or deleted anywhere until an operator runs `tierd unfreeze --all-buckets`.";

/// `tierd freeze` or `tierd unfreeze` (`command`) of `bucket` and, unless empty, `--prefix`
/// (`--all-buckets` for [`EVERY_BUCKET`](crate::journal::freezes::EVERY_BUCKET)): a freeze's or an
/// unfreeze's `undo`, each argument one shell word; `config` is [`config_arg`]'s.
pub fn freeze_command(command: &str, bucket: &str, prefix: &str, config: &str) -> String {
    if bucket == crate::journal::freezes::EVERY_BUCKET {
        return format!("tierd {command} --all-buckets{config}");
    }
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!(" --prefix {}", shell_word(prefix))
    };
    format!("tierd {command} {}{prefix}{config}", shell_word(bucket))
}

/// ` --config PATH` (absolute, one shell word) for the commands decisions print, so that a
/// pasted `undo` acts on the journal and tiers of the configuration the decision was made
/// with; empty for the embedded defaults.
pub fn config_arg(path: Option<&std::path::Path>) -> String {
    path.map_or_else(String::new, |p| {
        let p = absolute_as_written(p);
        format!(" --config {}", shell_word(&p.to_string_lossy()))
    })
}

/// `p` made absolute (against the working folder) with its `.` and `..` resolved as written,
/// not through links: `../w/tierd.toml` from `/srv/x` is `/srv/w/tierd.toml`. As it is when the
/// working folder is unknown.
pub fn absolute_as_written(p: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let Ok(abs) = std::path::absolute(p) else {
        return p.to_path_buf();
    };
    let mut clean = std::path::PathBuf::new();
    for c in abs.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                clean.pop();
            }
            other => clean.push(other),
        }
    }
    clean
}

/// RFC 3339 UTC with seconds, the record's time format.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_operators_words_are_read_back_from_the_reason_of_a_freeze_of_every_bucket() {
        use super::{every_bucket_freeze_because, every_bucket_freeze_reason};
        let reason = every_bucket_freeze_reason(": array swap; ticket 12");
        assert_eq!(
            reason,
            "An operator froze every bucket: array swap; ticket 12; nothing is moved or deleted anywhere until an operator runs `tierd unfreeze --all-buckets`."
        );
        assert_eq!(
            every_bucket_freeze_because(&reason),
            Some("array swap; ticket 12")
        );
        assert_eq!(
            every_bucket_freeze_because(&every_bucket_freeze_reason("")),
            None
        );
        assert_eq!(
            every_bucket_freeze_because("An operator froze bucket \"b\": x"),
            None
        );
    }

    use super::*;

    #[test]
    fn a_config_argument_is_absolute_with_its_dots_resolved() {
        let cwd = std::env::current_dir().unwrap();
        let parent = cwd.parent().unwrap_or(&cwd);
        assert_eq!(
            config_arg(Some(std::path::Path::new("../w/./tierd.toml"))),
            format!(" --config {}", parent.join("w/tierd.toml").display())
        );
        assert_eq!(config_arg(None), "");
    }

    #[test]
    fn a_decision_an_interruption_ended_is_counted_apart_from_failures() {
        let mut d = Decision::operator_move(
            "op-1".into(),
            "2026-10-13T14:00:00Z".into(),
            ("photos", "a.jpg"),
            (Some("onprem"), "cloud"),
            "An operator ran `tierd move`.".into(),
        );
        d.state = State::Failed;
        for why in [
            never_started_why(),
            format!("{UNDONE_BY_RECOVERY}: interrupted before the copy was complete"),
            format!("{SNAPSHOT_NEVER_STARTED} (nothing copied)"),
            snapshot_interrupted_why("its copies removed"),
        ] {
            d.why = Some(why);
            assert_eq!(d.metric_state(), "interrupted", "{:?}", d.why);
        }
        d.why = Some("gave up after 5 attempts: connection refused".into());
        assert_eq!(d.metric_state(), "failed");
        d.state = State::Skipped;
        for why in [operator_stopped_why("SIGINT"), operator_killed_why()] {
            d.why = Some(why);
            assert_eq!(d.metric_state(), "interrupted", "{:?}", d.why);
        }
        d.why = Some("already on cloud".into());
        assert_eq!(d.metric_state(), "skipped");
        d.state = State::Done;
        d.why = None;
        assert_eq!(d.metric_state(), "done");
    }

    #[test]
    fn only_an_operator_move_id_is_taken_for_one() {
        assert!(is_operator_move("op-20261201T014000Z-000001"));
        for id in ["move-20261201T014000Z-000001", "open-1", "snap-1", "op"] {
            assert!(!is_operator_move(id), "{id}");
        }
    }

    #[test]
    fn a_text_over_several_lines_is_shown_on_one() {
        assert_eq!(
            one_line(
                "404 Not Found: <?xml version=\"1.0\"?>\r\n<Error>\n  <Code>NoSuchBucket</Code>\n</Error> (failure 1)"
            ),
            "404 Not Found: <?xml version=\"1.0\"?> <Error> <Code>NoSuchBucket</Code> </Error> (failure 1)"
        );
        assert!(matches!(
            one_line("one line"),
            std::borrow::Cow::Borrowed("one line")
        ));
    }

    #[test]
    fn a_shell_word_is_quoted_only_when_a_shell_would_split_or_expand_it() {
        assert_eq!(shell_word("photos/2026/a.jpg"), "photos/2026/a.jpg");
        assert_eq!(
            shell_word("photos/summer holiday/beach (1).jpg"),
            "'photos/summer holiday/beach (1).jpg'"
        );
        assert_eq!(shell_word("b/it's $HOME"), "'b/it'\\''s $HOME'");
        assert_eq!(shell_word("b/café"), "'b/café'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn a_decision_serialises_with_the_contract_field_names() {
        let d = Decision {
            id: "d-1".into(),
            at: "2026-11-29T10:00:00Z".into(),
            action: Action::Move,
            bucket: Some("photos".into()),
            key: Some("a.jpg".into()),
            prefix: None,
            from: Some("onprem".into()),
            to: Some("cloud".into()),
            rule: None,
            anomaly: None,
            reason: "An operator asked to move it.".into(),
            cost: Some(Cost {
                bytes: 10,
                ..Cost::default()
            }),
            undo: Some("tierd recall photos/a.jpg".into()),
            state: State::DryRun,
            why: None,
            explanation: None,
        };
        let v = serde_json::to_value(&d).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "id", "at", "action", "bucket", "key", "prefix", "from", "to", "rule", "anomaly",
            "reason", "cost", "undo", "state",
        ] {
            assert!(keys.contains(&k), "missing {k}");
        }
        assert_eq!(v["state"], "dry-run");
        assert_eq!(v["action"], "move");
        let back: Decision = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);
    }
}
