//! Golden tests: the exact text of every diagnostic kind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

mod common;
use common::*;

#[test]
fn an_unknown_tier_in_action_to_lists_the_known_tiers_and_the_nearest() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"cold-to-cloud\"\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"clod\" }\n"
        ),
        vec![
            "p.toml:5:32: error: rule \"cold-to-cloud\": unknown tier \"clod\" in action.to; known tiers: cloud, onprem, vault; did you mean \"cloud\"?",
        ]
    );
}

#[test]
fn an_unknown_tier_in_when_is_located_inside_the_string() {
    assert_eq!(
        diags(&rule_when("tier == 'onprim'")),
        vec![
            "p.toml:4:17: error: rule \"r\": unknown tier \"onprim\" in when; known tiers: cloud, onprem, vault; did you mean \"onprem\"?",
        ]
    );
}

#[test]
fn an_unknown_signal_suggests_the_nearest_signal() {
    assert_eq!(
        diags(&rule_when("days_since_last_acess > 90d")),
        vec![
            "p.toml:4:9: error: rule \"r\": unknown signal \"days_since_last_acess\" in when; did you mean \"days_since_last_access\"?",
        ]
    );
}

#[test]
fn an_unknown_signal_with_no_near_match_points_to_the_reference() {
    assert_eq!(
        diags(&rule_when("temperature > 3")),
        vec![
            "p.toml:4:9: error: rule \"r\": unknown signal \"temperature\" in when; the signals are listed in docs/policy-reference.md",
        ]
    );
}

#[test]
fn a_duration_without_a_unit_is_an_error_with_the_fix() {
    assert_eq!(
        diags(&rule_when("age > 30")),
        vec![
            "p.toml:4:15: error: rule \"r\": age is a duration but 30 has no unit; write 30d (units: s, m, h, d, w)",
        ]
    );
}

#[test]
fn a_duration_compared_with_a_size_is_an_error() {
    assert_eq!(
        diags(&rule_when("age > 1MiB")),
        vec![
            "p.toml:4:15: error: rule \"r\": age is a duration but 1MiB is a size; write a duration such as 90d (units: s, m, h, d, w)",
        ]
    );
}

#[test]
fn a_size_without_a_unit_is_an_error_with_the_fix() {
    assert_eq!(
        diags(&rule_when("size >= 100")),
        vec![
            "p.toml:4:17: error: rule \"r\": size is a size but 100 has no unit; write 100B for bytes, or a size such as 1MiB (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
        ]
    );
}

#[test]
fn a_size_compared_with_a_duration_is_an_error() {
    assert_eq!(
        diags(&rule_when("size >= 3d")),
        vec![
            "p.toml:4:17: error: rule \"r\": size is a size but 3d is a duration; write a size such as 1MiB (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
        ]
    );
}

#[test]
fn an_unknown_unit_lists_the_units_and_the_nearest() {
    assert_eq!(
        diags(&rule_when("size >= 3mb")),
        vec![
            "p.toml:4:17: error: rule \"r\": unknown unit \"mb\" in 3mb; sizes take B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB; did you mean \"MB\"?",
        ]
    );
}

#[test]
fn an_unknown_unit_on_a_duration_suggests_only_duration_units() {
    assert_eq!(
        diags(&rule_when("age > 100y")),
        vec![
            "p.toml:4:15: error: rule \"r\": unknown unit \"y\" in 100y; durations take s, m, h, d, w; write 36500d",
        ]
    );
    assert_eq!(
        diags(&rule_when("age > 3dd")),
        vec![
            "p.toml:4:15: error: rule \"r\": unknown unit \"dd\" in 3dd; durations take s, m, h, d, w; did you mean \"d\"?",
        ]
    );
}

#[test]
fn an_unknown_unit_on_a_size_suggests_only_size_units() {
    assert_eq!(
        diags(&rule_when("size > 3Gi")),
        vec![
            "p.toml:4:16: error: rule \"r\": unknown unit \"Gi\" in 3Gi; sizes take B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB; did you mean \"GiB\"?",
        ]
    );
}

#[test]
fn an_upper_case_extension_is_a_warning_at_the_literal_with_the_fix() {
    assert_eq!(
        diags(&rule_when("extension == 'GZ'")),
        vec![
            "p.toml:4:22: warning: rule \"r\": extension is always lower case, so 'GZ' can never match it; write 'gz'",
        ]
    );
    // In a list and in a glob too; a lower-case extension is fine.
    assert_eq!(
        diags(&rule_when(
            "extension in ['mp4', 'MOV'] or extension matches 'T*'"
        )),
        vec![
            "p.toml:4:30: warning: rule \"r\": extension is always lower case, so 'MOV' can never match it; write 'mov'",
            "p.toml:4:58: warning: rule \"r\": extension is always lower case, so 'T*' can never match it; write 't*'",
        ]
    );
    assert_eq!(diags(&rule_when("extension == 'gz'")), Vec::<String>::new());
}

#[test]
fn a_count_below_zero_can_never_be_true_in_plain_words() {
    assert_eq!(
        diags(&rule_when("reads_7d < 0")),
        vec![
            "p.toml:4:9: error: rule \"r\": reads_7d < 0 can never be true: reads_7d is never below 0; change the threshold",
        ]
    );
}

#[test]
fn a_count_with_a_unit_is_an_error() {
    assert_eq!(
        diags(&rule_when("reads_7d > 3d")),
        vec![
            "p.toml:4:20: error: rule \"r\": reads_7d is a count and takes no unit, but 3d has one; write 3",
        ]
    );
}

