//! k-means (linfa) on standardised log-scaled features, one model per subject kind.

use std::collections::BTreeMap;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use super::{Detector, ModelConfig, canonical_order, check_per_feature, log_scale};
use crate::features::{FEATURES, N_FEATURES, SubjectKind, WindowFeatures};
use crate::{Error, Result};

/// The smallest standard deviation a feature is standardised with (on the log scale), so that a
/// feature constant in training does not blow up.
const MIN_STD: f64 = 0.25;

/// The k-means model of one subject kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindModel {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    pub centroids: Vec<Vec<f64>>,
    /// Share of the training rows assigned to each centroid (recounted from `predict`).
    pub shares: Vec<f64>,
}

impl KindModel {
    fn standardise(&self, v: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
        let mut z = [0.0; N_FEATURES];
        for j in 0..N_FEATURES {
            z[j] = FEATURES[j].weight * (log_scale(v[j]) - self.mean[j]) / self.std[j];
        }
        z
    }

    /// Distance to the nearest centroid holding at least `min_share` of the training rows (all
    /// centroids when none does).
    fn distance(&self, v: &[f64; N_FEATURES], min_share: f64) -> f64 {
        let z = self.standardise(v);
        let any_big = self.shares.iter().any(|&s| s >= min_share);
        self.centroids
            .iter()
            .zip(&self.shares)
            .filter(|(_, s)| !any_big || **s >= min_share)
            .map(|(c, _)| {
                c.iter()
                    .zip(z.iter())
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt()
            })
            .fold(f64::INFINITY, f64::min)
    }
}

/// Distance to the nearest well-populated k-means centroid, per subject kind.
///
/// Fitted on the training rows (in a canonical order, subsampled to `kmeans_max_rows` by a fixed
/// stride), standardised per feature on the `ln(1 + x)` scale. Only centroids holding at least
/// `min_cluster_share` of the rows are scored against, so that a compact burst in the training
/// data does not become a "normal" cluster of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeansDetector {
    pub min_share: f64,
    pub kinds: BTreeMap<SubjectKind, KindModel>,
}

fn fit_kind(rows: &WindowFeatures, idx: &[usize], config: &ModelConfig) -> Result<KindModel> {
    let stride = idx.len().div_ceil(config.kmeans_max_rows.max(1)).max(1);
    let sample: Vec<usize> = idx.iter().copied().step_by(stride).collect();
    let n = sample.len();
    let mut mean = vec![0.0; N_FEATURES];
    let mut std = vec![0.0; N_FEATURES];
    for &i in &sample {
        for (m, &x) in mean.iter_mut().zip(rows.values[i].iter()) {
            *m += log_scale(x);
        }
    }
    for m in mean.iter_mut() {
        *m /= n as f64;
    }
    for &i in &sample {
        for ((s, &m), &x) in std.iter_mut().zip(&mean).zip(rows.values[i].iter()) {
            let d = log_scale(x) - m;
            *s += d * d;
        }
    }
    for s in std.iter_mut() {
        *s = (*s / n as f64).sqrt().max(MIN_STD);
    }
    let mut model = KindModel {
        mean,
        std,
        centroids: Vec::new(),
        shares: Vec::new(),
    };
    let mut data = Vec::with_capacity(n * N_FEATURES);
    for &i in &sample {
        data.extend_from_slice(&model.standardise(&rows.values[i]));
    }
    let x = Array2::from_shape_vec((n, N_FEATURES), data)
        .map_err(|e| Error::Clustering(e.to_string()))?;
    let k = config.kmeans_clusters.clamp(1, n);
    let fitted = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(config.seed))
        .n_runs(3)
        .max_n_iterations(100)
        .tolerance(1e-4)
        .fit(&DatasetBase::from(x.clone()));
    match fitted {
        Ok(km) => {
            let labels = km.predict(&x);
            let mut counts = vec![0usize; km.centroids().nrows()];
            for &l in labels.iter() {
                if let Some(c) = counts.get_mut(l) {
                    *c += 1;
                }
            }
            model.centroids = km
                .centroids()
                .rows()
                .into_iter()
                .map(|r| r.to_vec())
                .collect();
            model.shares = counts.iter().map(|&c| c as f64 / n as f64).collect();
        }
        Err(e) if n <= k || k == 1 => {
            // Too few (or identical) rows to cluster: one centroid at the mean.
            let _ = e;
            model.centroids = vec![vec![0.0; N_FEATURES]];
            model.shares = vec![1.0];
        }
        Err(e) => return Err(Error::Clustering(e.to_string())),
    }
    Ok(model)
}

