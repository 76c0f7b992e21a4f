//! The robust per-feature baseline: median and MAD per subject and hour of the week.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Contribution, Detector, ModelConfig, check_per_feature, log_scale, median};
use crate::features::{
    FEATURES, N_FAMILIES, N_FEATURES, Subject, SubjectKind, WindowFeatures, hour_of_week,
};
use crate::{Error, Result};

/// Median and scale of every feature (on the `ln(1 + x)` scale) over some rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Rows the statistics were computed from.
    pub n: u32,
    pub median: Vec<f64>,
    /// `max(1.4826 x MAD, floor)`: a robust standard deviation that is never zero.
    pub scale: Vec<f64>,
}

/// One subject's statistics: overall, and per hour of the week where it has enough rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectBaseline {
    pub overall: Stats,
    /// Hour of the week (0 = Monday 00:00 UTC) → statistics of the subject's windows in it.
    pub by_hour: BTreeMap<u16, Stats>,
}

/// Median/MAD baseline per subject and hour of the week, falling back to the subject's overall
/// statistics when an hour has fewer than `min_rows` windows, and to all subjects of its kind
/// for a subject with fewer than `min_rows` windows (or none: a new subject).
///
/// Each feature's deviation is `z_f = (ln(1 + x_f) - median_f) / scale_f` (robust standard
/// deviations). Features differ in how far they stray in normal traffic (the bytes of a
/// person's sparse uploads jump by orders of magnitude; a configuration change by a principal
/// who never made one does not happen at all), so each deviation is divided by that feature's
/// `feature_quantile` quantile of deviation over the training rows (at least
/// `feature_scale_floor`) and weighted ([`crate::features::FeatureInfo::weight`]):
/// `u_f = w_f z_f / q_f`, where 1 (at weight 1) means "as far off as the training period's
/// extremes". The raw score is the sum of the `top_k` largest positive `u_f`, at most one per
/// feature family ([`crate::features::FeatureInfo::family`]): an attack usually moves several
/// independent facts at once (new IP, new user agent, overwrites, volume), a benign burst one
/// (volume, which moves requests, keys and bytes together).
/// Falls in activity are not scored: a quiet subject is not a threat to the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustBaseline {
    pub min_rows: usize,
    /// Per feature: the training quantile of its deviation the deviation is divided by.
    pub feature_scale: Vec<f64>,
    /// How many of the largest normalised deviations are summed.
    pub top_k: usize,
    pub kinds: BTreeMap<SubjectKind, Stats>,
    /// Keyed by the subject's display form (`principal:...`, `bucket:...`).
    pub subjects: BTreeMap<String, SubjectBaseline>,
}

fn floor(j: usize, config: &ModelConfig) -> f64 {
    if FEATURES[j].rare {
        config.rare_floor
    } else if FEATURES[j].unit == "bytes" {
        config.bytes_floor
    } else {
        config.volume_floor
    }
}

fn stats<'a>(
    rows: impl Iterator<Item = &'a [f64; N_FEATURES]> + Clone,
    config: &ModelConfig,
) -> Stats {
    let logged: Vec<[f64; N_FEATURES]> = rows.map(|v| v.map(log_scale)).collect();
    let mut med = vec![0.0; N_FEATURES];
    let mut scale = vec![0.0; N_FEATURES];
    let mut col = Vec::with_capacity(logged.len());
    for j in 0..N_FEATURES {
        col.clear();
        col.extend(logged.iter().map(|v| v[j]));
        let m = median(&mut col);
        for x in col.iter_mut() {
            *x = (*x - m).abs();
        }
        let mad = median(&mut col);
        med[j] = m;
        scale[j] = (1.4826 * mad).max(floor(j, config));
    }
    Stats {
        n: logged.len() as u32,
        median: med,
        scale,
    }
}

impl Stats {
    /// Checks loaded statistics (see [`RobustBaseline::check_loaded`]): `N_FEATURES` finite
    /// medians and as many positive scales (deviations are divided by them).
    fn check_loaded(&self, path: &str, problems: &mut Vec<String>) {
        check_per_feature(&format!("{path}.median"), &self.median, false, problems);
        check_per_feature(&format!("{path}.scale"), &self.scale, true, problems);
    }
}

/// The hours of a week: `by_hour` keys are below this.
const HOURS_PER_WEEK: u16 = 168;

impl RobustBaseline {
    /// Checks a baseline read from an artifact: every vector scoring indexes has one value per
    /// feature, every divisor is positive, `by_hour` keys are hours of the week. Adds one problem
    /// per bad field, each starting with its JSON path under `path` (`windows[0].baseline`).
    pub(crate) fn check_loaded(&self, path: &str, problems: &mut Vec<String>) {
        if self.min_rows == 0 {
            problems.push(format!("{path}.min_rows is 0: expected 1 or more"));
        }
        if !(1..=N_FEATURES).contains(&self.top_k) {
            problems.push(format!(
                "{path}.top_k is {}: expected 1 to {N_FEATURES}",
                self.top_k
            ));
        }
        check_per_feature(
            &format!("{path}.feature_scale"),
            &self.feature_scale,
            true,
            problems,
        );
        for (kind, s) in &self.kinds {
            let key = serde_json::to_string(kind).unwrap_or_default();
            s.check_loaded(&format!("{path}.kinds[{key}]"), problems);
        }
        for (name, b) in &self.subjects {
            let key = serde_json::to_string(name).unwrap_or_default();
            let at = format!("{path}.subjects[{key}]");
            b.overall.check_loaded(&format!("{at}.overall"), problems);
            for (hour, s) in &b.by_hour {
                let at = format!("{at}.by_hour[\"{hour}\"]");
                if *hour >= HOURS_PER_WEEK {
                    problems.push(format!(
                        "{at}: {hour} is not an hour of the week: expected 0 to {}",
                        HOURS_PER_WEEK - 1
                    ));
                }
                s.check_loaded(&at, problems);
            }
        }
    }