#[test]
fn a_score_threshold_above_one_is_an_error() {
    assert_eq!(
        diags(&rule_when("principal_anomaly > 1.5")),
        vec![
            "p.toml:4:29: error: rule \"r\": principal_anomaly is a score but 1.5 is outside [0, 1]; scores are in [0, 1], write a threshold such as 0.8",
        ]
    );
}

#[test]
fn a_score_above_one_can_never_be_true() {
    assert_eq!(
        diags(&rule_when("bucket_anomaly > 1")),
        vec![
            "p.toml:4:9: error: rule \"r\": bucket_anomaly > 1 can never be true: bucket_anomaly is between 0 and 1; change the threshold",
        ]
    );
}

#[test]
fn an_hour_outside_the_day_is_an_error() {
    assert_eq!(
        diags(&rule_when("hour_of_day in 22..24")),
        vec![
            "p.toml:4:28: error: rule \"r\": hour_of_day is an hour of the day but 24 is outside [0, 23]; hours are 0 to 23 (UTC)",
        ]
    );
}

#[test]
fn an_empty_hour_window_is_an_error() {
    assert_eq!(
        diags(&rule_when("hour_of_day in 9..9")),
        vec![
            "p.toml:4:24: error: rule \"r\": 9..9 is an empty window; the end is excluded, write 9..10",
        ]
    );
}

#[test]
fn a_tier_cannot_be_ordered() {
    assert_eq!(
        diags(&rule_when("tier < 'cloud'")),
        vec![
            "p.toml:4:14: error: rule \"r\": tier is a tier and cannot be compared with <; write tier == 'cloud' or tier in ['cloud', 'vault']",
        ]
    );
}

#[test]
fn an_unquoted_tier_name_is_an_error_with_the_quoted_fix() {
    assert_eq!(
        diags(&rule_when("tier == cloud")),
        vec![
            "p.toml:4:17: error: rule \"r\": tier is a tier but cloud is not a quoted tier name; write 'cloud' (known tiers: cloud, onprem, vault)",
        ]
    );
}

#[test]
fn a_boolean_compared_with_a_number_is_an_error() {
    assert_eq!(
        diags(&rule_when("incident_open > 1")),
        vec![
            "p.toml:4:25: error: rule \"r\": incident_open is a boolean but 1 is not; write incident_open or not incident_open",
        ]
    );
}

#[test]
fn a_bare_numeric_signal_is_not_a_condition() {
    assert_eq!(
        diags(&rule_when("size")),
        vec![
            "p.toml:4:9: error: rule \"r\": size is a size, not a condition; compare it, e.g. size > 1MiB",
        ]
    );
}

#[test]
fn comparing_two_values_is_an_error() {
    assert_eq!(
        diags(&rule_when("1MiB < 2MiB")),
        vec![
            "p.toml:4:9: error: rule \"r\": 1MiB < 2MiB compares two values; one side must be a signal such as size or age",
        ]
    );
}

#[test]
fn comparing_signals_of_different_kinds_is_an_error() {
    assert_eq!(
        diags(&rule_when("savings_per_month > size")),
        vec![
            "p.toml:4:9: error: rule \"r\": cannot compare savings_per_month (an amount of money) with size (a size); compare a signal with a value or with a signal of the same kind",
        ]
    );
}

#[test]
fn c_style_and_is_rejected_with_the_fix() {
    assert_eq!(
        diags(&rule_when("age > 30d && size > 1MiB")),
        vec!["p.toml:4:19: error: rule \"r\": write `and` instead of `&&` in when",]
    );
}

#[test]
fn a_single_equals_is_rejected_with_the_fix() {
    assert_eq!(
        diags(&rule_when("tier = 'onprem'")),
        vec!["p.toml:4:14: error: rule \"r\": `=` is not a comparison; write `==` in when",]
    );
}

#[test]
fn a_truncated_comparison_is_located_at_the_end() {
    assert_eq!(
        diags(&rule_when("age >")),
        vec![
            "p.toml:4:14: error: rule \"r\": expected a value after the comparison but found the end of the condition in when",
        ]
    );
}

#[test]
fn an_unclosed_parenthesis_is_located_at_the_parenthesis() {
    assert_eq!(
        diags(&rule_when("(age > 30d")),
        vec!["p.toml:4:9: error: rule \"r\": unclosed `(`; add `)` in when",]
    );
}

#[test]
fn an_unknown_day_suggests_the_nearest() {
    assert_eq!(
        diags(&rule_when("weekday == satu")),
        vec![
            "p.toml:4:20: error: rule \"r\": unknown day satu; days are mon, tue, wed, thu, fri, sat, sun; did you mean sat?",
        ]
    );
}

#[test]
fn a_range_on_a_size_is_an_error() {
    assert_eq!(
        diags(&rule_when("size in 1MiB..2MiB")),
        vec![
            "p.toml:4:17: error: rule \"r\": size is a size; only hour_of_day and weekday take a range after `in`, write comparisons such as size >= 1MiB and size < 1MiB",
        ]
    );
}

#[test]
fn matches_on_a_number_is_an_error() {
    assert_eq!(
        diags(&rule_when("size matches '*.gz'")),
        vec![
            "p.toml:4:9: error: rule \"r\": size is a size; only text signals (bucket, key, prefix, extension) take `matches`",
        ]
    );
}

