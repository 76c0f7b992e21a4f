//! The combined model: robust baseline + k-means, normalised into one score in [0, 1], a
//! threshold calibrated to a false-alarm budget, learning mode, explanations and the artifact.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Contribution, Detector, KMeansDetector, RobustBaseline, SubjectScore, quantile};
use crate::event::AccessEvent;
use crate::features::{self, FeatureConfig, History, Subject, SubjectKind, WindowFeatures};
use crate::{Error, Result};

/// The artifact format this build writes and reads. Bumped whenever the artifact's meaning
/// changes (fields, feature semantics, scoring).
pub const FORMAT_VERSION: u32 = 3;

const DAY_US: i64 = 86_400_000_000;

/// The longest learning period, days (ten years): longer is surely a mistake, and would overflow
/// the times it is added to.
pub const MAX_LEARNING_DAYS: f64 = 3650.0;

/// The fewest windows with events (of the main length) a model is fitted on; with fewer it keeps
/// learning. Each detector's raw score is divided by its 99th percentile over the fitted rows
/// (nearest rank): with fewer than about 50 rows that percentile is the single most extreme
/// training window, so any later window a little past it would score as far off as the worst
/// normal traffic. From 100 windows (at least 100 rows: every window with events has an active
/// subject) it is a real upper percentile, and k-means' 8 clusters at their 5% minimum share
/// (`min_cluster_share`) hold at least 5 windows each. 100 five-minute windows are about 8 hours
/// of steady traffic: a store in real use has them well within its learning period.
pub const MIN_FIT_WINDOWS: usize = 100;

/// The fewest UTC days with traffic a model is fitted on; with fewer it keeps learning. The
/// threshold is calibrated on the largest score per subject group and day: from a single day it
/// would be that day's own maximum, with no day-to-day variation to calibrate against, and the
/// extrapolation a short period needs (over the highest group-days, at least three of them)
/// would have only as many group-days as there are buckets and principals. Two days is the
/// least that shows day-to-day variation, and all that a two-day learning period
/// (`learning_days = 2`, the shortest the tests and scenarios use) can give; requiring more
/// would keep such periods from ending on time. The extrapolation covers the rest.
pub const MIN_FIT_DAYS: usize = 2;

/// The largest 99th percentile of the k-means distances on the fitted rows (standardised
/// units) that counts as "no spread": every training window of the length sits on its centroid,
/// so the normalisation has nothing to divide by and any new value would score 1.
const DEGENERATE_SPREAD: f64 = 1e-6;

/// How much a set of training rows holds, against what a fit needs ([`MIN_FIT_WINDOWS`],
/// [`MIN_FIT_DAYS`]): counted on the main window's rows (the first set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainingData {
    /// Distinct main windows with at least one event.
    pub windows: usize,
    /// Distinct UTC days with at least one event.
    pub days: usize,
}

impl TrainingData {
    /// Counts the main window's rows (the first set; none gives zeros).
    pub fn of(rows: &[WindowFeatures]) -> TrainingData {
        let Some(main) = rows.first() else {
            return TrainingData {
                windows: 0,
                days: 0,
            };
        };
        let windows: BTreeSet<i64> = main.window_start_us.iter().copied().collect();
        let days: BTreeSet<i64> = windows.iter().map(|w| w.div_euclid(DAY_US)).collect();
        TrainingData {
            windows: windows.len(),
            days: days.len(),
        }
    }

    /// Whether a model may be fitted on these rows.
    pub fn is_enough(&self) -> bool {
        self.windows >= MIN_FIT_WINDOWS && self.days >= MIN_FIT_DAYS
    }

    /// What is missing for a fit, named alone, then what is enough: `63 windows with events of
    /// the 100 needed; 2 days with traffic are enough`, or both missing joined with `and`.
    pub fn shortfall(&self) -> String {
        let noun =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let parts = [
            (
                noun(self.days, "day with traffic", "days with traffic"),
                self.days,
                MIN_FIT_DAYS,
            ),
            (
                noun(self.windows, "window with events", "windows with events"),
                self.windows,
                MIN_FIT_WINDOWS,
            ),
        ];
        let missing: Vec<String> = parts
            .iter()
            .filter(|(_, n, min)| n < min)
            .map(|(what, _, min)| format!("{what} of the {min} needed"))
            .collect();
        let enough: Vec<String> = parts
            .iter()
            .filter(|(_, n, min)| n >= min)
            .map(|(what, n, _)| format!("{what} {}", if *n == 1 { "is" } else { "are" }))
            .map(|s| format!("{s} enough"))
            .collect();
        let mut text = missing.join(" and ");
        if !enough.is_empty() {
            text.push_str(&format!("; {}", enough.join(" and ")));
        }
        text
    }
}

/// Model settings. Every field has a default; [`ModelConfig::check`] validates ranges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// The main window (`features.window_secs`, default 300) and how features are computed.
    pub features: FeatureConfig,
    /// More window lengths scored beside the main one (seconds; default `[60]`): a short window
    /// sees a fast burst when it starts, a long one a slow attack that stays under the noise of
    /// every short window. Each gets its own detectors; their scores are calibrated onto one
    /// scale so that all windows together keep the false-alarm budget. Empty: the main window
    /// only.
    pub extra_window_secs: Vec<i64>,
    /// Scores of windows in the first `learning_days` of the training logs are flagged
    /// `learning`: computed and logged, never acted on. Also the start-up transient ("everything
    /// is new") the detectors are not fitted on when there is data after it.
    pub learning_days: f64,
    /// The false-alarm budget the threshold is calibrated to on the training period: alarms per
    /// bucket-day (default 1/30: one per 30 bucket-days).
    pub false_alarms_per_bucket_day: f64,
    /// Multiplies the calibrated threshold (on the normalised scale, before mapping to [0, 1]):
    /// above 1 trades recall for fewer false alarms on data the model was not fitted on. The
    /// default, 1.0, was chosen on the evaluation's tuning seeds (docs/BENCHMARKS.md).
    pub threshold_margin: f64,
    /// How many contributing features each score carries.
    pub top_features: usize,
    /// Fewest windows an hour-of-week (or a subject) needs for its own baseline statistics.
    pub min_rows: usize,
    /// Smallest robust standard deviation of a volume feature, on the `ln(1 + x)` scale
    /// (0.5: a factor of about 1.65 is one deviation).
    pub volume_floor: f64,
    /// Smallest robust standard deviation of a rare-event feature (0.1: a single occurrence
    /// where there were none is about 7 deviations).
    pub rare_floor: f64,
    /// Smallest robust standard deviation of a bytes feature (1.5: bytes vary by a factor of
    /// about 4.5 in normal traffic).
    pub bytes_floor: f64,
    /// The quantile of each feature's training deviations that its deviations are divided by.
    pub feature_quantile: f64,
    /// The smallest such divisor, in robust standard deviations.
    pub feature_scale_floor: f64,
    /// The robust baseline's raw score sums this many of the largest normalised deviations.
    pub top_k: usize,
    pub kmeans_clusters: usize,
    /// k-means is fitted on at most this many rows per subject kind (a fixed-stride sample).
    pub kmeans_max_rows: usize,
    /// Centroids holding less of the training rows than this are not scored against.
    pub min_cluster_share: f64,
    pub seed: u64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            features: FeatureConfig::default(),
            extra_window_secs: vec![60],
            learning_days: 7.0,
            false_alarms_per_bucket_day: 1.0 / 30.0,
            threshold_margin: 1.0,
            top_features: 3,
            min_rows: 8,
            volume_floor: 0.5,
            rare_floor: 0.1,
            bytes_floor: 1.5,
            feature_quantile: 0.999,
            feature_scale_floor: 3.0,
            top_k: 3,
            kmeans_clusters: 8,
            kmeans_max_rows: 20_000,
            min_cluster_share: 0.05,
            seed: 42,
        }
    }
}

