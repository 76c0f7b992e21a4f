//! Anomaly detectors over subject-window features, the combined calibrated model, explanations
//! and versioned artifacts.
//!
//! # Layout
//! - [`Detector`]: the seam every detector implements (fit on rows, score rows; higher = more
//!   anomalous). One conformance suite (`models/tests/detectors.rs`) runs against every one.
//! - [`baseline::RobustBaseline`]: median and MAD of every log-scaled feature per subject and
//!   hour of the week (falling back to the subject, then to every subject of its kind); scores
//!   the largest upward deviation and explains it.
//! - [`kmeans::KMeansDetector`]: k-means (linfa) per subject kind on standardised log-scaled
//!   features; scores the distance to the nearest centroid that holds a real share of the data.
//! - [`model::AnomalyModel`]: both, per window length ([`model::WindowModel`]), normalised and
//!   combined into a score in [0, 1] on one scale for every length, a threshold calibrated to a
//!   false-alarm budget over all lengths, learning mode, explanations, and the JSON artifact.
//!
//! All features enter the detectors as `ln(1 + x)`: counts and bytes are heavy-tailed, and a
//! factor change matters more than a difference.

pub mod baseline;
pub mod kmeans;
pub mod model;

use serde::{Deserialize, Serialize};

use crate::Result;
use crate::features::{Subject, WindowFeatures, WindowFlags};

pub use baseline::RobustBaseline;
pub use kmeans::KMeansDetector;
pub use model::{
    AnomalyModel, CalibrationPeak, FORMAT_VERSION, MIN_FIT_DAYS, MIN_FIT_WINDOWS, ModelConfig,
    Normalisation, Scorer, TrainSummary, TrainingData, WindowModel,
};

/// A detector: fitted on subject-window rows, scores rows (higher = more anomalous, finite).
pub trait Detector: Sized {
    /// A short name for reports (`robust-baseline`, `kmeans`, `combined`).
    const NAME: &'static str;

    /// Fits on `rows`.
    ///
    /// # Errors
    /// [`crate::Error::EmptyInput`] without rows; a detector-specific error otherwise.
    fn fit(rows: &WindowFeatures, config: &ModelConfig) -> Result<Self>;

    /// One finite score per row, in row order.
    ///
    /// # Errors
    /// [`crate::Error::EmptyInput`] without rows.
    fn score(&self, rows: &WindowFeatures) -> Result<Vec<f64>>;
}

/// One feature's part in a score: what it was, what is usual, how far off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    /// Feature name (see [`crate::features::FEATURES`]).
    pub name: String,
    /// The window's value, in the feature's unit.
    pub value: f64,
    /// The subject's usual value (the median of its baseline at this hour of the week, or the
    /// fallback the baseline used), in the feature's unit.
    pub baseline: f64,
    /// How far off: robust standard deviations of `ln(1 + x)` above the baseline.
    pub deviation: f64,
}

impl std::fmt::Display for Contribution {
    /// `name=value (baseline B, D dev)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={} (baseline {:.1}, {:.1} dev)",
            self.name, self.value, self.baseline, self.deviation
        )
    }
}

/// The score of one subject in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectScore {
    pub subject: Subject,
    /// Window start, µs since the epoch (UTC).
    pub window_start_us: i64,
    /// Window length, seconds: the model scores every subject at each of its window lengths
    /// (the main one and, by default, a one-minute one).
    pub window_secs: i64,
    /// Anomaly score in [0, 1], on one scale for every window length.
    pub score: f64,
    /// The calibrated threshold.
    pub threshold: f64,
    /// `score > threshold`. While `learning`, no anomaly-driven action may follow.
    pub is_anomalous: bool,
    /// The window falls in the learning period.
    pub learning: bool,
    /// The features that drove the score, largest deviation first.
    pub top_features: Vec<Contribution>,
    /// The non-scored flags of the window (new principal, new IP, configuration changes).
    pub flags: WindowFlags,
}

/// `ln(1 + max(x, 0))`, the scale every detector works on.
pub fn log_scale(x: f64) -> f64 {
    if x.is_finite() {
        x.max(0.0).ln_1p()
    } else {
        0.0
    }
}

/// The median of a slice (sorted in place); 0 for an empty slice.
pub(crate) fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q` quantile (0..=1) of a slice (sorted in place), nearest rank; 0 for an empty slice.
pub(crate) fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q.clamp(0.0, 1.0)).round() as usize;
    v[i.min(v.len() - 1)]
}

/// Checks a loaded vector of per-feature numbers: `N_FEATURES` of them, each finite (and
/// positive when it is divided by). Adds at most one problem, naming `path` (the field's JSON
/// path in the artifact) and, for a bad value, its index.
pub(crate) fn check_per_feature(path: &str, v: &[f64], positive: bool, problems: &mut Vec<String>) {
    use crate::features::N_FEATURES;
    if v.len() != N_FEATURES {
        let values = if v.len() == 1 { "value" } else { "values" };
        problems.push(format!(
            "{path} has {} {values}; a model has {N_FEATURES}",
            v.len()
        ));
        return;
    }
    check_numbers(path, v, positive, problems);
}

/// Checks that every number of a loaded vector is finite (and positive when `positive`): adds
/// one problem for the first that is not, `path[i] is x: expected ...`.
pub(crate) fn check_numbers(path: &str, v: &[f64], positive: bool, problems: &mut Vec<String>) {
    if let Some((j, x)) = v
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_finite() || (positive && **x <= 0.0))
    {
        problems.push(check_number_message(&format!("{path}[{j}]"), *x, positive));
    }
}

/// `path is x: expected a positive number` (or `a finite number`).
pub(crate) fn check_number_message(path: &str, x: f64, positive: bool) -> String {
    let expected = if positive {
        "a positive number"
    } else {
        "a finite number"
    };
    format!("{path} is {x}: expected {expected}")
}

/// Row indices in a canonical order (subject, window, values), so that fitting does not depend
/// on the order rows were given in.
pub(crate) fn canonical_order(rows: &WindowFeatures) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    idx.sort_by(|&a, &b| {
        (&rows.subjects[a], rows.window_start_us[a])
            .cmp(&(&rows.subjects[b], rows.window_start_us[b]))
            .then_with(|| {
                rows.values[a]
                    .iter()
                    .zip(rows.values[b].iter())
                    .map(|(x, y)| x.total_cmp(y))
                    .find(|o| o.is_ne())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    });
    idx
}
