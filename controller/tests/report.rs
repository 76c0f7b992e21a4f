//! The `simulate` report rendered by a real browser: headless Chromium loads the file, dumps
//! the DOM it built and takes a screenshot, which is decoded and checked not to be blank.
//!
//! Chromium is found as `$TIERD_CHROMIUM`, `chromium` or `chromium-browser`. Without it this
//! test fails (it does not skip): install it with `apt-get install -y chromium` (`.ci/run` does).
//!
//! To look at the page and the screenshot yourself, set `TIERD_REPORT_OUT` to a folder: the test
//! copies `report.html` and `report.png` there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tierd::report::{
    ConditionLine, DayCount, DecisionRow, HeldRow, IncidentRow, Marker, MoveOutcomeRow,
    MoveOutcomes, PriceRow, ReportData, Series, SubjectTimeline, SummaryRow, WhyCost, WhyDecision,
    WhyHeld, WhyLastPass, WhyObject, WhyStretch, render,
};

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// 2026-03-01 00:00 UTC.
const FROM: i64 = 1_772_323_200;
const GIB: f64 = 1_073_741_824.0;

/// A deterministic pseudo-random sequence (xorshift), so the data looks real but never changes.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// 30 days, 5 strategies, 3 tiers, 4 subjects, markers, daily counts, a summary and decisions.
fn realistic() -> ReportData {
    let until = FROM + 30 * DAY;
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let strategies = [
        ("tierd policy", 11.0),
        ("never move", 19.0),
        ("move after 30 d idle", 14.0),
        ("move after 30 d idle + recall on access", 13.0),
        ("offline oracle", 9.0),
    ];
    let cost_series = strategies
        .iter()
        .map(|(name, per_day)| {
            let mut total = 0.0;
            let points = (0..=30 * 4)
                .map(|q| {
                    let t = FROM + q * 6 * HOUR;
                    if q > 0 {
                        total += per_day / 4.0 * (0.8 + 0.4 * noise.next());
                    }
                    (t, total)
                })
                .collect();
            Series {
                name: (*name).into(),
                points,
            }
        })
        .collect();
    let tiers = ["onprem-ssd", "onprem-hdd", "cloud"];
    let bytes_per_tier = tiers
        .iter()
        .enumerate()
        .map(|(i, tier)| Series {
            name: (*tier).into(),
            points: (0..=30)
                .map(|d| {
                    let shift = d as f64 * 40.0 * GIB;
                    let v = match i {
                        0 => 2_000.0 * GIB - shift,
                        1 => 1_500.0 * GIB + shift * 0.5,
                        _ => 300.0 * GIB + shift * 0.5,
                    };
                    (FROM + d * DAY, v)
                })
                .collect(),
        })
        .collect();
    let subjects = [
        "photos/2026/",
        "backups/db/",
        "svc-etl (principal)",
        "logs/app/",
    ];
    let anomaly = subjects
        .iter()
        .enumerate()
        .map(|(i, s)| SubjectTimeline {
            subject: (*s).into(),
            threshold: 3.0 + i as f64 * 0.5,
            points: (0..30 * 24)
                .map(|h| {
                    let t = FROM + h * HOUR;
                    let spike = if i == 1 && (300..320).contains(&h) {
                        6.0
                    } else {
                        0.0
                    };
                    (t, 0.5 + 1.5 * noise.next() + spike)
                })
                .collect(),
            thresholds: Vec::new(),
        })
        .collect();
    let m = |at: i64, subject: &str, kind: &str, label: &str| Marker {
        at,
        subject: subject.into(),
        kind: kind.into(),
        label: label.into(),
    };
    let markers = vec![
        m(
            FROM + 300 * HOUR,
            "backups/db/",
            "incident-open",
            "incident inc-7: mass overwrite",
        ),
        m(
            FROM + 300 * HOUR + 120,
            "backups/db/",
            "snapshot",
            "snapshot snap-12 of backups/db/",
        ),
        m(
            FROM + 301 * HOUR,
            "backups/db/",
            "freeze",
            "moves frozen under backups/db/",
        ),
        m(
            FROM + 302 * HOUR,
            "backups/db/",
            "alert",
            "alert sent to on-call",
        ),
        m(
            FROM + 330 * HOUR,
            "backups/db/",
            "incident-close",
            "incident inc-7 closed",
        ),
        m(
            FROM + 340 * HOUR,
            "backups/db/",
            "unfreeze",
            "moves resumed",
        ),
        m(
            FROM + 500 * HOUR,
            "photos/2026/",
            "alert",
            "unusual reads from a new principal",
        ),
    ];
    let moves_per_day = (0..30)
        .map(|d| DayCount {
            day: FROM + d * DAY,
            moves_out: if d < 3 { 0 } else { 20 + (d as u64 * 7) % 13 },
            recalls: (d as u64 * 5) % 4,
            snapshots: u64::from(d == 12),
        })
        .collect();
    let row =
        |strategy: &str, storage: f64, retrieval: f64, total: f64, moves: u64, recalls: u64| {
            SummaryRow {
                strategy: strategy.into(),
                storage,
                retrieval,
                egress: 2.5,
                requests: 1.25,
                early_deletion: 0.0,
                total,
                moves,
                recalls,
                ping_pongs: recalls / 4,
                snapshots: u64::from(strategy == "tierd policy"),
                freezes: u64::from(strategy == "tierd policy"),
                alerts: if strategy == "tierd policy" { 2 } else { 0 },
                read_backs: recalls * 3,
                read_back_bytes: recalls * 3 * 40_000_000,
                read_back_cost: retrieval,
            }
        };
    let summary = vec![
        row("tierd policy", 300.0, 26.25, 330.0, 611, 52),
        row("never move", 566.25, 0.0, 570.0, 0, 0),
        row("move after 30 d idle", 380.0, 36.25, 420.0, 900, 130),
        row(
            "move after 30 d idle + recall on access",
            360.0,
            26.25,
            390.0,
            900,
            260,
        ),
        row("offline oracle", 260.0, 6.25, 270.0, 560, 0),
    ];
    let decisions = (0..40)
        .map(|i| DecisionRow {
            id: format!("d-{i:04}"),
            at: format!("2026-03-{:02}T{:02}:00:00Z", 1 + i % 30, i % 24),
            action: if i % 10 == 3 {
                "recall".into()
            } else {
                "move".into()
            },
            scope: format!("photos/2026/{i:03}.jpg"),
            rule: "cold-after-idle".into(),
            reason: "idle for 30 days; no anomaly".into(),
            state: "dry-run".into(),
        })
        .collect();
    ReportData {
        title: "tierd simulate: March 2026".into(),
        context: vec![
            ("config".into(), "/etc/tierd/tierd.toml".into()),
            (
                "log sources".into(),
                "s3://logs/access/ (s3), file:///var/log/minio (minio)".into(),
            ),
            ("events".into(), "1,204,551".into()),
            (
                "policy files".into(),
                "policies/cold.toml, policies/protect.toml".into(),
            ),
        ],
        from: FROM,
        until,
        currency: "USD".into(),
        tiers: tiers.iter().map(|t| (*t).into()).collect(),
        cost_series,
        bytes_per_tier,
        anomaly,
        markers,
        moves_per_day,
        summary,
        decisions,
        markers_omitted: 0,
        about: vec![(
            "never move".into(),
            "Every object stays on the hot tier (onprem-ssd).".into(),
        )],
        prices: vec![PriceRow {
            tier: "cloud".into(),
            role: "cheapest data tier".into(),
            storage_gb_month: 0.004,
            min_storage_days: 90,
            retrieval_gb: 0.03,
            egress_gb: 0.09,
            requests_per_1000: 0.02,
        }],
        costliest_moves: vec![MoveOutcomeRow {
            id: "move-20260320T090000Z-000528".into(),
            at: "2026-03-20T09:00:00Z".into(),
            object: "logs/2026/03/08/08-0000163.log.gz".into(),
            first_read_back: "7.1d".into(),
            read_backs: 3,
            read_back_cost: 0.0492,
            early_deletion: 0.0,
        }],
        outcomes: Some(MoveOutcomes {
            moves: 663,
            read_back_moves: 52,
            read_backs: 156,
            read_back_bytes: 6_240_000_000,
            read_back_cost: 26.25,
            deleted_or_overwritten: 3,
            early_deletion: 0.0,
            decision_log: Some("/var/lib/tierd/march.jsonl".into()),
            ..MoveOutcomes::default()
        }),
        held_per_pass: vec![("frozen".into(), 1051), ("minimum residency".into(), 1900)],
        held_by_rule: vec![
            HeldRow {
                rule: "recall-reheated".into(),
                guardrail: "minimum residency".into(),
                passes: 1900,
                objects: 106,
            },
            HeldRow {
                rule: "cold-after-idle".into(),
                guardrail: "frozen".into(),
                passes: 1051,
                objects: 84,
            },
        ],
        incidents: vec![IncidentRow {
            bucket: "backups".into(),
            opened: "2026-03-13T12:00:00Z".into(),
            closed: Some("2026-03-14T18:00:00Z".into()),
            subject: "bucket:backups".into(),
            score: 7.9,
            threshold: 3.5,
            principal: Some("arn:aws:iam::123456789012:user/svc-etl".into()),
            snapshots: 1,
            freezes: 1,
            alerts: 1,
            first_decision: Some("snapshot-20260313T120200Z-000012".into()),
        }],
        why: vec![why_object()],
    }
}

