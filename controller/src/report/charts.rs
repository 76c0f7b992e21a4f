//! The report's four charts, each a complete `<svg>` plus the legend the page shows under it.

use std::fmt::Write as _;

use super::svg::{
    Frame, Scale, axis_lines, axis_titles, byte_ticks, count_ticks, esc, fmt_bytes, fmt_day,
    fmt_grouped, fmt_money, fmt_time, nice_ticks, no_data_svg, open_svg, px, text_width,
    time_ticks, truncate, x_time_axis, y_axis,
};
use super::{Marker, ORACLE_STRATEGY, POLICY_STRATEGY, ReportData, Series};

/// Width of every chart's canvas; the page scales it down on narrow screens.
const WIDTH: f64 = 960.0;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The Okabe–Ito palette: distinguishable with the common colour-vision deficiencies.
pub(crate) const BLUE: &str = "#0072B2";
pub(crate) const ORANGE: &str = "#E69F00";
pub(crate) const GREEN: &str = "#009E73";
pub(crate) const VERMILLION: &str = "#D55E00";
pub(crate) const PURPLE: &str = "#CC79A7";
pub(crate) const SKY: &str = "#56B4E9";
pub(crate) const GREY: &str = "#7A7A7A";
pub(crate) const BLACK: &str = "#222222";
/// A darker violet for freezes, apart from the palette's pink.
pub(crate) const VIOLET: &str = "#5E3C99";

/// Colours and dash patterns for the baselines (the policy is always blue and solid, the oracle
/// black and dotted); dashes keep the lines apart in a grey-scale print. No two colours are
/// alike (orange and vermilion were: five baselines drew two orange lines), and vermilion is
/// left to thresholds and incidents.
const BASELINE_STYLES: [(&str, &str); 6] = [
    (ORANGE, "7 4"),
    (GREEN, "2 3"),
    (PURPLE, "10 3 2 3"),
    (SKY, "4 2"),
    (VIOLET, "12 4"),
    (GREY, "1 2"),
];

/// Colours of the tiers in the bytes chart, hottest first.
const TIER_COLOURS: [&str; 7] = [VERMILLION, ORANGE, SKY, BLUE, GREEN, PURPLE, GREY];

/// How a legend entry's swatch looks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Swatch {
    /// A line in a colour, dash pattern ("" = solid) and width.
    Line {
        colour: &'static str,
        dash: &'static str,
        width: f64,
    },
    /// A filled block.
    Area { colour: &'static str },
    /// A marker glyph (a Unicode shape) in a colour.
    Glyph {
        glyph: &'static str,
        colour: &'static str,
    },
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendItem {
    pub swatch: Swatch,
    pub label: String,
}

/// A drawn chart.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// The complete `<svg>` element.
    pub svg: String,
    /// The legend shown under the chart (empty when there is no data).
    pub legend: Vec<LegendItem>,
    /// Points left out because their value was unusable.
    pub dropped: usize,
    /// Why points are left out, for the caption.
    pub dropped_why: &'static str,
}

/// The caption's reason for left-out points in most charts.
const NOT_FINITE: &str = "their value is not a finite number";
/// The bytes chart's reason: bytes cannot be negative either.
const NOT_BYTES: &str = "their value is not a finite, non-negative number of bytes";

