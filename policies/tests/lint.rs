//! What `tierd check` catches beyond syntax and types: mistakes that load but do not do what
//! their author meant (a move into the vault, an empty policy set, a wildcard bucket, a freeze
//! no unfreeze rule lifts, a snapshot at every pass, ...).

mod common;

use policies::{TierSpec, load_from_strs};

/// The embedded configuration's tiers: `vault` has `role = "vault"`.
fn tiers_with_vault() -> Vec<TierSpec> {
    let mut t = common::tiers();
    t[2].vault = true;
    t
}

/// Every diagnostic of one file `p.toml`, as printed, with the vault a vault.
fn diags(text: &str) -> Vec<String> {
    match load_from_strs(&[("p.toml", text)], &tiers_with_vault()) {
        Ok(l) => l.warnings.iter().map(ToString::to_string).collect(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_move_into_the_vault_is_an_error_at_its_destination() {
    let text = "[[rule]]\nid = \"media-to-vault\"\nscope = { bucket = \"media\" }\nwhen = \"days_since_last_access > 1d\"\naction = { kind = \"move\", to = \"vault\" }\ncooldown = \"6h\"\n";
    assert_eq!(
        diags(text),
        [
            "p.toml:5:32: error: rule \"media-to-vault\": action.to = \"vault\" is a vault (role = \"vault\"), which holds snapshots only: a move puts the live copy of objects there and deletes the source; move to a data tier (onprem, cloud), or write action = { kind = \"snapshot\", to = \"vault\" } to copy objects into the vault"
        ]
    );
    // A snapshot into it is what a vault is for; a move into a data tier is fine too.
    assert_eq!(
        diags(&text.replace("\"move\"", "\"snapshot\"")),
        Vec::<String>::new()
    );
    assert_eq!(
        diags(&text.replace("to = \"vault\"", "to = \"cloud\"")),
        Vec::<String>::new()
    );
    // With no vault role, a tier named "vault" is a data tier like any other.
    assert!(common::diags(text).is_empty(), "{:?}", common::diags(text));
}

#[test]
fn a_move_without_a_destination_suggests_a_data_tier_and_a_snapshot_the_vault() {
    let text = "[[rule]]\nid = \"r\"\nscope = { bucket = \"*\" }\naction = { kind = \"move\" }\n";
    assert_eq!(
        diags(text),
        [
            "p.toml:4:10: error: rule \"r\": action \"move\" needs a destination; write action = { kind = \"move\", to = \"cloud\" } (known tiers: cloud, onprem, vault)"
        ]
    );
    assert_eq!(
        diags(&text.replace("\"move\"", "\"snapshot\"")),
        [
            "p.toml:4:10: error: rule \"r\": action \"snapshot\" needs a destination; write action = { kind = \"snapshot\", to = \"vault\" } (known tiers: cloud, onprem, vault)"
        ]
    );
}

const NO_RULES: &str = "warning: the policy set has no rules: ";

#[test]
fn a_policy_set_without_rules_is_a_warning_naming_its_files() {
    let tiers = tiers_with_vault();
    let empty = load_from_strs(&[("p.toml", "")], &tiers).unwrap();
    let shown: Vec<String> = empty.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [format!(
            "p.toml:1:1: {NO_RULES}p.toml holds no [[rule]], so tierd decides nothing (no move, and no freeze, snapshot or alert during an incident); add rules, or restore the file if a write emptied it"
        )]
    );
    let two = load_from_strs(
        &[
            ("a.toml", "# nothing yet\n"),
            ("b.toml", "[guardrails]\ndry_run = true\n"),
        ],
        &tiers,
    )
    .unwrap();
    assert_eq!(two.warnings.len(), 1, "{:?}", two.warnings);
    assert!(
        two.warnings[0].to_string().starts_with(&format!(
            "a.toml:1:1: {NO_RULES}its files (a.toml, b.toml) hold no [[rule]]"
        )),
        "{}",
        two.warnings[0]
    );
    // One rule in any file is enough; a set whose rules all have errors says so by its errors.
    let one = load_from_strs(
        &[
            ("a.toml", ""),
            (
                "b.toml",
                "[[rule]]\nid = \"p\"\nscope = { bucket = \"*\" }\naction = \"pin\"\n",
            ),
        ],
        &tiers,
    )
    .unwrap();
    assert!(one.warnings.is_empty(), "{:?}", one.warnings);
    let bad = diags("[[rule]]\nid = \"p\"\nscope = { bucket = \"*\" }\naction = \"pinn\"\n");
    assert!(bad.iter().all(|d| !d.contains(NO_RULES)), "{bad:?}");
}

/// A one-rule file whose scope is `scope`.
fn scoped(scope: &str) -> String {
    format!("[[rule]]\nid = \"s\"\nscope = {scope}\naction = \"pin\"\n")
}

#[test]
fn a_bucket_with_a_wildcard_is_an_error_that_says_how_to_match_keys() {
    assert_eq!(
        diags(&scoped("{ bucket = \"log*\" }")),
        [
            "p.toml:3:20: error: rule \"s\": scope.bucket = \"log*\" is not a bucket name: bucket takes one name, or \"*\" for every bucket (a bucket name holds only letters, digits, '.', '-' and '_'); match keys with prefix = \"logs/\" or glob = \"**.log\", and write one rule per bucket for several buckets"
        ]
    );
    for bad in ["logs/app", "a b", "[ab]", "logs?"] {
        let d = diags(&scoped(&format!("{{ bucket = \"{bad}\" }}")));
        assert!(
            d.len() == 1 && d[0].contains("is not a bucket name"),
            "{bad}: {d:?}"
        );
    }
    for good in ["logs", "my.bucket-01", "Legacy_Bucket", "*"] {
        let d = diags(&scoped(&format!("{{ bucket = \"{good}\" }}")));
        assert!(d.is_empty(), "{good}: {d:?}");
    }
}

#[test]
fn a_prefix_or_glob_without_a_bucket_is_an_error_asking_for_bucket_star() {
    assert_eq!(
        diags(&scoped("{ prefix = \"a/\" }")),
        [
            "p.toml:3:9: error: rule \"s\": scope has a prefix but no bucket; write bucket = \"*\" to apply it in every bucket, or name the bucket (bucket = \"logs\")"
        ]
    );
    assert_eq!(
        diags(&scoped("{ glob = \"**.tmp\" }")),
        [
            "p.toml:3:9: error: rule \"s\": scope has a glob but no bucket; write bucket = \"*\" to apply it in every bucket, or name the bucket (bucket = \"logs\")"
        ]
    );
    assert!(diags(&scoped("{ bucket = \"*\", prefix = \"a/\" }")).is_empty());
}

#[test]
fn square_brackets_in_a_scope_glob_are_a_warning_that_they_match_themselves() {
    assert_eq!(
        diags(&scoped("{ bucket = \"b\", glob = \"[abc]*\" }")),
        [
            "p.toml:3:32: warning: rule \"s\": scope.glob = \"[abc]*\": [...] is not glob syntax here, '[' and ']' match themselves; a glob has * (within a segment), ** (across segments) and ? (one character): write one rule per alternative"
        ]
    );
}

const FREEZE_DATA: &str = "[[rule]]\nid = \"freeze-data\"\nscope = { bucket = \"*\", prefix = \"data/\" }\nwhen = \"incident_open\"\naction = \"freeze\"\n\n";

#[test]
fn a_freeze_that_no_unfreeze_rule_lifts_is_a_warning_naming_both() {
    let thaw_all = "[[rule]]\nid = \"thaw-all\"\nscope = { bucket = \"*\" }\nwhen = \"not incident_open\"\naction = \"unfreeze\"\n";
    assert_eq!(
        diags(&format!("{FREEZE_DATA}{thaw_all}")),
        [
            "p.toml:1:1: warning: freeze rule \"freeze-data\" (bucket *, prefix \"data/\") has no unfreeze rule of the same scope: \"thaw-all\" (bucket *, no prefix) does not lift it, as an unfreeze lifts only a freeze of exactly its bucket and prefix; only tierd unfreeze will lift it; add an unfreeze rule with scope = { bucket = \"*\", prefix = \"data/\" }"
        ]
    );
    // An unfreeze of the same bucket and prefix lifts it, as does one of every bucket.
    let thaw_data = thaw_all.replace(
        "{ bucket = \"*\" }",
        "{ bucket = \"*\", prefix = \"data/\" }",
    );
    assert!(diags(&format!("{FREEZE_DATA}{thaw_data}")).is_empty());
    let logs = FREEZE_DATA.replace("bucket = \"*\"", "bucket = \"logs\"");
    assert!(diags(&format!("{logs}{thaw_data}")).is_empty());
    // No unfreeze rule at all: freezes are left to the operator on purpose.
    assert!(diags(FREEZE_DATA).is_empty());
    // An unfreeze rule of another bucket is about another freeze.
    let media = thaw_all.replace("bucket = \"*\"", "bucket = \"media\"");
    assert!(diags(&format!("{logs}{media}")).is_empty());
}

#[test]
fn a_snapshot_rule_without_a_cooldown_is_a_warning() {
    let snap = "[[rule]]\nid = \"snap\"\nscope = { bucket = \"*\" }\nwhen = \"incident_open\"\naction = { kind = \"snapshot\", to = \"vault\" }\n";
    assert_eq!(
        diags(snap),
        [
            "p.toml:1:1: warning: rule \"snap\": a snapshot with no cooldown snapshots its scope at every planning pass (every planner.interval, 1h by default) while its condition holds; set cooldown = \"6h\", or how often a new snapshot is worth its copy"
        ]
    );
    assert!(diags(&format!("{snap}cooldown = \"6h\"\n")).is_empty());
}

#[test]
fn two_tests_of_one_name_are_an_error_at_the_second() {
    let test =
        "[[tests]]\nname = \"dup\"\nfacts = { bucket = \"b\" }\nexpect = { action = \"pin\" }\n";
    let text = format!("{}{test}{test}", scoped("{ bucket = \"b\" }"));
    assert_eq!(
        diags(&text),
        [
            "p.toml:9:1: error: test \"dup\": duplicate test name; the first test \"dup\" is at p.toml:5:1; rename one of them"
        ]
    );
}

/// A rule `r` on bucket "b" with condition `when`.
fn when(cond: &str) -> String {
    format!(
        "[[rule]]\nid = \"r\"\nscope = {{ bucket = \"b\" }}\nwhen = \"{cond}\"\naction = \"pin\"\n"
    )
}

#[test]
fn a_fact_of_the_wrong_type_is_fixed_with_its_own_field() {
    let text = format!(
        "{}[[tests]]\nname = \"t\"\nfacts = {{ tier = 5 }}\nexpect = {{ action = \"pin\" }}\n",
        scoped("{ bucket = \"*\" }")
    );
    assert_eq!(
        diags(&text),
        [
            "p.toml:7:18: error: test \"t\": facts.tier must be a string, found an integer; write tier = \"onprem\""
        ]
    );
}

#[test]
fn a_duration_compared_with_a_timestamp_is_called_a_duration() {
    assert_eq!(
        diags(&when("now > 30d")),
        [
            "p.toml:4:15: error: rule \"r\": now is a timestamp but 30d is a duration; write '2026-01-31'"
        ]
    );
}

#[test]
fn an_empty_condition_says_so_once_and_in_order() {
    assert_eq!(
        diags(&when("")),
        [
            "p.toml:4:9: error: rule \"r\": when is an empty condition; write a condition such as `age > 30d`, or remove `when` to match always"
        ]
    );
}

#[test]
fn a_fractional_count_is_a_warning_in_a_condition_and_an_error_in_facts() {
    assert_eq!(
        diags(&when("reads_7d >= 2.5")),
        [
            "p.toml:4:21: warning: rule \"r\": reads_7d is a count, always a whole number, but 2.5 is not; write 2 or 3"
        ]
    );
    let text = format!(
        "{}[[tests]]\nname = \"t\"\nfacts = {{ bucket = \"b\", reads_30d = 2.5 }}\nexpect = {{ action = \"pin\" }}\n",
        scoped("{ bucket = \"b\" }")
    );
    assert_eq!(
        diags(&text),
        [
            "p.toml:7:37: error: test \"t\": facts.reads_30d = 2.5 is not a whole number, and a count is; write 2 or 3"
        ]
    );
}

#[test]
fn an_unclosed_quote_is_located_at_the_quote_with_the_fix() {
    assert_eq!(
        diags("[[rule]]\nid = 'r\nscope = 1\n"),
        [
            "p.toml:2:6: error: invalid TOML: the string opened here is not closed (invalid literal string, expected `'`); close the quote: add ' at the end of the value"
        ]
    );
    // A closed string before a comment holding a quote is no unclosed string.
    assert!(
        diags("[[rule]]\nid = \"r\" # it's\nscope = {\n")
            .iter()
            .all(|d| !d.contains("not closed")),
        "{:?}",
        diags("[[rule]]\nid = \"r\" # it's\nscope = {\n")
    );
}
