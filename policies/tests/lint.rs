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
    let text = "[[rule]]\nid = \"media-to-vault\"\nscope = { bucket = \"media\" }\nwhen = \"days_since_last_access > 1d\"\naction = { kind = \"move\", to = \"vault\" }\n";
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
