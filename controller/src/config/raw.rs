//! The configuration file as read: one struct per table, before any check ([`super::Config`]
//! checks them and locates every problem).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::Price;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) journal: Option<RawJournal>,
    #[serde(default)]
    pub(super) tiers: BTreeMap<Spanned<String>, RawTier>,
    #[serde(default)]
    pub(super) ingest: Option<RawIngest>,
    #[serde(default)]
    pub(super) policies: Option<RawPolicies>,
    #[serde(default)]
    pub(super) costs: Option<RawCosts>,
    #[serde(default)]
    pub(super) planner: Option<RawPlanner>,
    #[serde(default)]
    pub(super) model: Option<RawModel>,
    #[serde(default)]
    pub(super) service: Option<RawService>,
    #[serde(default)]
    pub(super) simulate: Option<RawSimulate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCosts {
    #[serde(default)]
    pub(super) currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlanner {
    #[serde(default)]
    pub(super) interval: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) anomaly_hold: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) incident_quiet: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) max_decisions_per_cycle: Option<usize>,
    #[serde(default)]
    pub(super) operator_hold: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    #[serde(default)]
    pub(super) path: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) learning_days: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) window: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) retrain_every: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    #[serde(default)]
    pub(super) listen: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) decision_log: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) decision_log_stderr: Option<bool>,
    #[serde(default)]
    pub(super) ingest_interval: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) shutdown_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) webhook_token_env: Option<String>,
    #[serde(default)]
    pub(super) executor_concurrency: Option<usize>,
    #[serde(default)]
    pub(super) max_bytes_per_sec: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) max_objects_per_sec: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) scan_interval: Option<Spanned<String>>,
}

/// A number, or a list of them.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "simulate.baseline_idle_days: a whole number of days (at least 1), or a list of them (e.g. [14, 30, 60])"
)]
pub(super) enum OneOrMany {
    One(u32),
    Many(Vec<u32>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSimulate {
    #[serde(default)]
    pub(super) baseline_idle_days: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub(super) lateness: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) score_every: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJournal {
    #[serde(default)]
    pub(super) path: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) keep_decisions: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTier {
    pub(super) url: Spanned<String>,
    #[serde(default)]
    pub(super) min_storage_days: Option<u32>,
    #[serde(default)]
    pub(super) options: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    pub(super) role: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) price: Option<Spanned<Price>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIngest {
    #[serde(default)]
    pub(super) sources: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) format: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) options: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicies {
    #[serde(default)]
    pub(super) files: Vec<Spanned<String>>,
}
