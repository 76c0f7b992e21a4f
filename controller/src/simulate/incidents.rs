//! The incidents of a replay, one row each: which bucket, when it opened and closed, what scored
//! over the threshold, and the protective decisions taken while it was open. The terminal
//! summary, `--json` and the report list them, so that "what happened to bucket X on day Y?"
//! does not need the decision file.

use serde::Serialize;

use crate::decision::{Action, Anomaly, Decision};

/// Decision ids kept per incident; the rest are counted.
const MAX_IDS: usize = 20;

/// One incident of the replay.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Incident {
    pub bucket: String,
    /// Unix seconds.
    pub opened_at: i64,
    /// When it closed (quiet for `planner.incident_quiet`); `None` when still open at the replay's end.
    pub closed_at: Option<i64>,
    /// The window that opened it: the subject that scored, its score and threshold.
    pub subject: String,
    pub score: f64,
    pub threshold: f64,
    /// The principal behind the window, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Protective decisions on the bucket while it was open (snapshot, freeze, alert,
    /// unfreeze), by action.
    pub snapshots: u64,
    pub freezes: u64,
    pub alerts: u64,
    /// Their ids, the first [`MAX_IDS`], for `tierd explain ID --log FILE`.
    pub decision_ids: Vec<String>,
    /// Decisions past the first [`MAX_IDS`], counted only.
    pub decisions_omitted: u64,
}

/// The incidents as the replay opens and closes them.
#[derive(Debug, Default)]
pub struct Incidents {
    pub list: Vec<Incident>,
}

impl Incidents {
    /// An incident opened on `bucket` at `at`.
    pub fn opened(&mut self, bucket: &str, at: i64, a: &Anomaly) {
        self.list.push(Incident {
            bucket: bucket.to_string(),
            opened_at: at,
            subject: a.subject.clone(),
            score: a.score,
            threshold: a.threshold,
            principal: a.principal.clone(),
            ..Incident::default()
        });
    }

    /// The open incident of `bucket`, if any.
    fn open(&mut self, bucket: &str) -> Option<&mut Incident> {
        self.list
            .iter_mut()
            .rev()
            .find(|i| i.bucket == bucket && i.closed_at.is_none())
    }

    /// The incident of `bucket` closed at `at`.
    pub fn closed(&mut self, bucket: &str, at: i64) {
        if let Some(i) = self.open(bucket) {
            i.closed_at = Some(at);
        }
    }

    /// A decision of the replay: a protective one on a bucket with an open incident is listed
    /// under it.
    pub fn decided(&mut self, d: &Decision) {
        let counter = |i: &mut Incident| -> Option<()> {
            match d.action {
                Action::Snapshot => i.snapshots += 1,
                Action::Freeze => i.freezes += 1,
                Action::Alert => i.alerts += 1,
                Action::Unfreeze => {}
                _ => return None,
            }
            Some(())
        };
        let Some(bucket) = d.bucket.as_deref() else {
            return;
        };
        let Some(i) = self.open(bucket) else {
            return;
        };
        if counter(i).is_none() {
            return;
        }
        if i.decision_ids.len() < MAX_IDS {
            i.decision_ids.push(d.id.clone());
        } else {
            i.decisions_omitted += 1;
        }
    }
}

/// The incidents as terminal lines (at most `max`, then how many more): one line each.
pub fn lines(list: &[Incident], max: usize) -> Vec<String> {
    let fmt = policies::facts::format_utc;
    let mut out: Vec<String> = list
        .iter()
        .take(max)
        .map(|i| {
            let closed = i
                .closed_at
                .map_or("still open at the end".to_string(), |c| {
                    format!("closed {}", fmt(c))
                });
            let who = i
                .principal
                .as_deref()
                .map_or(String::new(), |p| format!(", principal {p}"));
            let first = i
                .decision_ids
                .first()
                .map_or(String::new(), |id| format!("; first: {id}"));
            format!(
                "{}: opened {}, {closed}: {} scored {:.2} (threshold {:.2}){who}; {} snapshot{}, {} freeze{}, {} alert{}{first}",
                i.bucket,
                fmt(i.opened_at),
                i.subject,
                i.score,
                i.threshold,
                i.snapshots,
                if i.snapshots == 1 { "" } else { "s" },
                i.freezes,
                if i.freezes == 1 { "" } else { "s" },
                i.alerts,
                if i.alerts == 1 { "" } else { "s" },
            )
        })
        .collect();
    if list.len() > max {
        out.push(format!(
            "... and {} more (--json lists every one)",
            list.len() - max
        ));
    }
    out
}