#[test]
fn an_unknown_rule_field_suggests_the_nearest() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nwen = \"age > 1d\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:3:1: error: rule \"r\": unknown field \"wen\"; known fields: action, cooldown, description, id, priority, scope, when; did you mean \"when\"?",
        ]
    );
}

#[test]
fn an_unknown_top_level_table_suggests_the_nearest() {
    assert_eq!(
        diags("[[rules]]\nid = \"r\"\n"),
        vec![
            "p.toml:1:3: error: unknown field \"rules\"; known fields: guardrails, rule, tests; did you mean \"rule\"?",
        ]
    );
}

#[test]
fn an_unknown_scope_field_is_named_with_its_table() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = { buckets = \"logs\" }\naction = \"pin\"\n"),
        vec![
            "p.toml:3:11: error: rule \"r\": unknown field \"scope.buckets\"; known fields: bucket, glob, prefix; did you mean \"bucket\"?",
        ]
    );
}

#[test]
fn a_rule_without_an_id_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nscope = { bucket = \"logs\" }\naction = \"pin\"\n"),
        vec![
            "p.toml:1:1: error: rule #1: missing id; write id = \"cold-to-cloud\" (a unique name used in decisions and tests)",
        ]
    );
}

#[test]
fn an_id_with_spaces_is_an_error_with_a_fixed_id() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"cold to cloud\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:2:6: error: rule \"cold to cloud\": id may contain only letters, digits, '-', '_' and '.'; write id = \"cold-to-cloud\"",
        ]
    );
}

#[test]
fn a_rule_without_a_scope_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\naction = \"pin\"\n"),
        vec![
            "p.toml:1:1: error: rule \"r\": missing scope; write scope = { bucket = \"logs\" }, or scope = { bucket = \"*\" } for every bucket",
        ]
    );
}

#[test]
fn an_empty_scope_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = {}\naction = \"pin\"\n"),
        vec![
            "p.toml:3:9: error: rule \"r\": empty scope; name a bucket, prefix or glob, e.g. scope = { bucket = \"logs\" }, or write scope = { bucket = \"*\" } to mean every object",
        ]
    );
}

#[test]
fn an_empty_bucket_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = { bucket = \"\" }\naction = \"pin\"\n"),
        vec![
            "p.toml:3:20: error: rule \"r\": scope.bucket is empty; write a bucket name, or \"*\" for every bucket",
        ]
    );
}

#[test]
fn an_empty_prefix_is_a_warning() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\", prefix = \"\" }\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:3:37: warning: rule \"r\": scope.prefix is empty and matches every key; remove it",
        ]
    );
}

#[test]
fn a_rule_without_an_action_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\n"),
        vec![
            "p.toml:1:1: error: rule \"r\": missing action; write action = { kind = \"move\", to = \"cloud\" } (kinds: alert, freeze, move, pin, snapshot, unfreeze)",
        ]
    );
}

#[test]
fn an_unknown_action_suggests_the_nearest() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = { kind = \"mve\", to = \"cloud\" }\n"
        ),
        vec![
            "p.toml:4:19: error: rule \"r\": unknown action \"mve\"; actions: alert, freeze, move, pin, snapshot, unfreeze; did you mean \"move\"?",
        ]
    );
}

#[test]
fn a_move_without_a_destination_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"move\"\n"),
        vec![
            "p.toml:4:10: error: rule \"r\": action \"move\" needs a destination; write action = { kind = \"move\", to = \"vault\" } (known tiers: cloud, onprem, vault)",
        ]
    );
}

#[test]
fn a_pin_with_a_destination_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = { kind = \"pin\", to = \"cloud\" }\n"
        ),
        vec![
            "p.toml:4:31: error: rule \"r\": action \"pin\" takes no \"to\"; remove it (only move and snapshot have a destination)",
        ]
    );
}

#[test]
fn a_priority_that_is_not_an_integer_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\npriority = \"high\"\n"
        ),
        vec![
            "p.toml:5:12: error: rule \"r\": priority must be an integer, found a string; write priority = 100 (higher wins)",
        ]
    );
}

#[test]
fn a_cooldown_without_a_unit_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\ncooldown = 7\n"
        ),
        vec![
            "p.toml:5:12: error: rule \"r\": cooldown = 7 has no unit; write \"7d\" (units: s, m, h, d, w)",
        ]
    );
}

#[test]
fn a_byte_budget_without_a_unit_suggests_bytes() {
    assert_eq!(
        diags("[guardrails]\nmax_bytes_per_hour = 1000\n"),
        vec![
            "p.toml:2:22: error: guardrails: max_bytes_per_hour = 1000 has no unit; write \"1000B\" for bytes, or a size such as \"500GiB\" (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
        ]
    );
}

#[test]
fn a_min_residency_without_a_unit_suggests_days() {
    assert_eq!(
        diags("[guardrails]\nmin_residency = { cloud = 90 }\n"),
        vec![
            "p.toml:2:27: error: guardrails: min_residency.cloud = 90 has no unit; write \"90d\" (units: s, m, h, d, w)",
        ]
    );
}

#[test]
fn a_bare_quantity_that_would_be_refused_with_a_unit_gets_only_an_example() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\ncooldown = 1e9\n\n[guardrails]\nmax_bytes_per_day = -5\n"
        ),
        vec![
            "p.toml:5:12: error: rule \"r\": cooldown = 1e9 has no unit; write a duration such as \"7d\" (units: s, m, h, d, w)",
            "p.toml:8:21: error: guardrails: max_bytes_per_day = -5 has no unit; write a size such as \"500GiB\" (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
        ]
    );
}

