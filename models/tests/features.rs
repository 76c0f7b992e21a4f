//! Feature extraction: every window feature on hand-made events, row-order invariance, the
//! baseline's "new" semantics, and the per-object features.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use models::event::{AccessEvent, ConfigKind, OpClass};
use models::features::{
    FEATURES, FeatureConfig, History, Subject, SubjectKind, WindowFeatures, extract,
    extract_windows, feature_index, object_features,
};
use models::frame::to_frame;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;

const MONDAY_US: i64 = 20_731 * 86_400 * 1_000_000;
const MIN_US: i64 = 60_000_000;

fn ev(t_min: i64, op: OpClass, key: Option<&str>) -> AccessEvent {
    AccessEvent {
        time_us: MONDAY_US + 10 * 60 * MIN_US + t_min * MIN_US,
        op,
        operation: match op {
            OpClass::Put => "REST.PUT.OBJECT",
            OpClass::Get => "REST.GET.OBJECT",
            OpClass::Delete => "REST.DELETE.OBJECT",
            OpClass::CopySource => "REST.COPY.OBJECT_GET",
            OpClass::CopyDest => "REST.COPY.OBJECT",
            OpClass::ConfigChange => "REST.PUT.LIFECYCLE",
            _ => "REST.HEAD.OBJECT",
        }
        .into(),
        bucket: "photos".into(),
        key: key.map(str::to_owned),
        principal: Some("arn:aws:iam::1:user/alice".into()),
        source_ip: Some("192.0.2.10".into()),
        status: Some(200),
        bytes_sent: Some(if op == OpClass::Get { 1000 } else { 0 }),
        bytes_received: (op == OpClass::Put).then_some(500),
        object_size: Some(1000),
        user_agent: Some("aws-cli/2".into()),
        config: (op == OpClass::ConfigChange).then_some(ConfigKind::Lifecycle),
        ..AccessEvent::default()
    }
}

fn row(f: &WindowFeatures, kind: SubjectKind, window: usize) -> (usize, &[f64; 26]) {
    let mut starts: Vec<i64> = f.window_start_us.clone();
    starts.dedup();
    let ws = starts[window];
    let i = (0..f.len())
        .find(|&i| f.subjects[i].kind == kind && f.window_start_us[i] == ws)
        .expect("row exists");
    (i, &f.values[i])
}

fn get(v: &[f64; 26], name: &str) -> f64 {
    v[feature_index(name).unwrap()]
}

#[test]
fn every_window_has_one_row_per_subject_of_each_kind() {
    let events = vec![
        ev(0, OpClass::Get, Some("a.jpg")),
        ev(1, OpClass::Get, Some("b.jpg")),
        ev(7, OpClass::Get, Some("a.jpg")),
    ];
    let f = extract(&events, &mut History::new(), &FeatureConfig::default()).unwrap();
    assert_eq!(f.len(), 6, "{:?}", f.subjects);
    assert_eq!(f.window_secs, 300);
    let names: Vec<String> = f.subjects[..3].iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        [
            "principal:arn:aws:iam::1:user/alice",
            "bucket:photos",
            "principal:arn:aws:iam::1:user/alice@bucket:photos"
        ]
    );
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "ops_get"), 2.0);
    assert_eq!(get(v, "distinct_keys"), 2.0);
    assert_eq!(get(v, "bytes_out"), 2000.0);
    let (_, v) = row(&f, SubjectKind::Bucket, 1);
    assert_eq!(get(v, "ops_get"), 1.0);
}