    /// The statistics a row of `subject` in window `window_start_us` is judged against.
    pub fn stats_for(&self, subject: &Subject, window_start_us: i64) -> Option<&Stats> {
        let min = self.min_rows as u32;
        if let Some(s) = self.subjects.get(&subject.to_string()) {
            let how = hour_of_week(window_start_us) as u16;
            if let Some(h) = s.by_hour.get(&how).filter(|h| h.n >= min) {
                return Some(h);
            }
            if s.overall.n >= min {
                return Some(&s.overall);
            }
        }
        self.kinds.get(&subject.kind)
    }

    /// Per-feature deviations of one row: (feature index, deviation, baseline median in the
    /// feature's unit). Empty when the baseline has no statistics for the row's kind.
    pub fn deviations(
        &self,
        subject: &Subject,
        window_start_us: i64,
        values: &[f64; N_FEATURES],
    ) -> Vec<(usize, f64, f64)> {
        let Some(s) = self.stats_for(subject, window_start_us) else {
            return Vec::new();
        };
        (0..N_FEATURES)
            .map(|j| {
                let z = (log_scale(values[j]) - s.median[j]) / s.scale[j];
                (j, if z.is_finite() { z } else { 0.0 }, s.median[j].exp_m1())
            })
            .collect()
    }

    /// The raw score of one row and its `top` largest contributions (by normalised deviation).
    pub fn explain(
        &self,
        subject: &Subject,
        window_start_us: i64,
        values: &[f64; N_FEATURES],
        top: usize,
    ) -> (f64, Vec<Contribution>) {
        let mut d: Vec<(usize, f64, f64, f64)> = self
            .deviations(subject, window_start_us, values)
            .into_iter()
            .map(|(j, z, base)| {
                (
                    j,
                    z,
                    base,
                    FEATURES[j].weight * z / self.feature_scale.get(j).copied().unwrap_or(1.0),
                )
            })
            .collect();
        d.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(&b.0)));
        // The sum of the top_k largest, at most one per family: features that measure the same
        // fact (a burst of uploads moves ops_put, bytes_in and distinct_keys together) count once.
        let mut families_used = [false; N_FAMILIES];
        let mut raw = 0.0;
        let mut taken = 0;
        for x in &d {
            if taken == self.top_k {
                break;
            }
            let fam = FEATURES[x.0].family as usize;
            if families_used[fam] {
                continue;
            }
            families_used[fam] = true;
            raw += x.3.max(0.0);
            taken += 1;
        }
        let contributions = d
            .into_iter()
            .filter(|x| x.1 > 0.0)
            .take(top)
            .map(|(j, z, base, _)| Contribution {
                name: FEATURES[j].name.to_owned(),
                value: values[j],
                baseline: base,
                deviation: z,
            })
            .collect();
        (raw, contributions)
    }
}

impl Detector for RobustBaseline {
    const NAME: &'static str = "robust-baseline";

    fn fit(rows: &WindowFeatures, config: &ModelConfig) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::EmptyInput(Self::NAME));
        }
        let mut by_subject: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_kind: BTreeMap<SubjectKind, Vec<usize>> = BTreeMap::new();
        for (i, s) in rows.subjects.iter().enumerate() {
            by_subject.entry(s.to_string()).or_default().push(i);
            by_kind.entry(s.kind).or_default().push(i);
        }
        let kinds = by_kind
            .into_iter()
            .map(|(k, idx)| (k, stats(idx.iter().map(|&i| &rows.values[i]), config)))
            .collect();
        let mut subjects = BTreeMap::new();
        for (name, idx) in by_subject {
            let overall = stats(idx.iter().map(|&i| &rows.values[i]), config);
            let mut hours: BTreeMap<u16, Vec<usize>> = BTreeMap::new();
            for &i in &idx {
                hours
                    .entry(hour_of_week(rows.window_start_us[i]) as u16)
                    .or_default()
                    .push(i);
            }
            let by_hour = hours
                .into_iter()
                .filter(|(_, v)| v.len() >= config.min_rows)
                .map(|(h, v)| (h, stats(v.iter().map(|&i| &rows.values[i]), config)))
                .collect();
            subjects.insert(name, SubjectBaseline { overall, by_hour });
        }
        let mut model = RobustBaseline {
            min_rows: config.min_rows,
            feature_scale: vec![1.0; N_FEATURES],
            top_k: config.top_k,
            kinds,
            subjects,
        };
        // How far each feature strays over the training rows.
        let mut z: Vec<Vec<f64>> = (0..N_FEATURES)
            .map(|_| Vec::with_capacity(rows.len()))
            .collect();
        for i in 0..rows.len() {
            for (j, d, _) in
                model.deviations(&rows.subjects[i], rows.window_start_us[i], &rows.values[i])
            {
                z[j].push(d);
            }
        }
        model.feature_scale = z
            .iter_mut()
            .map(|col| {
                super::quantile(col, config.feature_quantile).max(config.feature_scale_floor)
            })
            .collect();
        Ok(model)
    }

    fn score(&self, rows: &WindowFeatures) -> Result<Vec<f64>> {
        if rows.is_empty() {
            return Err(Error::EmptyInput(Self::NAME));
        }
        Ok((0..rows.len())
            .map(|i| {
                self.explain(
                    &rows.subjects[i],
                    rows.window_start_us[i],
                    &rows.values[i],
                    0,
                )
                .0
            })
            .collect())
    }
}
