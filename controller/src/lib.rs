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
//! - [`decision`]: the decision record, the same everywhere decisions appear.
//! - [`executor`]: crash-safe moves (copy, verify, then delete), limits, retries, recovery.
//! - [`snapshot`]: incremental, hash-chained snapshots into the vault; verify and restore.
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
pub mod decision;
pub mod executor;
pub mod ingest;
pub mod journal;
pub mod report;
pub mod snapshot;
pub mod tier;
