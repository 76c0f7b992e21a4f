//! Behaviour per bucket, from the anomaly model's window scores: the anomaly signals rules read,
//! and the incident lifecycle.
//!
//! - A score holds for `anomaly_hold` seconds after its window (so a burst between two planning
//!   passes is still seen by the next one).
//! - An incident opens on a bucket when one of its subjects (the bucket, or a principal in it)
//!   has an anomalous window outside learning mode; it closes after `incident_quiet` seconds
//!   without one. Learning-mode scores are recorded but never open an incident or raise a signal.
//! - Holds and quiet periods are measured in event time: the scores' times are the windows'
//!   (from the logs), so the service sets the clock to the newest event read
//!   ([`Behaviour::set_clock`]); a backlog, or logs delivered hours late, are then judged as
//!   they happened, not closed or expired on arrival. `simulate` passes event time already.
//! - Flags (a new principal or IP) hold like scores. Configuration changes are read from the
//!   events themselves ([`Behaviour::config_changes`]): they are facts, not scores, and count
//!   whatever the model's state (learning, off or active).

use std::collections::BTreeMap;

use models::detect::SubjectScore;
use models::features::SubjectKind;
use models::{AccessEvent, ConfigKind, OpClass};
use policies::BehaviourFacts;
use serde::{Deserialize, Serialize};

use crate::decision::{Anomaly, Feature};

/// An open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Unix seconds of the first anomalous window's end.
    pub opened_at: i64,
    /// Unix seconds of the last anomalous window's end.
    pub last_anomalous: i64,
    /// The strongest anomaly seen in it (none for an incident resumed after a restart whose
    /// freeze cited none, until an anomalous window).
    pub anomaly: Option<Anomaly>,
    /// A planning pass saw it open: only then may it close. An attack in a backlog older than
    /// `incident_quiet` is acted on (snapshot, freeze, alert) before its incident closes.
    #[serde(default = "planned_before")]
    pub planned: bool,
}

/// An incident saved before `planned` was kept had been seen by a pass.
fn planned_before() -> bool {
    true
}

/// What changed in the incident lifecycle.
#[derive(Debug, Clone, PartialEq)]
pub enum IncidentChange {
    Opened {
        bucket: String,
        at: i64,
        anomaly: Anomaly,
    },
    Closed {
        bucket: String,
        at: i64,
        opened_at: i64,
    },
}

/// A bucket's behaviour; the journal keeps it as JSON while it matters ([`Behaviour::saved`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
struct BucketState {
    /// (score, until) of the bucket subject and of its principals.
    bucket_score: (f64, i64),
    principal_score: (f64, i64),
    /// The strongest recent scored window, for the decision record.
    strongest: Option<(Anomaly, i64)>,
    principal_new_until: i64,
    ip_new_until: i64,
    /// Until when each configuration change holds.
    config_until: BTreeMap<ConfigKind, i64>,
    incident: Option<Incident>,
}

impl BucketState {
    /// Whether anything of it still counts at `now`: an open incident, or a score, flag or
    /// configuration change whose signal still holds.
    fn matters(&self, now: i64) -> bool {
        let held = [
            self.bucket_score.1,
            self.principal_score.1,
            self.principal_new_until,
            self.ip_new_until,
        ];
        self.incident.is_some()
            || held.into_iter().any(|u| u >= now)
            || self.strongest.as_ref().is_some_and(|(_, u)| *u >= now)
            || self.config_until.values().any(|&u| u >= now)
    }
}

/// Behaviour of every bucket seen in scores.
#[derive(Debug, Clone)]
pub struct Behaviour {
    buckets: BTreeMap<String, BucketState>,
    hold: i64,
    quiet: i64,
    model_name: String,
    /// Per bucket window of the scores being observed: the principal in the bucket that scored
    /// highest ([`Behaviour::note_drivers`]).
    drivers: BTreeMap<WindowKey, (f64, String)>,
    /// The newest event time read, when the caller's `now` is the wall clock (the service).
    clock: Option<i64>,
}