#[test]
fn overwrites_count_puts_to_keys_that_already_existed() {
    let events = vec![
        ev(0, OpClass::Put, Some("new.jpg")),
        ev(1, OpClass::Put, Some("new.jpg")),
        ev(2, OpClass::Get, Some("old.jpg")),
        ev(3, OpClass::Put, Some("old.jpg")),
    ];
    let f = extract(&events, &mut History::new(), &FeatureConfig::default()).unwrap();
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "ops_put"), 3.0);
    assert_eq!(get(v, "overwrites"), 2.0);
    assert!((get(v, "overwrite_ratio") - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(get(v, "bytes_in"), 1500.0);
}

#[test]
fn a_key_deleted_and_written_again_is_not_an_overwrite() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    extract(
        &[
            ev(0, OpClass::Put, Some("k.jpg")),
            ev(1, OpClass::Delete, Some("k.jpg")),
        ],
        &mut h,
        &cfg,
    )
    .unwrap();
    let f = extract(&[ev(10, OpClass::Put, Some("k.jpg"))], &mut h, &cfg).unwrap();
    assert_eq!(get(row(&f, SubjectKind::Bucket, 0).1, "overwrites"), 0.0);
    assert_eq!(get(row(&f, SubjectKind::Bucket, 0).1, "ops_put"), 1.0);
}

#[test]
fn a_copy_of_a_key_onto_itself_is_a_copy_in_place() {
    let events = vec![
        ev(0, OpClass::CopySource, Some("a.jpg")),
        ev(0, OpClass::CopyDest, Some("a.jpg")),
        ev(1, OpClass::CopySource, Some("b.jpg")),
        ev(1, OpClass::CopyDest, Some("c.jpg")),
    ];
    let f = extract(&events, &mut History::new(), &FeatureConfig::default()).unwrap();
    let (_, v) = row(&f, SubjectKind::PrincipalInBucket, 0);
    assert_eq!(get(v, "copy_in_place"), 1.0);
    assert_eq!(get(v, "ops_copy_source"), 2.0);
    assert_eq!(get(v, "ops_copy_dest"), 2.0);
    // a.jpg existed (it was read as a copy source) when it was written over.
    assert_eq!(get(v, "overwrites"), 1.0);
}

#[test]
fn keys_with_an_extension_never_seen_in_the_bucket_are_counted() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    extract(&[ev(0, OpClass::Put, Some("a.jpg"))], &mut h, &cfg).unwrap();
    // The next day: `jpg` has joined the bucket's baseline, `locked` has not.
    let f = extract(
        &[
            ev(24 * 60 + 10, OpClass::Put, Some("b.jpg")),
            ev(24 * 60 + 11, OpClass::Put, Some("a.jpg.locked")),
        ],
        &mut h,
        &cfg,
    )
    .unwrap();
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "new_extension_keys"), 1.0);
    assert_eq!(get(v, "new_extension_share"), 0.5);
}

#[test]
fn rewriting_a_key_with_an_extension_outside_the_baseline_is_not_a_new_extension_again() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    extract(&[ev(0, OpClass::Put, Some("a.jpg"))], &mut h, &cfg).unwrap();
    h.freeze();
    // An incident renames a key: the new name brings an extension the bucket never had.
    let f = extract(&[ev(10, OpClass::Put, Some("a.jpg.locked"))], &mut h, &cfg).unwrap();
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "new_extension_keys"), 1.0);
    // Its usual writer later rewrites that key: the name already existed in the bucket.
    let f = extract(&[ev(60, OpClass::Put, Some("a.jpg.locked"))], &mut h, &cfg).unwrap();
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "overwrites"), 1.0);
    assert_eq!(get(v, "new_extension_keys"), 0.0);
    assert_eq!(get(v, "new_extension_share"), 0.0);
}

