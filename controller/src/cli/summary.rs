//! `tierd decisions --summary`: what a set of decisions adds up to — how many of each action in
//! each state, what moved where, which rules moved it, and what the moves done save and cost;
//! apart, the same for the moves of a dry run (a `tierd simulate --out` file), had they been done.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde::Serialize;

use crate::decision::{Action, Cost, Decision, State};

/// Objects and bytes that went one way.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub objects: u64,
    pub bytes: u64,
}

/// What a summary reads of a decision: no reason, explanation, anomaly or undo, so that the
/// decisions of a long log can be held while it is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: String,
    pub action: Action,
    pub state: State,
    pub from: Option<String>,
    pub to: Option<String>,
    pub rule: Option<String>,
    pub cost: Option<Cost>,
}

impl From<Decision> for Entry {
    fn from(d: Decision) -> Entry {
        Entry {
            at: d.at,
            action: d.action,
            state: d.state,
            from: d.from,
            to: d.to,
            rule: d.rule,
            cost: d.cost,
        }
    }
}

/// What a set of moves adds up to: per way, per rule, and what they save and cost.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct MoveSums {
    /// `"FROM -> TO"` → the moves that way.
    pub moved: BTreeMap<String, Flow>,
    /// Rule id (`operator` for `tierd move` and `recall`) → moves.
    pub moves_by_rule: BTreeMap<String, u64>,
    /// Net storage saved per month by the moves (a recall's saving is negative).
    pub storage_saved_per_month: f64,
    /// Moves that carry no prices (an operator's `tierd move` or `recall`): not in the money
    /// sums.
    pub unpriced_moves: u64,
    /// One-off charges of the moves.
    pub retrieval: f64,
    pub egress: f64,
    pub requests: f64,
    pub early_deletion: f64,
    /// The currencies the moves were priced in (one, unless the configuration's changed).
    pub currencies: BTreeSet<String>,
}

impl MoveSums {
    fn add(&mut self, d: &Entry) {
        let way = format!(
            "{} -> {}",
            d.from.as_deref().unwrap_or("?"),
            d.to.as_deref().unwrap_or("?")
        );
        let flow = self.moved.entry(way).or_default();
        flow.objects += 1;
        let rule = d.rule.clone().unwrap_or_else(|| "operator".to_string());
        *self.moves_by_rule.entry(rule).or_default() += 1;
        if d.cost
            .as_ref()
            .is_none_or(|c| c.storage_saved_per_month.is_none())
        {
            self.unpriced_moves += 1;
        }
        if let Some(c) = &d.cost {
            flow.bytes = flow.bytes.saturating_add(c.bytes);
            self.storage_saved_per_month += c.storage_saved_per_month.unwrap_or(0.0);
            self.retrieval += c.retrieval.unwrap_or(0.0);
            self.egress += c.egress.unwrap_or(0.0);
            self.requests += c.requests.unwrap_or(0.0);
            self.early_deletion += c.early_deletion.unwrap_or(0.0);
            if let Some(cur) = &c.currency
                && !self.currencies.contains(cur)
            {
                self.currencies.insert(cur.clone());
            }
        }
    }

    /// What follows each sum of money: ` USD`; nothing for records that do not say (written
    /// before records named their currency); and a warning where the sums add up several.
    fn currency(&self) -> String {
        match self.currencies.len() {
            0 => String::new(),
            1 => format!(
                " {}",
                self.currencies.iter().next().map_or("", String::as_str)
            ),
            _ => {
                let all: Vec<&str> = self.currencies.iter().map(String::as_str).collect();
                format!(
                    " (prices in {} added together: the configured currency changed)",
                    all.join(" and ")
                )
            }
        }
    }

    /// The sums with their money rounded to a millionth (as decision records are), for JSON.
    fn rounded(&self) -> MoveSums {
        let r = crate::planner::money;
        MoveSums {
            storage_saved_per_month: r(self.storage_saved_per_month),
            retrieval: r(self.retrieval),
            egress: r(self.egress),
            requests: r(self.requests),
            early_deletion: r(self.early_deletion),
            ..self.clone()
        }
    }