#[test]
fn a_duplicate_id_points_at_both_rules() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"a\" }\naction = \"pin\"\n\n[[rule]]\nid = \"r\"\nscope = { bucket = \"b\" }\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:7:6: error: rule \"r\": duplicate id; the first rule \"r\" is at p.toml:2:6; rename one of them",
        ]
    );
}

#[test]
fn a_move_to_the_tier_the_scope_is_already_on_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\nwhen = \"tier == 'cloud' and age > 1d\"\naction = { kind = \"move\", to = \"cloud\" }\n"
        ),
        vec![
            "p.toml:1:1: error: rule \"r\": move to \"cloud\" but its condition only matches objects already on \"cloud\", so it can never act; change action.to or the tier condition",
        ]
    );
}

#[test]
fn two_opposite_moves_without_exclusive_conditions_warn_of_ping_pong() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"out\"\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n\n[[rule]]\nid = \"back\"\nscope = { bucket = \"logs\" }\nwhen = \"reads_7d > 2\"\naction = { kind = \"move\", to = \"onprem\" }\n"
        ),
        vec![
            "p.toml:7:1: warning: rules \"out\" (p.toml:1:1) and \"back\" may move the same objects back and forth between \"onprem\" and \"cloud\": no condition keeps them apart; give both a threshold on the same signal that cannot hold at once (e.g. days_since_last_access > 90d and days_since_last_access < 1d)",
        ]
    );
}

#[test]
fn a_recall_on_recent_reads_and_a_move_after_a_longer_idle_time_do_not_ping_pong() {
    let policy = |recall: &str, idle: &str| {
        format!(
            "[[rule]]\nid = \"cold\"\nscope = {{ bucket = \"media\" }}\nwhen = \"days_since_last_access > {idle}\"\naction = {{ kind = \"move\", to = \"cloud\" }}\n\n[[rule]]\nid = \"hot\"\nscope = {{ bucket = \"media\" }}\nwhen = \"tier == 'cloud' and {recall}\"\naction = {{ kind = \"move\", to = \"onprem\" }}\n"
        )
    };
    // A read counted in reads_1d is within two days (its period and the one before): never
    // idle more than 3 days; in reads_7d, within 14 days.
    for (recall, idle) in [
        ("reads_1d >= 3", "3d"),
        ("reads_1d > 0", "2d"),
        ("reads_7d >= 1", "14d"),
        ("reads_30d >= 2", "60d"),
    ] {
        assert_eq!(
            diags(&policy(recall, idle)),
            Vec::<String>::new(),
            "{recall} / {idle}"
        );
    }
    // Still warned: a read window longer than the idle time, or a count that allows no read.
    for (recall, idle) in [
        ("reads_7d >= 1", "3d"),
        ("reads_1d >= 0", "30d"),
        ("reads_1d < 5", "30d"),
    ] {
        let found = diags(&policy(recall, idle));
        assert!(
            found.len() == 1 && found[0].contains("back and forth"),
            "{recall} / {idle}: {found:?}"
        );
    }
}

#[test]
fn a_rule_behind_a_broader_higher_priority_rule_can_never_win() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"broad\"\npriority = 10\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n\n[[rule]]\nid = \"narrow\"\nscope = { bucket = \"logs\", prefix = \"x/\" }\nwhen = \"age > 60d and size > 1MiB\"\naction = { kind = \"move\", to = \"cloud\" }\n"
        ),
        vec![
            "p.toml:8:1: warning: rule \"narrow\" can never win: rule \"broad\" (priority 10, p.toml:1:1) matches every object it matches and takes precedence; give \"narrow\" a higher priority, narrow \"broad\", or remove \"narrow\"",
        ]
    );
}

#[test]
fn a_move_under_a_pin_of_the_same_scope_can_never_win() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"keep\"\nscope = { bucket = \"hr\" }\naction = \"pin\"\n\n[[rule]]\nid = \"cold\"\nscope = { bucket = \"hr\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n"
        ),
        vec![
            "p.toml:6:1: warning: rule \"cold\" can never win: rule \"keep\" (priority 0, p.toml:1:1) pins every object it would move; a move loses to it whatever its priority: narrow \"keep\" or \"cold\", or remove \"cold\"",
        ]
    );
}

#[test]
fn an_unknown_tier_in_min_residency_is_an_error() {
    assert_eq!(
        diags("[guardrails]\nmin_residency = { clod = \"90d\" }\n"),
        vec![
            "p.toml:2:19: error: guardrails: unknown tier \"clod\" in min_residency; known tiers: cloud, onprem, vault; did you mean \"cloud\"?",
        ]
    );
}

#[test]
fn a_residency_shorter_than_the_tier_minimum_is_a_warning() {
    assert_eq!(
        diags("[guardrails]\nmin_residency = { cloud = \"30d\" }\n"),
        vec![
            "p.toml:1:1: warning: the policy set has no rules: p.toml holds no [[rule]], so tierd decides nothing (no move, and no freeze, snapshot or alert during an incident); add rules, or restore the file if a write emptied it",
            "p.toml:2:27: warning: guardrails: min_residency.cloud is shorter than the 90 days tier \"cloud\" charges for at minimum; objects moved off earlier still pay for 90 days; write \"90d\" or more",
        ]
    );
}

#[test]
fn a_blackout_window_may_only_use_time_signals() {
    assert_eq!(
        diags("[guardrails]\nblackout = [\"size > 1MiB\"]\n"),
        vec![
            "p.toml:2:14: error: guardrails: size cannot be used in blackout; only hour_of_day, weekday, now can",
        ]
    );
}

