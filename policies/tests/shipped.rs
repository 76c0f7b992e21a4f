//! The shipped examples and the reference stay true: every example policy loads warning-free and
//! passes its tests, and every signal is documented with an example that compiles.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

mod common;
use common::*;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn example_files() -> Vec<PathBuf> {
    let dir = root().join("examples/policies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn the_example_policies_load_together_without_warnings_and_pass_their_tests() {
    let files = example_files();
    assert!(
        files.len() >= 5,
        "expected the example policies in examples/policies, found {files:?}"
    );
    let loaded = match policies::load(&files, &tiers()) {
        Ok(l) => l,
        Err(d) => panic!(
            "{}",
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    assert_eq!(loaded.warnings, vec![], "warnings in the examples");
    let outcomes = policies::run_tests(&loaded);
    assert!(outcomes.len() >= 15, "only {} tests", outcomes.len());
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.passed)
        .map(ToString::to_string)
        .collect();
    assert_eq!(failed, Vec::<String>::new());
}

#[test]
fn each_example_policy_passes_its_tests_on_its_own() {
    for f in example_files() {
        let loaded = policies::load(std::slice::from_ref(&f), &tiers())
            .map_err(|d| format!("{}: {d:?}", f.display()));
        let failed: Vec<String> = loaded
            .iter()
            .flat_map(policies::run_tests)
            .filter(|o| !o.passed)
            .map(|o| o.to_string())
            .collect();
        assert!(
            loaded.is_ok() && failed.is_empty(),
            "{}: {loaded:?} {failed:?}",
            f.display()
        );
    }
}

#[test]
fn every_signal_is_documented_with_an_example_that_compiles() {
    let doc = std::fs::read_to_string(root().join("docs/policy-reference.md")).unwrap_or_default();
    let doc = doc.split("## Signals").nth(1).unwrap_or("");
    for s in policies::signals::SIGNALS {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{}` |", s.name)));
        let Some(row) = row else {
            panic!("signal {} is not in docs/policy-reference.md", s.name)
        };
        let example = row
            .trim_end_matches('|')
            .trim_end()
            .rsplit('|')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('`');
        assert!(
            example.contains(s.name),
            "the example for {} does not use it: {example}",
            s.name
        );
        let d = diags(&rule_when(example).replace(
            "action = { kind = \"move\", to = \"cloud\" }",
            "action = \"pin\"",
        ));
        assert_eq!(
            d,
            Vec::<String>::new(),
            "the documented example for {} does not compile",
            s.name
        );
    }
}
