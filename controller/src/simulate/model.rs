//! The behaviour model during a replay (and in the service): a trained artifact when the
//! configuration names one, otherwise learned from the first `model.learning_days` of the logs
//! themselves, then scoring every window that follows. A model is never fitted on less than
//! [`models::detect::MIN_FIT_WINDOWS`] windows with events on [`models::detect::MIN_FIT_DAYS`]
//! days (nor on windows that all look the same): when the learning period ends short of that, the
//! model keeps learning from every event, says why in its status, and scores nothing until a fit
//! succeeds. `simulate` and the service share this code, so both behave the same.
//!
//! With `model.retrain_every`, the model is refitted on a schedule (in event time, so `simulate`
//! retrains exactly as the service would): a second, learning baseline follows the same events
//! (new principals, addresses and habits become known), the feature rows of the last
//! `learning_days` (or of as long as the model in use was fitted on, if longer) that the model in
//! use did not find anomalous are kept (at most [`RETRAIN_MAX_ROWS`] per window length, the
//! newest), and at each due time a new model is fitted and calibrated on them and replaces the
//! old one. An attack's windows never become normal. A model is never replaced by one fitted on
//! a shorter span of logs than its own (a month-trained artifact by one fitted on a day, whose
//! threshold is set by a day's bursts): until the kept rows cover that span (or reach the row
//! limit), a due refit waits and the model in use stays.

use std::collections::{BTreeMap, HashSet};

use models::AccessEvent;
use models::detect::{AnomalyModel, ModelConfig, SubjectScore, TrainingData};
use models::features::{self, History, WindowFeatures};

use crate::config::ModelSettings;

/// At most this many feature rows per window length are kept for a refit (the newest): about
/// 100 MB at the two default lengths, whatever the traffic.
pub const RETRAIN_MAX_ROWS: usize = 200_000;

/// What a scheduled refit needs.
#[derive(Debug)]
pub struct Retrain {
    every_us: i64,
    keep_us: i64,
    /// The span of logs the model in use was fitted on (µs): a refit on a shorter one waits.
    fitted_us: i64,
    /// Event time of the next refit; set by the first scored window.
    next_us: Option<i64>,
    /// The learning baseline (never frozen).
    history: History,
    /// Kept rows per window length, in the model's `window_lengths()` order.
    rows: Vec<WindowFeatures>,
    /// Refits done.
    pub fits: u32,
}

impl Retrain {
    fn new(
        every_secs: u64,
        learning_days: f64,
        mut history: History,
        model: &AnomalyModel,
    ) -> Retrain {
        history.unfreeze();
        let fitted_us = fitted_span_us(model);
        Retrain {
            every_us: every_secs as i64 * 1_000_000,
            keep_us: ((learning_days.max(1.0) * 86_400e6) as i64).max(fitted_us),
            fitted_us,
            next_us: None,
            history,
            rows: vec![WindowFeatures::default(); model.window_lengths().len()],
            fits: 0,
        }
    }

    /// Whether the kept rows are enough to replace the model in use: they cover the span it was
    /// fitted on, or as many rows as are kept. Otherwise, what they cover against that span.
    fn short_of_span(&self) -> Option<String> {
        let main = self.rows.first()?;
        let (Some(first), Some(last)) = (main.window_start_us.first(), main.window_start_us.last())
        else {
            return Some("no rows yet".into());
        };
        let covered = last - first + main.window_secs * 1_000_000;
        if covered >= self.fitted_us || main.len() >= RETRAIN_MAX_ROWS {
            return None;
        }
        let days = |us: i64| us as f64 / 86_400e6;
        Some(format!(
            "the recent logs kept cover {:.1} days of the {:.1} the model in use was fitted on",
            days(covered),
            days(self.fitted_us)
        ))
    }