/// An object `--why` named: held by the minimum residency, then moved.
fn why_object() -> WhyObject {
    WhyObject {
        object: "photos/2026/017.jpg".into(),
        size: 5_000_000,
        size_text: "4.8MiB".into(),
        first_seen: Some("2026-03-01T10:00:00Z".into()),
        tier_at_start: Some("onprem-ssd".into()),
        end: "on \"cloud\" at the end".into(),
        traffic: "1 write, the last at 2026-03-01T10:00:00Z; 0 reads".into(),
        decisions: vec![WhyDecision {
            id: "d-0017".into(),
            at: "2026-03-18T17:00:00Z".into(),
            action: "move".into(),
            direction: "onprem-ssd -> cloud".into(),
            rule: Some("cold-after-idle".into()),
        }],
        held: vec![WhyHeld {
            rule: "cold-after-idle".into(),
            guardrail: "the minimum residency".into(),
            passes: 71,
            from: "2026-03-15T14:00:00Z".into(),
            to: "2026-03-18T16:00:00Z".into(),
        }],
        timeline: vec![WhyStretch {
            from: "2026-03-15T14:00:00Z".into(),
            to: "2026-03-18T16:00:00Z".into(),
            passes: 71,
            outcome:
                "rule \"cold-after-idle\" wins (move to \"cloud\"), held by the minimum residency"
                    .into(),
        }],
        last_pass: Some(WhyLastPass {
            at: "2026-03-31T23:00:00Z".into(),
            verdict: "no rule wins".into(),
            conditions: vec![ConditionLine {
                depth: 1,
                holds: false,
                text: "days_since_last_access > 30d".into(),
                value: Some("13.3d".into()),
            }],
            rules: vec![
                "rule \"cold-after-idle\" does not apply: the object already is on its destination"
                    .into(),
            ],
            cost: Some(WhyCost {
                text:
                    "a move to \"onprem-ssd\" (rule \"recall\"): adds USD 0.00008/month in storage"
                        .into(),
                rule: "recall".into(),
                to: "onprem-ssd".into(),
                storage_saved_per_month: -0.00008,
                ..WhyCost::default()
            }),
            ..WhyLastPass::default()
        }),
        ..WhyObject::default()
    }
}

