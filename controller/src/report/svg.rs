//! Chart primitives: escaping, stable number, byte and date formatting, linear scales, "nice"
//! ticks, and the SVG pieces every chart shares (frame, grid, axes, the "no data" panel).
//!
//! # Guarantees
//! - Nothing here panics, whatever the input: NaN, infinities, `f64::MAX`, `i64::MIN` and empty
//!   ranges all give a finite, well-formed result.
//! - Output is a pure function of the input: no clock, no locale, no hash-map order.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate};

/// Escapes text for HTML and SVG, in element content and in quoted attributes alike.
///
/// Characters XML forbids (C0/C1 controls other than tab, newline and carriage return, and the
/// noncharacters U+FFFE/U+FFFF) become U+FFFD, so the inline SVG stays well-formed.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `s` to at most `max` characters, ending in "…" when cut (before escaping).
pub(crate) fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A pixel coordinate: one decimal, no "-0", never NaN (a non-finite value becomes 0).
pub(crate) fn px(v: f64) -> String {
    if !v.is_finite() {
        return "0".to_string();
    }
    let v = v.clamp(-1.0e6, 1.0e6);
    let s = format!("{v:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s);
    if s == "-0" {
        "0".to_string()
    } else {
        s.to_string()
    }
}

/// `v` with `decimals` decimals and thousands separators ("1,234,567.89"); "n/a" if not finite.
/// Magnitudes of 1e15 and above use scientific notation ("1.23e18").
pub(crate) fn fmt_grouped(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    if v.abs() >= 1.0e15 {
        return format!("{v:.2e}");
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    let zero = s.bytes().all(|b| b == b'0' || b == b'.');
    if v < 0.0 && !zero {
        out.push('-');
    }
    let n = int.len();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (n - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// Money with thousands separators, to `places` decimals ([`super::money_places`] of the
/// largest amount on the page): "1,234.56", "0.5712".
pub(crate) fn fmt_money(v: f64, places: usize) -> String {
    fmt_grouped(v, places)
}

/// A signed money difference: "+123.40", "-4.0000", "0.0000".
pub(crate) fn fmt_signed_money(v: f64, places: usize) -> String {
    let s = fmt_money(v, places);
    let zero = s.bytes().all(|b| b == b'0' || b == b'.');
    if v.is_finite() && v > 0.0 && !zero {
        format!("+{s}")
    } else {
        s
    }
}

/// Names of the decimal units, 1000^0 to 1000^6: prices are per GB of 10^9 bytes, so sizes
/// are shown in the same units.
const BYTE_UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/// The unit of [`BYTE_UNITS`]'s.
const BYTE_BASE: f64 = 1000.0;

/// The decimal unit exponent suited to show `v` bytes (0 = bytes, 3 = GB), at most EB.
fn byte_exponent(v: f64) -> usize {
    let mut e = 0;
    let mut x = v.abs();
    while x >= BYTE_BASE && e + 1 < BYTE_UNITS.len() {
        x /= BYTE_BASE;
        e += 1;
    }
    e
}

/// Bytes in decimal units with one decimal where it helps: "512 B", "1.5 GB", "3 TB".
pub(crate) fn fmt_bytes(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    let e = byte_exponent(v);
    let x = v / BYTE_BASE.powi(e as i32);
    let decimals = if e == 0 || (x - x.round()).abs() < 0.05 {
        0
    } else {
        1
    };
    format!("{} {}", fmt_grouped(x, decimals), BYTE_UNITS[e])
}

/// A unix time as "YYYY-MM-DD HH:MM UTC", or the raw seconds if outside the calendar's range.
pub(crate) fn fmt_time(t: i64) -> String {
    match DateTime::from_timestamp(t, 0) {
        Some(d) => d.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => format!("t={t}"),
    }
}

/// A unix time as "YYYY-MM-DD", or the raw seconds if outside the calendar's range.
pub(crate) fn fmt_day(t: i64) -> String {
    match DateTime::from_timestamp(t, 0) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("t={t}"),
    }
}

/// A linear map from a data interval to a pixel interval.
///
/// The domain is stored halved so that `f64::MAX - (-f64::MAX)` never overflows; values outside
/// the domain are clamped to its ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    h0: f64,
    h1: f64,
    r0: f64,
    r1: f64,
}

impl Scale {
    /// A scale from `[d0, d1]` to `[r0, r1]`. A degenerate or non-finite domain is widened so
    /// that the map stays defined.
    pub(crate) fn new(d0: f64, d1: f64, r0: f64, r1: f64) -> Scale {
        let (mut h0, mut h1) = (finite_or(d0, 0.0) / 2.0, finite_or(d1, 1.0) / 2.0);
        if h1 < h0 {
            std::mem::swap(&mut h0, &mut h1);
        }
        if h1 - h0 <= 0.0 {
            let pad = if h0 == 0.0 { 0.5 } else { h0.abs() * 0.1 };
            h0 -= pad;
            h1 += pad;
        }
        Scale { h0, h1, r0, r1 }
    }

    /// The pixel position of `v`.
    pub(crate) fn map(&self, v: f64) -> f64 {
        let t = (v / 2.0 - self.h0) / (self.h1 - self.h0);
        let t = if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.r0 + t * (self.r1 - self.r0)
    }
}

fn finite_or(v: f64, default: f64) -> f64 {
    if v.is_finite() { v } else { default }
}

/// Ticks on a value axis: the (possibly widened) domain, the step and the tick values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ticks {
    /// The axis' lower end: `lo` rounded down to a multiple of `step`.
    pub lo: f64,
    /// The axis' upper end: `hi` rounded up to a multiple of `step`.
    pub hi: f64,
    /// The distance between ticks: 1, 2, 2.5 or 5 times a power of ten.
    pub step: f64,
    /// Tick values from `lo` to `hi`, ascending.
    pub values: Vec<f64>,
}

impl Ticks {
    /// Decimals needed to tell the ticks apart (0 for steps of 1 and more).
    pub(crate) fn decimals(&self) -> usize {
        decimals_for(self.step)
    }
}

fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) || step >= 1.0 {
        return 0;
    }
    // 0.25 needs two decimals, 0.5 one, 0.02 two.
    let mut d = 0;
    let mut s = step;
    while d < 12 && (s - s.round()).abs() > 1e-9 * s.abs().max(1.0) {
        s *= 10.0;
        d += 1;
    }
    d
}

