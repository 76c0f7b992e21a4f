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
        rows: WindowFeatures,
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
        Ok(ModelState::Learning {
            config,
            rows: WindowFeatures::default(),
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
                let rows = features::extract(events, history, &model.config.features)?;
                if rows.is_empty() {
                    return Ok(Vec::new());
                }
                model.score_rows(&rows)
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
                rows.extend(features::extract(
                    &events[..split],
                    history,
                    &config.features,
                )?);
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
                let fitted = AnomalyModel::fit_rows(rows, h.clone(), &fit_config);
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