/// The finite points of `points`, sorted by time (stable), and how many were left out.
pub(crate) fn clean(points: &[(i64, f64)]) -> (Vec<(i64, f64)>, usize) {
    let mut kept: Vec<(i64, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let dropped = points.len() - kept.len();
    kept.sort_by_key(|p| p.0);
    (kept, dropped)
}

/// The time axis' range: the simulated period widened to every drawn time; never empty.
fn time_domain(from: i64, until: i64, times: impl Iterator<Item = i64>) -> (i64, i64) {
    let (mut lo, mut hi) = if until > from {
        (from, until)
    } else {
        (i64::MAX, i64::MIN)
    };
    for t in times {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if lo > hi {
        (from, from.saturating_add(DAY))
    } else if lo == hi {
        (lo.saturating_sub(HOUR), hi.saturating_add(HOUR))
    } else {
        (lo, hi)
    }
}

/// An SVG path through `points`, skipping points that land on the previous pixel.
fn line_path(points: impl Iterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    let mut last = (String::new(), String::new());
    for (x, y) in points {
        let p = (px(x), px(y));
        if p == last {
            continue;
        }
        d.push(if d.is_empty() { 'M' } else { 'L' });
        let _ = write!(d, "{} {}", p.0, p.1);
        last = p;
    }
    d
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() {
        String::new()
    } else {
        format!(" stroke-dasharray=\"{dash}\"")
    }
}

/// Chart 1: cumulative cost per strategy, the policy on top.
pub(crate) fn cost_chart(data: &ReportData) -> Chart {
    let places = data.money_places();
    let currency = if data.currency.is_empty() {
        "cost units"
    } else {
        data.currency.as_str()
    };
    let title = format!("Cumulative cost over time ({currency})");
    let mut dropped = 0;
    let mut baseline = 0;
    // (series, clean points, colour, dash, width, is policy)
    let mut lines = Vec::new();
    for s in &data.cost_series {
        let (points, d) = clean(&s.points);
        dropped += d;
        let (colour, dash, width) = if s.name == POLICY_STRATEGY {
            (BLUE, "", 3.0)
        } else if s.name == ORACLE_STRATEGY {
            (BLACK, "1.5 3", 2.0)
        } else {
            let (c, d) = BASELINE_STYLES[baseline % BASELINE_STYLES.len()];
            baseline += 1;
            (c, d, 2.0)
        };
        lines.push((s, points, colour, dash, width, s.name == POLICY_STRATEGY));
    }
    if lines.iter().all(|l| l.1.is_empty()) {
        return Chart {
            svg: no_data_svg("chart-cost", &title, WIDTH, 200.0),
            legend: Vec::new(),
            dropped,
            dropped_why: NOT_FINITE,
        };
    }
    let (t0, t1) = time_domain(
        data.from,
        data.until,
        lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)),
    );
    let values = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1));
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let ticks = nice_ticks(lo, hi, 6);
    let labels: Vec<String> = ticks
        .values
        .iter()
        .map(|v| fmt_grouped(*v, ticks.decimals()))
        .collect();
    let label_w = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let frame = Frame {
        width: WIDTH,
        height: 380.0,
        left: 34.0 + label_w,
        right: 24.0,
        top: 14.0,
        bottom: 48.0,
    };
    let x = Scale::new(t0 as f64, t1 as f64, frame.x0(), frame.x1());
    let y = Scale::new(ticks.lo, ticks.hi, frame.y0(), frame.y1());

    let mut out = String::new();
    let desc = format!(
        "Line chart of the cumulative cost of {} strategies from {} to {}.",
        lines.len(),
        fmt_time(t0),
        fmt_time(t1)
    );
    open_svg(
        &mut out,
        "chart-cost",
        frame.width,
        frame.height,
        &title,
        &desc,
    );
    y_axis(&mut out, &frame, &y, &ticks.values, &labels);
    x_time_axis(&mut out, &x, &time_ticks(t0, t1, 8), frame.y1(), frame.y0());
    axis_lines(&mut out, &frame);
    axis_titles(
        &mut out,
        &frame,
        "time (UTC)",
        &format!("cumulative cost ({currency})"),
    );

    let mut legend = Vec::new();
    // The policy is drawn last, on top of the baselines.
    let order = lines
        .iter()
        .filter(|l| !l.5)
        .chain(lines.iter().filter(|l| l.5));
    for (s, points, colour, dash, width, _) in order {
        let Some(last) = points.last() else { continue };
        let _ = write!(
            out,
            "<g class=\"series\"><title>{}: {} {} at {}</title>",
            esc(&s.name),
            fmt_money(last.1, places),
            esc(currency),
            fmt_time(last.0)
        );
        if points.len() == 1 {
            let _ = write!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{colour}\" />",
                px(x.map(last.0 as f64)),
                px(y.map(last.1)),
                px(width + 1.0)
            );
        } else {
            let d = line_path(points.iter().map(|(t, v)| (x.map(*t as f64), y.map(*v))));
            let _ = write!(
                out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{}\"{} stroke-linejoin=\"round\" />",
                px(*width),
                dash_attr(dash)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    for (s, points, colour, dash, width, _) in lines.iter() {
        let end = match points.last() {
            Some(p) => format!("{} {currency}", fmt_money(p.1, places)),
            None => "no data".to_string(),
        };
        legend.push(LegendItem {
            swatch: Swatch::Line {
                colour,
                dash,
                width: *width,
            },
            label: format!("{} — {end}", s.name),
        });
    }
    Chart {
        svg: out,
        legend,
        dropped,
        dropped_why: NOT_FINITE,
    }
}

/// The value of a step series at time `t`: the last point at or before `t`, 0 before the first.
fn value_at(points: &[(i64, f64)], t: i64) -> f64 {
    match points.partition_point(|p| p.0 <= t) {
        0 => 0.0,
        i => points[i - 1].1,
    }
}

/// Chart 2: bytes stored per tier, stacked (hottest at the bottom).
pub(crate) fn bytes_chart(data: &ReportData) -> Chart {
    let title = "Bytes stored per tier under the policy";
    let mut dropped = 0;
    // Tiers in the order of `data.tiers` when it names them, then the rest in the given order.
    let mut order: Vec<usize> = Vec::with_capacity(data.bytes_per_tier.len());
    for tier in &data.tiers {
        for (i, s) in data.bytes_per_tier.iter().enumerate() {
            if &s.name == tier && !order.contains(&i) {
                order.push(i);
            }
        }
    }
    for i in 0..data.bytes_per_tier.len() {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let series: Vec<&Series> = order.iter().map(|i| &data.bytes_per_tier[*i]).collect();
    let mut layers = Vec::new();
    for s in series {
        let (points, d) = clean(&s.points);
        // Bytes cannot be negative: a negative count is as unusable as NaN.
        let kept: Vec<(i64, f64)> = points.into_iter().filter(|p| p.1 >= 0.0).collect();
        dropped += d + (s.points.len() - d - kept.len());
        layers.push((s, kept));
    }
    if layers.iter().all(|l| l.1.is_empty()) {
        return Chart {
            svg: no_data_svg("chart-bytes", title, WIDTH, 200.0),
            legend: Vec::new(),
            dropped,
            dropped_why: NOT_BYTES,
        };
    }
    let mut times: Vec<i64> = layers
        .iter()
        .flat_map(|l| l.1.iter().map(|p| p.0))
        .collect();
    times.sort_unstable();
    times.dedup();
    // Stack: tops[i][j] = sum of layers 0..=i at times[j], saturating at f64::MAX.
    let mut tops: Vec<Vec<f64>> = Vec::with_capacity(layers.len());
    for (i, (_, points)) in layers.iter().enumerate() {
        let row = times
            .iter()
            .enumerate()
            .map(|(j, t)| {
                let below = if i == 0 { 0.0 } else { tops[i - 1][j] };
                (below + value_at(points, *t)).min(f64::MAX)
            })
            .collect();
        tops.push(row);
    }
    let max = tops
        .last()
        .map(|r| r.iter().copied().fold(0.0, f64::max))
        .unwrap_or(0.0);
    let (ticks, labels) = byte_ticks(max, 5);
    let label_w = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let frame = Frame {
        width: WIDTH,
        height: 340.0,
        left: 34.0 + label_w,
        right: 24.0,
        top: 14.0,
        bottom: 48.0,
    };
    let (t0, t1) = time_domain(data.from, data.until, times.iter().copied());
    let x = Scale::new(t0 as f64, t1 as f64, frame.x0(), frame.x1());
    let y = Scale::new(ticks.lo, ticks.hi, frame.y0(), frame.y1());

    let mut out = String::new();
    let desc = format!(
        "Stacked area chart of the bytes stored in {} tiers from {} to {}.",
        layers.len(),
        fmt_time(t0),
        fmt_time(t1)
    );
    open_svg(
        &mut out,
        "chart-bytes",
        frame.width,
        frame.height,
        title,
        &desc,
    );
    y_axis(&mut out, &frame, &y, &ticks.values, &labels);
    x_time_axis(&mut out, &x, &time_ticks(t0, t1, 8), frame.y1(), frame.y0());
    let mut legend = Vec::new();
    for (i, (s, points)) in layers.iter().enumerate() {
        let colour = TIER_COLOURS[i % TIER_COLOURS.len()];
        let top: Vec<(f64, f64)> = times
            .iter()
            .zip(&tops[i])
            .map(|(t, v)| (x.map(*t as f64), y.map(*v)))
            .collect();
        let bottom: Vec<(f64, f64)> = if i == 0 {
            times
                .iter()
                .map(|t| (x.map(*t as f64), y.map(0.0)))
                .collect()
        } else {
            times
                .iter()
                .zip(&tops[i - 1])
                .map(|(t, v)| (x.map(*t as f64), y.map(*v)))
                .collect()
        };
        let last = points.last().map(|p| p.1).unwrap_or(0.0);
        let _ = write!(
            out,
            "<g class=\"layer\"><title>{}: {} at the end</title>",
            esc(&s.name),
            fmt_bytes(last)
        );
        if times.len() == 1 {
            let (cx, cy) = top[0];
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"6\" height=\"{}\" fill=\"{colour}\" />",
                px(cx - 3.0),
                px(cy),
                px((bottom[0].1 - cy).max(0.0))
            );
        } else {
            let mut d = line_path(top.iter().copied());
            let back = line_path(bottom.iter().rev().copied());
            d.push_str(&back.replacen('M', "L", 1));
            d.push('Z');
            let _ = write!(
                out,
                "<path d=\"{d}\" fill=\"{colour}\" fill-opacity=\"0.75\" stroke=\"{colour}\" stroke-width=\"1\" />"
            );
        }
        out.push_str("</g>");
        legend.push(LegendItem {
            swatch: Swatch::Area { colour },
            label: format!("{} — {} at the end", s.name, fmt_bytes(last)),
        });
    }
    axis_lines(&mut out, &frame);
    axis_titles(&mut out, &frame, "time (UTC)", "bytes stored");
    out.push_str("</svg>");
    Chart {
        svg: out,
        legend,
        dropped,
        dropped_why: NOT_BYTES,
    }
}

/// How a marker kind is drawn: glyph shape, colour, legend glyph and legend text.
struct MarkerStyle {
    shape: Shape,
    colour: &'static str,
    glyph: &'static str,
    name: &'static str,
}

#[derive(Clone, Copy)]
enum Shape {
    TriangleUp,
    TriangleDown,
    Square,
    Diamond,
    HollowDiamond,
    Circle,
}

static MARKER_KINDS: [(&str, MarkerStyle); 6] = [
    (
        "incident-open",
        MarkerStyle {
            shape: Shape::TriangleUp,
            colour: VERMILLION,
            glyph: "▲",
            name: "incident opened",
        },
    ),
    (
        "incident-close",
        MarkerStyle {
            shape: Shape::TriangleDown,
            colour: GREEN,
            glyph: "▼",
            name: "incident closed",
        },
    ),
    (
        "snapshot",
        MarkerStyle {
            shape: Shape::Square,
            colour: BLUE,
            glyph: "■",
            name: "snapshot",
        },
    ),
    (
        "freeze",
        MarkerStyle {
            shape: Shape::Diamond,
            colour: VIOLET,
            glyph: "◆",
            name: "freeze",
        },
    ),
    (
        "unfreeze",
        MarkerStyle {
            shape: Shape::HollowDiamond,
            colour: VIOLET,
            glyph: "◇",
            name: "unfreeze",
        },
    ),
    (
        "alert",
        MarkerStyle {
            shape: Shape::Circle,
            colour: ORANGE,
            glyph: "●",
            name: "alert",
        },
    ),
];

static OTHER_MARKER: MarkerStyle = MarkerStyle {
    shape: Shape::Circle,
    colour: GREY,
    glyph: "●",
    name: "other",
};

fn marker_style(kind: &str) -> &'static MarkerStyle {
    MARKER_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, s)| s)
        .unwrap_or(&OTHER_MARKER)
}

