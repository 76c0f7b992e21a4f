//! Hostile sizes: conditions nested or chained far beyond any real policy, and durations, sizes
//! and counts beyond what the planner's integer arithmetic can hold. Each is a located error (or,
//! for a long flat chain, a clean acceptance), never a stack overflow, a panic or a wrapped value.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

mod common;
use common::*;

use policies::expr::MAX_NESTING;
use policies::load::{MAX_ALERT_MESSAGE_CHARS, MAX_DURATION_SECS, MAX_SIZE_BYTES};
use policies::{Catalog, NO_RULE, ObjectFacts, run_tests};

const NOW: i64 = 1_767_614_400; // Monday 2026-01-05 12:00 UTC

/// The diagnostic for a `when` nested one level too deep, `offset` bytes into the string of
/// [`rule_when`] (which starts at column 9 of line 4).
fn too_deep_at(offset: usize) -> Vec<String> {
    vec![format!(
        "p.toml:4:{}: error: rule \"r\": expression nested more than {MAX_NESTING} deep; remove some of the parentheses or `not`s in when",
        9 + offset
    )]
}

#[test]
fn ten_thousand_nested_parentheses_are_a_located_error() {
    let n = 10_000;
    let when = format!("{}size > 1B{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(diags(&rule_when(&when)), too_deep_at(MAX_NESTING));
}

#[test]
fn two_hundred_thousand_nots_are_a_located_error() {
    let when = format!("{}size > 1B", "not ".repeat(200_000));
    assert_eq!(
        diags(&rule_when(&when)),
        too_deep_at(MAX_NESTING * "not ".len())
    );
}

#[test]
fn a_deep_condition_in_a_blackout_window_is_a_located_error() {
    let when = format!("{}hour_of_day in 9..17{}", "(".repeat(500), ")".repeat(500));
    assert_eq!(
        diags(&format!("[guardrails]\nblackout = [\"{when}\"]\n")),
        vec![format!(
            "p.toml:2:{}: error: guardrails: expression nested more than {MAX_NESTING} deep; remove some of the parentheses or `not`s in blackout",
            14 + MAX_NESTING
        )]
    );
}

#[test]
fn the_deepest_accepted_condition_evaluates_on_a_small_stack() {
    // MAX_NESTING levels (`not (` counts two) load, evaluate both ways and explain on a 256 KiB
    // thread, a quarter of what a tokio worker gets; one level more is refused.
    let half = MAX_NESTING / 2;
    let deepest = format!(
        "{}size > 1MiB and age > 1d{}",
        "not (".repeat(half),
        ")".repeat(half)
    );
    let too_deep = format!("({deepest})");
    let run = move || {
        let l = load_ok(&rule_when(&deepest));
        let mut o = ObjectFacts {
            bucket: "logs".into(),
            tier: "onprem".into(),
            size: 8 << 20,
            created: NOW - 10 * 86_400,
            last_access: NOW,
            tier_since: NOW,
            ..ObjectFacts::default()
        };
        // An even number of `not`s: the condition means `size > 1MiB and age > 1d`.
        let big = l.policy.evaluate(&o, &Default::default(), NOW);
        assert_eq!(big.winner, Some(0));
        assert!(!l.policy.explain(&big).is_empty());
        o.size = 1;
        let small = l.policy.evaluate(&o, &Default::default(), NOW);
        assert_eq!(small.winner, None);
        let mut cat = Catalog::default();
        cat.push(&o);
        o.size = 8 << 20;
        cat.push(&o);
        assert_eq!(l.policy.evaluate_columns(&cat, NOW), vec![NO_RULE, 0]);
        let copy = l.policy.clone();
        assert!(!format!("{copy:?}").is_empty());
        drop(copy);
        diags(&rule_when(&too_deep))
    };
    let out = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(out, too_deep_at(1 + (half - 1) * 5 + 4));
}

#[test]
fn a_fifty_thousand_term_and_chain_loads_and_evaluates() {
    // A flat chain is read in a loop into one list: accepted, and no pass recurses per term.
    let when = vec!["not (size < 1MiB)"; 50_000].join(" and ");
    let l = load_ok(&rule_when(&when));
    assert_eq!(l.policy.rules[0].leaves.len(), 50_000);
    let mut o = ObjectFacts {
        bucket: "logs".into(),
        tier: "onprem".into(),
        size: 2 << 20,
        ..ObjectFacts::default()
    };
    assert_eq!(
        l.policy.evaluate(&o, &Default::default(), NOW).winner,
        Some(0)
    );
    let mut cat = Catalog::default();
    cat.push(&o);
    o.size = 1 << 10;
    assert_eq!(l.policy.evaluate(&o, &Default::default(), NOW).winner, None);
    cat.push(&o);
    assert_eq!(l.policy.evaluate_columns(&cat, NOW), vec![0, NO_RULE]);
}

fn pin_with(extra: &str) -> String {
    format!("[[rule]]\nid = \"r\"\nscope = {{ bucket = \"logs\" }}\naction = \"pin\"\n{extra}\n")
}

#[test]
fn a_cooldown_beyond_the_limit_is_a_located_error() {
    assert_eq!(
        diags(&pin_with("cooldown = \"9223372036000000000s\"")),
        vec![
            "p.toml:5:13: error: rule \"r\": cooldown = \"9223372036000000000s\" is more than 36525d (100 years), the longest duration allowed; write \"7d\"",
        ]
    );
    // Just over the limit, and a number too large even for f64 (which would saturate a cast).
    let huge = format!("1{}s", "0".repeat(400));
    for c in ["36525.001d", "5219w", huge.as_str()] {
        let d = diags(&pin_with(&format!("cooldown = \"{c}\"")));
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].starts_with("p.toml:5:13: error: rule \"r\": cooldown = ")
                && d[0].contains("is more than 36525d (100 years)"),
            "{d:?}"
        );
    }
}