    /// Takes a pass's events: the learning baseline's rows, minus the windows `flagged` as
    /// anomalous by the model in use, are kept.
    fn learn(
        &mut self,
        events: &[AccessEvent],
        config: &ModelConfig,
        lengths: &[i64],
        flagged: &HashSet<(String, i64, i64)>,
    ) -> models::Result<()> {
        let rows = features::extract_windows(events, &mut self.history, &config.features, lengths)?;
        for (kept, new) in self.rows.iter_mut().zip(rows) {
            let secs = new.window_secs;
            let keep: Vec<usize> = (0..new.len())
                .filter(|&i| {
                    !flagged.contains(&(new.subjects[i].to_string(), new.window_start_us[i], secs))
                })
                .collect();
            kept.window_secs = secs;
            for i in keep {
                kept.subjects.push(new.subjects[i].clone());
                kept.window_start_us.push(new.window_start_us[i]);
                kept.values.push(new.values[i]);
                kept.flags.push(new.flags[i].clone());
            }
        }
        // The last `learning_days`, and at most RETRAIN_MAX_ROWS rows, per length.
        let newest = self
            .rows
            .iter()
            .flat_map(|r| r.window_start_us.last().copied())
            .max()
            .unwrap_or(0);
        for r in &mut self.rows {
            let old = r
                .window_start_us
                .partition_point(|&w| w < newest - self.keep_us);
            let drop = old.max(r.len().saturating_sub(RETRAIN_MAX_ROWS));
            if drop > 0 {
                r.subjects.drain(..drop);
                r.window_start_us.drain(..drop);
                r.values.drain(..drop);
                r.flags.drain(..drop);
            }
        }
        Ok(())
    }
}

/// Buckets the model in use has no baseline for (created after it was trained): each is learned
/// like a new model's logs, for the model's `learning_days` from its first event, and its
/// windows are scored as `learning` meanwhile (they open no incident). Without this, every
/// principal, address and extension of such a bucket is "new" for ever.
#[derive(Debug, Default)]
pub struct NewBuckets {
    learning_us: i64,
    /// Bucket → end of its learning (event time, µs).
    until: BTreeMap<String, i64>,
    /// Buckets looked at already: known to the model, learning or done learning (each is
    /// looked up and warned about once).
    seen: HashSet<String>,
    /// Warnings not yet taken ([`ModelState::take_notices`]).
    notices: Vec<String>,
}

impl NewBuckets {
    fn new(learning_days: f64) -> NewBuckets {
        NewBuckets {
            learning_us: (learning_days * 86_400e6) as i64,
            ..NewBuckets::default()
        }
    }

    /// Looks at a batch: a bucket the model does not know starts learning (with a warning);
    /// one whose learning period ended before the batch stops.
    fn see(&mut self, events: &[AccessEvent], model: &AnomalyModel, history: &mut History) {
        let Some(first) = events.first() else {
            return;
        };
        let done: Vec<String> = self
            .until
            .iter()
            .filter(|&(_, &u)| u <= first.time_us)
            .map(|(b, _)| b.clone())
            .collect();
        for b in done {
            self.until.remove(&b);
            history.stop_learning_bucket(&b);
        }
        let mut last: Option<&str> = None;
        for e in events {
            let b = e.bucket.as_str();
            if b.is_empty() || last == Some(b) {
                continue;
            }
            last = Some(b);
            if self.seen.contains(b) {
                continue;
            }
            self.seen.insert(b.to_string());
            if history.knows_bucket(b) {
                continue;
            }
            let until = e.time_us.saturating_add(self.learning_us);
            let fmt = |us: i64| policies::facts::format_utc(us.div_euclid(1_000_000));
            let notice = format!(
                "bucket {b} is not known to the model (trained on {} to {}); learning it until {}",
                fmt(model.trained_from_us),
                fmt(model.trained_to_us),
                fmt(until)
            );
            tracing::warn!(target: "tierd::model", bucket = b, "{notice}");
            self.notices.push(notice);
            history.learn_bucket(b);
            self.until.insert(b.to_string(), until);
        }
    }