#[test]
fn several_window_lengths_come_from_one_pass_that_sees_every_event_once() {
    let cfg = FeatureConfig::default();
    let mut events = Vec::new();
    for i in 0..40i64 {
        // Two writes of each of 20 keys, 15 seconds apart, over 10 minutes: 20 overwrites.
        let mut e = ev(0, OpClass::Put, Some(&format!("k{}.jpg", i % 20)));
        e.time_us += i * 15_000_000;
        events.push(e);
    }
    let both = extract_windows(&events, &mut History::new(), &cfg, &[300, 60]).unwrap();
    assert_eq!(both.len(), 2);
    assert_eq!((both[0].window_secs, both[1].window_secs), (300, 60));
    // The main length is what extract gives.
    let main = extract(&events, &mut History::new(), &cfg).unwrap();
    assert_eq!(both[0], main);
    // The 1-minute rows add up to the 5-minute rows, per subject: the key state saw each
    // write once (an event seen twice would turn every first write into an overwrite).
    for name in ["ops_put", "overwrites"] {
        for kind in [SubjectKind::Bucket, SubjectKind::Principal] {
            let sum = |f: &WindowFeatures| -> f64 {
                (0..f.len())
                    .filter(|&i| f.subjects[i].kind == kind)
                    .map(|i| get(&f.values[i], name))
                    .sum()
            };
            assert_eq!(sum(&both[1]), sum(&both[0]), "{name} {kind:?}");
        }
    }
    let overwrites: f64 = (0..main.len())
        .filter(|&i| main.subjects[i].kind == SubjectKind::Bucket)
        .map(|i| get(&main.values[i], "overwrites"))
        .sum();
    assert_eq!(overwrites, 20.0);
    // 10 one-minute windows x 3 subjects, 2 five-minute windows x 3 subjects.
    assert_eq!((both[1].len(), both[0].len()), (30, 6));
    let err = extract_windows(&events, &mut History::new(), &cfg, &[300, 5])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("window_secs = 5: expected 10 to 86400 seconds"),
        "{err}"
    );
}

#[test]
fn errors_are_403_404_and_5xx() {
    let mut events = vec![
        ev(0, OpClass::Get, Some("a")),
        ev(0, OpClass::Get, Some("b")),
        ev(0, OpClass::Get, Some("c")),
        ev(0, OpClass::Get, Some("d")),
    ];
    events[0].status = Some(403);
    events[1].status = Some(404);
    events[2].status = Some(503);
    events[3].status = Some(304);
    let f = extract(&events, &mut History::new(), &FeatureConfig::default()).unwrap();
    let (_, v) = row(&f, SubjectKind::Principal, 0);
    assert_eq!(get(v, "errors"), 3.0);
    assert_eq!(get(v, "error_ratio"), 0.75);
}

#[test]
fn after_freezing_an_ip_principal_or_user_agent_outside_the_baseline_stays_new() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    extract(&[ev(0, OpClass::Get, Some("a"))], &mut h, &cfg).unwrap();
    h.freeze();
    let mut stranger = ev(20, OpClass::Get, Some("a"));
    stranger.source_ip = Some("203.0.113.9".into());
    stranger.user_agent = Some("python-requests/2".into());
    let mut mallory = ev(21, OpClass::Get, Some("a"));
    mallory.principal = Some("arn:aws:iam::1:user/mallory".into());
    for _ in 0..2 {
        let f = extract(&[stranger.clone(), mallory.clone()], &mut h, &cfg).unwrap();
        let (i, v) = row(&f, SubjectKind::Bucket, 0);
        assert_eq!(get(v, "distinct_ips"), 2.0);
        assert_eq!(get(v, "new_ips"), 1.0);
        assert_eq!(get(v, "new_user_agents"), 1.0);
        assert_eq!(get(v, "new_principals"), 1.0);
        assert!(f.flags[i].principal_is_new && f.flags[i].source_ip_is_new);
    }
    let f = extract(&[ev(40, OpClass::Get, Some("a"))], &mut h, &cfg).unwrap();
    let (i, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(
        (
            get(v, "new_ips"),
            get(v, "new_principals"),
            get(v, "new_user_agents")
        ),
        (0.0, 0.0, 0.0)
    );
    assert!(!f.flags[i].principal_is_new && !f.flags[i].source_ip_is_new);
}

