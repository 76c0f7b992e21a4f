//! Running the `[[tests]]` blocks of policy files.

use crate::model::{Expect, Loaded, Origin};

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

/// Runs every test of a loaded policy set, in file order.
pub fn run_tests(loaded: &Loaded) -> Vec<TestOutcome> {
    let p = &loaded.policy;
    loaded
        .tests
        .iter()
        .map(|t| {
            let e = p.evaluate(&t.object, &t.behaviour, t.now);
            let got = e.winner.map(|w| &p.rules[w]);
            let got_text = match got {
                Some(r) => format!("rule \"{}\" ({})", r.id, p.describe_action(&r.action)),
                None => "no action".to_string(),
            };
            let ok = match (&t.expect, got) {
                (Expect::Nothing, None) => true,
                (Expect::Action { kind, to, rule }, Some(r)) => {
                    r.action.kind() == kind
                        && to
                            .as_ref()
                            .is_none_or(|to| r.action.target().map(|i| &p.tiers[i]) == Some(to))
                        && rule.as_ref().is_none_or(|id| *id == r.id)
                }
                _ => false,
            };
            let want = match &t.expect {
                Expect::Nothing => "no action".to_string(),
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
            let message = (!ok).then(|| {
                format!(
                    "expected {want}, got {got_text}; {}",
                    p.explain(&e).join("; ")
                )
            });
            TestOutcome {
                name: t.name.clone(),
                origin: t.origin.clone(),
                passed: ok,
                message,
            }
        })
        .collect()
}
