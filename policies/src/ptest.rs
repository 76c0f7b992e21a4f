//! Running the `[[tests]]` blocks of policy files.

use crate::model::{Expect, Loaded, Origin, PolicySet};

/// The result of one `[[tests]]` block.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    pub name: String,
    /// Where the `[[tests]]` header is.
    pub origin: Origin,
    pub passed: bool,
    /// On failure: what was expected, what happened, and why (the evaluation explained).
    pub message: Option<String>,
}

impl std::fmt::Display for TestOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            None => write!(f, "{}: test \"{}\" ... ok", self.origin, self.name),
            Some(m) => write!(f, "{}: test \"{}\" ... FAILED: {m}", self.origin, self.name),
        }
    }
}

/// Runs every test of a loaded policy set, in file order: the winner, and the side channels
/// (`expect.alerts`, `expect.freeze`) when the test gives them.
pub fn run_tests(loaded: &Loaded) -> Vec<TestOutcome> {
    let p = &loaded.policy;
    loaded
        .tests
        .iter()
        .map(|t| {
            let e = p.evaluate(&t.object, &t.behaviour, t.now);
            let mut failures: Vec<String> =
                winner_failure(p, &t.expect, e.winner).into_iter().collect();
            if let Some(want) = &t.expect_alerts {
                let got: Vec<&str> = e.alerts.iter().map(|&i| p.rules[i].id.as_str()).collect();
                let (mut a, mut b) = (
                    want.iter().map(String::as_str).collect::<Vec<_>>(),
                    got.clone(),
                );
                a.sort_unstable();
                a.dedup();
                b.sort_unstable();
                if a != b {
                    failures.push(format!(
                        "expected alerts {}, got {}",
                        quoted(want.iter().map(String::as_str)),
                        quoted(got.into_iter())
                    ));
                }
            }
            if let Some(want) = &t.expect_freeze {
                let got = e.frozen_by.map(|i| p.rules[i].id.as_str());
                if got != Some(want.as_str()) {
                    failures.push(format!(
                        "expected freeze \"{want}\", got {}",
                        got.map_or("no freeze".to_string(), |id| format!("freeze \"{id}\""))
                    ));
                }
            }
            let message = (!failures.is_empty())
                .then(|| format!("{}; {}", failures.join("; "), p.explain(&e).join("; ")));
            TestOutcome {
                name: t.name.clone(),
                origin: t.origin.clone(),
                passed: failures.is_empty(),
                message,
            }
        })
        .collect()
}

/// `["a", "b"]`, or `[]`.
fn quoted<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<String> = ids.map(|id| format!("\"{id}\"")).collect();
    format!("[{}]", list.join(", "))
}

/// What is wrong with the winner, if the test's `expect` does not hold.
fn winner_failure(p: &PolicySet, expect: &Expect, winner: Option<usize>) -> Option<String> {
    let got = winner.map(|w| &p.rules[w]);
    let ok = match (expect, got) {
        (Expect::Any, _) | (Expect::Nothing, None) => true,
        (Expect::Action { kind, to, rule }, Some(r)) => {
            r.action.kind() == kind
                && to
                    .as_ref()
                    .is_none_or(|to| r.action.target().map(|i| &p.tiers[i]) == Some(to))
                && rule.as_ref().is_none_or(|id| *id == r.id)
        }
        _ => false,
    };
    if ok {
        return None;
    }
    let got_text = match got {
        Some(r) => format!("rule \"{}\" ({})", r.id, p.describe_action(&r.action)),
        None => "no action".to_string(),
    };
    let want = match expect {
        Expect::Any | Expect::Nothing => "no action".to_string(),
        Expect::Action { kind, to, rule } => {
            let mut s = kind.clone();
            if let Some(to) = to {
                s.push_str(&format!(" to \"{to}\""));
            }
            if let Some(r) = rule {
                s = format!("rule \"{r}\" ({s})");
            }
            s
        }
    };
    Some(format!("expected {want}, got {got_text}"))
}