#[test]
fn a_principal_never_seen_before_counts_as_new_once_not_also_as_a_new_ip_and_user_agent() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    extract(&[ev(0, OpClass::Get, Some("a"))], &mut h, &cfg).unwrap();
    h.freeze();
    // A known principal from a new IP with a new client: both are news about that principal.
    let mut stranger = ev(20, OpClass::Get, Some("a"));
    stranger.source_ip = Some("203.0.113.9".into());
    stranger.user_agent = Some("python-requests/2".into());
    // A principal never seen: its IP and client are new to it by definition.
    let mut mallory = stranger.clone();
    mallory.principal = Some("arn:aws:iam::1:user/mallory".into());
    let f = extract(&[stranger, mallory], &mut h, &cfg).unwrap();
    let novelty = |who: &str, kind: SubjectKind| {
        let i = (0..f.len())
            .find(|&i| {
                f.subjects[i].kind == kind && f.subjects[i].principal.as_deref() == Some(who)
            })
            .unwrap();
        let v = &f.values[i];
        (
            get(v, "new_principals"),
            get(v, "new_ips"),
            get(v, "new_user_agents"),
        )
    };
    for kind in [SubjectKind::Principal, SubjectKind::PrincipalInBucket] {
        assert_eq!(novelty("arn:aws:iam::1:user/alice", kind), (0.0, 1.0, 1.0));
        assert_eq!(
            novelty("arn:aws:iam::1:user/mallory", kind),
            (1.0, 0.0, 0.0)
        );
    }
}

#[test]
fn a_principal_new_in_a_bucket_brings_its_ip_and_user_agent_as_one_fact_for_the_bucket() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    extract(&[ev(0, OpClass::Get, Some("a"))], &mut h, &cfg).unwrap();
    h.freeze();
    let mut mallory = ev(20, OpClass::Get, Some("a"));
    mallory.principal = Some("arn:aws:iam::1:user/mallory".into());
    mallory.source_ip = Some("203.0.113.9".into());
    mallory.user_agent = Some("python-requests/2".into());
    let f = extract(&[mallory], &mut h, &cfg).unwrap();
    let (i, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(
        (
            get(v, "new_principals"),
            get(v, "new_ips"),
            get(v, "new_user_agents")
        ),
        (1.0, 0.0, 0.0)
    );
    assert!(f.flags[i].principal_is_new);
}

#[test]
fn while_learning_what_is_first_seen_stays_new_until_the_day_ends() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    // Alice's usual IP on the day before.
    extract(&[ev(-24 * 60, OpClass::Get, Some("a"))], &mut h, &cfg).unwrap();
    // A hotel IP at 10:20 and again at 15:00; the next day at 10:20.
    let mut hotel = ev(20, OpClass::Get, Some("a"));
    hotel.source_ip = Some("198.51.100.7".into());
    let mut later = hotel.clone();
    later.time_us += 280 * MIN_US;
    let mut next_day = hotel.clone();
    next_day.time_us += 24 * 60 * MIN_US;
    let mut new_ips = Vec::new();
    for e in [hotel, later, next_day] {
        let f = extract(&[e], &mut h, &cfg).unwrap();
        let (_, v) = row(&f, SubjectKind::Principal, 0);
        new_ips.push(get(v, "new_ips"));
    }
    assert_eq!(new_ips, [1.0, 1.0, 0.0]);
    // Frozen at the end of a day's learning, the day's items are part of the baseline.
    let mut h = History::new();
    let mut hotel = ev(20, OpClass::Get, Some("a"));
    hotel.source_ip = Some("198.51.100.7".into());
    extract(
        &[ev(-24 * 60, OpClass::Get, Some("a")), hotel.clone()],
        &mut h,
        &cfg,
    )
    .unwrap();
    h.freeze();
    hotel.time_us += 60 * MIN_US;
    let f = extract(&[hotel], &mut h, &cfg).unwrap();
    let (_, v) = row(&f, SubjectKind::Principal, 0);
    assert_eq!(get(v, "new_ips"), 0.0);
}

#[test]
fn configuration_changes_are_counted_flagged_by_kind_and_new_only_on_the_day_first_seen() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    let f = extract(&[ev(0, OpClass::ConfigChange, None)], &mut h, &cfg).unwrap();
    let (i, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "ops_config_change"), 1.0);
    assert_eq!(get(v, "config_changes_new"), 1.0);
    assert_eq!(f.flags[i].config_changed, vec![ConfigKind::Lifecycle]);
    let f = extract(&[ev(30, OpClass::ConfigChange, None)], &mut h, &cfg).unwrap();
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "config_changes_new"), 1.0);
    let f = extract(&[ev(24 * 60, OpClass::ConfigChange, None)], &mut h, &cfg).unwrap();
    let (_, v) = row(&f, SubjectKind::Bucket, 0);
    assert_eq!(get(v, "config_changes_new"), 0.0);
}