/// The incidents as the report's table rows.
pub fn report_rows(list: &[Incident]) -> Vec<crate::report::IncidentRow> {
    let fmt = policies::facts::format_utc;
    list.iter()
        .map(|i| crate::report::IncidentRow {
            bucket: i.bucket.clone(),
            opened: fmt(i.opened_at),
            closed: i.closed_at.map(fmt),
            subject: i.subject.clone(),
            score: i.score,
            threshold: i.threshold,
            principal: i.principal.clone(),
            snapshots: i.snapshots,
            freezes: i.freezes,
            alerts: i.alerts,
            first_decision: i.decision_ids.first().cloned(),
        })
        .collect()
}

/// The incidents in one line, for the report's header: `2 opened: b1 from T to T (subject
/// 0.96), ...` (at most `max` named).
pub fn one_line(list: &[Incident], max: usize) -> String {
    let fmt = policies::facts::format_utc;
    let mut named: Vec<String> = list
        .iter()
        .take(max)
        .map(|i| {
            let to = i.closed_at.map_or("the end (still open)".to_string(), fmt);
            format!(
                "{} from {} to {to} ({} {:.2})",
                i.bucket,
                fmt(i.opened_at),
                i.subject,
                i.score
            )
        })
        .collect();
    if list.len() > max {
        named.push(format!("{} more", list.len() - max));
    }
    if named.is_empty() {
        "none opened".to_string()
    } else {
        format!("{} opened: {}", list.len(), named.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::State;

    fn decision(id: &str, action: Action, bucket: &str) -> Decision {
        Decision {
            id: id.into(),
            at: String::new(),
            action,
            bucket: Some(bucket.into()),
            key: None,
            prefix: None,
            from: None,
            to: None,
            rule: None,
            anomaly: None,
            reason: String::new(),
            cost: None,
            undo: None,
            state: State::DryRun,
            why: None,
            explanation: None,
        }
    }

    #[test]
    fn protective_decisions_are_listed_under_the_open_incident_of_their_bucket_only() {
        let a = Anomaly {
            subject: "principal:mallory".into(),
            score: 0.956,
            threshold: 0.89,
            model: "combined".into(),
            top_features: Vec::new(),
            window_start: None,
            window_secs: None,
            principal: Some("mallory".into()),
        };
        let mut inc = Incidents::default();
        // Before any incident: nothing to list it under.
        inc.decided(&decision("alert-0", Action::Alert, "b1"));
        inc.opened("b1", 1000, &a);
        inc.decided(&decision("snapshot-1", Action::Snapshot, "b1"));
        inc.decided(&decision("freeze-2", Action::Freeze, "b1"));
        inc.decided(&decision("move-3", Action::Move, "b1"));
        inc.decided(&decision("alert-4", Action::Alert, "b2"));
        inc.closed("b1", 90_000);
        inc.decided(&decision("alert-5", Action::Alert, "b1"));
        inc.opened("b1", 100_000, &a);
        let l = &inc.list;
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].decision_ids, vec!["snapshot-1", "freeze-2"]);
        assert_eq!((l[0].snapshots, l[0].freezes, l[0].alerts), (1, 1, 0));
        assert_eq!(l[0].closed_at, Some(90_000));
        assert_eq!(l[1].closed_at, None);
        assert_eq!(
            lines(l, 1),
            vec![
                "b1: opened 1970-01-01T00:16:40Z, closed 1970-01-02T01:00:00Z: principal:mallory scored 0.96 (threshold 0.89), principal mallory; 1 snapshot, 1 freeze, 0 alerts; first: snapshot-1".to_string(),
                "... and 1 more (--json lists every one)".to_string(),
            ]
        );
        assert_eq!(
            one_line(l, 5),
            "2 opened: b1 from 1970-01-01T00:16:40Z to 1970-01-02T01:00:00Z (principal:mallory 0.96); b1 from 1970-01-02T03:46:40Z to the end (still open) (principal:mallory 0.96)"
        );
        assert_eq!(one_line(&[], 5), "none opened");
    }
}