#[test]
fn a_negative_budget_is_an_error() {
    assert_eq!(
        diags("[guardrails]\nmax_money_per_day = -3.0\n"),
        vec![
            "p.toml:2:21: error: guardrails: max_money_per_day = -3 is negative; write a daily budget in US dollars such as 25.0",
        ]
    );
}

#[test]
fn zero_concurrency_is_an_error() {
    assert_eq!(
        diags("[guardrails]\nmax_concurrency = 0\n"),
        vec![
            "p.toml:2:19: error: guardrails: max_concurrency = 0 is below 1; write max_concurrency = 4",
        ]
    );
}

#[test]
fn an_hourly_byte_limit_above_the_daily_one_is_a_warning() {
    assert_eq!(
        diags("[guardrails]\nmax_bytes_per_hour = \"5TiB\"\nmax_bytes_per_day = \"1TiB\"\n"),
        vec![
            "p.toml:1:1: warning: the policy set has no rules: p.toml holds no [[rule]], so tierd decides nothing (no move, and no freeze, snapshot or alert during an incident); add rules, or restore the file if a write emptied it",
            "p.toml:2:22: warning: guardrails: max_bytes_per_hour is larger than max_bytes_per_day, so the hourly limit never applies; lower it",
        ]
    );
}

#[test]
fn an_unknown_guardrail_suggests_the_nearest() {
    assert_eq!(
        diags("[guardrails]\nmax_bytes_per_week = \"5TiB\"\n"),
        vec![
            "p.toml:2:1: error: guardrails: unknown field \"max_bytes_per_week\"; known fields: blackout, dry_run, max_bytes_per_day, max_bytes_per_hour, max_concurrency, max_money_per_day, max_objects_per_day, max_objects_per_hour, min_residency; did you mean \"max_bytes_per_day\"?",
        ]
    );
}

#[test]
fn invalid_toml_is_located() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\nscope = 1\n"),
        vec![
            "p.toml:2:6: error: invalid TOML: the string opened here is not closed (invalid basic string, expected `\"`); close the quote: add \" at the end of the value",
        ]
    );
}

#[test]
fn a_test_expecting_an_unknown_rule_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n\n[[tests]]\nname = \"t\"\nfacts = { bucket = \"logs\" }\nexpect = { action = \"pin\", rule = \"q\" }\n"
        ),
        vec![
            "p.toml:9:10: error: test \"t\": expect.rule \"q\" is not a rule; rules: r; did you mean \"r\"?",
        ]
    );
}

#[test]
fn a_test_expecting_a_refused_rule_reports_only_the_rule() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"cold-to-cloud\"\nscope = { bucket = \"logs\" }\naction = { kind = \"move\", to = \"clod\" }\n\n[[tests]]\nname = \"t\"\nfacts = { bucket = \"logs\" }\nexpect = { action = \"move\", to = \"cloud\", rule = \"cold-to-cloud\" }\n"
        ),
        vec![
            "p.toml:4:32: error: rule \"cold-to-cloud\": unknown tier \"clod\" in action.to; known tiers: cloud, onprem, vault; did you mean \"cloud\"?",
        ]
    );
}

#[test]
fn a_test_expecting_an_unknown_rule_lists_refused_rules_too() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n\n[[rule]]\nid = \"cold-to-cloud\"\nscope = { bucket = \"logs\" }\naction = { kind = \"move\", to = \"clod\" }\n\n[[tests]]\nname = \"t\"\nfacts = { bucket = \"logs\" }\nexpect = { action = \"move\", to = \"cloud\", rule = \"cold-to-clud\" }\n"
        ),
        vec![
            "p.toml:9:32: error: rule \"cold-to-cloud\": unknown tier \"clod\" in action.to; known tiers: cloud, onprem, vault; did you mean \"cloud\"?",
            "p.toml:14:10: error: test \"t\": expect.rule \"cold-to-clud\" is not a rule; rules: r, cold-to-cloud; did you mean \"cold-to-cloud\"?",
        ]
    );
}

#[test]
fn a_test_with_unknown_facts_reports_every_problem() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n\n[[tests]]\nname = \"t\"\nfacts = { bukket = \"logs\", size = 5 }\nexpect = { action = \"none\" }\n"
        ),
        vec![
            "p.toml:8:11: error: test \"t\": unknown signal \"bukket\" in facts; did you mean \"bucket\"?",
            "p.toml:8:35: error: test \"t\": facts.size = 5 has no unit; write \"5B\" for bytes, or a size such as \"500GiB\" (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
        ]
    );
}

#[test]
fn a_location_inside_an_escaped_string_counts_raw_columns() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\nwhen = \"key == \\\"a\\\" and sise > 1MiB\"\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:4:26: error: rule \"r\": unknown signal \"sise\" in when; did you mean \"size\"?",
        ]
    );
}

#[test]
fn a_location_inside_a_multiline_string_has_the_right_line() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\nwhen = \"\"\"\n  age > 30d\n  and reeds_7d == 0\n\"\"\"\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:6:7: error: rule \"r\": unknown signal \"reeds_7d\" in when; did you mean one of: reads_7d, reads_1d?",
        ]
    );
}

#[test]
fn a_rule_table_with_single_brackets_asks_for_two() {
    assert_eq!(
        diags("[rule]\nid = \"r\"\n"),
        vec![
            "p.toml:1:1: error: rule must be an array of tables, found a table; write [[rule]] (two brackets)",
        ]
    );
}