#[test]
fn activity_at_an_hour_the_subject_never_works_counts_as_off_hours() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    // Four Mondays of activity in every window from 10:00 to 11:00: 48 windows, all in one hour.
    for week in 0..4 {
        let events: Vec<AccessEvent> = (0..12)
            .map(|k| {
                let mut e = ev(5 * k, OpClass::Get, Some("a"));
                e.time_us += week * 7 * 86_400_000_000;
                e
            })
            .collect();
        extract(&events, &mut h, &cfg).unwrap();
    }
    h.freeze();
    let mut usual = ev(0, OpClass::Get, Some("a"));
    usual.time_us += 4 * 7 * 86_400_000_000;
    let mut night = usual.clone();
    night.time_us += 17 * 3_600_000_000; // 03:00 on Tuesday
    let f = extract(&[usual, night.clone(), night], &mut h, &cfg).unwrap();
    let (_, day) = row(&f, SubjectKind::Principal, 0);
    let (_, late) = row(&f, SubjectKind::Principal, 1);
    assert_eq!(get(day, "off_hours_ops"), 0.0);
    // Windows at the hour against the subject's average rate times how often the hour went by
    // while learning, smoothed with half a window: the history saw 3 weeks and 1 hour (505
    // hours, Tuesday 03:00 three times), so the share is 0.5 / (3 x 48 / 505 + 0.5).
    let share = 0.5 / (3.0 * 48.0 / 505.0 + 0.5);
    assert!(
        (get(late, "off_hours_ops") - 2.0 * (1.0 - share)).abs() < 1e-12,
        "{}",
        get(late, "off_hours_ops")
    );
}

#[test]
fn a_subject_active_around_the_clock_is_never_off_hours_over_a_training_period_of_odd_length() {
    let mut h = History::new();
    let cfg = FeatureConfig::default();
    // One request every hour for 10 days: some hours of the week went by once, some twice.
    let events: Vec<AccessEvent> = (0..240)
        .map(|k| {
            let mut e = ev(0, OpClass::Get, Some("a"));
            e.time_us += k * 3_600_000_000;
            e
        })
        .collect();
    extract(&events, &mut h, &cfg).unwrap();
    h.freeze();
    for days in [7, 11] {
        // Monday 13:00 (day 7) went by twice while learning, Friday 13:00 (day 11) once.
        let mut e = ev(0, OpClass::Get, Some("a"));
        e.time_us += days * 86_400_000_000 + 3 * 3_600_000_000;
        let f = extract(&[e], &mut h, &cfg).unwrap();
        let (_, v) = row(&f, SubjectKind::Principal, 0);
        assert!(get(v, "off_hours_ops").abs() < 1e-12, "day {days}: {v:?}");
    }
}

#[test]
fn the_order_of_events_does_not_change_the_features() {
    let mut events = Vec::new();
    for i in 0..300 {
        let op = [
            OpClass::Get,
            OpClass::Put,
            OpClass::Delete,
            OpClass::CopySource,
            OpClass::CopyDest,
        ][i % 5];
        let mut e = ev(
            (i / 20) as i64,
            op,
            Some(&format!("k{}.{}", i % 37, ["jpg", "pdf", "x"][i % 3])),
        );
        if i % 7 == 0 {
            e.source_ip = Some(format!("198.51.100.{}", i % 4));
        }
        if i % 11 == 0 {
            e.principal = Some("arn:aws:iam::1:user/bob".into());
        }
        events.push(e);
    }
    let a = extract(&events, &mut History::new(), &FeatureConfig::default()).unwrap();
    events.shuffle(&mut Xoshiro256PlusPlus::seed_from_u64(3));
    let b = extract(&events, &mut History::new(), &FeatureConfig::default()).unwrap();
    assert_eq!(a, b);
    // 3 windows x (alice, bob: 2 principals + 2 principal-in-bucket, 1 bucket).
    assert_eq!(a.len(), 15);
}