/// The Chromium binary, or a failure message saying how to install it.
fn chromium() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("TIERD_CHROMIUM") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("TIERD_CHROMIUM={} is not a file", p.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser"] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(
        "Chromium is not installed, and this test needs it to render the report: \
         run `apt-get install -y chromium` (Debian; `.ci/run` does it), or set TIERD_CHROMIUM \
         to a Chromium or Chrome binary."
            .into(),
    )
}

/// Runs Chromium headless with `args` and the page, in a profile directory of its own.
fn run_chromium(
    browser: &Path,
    profile: &Path,
    args: &[String],
    page: &Path,
) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
        ])
        .args(["--disable-dev-shm-usage", "--force-device-scale-factor=1"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()))
}

/// A decoded 8-bit PNG: width, height, channels and unfiltered pixel rows.
struct Png {
    width: usize,
    height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

/// Decodes a non-interlaced 8-bit grey/RGB/RGBA PNG (what Chromium writes) with `flate2`.
fn decode_png(bytes: &[u8]) -> Result<Png, String> {
    let body = bytes
        .strip_prefix(b"\x89PNG\r\n\x1a\n")
        .ok_or("not a PNG signature")?;
    let mut rest = body;
    let (mut width, mut height, mut channels) = (0usize, 0usize, 0usize);
    let mut idat = Vec::new();
    while rest.len() >= 12 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        let data = rest.get(8..8 + len).ok_or("truncated chunk")?;
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
                height = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
                let (depth, colour, interlace) = (data[8], data[9], data[12]);
                if depth != 8 || interlace != 0 {
                    return Err(format!(
                        "unsupported PNG: depth {depth}, interlace {interlace}"
                    ));
                }
                channels = match colour {
                    0 => 1,
                    2 => 3,
                    4 => 2,
                    6 => 4,
                    c => return Err(format!("unsupported PNG colour type {c}")),
                };
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        rest = &rest[12 + len..];
    }
    if width == 0 || height == 0 {
        return Err("no IHDR".into());
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .map_err(|e| format!("IDAT: {e}"))?;
    let stride = width * channels;
    if raw.len() != height * (stride + 1) {
        return Err(format!(
            "IDAT holds {} bytes, expected {}",
            raw.len(),
            height * (stride + 1)
        ));
    }
    let mut pixels = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                pixels[y * stride + x - channels] as i16
            } else {
                0
            };
            let b = if y > 0 {
                pixels[(y - 1) * stride + x] as i16
            } else {
                0
            };
            let c = if x >= channels && y > 0 {
                pixels[(y - 1) * stride + x - channels] as i16
            } else {
                0
            };
            let predictor = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => return Err(format!("bad filter {f} on row {y}")),
            };
            pixels[y * stride + x] = line[x].wrapping_add(predictor as u8);
        }
    }
    Ok(Png {
        width,
        height,
        channels,
        pixels,
    })
}