impl ModelConfig {
    /// Every window length scored: the main one (`features.window_secs`), then the extra ones.
    pub fn window_lengths(&self) -> Vec<i64> {
        let mut v = vec![self.features.window_secs];
        v.extend(&self.extra_window_secs);
        v
    }

    /// Checks every setting, reporting all problems at once.
    ///
    /// # Errors
    /// [`Error::Config`] listing each out-of-range setting with its valid range.
    pub fn check(&self) -> Result<()> {
        let mut problems = Vec::new();
        if let Err(e) = self.features.check() {
            problems.push(e.to_string());
        }
        let mut need = |ok: bool, msg: String| {
            if !ok {
                problems.push(msg);
            }
        };
        let mut seen = vec![self.features.window_secs];
        for &w in &self.extra_window_secs {
            need(
                (10..=86_400).contains(&w) && !seen.contains(&w),
                format!(
                    "extra_window_secs: {w}: expected 10 to 86400 seconds, each different from window_secs ({}) and from the others (default [60])",
                    self.features.window_secs
                ),
            );
            seen.push(w);
        }
        need(
            self.extra_window_secs.len() <= 4,
            format!(
                "extra_window_secs has {} lengths: expected at most 4 (default [60])",
                self.extra_window_secs.len()
            ),
        );
        need(
            (0.0..=MAX_LEARNING_DAYS).contains(&self.learning_days),
            format!(
                "learning_days = {}: expected 0 to {MAX_LEARNING_DAYS} days (default 7)",
                self.learning_days
            ),
        );
        need(
            self.false_alarms_per_bucket_day >= 0.0 && self.false_alarms_per_bucket_day <= 288.0,
            format!(
                "false_alarms_per_bucket_day = {}: expected 0 to 288 (default 0.0333, one per 30 bucket-days)",
                self.false_alarms_per_bucket_day
            ),
        );
        need(
            self.threshold_margin > 0.0 && self.threshold_margin.is_finite(),
            format!(
                "threshold_margin = {}: expected a positive number (default 1)",
                self.threshold_margin
            ),
        );
        need(
            self.min_rows >= 1,
            format!(
                "min_rows = {}: expected 1 or more (default 8)",
                self.min_rows
            ),
        );
        need(
            self.volume_floor > 0.0 && self.rare_floor > 0.0 && self.bytes_floor > 0.0,
            format!(
                "volume_floor = {}, rare_floor = {}, bytes_floor = {}: expected positive numbers (defaults 0.5, 0.1, 1.5)",
                self.volume_floor, self.rare_floor, self.bytes_floor
            ),
        );
        need(
            (0.5..=1.0).contains(&self.feature_quantile),
            format!(
                "feature_quantile = {}: expected 0.5 to 1 (default 0.999)",
                self.feature_quantile
            ),
        );
        need(
            self.feature_scale_floor > 0.0,
            format!(
                "feature_scale_floor = {}: expected a positive number (default 3)",
                self.feature_scale_floor
            ),
        );
        need(
            (1..=crate::features::N_FEATURES).contains(&self.top_k),
            format!(
                "top_k = {}: expected 1 to {} (default 3)",
                self.top_k,
                crate::features::N_FEATURES
            ),
        );
        need(
            (1..=64).contains(&self.kmeans_clusters),
            format!(
                "kmeans_clusters = {}: expected 1 to 64 (default 8)",
                self.kmeans_clusters
            ),
        );
        need(
            self.kmeans_max_rows >= 1,
            format!(
                "kmeans_max_rows = {}: expected 1 or more (default 20000)",
                self.kmeans_max_rows
            ),
        );
        need(
            (0.0..1.0).contains(&self.min_cluster_share),
            format!(
                "min_cluster_share = {}: expected 0 to below 1 (default 0.05)",
                self.min_cluster_share
            ),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(format!(
                "the model configuration is not valid:\n{}",
                problems.join("\n")
            )))
        }
    }
}

/// How raw detector scores are brought to a common scale: each is divided by its 99th
/// percentile over the fitted rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalisation {
    pub baseline_q99: f64,
    pub kmeans_q99: f64,
}

/// What training saw and decided.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub events: u64,
    pub subjects: u64,
    pub windows: u64,
    /// Rows the detectors were fitted on (after the learning period when there were any).
    pub fitted_windows: u64,
    pub bucket_days: u64,
    /// Subject-days above the threshold on the fitted rows (what the calibration allowed).
    pub calibration_alarm_days: u64,
    /// The highest-scoring fitted windows (one per subject group and day, at most 5): what set
    /// the threshold, so that an operator can see which normal bursts it had to let through.
    pub calibration_top: Vec<CalibrationPeak>,
}

/// One of the highest-scoring windows of the training period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationPeak {
    pub subject: String,
    pub window_start_us: i64,
    /// The window's length, seconds.
    #[serde(default)]
    pub window_secs: i64,
    pub score: f64,
    /// The top features, as `name=value (baseline B)`.
    pub features: Vec<String>,
}

/// The detectors of one window length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowModel {
    /// The window length, seconds.
    pub window_secs: i64,
    pub normalisation: Normalisation,
    pub baseline: RobustBaseline,
    pub kmeans: KMeansDetector,
    /// Brings this window's normalised score onto the common scale: the main window's
    /// calibration level divided by this window's (1 for the main window). Windows of different
    /// lengths stray differently (a one-minute window is noisier, and there are five times as
    /// many); after scaling, the same value means the same rarity per subject-day.
    pub scale: f64,
}

impl WindowModel {
    /// The normalised score of one row on this window's own scale: the larger of the two
    /// detectors' raw scores, each divided by its 99th percentile on the fitted rows.
    fn own(&self, subject: &Subject, window_us: i64, values: &[f64; features::N_FEATURES]) -> f64 {
        self.own_explained(subject, window_us, values, 0).0
    }