#[test]
fn the_feature_frame_has_a_column_per_feature() {
    let f = extract(
        &[ev(0, OpClass::Get, Some("a"))],
        &mut History::new(),
        &FeatureConfig::default(),
    )
    .unwrap();
    let df = f.to_frame().unwrap();
    assert_eq!(df.height(), 3);
    assert_eq!(df.width(), 3 + FEATURES.len());
    assert_eq!(
        df.column("ops_get").unwrap().f64().unwrap().get(0),
        Some(1.0)
    );
}

#[test]
fn a_window_outside_its_range_is_a_located_configuration_error() {
    let cfg = FeatureConfig {
        window_secs: 5,
        ..FeatureConfig::default()
    };
    let err = extract(&[], &mut History::new(), &cfg)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "window_secs = 5: expected 10 to 86400 seconds (default 300)"
    );
}

#[test]
fn subjects_display_their_kind_and_names() {
    let s = Subject {
        kind: SubjectKind::PrincipalInBucket,
        bucket: Some("b".into()),
        principal: None,
    };
    assert_eq!(s.to_string(), "principal:anonymous@bucket:b");
}

#[test]
fn object_features_count_reads_by_age_and_since_the_last_write() {
    let day = 86_400_000_000i64;
    let now = MONDAY_US + 100 * day;
    let at = |days_ago: f64, op: OpClass, key: &str| {
        let mut e = ev(0, op, Some(key));
        e.time_us = now - (days_ago * day as f64) as i64;
        e.object_size = Some(if op == OpClass::Put { 4096 } else { 1000 });
        e
    };
    let events = vec![
        at(80.0, OpClass::Get, "a"),
        at(40.0, OpClass::Put, "a"),
        at(20.0, OpClass::Get, "a"),
        at(3.0, OpClass::Get, "a"),
        at(0.5, OpClass::Get, "a"),
        at(0.25, OpClass::Head, "a"),
        at(10.0, OpClass::Get, "b"),
        at(-1.0, OpClass::Get, "b"), // after `now`: ignored
    ];
    let df = object_features(&to_frame(events).unwrap(), now, 7.0).unwrap();
    assert_eq!(df.height(), 2);
    let u = |c: &str, i: usize| {
        df.column(c)
            .unwrap()
            .cast(&polars::prelude::DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .get(i)
    };
    // Row 0 is key "a".
    assert_eq!(u("reads_1d", 0), Some(1.0));
    assert_eq!(u("reads_7d", 0), Some(2.0));
    assert_eq!(u("reads_30d", 0), Some(3.0));
    assert_eq!(u("reads_90d", 0), Some(4.0));
    assert_eq!(u("writes_90d", 0), Some(1.0));
    assert_eq!(u("reads_since_last_write", 0), Some(3.0));
    assert_eq!(u("age_seconds", 0), Some(40.0 * 86_400.0));
    assert_eq!(u("size", 0), Some(1000.0));
    let expected_rate: f64 = [80.0f64, 20.0, 3.0, 0.5]
        .iter()
        .map(|d| 0.5f64.powf(d / 7.0))
        .sum::<f64>()
        * std::f64::consts::LN_2
        / 7.0;
    assert!((u("decayed_read_rate", 0).unwrap() - expected_rate).abs() < 1e-9);
    // "b" was never written: its age runs from the first request seen.
    assert_eq!(u("reads_since_last_write", 1), Some(1.0));
    assert_eq!(u("age_seconds", 1), Some(10.0 * 86_400.0));
    assert_eq!(u("reads_90d", 1), Some(1.0));
}

#[test]
fn object_features_need_a_positive_half_life() {
    let df = to_frame(vec![ev(0, OpClass::Get, Some("a"))]).unwrap();
    let err = object_features(&df, MONDAY_US, 0.0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "half_life_days = 0: expected a positive number of days (for example 7)"
    );
}