/// About `target` evenly spaced "nice" ticks (1, 2, 2.5, 5 × 10^k) covering `[lo, hi]`.
///
/// Non-finite ends are replaced (0 and 1), reversed ends swapped, an empty range widened; at
/// most 100 ticks are produced whatever the input.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Ticks {
    let target = target.clamp(2, 50) as f64;
    let (mut lo, mut hi) = (finite_or(lo, 0.0), finite_or(hi, 1.0));
    if hi < lo {
        std::mem::swap(&mut lo, &mut hi);
    }
    if hi == lo {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        lo -= pad;
        hi += pad;
        if !hi.is_finite() {
            hi = f64::MAX;
        }
        if !lo.is_finite() {
            lo = f64::MIN;
        }
    }
    // (hi - lo) / target without overflowing for ranges wider than f64::MAX.
    let raw = (hi / 2.0 - lo / 2.0) / target * 2.0;
    if !(raw.is_finite() && raw > 0.0) {
        return Ticks {
            lo,
            hi,
            step: hi / 2.0 - lo / 2.0,
            values: vec![lo, hi],
        };
    }
    let mag = 10f64.powi(raw.log10().floor() as i32);
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw * (1.0 - 1e-12))
        .unwrap_or(10.0 * mag);
    if !(step.is_finite() && step > 0.0) {
        // Subnormal ranges: the power of ten underflows.
        return Ticks {
            lo,
            hi,
            step: hi / 2.0 - lo / 2.0,
            values: vec![lo, hi],
        };
    }
    let k0 = (lo / step).floor();
    let k1 = (hi / step).ceil();
    let nlo = if (k0 * step).is_finite() {
        k0 * step
    } else {
        lo
    };
    let nhi = if (k1 * step).is_finite() {
        k1 * step
    } else {
        hi
    };
    let mut values = Vec::new();
    let mut i = 0.0;
    // At most 200 candidates and 100 ticks, whatever the floating point does.
    while i < 200.0 && values.len() < 100 {
        let v = (k0 + i) * step;
        i += 1.0;
        if v == f64::NEG_INFINITY || v < nlo {
            continue;
        }
        if !v.is_finite() || v > nhi + step * 1e-9 {
            break;
        }
        // Floating drift (0.30000000000000004) is cut at the tick's own precision.
        let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
        if values.last() != Some(&v) {
            values.push(v);
        }
    }
    if values.is_empty() {
        values = vec![nlo, nhi];
    }
    Ticks {
        lo: nlo,
        hi: nhi,
        step,
        values,
    }
}

