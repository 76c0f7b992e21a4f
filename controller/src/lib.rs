//! tierd: an anomaly-driven data-mobility controller for storage tiers.
//!
//! This crate is the controller: it glues the `policies` crate (rules) and the `models` crate
//! (events, features, detectors) to storage, a journal and a command line.
//!
//! # Layout
//! - [`config`]: the main configuration file, checked with located diagnostics.
//! - [`tier`]: tiers and log sources as `object_store` stores built from URLs.
//! - [`ingest`]: log sources → normalised events, checkpoints, bad-line accounting.
//! - [`journal`]: the SQLite journal: catalog, decisions, move steps, snapshots, checkpoints.
//! - [`cost`]: tier prices, the charges of storing, reading and moving, the ledger.
//! - [`planner`]: rules + behaviour → decisions within the guardrails (run and simulate).
//! - [`decision`]: the decision record, the same everywhere decisions appear.
//! - [`executor`]: crash-safe moves (copy, verify, then delete), limits, retries, recovery.
//! - [`snapshot`]: incremental, hash-chained snapshots into the vault; verify and restore.
//! - [`service`]: `tierd run`, the cycle of ingest, scoring, planning and execution.
//! - [`shutdown`]: a stop asked for once (SIGTERM), heeded at safe points.
//! - [`simulate`]: `tierd simulate`, the same planner over past logs, with costs and baselines.
//! - [`http`]: `/healthz`, `/readyz`, `/metrics` and the MinIO audit webhook.
//! - [`metrics`]: the Prometheus registry (bounded cardinality).
//! - [`report`]: the self-contained HTML report of `tierd simulate --report` (inline SVG).
//! - [`cli`]: one module per `tierd` subcommand.
//!
//! # Example
//! ```
//! let config = tierd::config::Config::embedded();
//! assert_eq!(config.tiers.len(), 3);
//! assert_eq!(config.tier("cloud").map(|t| t.min_storage_days), Some(90));
//! ```

pub mod cli;
pub mod config;
pub mod cost;
pub mod create_only;
pub mod decision;
pub mod executor;
pub mod http;
pub mod ingest;
pub mod journal;
pub mod metrics;
pub mod planner;
pub mod policy;
pub mod report;
pub mod service;
pub mod shutdown;
pub mod simulate;
pub mod snapshot;
#[cfg(test)]
mod test_events;
pub mod tier;
