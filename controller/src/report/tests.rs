//! Tests of the whole page: escaping, determinism, empty and hostile data, well-formedness.

use super::*;

const DAY: i64 = 86_400;
/// 2025-03-01 00:00 UTC.
const FROM: i64 = 1_740_787_200;

/// A small but complete report: 10 days, every section filled.
fn sample() -> ReportData {
    let until = FROM + 10 * DAY;
    let cost = |name: &str, rate: f64| Series {
        name: name.into(),
        points: (0..=10)
            .map(|d| (FROM + d * DAY, rate * d as f64))
            .collect(),
    };
    ReportData {
        title: "March simulation".into(),
        context: vec![
            ("config".into(), "/etc/tierd/tierd.toml".into()),
            ("events".into(), "12,345".into()),
        ],
        from: FROM,
        until,
        currency: "USD".into(),
        tiers: vec!["hot".into(), "warm".into(), "cold".into()],
        cost_series: vec![
            cost("tierd policy", 3.0),
            cost("never move", 5.0),
            cost("move after 30 d idle", 4.0),
            cost("offline oracle", 2.0),
        ],
        bytes_per_tier: ["hot", "warm", "cold"]
            .iter()
            .enumerate()
            .map(|(i, t)| Series {
                name: (*t).into(),
                points: (0..=10)
                    .map(|d| (FROM + d * DAY, (i as f64 + 1.0) * 1e11 + d as f64 * 1e9))
                    .collect(),
            })
            .collect(),
        anomaly: vec![SubjectTimeline {
            subject: "photos/".into(),
            threshold: 3.0,
            points: (0..=40)
                .map(|h| (FROM + h * 6 * 3_600, if h == 20 { 7.5 } else { 1.0 }))
                .collect(),
            thresholds: Vec::new(),
        }],
        markers: vec![
            Marker {
                at: FROM + 5 * DAY,
                subject: "photos/".into(),
                kind: "incident-open".into(),
                label: "inc-1".into(),
            },
            Marker {
                at: FROM + 5 * DAY + 60,
                subject: "photos/".into(),
                kind: "snapshot".into(),
                label: "snap-1".into(),
            },
            Marker {
                at: FROM + 6 * DAY,
                subject: "photos/".into(),
                kind: "incident-close".into(),
                label: "inc-1".into(),
            },
            Marker {
                at: FROM + 7 * DAY,
                subject: "logs/".into(),
                kind: "alert".into(),
                label: "mass delete".into(),
            },
        ],
        moves_per_day: (0..10)
            .map(|d| DayCount {
                day: FROM + d * DAY,
                moves_out: d as u64,
                recalls: 1,
                snapshots: 0,
            })
            .collect(),
        summary: vec![
            SummaryRow {
                strategy: "tierd policy".into(),
                total: 30.0,
                storage: 25.0,
                moves: 45,
                ..SummaryRow::default()
            },
            SummaryRow {
                strategy: "never move".into(),
                total: 50.0,
                storage: 50.0,
                ..SummaryRow::default()
            },
            SummaryRow {
                strategy: "move after 30 d idle".into(),
                total: 40.0,
                ..SummaryRow::default()
            },
            SummaryRow {
                strategy: "offline oracle".into(),
                total: 20.0,
                ..SummaryRow::default()
            },
        ],
        decisions: vec![DecisionRow {
            id: "d-1".into(),
            at: "2025-03-06T00:01:00Z".into(),
            action: "snapshot".into(),
            scope: "photos/".into(),
            rule: "protect-on-anomaly".into(),
            reason: "score 7.5 above 3.0".into(),
            state: "dry-run".into(),
        }],
        markers_omitted: 0,
        about: vec![
            (
                "never move".into(),
                "Every object stays on the hot tier <hot>.".into(),
            ),
            ("ping-pong".into(), "A move off a tier too early.".into()),
        ],
        prices: vec![
            PriceRow {
                tier: "hot".into(),
                role: "hot tier".into(),
                storage_gb_month: 0.023,
                ..PriceRow::default()
            },
            PriceRow {
                tier: "cold".into(),
                role: "cheapest data tier".into(),
                storage_gb_month: 0.004,
                min_storage_days: 90,
                retrieval_gb: 0.03,
                egress_gb: 0.09,
                requests_per_1000: 0.0125,
            },
        ],
        costliest_moves: vec![MoveOutcomeRow {
            id: "move-20250305T090000Z-000012".into(),
            at: "2025-03-05T09:00:00Z".into(),
            object: "logs/<a&b>.gz".into(),
            first_read_back: "7.1d".into(),
            read_backs: 3,
            read_back_cost: 0.0492,
            early_deletion: 0.0013,
        }],
        outcomes: Some(MoveOutcomes {
            moves: 1820,
            read_back_moves: 106,
            read_backs: 107,
            read_back_bytes: 2_270_123_456,
            read_back_cost: 0.2745,
            deleted_or_overwritten: 2,
            early_deletion: 0.0013,
            decision_log: Some("d.jsonl".into()),
            ..MoveOutcomes::default()
        }),
        held_per_pass: vec![
            ("frozen".into(), 1051),
            ("minimum residency".into(), 1900),
            ("budget".into(), 0),
        ],
        held_by_rule: vec![
            held("recall-reheated", "minimum residency", 1900, 106),
            held("cold-to-cloud", "frozen", 1051, 84),
        ],
        incidents: vec![IncidentRow {
            bucket: "photos".into(),
            opened: "2025-03-06T00:00:00Z".into(),
            closed: Some("2025-03-07T00:00:00Z".into()),
            subject: "bucket:photos".into(),
            score: 0.9457,
            threshold: 0.8945,
            principal: Some("arn:aws:iam::123456789012:user/mallory".into()),
            snapshots: 5,
            freezes: 1,
            alerts: 0,
            first_decision: Some("freeze-20250306T000000Z-000348".into()),
        }],
        why: vec![why_object("photos/a.jpg")],
    }
}