/// Ticks for a count axis: like [`nice_ticks`] from 0, but never a fractional step.
pub(crate) fn count_ticks(max: f64, target: usize) -> Ticks {
    let t = nice_ticks(0.0, max.max(1.0), target);
    if t.step >= 1.0 {
        return t;
    }
    let hi = t.hi.ceil().max(1.0);
    Ticks {
        lo: 0.0,
        hi,
        step: 1.0,
        values: (0..=hi as u64).map(|v| v as f64).collect(),
    }
}

/// Ticks for a byte axis from 0 to `max`, in the decimal unit that suits `max`, with labels.
pub(crate) fn byte_ticks(max: f64, target: usize) -> (Ticks, Vec<String>) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let e = byte_exponent(max);
    let unit = BYTE_BASE.powi(e as i32);
    let t = nice_ticks(0.0, max / unit, target);
    let t = if e == 0 && t.step < 1.0 {
        count_ticks(max, target)
    } else {
        t
    };
    let d = t.decimals();
    let labels = t
        .values
        .iter()
        .map(|v| format!("{} {}", fmt_grouped(*v, d), BYTE_UNITS[e]))
        .collect();
    let scaled = Ticks {
        lo: t.lo * unit,
        hi: t.hi * unit,
        step: t.step * unit,
        values: t.values.iter().map(|v| v * unit).collect(),
    };
    (scaled, labels)
}

const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// Steps of fixed length, with the label format each one uses.
const FIXED_STEPS: [(i64, &str); 12] = [
    (MINUTE, "%m-%d %H:%M"),
    (5 * MINUTE, "%m-%d %H:%M"),
    (15 * MINUTE, "%m-%d %H:%M"),
    (30 * MINUTE, "%m-%d %H:%M"),
    (HOUR, "%m-%d %H:%M"),
    (3 * HOUR, "%m-%d %H:%M"),
    (6 * HOUR, "%m-%d %H:%M"),
    (12 * HOUR, "%m-%d %H:%M"),
    (DAY, "%Y-%m-%d"),
    (2 * DAY, "%Y-%m-%d"),
    (7 * DAY, "%Y-%m-%d"),
    (14 * DAY, "%Y-%m-%d"),
];