    /// Marks the scores of buckets still learning as `learning`.
    fn mark(&self, scores: &mut [SubjectScore]) {
        for s in scores {
            let learning = s.subject.bucket.as_deref().and_then(|b| self.until.get(b));
            if learning.is_some_and(|&u| s.window_start_us < u) {
                s.learning = true;
            }
        }
    }
}

/// Why a model whose learning period is over still learns, and when it tries to fit again.
#[derive(Debug, Clone)]
pub struct Short {
    /// What the model has learnt from against what it needs (for the status).
    why: String,
    /// Event time (µs) from which the next batch tries a fit again: the next batch while windows
    /// or days are missing (counting is cheap), a day later when a fit found the data too
    /// uniform (fitting is not).
    retry_us: i64,
}

/// Where the model is in its life.
#[derive(Debug)]
pub enum ModelState {
    /// Collecting feature rows until `until_us`, then fitting; past `until_us`, still collecting
    /// (every event) while the rows are too few to fit on (`short`).
    Learning {
        config: ModelConfig,
        /// Feature rows per window length (`config.window_lengths()` order).
        rows: Vec<WindowFeatures>,
        history: History,
        until_us: Option<i64>,
        /// `model.retrain_every`, seconds, for the model fitted at the end.
        retrain_every: Option<u64>,
        /// Why the learning period is over and the model still learns (too little data, or
        /// data too uniform to calibrate a threshold on), and the event time of the next try.
        short: Option<Box<Short>>,
    },
    /// Scoring.
    Active {
        model: Box<AnomalyModel>,
        history: History,
        name: String,
        /// Scheduled refits; `None` without `model.retrain_every`.
        retrain: Option<Box<Retrain>>,
        /// Buckets the model was not trained on, learning.
        new_buckets: NewBuckets,
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
            let retrain = s.retrain_every_secs.map(|every| {
                Box::new(Retrain::new(
                    every,
                    s.learning_days,
                    history.clone(),
                    &model,
                ))
            });
            return Ok(ModelState::Active {
                name: format!("{} (trained)", path.display()),
                new_buckets: NewBuckets::new(model.config.learning_days),
                model: Box::new(model),
                history,
                retrain,
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
            retrain_every: s.retrain_every_secs,
            short: None,
        })
    }

    /// End of the data the model in use was fitted on (unix seconds): its age is measured from
    /// there. `None` before a model is fitted.
    pub fn trained_to_secs(&self) -> Option<i64> {
        match self {
            ModelState::Active { model, .. } => Some(model.trained_to_us.div_euclid(1_000_000)),
            _ => None,
        }
    }

    /// Scheduled refits done so far.
    pub fn refits(&self) -> u32 {
        match self {
            ModelState::Active {
                retrain: Some(r), ..
            } => r.fits,
            _ => 0,
        }
    }

    /// Warnings since the last call (a bucket the model does not know), each once.
    pub fn take_notices(&mut self) -> Vec<String> {
        match self {
            ModelState::Active { new_buckets, .. } => std::mem::take(&mut new_buckets.notices),
            _ => Vec::new(),
        }
    }

    /// A short description for decision records and summaries.
    pub fn describe(&self) -> String {
        match self {
            ModelState::Learning {
                config,
                short: None,
                ..
            } => format!(
                "combined (learning the first {} days of the logs)",
                config.learning_days
            ),
            ModelState::Learning {
                config,
                short: Some(short),
                ..
            } => format!(
                "combined (still learning after the first {} days of the logs: {}; no anomaly scores until then)",
                config.learning_days, short.why
            ),
            ModelState::Active { name, .. } => name.clone(),
            ModelState::Off(why) => format!("off: {why}"),
        }
    }