/// The anomaly of a window; `driver`: for a bucket subject, the principal in the bucket that
/// scored highest in the same window ([`Behaviour::note_drivers`]).
fn anomaly_of(s: &SubjectScore, model: &str, driver: Option<&String>) -> Anomaly {
    let start = s.window_start_us.div_euclid(1_000_000);
    Anomaly {
        subject: s.subject.to_string(),
        score: round4(s.score),
        threshold: round4(s.threshold),
        model: model.to_string(),
        top_features: s
            .top_features
            .iter()
            .map(|c| Feature {
                name: c.name.clone(),
                value: round4(c.value),
                baseline: round4(c.baseline),
                deviation: Some((c.deviation * 10.0).round() / 10.0).filter(|d| d.is_finite()),
            })
            .collect(),
        window_start: Some(policies::facts::format_utc(start)),
        window_secs: Some(s.window_secs),
        principal: match s.subject.kind {
            SubjectKind::Bucket => driver.cloned(),
            _ => s.subject.principal.clone(),
        },
    }
}

/// (bucket, window start µs, window length s).
type WindowKey = (String, i64, i64);

/// [`anomaly_of`] with the window's driver from `drivers` ([`Behaviour::note_drivers`]).
fn anomaly_with(
    s: &SubjectScore,
    model: &str,
    drivers: &BTreeMap<WindowKey, (f64, String)>,
) -> Anomaly {
    let key = (
        s.subject.bucket.clone().unwrap_or_default(),
        s.window_start_us,
        s.window_secs,
    );
    anomaly_of(s, model, drivers.get(&key).map(|d| &d.1))
}

/// Four decimals: stable text in records whatever the float noise.
pub fn round4(x: f64) -> f64 {
    if x.is_finite() {
        (x * 10_000.0).round() / 10_000.0
    } else {
        0.0
    }
}

impl Behaviour {
    pub fn new(hold_secs: u64, quiet_secs: u64, model_name: &str) -> Behaviour {
        Behaviour {
            buckets: BTreeMap::new(),
            hold: hold_secs as i64,
            quiet: quiet_secs as i64,
            model_name: model_name.to_string(),
            drivers: BTreeMap::new(),
            clock: None,
        }
    }

    /// Sets the event clock: the newest event time read (unix seconds), `None` while none was.
    /// From then on every `now` given is taken at most that: a burst in logs read a day late
    /// opens an incident that stays open, and its held scores hold, for as long after the burst
    /// in the logs' time as they would have live.
    pub fn set_clock(&mut self, newest_event: Option<i64>) {
        self.clock = newest_event;
    }

    /// `now` on the event clock (`now` itself without one, or when the logs run ahead of it).
    fn at(&self, now: i64) -> i64 {
        self.clock.map_or(now, |c| c.min(now))
    }

    /// Takes a pass's scores before they are observed: for each bucket window, the principal
    /// in the bucket that scored highest is named in the bucket subject's anomaly.
    pub fn note_drivers(&mut self, scores: &[SubjectScore]) {
        self.drivers.clear();
        for s in scores {
            if let (SubjectKind::PrincipalInBucket, Some(b), Some(p)) =
                (s.subject.kind, &s.subject.bucket, &s.subject.principal)
            {
                let key = (b.clone(), s.window_start_us, s.window_secs);
                let d = self.drivers.entry(key).or_insert((s.score, p.clone()));
                if s.score > d.0 {
                    *d = (s.score, p.clone());
                }
            }
        }
    }

    /// Names the model in the anomalies cited from now on.
    pub fn set_model_name(&mut self, name: &str) {
        if self.model_name != name {
            self.model_name = name.to_string();
        }
    }

    /// Takes the events of a pass: each successful change of a bucket's configuration holds its
    /// signal (`behaviour.config_changed.*`) for `anomaly_hold` seconds after it happened.
    /// Returns how many there were (a change of protection is planned on at once).
    pub fn config_changes(&mut self, events: &[AccessEvent]) -> usize {
        let mut n = 0;
        for e in events {
            if e.op != OpClass::ConfigChange || e.status.is_some_and(|s| s >= 400) {
                continue;
            }
            let kind = e.config.unwrap_or(ConfigKind::Other);
            let until = e.time_us.div_euclid(1_000_000) + self.hold;
            let st = self.buckets.entry(e.bucket.clone()).or_default();
            let u = st.config_until.entry(kind).or_insert(until);
            *u = (*u).max(until);
            n += 1;
        }
        n
    }

