//! The behaviour model during a replay (and in the service): a trained artifact when the
//! configuration names one, otherwise learned from the first `model.learning_days` of the logs
//! themselves, then scoring every window that follows.

use models::AccessEvent;
use models::detect::{AnomalyModel, ModelConfig, SubjectScore};
use models::features::{self, History, WindowFeatures};

use crate::config::ModelSettings;

/// Where the model is in its life.
#[derive(Debug)]
pub enum ModelState {
    /// Collecting feature rows until `until_us`, then fitting.
    Learning {
        config: ModelConfig,
        /// Feature rows per window length (`config.window_lengths()` order).
        rows: Vec<WindowFeatures>,
        history: History,
        until_us: Option<i64>,
    },
    /// Scoring.
    Active {
        model: Box<AnomalyModel>,
        history: History,
        name: String,
    },
    /// Fitting failed (too little data, say): no anomaly scores, with the reason.
    Off(String),
}

impl ModelState {
    /// A model from the settings: loads the artifact if one is named.
    ///
    /// # Errors
    /// An artifact that cannot be read or does not fit this build; invalid settings.
    pub fn new(s: &ModelSettings) -> anyhow::Result<ModelState> {
        if let Some(path) = &s.path {
            let model = AnomalyModel::load(path)?;
            let mut history = model.history.without_live_state();
            history.freeze();
            return Ok(ModelState::Active {
                name: format!("{} (trained)", path.display()),
                model: Box::new(model),
                history,
            });
        }
        let config = ModelConfig {
            learning_days: s.learning_days,
            features: features::FeatureConfig {
                window_secs: s.window_secs as i64,
                ..features::FeatureConfig::default()
            },
            ..ModelConfig::default()
        };
        config.check()?;
        let lengths = config.window_lengths().len();
        Ok(ModelState::Learning {
            config,
            rows: vec![WindowFeatures::default(); lengths],
            history: History::new(),
            until_us: None,
        })
    }

    /// A short description for decision records and summaries.
    pub fn describe(&self) -> String {
        match self {
            ModelState::Learning { config, .. } => format!(
                "combined (learning the first {} days of the logs)",
                config.learning_days
            ),
            ModelState::Active { name, .. } => name.clone(),
            ModelState::Off(why) => format!("off: {why}"),
        }
    }

    /// Takes one window's events; returns the scores of its subjects (none while learning).
    ///
    /// # Errors
    /// A polars error while extracting features.
    pub fn window(&mut self, events: &[AccessEvent]) -> models::Result<Vec<SubjectScore>> {
        match self {
            ModelState::Off(_) => Ok(Vec::new()),
            ModelState::Active { model, history, .. } => {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                // Every window length the model was fitted for (a short one catches fast bursts).
                let lengths = model.window_lengths();
                let rows =
                    features::extract_windows(events, history, &model.config.features, &lengths)?;
                let mut out = Vec::new();
                for r in rows.iter().filter(|r| !r.is_empty()) {
                    out.extend(model.score_rows(r)?);
                }
                Ok(out)
            }
            ModelState::Learning {
                config,
                rows,
                history,
                until_us,
            } => {
                let Some(first) = events.first() else {
                    return Ok(Vec::new());
                };
                let until = *until_us
                    .get_or_insert(first.time_us + (config.learning_days * 86_400e6) as i64);
                // Events of the learning period are learnt from; a batch that runs past its end
                // (a backlog) is split there, and its rest is scored by the fitted model.
                let split = events.partition_point(|e| e.time_us < until);
                let lengths = config.window_lengths();
                let new = features::extract_windows(
                    &events[..split],
                    history,
                    &config.features,
                    &lengths,
                )?;
                for (all, more) in rows.iter_mut().zip(new) {
                    all.extend(more);
                }
                if split == events.len() && events.last().is_none_or(|e| e.time_us < until) {
                    return Ok(Vec::new());
                }
                let rest = &events[split..];
                let mut h = std::mem::take(history);
                // The first day (a quarter of shorter periods) warms the baseline up: at first
                // every principal, IP and key is new. The model is fitted and calibrated on the rest.
                let fit_config = ModelConfig {
                    learning_days: (config.learning_days / 4.0).min(1.0),
                    ..config.clone()
                };
                let fitted = AnomalyModel::fit_windows(rows, h.clone(), &fit_config);
                *self = match fitted {
                    Ok(mut model) => {
                        h.freeze();
                        model.history.freeze();
                        ModelState::Active {
                            name: format!(
                                "combined (learned from the first {} days of the logs)",
                                config.learning_days
                            ),
                            model: Box::new(model),
                            history: h,
                        }
                    }
                    Err(e) => ModelState::Off(format!("the model could not be fitted: {e}")),
                };
                self.window(rest)
            }
        }
    }
}