fn marker_glyph(out: &mut String, style: &MarkerStyle, cx: f64, cy: f64) {
    let r = 5.0;
    let c = style.colour;
    let (x, y) = (px(cx), px(cy));
    let _ = match style.shape {
        Shape::TriangleUp => write!(
            out,
            "<path d=\"M{x} {}L{} {}L{} {}Z\" fill=\"{c}\" />",
            px(cy - r),
            px(cx + r),
            px(cy + r * 0.8),
            px(cx - r),
            px(cy + r * 0.8)
        ),
        Shape::TriangleDown => write!(
            out,
            "<path d=\"M{x} {}L{} {}L{} {}Z\" fill=\"{c}\" />",
            px(cy + r),
            px(cx + r),
            px(cy - r * 0.8),
            px(cx - r),
            px(cy - r * 0.8)
        ),
        Shape::Square => write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{c}\" />",
            px(cx - r * 0.8),
            px(cy - r * 0.8),
            px(r * 1.6),
            px(r * 1.6)
        ),
        Shape::Diamond | Shape::HollowDiamond => {
            let fill = if matches!(style.shape, Shape::Diamond) {
                c
            } else {
                "#ffffff"
            };
            write!(
                out,
                "<path d=\"M{x} {}L{} {y}L{x} {}L{} {y}Z\" fill=\"{fill}\" stroke=\"{c}\" stroke-width=\"1.5\" />",
                px(cy - r),
                px(cx + r),
                px(cy + r),
                px(cx - r)
            )
        }
        Shape::Circle => write!(
            out,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"{}\" fill=\"{c}\" />",
            px(r * 0.85)
        ),
    };
}

