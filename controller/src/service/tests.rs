//! The service in process, on real SQLite and `file://` tiers: what an operator's unfreeze does
//! to a running service.

use std::path::Path;

use models::{AccessEvent, ConfigKind, OpClass};

use super::*;
use crate::cli::unfreeze::{self, UnfreezeArgs};

/// A rule that moves every object on onprem to the cloud at once.
const EVERYTHING_TO_CLOUD: &str = "[[rule]]\nid = \"out\"\nscope = { bucket = \"*\" }\n\
    when = \"tier == 'onprem'\"\naction = { kind = \"move\", to = \"cloud\" }\n\
    [guardrails]\nmin_residency = { onprem = \"0s\" }\n";

/// Objects of the bucket photos on the onprem tier under `d`, each of 12 bytes.
fn on_onprem(d: &Path, keys: &[&str]) {
    for key in keys {
        let p = d.join("onprem/photos").join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"twelve bytes").unwrap();
    }
}

/// The log's PUT of photos/KEY, 12 bytes, `secs_ago`.
fn put_photo(key: &str, secs_ago: i64) -> AccessEvent {
    AccessEvent {
        time_us: (now() - secs_ago) * 1_000_000,
        op: OpClass::Put,
        bucket: "photos".into(),
        key: Some(key.into()),
        object_size: Some(12),
        status: Some(200),
        ..AccessEvent::default()
    }
}

/// A service reading an empty `logs/` under `d`, with `policy` in `policy.toml`.
async fn service(d: &Path, policy: &str) -> Service {
    service_with(d, policy, "").await
}

