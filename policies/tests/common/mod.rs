// Shared by the integration tests of the policies crate.
#![allow(dead_code)]

use policies::{Loaded, TierSpec, load_from_strs};

pub fn tiers() -> Vec<TierSpec> {
    vec![
        TierSpec {
            name: "onprem".into(),
            min_storage_days: 0,
            vault: false,
        },
        TierSpec {
            name: "cloud".into(),
            min_storage_days: 90,
            vault: false,
        },
        TierSpec {
            name: "vault".into(),
            min_storage_days: 0,
            vault: false,
        },
    ]
}

/// Loads one file named `p.toml` and returns every diagnostic as printed.
pub fn diags(text: &str) -> Vec<String> {
    match load_from_strs(&[("p.toml", text)], &tiers()) {
        Ok(l) => l.warnings.iter().map(ToString::to_string).collect(),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

pub fn load_ok(text: &str) -> Loaded {
    match load_from_strs(&[("p.toml", text)], &tiers()) {
        Ok(l) => l,
        Err(d) => panic!(
            "expected a valid policy, got:\n{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A one-rule file with the given `when` (and a move to cloud).
pub fn rule_when(when: &str) -> String {
    format!(
        "[[rule]]\nid = \"r\"\nscope = {{ bucket = \"logs\" }}\nwhen = \"{when}\"\naction = {{ kind = \"move\", to = \"cloud\" }}\n"
    )
}