    /// [`WindowModel::own`] and the `top` largest contributions, from one pass of the baseline.
    fn own_explained(
        &self,
        subject: &Subject,
        window_us: i64,
        values: &[f64; features::N_FEATURES],
        top: usize,
    ) -> (f64, Vec<Contribution>) {
        let (raw, contributions) = self.baseline.explain(subject, window_us, values, top);
        let b = raw / self.normalisation.baseline_q99;
        let k = self.kmeans.distance(subject.kind, values) / self.normalisation.kmeans_q99;
        let u = b.max(k);
        (if u.is_finite() { u.max(0.0) } else { 0.0 }, contributions)
    }

    /// The normalised score on the common scale.
    pub fn normalised(
        &self,
        subject: &Subject,
        window_us: i64,
        values: &[f64; features::N_FEATURES],
    ) -> f64 {
        let u = self.own(subject, window_us, values) * self.scale;
        if u.is_finite() { u.max(0.0) } else { 0.0 }
    }
}

/// The fitted model; serialised as the artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyModel {
    pub format_version: u32,
    /// The feature columns, in order: an artifact with another list is refused.
    pub feature_names: Vec<String>,
    pub config: ModelConfig,
    /// First and last training window, µs.
    pub trained_from_us: i64,
    pub trained_to_us: i64,
    /// Windows before this are in learning mode.
    pub learning_until_us: i64,
    /// The calibrated threshold in [0, 1], common to every window length.
    pub threshold: f64,
    /// One model per window length; the first is the main window.
    pub windows: Vec<WindowModel>,
    /// The baseline's seen sets and hour-of-week profiles (frozen).
    pub history: History,
    pub summary: TrainSummary,
}

fn group_day(subject: &Subject, window_us: i64) -> (String, i64) {
    let g = match (&subject.bucket, &subject.principal) {
        (Some(b), _) => format!("bucket:{b}"),
        (None, p) => format!("principal:{}", p.as_deref().unwrap_or("anonymous")),
    };
    (g, window_us.div_euclid(DAY_US))
}

impl AnomalyModel {
    /// Trains on events: extracts features at every window length (the history learns), fits
    /// the detectors of each length on the windows after the learning period (on all windows
    /// when there are none after it), normalises, calibrates the threshold, and freezes the
    /// history.
    ///
    /// Returns the model and the live history (frozen, with the key state at the end of the
    /// training logs) to keep scoring the logs that follow.
    ///
    /// # Errors
    /// An invalid configuration; no events ([`Error::EmptyInput`]); too little data
    /// ([`Error::NotEnoughData`], see [`AnomalyModel::fit_windows`]); a clustering error.
    pub fn train(
        mut events: Vec<AccessEvent>,
        config: &ModelConfig,
    ) -> Result<(AnomalyModel, History)> {
        config.check()?;
        if events.is_empty() {
            return Err(Error::EmptyInput("training"));
        }
        events.sort_by_key(|e| e.time_us);
        let n_events = events.len() as u64;
        let mut history = History::new();
        let lengths = config.window_lengths();
        let rows = extract_by_day(&events, &mut history, &config.features, &lengths)?;
        drop(events);
        let mut model = Self::fit_windows(&rows, history.clone(), config)?;
        model.summary.events = n_events;
        history.freeze();
        model.history.freeze();
        Ok((model, history))
    }

    /// Fits on the feature rows of one window length with a given baseline history (see
    /// [`AnomalyModel::train`]): a model of that window only.
    ///
    /// # Errors
    /// An invalid configuration, no rows, or a clustering error.
    pub fn fit_rows(
        rows: &WindowFeatures,
        history: History,
        config: &ModelConfig,
    ) -> Result<AnomalyModel> {
        Self::fit_windows(std::slice::from_ref(rows), history, config)
    }

