//! tierd's models: what an access event is, how every store's log becomes one, and (later) the
//! behavioural features and anomaly detectors built on them.
//!
//! # Layout
//! - [`event`]: the normalised [`AccessEvent`], [`OpClass`], [`ConfigKind`].
//! - [`parse`]: one parser per log format, and [`parse::detect`].
//! - [`frame`]: events as polars frames; Parquet and NDJSON export.
//! - [`features`]: behaviour features per subject and window, and per object (polars).
//! - [`detect`]: anomaly detectors (robust baseline, k-means), the combined calibrated model,
//!   explanations and versioned artifacts.
//! - [`generator`]: a seeded S3 access-log workload generator with injected incidents.
//!
//! # Example
//! ```
//! use models::{parse, OpClass};
//! let line = r#"{"time":"2026-11-01T10:00:00Z","op":"get","operation":"GetObject","bucket":"b","key":"k"}"#;
//! let event = parse::parse_line(parse::Format::Ndjson, line).unwrap().unwrap();
//! assert_eq!(event.op, OpClass::Get);
//! assert_eq!(event.key.as_deref(), Some("k"));
//! ```

pub mod detect;
pub mod event;
pub mod features;
pub mod frame;
pub mod generator;
pub mod parquet;
pub mod parse;

pub use event::{AccessEvent, ConfigKind, OpClass, Origin};

/// Errors of the models crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("polars: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// A frame or file that does not have the event schema.
    #[error("{0}")]
    Schema(String),
    /// A detector or model was given no rows to fit or score.
    #[error("{0}: no rows; fitting and scoring need at least one feature row")]
    EmptyInput(&'static str),
    /// A model artifact that does not fit this build (other format version or feature list).
    #[error("{0}")]
    ArtifactMismatch(String),
    /// A model artifact that cannot be read (missing, unreadable). The cause is in the message,
    /// not a `source`: a chain of causes would print it twice.
    #[error(
        "{path}: cannot read the model: {error} (a model is written by `tierd train --out {path}`)"
    )]
    ArtifactRead { path: String, error: std::io::Error },
    /// A model artifact that is not valid JSON of the artifact schema (the cause in the message).
    #[error("{path}: not a tierd model artifact: {error}")]
    ArtifactJson {
        path: String,
        error: serde_json::Error,
    },
    /// A setting out of its range (named, with the valid range).
    #[error("{0}")]
    Config(String),
    /// The clustering library refused to fit.
    #[error("k-means: {0}")]
    Clustering(String),
    /// Too little (or too uniform) training data to calibrate a threshold: the model must keep
    /// learning. Says what it has and what it needs.
    #[error("not enough data to fit the model: {0}")]
    NotEnoughData(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