fn held(rule: &str, guardrail: &str, passes: u64, objects: u64) -> HeldRow {
    HeldRow {
        rule: rule.into(),
        guardrail: guardrail.into(),
        passes,
        objects,
    }
}

/// An object `--why` named: moved once after a minimum residency held it.
fn why_object(object: &str) -> WhyObject {
    WhyObject {
        object: object.into(),
        not_seen: None,
        size: 5_000_000,
        size_text: "4.8MiB".into(),
        first_seen: Some("2025-03-01T10:00:00Z".into()),
        tier_at_start: Some("hot".into()),
        end: "on \"cold\" at the end".into(),
        traffic: "1 write, the last at 2025-03-01T10:00:00Z; 0 reads".into(),
        decisions: vec![WhyDecision {
            id: "move-20250309T100000Z-000007".into(),
            at: "2025-03-09T10:00:00Z".into(),
            action: "move".into(),
            direction: "hot -> cold".into(),
            rule: Some("idle-to-cold".into()),
        }],
        decisions_omitted: 0,
        held: vec![WhyHeld {
            rule: "idle-to-cold".into(),
            guardrail: "the minimum residency".into(),
            passes: 71,
            from: "2025-03-08T11:00:00Z".into(),
            to: "2025-03-09T09:00:00Z".into(),
        }],
        timeline: vec![
            WhyStretch {
                from: "2025-03-01T11:00:00Z".into(),
                to: "2025-03-08T10:00:00Z".into(),
                passes: 168,
                outcome: "no rule wins".into(),
            },
            WhyStretch {
                from: "2025-03-08T11:00:00Z".into(),
                to: "2025-03-09T09:00:00Z".into(),
                passes: 71,
                outcome:
                    "rule \"idle-to-cold\" wins (move to \"cold\"), held by the minimum residency"
                        .into(),
            },
        ],
        timeline_omitted: 0,
        last_pass: Some(WhyLastPass {
            at: "2025-03-10T23:00:00Z".into(),
            verdict: "rule \"idle-to-cold\" wins (move to \"cold\")".into(),
            when: "tier == 'hot' and days_since_last_access > 7d".into(),
            conditions: vec![
                ConditionLine {
                    depth: 0,
                    holds: true,
                    text: "tier == 'hot'".into(),
                    value: Some("'hot'".into()),
                },
                ConditionLine {
                    depth: 0,
                    holds: true,
                    text: "days_since_last_access > 7d".into(),
                    value: Some("9.5d".into()),
                },
            ],
            conditions_note: String::new(),
            rules: vec![
                "rule \"recall\" does not match: days_since_last_access < 1d (9.5d: no)".into(),
            ],
            cost: Some(WhyCost {
                text:
                    "a move to \"cold\" (rule \"idle-to-cold\"): saves USD 0.00008/month in storage"
                        .into(),
                rule: "idle-to-cold".into(),
                to: "cold".into(),
                storage_saved_per_month: 0.00008,
                requests: 0.00002,
                savings_per_month: 0.00006,
                read_back_cost_per_month: 0.017742,
                ..WhyCost::default()
            }),
        }),
    }
}

/// The section `<section id="ID">` of `html`, up to its end.
fn section<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<section id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no section {id}"));
    let len = html[start..].find("</section>").unwrap_or(0);
    &html[start..start + len]
}