/// One row of the anomaly chart.
struct Row<'a> {
    subject: String,
    threshold: Option<f64>,
    /// Where a retrain changed the threshold: (from, threshold).
    thresholds: Vec<(i64, f64)>,
    points: Vec<(i64, f64)>,
    markers: Vec<&'a Marker>,
}

/// Incident spans of one row: each "incident-open" to the next "incident-close"; an open
/// without a close runs to `t1`, a close without an open starts at `t0`.
fn incident_spans(markers: &[&Marker], t0: i64, t1: i64) -> Vec<(i64, i64)> {
    let mut spans = Vec::new();
    let mut open: Option<i64> = None;
    for m in markers {
        match m.kind.as_str() {
            "incident-open" if open.is_none() => open = Some(m.at),
            "incident-close" => {
                spans.push((open.take().unwrap_or(t0), m.at));
            }
            _ => {}
        }
    }
    if let Some(o) = open {
        spans.push((o, t1));
    }
    spans
}

/// Chart 3: anomaly score per subject as small multiples, with threshold, incidents and markers.
pub(crate) fn anomaly_chart(data: &ReportData) -> Chart {
    let title = "Anomaly score per subject, with incidents and protective decisions";
    let mut dropped = 0;
    let mut rows: Vec<Row> = Vec::new();
    for tl in &data.anomaly {
        let (points, d) = clean(&tl.points);
        dropped += d;
        let threshold = tl.threshold.is_finite().then_some(tl.threshold);
        rows.push(Row {
            subject: tl.subject.clone(),
            threshold,
            thresholds: tl
                .thresholds
                .iter()
                .copied()
                .filter(|t| t.1.is_finite())
                .collect(),
            points,
            markers: Vec::new(),
        });
    }
    let mut others = Vec::new();
    for m in &data.markers {
        match rows.iter_mut().find(|r| r.subject == m.subject) {
            Some(r) => r.markers.push(m),
            None => others.push(m),
        }
    }
    if !others.is_empty() {
        rows.push(Row {
            subject: "other subjects".into(),
            threshold: None,
            thresholds: Vec::new(),
            points: Vec::new(),
            markers: others,
        });
    }
    for r in &mut rows {
        r.markers.sort_by_key(|m| m.at);
    }
    if rows
        .iter()
        .all(|r| r.points.is_empty() && r.markers.is_empty())
    {
        return Chart {
            svg: no_data_svg("chart-anomaly", title, WIDTH, 200.0),
            legend: Vec::new(),
            dropped,
            dropped_why: NOT_FINITE,
        };
    }
    let times = rows.iter().flat_map(|r| {
        r.points
            .iter()
            .map(|p| p.0)
            .chain(r.markers.iter().map(|m| m.at))
    });
    let (t0, t1) = time_domain(data.from, data.until, times);

    const LABEL_H: f64 = 18.0;
    const BAND_H: f64 = 16.0;
    const PLOT_H: f64 = 64.0;
    const GAP: f64 = 14.0;
    const ROW_H: f64 = LABEL_H + BAND_H + PLOT_H + GAP;
    let top = 8.0;
    let height = top + rows.len() as f64 * ROW_H + 40.0;
    let frame = Frame {
        width: WIDTH,
        height,
        left: 64.0,
        right: 24.0,
        top,
        bottom: 40.0,
    };
    let x = Scale::new(t0 as f64, t1 as f64, frame.x0(), frame.x1());
    let ticks = time_ticks(t0, t1, 8);
    let axis_y = top + rows.len() as f64 * ROW_H - GAP;

    let mut out = String::new();
    let desc = format!(
        "Small multiples: one row per subject ({} rows) from {} to {}; the dashed line is the threshold, \
         shaded spans are open incidents, symbols above each row are markers.",
        rows.len(),
        fmt_time(t0),
        fmt_time(t1)
    );
    open_svg(
        &mut out,
        "chart-anomaly",
        frame.width,
        frame.height,
        title,
        &desc,
    );
    x_time_axis(&mut out, &x, &ticks, top, axis_y);
    for (i, row) in rows.iter().enumerate() {
        let row_top = top + i as f64 * ROW_H;
        let band_mid = row_top + LABEL_H + BAND_H / 2.0;
        let (py1, py0) = (
            row_top + LABEL_H + BAND_H,
            row_top + LABEL_H + BAND_H + PLOT_H,
        );
        let (lo, hi) = row.points.iter().chain(&row.thresholds).fold(
            (0.0f64, row.threshold.unwrap_or(0.0).max(0.0)),
            |(lo, hi), p| (lo.min(p.1), hi.max(p.1)),
        );
        let yt = nice_ticks(lo, hi, 2);
        let y = Scale::new(yt.lo, yt.hi, py0, py1);
        let _ = write!(
            out,
            "<g class=\"row\"><text class=\"row-label\" x=\"{}\" y=\"{}\">",
            px(frame.x0()),
            px(row_top + 12.0)
        );
        let _ = write!(
            out,
            "<title>{}</title>{}",
            esc(&row.subject),
            esc(&truncate(&row.subject, 100))
        );
        if let Some(peak) = row
            .points
            .iter()
            .copied()
            .reduce(|a, b| if b.1 > a.1 { b } else { a })
        {
            let _ = write!(
                out,
                "<tspan class=\"row-note\"> — peak {} in the window ending {}</tspan>",
                fmt_grouped(peak.1, 2),
                fmt_time(peak.0)
            );
        }
        out.push_str("</text>");
        for (a, b) in incident_spans(&row.markers, t0, t1) {
            let (xa, xb) = (x.map(a as f64), x.map(b as f64));
            let _ = write!(
                out,
                "<rect class=\"incident\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>incident {} to {}</title></rect>",
                px(xa),
                px(py1),
                px((xb - xa).max(1.5)),
                px(PLOT_H),
                fmt_time(a),
                fmt_time(b)
            );
        }
        let _ = write!(
            out,
            "<rect class=\"plot-box\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" />",
            px(frame.x0()),
            px(py1),
            px(frame.x1() - frame.x0()),
            px(PLOT_H)
        );
        if !row.points.is_empty() || row.threshold.is_some() {
            out.push_str("<g class=\"axis\">");
            for v in [yt.lo, yt.hi] {
                let _ = write!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
                    px(frame.x0() - 6.0),
                    px(y.map(v)),
                    fmt_grouped(v, yt.decimals())
                );
            }
            out.push_str("</g>");
        }
        if let (Some(first), false) = (row.threshold, row.thresholds.is_empty()) {
            // Retrained: the threshold in force, as steps, labelled with the last.
            let mut d = format!("M{} {}", px(frame.x0()), px(y.map(first)));
            for &(from, th) in &row.thresholds {
                let xf = x.map(from as f64).clamp(frame.x0(), frame.x1());
                let _ = write!(d, " H{} V{}", px(xf), px(y.map(th)));
            }
            let _ = write!(d, " H{}", px(frame.x1()));
            let last = row.thresholds.last().map_or(first, |t| t.1);
            let _ = write!(
                out,
                "<g class=\"threshold\"><title>threshold {} to {} (the model was retrained {})</title><path d=\"{d}\" fill=\"none\" />\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"end\">threshold {} (retrained)</text></g>",
                fmt_grouped(first, 2),
                fmt_grouped(last, 2),
                match row.thresholds.len() {
                    1 => "once".to_string(),
                    n => format!("{n} times"),
                },
                px(frame.x1() - 4.0),
                px(y.map(last) - 4.0),
                fmt_grouped(last, 2)
            );
        } else if let Some(th) = row.threshold {
            let ty = px(y.map(th));
            let _ = write!(
                out,
                "<g class=\"threshold\"><title>threshold {}</title><line x1=\"{}\" x2=\"{}\" y1=\"{ty}\" y2=\"{ty}\" />\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"end\">threshold {}</text></g>",
                fmt_grouped(th, 2),
                px(frame.x0()),
                px(frame.x1()),
                px(frame.x1() - 4.0),
                px(y.map(th) - 4.0),
                fmt_grouped(th, 2)
            );
        }
        if row.points.len() == 1 {
            let (t, v) = row.points[0];
            let _ = write!(
                out,
                "<circle class=\"score-dot\" cx=\"{}\" cy=\"{}\" r=\"3\" />",
                px(x.map(t as f64)),
                px(y.map(v))
            );
        } else if !row.points.is_empty() {
            let d = line_path(
                row.points
                    .iter()
                    .map(|(t, v)| (x.map(*t as f64), y.map(*v))),
            );
            let _ = write!(out, "<path class=\"score\" d=\"{d}\" />");
        }
        for m in &row.markers {
            let mx = x.map(m.at as f64);
            let style = marker_style(&m.kind);
            // An incident's open and close go at the top of the plot, the decisions in the band
            // above it: at the same instant as a freeze or a snapshot, neither hides the other.
            let my = if m.kind.starts_with("incident") {
                py1 + 6.0
            } else {
                band_mid
            };
            let _ = write!(
                out,
                "<g class=\"marker\"><title>{} · {} · {}: {}</title><line class=\"marker-rule\" x1=\"{mx}\" x2=\"{mx}\" y1=\"{}\" y2=\"{}\" />",
                fmt_time(m.at),
                esc(&m.kind),
                esc(&m.subject),
                esc(&m.label),
                px(my),
                px(py0),
                mx = px(mx)
            );
            marker_glyph(&mut out, style, mx, my);
            out.push_str("</g>");
        }
        if let Some(first) = row.threshold {
            // Over the threshold in force at its time; drawn last, outlined, so that an
            // incident's marker at the same place does not hide them.
            let at = |t: i64| {
                row.thresholds
                    .iter()
                    .rev()
                    .find(|c| c.0 <= t)
                    .map_or(first, |c| c.1)
            };
            for (t, v) in row.points.iter().filter(|p| p.1 > at(p.0)) {
                let _ = write!(
                    out,
                    "<circle class=\"over\" cx=\"{}\" cy=\"{}\" r=\"3\"><title>window ending {}: score {}</title></circle>",
                    px(x.map(*t as f64)),
                    px(y.map(*v)),
                    fmt_time(*t),
                    fmt_grouped(*v, 2)
                );
            }
        }
        out.push_str("</g>");
    }
    let axis_frame = Frame {
        width: WIDTH,
        height: axis_y + 40.0,
        ..frame
    };
    axis_titles(&mut out, &axis_frame, "time (UTC)", "anomaly score");
    out.push_str("</svg>");

    let mut legend = vec![
        LegendItem {
            swatch: Swatch::Line {
                colour: BLUE,
                dash: "",
                width: 1.5,
            },
            label: "anomaly score".into(),
        },
        LegendItem {
            swatch: Swatch::Line {
                colour: VERMILLION,
                dash: "5 3",
                width: 1.5,
            },
            label: "threshold".into(),
        },
        LegendItem {
            swatch: Swatch::Area { colour: "#F6D5C2" },
            label: "open incident".into(),
        },
    ];
    for (_, s) in &MARKER_KINDS {
        legend.push(LegendItem {
            swatch: Swatch::Glyph {
                glyph: s.glyph,
                colour: s.colour,
            },
            label: s.name.into(),
        });
    }
    Chart {
        svg: out,
        legend,
        dropped,
        dropped_why: NOT_FINITE,
    }
}

