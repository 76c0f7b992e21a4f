//! Warnings about policies that load but do not do what their author meant: an empty policy set,
//! a freeze no unfreeze rule lifts, a snapshot taken at every planning pass, two tests of one
//! name. Run by [`lint`] once the whole set is checked.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::diag::Diagnostic;
use crate::model::{Action, Origin, PolicySet, PolicyTest, Rule};

/// Every pass of this module, over the checked `policy`, its resolved `tests`, and the `files`
/// it was loaded from (in the order given).
pub fn lint(
    policy: &PolicySet,
    tests: &[PolicyTest],
    files: &[PathBuf],
    diags: &mut Vec<Diagnostic>,
) {
    check_empty(policy, files, diags);
    check_unlifted_freezes(policy, diags);
    check_snapshot_cooldowns(policy, diags);
    check_duplicate_test_names(tests, diags);
}

fn at(o: &Origin) -> (usize, usize) {
    (o.line, o.col)
}

/// A policy set with no rule decides nothing: no move, and no freeze, snapshot or alert during an
/// incident either. Most often a file emptied by a truncated write. A warning at the first file,
/// naming every file, unless the set has errors (a set whose every rule is refused is reported
/// by those errors).
pub fn check_empty(policy: &PolicySet, files: &[PathBuf], diags: &mut Vec<Diagnostic>) {
    if !policy.rules.is_empty() || diags.iter().any(Diagnostic::is_error) {
        return;
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let first = files.first().cloned().unwrap_or_default();
    let (which, verb) = match names.len() {
        1 => (names[0].clone(), "holds"),
        _ => (format!("its files ({})", names.join(", ")), "hold"),
    };
    diags.push(Diagnostic::warning(
        &first,
        (1, 1),
        format!(
            "the policy set has no rules: {which} {verb} no [[rule]], so tierd decides nothing (no move, and no freeze, snapshot or alert during an incident); add rules, or restore the file if a write emptied it"
        ),
    ));
}

/// `bucket *, prefix "data/"`: the scope a freeze opens and an unfreeze lifts (a glob does not
/// narrow either).
fn freeze_scope(r: &Rule) -> String {
    let bucket = r
        .scope
        .bucket
        .as_deref()
        .map_or("*".to_string(), |b| format!("\"{b}\""));
    match &r.scope.prefix {
        Some(p) => format!("bucket {bucket}, prefix \"{p}\""),
        None => format!("bucket {bucket}, no prefix"),
    }
}

/// The scope as a policy writes it: `{ bucket = "*", prefix = "data/" }`.
fn freeze_scope_toml(r: &Rule) -> String {
    let bucket = r.scope.bucket.as_deref().unwrap_or("*");
    match &r.scope.prefix {
        Some(p) => format!("{{ bucket = \"{bucket}\", prefix = \"{p}\" }}"),
        None => format!("{{ bucket = \"{bucket}\" }}"),
    }
}

/// A freeze whose scope no unfreeze rule lifts although an unfreeze rule covers its bucket: an
/// unfreeze lifts only a freeze of exactly its bucket and prefix, so only `tierd unfreeze` will
/// lift this one. (A policy with no unfreeze rule over the bucket leaves freezes to the operator
/// on purpose.)
pub fn check_unlifted_freezes(policy: &PolicySet, diags: &mut Vec<Diagnostic>) {
    let unfreezes: Vec<&Rule> = policy
        .rules
        .iter()
        .filter(|r| r.action == Action::Unfreeze)
        .collect();
    for f in policy.rules.iter().filter(|r| r.action == Action::Freeze) {
        // The buckets the freeze opens on that an unfreeze rule also decides on.
        let near: Vec<&&Rule> = unfreezes
            .iter()
            .filter(|u| {
                f.scope.bucket.is_none()
                    || u.scope.bucket.is_none()
                    || u.scope.bucket == f.scope.bucket
            })
            .collect();
        let lifts = |u: &&&Rule| {
            (u.scope.bucket.is_none() || u.scope.bucket == f.scope.bucket)
                && u.scope.prefix == f.scope.prefix
        };
        if near.is_empty() || near.iter().any(lifts) {
            continue;
        }
        let named: Vec<String> = near
            .iter()
            .map(|u| format!("\"{}\" ({})", u.id, freeze_scope(u)))
            .collect();
        diags.push(Diagnostic::warning(
            &f.origin.path,
            at(&f.origin),
            format!(
                "freeze rule \"{}\" ({}) has no unfreeze rule of the same scope: {} {} not lift it, as an unfreeze lifts only a freeze of exactly its bucket and prefix; only tierd unfreeze will lift it; add an unfreeze rule with scope = {}",
                f.id,
                freeze_scope(f),
                named.join(", "),
                if named.len() == 1 { "does" } else { "do" },
                freeze_scope_toml(f)
            ),
        ));
    }
}

/// A snapshot rule without a cooldown snapshots its scope at every planning pass while its
/// condition holds.
pub fn check_snapshot_cooldowns(policy: &PolicySet, diags: &mut Vec<Diagnostic>) {
    for r in &policy.rules {
        if matches!(r.action, Action::Snapshot { .. }) && r.cooldown_secs == 0 {
            diags.push(Diagnostic::warning(
                &r.origin.path,
                at(&r.origin),
                format!(
                    "rule \"{}\": a snapshot with no cooldown snapshots its scope at every planning pass (every planner.interval, 1h by default) while its condition holds; set cooldown = \"6h\", or how often a new snapshot is worth its copy",
                    r.id
                ),
            ));
        }
    }
}

/// Two `[[tests]]` of one name: an error at the later one, as the per-test output could not tell
/// them apart.
pub fn check_duplicate_test_names(tests: &[PolicyTest], diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Origin> = HashMap::new();
    for t in tests {
        match first.get(t.name.as_str()) {
            Some(f) => diags.push(Diagnostic::error(
                &t.origin.path,
                at(&t.origin),
                format!(
                    "test \"{}\": duplicate test name; the first test \"{}\" is at {f}; rename one of them",
                    t.name, t.name
                ),
            )),
            None => {
                first.insert(&t.name, &t.origin);
            }
        }
    }
}