    /// Fits on the feature rows of several window lengths (the first is the main window: it
    /// sets the training period and learning mode), one [`WindowModel`] each, and calibrates
    /// one threshold for all of them.
    ///
    /// Calibration, on the fitted rows: per window length, the largest normalised score per
    /// subject group (bucket, or principal) and day; the level that alone would let
    /// `false_alarms_per_bucket_day x bucket-days` group-days through sets that length's
    /// `scale` (main level / its level); then the threshold is set on the largest scaled score
    /// per group-day over all lengths, so that all windows together keep the budget. When the
    /// fitted period has fewer bucket-days than one allowed alarm needs (under 30 at one per
    /// 30), the level is extrapolated from the highest group-days with an exponential tail,
    /// and is never below the highest.
    ///
    /// # Guarantees
    /// A fitted model has learnt from at least [`MIN_FIT_WINDOWS`] main windows with events on
    /// [`MIN_FIT_DAYS`] UTC days, and its training windows vary at every length: its
    /// normalisation and threshold are calibrated, never a fallback constant.
    ///
    /// # Errors
    /// An invalid configuration, no rows (or no main rows), two row sets of the same window
    /// length, or a clustering error. [`Error::NotEnoughData`] when the main rows have fewer
    /// windows with events or days with traffic than the minimums, or when every fitted window
    /// of a length looks the same (no spread to calibrate a threshold on): learn from more logs.
    pub fn fit_windows(
        rows: &[WindowFeatures],
        history: History,
        config: &ModelConfig,
    ) -> Result<AnomalyModel> {
        config.check()?;
        let Some(main) = rows.first().filter(|r| !r.is_empty()) else {
            return Err(Error::EmptyInput("combined"));
        };
        let data = TrainingData::of(rows);
        if !data.is_enough() {
            return Err(Error::NotEnoughData(format!(
                "it has learnt from {}",
                data.shortfall()
            )));
        }
        for (i, r) in rows.iter().enumerate() {
            if rows[..i].iter().any(|o| o.window_secs == r.window_secs) {
                return Err(Error::Config(format!(
                    "two sets of feature rows have the window length {} s: give each length once",
                    r.window_secs
                )));
            }
        }
        let from = main.window_start_us.iter().copied().min().unwrap_or(0);
        let to = main.window_start_us.iter().copied().max().unwrap_or(0);
        let learning_until = from.saturating_add((config.learning_days * DAY_US as f64) as i64);
        let mut fitted: Vec<(WindowModel, WindowFeatures)> = Vec::new();
        for r in rows.iter().filter(|r| !r.is_empty()) {
            let after: Vec<usize> = (0..r.len())
                .filter(|&i| r.window_start_us[i] >= learning_until)
                .collect();
            let fit = if after.is_empty() {
                r.clone()
            } else {
                select(r, &after)
            };
            let baseline = RobustBaseline::fit(&fit, config)?;
            let kmeans = KMeansDetector::fit(&fit, config)?;
            let mut b = baseline.score(&fit)?;
            let mut k = kmeans.score(&fit)?;
            let kmeans_q99 = quantile(&mut k, 0.99);
            if kmeans_q99.is_nan() || kmeans_q99 <= DEGENERATE_SPREAD {
                // Every training window sits on its centroid: the normalisation would divide by
                // a floor and score any new value 1, with no feature to show for it.
                return Err(Error::NotEnoughData(format!(
                    "its {} fitted rows of {} s windows all look the same (no spread to calibrate a threshold on)",
                    fit.len(),
                    r.window_secs
                )));
            }
            let normalisation = Normalisation {
                baseline_q99: quantile(&mut b, 0.99).max(1.0),
                kmeans_q99,
            };
            let wm = WindowModel {
                window_secs: r.window_secs,
                normalisation,
                baseline,
                kmeans,
                scale: 1.0,
            };
            fitted.push((wm, fit));
        }
        // Per window length: the largest score per group-day (and the row that gave it).
        let mut bucket_days: BTreeSet<(String, i64)> = BTreeSet::new();
        let mut day_max: Vec<BTreeMap<(String, i64), (f64, usize)>> = Vec::new();
        for (wm, fit) in &fitted {
            let mut m: BTreeMap<(String, i64), (f64, usize)> = BTreeMap::new();
            for i in 0..fit.len() {
                let u = wm.own(&fit.subjects[i], fit.window_start_us[i], &fit.values[i]);
                let key = group_day(&fit.subjects[i], fit.window_start_us[i]);
                if fit.subjects[i].kind == SubjectKind::Bucket {
                    bucket_days.insert(key.clone());
                }
                let e = m.entry(key).or_insert((u, i));
                if u > e.0 {
                    *e = (u, i);
                }
            }
            day_max.push(m);
        }
        let allowed_f = config.false_alarms_per_bucket_day * bucket_days.len() as f64;
        let allowed = allowed_f.floor() as usize;
        let level = |m: &BTreeMap<(String, i64), (f64, usize)>| {
            let mut v: Vec<f64> = m.values().map(|x| x.0).collect();
            v.sort_unstable_by(|a, b| b.total_cmp(a));
            v.get(allowed).copied().unwrap_or(0.0).max(1.0)
        };
        let main_level = level(&day_max[0]);
        for (k, (wm, _)) in fitted.iter_mut().enumerate() {
            wm.scale = main_level / level(&day_max[k]);
        }
        // The combined largest scaled score per group-day, and which window and row gave it.
        let mut combined: BTreeMap<(String, i64), (f64, usize, usize)> = BTreeMap::new();
        for (k, m) in day_max.iter().enumerate() {
            for (key, &(u, i)) in m {
                let u = u * fitted[k].0.scale;
                let e = combined.entry(key.clone()).or_insert((u, k, i));
                if u > e.0 {
                    *e = (u, k, i);
                }
            }
        }
        let mut peaks: Vec<(f64, usize, usize)> = combined.values().copied().collect();
        peaks.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut level_u = peaks.get(allowed).map_or(0.0, |p| p.0).max(1.0);
        if allowed_f < 1.0 {
            // Fewer bucket-days than one allowed alarm needs: the highest day is only the level
            // exceeded once in this short period, not once in 1 / budget bucket-days.
            let v: Vec<f64> = peaks.iter().map(|p| p.0).collect();
            level_u = level_u.max(tail_level(&v, allowed_f));
        }
        let u_t = level_u * config.threshold_margin;
        let calibration_top = peaks
            .iter()
            .take(5)
            .map(|&(u, k, i)| {
                let (wm, fit) = &fitted[k];
                CalibrationPeak {
                    subject: fit.subjects[i].to_string(),
                    window_start_us: fit.window_start_us[i],
                    window_secs: wm.window_secs,
                    score: u / (1.0 + u),
                    features: wm
                        .baseline
                        .explain(
                            &fit.subjects[i],
                            fit.window_start_us[i],
                            &fit.values[i],
                            config.top_features,
                        )
                        .1
                        .iter()
                        .map(|c| {
                            // Counts as integers, ratios and products to two decimals.
                            let v = if c.value.fract() == 0.0 {
                                format!("{:.0}", c.value)
                            } else {
                                format!("{:.2}", c.value)
                            };
                            format!("{}={v} (baseline {:.1})", c.name, c.baseline)
                        })
                        .collect(),
                }
            })
            .collect();
        let summary = TrainSummary {
            events: 0,
            subjects: main.subjects.iter().collect::<BTreeSet<_>>().len() as u64,
            windows: main.len() as u64,
            fitted_windows: fitted[0].1.len() as u64,
            bucket_days: bucket_days.len() as u64,
            calibration_alarm_days: peaks.iter().filter(|p| p.0 > u_t).count() as u64,
            calibration_top,
        };
        Ok(AnomalyModel {
            format_version: FORMAT_VERSION,
            feature_names: features::feature_names(),
            config: config.clone(),
            trained_from_us: from,
            trained_to_us: to,
            learning_until_us: learning_until,
            threshold: u_t / (1.0 + u_t),
            windows: fitted.into_iter().map(|(wm, _)| wm).collect(),
            history,
            summary,
        })
    }

    /// The window lengths this model scores, main first.
    pub fn window_lengths(&self) -> Vec<i64> {
        self.windows.iter().map(|w| w.window_secs).collect()
    }

    /// The model of one window length.
    pub fn window(&self, window_secs: i64) -> Option<&WindowModel> {
        self.windows.iter().find(|w| w.window_secs == window_secs)
    }