/// Date ticks for a UTC time axis over `[lo, hi]` (unix seconds): about `target` ticks at round
/// times (whole hours, midnights, Mondays, first days of months or years), each with a label.
///
/// Labels are "MM-DD HH:MM" for sub-day steps, "YYYY-MM-DD" for day and week steps, "YYYY-MM"
/// for month steps and "YYYY" for years. Times outside the calendar's range get numeric ticks.
pub(crate) fn time_ticks(lo: i64, hi: i64, target: usize) -> Vec<(i64, String)> {
    let (lo, hi) = if hi < lo { (hi, lo) } else { (lo, hi) };
    let target = target.clamp(2, 30) as i128;
    let (Some(dlo), Some(dhi)) = (
        DateTime::from_timestamp(lo, 0),
        DateTime::from_timestamp(hi, 0),
    ) else {
        return nice_ticks(lo as f64, hi as f64, target as usize)
            .values
            .into_iter()
            .filter(|v| *v >= lo as f64 && *v <= hi as f64)
            .map(|v| (v as i64, format!("t={}", fmt_grouped(v, 0))))
            .collect();
    };
    let span = hi as i128 - lo as i128;
    for (step, fmt) in FIXED_STEPS {
        let step = step as i128;
        if span / step > target {
            continue;
        }
        // Weeks start on Monday: 1970-01-01 was a Thursday, the first Monday is 4 days on.
        let offset: i128 = if step % (7 * DAY as i128) == 0 {
            4 * DAY as i128
        } else {
            0
        };
        let first = (lo as i128 - offset).div_euclid(step) * step + offset;
        let first = if first < lo as i128 {
            first + step
        } else {
            first
        };
        let mut out = Vec::new();
        let mut t = first;
        while t <= hi as i128 && out.len() < 100 {
            if let Some(d) = DateTime::from_timestamp(t as i64, 0) {
                out.push((t as i64, d.format(fmt).to_string()));
            }
            t += step;
        }
        return out;
    }
    // Calendar steps: months (1, 2, 3, 6), then years (1, 2, 5, 10, 20, 50, ...).
    let months_span = (dhi.year() as i64 - dlo.year() as i64) * 12 + dhi.month0() as i64
        - dlo.month0() as i64
        + 1;
    for n in [1i64, 2, 3, 6] {
        if (months_span / n) as i128 > target {
            continue;
        }
        return calendar_ticks(lo, hi, dlo.year(), n, "%Y-%m");
    }
    let years_span = (dhi.year() as i64 - dlo.year() as i64 + 1).max(1);
    let mut k = 0;
    loop {
        let n = year_step(k);
        if (years_span / n) as i128 <= target || k >= 30 {
            return calendar_ticks(lo, hi, dlo.year(), n.saturating_mul(12), "%Y");
        }
        k += 1;
    }
}

/// The k-th year step: 1, 2, 5, 10, 20, 50, 100, ...
fn year_step(k: usize) -> i64 {
    let base = [1i64, 2, 5][k % 3];
    base.saturating_mul(10i64.saturating_pow((k / 3) as u32))
}

/// Ticks on first days of months, every `n_months` months (aligned to multiples of `n_months`
/// counted from January of year 0), from the first one at or after `lo` up to `hi`.
fn calendar_ticks(
    lo: i64,
    hi: i64,
    start_year: i32,
    n_months: i64,
    fmt: &str,
) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    // Month index counted from January of year 0: the first multiple of `n_months` in or after
    // January of `lo`'s year (every aligned month at or after `lo` comes later).
    let n_months = n_months.max(1);
    let mut m = (start_year as i64 * 12 + n_months - 1).div_euclid(n_months) * n_months;
    let mut guard = 0;
    while out.len() < 100 && guard < 400 {
        guard += 1;
        let year = m.div_euclid(12);
        let month = m.rem_euclid(12) as u32 + 1;
        m += n_months;
        let Ok(year) = i32::try_from(year) else { break };
        let Some(date) = NaiveDate::from_ymd_opt(year, month, 1) else {
            break;
        };
        let Some(dt) = date.and_hms_opt(0, 0, 0) else {
            break;
        };
        let t = dt.and_utc().timestamp();
        if t < lo {
            continue;
        }
        if t > hi {
            break;
        }
        out.push((t, dt.format(fmt).to_string()));
    }
    out
}

/// Estimated width in pixels of `s` at the charts' 11 px font.
pub(crate) fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * 6.4
}

/// The plot area of a chart inside its SVG canvas.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame {
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub bottom: f64,
}