#[test]
fn a_min_residency_beyond_the_limit_is_a_located_error() {
    assert_eq!(
        diags("[guardrails]\nmin_residency = { cloud = \"40000d\" }\n"),
        vec![
            "p.toml:2:28: error: guardrails: min_residency.cloud = \"40000d\" is more than 36525d (100 years), the longest duration allowed; write \"7d\"",
        ]
    );
}

#[test]
fn a_byte_budget_beyond_the_limit_is_a_located_error() {
    assert_eq!(
        diags("[guardrails]\nmax_bytes_per_day = \"2000000PiB\"\n"),
        vec![
            "p.toml:2:22: error: guardrails: max_bytes_per_day = \"2000000PiB\" is more than 1024PiB, the largest size allowed; write \"500GiB\"",
        ]
    );
}

#[test]
fn test_facts_beyond_the_limits_are_located_errors() {
    let text = format!(
        "{}\n[[tests]]\nname = \"t\"\nfacts = {{ days_since_last_access = \"99999999999999999999d\", size = \"9999999PiB\", reads_1d = 5000000000, savings_per_month = nan }}\nexpect = {{ action = \"none\" }}\n",
        pin_with("")
    );
    assert_eq!(
        diags(&text),
        vec![
            "p.toml:9:37: error: test \"t\": facts.days_since_last_access = \"99999999999999999999d\" is more than 36525d (100 years), the longest duration allowed; write \"7d\"",
            "p.toml:9:69: error: test \"t\": facts.size = \"9999999PiB\" is more than 1024PiB, the largest size allowed; write \"500GiB\"",
            "p.toml:9:93: error: test \"t\": facts.reads_1d = 5000000000 is more than 4294967295, the largest count allowed; write a smaller count",
            "p.toml:9:125: error: test \"t\": facts.savings_per_month = NaN is not a finite number; write a number such as 3",
        ]
    );
}