impl Detector for KMeansDetector {
    const NAME: &'static str = "kmeans";

    fn fit(rows: &WindowFeatures, config: &ModelConfig) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::EmptyInput(Self::NAME));
        }
        let mut by_kind: BTreeMap<SubjectKind, Vec<usize>> = BTreeMap::new();
        for i in canonical_order(rows) {
            by_kind.entry(rows.subjects[i].kind).or_default().push(i);
        }
        let mut kinds = BTreeMap::new();
        for (kind, idx) in by_kind {
            kinds.insert(kind, fit_kind(rows, &idx, config)?);
        }
        Ok(KMeansDetector {
            min_share: config.min_cluster_share,
            kinds,
        })
    }

    fn score(&self, rows: &WindowFeatures) -> Result<Vec<f64>> {
        if rows.is_empty() {
            return Err(Error::EmptyInput(Self::NAME));
        }
        Ok((0..rows.len())
            .map(|i| self.distance(rows.subjects[i].kind, &rows.values[i]))
            .collect())
    }
}

impl KindModel {
    /// Checks one kind's model read from an artifact (see [`KMeansDetector::check_loaded`]).
    fn check_loaded(&self, path: &str, problems: &mut Vec<String>) {
        check_per_feature(&format!("{path}.mean"), &self.mean, false, problems);
        check_per_feature(&format!("{path}.std"), &self.std, true, problems);
        if self.centroids.is_empty() {
            problems.push(format!(
                "{path}.centroids is empty: a model has at least one centroid"
            ));
        }
        for (c, centroid) in self.centroids.iter().enumerate() {
            check_per_feature(&format!("{path}.centroids[{c}]"), centroid, false, problems);
        }
        if self.shares.len() != self.centroids.len() {
            problems.push(format!(
                "{path}.shares has {} {}; the model has {} centroids, one share each",
                self.shares.len(),
                if self.shares.len() == 1 {
                    "value"
                } else {
                    "values"
                },
                self.centroids.len()
            ));
        } else if let Some((c, x)) = self
            .shares
            .iter()
            .enumerate()
            .find(|(_, x)| !(0.0..=1.0).contains(*x))
        {
            problems.push(format!(
                "{path}.shares[{c}] is {x}: expected a share of the training rows, 0 to 1"
            ));
        }
    }
}

impl KMeansDetector {
    /// Checks a k-means detector read from an artifact: every kind's mean, standard deviations
    /// (divided by, so positive) and centroids have one value per feature, and there is one
    /// share per centroid. Adds one problem per bad field, each starting with its JSON path
    /// under `path` (`windows[0].kmeans`).
    pub(crate) fn check_loaded(&self, path: &str, problems: &mut Vec<String>) {
        if !(0.0..1.0).contains(&self.min_share) {
            problems.push(format!(
                "{path}.min_share is {}: expected 0 to below 1",
                self.min_share
            ));
        }
        if self.kinds.is_empty() {
            problems.push(format!(
                "{path}.kinds is empty: a model has one k-means model per subject kind it saw"
            ));
        }
        for (kind, m) in &self.kinds {
            let key = serde_json::to_string(kind).unwrap_or_default();
            m.check_loaded(&format!("{path}.kinds[{key}]"), problems);
        }
    }

    /// The raw score of one row: distance to the nearest well-populated centroid of its kind's
    /// model (the largest kind's model for a kind not seen in training).
    pub fn distance(&self, kind: SubjectKind, values: &[f64; N_FEATURES]) -> f64 {
        let model = self.kinds.get(&kind).or_else(|| self.kinds.values().next());
        let d = model.map_or(0.0, |m| m.distance(values, self.min_share));
        if d.is_finite() { d } else { 0.0 }
    }
}