impl Frame {
    pub(crate) fn x0(&self) -> f64 {
        self.left
    }
    pub(crate) fn x1(&self) -> f64 {
        self.width - self.right
    }
    pub(crate) fn y0(&self) -> f64 {
        self.height - self.bottom
    }
    pub(crate) fn y1(&self) -> f64 {
        self.top
    }
}

/// Opens a chart's `<svg>` with its accessible name and description.
pub(crate) fn open_svg(
    out: &mut String,
    id: &str,
    width: f64,
    height: f64,
    title: &str,
    desc: &str,
) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"{id}\" viewBox=\"0 0 {w} {h}\" \
         width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{t}\" aria-describedby=\"{id}-desc\">\
         <title>{t}</title><desc id=\"{id}-desc\">{d}</desc>",
        w = px(width),
        h = px(height),
        t = esc(title),
        d = esc(desc),
    );
}

/// A complete chart that says "no data in this period" instead of drawing empty axes.
pub(crate) fn no_data_svg(id: &str, title: &str, width: f64, height: f64) -> String {
    let mut out = String::new();
    open_svg(&mut out, id, width, height, title, "no data in this period");
    let _ = write!(
        out,
        "<rect class=\"nodata-box\" x=\"0.5\" y=\"0.5\" width=\"{}\" height=\"{}\" />\
         <text class=\"nodata\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no data in this period</text></svg>",
        px(width - 1.0),
        px(height - 1.0),
        px(width / 2.0),
        px(height / 2.0),
    );
    out
}

/// Horizontal grid lines and labels for a value axis on the left of `frame`.
pub(crate) fn y_axis(out: &mut String, frame: &Frame, y: &Scale, ticks: &[f64], labels: &[String]) {
    out.push_str("<g class=\"grid\">");
    for v in ticks {
        let py = px(y.map(*v));
        let _ = write!(
            out,
            "<line x1=\"{}\" x2=\"{}\" y1=\"{py}\" y2=\"{py}\" />",
            px(frame.x0()),
            px(frame.x1())
        );
    }
    out.push_str("</g><g class=\"axis\">");
    for (v, label) in ticks.iter().zip(labels) {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            px(frame.x0() - 6.0),
            px(y.map(*v)),
            esc(label)
        );
    }
    out.push_str("</g>");
}

/// Vertical grid lines from `top` to `bottom` and date labels under `bottom`.
pub(crate) fn x_time_axis(
    out: &mut String,
    x: &Scale,
    ticks: &[(i64, String)],
    top: f64,
    bottom: f64,
) {
    out.push_str("<g class=\"grid\">");
    for (t, _) in ticks {
        let p = px(x.map(*t as f64));
        let _ = write!(
            out,
            "<line x1=\"{p}\" x2=\"{p}\" y1=\"{}\" y2=\"{}\" />",
            px(top),
            px(bottom)
        );
    }
    out.push_str("</g><g class=\"axis\">");
    for (t, label) in ticks {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            px(x.map(*t as f64)),
            px(bottom + 16.0),
            esc(label)
        );
    }
    out.push_str("</g>");
}

/// The axis titles: `x_label` centred under the plot, `y_label` rotated on the left.
pub(crate) fn axis_titles(out: &mut String, frame: &Frame, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        "<g class=\"axis-title\"><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate({} {}) rotate(-90)\" text-anchor=\"middle\">{}</text></g>",
        px((frame.x0() + frame.x1()) / 2.0),
        px(frame.height - 6.0),
        esc(x_label),
        px(14.0),
        px((frame.y0() + frame.y1()) / 2.0),
        esc(y_label),
    );
}