#[test]
fn chromium_renders_the_report_with_four_charts_and_a_non_blank_screenshot() {
    let browser = chromium().unwrap_or_else(|e| panic!("{e}"));
    let data = realistic();
    let html = render(&data);
    assert_eq!(html, render(&data), "rendering is deterministic");

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html).unwrap_or_else(|e| panic!("write {}: {e}", page.display()));

    // The DOM Chromium built from the file.
    let out = run_chromium(
        &browser,
        &dir.path().join("profile-dom"),
        &["--dump-dom".into()],
        &page,
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "chromium --dump-dom exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for id in ["chart-cost", "chart-bytes", "chart-anomaly", "chart-moves"] {
        assert!(
            dom.contains(&format!(
                "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\""
            )),
            "no {id} svg in the DOM"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 4, "exactly the four charts");
    assert!(!dom.contains("no data in this period"));
    for (name, total) in [
        ("tierd policy", "330.00"),
        ("never move", "570.00"),
        ("move after 30 d idle", "420.00"),
        ("move after 30 d idle + recall on access", "390.00"),
        ("offline oracle", "270.00"),
    ] {
        assert!(
            dom.contains(&format!("<th scope=\"row\">{name}<")),
            "no summary row for {name}"
        );
        assert!(
            dom.contains(&format!(">{total}<")),
            "no total {total} for {name}"
        );
    }
    assert!(dom.contains("<tr class=\"policy\">"));
    assert_eq!(dom.matches("<g class=\"marker\">").count(), 7);
    assert!(dom.contains("d-0039"), "the decisions table");
    assert!(
        dom.contains("<th scope=\"row\">cloud</th><td>cheapest data tier</td>"),
        "the price table"
    );
    // The tables of the terminal's lines, and the --why section.
    for (section, said) in [
        (
            "outcomes",
            "<dd>52 moves: 156 reads, 6.240 GB, cost 26.25 USD</dd>",
        ),
        (
            "held",
            "<td class=\"rule\">recall-reheated</td><td>minimum residency</td><td class=\"num\">1,900</td>",
        ),
        (
            "incidents",
            "<td class=\"id\">snapshot-20260313T120200Z-000012</td>",
        ),
        ("why", "<h3>why <code>photos/2026/017.jpg</code></h3>"),
        (
            "why",
            "<span class=\"no\">[no]</span> <code>days_since_last_access &gt; 30d</code>",
        ),
    ] {
        assert!(
            dom.contains(&format!("<section id=\"{section}\">")),
            "no section {section} in the DOM"
        );
        assert!(dom.contains(said), "no {said:?} in the DOM");
    }

    // The screenshot: 1280 px wide, tall enough for the whole page.
    let shot = dir.path().join("report.png");
    let out = run_chromium(
        &browser,
        &dir.path().join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2400".into(),
        ],
        &page,
    );
    assert!(
        out.status.success(),
        "chromium --screenshot exited with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes =
        std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", shot.display()));
    if let Some(keep) = std::env::var_os("TIERD_REPORT_OUT") {
        let keep = PathBuf::from(keep);
        for (name, body) in [("report.html", html.as_bytes()), ("report.png", &bytes[..])] {
            std::fs::create_dir_all(&keep)
                .and_then(|()| std::fs::write(keep.join(name), body))
                .unwrap_or_else(|e| panic!("TIERD_REPORT_OUT={}: {e}", keep.display()));
        }
    }
    let png = decode_png(&bytes).unwrap_or_else(|e| panic!("screenshot {}: {e}", shot.display()));
    assert_eq!((png.width, png.height), (1280, 2400));

    // Not blank: many pixels are not the white background, and the charts' colours are there.
    let n = png.width * png.height;
    let px = |i: usize| {
        let p = &png.pixels[i * png.channels..];
        match png.channels {
            1 | 2 => (p[0], p[0], p[0]),
            _ => (p[0], p[1], p[2]),
        }
    };
    let non_white = (0..n).filter(|i| px(*i) != (255, 255, 255)).count();
    let share = non_white as f64 / n as f64;
    assert!(
        share > 0.03,
        "only {:.2} % of the screenshot is not white",
        share * 100.0
    );
    let near = |(r, g, b): (u8, u8, u8), (tr, tg, tb): (u8, u8, u8)| {
        (r as i16 - tr as i16).abs() < 24
            && (g as i16 - tg as i16).abs() < 24
            && (b as i16 - tb as i16).abs() < 24
    };
    // The policy's blue (#0072B2) and the baselines' orange (#E69F00) are drawn.
    let blue = (0..n).filter(|i| near(px(*i), (0x00, 0x72, 0xB2))).count();
    let orange = (0..n).filter(|i| near(px(*i), (0xE6, 0x9F, 0x00))).count();
    assert!(blue > 500, "only {blue} policy-blue pixels");
    assert!(orange > 500, "only {orange} orange pixels");
}