    /// Takes one window's score (window length `window_secs`); returns an incident that opened.
    pub fn observe(&mut self, s: &SubjectScore, window_secs: i64) -> Option<IncidentChange> {
        let bucket = s.subject.bucket.as_deref()?;
        let end = s.window_start_us.div_euclid(1_000_000) + window_secs;
        let until = end + self.hold;
        let (drivers, model) = (&self.drivers, self.model_name.as_str());
        let st = self.buckets.entry(bucket.to_string()).or_default();
        if !s.learning {
            let slot = match s.subject.kind {
                SubjectKind::Bucket => &mut st.bucket_score,
                _ => &mut st.principal_score,
            };
            if slot.1 < end || s.score > slot.0 {
                *slot = (s.score, until);
            }
            if s.flags.principal_is_new {
                st.principal_new_until = until;
            }
            if s.flags.source_ip_is_new {
                st.ip_new_until = until;
            }
        }
        if s.learning {
            return None;
        }
        let stronger = st
            .strongest
            .as_ref()
            .is_none_or(|(a, u)| *u < end || s.score > a.score);
        if stronger {
            st.strongest = Some((anomaly_with(s, model, drivers), until));
        }
        if !s.is_anomalous {
            return None;
        }
        match &mut st.incident {
            Some(i) => {
                i.last_anomalous = i.last_anomalous.max(end);
                if i.anomaly.as_ref().is_none_or(|a| s.score > a.score) {
                    i.anomaly = Some(anomaly_with(s, model, drivers));
                }
                None
            }
            None => {
                let anomaly = anomaly_with(s, model, drivers);
                st.incident = Some(Incident {
                    opened_at: end,
                    last_anomalous: end,
                    anomaly: Some(anomaly.clone()),
                    planned: false,
                });
                Some(IncidentChange::Opened {
                    bucket: bucket.to_string(),
                    at: end,
                    anomaly,
                })
            }
        }
    }

    /// Closes incidents quiet for `incident_quiet` seconds at `now`.
    pub fn close_quiet(&mut self, now: i64) -> Vec<IncidentChange> {
        let now = self.at(now);
        let mut out = Vec::new();
        for (b, st) in &mut self.buckets {
            if let Some(i) = &st.incident
                && i.planned
                && now - i.last_anomalous >= self.quiet
            {
                out.push(IncidentChange::Closed {
                    bucket: b.clone(),
                    at: now,
                    opened_at: i.opened_at,
                });
                st.incident = None;
            }
        }
        out
    }

    /// Resumes an incident on `bucket` at start-up, for a freeze the journal says is open: the
    /// last run may have been stopped in the middle of an attack, and the behaviour that opened
    /// it is not known yet. It counts as anomalous at `now`, so it closes only after
    /// `incident_quiet` without an anomalous window, as any incident does; an operator's
    /// `tierd unfreeze` closes it at once. Nothing changes if the bucket has an incident open.
    pub fn resume(&mut self, bucket: &str, opened_at: i64, now: i64, anomaly: Option<Anomaly>) {
        let now = self.at(now);
        let st = self.buckets.entry(bucket.to_string()).or_default();
        if st.incident.is_none() {
            st.incident = Some(Incident {
                opened_at,
                last_anomalous: now,
                anomaly,
                planned: false,
            });
        }
    }

    /// The buckets whose behaviour still matters at `now` (an incident open, or a score, flag or
    /// configuration change whose signal still holds), each as the JSON that
    /// [`Behaviour::restore`] reads back: what a restart must not forget.
    pub fn saved(&self, now: i64) -> BTreeMap<String, String> {
        let now = self.at(now);
        self.buckets
            .iter()
            .filter(|(_, st)| st.matters(now))
            .filter_map(|(b, st)| Some((b.clone(), serde_json::to_string(st).ok()?)))
            .collect()
    }

    /// Restores a bucket's behaviour from [`Behaviour::saved`]'s JSON (at start-up, before
    /// open freezes resume incidents: a restored incident keeps its own times and anomaly).
    ///
    /// # Errors
    /// JSON that is not a saved behaviour; then nothing changes.
    pub fn restore(&mut self, bucket: &str, json: &str) -> Result<(), serde_json::Error> {
        let st: BucketState = serde_json::from_str(json)?;
        self.buckets.insert(bucket.to_string(), st);
        Ok(())
    }