/// Chart 4: moves out, recalls and snapshots per UTC day, as bars (grouped up to 45 days,
/// stacked beyond so that bars stay wide enough to see).
pub(crate) fn moves_chart(data: &ReportData) -> Chart {
    let title = "Moves out, recalls and snapshots per day (UTC)";
    if data.moves_per_day.is_empty() {
        return Chart {
            svg: no_data_svg("chart-moves", title, WIDTH, 200.0),
            legend: Vec::new(),
            dropped: 0,
            dropped_why: NOT_FINITE,
        };
    }
    // Days sorted; a gap of up to 1,000 days is filled with empty days, so that time reads evenly.
    let mut given: Vec<(i64, [u64; 3])> = data
        .moves_per_day
        .iter()
        .map(|d| (d.day, [d.moves_out, d.recalls, d.snapshots]))
        .collect();
    given.sort_by_key(|d| d.0);
    let (first, last) = (given[0].0, given[given.len() - 1].0);
    let days: Vec<(i64, [u64; 3])> = if (last as i128 - first as i128) / DAY as i128 <= 1_000 {
        let mut filled: Vec<(i64, [u64; 3])> = Vec::new();
        let mut t = first;
        let mut i = 0;
        while t <= last {
            let mut counts = [0u64; 3];
            while i < given.len() && given[i].0 < t.saturating_add(DAY) {
                for (c, v) in counts.iter_mut().zip(given[i].1) {
                    *c = c.saturating_add(v);
                }
                i += 1;
            }
            filled.push((t, counts));
            t = t.saturating_add(DAY);
            if t == i64::MAX {
                break;
            }
        }
        filled
    } else {
        given
    };
    let stacked = days.len() > 45;
    let max = days
        .iter()
        .map(|(_, c)| {
            if stacked {
                c.iter().map(|v| *v as f64).sum::<f64>()
            } else {
                c.iter().copied().max().unwrap_or(0) as f64
            }
        })
        .fold(0.0, f64::max);
    let ticks = count_ticks(max, 5);
    let labels: Vec<String> = ticks.values.iter().map(|v| fmt_grouped(*v, 0)).collect();
    let label_w = labels.iter().map(|l| text_width(l)).fold(0.0, f64::max);
    let frame = Frame {
        width: WIDTH,
        height: 300.0,
        left: 34.0 + label_w,
        right: 24.0,
        top: 14.0,
        bottom: 48.0,
    };
    let y = Scale::new(ticks.lo, ticks.hi, frame.y0(), frame.y1());
    let band = (frame.x1() - frame.x0()) / days.len() as f64;
    let colours = [BLUE, ORANGE, GREEN];
    let names = ["moves out", "recalls", "snapshots"];

    let mut out = String::new();
    let desc = format!(
        "{} bar chart of moves out, recalls and snapshots on {} days from {} to {}.",
        if stacked { "Stacked" } else { "Grouped" },
        days.len(),
        fmt_day(days[0].0),
        fmt_day(days[days.len() - 1].0)
    );
    open_svg(
        &mut out,
        "chart-moves",
        frame.width,
        frame.height,
        title,
        &desc,
    );
    y_axis(&mut out, &frame, &y, &ticks.values, &labels);
    for (i, (day, counts)) in days.iter().enumerate() {
        let bx = frame.x0() + i as f64 * band;
        let inner = band * 0.8;
        let _ = write!(out, "<g class=\"day\"><title>{}: ", fmt_day(*day));
        for (k, n) in names.iter().enumerate() {
            let _ = write!(
                out,
                "{}{} {n}",
                if k > 0 { ", " } else { "" },
                fmt_grouped(counts[k] as f64, 0)
            );
        }
        out.push_str("</title>");
        let mut base = 0.0;
        for (k, n) in counts.iter().enumerate() {
            let v = *n as f64;
            if v <= 0.0 {
                continue;
            }
            let (x0, w, y_lo, y_hi) = if stacked {
                (bx + band * 0.1, inner, base, base + v)
            } else {
                (
                    bx + band * 0.1 + inner / 3.0 * k as f64,
                    inner / 3.0,
                    0.0,
                    v,
                )
            };
            base += v;
            let (top, bottom) = (y.map(y_hi), y.map(y_lo));
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" />",
                px(x0),
                px(top),
                px(w.max(0.5)),
                px((bottom - top).max(0.5)),
                colours[k]
            );
        }
        out.push_str("</g>");
    }
    // About 8 date labels, under the middle of their day's band.
    let every = days.len().div_ceil(8).max(1);
    out.push_str("<g class=\"axis\">");
    for (i, (day, _)) in days.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(frame.x0() + (i as f64 + 0.5) * band),
            px(frame.y0() + 16.0),
            fmt_day(*day)
        );
    }
    out.push_str("</g>");
    axis_lines(&mut out, &frame);
    axis_titles(&mut out, &frame, "day (UTC)", "count per day");
    out.push_str("</svg>");
    let totals: Vec<u64> = (0..3)
        .map(|k| {
            days.iter()
                .fold(0u64, |acc, (_, c)| acc.saturating_add(c[k]))
        })
        .collect();
    let legend = (0..3)
        .map(|k| LegendItem {
            swatch: Swatch::Area { colour: colours[k] },
            label: format!("{} — {} in all", names[k], fmt_grouped(totals[k] as f64, 0)),
        })
        .collect();
    Chart {
        svg: out,
        legend,
        dropped: 0,
        dropped_why: NOT_FINITE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_drops_non_finite_points_and_sorts_by_time() {
        let (p, d) = clean(&[
            (3, 1.0),
            (1, f64::NAN),
            (2, f64::INFINITY),
            (0, -2.0),
            (3, 0.5),
        ]);
        assert_eq!(p, vec![(0, -2.0), (3, 1.0), (3, 0.5)]);
        assert_eq!(d, 2);
    }

    #[test]
    fn incident_spans_pair_opens_with_closes() {
        let m = |at, kind: &str| Marker {
            at,
            subject: "s".into(),
            kind: kind.into(),
            label: String::new(),
        };
        let ms = [
            m(5, "incident-close"),
            m(10, "incident-open"),
            m(12, "snapshot"),
            m(20, "incident-close"),
            m(30, "incident-open"),
        ];
        let refs: Vec<&Marker> = ms.iter().collect();
        assert_eq!(
            incident_spans(&refs, 0, 100),
            vec![(0, 5), (10, 20), (30, 100)]
        );
    }

    #[test]
    fn step_values_hold_until_the_next_point() {
        let p = [(10, 1.0), (20, 2.0)];
        assert_eq!(value_at(&p, 5), 0.0);
        assert_eq!(value_at(&p, 10), 1.0);
        assert_eq!(value_at(&p, 15), 1.0);
        assert_eq!(value_at(&p, 25), 2.0);
    }

    /// The distance between two `#RRGGBB` colours in RGB space.
    fn distance(a: &str, b: &str) -> f64 {
        let rgb = |c: &str| {
            (1..7)
                .step_by(2)
                .map(|i| f64::from(u8::from_str_radix(&c[i..i + 2], 16).unwrap_or(0)))
                .collect::<Vec<f64>>()
        };
        rgb(a)
            .iter()
            .zip(rgb(b))
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    }

    #[test]
    fn every_cost_line_has_a_colour_unlike_the_others() {
        let mut colours: Vec<&str> = BASELINE_STYLES.iter().map(|s| s.0).collect();
        colours.extend([BLUE, BLACK]);
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert!(
                    distance(a, b) > 70.0,
                    "{a} and {b} are hard to tell apart ({:.0})",
                    distance(a, b)
                );
            }
        }
        let dashes: Vec<&str> = BASELINE_STYLES.iter().map(|s| s.1).collect();
        for (i, d) in dashes.iter().enumerate() {
            assert!(!dashes[i + 1..].contains(d), "dash {d} twice");
        }
    }

    #[test]
    fn time_domain_is_never_empty() {
        assert_eq!(time_domain(0, 100, [50].into_iter()), (0, 100));
        assert_eq!(time_domain(0, 100, [-5, 200].into_iter()), (-5, 200));
        assert_eq!(time_domain(100, 100, std::iter::empty()), (100, 100 + DAY));
        assert_eq!(time_domain(0, 0, [7].into_iter()), (7 - HOUR, 7 + HOUR));
        assert_eq!(
            time_domain(i64::MAX, i64::MAX, std::iter::empty()),
            (i64::MAX, i64::MAX)
        );
    }
}
