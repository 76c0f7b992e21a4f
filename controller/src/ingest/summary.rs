//! What `tierd ingest` prints: events by operation class and by bucket, principals, time range,
//! bad lines with their locations. As a table for people or one JSON object for programs.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use models::parse::ndjson::format_time_us;
use models::{AccessEvent, OpClass};
use serde_json::json;

use super::IngestReport;

/// Running counts over the events seen.
#[derive(Debug, Default)]
pub struct Summary {
    by_op: BTreeMap<OpClass, u64>,
    by_bucket: HashMap<String, u64>,
    by_principal: HashMap<String, u64>,
    anonymous: u64,
    first_us: Option<i64>,
    last_us: Option<i64>,
}

impl Summary {
    /// Counts one event.
    pub fn observe(&mut self, e: &AccessEvent) {
        *self.by_op.entry(e.op).or_default() += 1;
        match self.by_bucket.get_mut(e.bucket.as_str()) {
            Some(n) => *n += 1,
            None => {
                self.by_bucket.insert(e.bucket.clone(), 1);
            }
        }
        match &e.principal {
            Some(p) => match self.by_principal.get_mut(p.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.by_principal.insert(p.clone(), 1);
                }
            },
            None => self.anonymous += 1,
        }
        self.first_us = Some(self.first_us.map_or(e.time_us, |t| t.min(e.time_us)));
        self.last_us = Some(self.last_us.map_or(e.time_us, |t| t.max(e.time_us)));
    }

    fn sorted(map: &HashMap<String, u64>) -> Vec<(&str, u64)> {
        let mut v: Vec<_> = map.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// The summary as one JSON object (stable key order).
    pub fn to_json(&self, r: &IngestReport) -> serde_json::Value {
        let by_op: serde_json::Map<_, _> = self
            .by_op
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), json!(v)))
            .collect();
        let by_bucket: serde_json::Map<_, _> = Self::sorted(&self.by_bucket)
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let principals: Vec<_> = Self::sorted(&self.by_principal)
            .into_iter()
            .map(|(k, v)| json!({"principal": k, "events": v}))
            .collect();
        json!({
            "events": r.events,
            "objects": r.objects,
            "objects_skipped": r.objects_skipped,
            "objects_waiting": r.objects_waiting,
            "bytes": r.bytes,
            "formats": r.formats,
            "by_op": by_op,
            "by_bucket": by_bucket,
            "principals": principals,
            "anonymous_events": self.anonymous,
            "first": self.first_us.map(format_time_us),
            "last": self.last_us.map(format_time_us),
            "unreadable": r.unreadable,
            "bad_lines": {
                "count": r.bad_lines,
                "shown": r.bad_lines_shown.iter().map(|b| json!({"file": &*b.file, "line": b.line, "reason": b.reason})).collect::<Vec<_>>(),
            },
        })
    }

    /// The summary as text for a terminal.
    pub fn to_text(&self, r: &IngestReport) -> String {
        let mut s = String::new();
        let formats: Vec<String> = r.formats.iter().map(|(f, n)| format!("{f} {n}")).collect();
        let _ = writeln!(
            s,
            "{} events from {} log objects ({} bytes; formats: {}){}",
            r.events,
            r.objects,
            r.bytes,
            if formats.is_empty() {
                "none".to_string()
            } else {
                formats.join(", ")
            },
            if r.objects_skipped > 0 {
                format!("; {} already ingested, skipped", r.objects_skipped)
            } else {
                String::new()
            }
        );
        if r.objects_waiting > 0 {
            let _ = writeln!(
                s,
                "{} log files left for a later pass: being copied or compressed, or renamed while listed",
                r.objects_waiting
            );
        }
        if let (Some(a), Some(b)) = (self.first_us, self.last_us) {
            let _ = writeln!(
                s,
                "time range: {} .. {}",
                format_time_us(a),
                format_time_us(b)
            );
        }
        let _ = writeln!(s, "\nby operation class:");
        for (op, n) in &self.by_op {
            let _ = writeln!(s, "  {:<14} {n:>10}", op.as_str());
        }
        let _ = writeln!(s, "\nby bucket:");
        for (b, n) in Self::sorted(&self.by_bucket).into_iter().take(20) {
            let _ = writeln!(s, "  {b:<40} {n:>10}");
        }
        if self.by_bucket.len() > 20 {
            let _ = writeln!(s, "  ... and {} more buckets", self.by_bucket.len() - 20);
        }
        let _ = writeln!(
            s,
            "\nprincipals: {} (plus {} anonymous events)",
            self.by_principal.len(),
            self.anonymous
        );
        for (p, n) in Self::sorted(&self.by_principal).into_iter().take(10) {
            let _ = writeln!(s, "  {p:<60} {n:>10}");
        }
        if !r.unreadable.is_empty() {
            let _ = writeln!(
                s,
                "\nunreadable sources and log objects, not read: {}",
                r.unreadable.len()
            );
            for u in &r.unreadable {
                let _ = writeln!(s, "  {u}");
            }
        }
        let _ = writeln!(s, "\nbad lines: {}", r.bad_lines);
        for b in &r.bad_lines_shown {
            let _ = writeln!(s, "  {b}");
        }
        if r.bad_lines > r.bad_lines_shown.len() as u64 {
            let _ = writeln!(
                s,
                "  ... and {} more",
                r.bad_lines - r.bad_lines_shown.len() as u64
            );
        }
        s
    }
}