/// Checks that `doc` (after an optional `<!DOCTYPE ...>`) is well-formed XML: tags balanced and
/// properly nested, attributes quoted and unique, every `&` an entity, no stray `<`. It also
/// checks that every geometric attribute and every number in a path is a finite number.
/// Returns the number of elements.
fn check_well_formed(doc: &str) -> Result<usize, String> {
    const GEOMETRY: [&str; 12] = [
        "x",
        "y",
        "x1",
        "x2",
        "y1",
        "y2",
        "cx",
        "cy",
        "r",
        "width",
        "height",
        "stroke-width",
    ];
    let mut stack: Vec<&str> = Vec::new();
    let mut elements = 0;
    let mut rest = doc.trim_start();
    if let Some(r) = rest.strip_prefix("<!DOCTYPE") {
        rest = r.split_once('>').ok_or("unterminated doctype")?.1;
    }
    let check_text = |text: &str, at: usize| -> Result<(), String> {
        let mut t = text;
        while let Some(i) = t.find('&') {
            let after = &t[i + 1..];
            let end = after
                .find(';')
                .ok_or_else(|| format!("bare & near byte {at}"))?;
            let name = &after[..end];
            let ok = matches!(name, "amp" | "lt" | "gt" | "quot" | "apos")
                || name
                    .strip_prefix('#')
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(format!("unknown entity &{name}; near byte {at}"));
            }
            t = &after[end + 1..];
        }
        Ok(())
    };
    while !rest.is_empty() {
        let at = doc.len() - rest.len();
        let Some(lt) = rest.find('<') else {
            check_text(rest, at)?;
            if !rest.trim().is_empty() {
                return Err(format!("text after the root element near byte {at}"));
            }
            break;
        };
        check_text(&rest[..lt], at)?;
        if stack.is_empty() && elements > 0 && !rest[..lt].trim().is_empty() {
            return Err(format!("text after the root element near byte {at}"));
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->").ok_or("unterminated comment")?.1;
            continue;
        }
        let gt = rest
            .find('>')
            .ok_or_else(|| format!("unterminated tag near byte {at}"))?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or_else(|| format!("</{name}> closes nothing near byte {at}"))?;
            if open != name.trim() {
                return Err(format!("</{name}> closes <{open}> near byte {at}"));
            }
            continue;
        }
        let (tag, self_closing) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let name_end = tag.find(|c: char| c.is_whitespace()).unwrap_or(tag.len());
        let name = &tag[..name_end];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("bad element name {name:?} near byte {at}"));
        }
        if stack.is_empty() && elements > 0 {
            return Err(format!("a second root element <{name}> near byte {at}"));
        }
        // Attributes: name="value" pairs.
        let mut attrs = tag[name_end..].trim();
        let mut seen: Vec<&str> = Vec::new();
        while !attrs.is_empty() {
            let eq = attrs
                .find("=\"")
                .ok_or_else(|| format!("unquoted attribute in <{name}> near byte {at}"))?;
            let attr = attrs[..eq].trim();
            if attr.is_empty() || attr.contains(char::is_whitespace) || seen.contains(&attr) {
                return Err(format!(
                    "bad or repeated attribute {attr:?} in <{name}> near byte {at}"
                ));
            }
            seen.push(attr);
            let value_and_rest = &attrs[eq + 2..];
            let close = value_and_rest
                .find('"')
                .ok_or_else(|| format!("unterminated attribute in <{name}>"))?;
            let value = &value_and_rest[..close];
            if value.contains('<') {
                return Err(format!("< in attribute {attr} of <{name}> near byte {at}"));
            }
            check_text(value, at)?;
            if GEOMETRY.contains(&attr)
                && !(value.parse::<f64>().is_ok_and(f64::is_finite) || value.ends_with('%'))
            {
                return Err(format!(
                    "{attr}={value:?} in <{name}> is not a finite number near byte {at}"
                ));
            }
            if attr == "d" {
                let command =
                    |c: char| "MLHVZCSQTAmlhvzcsqta".contains(c) || c.is_whitespace() || c == ',';
                for n in value.split(command).filter(|n| !n.is_empty()) {
                    if !n.parse::<f64>().is_ok_and(f64::is_finite) {
                        return Err(format!("path number {n:?} is not finite near byte {at}"));
                    }
                }
            }
            attrs = value_and_rest[close + 1..].trim_start();
        }
        elements += 1;
        if !self_closing {
            stack.push(name);
        }
        if name == "style" && !self_closing {
            let end = rest.find("</style>").ok_or("unterminated style")?;
            if rest[..end].contains('<') || rest[..end].contains('&') {
                return Err("< or & inside <style>".into());
            }
            rest = &rest[end..];
        }
    }
    if let Some(open) = stack.last() {
        return Err(format!("<{open}> is never closed"));
    }
    if elements == 0 {
        return Err("no elements".into());
    }
    Ok(elements)
}

/// `needle` with 80 bytes of context on each side, for failure messages.
fn around(html: &str, needle: &str) -> String {
    match html.find(needle) {
        Some(i) => {
            let start = html.floor_char_boundary(i.saturating_sub(80));
            let end = html.ceil_char_boundary((i + needle.len() + 80).min(html.len()));
            html[start..end].to_string()
        }
        None => String::new(),
    }
}