#[test]
fn a_field_of_the_wrong_type_names_the_type_expected() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\ndescription = 5\nscope = { bucket = \"logs\" }\naction = \"pin\"\n"
        ),
        vec![
            "p.toml:3:15: error: rule \"r\": description must be a string, found an integer; write description = \"why this rule exists\"",
        ]
    );
}

#[test]
fn an_action_without_a_kind_is_an_error() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = { to = \"cloud\" }\n"),
        vec![
            "p.toml:4:10: error: rule \"r\": action has no kind; write action = { kind = \"move\", to = \"cloud\" } (kinds: alert, freeze, move, pin, snapshot, unfreeze)",
        ]
    );
}

#[test]
fn an_unknown_alert_severity_lists_the_severities() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = { kind = \"alert\", severity = \"loud\" }\n"
        ),
        vec![
            "p.toml:4:39: error: rule \"r\": unknown severity \"loud\" in action.severity; severities: info, warning, critical",
        ]
    );
}

#[test]
fn a_misspelt_alert_severity_suggests_the_nearest() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = { kind = \"alert\", severity = \"critcal\" }\n"
        ),
        vec![
            "p.toml:4:39: error: rule \"r\": unknown severity \"critcal\" in action.severity; severities: info, warning, critical; did you mean \"critical\"?",
        ]
    );
}

#[test]
fn a_severity_on_a_non_alert_action_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = { kind = \"pin\", severity = \"critical\" }\n"
        ),
        vec![
            "p.toml:4:37: error: rule \"r\": action \"pin\" takes no severity; remove it (only alert takes severity and message)",
        ]
    );
}

#[test]
fn tier_conditions_that_exclude_every_tier_are_an_error() {
    assert_eq!(
        diags(&rule_when("tier == 'cloud' and tier == 'onprem'")),
        vec![
            "p.toml:1:1: error: rule \"r\": its tier conditions exclude every tier, so it can never match; fix the tier condition",
        ]
    );
}

#[test]
fn a_move_under_a_freeze_of_the_same_scope_can_never_win() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"stop\"\nscope = { bucket = \"*\" }\naction = \"freeze\"\n\n[[rule]]\nid = \"cold\"\npriority = 100\nscope = { bucket = \"logs\" }\nwhen = \"age > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n"
        ),
        vec![
            "p.toml:6:1: warning: rule \"cold\" can never win: rule \"stop\" (priority 0, p.toml:1:1) freezes every object it would move; a move loses to it whatever its priority: narrow \"stop\" or \"cold\", or remove \"cold\"",
        ]
    );
}

#[test]
fn alerts_neither_shadow_nor_are_shadowed_and_a_pin_shadows_only_moves() {
    // An alert fires beside any decision: above a snapshot it hides nothing, below it it is not
    // hidden. A pin leaves a snapshot alone; a snapshot of higher priority does not stop the
    // freeze beside it from being opened.
    let text = "[[rule]]\nid = \"al\"\npriority = 10\nscope = { bucket = \"*\" }\nwhen = \"incident_open\"\naction = \"alert\"\n\n\
                [[rule]]\nid = \"snap\"\npriority = 5\nscope = { bucket = \"*\" }\nwhen = \"incident_open and tier != 'vault'\"\naction = { kind = \"snapshot\", to = \"vault\" }\ncooldown = \"6h\"\n\n\
                [[rule]]\nid = \"low\"\npriority = -1\nscope = { bucket = \"*\" }\nwhen = \"incident_open and tier != 'vault'\"\naction = \"alert\"\n\n\
                [[rule]]\nid = \"keep\"\npriority = 100\nscope = { bucket = \"*\" }\naction = \"pin\"\n\n\
                [[rule]]\nid = \"stop\"\npriority = 1\nscope = { bucket = \"*\" }\nwhen = \"incident_open and tier != 'vault'\"\naction = \"freeze\"\n";
    assert_eq!(diags(text), Vec::<String>::new());
}

#[test]
fn an_unknown_day_in_a_list_is_located_at_that_day() {
    assert_eq!(
        diags(&rule_when("weekday in [sat, sunday, funday]")),
        vec![
            "p.toml:4:34: error: rule \"r\": unknown day funday; days are mon, tue, wed, thu, fri, sat, sun",
        ]
    );
}

#[test]
fn a_syntax_error_in_a_blackout_window_is_located_in_its_string() {
    assert_eq!(
        diags("[guardrails]\nblackout = [\"hour_of_day in 9..\"]\n"),
        vec![
            "p.toml:2:32: error: guardrails: expected the end of the range but found the end of the condition in blackout",
        ]
    );
}

#[test]
fn a_test_without_a_name_is_an_error() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!(
            "{pin}\n[[tests]]\nexpect = {{ action = \"none\" }}\n"
        )),
        vec!["p.toml:6:1: error: test: missing name; write name = \"cold logs go to the cloud\"",]
    );
}

#[test]
fn a_test_without_an_expectation_is_an_error() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!("{pin}\n[[tests]]\nname = \"t\"\n")),
        vec![
            "p.toml:6:1: error: test \"t\": missing expect; write expect = { action = \"move\", to = \"cloud\", rule = \"cold-to-cloud\" } or expect = { action = \"none\" }",
        ]
    );
}

#[test]
fn a_test_time_that_is_not_a_date_is_an_error() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!(
            "{pin}\n[[tests]]\nname = \"t\"\nnow = \"yesterday\"\nexpect = {{ action = \"none\" }}\n"
        )),
        vec![
            "p.toml:8:7: error: test \"t\": now must be a UTC date-time; write now = 2026-01-05T12:00:00Z",
        ]
    );
}