    /// Takes one window's events; returns the scores of its subjects (none while learning,
    /// including while the learning period is over but the data is too little to fit on).
    ///
    /// # Errors
    /// A polars error while extracting features.
    pub fn window(&mut self, events: &[AccessEvent]) -> models::Result<Vec<SubjectScore>> {
        match self {
            ModelState::Off(_) => Ok(Vec::new()),
            ModelState::Active {
                model,
                history,
                name,
                retrain,
                new_buckets,
            } => {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                new_buckets.see(events, model, history);
                // Every window length the model was fitted for (a short one catches fast bursts).
                let lengths = model.window_lengths();
                let rows =
                    features::extract_windows(events, history, &model.config.features, &lengths)?;
                let mut out = Vec::new();
                for r in rows.iter().filter(|r| !r.is_empty()) {
                    out.extend(model.score_rows(r)?);
                }
                new_buckets.mark(&mut out);
                if let Some(rt) = retrain {
                    // A learning bucket's windows are its baseline: kept for the refit.
                    let flagged: HashSet<(String, i64, i64)> = out
                        .iter()
                        .filter(|s| s.is_anomalous && !s.learning)
                        .map(|s| (s.subject.to_string(), s.window_start_us, s.window_secs))
                        .collect();
                    rt.learn(events, &model.config, &lengths, &flagged)?;
                    let last = events.last().map_or(0, |e| e.time_us);
                    let due = *rt.next_us.get_or_insert(last + rt.every_us);
                    if last >= due {
                        rt.next_us = Some(last + rt.every_us);
                        refit(model, history, name, rt, last);
                    }
                }
                Ok(out)
            }
            ModelState::Learning {
                config,
                rows,
                history,
                until_us,
                retrain_every,
                short,
            } => {
                let (Some(first), Some(last)) = (events.first(), events.last()) else {
                    return Ok(Vec::new());
                };
                let last = last.time_us;
                let until = *until_us.get_or_insert(
                    first
                        .time_us
                        .saturating_add((config.learning_days * 86_400e6) as i64),
                );
                // Events of the learning period are learnt from; a batch that runs past its end
                // (a backlog) is split there, and its rest is scored by the fitted model. Once
                // the period is over without enough data, every event is learnt from.
                let split = if short.is_some() {
                    events.len()
                } else {
                    events.partition_point(|e| e.time_us < until)
                };
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
                if last < until || short.as_ref().is_some_and(|s| last < s.retry_us) {
                    return Ok(Vec::new());
                }
                // Too few windows or days to calibrate a threshold on: keep learning (the rest
                // of the batch too) rather than score with a fallback threshold.
                let data = TrainingData::of(rows);
                let fitted = if data.is_enough() {
                    // The first day (a quarter of shorter periods) warms the baseline up: at
                    // first every principal, IP and key is new. The model is fitted and
                    // calibrated on the rest.
                    let fit_config = ModelConfig {
                        learning_days: (config.learning_days / 4.0).min(1.0),
                        ..config.clone()
                    };
                    AnomalyModel::fit_windows(rows, history.clone(), &fit_config)
                } else {
                    Err(models::Error::NotEnoughData(format!(
                        "it has learnt from {}",
                        data.shortfall()
                    )))
                };
                let rest = &events[split..];
                match fitted {
                    Err(models::Error::NotEnoughData(why)) => {
                        let new =
                            features::extract_windows(rest, history, &config.features, &lengths)?;
                        for (all, more) in rows.iter_mut().zip(new) {
                            all.extend(more);
                        }
                        // Counting again is cheap; fitting again waits for a day more of logs.
                        let (why, retry_us) = if data.is_enough() {
                            (why, last.saturating_add(86_400_000_000))
                        } else {
                            let now = TrainingData::of(rows);
                            (format!("it has learnt from {}", now.shortfall()), last)
                        };
                        *short = Some(Box::new(Short { why, retry_us }));
                        return Ok(Vec::new());
                    }
                    fitted => {
                        let mut h = std::mem::take(history);
                        *self = match fitted {
                            Ok(mut model) => {
                                let retrain = retrain_every.map(|every| {
                                    Box::new(Retrain::new(
                                        every,
                                        config.learning_days,
                                        h.clone(),
                                        &model,
                                    ))
                                });
                                h.freeze();
                                model.history.freeze();
                                let name = if short.is_some() {
                                    format!(
                                        "combined (learned from the logs up to {}; their first {} days were too little)",
                                        policies::facts::format_utc(last.div_euclid(1_000_000)),
                                        config.learning_days
                                    )
                                } else {
                                    format!(
                                        "combined (learned from the first {} days of the logs)",
                                        config.learning_days
                                    )
                                };
                                ModelState::Active {
                                    name,
                                    model: Box::new(model),
                                    history: h,
                                    retrain,
                                    new_buckets: NewBuckets::new(config.learning_days),
                                }
                            }
                            Err(e) => {
                                ModelState::Off(format!("the model could not be fitted: {e}"))
                            }
                        };
                    }
                }
                self.window(rest)
            }
        }
    }
}