#[test]
fn the_well_formedness_checker_rejects_broken_markup() {
    assert!(check_well_formed("<a><b></b></a>").is_ok());
    assert!(check_well_formed("<!DOCTYPE html>\n<a x=\"1\"><br /></a>\n").is_ok());
    for bad in [
        "<a><b></a></b>",
        "<a>",
        "<a></a><b></b>",
        "<a x=1></a>",
        "<a x=\"1\" x=\"2\"></a>",
        "<a>fish & chips</a>",
        "<a>&nbsp;</a>",
        "<svg><rect x=\"NaN\" /></svg>",
        "<svg><path d=\"M0 0Linf 3\" /></svg>",
        "<a title=\"<b>\"></a>",
    ] {
        assert!(check_well_formed(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn a_full_report_is_well_formed_and_has_every_section() {
    let html = render(&sample());
    let n = check_well_formed(&html).unwrap_or_else(|e| panic!("{e}\n{html}"));
    assert!(n > 200, "only {n} elements");
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    for id in ["chart-cost", "chart-bytes", "chart-anomaly", "chart-moves"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing {id}");
    }
    assert_eq!(html.matches("<svg ").count(), 4);
    assert_eq!(html.matches("role=\"img\"").count(), 4);
    assert!(!html.contains("no data in this period"));
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count()
                == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("https://"));
    assert!(html.contains("<dt>config</dt><dd>/etc/tierd/tierd.toml</dd>"));
    assert!(
        html.contains("2025-03-01 00:00 UTC to 2025-03-11 00:00 UTC (10 days)"),
        "period"
    );
}

#[test]
fn the_summary_highlights_the_policy_and_marks_the_cheapest_real_strategy() {
    let html = render(&sample());
    assert!(html.contains(
        "<tr class=\"policy\"><th scope=\"row\">tierd policy<span class=\"badge you\">policy</span>"
    ));
    // The oracle (20) is a lower bound; the cheapest strategy that could run is the policy (30).
    assert_eq!(
        html.matches("<span class=\"badge\">cheapest</span></td>")
            .count(),
        1
    );
    assert!(html.contains(
        "<td class=\"num total cheapest\">30.0000<span class=\"badge\">cheapest</span></td>"
    ));
    assert!(
        html.contains(
            "<td class=\"num better\">-20.0000 <span class=\"pct\">(-40.0 %)</span></td>"
        ),
        "policy vs never move: (30 - 50) / 50"
    );
    assert!(
        html.contains("<td class=\"num worse\">+10.0000 <span class=\"pct\">(+50.0 %)</span></td>"),
        "policy vs oracle: (30 - 20) / 20"
    );
    // The oracle reports money only: its breakdown and counts are not zeros but unknown.
    let oracle = &html[html.find("<tr class=\"oracle\">").unwrap()..];
    let oracle = &oracle[..oracle.find("</tr>").unwrap()];
    assert_eq!(oracle.matches(">—</td>").count(), 11, "{oracle}");
    assert!(html.contains("The policy saves 10.0000 USD against the cheapest baseline"));
}

#[test]
fn hostile_names_are_escaped_everywhere() {
    let evil = "<script>alert('x')</script> & \"q\" <b>";
    let mut d = sample();
    d.title = evil.into();
    d.currency = evil.into();
    d.context.push((evil.into(), evil.into()));
    d.tiers.push(evil.into());
    d.cost_series[0].name = evil.into();
    d.bytes_per_tier[0].name = evil.into();
    d.anomaly[0].subject = evil.into();
    for m in &mut d.markers {
        m.subject = evil.into();
        m.kind = evil.into();
        m.label = evil.into();
    }
    d.summary[1].strategy = evil.into();
    d.decisions[0] = DecisionRow {
        id: evil.into(),
        at: evil.into(),
        action: evil.into(),
        scope: evil.into(),
        rule: evil.into(),
        reason: evil.into(),
        state: evil.into(),
    };
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(!html.contains("<script"), "raw script tag");
    assert!(!html.contains("<b>"), "raw b tag");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"));
    assert!(
        html.contains("<title>&lt;script&gt;"),
        "the document title is escaped"
    );
    // Control characters XML forbids do not break the SVG either.
    d.anomaly[0].subject = "bell\u{7}".into();
    check_well_formed(&render(&d)).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn rendering_is_deterministic() {
    let d = sample();
    let a = render(&d);
    let b = render(&d.clone());
    assert_eq!(a, b);
    // The order of points does not matter: they are sorted by time.
    let mut shuffled = d.clone();
    shuffled.cost_series[1].points.reverse();
    shuffled.anomaly[0].points.reverse();
    assert_eq!(render(&shuffled), a);
}

#[test]
fn empty_data_renders_every_chart_as_no_data() {
    let html = render(&ReportData::default());
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(html.matches("<text class=\"nodata\"").count(), 4, "{html}");
    assert_eq!(html.matches(">no data in this period</text>").count(), 4);
    assert!(html.contains("No strategies to compare"));
    assert!(html.contains("No decisions listed"));
    assert!(html.contains("<title>tierd simulation report</title>"));

    // Series and timelines that exist but hold nothing usable count as no data too.
    let d = ReportData {
        cost_series: vec![Series {
            name: "tierd policy".into(),
            points: vec![(0, f64::NAN)],
        }],
        bytes_per_tier: vec![Series {
            name: "hot".into(),
            points: vec![],
        }],
        anomaly: vec![SubjectTimeline {
            subject: "s".into(),
            threshold: f64::NAN,
            points: vec![],
            thresholds: Vec::new(),
        }],
        ..ReportData::default()
    };
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(html.matches(">no data in this period</text>").count(), 4);
}

#[test]
fn non_finite_points_are_dropped_not_printed() {
    let mut d = sample();
    d.cost_series[0].points.push((FROM + DAY / 2, f64::NAN));
    d.cost_series[1]
        .points
        .push((FROM + DAY / 2, f64::INFINITY));
    d.bytes_per_tier[0]
        .points
        .push((FROM + DAY / 2, f64::NEG_INFINITY));
    d.anomaly[0].points.push((FROM + DAY / 2, f64::NAN));
    d.anomaly[0].threshold = f64::INFINITY;
    d.summary[2].total = f64::NAN;
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !html.contains("NaN"),
        "NaN printed: {}",
        around(&html, "NaN")
    );
    assert!(!html.to_lowercase().contains("inf "), "inf printed");
    assert!(
        !html.contains("\"inf") && !html.contains(" inf\"") && !html.contains(">inf<"),
        "inf printed"
    );
    assert!(html.contains("end value. 2 points left out: their value is not a finite number."));
    assert!(html.contains("hottest first. 1 point left out: their value is not a finite, non-negative number of bytes."));
    assert!(html.contains("(hover for details). Markers of subjects without a timeline are in the last row. 1 point left out"));
    // A non-finite total shows as n/a and is never the cheapest.
    assert!(html.contains("<td class=\"num total\">n/a</td><td class=\"num \">n/a</td>"));
    // The dropped points are gone, the rest is drawn: the cost series' paths are intact.
    assert_eq!(html.matches("<g class=\"series\">").count(), 4);
}

#[test]
fn single_points_and_extreme_values_render() {
    let d = ReportData {
        title: "extremes".into(),
        from: i64::MIN,
        until: i64::MAX,
        currency: "USD".into(),
        cost_series: vec![
            Series {
                name: "tierd policy".into(),
                points: vec![(0, 1.0)],
            },
            Series {
                name: "never move".into(),
                points: vec![(i64::MIN, f64::MAX), (i64::MAX, -f64::MAX)],
            },
        ],
        bytes_per_tier: vec![
            Series {
                name: "hot".into(),
                points: vec![(5, f64::MAX)],
            },
            Series {
                name: "cold".into(),
                points: vec![(5, f64::MAX), (9, -1.0)],
            },
        ],
        anomaly: vec![SubjectTimeline {
            subject: "s".into(),
            threshold: 1e300,
            points: vec![(7, 1e308)],
            thresholds: Vec::new(),
        }],
        markers: vec![Marker {
            at: i64::MAX,
            subject: "nobody".into(),
            kind: "weird".into(),
            label: "?".into(),
        }],
        moves_per_day: vec![
            DayCount {
                day: i64::MAX,
                moves_out: u64::MAX,
                recalls: u64::MAX,
                snapshots: u64::MAX,
            },
            DayCount {
                day: i64::MIN,
                moves_out: 0,
                recalls: 0,
                snapshots: 0,
            },
        ],
        summary: vec![SummaryRow {
            strategy: "tierd policy".into(),
            total: f64::MAX,
            moves: u64::MAX,
            ..SummaryRow::default()
        }],
        ..ReportData::default()
    };
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !html.contains("NaN"),
        "NaN printed: {}",
        around(&html, "NaN")
    );
    assert!(!html.contains("no data in this period"));
    // One point: a dot, not an invisible path.
    assert!(html.contains("<circle cx="));
    assert!(
        html.contains("other subjects"),
        "a marker without a timeline gets its own row"
    );

    // A period of one instant with one point each.
    let d = ReportData {
        from: FROM,
        until: FROM,
        cost_series: vec![Series {
            name: "x".into(),
            points: vec![(FROM, 2.0)],
        }],
        bytes_per_tier: vec![Series {
            name: "hot".into(),
            points: vec![(FROM, 10.0)],
        }],
        anomaly: vec![SubjectTimeline {
            subject: "s".into(),
            threshold: 1.0,
            points: vec![(FROM, 2.0)],
            thresholds: Vec::new(),
        }],
        moves_per_day: vec![DayCount {
            day: FROM,
            moves_out: 1,
            recalls: 0,
            snapshots: 0,
        }],
        ..ReportData::default()
    };
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(html.contains("Simulated period: not given"));
}

#[test]
fn every_marker_has_a_tooltip_and_incidents_are_shaded() {
    let html = render(&sample());
    assert!(html.contains("<title>2025-03-06 00:00 UTC · incident-open · photos/: inc-1</title>"));
    assert!(html.contains("<title>2025-03-06 00:01 UTC · snapshot · photos/: snap-1</title>"));
    assert!(html.contains("<title>2025-03-08 00:00 UTC · alert · logs/: mass delete</title>"));
    assert_eq!(html.matches("<g class=\"marker\">").count(), 4);
    assert!(html.contains("<title>incident 2025-03-06 00:00 UTC to 2025-03-07 00:00 UTC</title>"));
    assert!(html.contains("threshold 3.00"));
    assert!(html.contains("peak 7.50 in the window ending 2025-03-06 00:00 UTC"));
    // A score over the threshold is drawn after (on top of) the incident's marker at the same
    // instant, which would otherwise hide it.
    let marker = html.find("· incident-open · photos/").unwrap();
    let over = html
        .find("<circle class=\"over\"")
        .unwrap_or_else(|| panic!("{}", around(&html, "incident-open")));
    assert!(marker < over, "{}", around(&html, "class=\"over\""));
    assert!(html.contains("<title>window ending 2025-03-06 00:00 UTC: score 7.50</title>"));
}

#[test]
fn protective_decisions_not_drawn_are_counted_in_the_caption() {
    let mut d = sample();
    let html = render(&d);
    assert!(
        !html.contains("not drawn"),
        "{}",
        around(&html, "not drawn")
    );
    d.markers_omitted = 1;
    let html = render(&d);
    assert!(html.contains(
        "1 more protective decision not drawn (too many to draw; every one is in the decision log).</figcaption>"
    ));
    d.markers_omitted = 12_345;
    let html = render(&d);
    let at = html
        .find("12,345 more protective decisions not drawn")
        .unwrap();
    // In the anomaly figure's caption, not another's.
    let section = html[..at].rfind("<section id=\"").unwrap();
    assert!(html[section..].starts_with("<section id=\"anomaly\""));
}

#[test]
fn the_page_says_what_was_compared_and_at_what_prices() {
    let html = render(&sample());
    let method = &html[html
        .find("<section id=\"method\">")
        .expect("a section on what was compared")..];
    let method = &method[..method.find("</section>").unwrap_or(method.len())];
    assert!(
        method.contains(
            "<dt>never move</dt><dd>Every object stays on the hot tier &lt;hot&gt;.</dd>"
        )
    );
    assert!(method.contains("<dt>ping-pong</dt>"));
    assert!(method.contains("Prices in USD, as configured"));
    // Prices as configured, not rounded to cents.
    assert!(method.contains(
        "<tr><th scope=\"row\">cold</th><td>cheapest data tier</td><td class=\"num\">0.004</td><td class=\"num\">90</td><td class=\"num\">0.03</td><td class=\"num\">0.09</td><td class=\"num\">0.0125</td></tr>"
    ), "{method}");
    // The method follows the summary table.
    assert!(html.find("id=\"summary\"") < html.find("id=\"method\""));
    // Without either, no section.
    let bare = ReportData {
        about: Vec::new(),
        prices: Vec::new(),
        ..sample()
    };
    assert!(!render(&bare).contains("id=\"method\""));
}

#[test]
fn the_costliest_moves_table_lists_each_move_with_its_cost_escaped() {
    let html = render(&sample());
    let at = html
        .find("<section id=\"costliest-moves\">")
        .expect("a costliest-moves section");
    let table = &html[at..at + html[at..].find("</section>").unwrap()];
    assert!(
        table.contains("<h2>The policy's costliest moves</h2>"),
        "{table}"
    );
    assert!(table.contains(
        "<tr><td class=\"id\">move-20250305T090000Z-000012</td><td class=\"at\">2025-03-05T09:00:00Z</td><td class=\"scope\">logs/&lt;a&amp;b&gt;.gz</td><td>7.1d</td><td class=\"num\">3</td><td class=\"num\">0.0492</td><td class=\"num\">0.0013</td><td class=\"num\">0.0505</td></tr>"
    ), "{table}");
    // Before the decisions; without costly moves, a note.
    assert!(html.find("id=\"costliest-moves\"") < html.find("id=\"decisions\""));
    let none = ReportData {
        costliest_moves: Vec::new(),
        ..sample()
    };
    assert!(render(&none).contains("No move of the policy was read back or left its tier early."));
}

#[test]
fn the_cost_caption_says_the_oracle_line_is_straight() {
    let html = render(&sample());
    assert!(html.contains(
        "only its total is known, so it is drawn straight from 0 at the start to that total at the end"
    ));
}

#[test]
fn axes_carry_dates_money_and_decimal_units() {
    let html = render(&sample());
    // Every other day at midnight over ten days; money ticks every 10; bytes in GB.
    assert!(html.contains(">2025-03-03</text>"));
    assert!(html.contains(">50</text>"));
    assert!(html.contains(" GB</text>"));
    assert!(html.contains(">cumulative cost (USD)</text>"));
    assert!(html.contains(">time (UTC)</text>"));
    assert!(html.contains(">count per day</text>"));
}

#[test]
fn report_data_round_trips_through_json() {
    let d = sample();
    let json = serde_json::to_string(&d).unwrap_or_default();
    let back: ReportData = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(back, d);
}

#[test]
fn a_retrained_threshold_is_drawn_as_steps_and_scores_are_over_the_one_in_force() {
    let mut d = sample();
    // Threshold 3.0 until hour 100, then 8.0: the peak of 7.5 at hour 120 (20 x 6 h) is under it.
    d.anomaly[0].thresholds = vec![(FROM + 100 * 3_600, 8.0)];
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        html.contains(
            "<title>threshold 3.00 to 8.00 (the model was retrained once)</title><path d=\"M"
        ),
        "{}",
        around(&html, "retrained")
    );
    assert!(html.contains(">threshold 8.00 (retrained)</text>"));
    assert!(
        !html.contains("<circle class=\"over\""),
        "the peak is under the threshold in force then: {}",
        around(&html, "class=\"over\"")
    );
    // Without the change the same peak is over the (single, dashed) threshold.
    let html = render(&sample());
    assert!(html.contains("<circle class=\"over\""));
    assert!(!html.contains("(retrained)"));
}

#[test]
fn the_held_back_section_lists_each_rule_and_guardrail_under_the_per_pass_counts() {
    let html = render(&sample());
    let held = section(&html, "held");
    assert!(
        held.contains("by the first guardrail that held them: frozen 1,051, minimum residency 1,900, budget 0."),
        "{held}"
    );
    assert!(held.contains(
        "<tr><td class=\"rule\">recall-reheated</td><td>minimum residency</td><td class=\"num\">1,900</td><td class=\"num\">106</td></tr>"
    ), "{held}");
    assert!(held.contains(
        "<tr><td class=\"rule\">cold-to-cloud</td><td>frozen</td><td class=\"num\">1,051</td><td class=\"num\">84</td></tr>"
    ));
    assert_eq!(held.matches("<tr><td class=\"rule\">").count(), 2);
    // Nothing held: the counts, and a note instead of the table.
    let none = render(&ReportData {
        held_by_rule: Vec::new(),
        ..sample()
    });
    assert!(section(&none, "held").contains("No rule's move was held back."));
    // Neither: no section (a page not made by simulate).
    let bare = render(&ReportData {
        held_by_rule: Vec::new(),
        held_per_pass: Vec::new(),
        ..sample()
    });
    assert!(!bare.contains("id=\"held\""));
}

#[test]
fn the_incidents_table_has_a_row_per_incident_with_its_window_decisions_and_first_id() {
    let html = render(&sample());
    let incidents = section(&html, "incidents");
    assert!(incidents.contains(
        "<tr id=\"incident-1\"><td>photos</td><td class=\"at\">2025-03-06T00:00:00Z</td><td class=\"at\">2025-03-07T00:00:00Z</td><td class=\"scope\">bucket:photos</td><td class=\"num\">0.95</td><td class=\"num\">0.89</td><td class=\"scope\">arn:aws:iam::123456789012:user/mallory</td><td class=\"num\">5</td><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"id\">freeze-20250306T000000Z-000348</td></tr>"
    ), "{incidents}");
    assert!(
        incidents.contains("<a href=\"#anomaly\">"),
        "linked to the timelines"
    );
    assert!(incidents.contains("<code>tierd explain ID --log d.jsonl</code>"));
    let mut open = sample();
    open.incidents[0].closed = None;
    open.incidents[0].principal = None;
    let html = render(&open);
    assert!(section(&html, "incidents").contains("<td class=\"at\">still open at the end</td>"));
    let none = render(&ReportData {
        incidents: Vec::new(),
        ..sample()
    });
    assert!(section(&none, "incidents").contains("No incident was opened."));
}

#[test]
fn the_outcomes_section_says_what_became_of_the_moves_and_each_strategys_read_backs() {
    let mut d = sample();
    d.summary[0].read_backs = 107;
    d.summary[0].read_back_bytes = 2_270_123_456;
    d.summary[0].read_back_cost = 0.2745;
    let html = render(&d);
    let o = section(&html, "outcomes");
    for said in [
        "<dt>moves made</dt><dd>1,820 (recalls included)</dd>",
        "<dt>read back later</dt><dd>106 moves: 107 reads, 2.270 GB, cost 0.2745 USD</dd>",
        "<dt>deleted or overwritten on the colder tier</dt><dd>2 moves (early deletion 0.0013 USD)</dd>",
        "<tr><th scope=\"row\">tierd policy</th><td class=\"num\">107</td><td class=\"num\">2.270 GB</td><td class=\"num\">0.2745</td></tr>",
        "<tr><th scope=\"row\">never move</th><td class=\"num\">0</td><td class=\"num\">0.000 GB</td><td class=\"num\">0.0000</td></tr>",
    ] {
        assert!(o.contains(said), "no {said:?} in {o}");
    }
    assert!(
        !o.contains("offline oracle"),
        "the oracle has no read-backs"
    );
    assert!(!o.contains("no move had put there"), "{o}");
    // Reads of objects an inventory placed on a colder tier are said apart.
    if let Some(o) = &mut d.outcomes {
        o.unattributed_read_backs = 3;
        o.unattributed_read_back_bytes = 1_500_000_000;
        o.unattributed_read_back_cost = 0.12;
    }
    let html = render(&d);
    assert!(section(&html, "outcomes").contains(
        "<dd>3 reads (1.500 GB, cost 0.1200 USD) of objects listed on a colder tier that no move had put there</dd>"
    ));
    // The costliest moves' hint names the decision file --out wrote.
    assert!(
        section(&html, "costliest-moves").contains("<code>tierd explain ID --log d.jsonl</code>")
    );
    assert!(
        !render(&ReportData {
            outcomes: None,
            ..sample()
        })
        .contains("id=\"outcomes\"")
    );
}

#[test]
fn a_why_section_per_object_shows_its_decisions_holds_timeline_and_last_verdict() {
    let mut d = sample();
    d.why.push(WhyObject {
        object: "photos/b.jpg".into(),
        not_seen: Some("the replay saw no object \"b.jpg\" in bucket \"photos\"".into()),
        ..WhyObject::default()
    });
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    let why = section(&html, "why");
    for said in [
        "<article class=\"why\" id=\"why-1\">\n<h3>why <code>photos/a.jpg</code></h3>",
        "<dt>size</dt><dd>0.005 GB (4.8MiB, 5,000,000 bytes)</dd>",
        "<dt>tier</dt><dd>on \"hot\" when first seen (2025-03-01T10:00:00Z), on &quot;cold&quot; at the end</dd>",
        "<dt>client traffic</dt><dd>1 write, the last at 2025-03-01T10:00:00Z; 0 reads</dd>",
        "<tr><td class=\"id\">move-20250309T100000Z-000007</td><td class=\"at\">2025-03-09T10:00:00Z</td><td>move</td><td>hot -&gt; cold</td><td>idle-to-cold</td></tr>",
        "<tr><td>idle-to-cold</td><td>the minimum residency</td><td class=\"num\">71</td><td class=\"at\">2025-03-08T11:00:00Z</td><td class=\"at\">2025-03-09T09:00:00Z</td></tr>",
        "<tr><td class=\"at\">2025-03-01T11:00:00Z</td><td class=\"at\">2025-03-08T10:00:00Z</td><td class=\"num\">168</td><td>no rule wins</td></tr>",
        "<td class=\"num\">71</td><td>rule &quot;idle-to-cold&quot; wins (move to &quot;cold&quot;), held by the minimum residency</td></tr>",
        "<h4>At the last pass (2025-03-10T23:00:00Z)</h4>\n<p>rule &quot;idle-to-cold&quot; wins (move to &quot;cold&quot;)</p>",
        "as written: <code>tier == &#39;hot&#39; and days_since_last_access &gt; 7d</code>",
        "<li class=\"depth-0\"><span class=\"yes\">[yes]</span> <code>days_since_last_access &gt; 7d</code> <span class=\"value\">value 9.5d</span></li>",
        "<li>rule &quot;recall&quot; does not match: days_since_last_access &lt; 1d (9.5d: no)</li>",
        "<p>cost: a move to &quot;cold&quot; (rule &quot;idle-to-cold&quot;): saves USD 0.00008/month in storage</p>",
        "<td class=\"num\">0.00008</td><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">0.00002</td><td class=\"num\">0</td><td class=\"num\">0.00006</td><td class=\"num\">0.017742</td>",
        // An object the replay never saw says so, in its place.
        "<h3>why <code>photos/b.jpg</code></h3>\n<p class=\"note\">No answer: the replay saw no object &quot;b.jpg&quot; in bucket &quot;photos&quot;.</p>",
    ] {
        assert!(why.contains(said), "no {said:?} in\n{why}");
    }
    assert!(
        html.find("id=\"why\"") < html.find("id=\"decisions\""),
        "before the decisions"
    );
    // Without --why, no section.
    let plain = render(&ReportData {
        why: Vec::new(),
        ..sample()
    });
    assert!(!plain.contains("id=\"why\""));
    assert!(!plain.contains("<article"));
}

#[test]
fn long_lists_are_capped_and_the_page_says_how_many_it_shows() {
    let mut d = sample();
    d.incidents = (0..143)
        .map(|i| IncidentRow {
            bucket: format!("b{i:03}"),
            ..d.incidents[0].clone()
        })
        .collect();
    d.held_by_rule = (0..130)
        .map(|i| held(&format!("rule-{i}"), "frozen", 1, 1))
        .collect();
    let w = &mut d.why[0];
    w.timeline = vec![w.timeline[0].clone(); 200];
    w.timeline_omitted = 5;
    w.decisions = vec![w.decisions[0].clone(); 100];
    w.decisions_omitted = 7;
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    let incidents = section(&html, "incidents");
    assert_eq!(
        incidents.matches("<tr id=\"incident-").count(),
        MAX_INCIDENT_ROWS
    );
    assert!(incidents.contains(
        "50 of 143 incidents shown (the first); all are in <code>--json</code> (<code>incidents</code>)."
    ), "{incidents}");
    assert!(incidents.contains(">b049<") && !incidents.contains(">b050<"));
    let held = section(&html, "held");
    assert_eq!(
        held.matches("<tr><td class=\"rule\">").count(),
        MAX_HELD_ROWS
    );
    assert!(held.contains("100 of 130 rows shown"));
    let why = section(&html, "why");
    assert!(why.contains("50 of 205 stretches shown (the first); all are in <code>--json</code> (<code>why[].timeline</code>)."), "{why}");
    assert!(why.contains("50 of 107 decisions shown"));
    assert_eq!(why.matches("<td>no rule wins</td>").count(), MAX_WHY_ROWS);
    // Under the caps, nothing is said.
    assert!(!render(&sample()).contains("class=\"note capped\""));
}

#[test]
fn keys_and_rule_names_in_the_new_sections_render_as_text() {
    let evil = "<script>alert('x')</script>&";
    let mut d = sample();
    d.held_by_rule[0].rule = evil.into();
    d.held_per_pass[0].0 = evil.into();
    d.incidents[0].bucket = evil.into();
    d.incidents[0].principal = Some(evil.into());
    d.incidents[0].first_decision = Some(evil.into());
    d.summary[0].strategy = evil.into();
    if let Some(o) = &mut d.outcomes {
        o.decision_log = Some(evil.into());
    }
    let w = &mut d.why[0];
    w.object = format!("photos/{evil}");
    w.decisions[0].rule = Some(evil.into());
    w.held[0].rule = evil.into();
    w.timeline[0].outcome = evil.into();
    if let Some(p) = &mut w.last_pass {
        p.when = evil.into();
        p.conditions[0].text = evil.into();
        p.conditions[0].value = Some(evil.into());
        p.rules[0] = evil.into();
        if let Some(c) = &mut p.cost {
            c.text = evil.into();
        }
    }
    d.why.push(WhyObject {
        object: evil.into(),
        not_seen: Some(evil.into()),
        ..WhyObject::default()
    });
    let html = render(&d);
    check_well_formed(&html).unwrap_or_else(|e| panic!("{e}"));
    assert!(!html.contains("<script"), "raw script tag");
    let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;";
    for id in ["held", "incidents", "outcomes", "why"] {
        assert!(
            section(&html, id).contains(escaped),
            "{id} does not show the name"
        );
    }
    assert!(section(&html, "why").matches(escaped).count() >= 10);
}