#[test]
fn derived_signals_cannot_be_set_as_test_facts() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!(
            "{pin}\n[[tests]]\nname = \"t\"\nfacts = {{ prefix = \"a/\", hour_of_day = 3 }}\nexpect = {{ action = \"none\" }}\n"
        )),
        vec![
            "p.toml:8:11: error: test \"t\": prefix is derived from the key; set facts.key instead",
            "p.toml:8:26: error: test \"t\": hour_of_day comes from the test's time; set now = 2026-01-10T09:00:00Z next to facts instead",
        ]
    );
}

#[test]
fn expecting_no_action_from_a_rule_is_an_error() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!(
            "{pin}\n[[tests]]\nname = \"t\"\nexpect = {{ action = \"none\", rule = \"r\" }}\n"
        )),
        vec![
            "p.toml:8:10: error: test \"t\": expect.action = \"none\" takes no to or rule; remove them",
        ]
    );
}

#[test]
fn a_test_expecting_an_unknown_action_is_an_error() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!(
            "{pin}\n[[tests]]\nname = \"t\"\nexpect = {{ action = \"mve\" }}\n"
        )),
        vec![
            "p.toml:8:21: error: test \"t\": unknown action \"mve\" in expect.action; actions: freeze, move, none, pin, snapshot, unfreeze",
        ]
    );
}

#[test]
fn a_test_expecting_an_alert_to_win_is_an_error_that_shows_expect_alerts() {
    let al = "[[rule]]\nid = \"al\"\nscope = { bucket = \"logs\" }\nwhen = \"lifecycle_changed\"\naction = \"alert\"\n";
    assert_eq!(
        diags(&format!(
            "{al}\n[[tests]]\nname = \"t\"\nfacts = {{ bucket = \"logs\", lifecycle_changed = true }}\nexpect = {{ action = \"alert\", rule = \"al\" }}\n"
        )),
        vec![
            "p.toml:10:21: error: test \"t\": expect.action = \"alert\" can never hold: alerts never compete, so no alert is ever the winner; write expect = { alerts = [\"al\"] } (exactly the alert rules that fire), with an action only to check the winner too",
        ]
    );
}

#[test]
fn a_test_naming_a_rule_of_another_kind_in_expect_alerts_or_freeze_is_an_error() {
    let rules = "[[rule]]\nid = \"al\"\nscope = { bucket = \"logs\" }\naction = \"alert\"\n\n[[rule]]\nid = \"stop\"\nscope = { bucket = \"logs\" }\naction = \"freeze\"\n";
    assert_eq!(
        diags(&format!(
            "{rules}\n[[tests]]\nname = \"t\"\nfacts = {{ bucket = \"logs\" }}\nexpect = {{ alerts = [\"stop\", \"alrt\"], freeze = \"al\" }}\n"
        )),
        vec![
            "p.toml:14:22: error: test \"t\": expect.alerts names rule \"stop\", a freeze rule, not an alert rule; alert rules: al",
            "p.toml:14:30: error: test \"t\": expect.alerts \"alrt\" is not a rule; rules: al, stop",
            "p.toml:14:48: error: test \"t\": expect.freeze names rule \"al\", an alert rule, not a freeze rule; freeze rules: stop",
        ]
    );
    assert_eq!(
        diags(&format!(
            "{rules}\n[[tests]]\nname = \"t\"\nfacts = {{ bucket = \"logs\" }}\nexpect = {{ alerts = \"al\" }}\n"
        )),
        vec![
            "p.toml:14:21: error: test \"t\": expect.alerts must be an array of rule ids, found a string; write alerts = [\"alert-protection-change\"]",
        ]
    );
}

#[test]
fn a_test_whose_object_is_in_no_rules_scope_is_a_warning() {
    // The test forgot facts.bucket: it would pass whatever the rule does.
    assert_eq!(
        diags(
            "[[rule]]\nid = \"cold\"\nscope = { bucket = \"logs\", prefix = \"app/\" }\nwhen = \"days_since_last_access > 30d\"\naction = { kind = \"move\", to = \"cloud\" }\n\n[[tests]]\nname = \"t\"\nfacts = { key = \"app/a.log\", tier = \"cloud\" }\nexpect = { action = \"none\" }\n"
        ),
        vec![
            "p.toml:7:1: warning: test \"t\": its object is in no rule's scope; it tests nothing (bucket \"\", key \"app/a.log\"); set facts.bucket and facts.key to an object a rule covers",
        ]
    );
}

#[test]
fn a_test_fact_out_of_range_is_an_error() {
    let pin = "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\n";
    assert_eq!(
        diags(&format!(
            "{pin}\n[[tests]]\nname = \"t\"\nfacts = {{ bucket_anomaly = 2 }}\nexpect = {{ action = \"none\" }}\n"
        )),
        vec![
            "p.toml:8:28: error: test \"t\": bucket_anomaly is a score but 2 is outside [0, 1]; scores are in [0, 1], write a threshold such as 0.8",
        ]
    );
}

#[test]
fn a_cooldown_that_is_not_a_duration_is_an_error() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\ncooldown = \"7 days\"\n"
        ),
        vec![
            "p.toml:5:12: error: rule \"r\": cooldown = \"7 days\" is not a duration; write \"7d\"",
        ]
    );
}