    /// The moves per way, per rule, and their money, under `title` (`moves done`).
    fn write(&self, out: &mut dyn Write, title: &str, these: &str) -> std::io::Result<()> {
        let size = |b: u64| policies::eval::format_value(policies::signals::Kind::Size, b as f64);
        writeln!(out, "\n{title}:")?;
        for (way, f) in &self.moved {
            let objects = if f.objects == 1 { "object " } else { "objects" };
            writeln!(
                out,
                "  {way:<24} {:>9} {objects} {:>10}",
                f.objects,
                size(f.bytes)
            )?;
        }
        let rules: Vec<String> = self
            .moves_by_rule
            .iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        writeln!(out, "by rule: {}", rules.join(", "))?;
        let unpriced = match self.unpriced_moves {
            0 => String::new(),
            1 => "; 1 operator move is not priced".to_string(),
            n => format!("; {n} operator moves are not priced"),
        };
        let cur = self.currency();
        writeln!(
            out,
            "storage saved per month by {these} (recalls count against{unpriced}): {:.4}{cur}",
            self.storage_saved_per_month
        )?;
        writeln!(
            out,
            "their one-off charges: retrieval {:.4}, egress {:.4}, requests {:.4}, early deletion {:.4}{cur}",
            self.retrieval, self.egress, self.requests, self.early_deletion
        )
    }
}

/// The sums over a set of decisions. Money is in the currency of the prices the decisions were
/// taken with.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub decisions: u64,
    /// The earliest and latest decision times (RFC 3339).
    pub first: Option<String>,
    pub last: Option<String>,
    /// Action → state → decisions.
    pub by_action: BTreeMap<String, BTreeMap<String, u64>>,
    /// The moves done (at the top level of the JSON object).
    #[serde(flatten)]
    pub done: MoveSums,
    /// The moves decided but not executed (`dry-run`: a simulation, or a policy's dry run):
    /// what they would have done, apart from the moves done.
    pub dry_run: MoveSums,
}

impl Summary {
    /// Adds one decision.
    pub fn add(&mut self, d: impl Into<Entry>) {
        let d = &d.into();
        self.decisions += 1;
        if self.first.as_ref().is_none_or(|f| d.at < *f) {
            self.first = Some(d.at.clone());
        }
        if self.last.as_ref().is_none_or(|l| d.at > *l) {
            self.last = Some(d.at.clone());
        }
        *self
            .by_action
            .entry(d.action.as_str().to_string())
            .or_default()
            .entry(d.state.as_str().to_string())
            .or_default() += 1;
        match (d.action, d.state) {
            (Action::Move, State::Done) => self.done.add(d),
            (Action::Move, State::DryRun) => self.dry_run.add(d),
            _ => {}
        }
    }

    /// The summary with its money rounded to a millionth (as decision records are), for JSON.
    pub fn rounded(&self) -> Summary {
        Summary {
            done: self.done.rounded(),
            dry_run: self.dry_run.rounded(),
            ..self.clone()
        }
    }