#[test]
fn values_up_to_the_limits_still_load_and_negative_ones_are_still_refused() {
    let l = load_ok(&format!(
        "{}\n[guardrails]\nmin_residency = {{ cloud = \"100d\", vault = \"36525d\" }}\nmax_bytes_per_day = \"1024PiB\"\n\n[[tests]]\nname = \"t\"\nfacts = {{ bucket = \"logs\", days_since_last_access = \"40d\", size = \"64MiB\", reads_1d = 4294967295 }}\nexpect = {{ action = \"pin\", rule = \"r\" }}\n",
        pin_with("cooldown = \"1.5h\"")
    ));
    assert_eq!(l.policy.rules[0].cooldown_secs, 5400);
    let g = &l.policy.guardrails;
    assert_eq!(
        g.min_residency_secs,
        vec![86_400, 100 * 86_400, MAX_DURATION_SECS]
    );
    assert_eq!(MAX_DURATION_SECS, 36_525 * 86_400);
    assert_eq!(g.max_bytes_per_day, Some(MAX_SIZE_BYTES));
    let t = &l.tests[0];
    assert_eq!(t.object.size, 64 << 20);
    assert_eq!(t.object.last_access, t.now - 40 * 86_400);
    assert_eq!(t.object.reads[0], u32::MAX);
    assert!(run_tests(&l)[0].passed);
    assert_eq!(
        diags(&pin_with("cooldown = \"-5d\"")),
        vec![
            "p.toml:5:13: error: rule \"r\": cooldown is a duration but -5d is below 0; durations are never negative",
        ]
    );
}

#[test]
fn extreme_plain_numbers_are_read_exactly_or_refused() {
    let l = load_ok(&pin_with("priority = -9223372036854775808"));
    assert_eq!(l.policy.rules[0].priority, i64::MIN);
    assert_eq!(
        diags("[guardrails]\nmax_money_per_day = inf\n"),
        vec![
            "p.toml:2:21: error: guardrails: max_money_per_day = inf is not a finite number; write a daily budget in US dollars such as 25.0",
        ]
    );
}

/// A rule raising an alert with `message`, whose string starts on line 5 at column 57.
fn alert_with(message: &str) -> String {
    format!(
        "[[rule]]\nid = \"r\"\nscope = {{ bucket = \"logs\" }}\nwhen = \"size > 1B\"\naction = {{ kind = \"alert\", severity = \"info\", message = \"{message}\" }}\n"
    )
}

#[test]
fn an_alert_message_longer_than_the_limit_is_a_located_error() {
    // Every alert decision carries the message: a page-long one multiplies into gigabytes when a
    // replay keeps its decisions. The limit counts characters, not bytes.
    let longest = "é".repeat(MAX_ALERT_MESSAGE_CHARS);
    assert_eq!(diags(&alert_with(&longest)), Vec::<String>::new());
    let too_long = "é".repeat(MAX_ALERT_MESSAGE_CHARS + 1);
    assert_eq!(
        diags(&alert_with(&too_long)),
        vec![format!(
            "p.toml:5:57: error: rule \"r\": action.message is {} characters long; an alert message may have at most {MAX_ALERT_MESSAGE_CHARS} (every alert decision carries it): say what happened, and put the rest in the rule's description",
            MAX_ALERT_MESSAGE_CHARS + 1
        )]
    );
}

#[test]
fn durations_and_sizes_in_conditions_keep_the_same_bounds() {
    assert_eq!(
        diags(&rule_when("age > 36525d and size > 1024PiB")),
        Vec::<String>::new()
    );
    assert_eq!(
        diags(&rule_when("age > 36526d")),
        vec![
            "p.toml:4:15: error: rule \"r\": age is a duration but 36526d is more than 36525d (100 years), the most a policy may write".to_string()
        ]
    );
    assert_eq!(
        diags(&rule_when("size > 18446744073709551616B")),
        vec![
            "p.toml:4:16: error: rule \"r\": size is a size but 18446744073709551616B is more than 1024PiB, the most a policy may write".to_string()
        ]
    );
}
