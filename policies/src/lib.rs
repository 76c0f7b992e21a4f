//! tierd policy files: the rule language, located validation and rule evaluation.
//!
//! Operators write policy files (TOML with `[[rule]]`, `[guardrails]` and `[[tests]]`); this crate
//! turns them into a validated [`PolicySet`] or into every problem at once, each located at
//! `path:line:col` (inside the `when` string when the problem is in a condition), and evaluates
//! the set either for one object ([`PolicySet::evaluate`], with the story for `tierd explain`) or
//! for a whole columnar catalog ([`PolicySet::evaluate_columns`]) with the same semantics.
//! The user reference is `docs/policy-reference.md`.
//!
//! # Layout
//!
//! | module | what lives there |
//! |---|---|
//! | [`signals`] | the closed signal table: name, kind, unit, range, doc — the contract with the models crate |
//! | [`expr`] | lexer and recursive-descent parser of `when` strings, with byte spans |
//! | [`cond`] | type-checking a parsed `when` into a [`cond::Cond`] tree of typed leaves |
//! | [`load`](mod@load) | files → spanned TOML → [`Loaded`]; unknown fields, types, units, tiers |
//! | [`check`] | whole-set passes: duplicate ids, moves to the current tier, ping-pong, shadowed rules |
//! | [`lint`] | policies that load but miss their intent: no rules, unlifted freezes, snapshots at every pass, duplicate test names |
//! | [`eval`] | one-object evaluation, conflict semantics, explanations |
//! | [`columnar`] | the columnar [`Catalog`] and the chunked, vectorised evaluator |
//! | [`ptest`] | running `[[tests]]` blocks |
//! | [`facts`] | object and behaviour facts, time helpers shared by both evaluators |
//! | [`diag`] | located diagnostics |
//!
//! # Example
//!
//! ```
//! use policies::{BehaviourFacts, ObjectFacts, TierSpec, load_from_strs};
//!
//! let tiers = [
//!     TierSpec { name: "onprem".into(), min_storage_days: 0, vault: false },
//!     TierSpec { name: "cloud".into(), min_storage_days: 90, vault: false },
//! ];
//! let file = r#"
//! [[rule]]
//! id = "cold-to-cloud"
//! scope = { bucket = "logs" }
//! when = "days_since_last_access > 90d and size >= 1MiB"
//! action = { kind = "move", to = "cloud" }
//! "#;
//! let loaded = load_from_strs(&[("cold.toml", file)], &tiers).map_err(|d| d[0].to_string())?;
//! let now = 1_767_614_400; // 2026-01-05T12:00:00Z
//! let obj = ObjectFacts {
//!     bucket: "logs".into(),
//!     key: "2025/app.log.gz".into(),
//!     tier: "onprem".into(),
//!     size: 8 << 20,
//!     last_access: now - 120 * 86_400,
//!     ..ObjectFacts::default()
//! };
//! let e = loaded.policy.evaluate(&obj, &BehaviourFacts::default(), now);
//! assert_eq!(e.winner.map(|w| loaded.policy.rules[w].id.as_str()), Some("cold-to-cloud"));
//!
//! // A mistake is reported at its line and column, with the fix.
//! let bad = file.replace("90d", "90");
//! let errors = load_from_strs(&[("cold.toml", &bad)], &tiers).err().unwrap_or_default();
//! assert_eq!(
//!     errors[0].to_string(),
//!     "cold.toml:5:34: error: rule \"cold-to-cloud\": days_since_last_access is a duration \
//!      but 90 has no unit; write 90d (units: s, m, h, d, w)"
//! );
//! # Ok::<(), String>(())
//! ```

pub mod check;
pub mod columnar;
pub mod cond;
pub mod diag;
pub mod eval;
pub mod expr;
pub mod facts;
pub mod glob;
pub mod lint;
pub mod load;
pub mod model;
pub mod ptest;
pub mod signals;

pub use columnar::{Catalog, ColumnEvaluation, NO_RULE};
pub use diag::{Diagnostic, Severity};
pub use eval::{Evaluation, Verdict};
pub use facts::{BehaviourFacts, ObjectFacts};
pub use load::{load, load_from_strs};
pub use model::{Action, Guardrails, Loaded, PolicySet, Rule, Scope};
pub use ptest::{TestOutcome, run_tests};

/// A tier as policies see it: its name and its minimum storage duration charge.
#[derive(Debug, Clone, PartialEq)]
pub struct TierSpec {
    pub name: String,
    /// Days a tier charges for at minimum; the default minimum residency on that tier.
    pub min_storage_days: u32,
    /// A vault (`role = "vault"` in the configuration): it holds snapshots only, so a move (which
    /// puts the live copy of objects on its destination) may not name it.
    pub vault: bool,
}