    /// An operator's `tierd unfreeze` of a whole bucket: its incident closes and the signals
    /// behind it (held anomaly scores, flags, configuration changes) are acknowledged, so that
    /// a rule freezes it again only on new behaviour, not on what the operator has just seen.
    /// Returns whether an incident was open.
    pub fn acknowledge(&mut self, bucket: &str) -> bool {
        self.buckets
            .remove(bucket)
            .is_some_and(|st| st.incident.is_some())
    }

    /// Closes a bucket's incident (its freeze lifted by a rule or an operator).
    pub fn close(&mut self, bucket: &str) -> bool {
        self.buckets
            .get_mut(bucket)
            .is_some_and(|st| st.incident.take().is_some())
    }

    /// The behaviour signals of a bucket at `now`.
    pub fn facts(&self, bucket: &str, now: i64) -> BehaviourFacts {
        let now = self.at(now);
        let Some(st) = self.buckets.get(bucket) else {
            return BehaviourFacts::default();
        };
        let held = |(score, until): (f64, i64)| if now <= until { score as f32 } else { 0.0 };
        let cfg = |k: ConfigKind| st.config_until.get(&k).is_some_and(|&u| now <= u);
        BehaviourFacts {
            principal_anomaly: held(st.principal_score),
            bucket_anomaly: held(st.bucket_score),
            incident_open: st.incident.is_some(),
            principal_is_new: now <= st.principal_new_until,
            source_ip_is_new: now <= st.ip_new_until,
            bucket_config_changed: st.config_until.values().any(|&u| now <= u),
            lifecycle_changed: cfg(ConfigKind::Lifecycle),
            bucket_policy_changed: cfg(ConfigKind::BucketPolicy),
            versioning_changed: cfg(ConfigKind::Versioning),
            object_lock_changed: cfg(ConfigKind::ObjectLock),
        }
    }

    /// The anomaly to cite in a decision about `bucket`: the open incident's, else the strongest
    /// recent window's.
    pub fn anomaly(&self, bucket: &str, now: i64) -> Option<Anomaly> {
        let now = self.at(now);
        let st = self.buckets.get(bucket)?;
        if let Some(a) = st.incident.as_ref().and_then(|i| i.anomaly.as_ref()) {
            return Some(a.clone());
        }
        st.strongest
            .as_ref()
            .filter(|(_, until)| now <= *until)
            .map(|(a, _)| a.clone())
    }

    /// A planning pass has seen every incident open now (they may close from the next one).
    pub fn planned(&mut self) {
        for st in self.buckets.values_mut() {
            if let Some(i) = &mut st.incident {
                i.planned = true;
            }
        }
    }

    pub fn open_incidents(&self) -> usize {
        self.buckets
            .values()
            .filter(|s| s.incident.is_some())
            .count()
    }

    /// Buckets whose behaviour facts may differ between `since` and `now` (new scores or flags).
    pub fn buckets(&self) -> impl Iterator<Item = &str> {
        self.buckets.keys().map(String::as_str)
    }