#[test]
fn a_byte_limit_with_a_duration_is_an_error() {
    assert_eq!(
        diags("[guardrails]\nmax_bytes_per_day = \"2d\"\n"),
        vec![
            "p.toml:2:22: error: guardrails: max_bytes_per_day is a size but 2d is a duration; write a size such as 1MiB (units: B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB)",
        ]
    );
}

#[test]
fn a_timestamp_that_is_not_a_date_is_an_error() {
    assert_eq!(
        diags(&rule_when("now > 'soon'")),
        vec![
            "p.toml:4:15: error: rule \"r\": 'soon' is not a UTC date; write '2026-01-31' or '2026-01-31T12:00:00Z'",
        ]
    );
}

#[test]
fn a_bare_number_is_not_a_condition() {
    assert_eq!(
        diags(&rule_when("42")),
        vec![
            "p.toml:4:9: error: rule \"r\": 42 is a value, not a condition; compare a signal with it, e.g. size > 1MiB",
        ]
    );
}

#[test]
fn a_second_guardrails_table_points_at_the_first() {
    let two = policies::load_from_strs(
        &[
            ("a.toml", "[guardrails]\ndry_run = true\n"),
            ("b.toml", "\n[guardrails]\ndry_run = false\n"),
        ],
        &tiers(),
    );
    let d: Vec<String> = two
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(d, vec!["b.toml:2:2: error: a second [guardrails] table; the first is at a.toml:1:2; keep one [guardrails] table across all policy files".to_string()]);
}

#[test]
fn an_unclosed_array_reports_its_first_errors_not_hundreds() {
    let mut text = String::from("[guardrails]\nbogus = [1, \n");
    for i in 0..40 {
        text.push_str(&format!(
            "[[rule]]\nid = \"r{i}\"\nscope = {{ bucket = \"*\" }}\naction = \"freeze\"\n"
        ));
    }
    let d = diags(&text);
    assert_eq!(d.len(), 5, "{d:#?}");
    assert!(
        d.iter().all(|l| l.contains("error: invalid TOML: ")),
        "{d:#?}"
    );
    assert!(
        d[4].contains("more TOML errors after it, often all caused by the first: look for an unclosed `[`, `{` or quote above it)"),
        "{}",
        d[4]
    );
}

#[test]
fn an_integer_too_large_says_so() {
    assert_eq!(
        diags("[guardrails]\nmax_objects_per_hour = 18446744073709551615\n"),
        vec![
            "p.toml:2:24: error: guardrails: max_objects_per_hour = 18446744073709551615 is too large (at most 9223372036854775807); write max_objects_per_hour = 1000",
        ]
    );
}

#[test]
fn a_destination_at_the_top_of_a_rule_says_to_write_it_in_the_action() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"move\"\nto = \"cloud\"\n"
        ),
        vec![
            "p.toml:4:10: error: rule \"r\": action \"move\" needs a destination; write action = { kind = \"move\", to = \"cloud\" } (known tiers: cloud, onprem, vault)",
            "p.toml:5:1: error: rule \"r\": unknown field \"to\"; known fields: action, cooldown, description, id, priority, scope, when; a destination belongs in the action: write action = { kind = \"move\", to = \"cloud\" }",
        ]
    );
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\ntier = \"vault\"\naction = { kind = \"snapshot\", to = \"vault\" }\n"
        ),
        vec![
            "p.toml:4:1: error: rule \"r\": unknown field \"tier\"; known fields: action, cooldown, description, id, priority, scope, when; a destination belongs in the action: write action = { kind = \"snapshot\", to = \"vault\" }",
        ]
    );
}

#[test]
fn a_destination_beside_an_action_that_takes_none_says_to_remove_it_or_move() {
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\nto = \"onprem\"\n"
        ),
        vec![
            "p.toml:5:1: error: rule \"r\": unknown field \"to\"; known fields: action, cooldown, description, id, priority, scope, when; action \"pin\" takes no destination; remove it, or write action = { kind = \"move\", to = \"onprem\" }",
        ]
    );
}

#[test]
fn a_short_unknown_field_far_from_every_known_one_gets_no_suggestion() {
    assert_eq!(
        diags("[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\nat = 3\n"),
        vec![
            "p.toml:5:1: error: rule \"r\": unknown field \"at\"; known fields: action, cooldown, description, id, priority, scope, when",
        ]
    );
    assert_eq!(
        diags(
            "[[rule]]\nid = \"r\"\nscope = { bucket = \"logs\" }\naction = \"pin\"\nwen = \"age > 1d\"\n"
        ),
        vec![
            "p.toml:5:1: error: rule \"r\": unknown field \"wen\"; known fields: action, cooldown, description, id, priority, scope, when; did you mean \"when\"?",
        ]
    );
}

#[test]
fn a_date_that_is_not_in_the_calendar_is_an_error_not_a_date_in_the_next_month() {
    assert_eq!(
        diags(&rule_when("now >= '2026-02-30'")),
        vec![
            "p.toml:4:16: error: rule \"r\": '2026-02-30' is not a UTC date; write '2026-01-31' or '2026-01-31T12:00:00Z'",
        ]
    );
    assert_eq!(
        diags(&rule_when("now < '2026-11-31T08:00:00Z'")),
        vec![
            "p.toml:4:15: error: rule \"r\": '2026-11-31T08:00:00Z' is not a UTC date; write '2026-01-31' or '2026-01-31T12:00:00Z'",
        ]
    );
    assert!(diags(&rule_when("now >= '2028-02-29'")).is_empty());
}