    /// The summary as text.
    ///
    /// # Errors
    /// Output errors.
    pub fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match (&self.first, &self.last) {
            (Some(f), Some(l)) => {
                let s = if self.decisions == 1 { "" } else { "s" };
                writeln!(out, "{} decision{s} from {f} to {l}", self.decisions)?;
            }
            _ => return writeln!(out, "0 decisions"),
        }
        const STATES: [&str; 6] = ["done", "failed", "skipped", "planned", "running", "dry-run"];
        write!(out, "\n{:<10}", "action")?;
        for s in STATES {
            write!(out, " {s:>8}")?;
        }
        writeln!(out)?;
        for (action, states) in &self.by_action {
            write!(out, "{action:<10}")?;
            for s in STATES {
                write!(out, " {:>8}", states.get(s).copied().unwrap_or(0))?;
            }
            writeln!(out)?;
        }
        if self.done.moved.is_empty() {
            writeln!(out, "\nno move done")?;
        } else {
            self.done.write(out, "moves done", "these moves")?;
        }
        if !self.dry_run.moved.is_empty() {
            self.dry_run.write(
                out,
                "dry-run moves, not done (what they would have done)",
                "these moves had they been done",
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done_move(
        at: &str,
        key: &str,
        way: (&str, &str),
        rule: Option<&str>,
        cost: Cost,
    ) -> Decision {
        let mut d = Decision::operator_move(
            format!("move-{key}"),
            at.into(),
            ("photos", key),
            (Some(way.0), way.1),
            "test".into(),
        );
        d.rule = rule.map(String::from);
        d.state = State::Done;
        d.cost = Some(cost);
        d
    }

    #[test]
    fn an_operators_move_counts_its_bytes_and_is_said_to_be_unpriced() {
        let mut s = Summary::default();
        let bytes_only = Cost {
            bytes: 3_000_000,
            ..Cost::default()
        };
        s.add(done_move(
            "2026-11-29T10:00:00Z",
            "big.bin",
            ("onprem", "cloud"),
            None,
            bytes_only,
        ));
        assert_eq!(s.done.moved["onprem -> cloud"].bytes, 3_000_000);
        assert_eq!(s.done.unpriced_moves, 1);
        let mut text = Vec::new();
        s.write(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("(recalls count against; 1 operator move is not priced): 0.0000"),
            "{text}"
        );
        assert!(text.starts_with("1 decision from "), "{text}");
        assert!(
            text.contains("  onprem -> cloud                  1 object      2.9MiB"),
            "{text}"
        );
    }

    #[test]
    fn moves_done_add_up_by_way_and_rule_and_recalls_count_against_the_savings() {
        let mut s = Summary::default();
        let out = Cost {
            bytes: 1 << 30,
            storage_saved_per_month: Some(0.016),
            requests: Some(0.00002),
            ..Cost::default()
        };
        s.add(done_move(
            "2026-11-29T10:00:00Z",
            "a",
            ("onprem", "cloud"),
            Some("cold"),
            out.clone(),
        ));
        s.add(done_move(
            "2026-11-28T10:00:00Z",
            "b",
            ("onprem", "cloud"),
            Some("cold"),
            out.clone(),
        ));
        let back = Cost {
            bytes: 1 << 30,
            storage_saved_per_month: Some(-0.016),
            retrieval: Some(0.03),
            egress: Some(0.09),
            ..Cost::default()
        };
        s.add(done_move(
            "2026-11-30T10:00:00Z",
            "b",
            ("cloud", "onprem"),
            None,
            back,
        ));
        let mut failed = done_move(
            "2026-11-30T11:00:00Z",
            "c",
            ("onprem", "cloud"),
            Some("cold"),
            out,
        );
        failed.state = State::Failed;
        s.add(failed);

        assert_eq!(s.decisions, 4);
        assert_eq!(
            (s.first.as_deref(), s.last.as_deref()),
            (Some("2026-11-28T10:00:00Z"), Some("2026-11-30T11:00:00Z"))
        );
        assert_eq!(s.by_action["move"]["done"], 3);
        assert_eq!(s.by_action["move"]["failed"], 1);
        assert_eq!(
            s.done.moved["onprem -> cloud"],
            Flow {
                objects: 2,
                bytes: 2 << 30
            }
        );
        assert_eq!(
            s.done.moved["cloud -> onprem"],
            Flow {
                objects: 1,
                bytes: 1 << 30
            }
        );
        assert_eq!(s.done.moves_by_rule["cold"], 2);
        assert_eq!(s.done.moves_by_rule["operator"], 1);
        assert!((s.done.storage_saved_per_month - 0.016).abs() < 1e-12);
        assert!((s.done.egress - 0.09).abs() < 1e-12);
        assert_eq!(s.rounded().done.requests, 0.00004);

        let mut text = Vec::new();
        s.write(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        for line in [
            "4 decisions from 2026-11-28T10:00:00Z to 2026-11-30T11:00:00Z",
            "move              3        1        0        0        0        0",
            "  onprem -> cloud                  2 objects       2GiB",
            "by rule: cold 2, operator 1",
            "storage saved per month by these moves (recalls count against): 0.0160",
            "their one-off charges: retrieval 0.0300, egress 0.0900, requests 0.0000, early deletion 0.0000",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }

    #[test]
    fn money_is_summed_with_the_currency_its_records_name() {
        let priced = |currency: Option<&str>| Cost {
            bytes: 1 << 20,
            storage_saved_per_month: Some(0.5),
            requests: Some(0.25),
            currency: currency.map(String::from),
            ..Cost::default()
        };
        let text = |s: &Summary| {
            let mut text = Vec::new();
            s.write(&mut text).unwrap();
            String::from_utf8(text).unwrap()
        };
        let mut s = Summary::default();
        for key in ["a", "b"] {
            s.add(done_move(
                "2026-11-29T10:00:00Z",
                key,
                ("onprem", "cloud"),
                Some("cold"),
                priced(Some("EUR")),
            ));
        }
        let one = text(&s);
        assert!(
            one.contains("(recalls count against): 1.0000 EUR\n"),
            "{one}"
        );
        assert!(one.contains("early deletion 0.0000 EUR\n"), "{one}");
        let json = serde_json::to_value(s.rounded()).unwrap();
        assert_eq!(json["currencies"], serde_json::json!(["EUR"]));
        // A record from before records named their currency adds nothing to the list; one
        // priced in another currency is said to be added together.
        s.add(done_move(
            "2026-11-29T11:00:00Z",
            "c",
            ("onprem", "cloud"),
            Some("cold"),
            priced(None),
        ));
        let older = text(&s);
        assert!(older.contains("against): 1.5000 EUR\n"), "{older}");
        s.add(done_move(
            "2026-11-29T12:00:00Z",
            "d",
            ("onprem", "cloud"),
            Some("cold"),
            priced(Some("USD")),
        ));
        let mixed = text(&s);
        assert!(
            mixed.contains(
                ": 2.0000 (prices in EUR and USD added together: the configured currency changed)\n"
            ),
            "{mixed}"
        );
    }

    #[test]
    fn dry_run_moves_add_up_apart_as_what_they_would_have_done() {
        let mut s = Summary::default();
        let out = Cost {
            bytes: 1 << 30,
            storage_saved_per_month: Some(0.018),
            requests: Some(0.00001),
            ..Cost::default()
        };
        let mut dry = done_move(
            "2026-11-29T10:00:00Z",
            "a",
            ("hot", "cold"),
            Some("idle-to-cold"),
            out.clone(),
        );
        dry.state = State::DryRun;
        s.add(dry.clone());
        s.add(done_move(
            "2026-11-29T11:00:00Z",
            "b",
            ("hot", "cold"),
            Some("idle-to-cold"),
            out,
        ));
        assert_eq!(s.done.moved["hot -> cold"].objects, 1);
        assert_eq!(
            s.dry_run.moved["hot -> cold"],
            Flow {
                objects: 1,
                bytes: 1 << 30
            }
        );
        assert_eq!(s.dry_run.moves_by_rule["idle-to-cold"], 1);
        let json = serde_json::to_value(s.rounded()).unwrap();
        assert_eq!(json["moved"]["hot -> cold"]["objects"], 1, "{json}");
        assert_eq!(
            json["dry_run"]["moved"]["hot -> cold"]["objects"], 1,
            "{json}"
        );
        assert_eq!(json["dry_run"]["storage_saved_per_month"], 0.018, "{json}");

        let mut only_dry = Summary::default();
        only_dry.add(dry);
        let mut text = Vec::new();
        only_dry.write(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        for line in [
            "no move done",
            "dry-run moves, not done (what they would have done):",
            "  hot -> cold                      1 object        1GiB",
            "by rule: idle-to-cold 1",
            "storage saved per month by these moves had they been done (recalls count against): 0.0180",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    }

    #[test]
    fn nothing_to_sum_says_so() {
        let mut text = Vec::new();
        Summary::default().write(&mut text).unwrap();
        assert_eq!(String::from_utf8(text).unwrap(), "0 decisions\n");
    }
}