    pub fn incident(&self, bucket: &str) -> Option<&Incident> {
        self.buckets.get(bucket)?.incident.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::features::{Subject, WindowFlags};

    fn score(bucket: &str, t: i64, score: f64, learning: bool) -> SubjectScore {
        SubjectScore {
            subject: Subject {
                kind: SubjectKind::Bucket,
                bucket: Some(bucket.into()),
                principal: None,
            },
            window_start_us: t * 1_000_000,
            score,
            threshold: 0.8,
            is_anomalous: score > 0.8,
            learning,
            top_features: Vec::new(),
            flags: WindowFlags::default(),
            window_secs: 300,
        }
    }

    #[test]
    fn an_anomalous_window_opens_an_incident_that_closes_when_quiet() {
        let mut b = Behaviour::new(3600, 86_400, "m");
        assert_eq!(b.observe(&score("p", 1000, 0.3, false), 300), None);
        let opened = b.observe(&score("p", 2000, 0.95, false), 300);
        assert!(matches!(
            opened,
            Some(IncidentChange::Opened { at: 2300, .. })
        ));
        assert!(b.facts("p", 2400).incident_open);
        assert!((b.facts("p", 2400).bucket_anomaly - 0.95).abs() < 1e-6);
        // The score fades after the hold; the incident stays until quiet.
        assert_eq!(b.facts("p", 2300 + 3601).bucket_anomaly, 0.0);
        b.planned();
        assert!(b.close_quiet(2300 + 86_399).is_empty());
        assert_eq!(b.close_quiet(2300 + 86_400).len(), 1);
        assert!(!b.facts("p", 2300 + 86_400).incident_open);
    }

    #[test]
    fn what_still_matters_is_saved_and_restored_whole() {
        let mut b = Behaviour::new(3600, 86_400, "m");
        b.observe(&score("p", 2000, 0.95, false), 300);
        b.observe(&score("q", 2000, 0.3, false), 300);
        let change = AccessEvent {
            time_us: 2_100_000_000,
            op: OpClass::ConfigChange,
            bucket: "r".into(),
            config: Some(ConfigKind::Lifecycle),
            status: Some(200),
            ..AccessEvent::default()
        };
        assert_eq!(b.config_changes(&[change]), 1);
        // At 2400: p has an incident, q a held score, r a held lifecycle change.
        let saved = b.saved(2400);
        assert_eq!(saved.keys().collect::<Vec<_>>(), ["p", "q", "r"]);
        let mut back = Behaviour::new(3600, 86_400, "m");
        for (bucket, json) in &saved {
            back.restore(bucket, json).unwrap();
        }
        for bucket in ["p", "q", "r"] {
            assert_eq!(back.facts(bucket, 2400), b.facts(bucket, 2400), "{bucket}");
            assert_eq!(
                back.anomaly(bucket, 2400),
                b.anomaly(bucket, 2400),
                "{bucket}"
            );
        }
        assert_eq!(back.incident("p"), b.incident("p"));
        assert!(back.facts("r", 2400).lifecycle_changed);
        // An operator's unfreeze acknowledges everything the bucket showed.
        let mut acked = back.clone();
        assert!(!acked.acknowledge("r") && !acked.facts("r", 2400).lifecycle_changed);
        assert!(acked.acknowledge("p") && !acked.facts("p", 2400).incident_open);
        // A resumed freeze leaves a restored incident as it was.
        back.resume("p", 9999, 9999, None);
        assert_eq!(back.incident("p"), b.incident("p"));
        // Once the signals have faded, only the incident is kept.
        assert_eq!(b.saved(2300 + 3601).keys().collect::<Vec<_>>(), ["p"]);
        assert!(back.restore("p", "not json").is_err());
    }

    #[test]
    fn on_the_event_clock_a_burst_read_a_day_late_stays_open_and_held() {
        // A burst 26 hours ago, read now: on the wall clock it would be quiet already.
        let now = 1_800_000_000;
        let burst = now - 26 * 3600;
        let mut b = Behaviour::new(3600, 86_400, "m");
        b.set_clock(Some(burst + 300));
        assert!(
            b.observe(&score("photos", burst, 0.9, false), 300)
                .is_some()
        );
        assert_eq!(b.close_quiet(now), []);
        let f = b.facts("photos", now);
        assert!(f.incident_open);
        assert!(f.bucket_anomaly > 0.8, "{f:?}");
        assert!(b.anomaly("photos", now).is_some());
        assert!(b.saved(now).contains_key("photos"));
        // The logs move on: an hour later the score no longer holds; a day later it closes.
        b.set_clock(Some(burst + 300 + 3601));
        assert_eq!(b.facts("photos", now).bucket_anomaly, 0.0);
        assert!(b.facts("photos", now).incident_open);
        b.set_clock(Some(burst + 300 + 86_400));
        b.planned();
        assert_eq!(b.close_quiet(now).len(), 1);
        // A burst older than incident_quiet in a backlog: open until a pass has seen it.
        let mut d = Behaviour::new(3600, 86_400, "m");
        d.set_clock(Some(burst + 3 * 86_400));
        d.observe(&score("photos", burst, 0.9, false), 300);
        assert_eq!(d.close_quiet(now), []);
        d.planned();
        assert_eq!(d.close_quiet(now).len(), 1);
        // Without an event clock, the caller's time (simulate's event time) rules.
        let mut c = Behaviour::new(3600, 86_400, "m");
        c.observe(&score("photos", burst, 0.9, false), 300);
        c.planned();
        assert_eq!(c.close_quiet(now).len(), 1);
    }

    #[test]
    fn learning_scores_never_open_incidents() {
        let mut b = Behaviour::new(3600, 86_400, "m");
        assert_eq!(b.observe(&score("p", 2000, 0.99, true), 300), None);
        assert_eq!(b.facts("p", 2400), BehaviourFacts::default());
    }
}