/// [`service`], with `service` settings added to its `[service]` table.
async fn service_with(d: &Path, policy: &str, service: &str) -> Service {
    let root = d.display();
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::write(d.join("policy.toml"), policy).unwrap();
    std::fs::write(
        d.join("tierd.toml"),
        format!(
            "[journal]\npath = \"{root}/tierd.db\"\n\
             [tiers.onprem]\nurl = \"file://{root}/onprem\"\n\
             [tiers.cloud]\nurl = \"file://{root}/cloud\"\n\
             [tiers.vault]\nurl = \"file://{root}/vault\"\nrole = \"vault\"\n\
             [ingest]\nsources = [\"{root}/logs/\"]\nformat = \"s3\"\n\
             [policies]\nfiles = [\"{root}/policy.toml\"]\n\
             [model]\nlearning_days = 365\n\
             [service]\nlisten = \"off\"\n{service}"
        ),
    )
    .unwrap();
    let config = Config::load(&d.join("tierd.toml")).unwrap_or_else(|e| panic!("{}", e[0]));
    Service::start(config, StartContext::default())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_unfreeze_is_not_undone_by_the_signal_the_operator_has_seen() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut svc = service(
        d,
        "[[rule]]\nid = \"freeze-on-lifecycle-change\"\nscope = { bucket = \"*\" }\n\
         when = \"lifecycle_changed\"\naction = \"freeze\"\n",
    )
    .await;
    let t = now();
    let event = |secs_ago: i64, op: OpClass| AccessEvent {
        time_us: (t - secs_ago) * 1_000_000,
        op,
        bucket: "photos".into(),
        status: Some(200),
        ..AccessEvent::default()
    };
    // Bucket-level rules are evaluated over a bucket's objects: it has one.
    let put = AccessEvent {
        key: Some("a.jpg".into()),
        object_size: Some(10),
        ..event(120, OpClass::Put)
    };
    let hot = svc.planner.hot_tier();
    svc.planner.objects.observe(&put, hot);
    let change = AccessEvent {
        config: Some(ConfigKind::Lifecycle),
        ..event(60, OpClass::ConfigChange)
    };
    assert_eq!(svc.planner.behaviour.config_changes(&[change]), 1);
    let first = svc.cycle().await.unwrap();
    assert_eq!(first.open_freezes, 1, "{first:?}");
    assert_eq!(svc.executor.journal().behaviour_all().unwrap().len(), 1);

    // The operator lifts it while the service runs, as `tierd unfreeze photos` does.
    unfreeze::run(UnfreezeArgs {
        bucket: Some("photos".into()),
        all_buckets: false,
        prefix: String::new(),
        config: Some(d.join("tierd.toml")),
        reason: Some("ticket 4411: the admin's cleanup".into()),
    })
    .unwrap();
    let lifted = svc
        .executor
        .journal()
        .decisions(&crate::journal::decisions::DecisionFilter {
            action: Some("unfreeze".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(
        lifted[0]
            .reason
            .ends_with("if any. Why: ticket 4411: the admin's cleanup"),
        "{lifted:?}"
    );
    svc.plan_now();
    let second = svc.cycle().await.unwrap();
    assert_eq!(
        (second.open_freezes, second.decisions),
        (0, 0),
        "the change the operator has seen does not freeze the bucket again: {second:?}"
    );
    assert!(
        !svc.planner
            .behaviour
            .facts("photos", now())
            .lifecycle_changed
    );
    assert!(svc.executor.journal().behaviour_all().unwrap().is_empty());

    // A new change freezes it again.
    let again = AccessEvent {
        config: Some(ConfigKind::Lifecycle),
        ..event(0, OpClass::ConfigChange)
    };
    svc.planner.behaviour.config_changes(&[again]);
    svc.plan_now();
    assert_eq!(svc.cycle().await.unwrap().open_freezes, 1);

    // Lifted and frozen again by an operator between two cycles (`tierd unfreeze photos`, then
    // `tierd freeze photos`): the service holds the operator's freeze, not the rule's.
    let config = Some(d.join("tierd.toml"));
    unfreeze::run(UnfreezeArgs {
        bucket: Some("photos".into()),
        all_buckets: false,
        prefix: String::new(),
        config: config.clone(),
        reason: None,
    })
    .unwrap();
    crate::cli::freeze::run(crate::cli::freeze::FreezeArgs {
        bucket: Some("photos".into()),
        all_buckets: false,
        prefix: String::new(),
        reason: None,
        config,
    })
    .unwrap();
    svc.plan_now();
    assert_eq!(svc.cycle().await.unwrap().open_freezes, 1);
    let held: Vec<_> = svc.planner.freezes().collect();
    assert_eq!(held[0].rule, None, "{held:?}");
    assert!(held[0].decision_id.starts_with("freeze-"), "{held:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_started_while_every_bucket_is_frozen_holds_its_moves_and_says_so_until_lifted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["a.jpg"]);
    drop(service(d, EVERYTHING_TO_CLOUD).await);
    let config = Some(d.join("tierd.toml"));
    let freeze = |bucket: Option<&str>| {
        crate::cli::freeze::run(crate::cli::freeze::FreezeArgs {
            bucket: bucket.map(str::to_string),
            all_buckets: bucket.is_none(),
            prefix: String::new(),
            reason: Some("array swap".into()),
            config: config.clone(),
        })
        .unwrap();
    };
    let unfreeze = |bucket: Option<&str>| {
        unfreeze::run(UnfreezeArgs {
            bucket: bucket.map(str::to_string),
            all_buckets: bucket.is_none(),
            prefix: String::new(),
            config: config.clone(),
            reason: None,
        })
        .unwrap();
    };
    freeze(None);
    freeze(Some("photos"));
    let mut svc = service_with(d, EVERYTHING_TO_CLOUD, "scan_interval = \"off\"\n").await;
    let frozen = |svc: &Service| {
        svc.warnings
            .all()
            .into_iter()
            .find(|(name, _)| *name == "frozen")
            .map(|(_, detail)| detail)
    };
    let warning = frozen(&svc).expect("a /readyz warning from the start");
    assert!(
        warning.starts_with("every bucket since ")
            && warning.ends_with(
                " (array swap): nothing is moved or deleted until `tierd unfreeze --all-buckets`"
            ),
        "{warning}"
    );
    let put = put_photo("a.jpg", 60);
    let hot = svc.planner.hot_tier();
    svc.planner.objects.observe(&put, hot);
    let held = svc.cycle().await.unwrap();
    assert_eq!(
        (held.moves_done, held.moves_held.frozen, held.open_freezes),
        (0, 1, 2),
        "{held:?}"
    );

    // The bucket's own freeze lifted: the freeze of every bucket still holds the move.
    unfreeze(Some("photos"));
    svc.plan_now();
    let still = svc.cycle().await.unwrap();
    assert_eq!(
        (
            still.moves_done,
            still.moves_held.frozen,
            still.open_freezes
        ),
        (0, 1, 1),
        "{still:?}"
    );
    assert_eq!(frozen(&svc), Some(warning));

    // Lifted: the next cycle moves, and /readyz no longer warns.
    unfreeze(None);
    svc.plan_now();
    let moved = svc.cycle().await.unwrap();
    assert_eq!((moved.moves_done, moved.open_freezes), (1, 0), "{moved:?}");
    assert_eq!(frozen(&svc), None);
    assert!(d.join("cloud/photos/a.jpg").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_a_moves_listing_finds_are_adopted_at_once() {
    // No periodic listing: the only listing is the one a move makes to learn its object.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["a.jpg", "b.jpg"]);
    let mut svc = service_with(d, EVERYTHING_TO_CLOUD, "scan_interval = \"off\"\n").await;
    // The logs named a.jpg only.
    let put = put_photo("a.jpg", 60);
    let hot = svc.planner.hot_tier();
    svc.planner.objects.observe(&put, hot);
    let first = svc.cycle().await.unwrap();
    assert_eq!(
        (first.moves_done, first.objects_listed),
        (1, None),
        "{first:?}"
    );
    // The move's listing of the bucket found b.jpg: the planner knows it, and places it.
    assert!(svc.planner.objects.row("photos", "b.jpg").is_some());
    svc.plan_now();
    let second = svc.cycle().await.unwrap();
    assert_eq!(second.moves_done, 1, "{second:?}");
    assert!(d.join("cloud/photos/b.jpg").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_lists_the_tiers_beside_its_cycles_and_plans_what_the_listing_found() {
    // No log names b.jpg: only the listing finds it. The service's cycles do not wait for the
    // listing; the first cycle after it ends adopts what it found, and plans at once.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["a.jpg", "b.jpg"]);
    let mut svc = service(d, EVERYTHING_TO_CLOUD).await;
    svc.list_in_background();
    let first = svc.cycle().await.unwrap();
    assert_eq!(
        (first.objects_listed, first.moves_done),
        (None, 0),
        "the first cycle starts the listing and does not wait for it: {first:?}"
    );
    assert!(svc.listing.is_some());
    // A second listing is not started while one runs, however due.
    svc.next_scan = 0;
    let mut report = None;
    for _ in 0..200 {
        let r = svc.cycle().await.unwrap();
        if r.objects_listed.is_some() {
            report = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = report.expect("the listing of two files ended within 200 cycles");
    assert_eq!((r.objects_listed, r.moves_done), (Some(2), 2), "{r:?}");
    assert!(d.join("cloud/photos/b.jpg").exists());
    assert!(svc.scanned.contains("photos"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_ends_a_listing_under_way_and_keeps_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["a.jpg"]);
    let mut svc = service(d, EVERYTHING_TO_CLOUD).await;
    svc.list_in_background();
    svc.cycle().await.unwrap();
    svc.stop_listing().await;
    assert!(svc.listing.is_none());
    // Whether it ended before the stop or not, the journal is whole and the next listing
    // (inline here) finds the object.
    svc.list_in_background = false;
    svc.next_scan = 0;
    let r = svc.cycle().await.unwrap();
    assert_eq!(r.objects_listed, Some(1), "{r:?}");
    assert!(
        svc.executor
            .journal()
            .locate("photos", "a.jpg")
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_policy_file_added_to_a_policy_folder_is_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("policies.d")).unwrap();
    std::fs::write(d.join("policies.d/a.toml"), "").unwrap();
    let mut config = Config::embedded();
    config.policy_files = vec![d.join("policies.d").display().to_string()];
    let before = policy_stamp(&config);
    assert_eq!(before.len(), 1, "{before:?}");
    std::fs::write(d.join("policies.d/b.toml"), "").unwrap();
    assert_eq!(policy_stamp(&config).len(), 2);
}

fn event_at(t: i64, op: OpClass, key: &str, status: u16) -> AccessEvent {
    AccessEvent {
        time_us: t * 1_000_000,
        op,
        bucket: "photos".into(),
        key: Some(key.into()),
        object_size: Some(12),
        status: Some(status),
        ..AccessEvent::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_another_scan_put_in_the_catalog_reach_the_planner_at_the_next_listing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["a.jpg", "b.jpg"]);
    let mut svc = service_with(
        d,
        "[[rule]]\nid = \"noop\"\nscope = { bucket = \"*\" }\nwhen = \"size > 1TiB\"\n\
         action = { kind = \"move\", to = \"cloud\" }\n",
        "",
    )
    .await;
    // A snapshot's scan (or `tierd locate`'s) learns the bucket before the service's listing.
    svc.executor.scan_complete("photos", "").await.unwrap();
    let r = svc.cycle().await.unwrap();
    assert_eq!(r.objects_listed, Some(2), "{r:?}");
    assert!(svc.planner.objects.row("photos", "b.jpg").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_of_an_object_deleted_off_the_hot_tier_forgets_a_stale_entry() {
    // Deleted while on the cloud, found again there by a listing, then written again on the
    // hot tier: the catalog must not keep calling the old cloud copy the object.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t0 = now() - 3600;
    let cold = d.join("cloud/photos/a.jpg");
    std::fs::create_dir_all(cold.parent().unwrap()).unwrap();
    std::fs::write(&cold, b"old version!").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&cold)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t0 as u64))
        .unwrap();
    let mut svc = service_with(d, EVERYTHING_TO_CLOUD, "scan_interval = \"off\"\n").await;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    svc.audit = Some(rx);
    let locate = |svc: &Service| svc.executor.journal().locate("photos", "a.jpg").unwrap();
    svc.list_tiers(now(), &mut CycleReport::default())
        .await
        .unwrap();
    assert_eq!(locate(&svc).unwrap().tier, "cloud");
    // The owner deletes it; the next listing finds the cloud copy again.
    tx.send(vec![event_at(t0 + 60, OpClass::Delete, "a.jpg", 204)])
        .await
        .unwrap();
    svc.cycle().await.unwrap();
    assert!(locate(&svc).is_none());
    svc.list_tiers(now(), &mut CycleReport::default())
        .await
        .unwrap();
    assert_eq!(locate(&svc).unwrap().tier, "cloud");
    // The owner writes it again on the hot tier.
    let hot = d.join("onprem/photos/a.jpg");
    std::fs::create_dir_all(hot.parent().unwrap()).unwrap();
    std::fs::write(&hot, b"new version!").unwrap();
    tx.send(vec![event_at(now() - 5, OpClass::Put, "a.jpg", 200)])
        .await
        .unwrap();
    svc.plan_now();
    let r = svc.cycle().await.unwrap();
    // The stale entry was forgotten; the move found the new version on onprem, and the old copy
    // on the cloud in its way (tierd never overwrites): a failed move that now waits.
    assert_eq!(r.moves_failed, 1, "{r:?}");
    assert_eq!(locate(&svc).unwrap().tier, "onprem");
    svc.plan_now();
    let r = svc.cycle().await.unwrap();
    assert_eq!((r.moves_failed, r.moves_held.retry), (0, 1), "{r:?}");
}

/// A freeze open at start resumes an incident only when an anomaly opened it and the bucket's
/// behaviour was not saved (a journal from before behaviour was kept): a freeze a plain rule
/// opened must not become an incident at a restart, which would fire `incident_open` rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_freeze_an_anomaly_opened_resumes_an_incident_at_start() {
    use crate::decision::{Anomaly, Decision};
    use crate::journal::freezes::FreezeRow;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    drop(service(d, "").await);
    {
        let mut j = crate::journal::Journal::open(&d.join("tierd.db")).unwrap();
        for (bucket, anomaly) in [("photos", true), ("media", false)] {
            let id = format!("freeze-{bucket}");
            let mut decision = Decision::operator_move(
                id.clone(),
                "2026-11-29T10:00:00Z".into(),
                (bucket, ""),
                (None, "cloud"),
                "a freeze".into(),
            );
            decision.anomaly = anomaly.then(|| Anomaly {
                subject: format!("bucket:{bucket}"),
                score: 0.99,
                threshold: 0.9,
                model: "test".into(),
                top_features: Vec::new(),
                window_start: None,
                window_secs: None,
                principal: None,
            });
            j.record_decision(&decision).unwrap();
            j.open_freeze(&FreezeRow {
                bucket: bucket.into(),
                prefix: String::new(),
                since: "2026-11-29T10:00:00Z".into(),
                decision_id: id,
                rule: Some("freeze-rule".into()),
            })
            .unwrap();
        }
    }
    let svc = service(d, "").await;
    assert_eq!(svc.planner.freezes().count(), 2);
    assert_eq!(svc.planner.behaviour.open_incidents(), 1);
    assert!(svc.planner.behaviour.facts("photos", now()).incident_open);
    assert!(!svc.planner.behaviour.facts("media", now()).incident_open);
}

/// An object the logs name but no tier holds: its move is skipped once ("on no tier"), and the
/// planner no longer plans it, until the logs show it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_of_an_object_on_no_tier_is_skipped_once_not_at_every_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["here.jpg"]);
    let mut svc = service_with(d, EVERYTHING_TO_CLOUD, "scan_interval = \"off\"\n").await;
    let put = put_photo;
    let hot = svc.planner.hot_tier();
    svc.planner.objects.observe(&put("gone.jpg", 120), hot);
    svc.planner.objects.observe(&put("here.jpg", 120), hot);
    let first = svc.cycle().await.unwrap();
    assert_eq!(
        (first.decisions, first.moves_done, first.moves_skipped),
        (2, 1, 1),
        "{first:?}"
    );
    for _ in 0..2 {
        svc.plan_now();
        let next = svc.cycle().await.unwrap();
        assert_eq!((next.decisions, next.moves_skipped), (0, 0), "{next:?}");
    }
    // A listing that finds it brings it back; one of a known object adds nothing.
    let row = svc.planner.objects.row("photos", "gone.jpg").unwrap();
    assert!(svc.planner.objects.is_gone(row));
    let entry = |key: &str| crate::journal::catalog::Entry {
        bucket: "photos".into(),
        key: key.into(),
        tier: "onprem".into(),
        size: 12,
        etag: None,
        checksum: None,
        since: "2026-11-29T10:00:00Z".into(),
        decision_id: None,
    };
    assert_eq!(adopt(&mut svc.planner, [entry("here.jpg")], now()), 0);
    assert_eq!(adopt(&mut svc.planner, [entry("gone.jpg")], now()), 1);
    assert!(!svc.planner.objects.is_gone(row) && svc.planner.objects.live[row]);
    svc.planner.objects.gone(row);
    // Written again: planned (and moved) again.
    std::fs::write(d.join("onprem/photos/gone.jpg"), b"twelve bytes").unwrap();
    svc.planner.objects.observe(&put("gone.jpg", 0), hot);
    svc.plan_now();
    let back = svc.cycle().await.unwrap();
    assert_eq!((back.decisions, back.moves_done), (1, 1), "{back:?}");
    assert!(d.join("cloud/photos/gone.jpg").exists());
}

/// An attack in logs read a day late (a backlog after an outage, a late log shipment): its
/// incident opens, stays open and is acted on, because holds and quiet periods count in the
/// logs' time, not the wall clock's (review 21, finding 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_in_logs_a_day_old_is_acted_on_not_closed_on_arrival() {
    // The logs read end 5 minutes after the burst, or 3 days after it (a backlog longer than
    // incident_quiet: the incident is still acted on before it closes).
    for read_after in [300, 3 * 86_400] {
        incident_in_a_backlog(read_after).await;
    }
}

async fn incident_in_a_backlog(read_after: i64) {
    use models::detect::SubjectScore;
    use models::features::{Subject, SubjectKind, WindowFlags};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    on_onprem(d, &["a.jpg"]);
    let mut svc = service(
        d,
        "[[rule]]\nid = \"freeze-on-incident\"\nscope = { bucket = \"*\" }\n\
         when = \"incident_open\"\naction = \"freeze\"\n\
         [[rule]]\nid = \"alert-on-anomaly\"\nscope = { bucket = \"*\" }\n\
         when = \"bucket_anomaly >= 0.8\"\naction = { kind = \"alert\", severity = \"critical\", message = \"burst\" }\n",
    )
    .await;
    let burst = now() - 4 * 86_400;
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    svc.audit = Some(rx);
    // The logs read: up to `read_after` seconds after the burst.
    tx.send(vec![put_photo("a.jpg", 4 * 86_400 - read_after)])
        .await
        .unwrap();
    let scored = SubjectScore {
        subject: Subject {
            kind: SubjectKind::Bucket,
            bucket: Some("photos".into()),
            principal: None,
        },
        window_start_us: burst * 1_000_000,
        score: 0.95,
        threshold: 0.6,
        is_anomalous: true,
        learning: false,
        top_features: Vec::new(),
        flags: WindowFlags::default(),
        window_secs: 300,
    };
    assert!(svc.planner.behaviour.observe(&scored, 300).is_some());
    svc.plan_now();
    let r = svc.cycle().await.unwrap();
    assert_eq!(
        (r.open_incidents, r.open_freezes),
        (1, 1),
        "{read_after}: {r:?}"
    );
    let alerts = svc
        .executor
        .journal()
        .decisions(&crate::journal::decisions::DecisionFilter {
            action: Some("alert".into()),
            ..Default::default()
        })
        .unwrap();
    // The score holds for anomaly_hold (1 h) in the logs' time: read 5 minutes after the burst
    // it fires the alert rule; read 3 days after, it no longer holds (the incident does).
    let held = usize::from(read_after < 3600);
    assert_eq!(alerts.len(), held, "{read_after}: {alerts:?}");
}

/// Every vault has its gauges from the start, at 0 before its first snapshot; a vault is no data
/// tier (review 22).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_without_snapshots_shows_zero_and_no_tier_series() {
    let dir = tempfile::tempdir().unwrap();
    let svc = service(dir.path(), EVERYTHING_TO_CLOUD).await;
    let text = svc.metrics.render(now());
    assert!(
        text.contains("tierd_vault_snapshots{vault=\"vault\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("tierd_vault_bytes{vault=\"vault\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("tierd_tier_objects{tier=\"onprem\"} "),
        "{text}"
    );
    assert!(
        !text.contains("tierd_tier_objects{tier=\"vault\"}"),
        "{text}"
    );
}