    /// Scores feature rows of one of the model's window lengths: a score in [0, 1]
    /// (`u / (1 + u)` of the normalised score on the common scale), the threshold, learning
    /// mode, and the top contributing features.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] without rows; [`Error::Config`] for rows of a window length the
    /// model was not fitted for.
    pub fn score_rows(&self, rows: &WindowFeatures) -> Result<Vec<SubjectScore>> {
        if rows.is_empty() {
            return Err(Error::EmptyInput("combined"));
        }
        let Some(wm) = self.window(rows.window_secs) else {
            return Err(Error::Config(format!(
                "the rows have {} s windows; this model scores windows of {:?} s: extract features at those lengths",
                rows.window_secs,
                self.window_lengths()
            )));
        };
        Ok((0..rows.len())
            .map(|i| {
                let (s, w, v) = (&rows.subjects[i], rows.window_start_us[i], &rows.values[i]);
                let (u, top_features) = wm.own_explained(s, w, v, self.config.top_features);
                let u = u * wm.scale;
                let u = if u.is_finite() { u.max(0.0) } else { 0.0 };
                let score = u / (1.0 + u);
                SubjectScore {
                    subject: s.clone(),
                    window_start_us: w,
                    window_secs: rows.window_secs,
                    score,
                    threshold: self.threshold,
                    is_anomalous: score > self.threshold,
                    learning: w < self.learning_until_us,
                    top_features,
                    flags: rows.flags.get(i).cloned().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Writes the artifact as JSON (one line).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string(self).map_err(|e| Error::ArtifactJson {
            path: path.display().to_string(),
            error: e,
        })?;
        std::fs::write(path, text)?;
        Ok(())
    }

    /// Reads an artifact written by [`AnomalyModel::save`].
    ///
    /// # Errors
    /// The file cannot be read; it is not JSON of the artifact schema; or it is of another
    /// `format_version` or feature list ([`Error::ArtifactMismatch`], naming both).
    pub fn load(path: &Path) -> Result<AnomalyModel> {
        let text = std::fs::read_to_string(path).map_err(|error| Error::ArtifactRead {
            path: path.display().to_string(),
            error,
        })?;
        Self::from_json(&text, &path.display().to_string())
    }

    /// Parses an artifact; `source` names it in errors.
    ///
    /// # Errors
    /// See [`AnomalyModel::load`].
    pub fn from_json(text: &str, source: &str) -> Result<AnomalyModel> {
        let json_err = |e| Error::ArtifactJson {
            path: source.to_owned(),
            error: e,
        };
        let v: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
        let version = v.get("format_version").and_then(serde_json::Value::as_u64);
        match version {
            Some(found) if found == u64::from(FORMAT_VERSION) => {}
            Some(found) => {
                return Err(Error::ArtifactMismatch(format!(
                    "{source}: the model has format_version {found}, this tierd reads format_version {FORMAT_VERSION}; retrain it with this tierd (tierd train)"
                )));
            }
            None => {
                return Err(Error::ArtifactMismatch(format!(
                    "{source}: no format_version field; this is not a tierd model artifact (this tierd reads format_version {FORMAT_VERSION})"
                )));
            }
        }
        let names: Vec<String> = v
            .get("feature_names")
            .and_then(|n| n.as_array())
            .map(|a| {
                a.iter()
                    .map(|x| x.as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        let expected = features::feature_names();
        if names != expected {
            let at = names
                .iter()
                .zip(&expected)
                .position(|(a, b)| a != b)
                .unwrap_or(names.len().min(expected.len()));
            return Err(Error::ArtifactMismatch(format!(
                "{source}: the model's feature list differs from this tierd's at position {at}: the model has {} features [{}], this tierd computes {} [{}]; retrain it with this tierd (tierd train)",
                names.len(),
                names.join(", "),
                expected.len(),
                expected.join(", ")
            )));
        }
        let mut problems = Vec::new();
        check_history(v.get("history"), &mut problems);
        let model: AnomalyModel = serde_json::from_value(v).map_err(json_err)?;
        if let Err(Error::Config(why)) = model.config.check() {
            // One problem per line, each located in the artifact like the others.
            let why = why.trim_start_matches("the model configuration is not valid:\n");
            problems.extend(why.lines().map(|l| format!("config: {l}")));
        }
        model.check_loaded(&mut problems);
        if problems.is_empty() {
            return Ok(model);
        }
        let shown = problems.len().min(MAX_PROBLEMS_SHOWN);
        let mut lines: Vec<String> = problems[..shown]
            .iter()
            .map(|p| format!("{source}: {p} (retrain it with tierd train)"))
            .collect();
        if problems.len() > shown {
            lines.push(format!(
                "{source}: and {} more problems like these",
                problems.len() - shown
            ));
        }
        Err(Error::ArtifactMismatch(lines.join("\n")))
    }

    /// Checks a model read from an artifact against what scoring indexes and divides by: one
    /// detector pair per window length (each length once), each with one value per feature
    /// wherever scoring takes one, positive divisors, and a threshold in [0, 1]. Adds one problem per bad
    /// field, each starting with its JSON path (`windows[0].baseline.subjects["bucket:media"]...`).
    fn check_loaded(&self, problems: &mut Vec<String>) {
        if !(0.0..=1.0).contains(&self.threshold) {
            problems.push(format!(
                "threshold is {}: expected a score threshold, 0 to 1",
                self.threshold
            ));
        }
        if self.windows.is_empty() {
            problems.push("windows is empty: a model has one per window length".to_owned());
        }
        for (i, w) in self.windows.iter().enumerate() {
            let at = format!("windows[{i}]");
            if !(10..=86_400).contains(&w.window_secs)
                || self.windows[..i]
                    .iter()
                    .any(|o| o.window_secs == w.window_secs)
            {
                problems.push(format!(
                    "{at}.window_secs is {}: expected 10 to 86400 seconds, each length once",
                    w.window_secs
                ));
            }
            for (field, x) in [
                ("scale", w.scale),
                ("normalisation.baseline_q99", w.normalisation.baseline_q99),
                ("normalisation.kmeans_q99", w.normalisation.kmeans_q99),
            ] {
                if !x.is_finite() || x <= 0.0 {
                    problems.push(super::check_number_message(
                        &format!("{at}.{field}"),
                        x,
                        true,
                    ));
                }
            }
            w.baseline.check_loaded(&format!("{at}.baseline"), problems);
            w.kmeans.check_loaded(&format!("{at}.kmeans"), problems);
        }
    }
}

/// At most this many problems of a refused artifact are listed (then how many more there are).
const MAX_PROBLEMS_SHOWN: usize = 10;

/// The largest count of one hour of the week in `history.hours_seen` (ten million weeks): far
/// beyond any training period, and small enough that the counts' sum (168 of them) and a
/// retrained model's further counting stay within `u32`.
const MAX_HOURS_SEEN: u64 = 10_000_000;

/// The largest window count of a subject's hour-of-week profile (`history.profiles[...].total`):
/// a retrained model keeps counting from it, within `u32`.
const MAX_PROFILE_TOTAL: u64 = (u32::MAX / 2) as u64;

/// The largest `history.last_hour` (hours since the epoch, either way): the hour of any
/// microsecond timestamp is within it, so that counting the hours from it to a later event
/// cannot overflow.
const MAX_LAST_HOUR: i64 = i64::MAX / 3_600_000_000;

/// Checks the parts of the artifact's `history` that scoring and retraining count with (its
/// fields are private to the history, so they are read from the JSON): `hours_seen` has 0 or
/// 168 counts of at most [`MAX_HOURS_SEEN`], every profile 168 counts and a total of at most
/// [`MAX_PROFILE_TOTAL`], `last_hour` is within [`MAX_LAST_HOUR`]. Types are left to the
/// deserialiser.
fn check_history(history: Option<&serde_json::Value>, problems: &mut Vec<String>) {
    const HOURS: usize = 168;
    let Some(h) = history else {
        return;
    };
    if let Some(seen) = h.get("hours_seen").and_then(|x| x.as_array()) {
        if !seen.is_empty() && seen.len() != HOURS {
            problems.push(format!(
                "history.hours_seen has {} values; a model has {HOURS} (one per hour of the week)",
                seen.len()
            ));
        }
        if let Some((i, n)) = seen
            .iter()
            .enumerate()
            .find_map(|(i, x)| x.as_u64().filter(|&n| n > MAX_HOURS_SEEN).map(|n| (i, n)))
        {
            problems.push(format!(
                "history.hours_seen[{i}] is {n}: expected at most {MAX_HOURS_SEEN} (weeks the hour went by)"
            ));
        }
    }
    if let Some(last) = h.get("last_hour").and_then(|x| x.as_i64())
        && !(-MAX_LAST_HOUR..=MAX_LAST_HOUR).contains(&last)
    {
        problems.push(format!(
            "history.last_hour is {last}: expected hours since the epoch, -{MAX_LAST_HOUR} to {MAX_LAST_HOUR}"
        ));
    }
    if let Some(profiles) = h.get("profiles").and_then(|x| x.as_object()) {
        for (name, p) in profiles {
            let at = format!(
                "history.profiles[{}]",
                serde_json::to_string(name).unwrap_or_default()
            );
            let total = p.get("total").and_then(|x| x.as_u64()).unwrap_or(0);
            if total > MAX_PROFILE_TOTAL {
                problems.push(format!(
                    "{at}.total is {total}: expected at most {MAX_PROFILE_TOTAL}"
                ));
            }
            let Some(counts) = p.get("counts").and_then(|x| x.as_array()) else {
                continue;
            };
            if counts.len() != HOURS {
                problems.push(format!(
                    "{at}.counts has {} values; a model has {HOURS} (one per hour of the week)",
                    counts.len()
                ));
            }
            if let Some((i, n)) = counts
                .iter()
                .enumerate()
                .find_map(|(i, x)| x.as_u64().filter(|&n| n > total).map(|n| (i, n)))
            {
                problems.push(format!(
                    "{at}.counts[{i}] is {n}: expected at most the profile's total, {total}"
                ));
            }
        }
    }
}

/// The level that `expected` group-days would exceed, extrapolated from the highest ones
/// (`peaks`, largest first) with an exponential tail: over the fifth highest (or the highest
/// but one with fewer), excesses are taken as exponential with their mean as the scale, so
/// `level = base + scale x ln(m / expected)`, where `m` days exceeded `base`. Used when the
/// training period is shorter than the budget's return period (fewer than 30 bucket-days at one
/// alarm per 30), where the highest training day is a level exceeded far more often than the
/// budget allows. 0 with fewer than 3 peaks.
fn tail_level(peaks: &[f64], expected: f64) -> f64 {
    let m = peaks.len().saturating_sub(1).min(5);
    if m < 2 {
        return 0.0;
    }
    let base = peaks[m];
    let scale = peaks[..m].iter().map(|p| p - base).sum::<f64>() / m as f64;
    base + scale * (m as f64 / expected.max(0.01)).ln()
}

fn select(rows: &WindowFeatures, idx: &[usize]) -> WindowFeatures {
    WindowFeatures {
        subjects: idx.iter().map(|&i| rows.subjects[i].clone()).collect(),
        window_start_us: idx.iter().map(|&i| rows.window_start_us[i]).collect(),
        values: idx.iter().map(|&i| rows.values[i]).collect(),
        flags: idx
            .iter()
            .map(|&i| rows.flags.get(i).cloned().unwrap_or_default())
            .collect(),
        window_secs: rows.window_secs,
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Extracts features at every window length from time-sorted events, one chunk of about a day
/// at a time. Chunk ends fall on window boundaries of every length, so no window is split.
pub fn extract_by_day(
    events: &[AccessEvent],
    history: &mut History,
    cfg: &FeatureConfig,
    lengths: &[i64],
) -> Result<Vec<WindowFeatures>> {
    let lcm_us = lengths
        .iter()
        .map(|&w| w.max(1) * 1_000_000)
        .fold(1_000_000, |a, b| a / gcd(a, b) * b);
    let chunk_us = (DAY_US / lcm_us).max(1) * lcm_us;
    let mut out: Vec<WindowFeatures> = lengths
        .iter()
        .map(|&w| WindowFeatures {
            window_secs: w,
            ..WindowFeatures::default()
        })
        .collect();
    let mut start = 0;
    while start < events.len() {
        let chunk = events[start].time_us.div_euclid(chunk_us);
        let end =
            start + events[start..].partition_point(|e| e.time_us.div_euclid(chunk_us) == chunk);
        let rows = features::extract_windows(&events[start..end], history, cfg, lengths)?;
        for (o, r) in out.iter_mut().zip(rows) {
            o.extend(r);
        }
        start = end;
    }
    Ok(out)
}

/// Scores a stream of events against a model, keeping the history (key state) between calls.
#[derive(Debug)]
pub struct Scorer<'m> {
    model: &'m AnomalyModel,
    history: History,
    lengths: Vec<i64>,
}

impl<'m> Scorer<'m> {
    /// A scorer starting from the model's baseline, without key state (see the caveat in
    /// [`crate::features`]).
    pub fn new(model: &'m AnomalyModel) -> Self {
        let mut history = model.history.without_live_state();
        history.freeze();
        Scorer {
            model,
            history,
            lengths: model.window_lengths(),
        }
    }

    /// A scorer continuing from a history (for example the one [`AnomalyModel::train`] returned).
    pub fn with_history(model: &'m AnomalyModel, mut history: History) -> Self {
        history.freeze();
        Scorer {
            model,
            history,
            lengths: model.window_lengths(),
        }
    }

    /// Scores a batch of events (whole windows of every length; batches in time order): one
    /// score per active subject and window, for every window length the model has (the main
    /// length's scores first, then each other length's; within a length by window start, then
    /// subject). No events, no scores.
    ///
    /// # Errors
    /// Only a model whose settings fail their checks.
    pub fn score_events(&mut self, events: &[AccessEvent]) -> Result<Vec<SubjectScore>> {
        let rows = features::extract_windows(
            events,
            &mut self.history,
            &self.model.config.features,
            &self.lengths,
        )?;
        let mut out = Vec::new();
        for r in rows.iter().filter(|r| !r.is_empty()) {
            out.extend(self.model.score_rows(r)?);
        }
        Ok(out)
    }

    /// The history as it is now.
    pub fn history(&self) -> &History {
        &self.history
    }
}

impl Detector for AnomalyModel {
    const NAME: &'static str = "combined";

    fn fit(rows: &WindowFeatures, config: &ModelConfig) -> Result<Self> {
        AnomalyModel::fit_rows(rows, History::new(), config)
    }

    fn score(&self, rows: &WindowFeatures) -> Result<Vec<f64>> {
        Ok(self
            .score_rows(rows)?
            .into_iter()
            .map(|s| s.score)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::tail_level;
    use super::{AnomalyModel, DAY_US, MIN_FIT_DAYS, MIN_FIT_WINDOWS, ModelConfig, TrainingData};
    use crate::Error;
    use crate::features::{
        History, N_FEATURES, Subject, SubjectKind, WindowFeatures, WindowFlags, feature_index,
    };

    /// One benign GET of `photos/a.jpg` by alice at `time` (S3 server access log).
    fn get(time: &str) -> crate::AccessEvent {
        let line = format!(
            "79a59df9 photos [{time} +0000] 192.0.2.10 arn:aws:iam::1:user/alice 3E57427F3EXAMPLE REST.GET.OBJECT a.jpg \"GET /photos/a.jpg HTTP/1.1\" 200 - 3 3 20 10 \"-\" \"aws-cli/2.15.0\" - id2 SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader photos.s3.amazonaws.com TLSv1.2 - - us-west-1"
        );
        crate::parse::s3::parse_line(&line)
            .expect("a valid line")
            .expect("an event")
    }

    #[test]
    fn a_fit_on_a_handful_of_windows_is_refused_and_says_what_it_lacks() {
        // The reviewer's log: two GETs one day, one GET two months later.
        let events = vec![
            get("01/Oct/2026:10:00:00"),
            get("01/Oct/2026:11:00:00"),
            get("29/Nov/2026:10:00:00"),
        ];
        let err = AnomalyModel::train(events, &ModelConfig::default()).unwrap_err();
        assert!(matches!(err, Error::NotEnoughData(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "not enough data to fit the model: it has learnt from 3 windows with events of the {MIN_FIT_WINDOWS} needed; 2 days with traffic are enough"
            )
        );
        // One day of steady traffic is still one day.
        let one_day: Vec<_> = (0..12 * 24)
            .map(|i| get(&format!("01/Oct/2026:{:02}:{:02}:00", i / 12, i % 12 * 5)))
            .collect();
        let err = AnomalyModel::train(one_day, &ModelConfig::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(&format!(
                "it has learnt from 1 day with traffic of the {MIN_FIT_DAYS} needed; 288 windows with events are enough"
            )),
            "{err}"
        );
    }

    #[test]
    fn the_shortfall_names_what_is_missing_first_and_both_when_both_are() {
        let data = |days, windows| TrainingData { windows, days }.shortfall();
        assert_eq!(
            data(2, 63),
            format!(
                "63 windows with events of the {MIN_FIT_WINDOWS} needed; 2 days with traffic are enough"
            )
        );
        assert_eq!(
            data(1, 1),
            format!(
                "1 day with traffic of the {MIN_FIT_DAYS} needed and 1 window with events of the {MIN_FIT_WINDOWS} needed"
            )
        );
    }

    /// `days` of 5-minute windows of one bucket, every window the same: `gets` reads.
    fn constant(days: i64, gets: f64) -> WindowFeatures {
        let mut rows = WindowFeatures {
            window_secs: 300,
            ..WindowFeatures::default()
        };
        let mut v = [0.0; N_FEATURES];
        v[feature_index("ops_get").unwrap()] = gets;
        v[feature_index("distinct_keys").unwrap()] = 1.0;
        v[feature_index("distinct_ips").unwrap()] = 1.0;
        for w in 0..days * 288 {
            rows.subjects.push(Subject {
                kind: SubjectKind::Bucket,
                bucket: Some("photos".into()),
                principal: None,
            });
            rows.window_start_us.push(20_731 * DAY_US + w * 300_000_000);
            rows.values.push(v);
            rows.flags.push(WindowFlags::default());
        }
        rows
    }

    #[test]
    fn windows_that_all_look_the_same_calibrate_no_threshold_and_are_refused() {
        let rows = constant(3, 2.0);
        assert!(TrainingData::of(std::slice::from_ref(&rows)).is_enough());
        let err =
            AnomalyModel::fit_rows(&rows, History::new(), &ModelConfig::default()).unwrap_err();
        assert!(matches!(err, Error::NotEnoughData(_)), "{err:?}");
        assert!(
            err.to_string().contains(
                "rows of 300 s windows all look the same (no spread to calibrate a threshold on)"
            ),
            "{err}"
        );
    }

    /// Three days of 5-minute windows of two buckets, with varying (deterministic) traffic.
    fn varied() -> WindowFeatures {
        let mut rows = WindowFeatures {
            window_secs: 300,
            ..WindowFeatures::default()
        };
        let mut x: u64 = 7;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((x >> 33) % n) as f64
        };
        for w in 0..3 * 288 {
            for bucket in ["media", "photos"] {
                let mut v = [0.0; N_FEATURES];
                v[feature_index("ops_get").unwrap()] = 5.0 + next(40);
                v[feature_index("ops_put").unwrap()] = next(4);
                v[feature_index("distinct_keys").unwrap()] = 1.0 + next(20);
                v[feature_index("distinct_ips").unwrap()] = 1.0 + next(3);
                rows.subjects.push(Subject {
                    kind: SubjectKind::Bucket,
                    bucket: Some(bucket.into()),
                    principal: None,
                });
                rows.window_start_us.push(20_731 * DAY_US + w * 300_000_000);
                rows.values.push(v);
                rows.flags.push(WindowFlags::default());
            }
        }
        rows
    }

    /// A fitted model and its artifact as JSON.
    fn artifact() -> (AnomalyModel, WindowFeatures, serde_json::Value) {
        let rows = varied();
        let model = AnomalyModel::fit_rows(&rows, History::new(), &ModelConfig::default()).unwrap();
        let v = serde_json::to_value(&model).unwrap();
        (model, rows, v)
    }

    const MEDIA: &str = "windows[0].baseline.subjects[\"bucket:media\"]";

    fn refusal(v: &serde_json::Value) -> String {
        let err = AnomalyModel::from_json(&v.to_string(), "model.json").unwrap_err();
        assert!(matches!(err, Error::ArtifactMismatch(_)), "{err:?}");
        err.to_string()
    }

    #[test]
    fn a_missing_artifact_is_named_with_how_to_make_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-model.json");
        let err = AnomalyModel::load(&path).unwrap_err();
        // Printed with its chain of causes (as `tierd` prints errors), the cause shows once.
        let mut chain = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            chain.push_str(&format!(": {c}"));
            cause = c.source();
        }
        assert_eq!(chain.matches("os error 2").count(), 1, "{chain}");
        let err = err.to_string();
        let shown = path.display();
        assert_eq!(
            err,
            format!(
                "{shown}: cannot read the model: No such file or directory (os error 2) (a model is written by `tierd train --out {shown}`)"
            )
        );
    }

    #[test]
    fn a_valid_artifact_still_loads_and_scores_as_the_model_it_was_saved_from() {
        let (model, rows, v) = artifact();
        let back = AnomalyModel::from_json(&v.to_string(), "model.json").unwrap();
        assert_eq!(back.windows.len(), model.windows.len());
        let a = model.score_rows(&rows).unwrap();
        let b = back.score_rows(&rows).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x.score - y.score).abs() <= 1e-12,
                "{} / {}",
                x.score,
                y.score
            );
        }
    }

    #[test]
    fn an_artifact_whose_hourly_scales_are_empty_is_refused_naming_each_field() {
        // The audit's repro: every by_hour[*].scale of one subject set to [].
        let (_, _, mut v) = artifact();
        let hours = v["windows"][0]["baseline"]["subjects"]["bucket:media"]["by_hour"]
            .as_object_mut()
            .unwrap();
        let n = hours.len();
        assert!(n > 10, "{n} hours");
        let first: u16 = hours.keys().map(|k| k.parse().unwrap()).min().unwrap();
        for h in hours.values_mut() {
            h["scale"] = serde_json::json!([]);
        }
        let err = refusal(&v);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "model.json: {MEDIA}.by_hour[\"{first}\"].scale has 0 values; a model has {N_FEATURES} (retrain it with tierd train)"
            )
        );
        assert_eq!(lines.len(), 11, "{err}");
        assert_eq!(
            lines[10],
            format!("model.json: and {} more problems like these", n - 10)
        );
    }

    #[test]
    fn an_artifact_with_a_short_median_is_refused_naming_the_field() {
        let (_, _, mut v) = artifact();
        v["windows"][0]["baseline"]["subjects"]["bucket:media"]["overall"]["median"]
            .as_array_mut()
            .unwrap()
            .pop();
        assert_eq!(
            refusal(&v),
            format!(
                "model.json: {MEDIA}.overall.median has {} values; a model has {N_FEATURES} (retrain it with tierd train)",
                N_FEATURES - 1
            )
        );
    }

    #[test]
    fn an_artifact_with_a_bad_setting_is_refused_naming_the_file() {
        let (_, _, mut v) = artifact();
        v["config"]["features"]["window_secs"] = serde_json::json!(0);
        assert_eq!(
            refusal(&v),
            "model.json: config: window_secs = 0: expected 10 to 86400 seconds (default 300) (retrain it with tierd train)"
        );
    }

    #[test]
    fn an_artifact_with_a_zero_or_nan_scale_is_refused() {
        let (model, _, mut v) = artifact();
        v["windows"][0]["baseline"]["kinds"]["bucket"]["scale"][3] = serde_json::json!(0.0);
        v["windows"][0]["kmeans"]["kinds"]["bucket"]["std"][0] = serde_json::json!(-1.0);
        v["windows"][0]["normalisation"]["kmeans_q99"] = serde_json::json!(0.0);
        assert_eq!(
            refusal(&v),
            [
                "model.json: windows[0].normalisation.kmeans_q99 is 0: expected a positive number (retrain it with tierd train)",
                "model.json: windows[0].baseline.kinds[\"bucket\"].scale[3] is 0: expected a positive number (retrain it with tierd train)",
                "model.json: windows[0].kmeans.kinds[\"bucket\"].std[0] is -1: expected a positive number (retrain it with tierd train)",
            ]
            .join("\n")
        );
        // JSON has no NaN: a NaN is written as null, which is not a number of the schema.
        let mut nan = model.clone();
        nan.windows[0]
            .baseline
            .kinds
            .values_mut()
            .next()
            .unwrap()
            .scale[1] = f64::NAN;
        let err = AnomalyModel::from_json(&serde_json::to_string(&nan).unwrap(), "model.json")
            .unwrap_err();
        assert!(matches!(err, Error::ArtifactJson { .. }), "{err:?}");
        // In memory it is refused by the same check.
        let mut problems = Vec::new();
        nan.check_loaded(&mut problems);
        assert_eq!(
            problems,
            ["windows[0].baseline.kinds[\"bucket\"].scale[1] is NaN: expected a positive number"]
        );
    }

    #[test]
    fn an_artifact_whose_history_would_overflow_its_counts_is_refused() {
        let (_, _, mut v) = artifact();
        v["history"]["hours_seen"] = serde_json::json!(vec![u32::MAX; 168]);
        v["history"]["last_hour"] = serde_json::json!(i64::MIN);
        assert_eq!(
            refusal(&v),
            [
                "model.json: history.hours_seen[0] is 4294967295: expected at most 10000000 (weeks the hour went by) (retrain it with tierd train)",
                "model.json: history.last_hour is -9223372036854775808: expected hours since the epoch, -2562047788 to 2562047788 (retrain it with tierd train)",
            ]
            .join("\n")
        );
    }

    #[test]
    fn an_artifact_with_mismatched_kmeans_shares_or_window_lengths_is_refused() {
        let (_, _, mut v) = artifact();
        v["windows"][0]["kmeans"]["kinds"]["bucket"]["shares"] = serde_json::json!([1.0]);
        v["windows"][0]["window_secs"] = serde_json::json!(0);
        v["threshold"] = serde_json::json!(2.0);
        let err = refusal(&v);
        let centroids = v["windows"][0]["kmeans"]["kinds"]["bucket"]["centroids"]
            .as_array()
            .unwrap()
            .len();
        assert_eq!(
            err,
            [
                "model.json: threshold is 2: expected a score threshold, 0 to 1 (retrain it with tierd train)".to_owned(),
                "model.json: windows[0].window_secs is 0: expected 10 to 86400 seconds, each length once (retrain it with tierd train)".to_owned(),
                format!("model.json: windows[0].kmeans.kinds[\"bucket\"].shares has 1 value; the model has {centroids} centroids, one share each (retrain it with tierd train)"),
            ]
            .join("\n")
        );
    }

    /// Every array of `v` (by JSON pointer) and every number, depth first.
    fn leaves(
        v: &serde_json::Value,
        at: String,
        arrays: &mut Vec<String>,
        numbers: &mut Vec<String>,
    ) {
        match v {
            serde_json::Value::Array(a) => {
                arrays.push(at.clone());
                for (i, x) in a.iter().enumerate().take(1) {
                    leaves(x, format!("{at}/{i}"), arrays, numbers);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    let k = k.replace('~', "~0").replace('/', "~1");
                    leaves(x, format!("{at}/{k}"), arrays, numbers);
                }
            }
            serde_json::Value::Number(_) => numbers.push(at),
            _ => {}
        }
    }

    #[test]
    fn no_emptied_array_or_zeroed_number_of_an_artifact_makes_scoring_panic() {
        let (_, rows, v) = artifact();
        let (mut arrays, mut numbers) = (Vec::new(), Vec::new());
        leaves(&v, String::new(), &mut arrays, &mut numbers);
        assert!(arrays.len() > 100 && numbers.len() > 100);
        let mut refused = 0;
        let mutations = arrays
            .iter()
            .map(|p| (p, serde_json::json!([])))
            .chain(numbers.iter().map(|p| (p, serde_json::json!(0))));
        for (pointer, new) in mutations {
            let mut m = v.clone();
            *m.pointer_mut(pointer).unwrap() = new;
            match AnomalyModel::from_json(&m.to_string(), "model.json") {
                Ok(model) => {
                    // Scored without a panic, finite.
                    if let Ok(scores) = model.score_rows(&rows) {
                        assert!(scores.iter().all(|s| s.score.is_finite()), "{pointer}");
                    }
                }
                Err(_) => refused += 1,
            }
        }
        assert!(refused > 100, "{refused} refused");
    }

    #[test]
    fn the_tail_level_extrapolates_from_the_highest_days_and_grows_as_the_budget_shrinks() {
        let peaks = [5.0, 4.0, 3.5, 3.2, 3.1, 3.0, 2.9, 2.0];
        // base 3.0 (the sixth), mean excess of the five above it 0.76.
        let at = |expected: f64| tail_level(&peaks, expected);
        assert!((at(5.0) - 3.0).abs() < 1e-12);
        assert!((at(0.4) - (3.0 + 0.76 * 12.5f64.ln())).abs() < 1e-12);
        assert!(at(0.1) > at(0.4) && at(0.4) > at(1.0));
        // A zero budget is bounded (as if 0.01 alarms were allowed), not infinite.
        assert!(at(0.0).is_finite() && at(0.0) == at(0.01));
        assert_eq!(tail_level(&[2.0, 1.0], 0.4), 0.0);
    }
}