/// The plot area's outline (left and bottom axis lines).
pub(crate) fn axis_lines(out: &mut String, frame: &Frame) {
    let _ = write!(
        out,
        "<path class=\"axis-line\" d=\"M{} {}V{}H{}\" />",
        px(frame.x0()),
        px(frame.y1()),
        px(frame.y0()),
        px(frame.x1())
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_quotes_and_forbidden_controls() {
        assert_eq!(
            esc(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("a\u{0}b\u{1b}c\u{ffff}"), "a\u{fffd}b\u{fffd}c\u{fffd}");
        assert_eq!(esc("tab\tnew\nline"), "tab\tnew\nline");
    }

    #[test]
    fn numbers_are_grouped_and_stable() {
        assert_eq!(fmt_grouped(1234567.891, 2), "1,234,567.89");
        assert_eq!(fmt_grouped(-1234.5, 1), "-1,234.5");
        assert_eq!(fmt_grouped(-0.001, 2), "0.00");
        assert_eq!(fmt_grouped(999.0, 0), "999");
        assert_eq!(fmt_grouped(f64::NAN, 2), "n/a");
        assert_eq!(fmt_grouped(f64::INFINITY, 2), "n/a");
        assert_eq!(fmt_grouped(1.5e18, 2), "1.50e18");
        assert_eq!(fmt_signed_money(12.3, 2), "+12.30");
        assert_eq!(fmt_signed_money(-4.0, 4), "-4.0000");
        assert_eq!(fmt_signed_money(0.0001, 4), "+0.0001");
        assert_eq!(fmt_signed_money(0.00001, 4), "0.0000");
        assert_eq!(fmt_signed_money(0.001, 2), "0.00");
        assert_eq!(fmt_money(1234.567, 2), "1,234.57");
        assert_eq!(fmt_money(0.57124, 4), "0.5712");
        assert_eq!(px(-0.01), "0");
        assert_eq!(px(12.0), "12");
        assert_eq!(px(12.345), "12.3");
        assert_eq!(px(f64::NAN), "0");
    }

    #[test]
    fn nice_ticks_are_round_numbers_covering_the_range() {
        let t = nice_ticks(0.0, 97.3, 5);
        assert_eq!(t.step, 20.0);
        assert_eq!(t.values, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!((t.lo, t.hi), (0.0, 100.0));

        let t = nice_ticks(0.0, 1.0, 4);
        assert_eq!(t.step, 0.25);
        assert_eq!(t.decimals(), 2);
        assert_eq!(t.values, vec![0.0, 0.25, 0.5, 0.75, 1.0]);

        let t = nice_ticks(0.1, 0.7, 6);
        assert!((t.step - 0.1).abs() < 1e-15, "{t:?}");
        assert_eq!(t.decimals(), 1);
        assert_eq!(t.values.len(), 7);
        assert!((t.values[2] - 0.3).abs() < 1e-12);

        let t = nice_ticks(-35.0, 12.0, 5);
        assert_eq!(t.step, 10.0);
        assert_eq!((t.lo, t.hi), (-40.0, 20.0));
        assert!(t.values.contains(&0.0));
    }

    #[test]
    fn nice_ticks_survive_degenerate_and_extreme_ranges() {
        for (lo, hi) in [
            (5.0, 5.0),
            (0.0, 0.0),
            (f64::NAN, f64::INFINITY),
            (10.0, -10.0),
            (0.0, f64::MAX),
            (-f64::MAX, f64::MAX),
            (f64::MAX, f64::MAX),
            (1e-300, 2e-300),
            (1.0, 1.0 + f64::EPSILON),
            (5e-324, 1e-323),
        ] {
            let t = nice_ticks(lo, hi, 5);
            assert!(
                !t.values.is_empty() && t.values.len() <= 100,
                "{lo} {hi}: {t:?}"
            );
            assert!(t.values.iter().all(|v| v.is_finite()), "{lo} {hi}: {t:?}");
            assert!(
                t.lo.is_finite() && t.hi.is_finite() && t.lo <= t.hi,
                "{lo} {hi}: {t:?}"
            );
            let s = Scale::new(t.lo, t.hi, 0.0, 100.0);
            for v in &t.values {
                let p = s.map(*v);
                assert!((0.0..=100.0).contains(&p), "{lo} {hi}: {v} -> {p}");
            }
        }
    }

    #[test]
    fn count_ticks_never_step_by_fractions() {
        let t = count_ticks(3.0, 6);
        assert_eq!(t.values, vec![0.0, 1.0, 2.0, 3.0]);
        let t = count_ticks(0.0, 6);
        assert_eq!(t.values, vec![0.0, 1.0]);
        assert_eq!(count_ticks(1234.0, 5).step, 250.0);
    }

    #[test]
    fn byte_ticks_use_the_decimal_units_prices_are_per() {
        let (t, labels) = byte_ticks(3.3e9, 5);
        assert_eq!(labels, vec!["0 GB", "1 GB", "2 GB", "3 GB", "4 GB"]);
        assert_eq!(t.values[1], 1e9);
        let (_, labels) = byte_ticks(1.5e12, 4);
        assert_eq!(labels, vec!["0.0 TB", "0.5 TB", "1.0 TB", "1.5 TB"]);
        let (_, labels) = byte_ticks(700.0, 4);
        assert_eq!(labels.last().map(String::as_str), Some("800 B"));
        let (_, labels) = byte_ticks(300e3, 3);
        assert_eq!(labels.last().map(String::as_str), Some("300 kB"));
        let (_, labels) = byte_ticks(2e6, 4);
        assert!(labels.iter().all(|l| l.ends_with(" MB")), "{labels:?}");
        let (t, _) = byte_ticks(f64::NAN, 4);
        assert!(t.values.iter().all(|v| v.is_finite()));
        assert_eq!(fmt_bytes(1500.0), "1.5 kB");
        assert_eq!(fmt_bytes(1024.0), "1 kB");
        assert_eq!(fmt_bytes(512.0), "512 B");
        assert_eq!(fmt_bytes(5e12), "5 TB");
        assert_eq!(fmt_bytes(f64::MAX), "1.80e290 EB");
    }

    #[test]
    fn time_ticks_fall_on_round_utc_times() {
        // 2025-03-01 00:00 UTC to 2025-03-31 00:00 UTC: weekly ticks on Mondays.
        let from = 1_740_787_200;
        let ticks = time_ticks(from, from + 30 * DAY, 8);
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "2025-03-03",
                "2025-03-10",
                "2025-03-17",
                "2025-03-24",
                "2025-03-31"
            ]
        );

        // Two days: every 6 hours.
        let ticks = time_ticks(from + 3_000, from + 2 * DAY, 8);
        assert_eq!(ticks[0], (from + 6 * HOUR, "03-01 06:00".to_string()));
        assert!(ticks.windows(2).all(|w| w[1].0 - w[0].0 == 6 * HOUR));

        // Ten days: every other day, at midnight.
        let ticks = time_ticks(from, from + 10 * DAY, 8);
        assert!(ticks.iter().all(|(t, _)| t % DAY == 0));
        assert_eq!(ticks[1].1, "2025-03-03");

        // A year and a half: quarters, then years for long spans.
        let ticks = time_ticks(from, from + 540 * DAY, 8);
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "2025-04", "2025-07", "2025-10", "2026-01", "2026-04", "2026-07"
            ]
        );
        let ticks = time_ticks(0, 50 * 365 * DAY, 8);
        assert!(
            ticks.iter().all(|(_, l)| l.len() == 4 && l.ends_with('0')),
            "{ticks:?}"
        );
    }

    #[test]
    fn time_ticks_survive_extreme_times() {
        assert!(time_ticks(i64::MIN, i64::MAX, 8).len() <= 100);
        assert!(!time_ticks(i64::MIN, i64::MAX, 8).is_empty());
        assert_eq!(time_ticks(100, 100, 8), Vec::<(i64, String)>::new());
        let t = time_ticks(-8_000_000_000_000, 8_000_000_000_000, 6);
        assert!(!t.is_empty() && t.len() <= 100, "{t:?}");
        assert_eq!(fmt_time(i64::MAX), format!("t={}", i64::MAX));
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
    }
}