/// The span of logs a model was fitted on (µs): its windows after its learning period, or all
/// of them when there were none after it.
fn fitted_span_us(model: &AnomalyModel) -> i64 {
    let end = model.trained_to_us + model.config.features.window_secs * 1_000_000;
    let from = if model.learning_until_us < end {
        model.learning_until_us.max(model.trained_from_us)
    } else {
        model.trained_from_us
    };
    end - from
}

/// Fits a new model on the kept rows and the learning baseline; on success it replaces the one in
/// use (whose live key state carries over). A failed refit keeps the old model and says why, and
/// so does a refit on a shorter span of logs than the model in use was fitted on.
fn refit(
    model: &mut Box<AnomalyModel>,
    history: &mut History,
    name: &mut String,
    rt: &mut Retrain,
    at_us: i64,
) {
    if let Some(why) = rt.short_of_span() {
        tracing::info!(
            target: "tierd::model",
            "scheduled retraining waits, keeping the model in use: {why}"
        );
        return;
    }
    let config = ModelConfig {
        // The kept rows are past any warm-up: all of them are fitted on.
        learning_days: 0.0,
        ..model.config.clone()
    };
    let mut baseline = rt.history.without_live_state();
    baseline.freeze();
    match AnomalyModel::fit_windows(&rt.rows, baseline.clone(), &config) {
        Ok(new) => {
            rt.fits += 1;
            let rows = rt.rows.first().map_or(0, WindowFeatures::len);
            tracing::info!(
                target: "tierd::model",
                refit = rt.fits,
                rows,
                threshold = new.threshold,
                "model retrained on the recent logs"
            );
            // The baseline is the learner's; which keys exist is the live history's.
            let mut live = rt.history.clone();
            live.freeze();
            *history = live;
            **model = new;
            let until = policies::facts::format_utc(at_us.div_euclid(1_000_000));
            *name = format!(
                "combined (retrained {} times; last on the logs up to {until})",
                rt.fits
            );
        }
        Err(e) => tracing::warn!(
            target: "tierd::model",
            "scheduled retraining failed; keeping the model in use: {e}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::generator::GeneratorConfig;

    const DAY_US: i64 = 86_400_000_000;

    /// Six generated benign days of one bucket, plus a principal that starts work at noon on day 2 (a new
    /// colleague: a few reads every 20 minutes, from one address), as events in time order.
    fn logs() -> (Vec<AccessEvent>, i64) {
        let cfg = GeneratorConfig {
            seed: 3,
            days: 6,
            buckets: 1,
            objects_per_bucket: 300,
            app_ops_per_day: 1_500,
            incidents_per_bucket: 0,
            ..GeneratorConfig::default()
        };
        let mut events = crate::test_events::generated(&cfg);
        let start = events[0].time_us.div_euclid(DAY_US) * DAY_US;
        let template = events
            .iter()
            .find(|e| e.op == models::OpClass::Get && e.status == Some(200))
            .unwrap()
            .clone();
        let mut t = start + 2 * DAY_US + DAY_US / 2;
        while t < start + 6 * DAY_US {
            events.push(AccessEvent {
                time_us: t,
                principal: Some("arn:aws:iam::123456789012:user/newcomer".into()),
                source_ip: Some("10.9.9.9".into()),
                ..template.clone()
            });
            t += 20 * 60 * 1_000_000;
        }
        events.sort_by_key(|e| e.time_us);
        (events, start)
    }

    /// Replays the events in 5-minute windows; returns the scores of the last day.
    fn replay(state: &mut ModelState, events: &[AccessEvent], start: i64) -> Vec<SubjectScore> {
        let mut last_day = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let end = (events[i].time_us.div_euclid(300_000_000) + 1) * 300_000_000;
            let j = i + events[i..].partition_point(|e| e.time_us < end);
            let scores = state.window(&events[i..j]).unwrap();
            if events[i].time_us >= start + 5 * DAY_US {
                last_day.extend(scores);
            }
            i = j;
        }
        last_day
    }

    /// Principals the baseline of the model in use knows.
    fn known_principals(state: &ModelState) -> usize {
        match state {
            ModelState::Active { history, .. } => history.known_principals(),
            other => panic!("no model in use: {}", other.describe()),
        }
    }

    fn newcomer_scores(scores: &[SubjectScore]) -> usize {
        scores
            .iter()
            .filter(|s| {
                s.subject
                    .principal
                    .as_deref()
                    .is_some_and(|p| p.ends_with("newcomer"))
            })
            .count()
    }

    #[test]
    fn a_model_whose_learning_period_ends_on_three_requests_keeps_learning_and_says_why() {
        let cfg = GeneratorConfig {
            seed: 3,
            days: 1,
            buckets: 1,
            objects_per_bucket: 300,
            app_ops_per_day: 1_500,
            incidents_per_bucket: 0,
            ..GeneratorConfig::default()
        };
        let day = crate::test_events::generated(&cfg);
        let start = day[0].time_us.div_euclid(DAY_US) * DAY_US;
        let template = day
            .iter()
            .find(|e| e.op == models::OpClass::Get && e.status == Some(200))
            .unwrap()
            .clone();
        let get = |time_us| AccessEvent {
            time_us,
            ..template.clone()
        };
        // Two GETs one day and one 59 days later: the 7 learning days are long over.
        let sparse = [
            get(start - 60 * DAY_US + 10 * 3_600_000_000),
            get(start - 60 * DAY_US + 11 * 3_600_000_000),
            get(start - DAY_US + 10 * 3_600_000_000),
        ];
        let mut state = ModelState::new(&ModelSettings::default()).unwrap();
        for e in &sparse {
            assert!(state.window(std::slice::from_ref(e)).unwrap().is_empty());
        }
        assert!(matches!(state, ModelState::Learning { .. }));
        assert_eq!(
            state.describe(),
            "combined (still learning after the first 7 days of the logs: it has learnt from 3 windows with events of the 100 needed; 2 days with traffic are enough; no anomaly scores until then)"
        );
        // A day of ordinary traffic gives it enough: it fits and scores from then on.
        let scores = replay(&mut state, &day, start - 5 * DAY_US);
        assert!(state.trained_to_secs().is_some(), "{}", state.describe());
        let name = state.describe();
        assert!(
            name.starts_with("combined (learned from the logs up to ")
                && name.ends_with("; their first 7 days were too little)"),
            "{name}"
        );
        assert!(!scores.is_empty());
    }

    #[test]
    fn scheduled_retraining_learns_who_started_working_and_replaces_the_model() {
        let (events, start) = logs();
        let settings = |retrain| ModelSettings {
            learning_days: 2.0,
            retrain_every_secs: retrain,
            ..ModelSettings::default()
        };
        // Without retraining, the colleague who started after the learning period stays
        // unknown to the baseline.
        let mut fixed = ModelState::new(&settings(None)).unwrap();
        let scores = replay(&mut fixed, &events, start);
        assert!(newcomer_scores(&scores) > 0, "the newcomer was scored");
        assert_eq!(fixed.refits(), 0);
        let fixed_to = fixed.trained_to_secs().unwrap();
        let fixed_known = known_principals(&fixed);

        // Retrained daily: refitted on days 4 and 5 (on day 3 the logs kept since the model
        // was fitted cover one day, less than the 1.5 days it was fitted on), and the colleague
        // is known.
        let mut daily = ModelState::new(&settings(Some(86_400))).unwrap();
        let scores = replay(&mut daily, &events, start);
        assert!(newcomer_scores(&scores) > 0);
        assert_eq!(daily.refits(), 2);
        assert!(
            known_principals(&daily) > fixed_known,
            "{} principals known after retraining, {fixed_known} without",
            known_principals(&daily)
        );
        assert!(
            daily.describe().contains("retrained"),
            "{}",
            daily.describe()
        );
        assert!(
            daily.trained_to_secs().unwrap() >= fixed_to + 2 * 86_400,
            "the model in use was fitted on recent logs"
        );
        for s in &scores {
            assert!(
                s.score.is_finite() && (0.0..=1.0).contains(&s.score),
                "{s:?}"
            );
        }

        // Byte-for-byte repeatable: the same replay gives the same scores.
        let mut again = ModelState::new(&settings(Some(86_400))).unwrap();
        let scores2 = replay(&mut again, &events, start);
        assert_eq!(
            scores.iter().map(|s| s.score.to_bits()).collect::<Vec<_>>(),
            scores2
                .iter()
                .map(|s| s.score.to_bits())
                .collect::<Vec<_>>()
        );
    }

    /// Scores the events from `start + 3 days` on as the service does: a cycle every 5 minutes
    /// of event time takes what was delivered by then; events of the bucket's service principal
    /// (`app-`) are delivered `delay_us` late (their own log, delivered late). Returns the
    /// anomalous windows.
    fn served(events: &[AccessEvent], start: i64, delay_us: i64) -> Vec<SubjectScore> {
        let settings = ModelSettings {
            learning_days: 2.0,
            ..ModelSettings::default()
        };
        let mut state = ModelState::new(&settings).unwrap();
        let from = start + 3 * DAY_US;
        let learn: Vec<AccessEvent> = events
            .iter()
            .filter(|e| e.time_us < from)
            .cloned()
            .collect();
        replay(&mut state, &learn, start);
        assert!(state.trained_to_secs().is_some(), "{}", state.describe());
        let mut delivered: Vec<(i64, &AccessEvent)> = events
            .iter()
            .filter(|e| e.time_us >= from)
            .map(|e| {
                let app = e
                    .principal
                    .as_deref()
                    .is_some_and(|p| p.contains("user/app-"));
                (e.time_us + if app { delay_us } else { 0 }, e)
            })
            .collect();
        delivered.sort_by_key(|d| d.0);
        let mut anomalous = Vec::new();
        for cycle in delivered.chunk_by(|a, b| a.0 / 300_000_000 == b.0 / 300_000_000) {
            let mut batch: Vec<AccessEvent> = cycle.iter().map(|d| d.1.clone()).collect();
            batch.sort_by_key(|e| e.time_us);
            let scores = state.window(&batch).unwrap();
            anomalous.extend(scores.into_iter().filter(|s| s.is_anomalous));
        }
        anomalous
    }

    #[test]
    fn a_log_delivered_hours_late_is_scored_in_its_own_windows_and_opens_nothing_new() {
        let (events, start) = logs();
        let on_time = served(&events, start, 0);
        let late = served(&events, start, 3 * 3_600_000_000);
        // The late events are scored in the windows of their own time, apart from the current
        // window's: they make no burst there.
        assert!(
            late.len() <= on_time.len(),
            "{} anomalous windows with the service principal's log 3 h late, {} on time: {:?}",
            late.len(),
            on_time.len(),
            late.iter()
                .map(|s| (
                    s.subject.to_string(),
                    s.window_start_us,
                    s.score,
                    &s.top_features
                ))
                .collect::<Vec<_>>()
        );
    }

    /// A model trained on a month of bucket-00 (learning its first 2 days), saved under the
    /// returned folder; the start of the logs; and the 6 days after the month, of bucket-00 and
    /// of bucket-01, created after the training.
    fn trained_month() -> (tempfile::TempDir, ModelSettings, i64, Vec<AccessEvent>) {
        let cfg = GeneratorConfig {
            seed: 5,
            days: 36,
            buckets: 2,
            objects_per_bucket: 300,
            app_ops_per_day: 1_500,
            incidents_per_bucket: 0,
            ..GeneratorConfig::default()
        };
        let all = crate::test_events::generated(&cfg);
        let start = all[0].time_us.div_euclid(DAY_US) * DAY_US;
        let (trained_on, after): (Vec<AccessEvent>, Vec<AccessEvent>) = all
            .into_iter()
            .partition(|e| e.time_us < start + 30 * DAY_US);
        // A month of bucket-00 trains the model (learning its first 2 days); bucket-01 is
        // created after it.
        let config = ModelConfig {
            learning_days: 2.0,
            ..ModelConfig::default()
        };
        let month = trained_on
            .into_iter()
            .filter(|e| e.bucket == "bucket-00")
            .collect();
        let (model, _) = AnomalyModel::train(month, &config).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        model.save(&path).unwrap();
        let settings = ModelSettings {
            path: Some(path),
            ..ModelSettings::default()
        };
        (dir, settings, start, after)
    }

    #[test]
    fn a_bucket_the_trained_model_never_saw_is_learned_not_in_an_incident_for_ever() {
        let (_dir, settings, start, after) = trained_month();
        let mut state = ModelState::new(&settings).unwrap();
        let (mut notices, mut learning, mut anomalous) = (Vec::new(), 0, [0, 0]);
        let mut i = 0;
        while i < after.len() {
            let end = (after[i].time_us.div_euclid(300_000_000) + 1) * 300_000_000;
            let j = i + after[i..].partition_point(|e| e.time_us < end);
            for s in state.window(&after[i..j]).unwrap() {
                let new = s.subject.bucket.as_deref() == Some("bucket-01");
                if new && s.learning {
                    assert!(s.window_start_us < start + 32 * DAY_US + 3_600_000_000);
                    learning += 1;
                } else if s.is_anomalous && !s.learning {
                    anomalous[usize::from(new)] += 1;
                }
            }
            notices.extend(state.take_notices());
            i = j;
        }
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert!(
            notices[0].starts_with(
                "bucket bucket-01 is not known to the model (trained on 2026-10-05T00:00:00Z to "
            ) && notices[0].contains("; learning it until 2026-11-06T00:"),
            "{}",
            notices[0]
        );
        // Once learned, the new bucket is judged as the old one is (before, everything in it
        // was "new" for ever: most of its windows were anomalous).
        assert!(
            anomalous[1] <= anomalous[0] + 10,
            "anomalous windows after learning: bucket-00 {}, bucket-01 {}",
            anomalous[0],
            anomalous[1]
        );
        assert!(learning > 0);
    }

    #[test]
    fn retraining_keeps_a_month_trained_model_until_the_recent_logs_cover_a_month() {
        let (_dir, settings, start, after) = trained_month();
        let daily = ModelSettings {
            retrain_every_secs: Some(86_400),
            ..settings.clone()
        };
        let mut fixed = ModelState::new(&settings).unwrap();
        let mut retrained = ModelState::new(&daily).unwrap();
        let scores = replay(&mut fixed, &after, start - 30 * DAY_US);
        let again = replay(&mut retrained, &after, start - 30 * DAY_US);
        // Six days of logs do not replace a model fitted on 28: it stays, and scores alike.
        assert_eq!(retrained.refits(), 0, "{}", retrained.describe());
        assert!(retrained.describe().ends_with("(trained)"));
        assert_eq!(
            scores.iter().map(|s| s.threshold).collect::<Vec<_>>(),
            again.iter().map(|s| s.threshold).collect::<Vec<_>>()
        );
        assert!(!scores.is_empty());
    }
}
