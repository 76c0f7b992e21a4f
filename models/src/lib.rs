//! tierd's models: what an access event is, how every store's log becomes one, and (later) the
//! behavioural features and anomaly detectors built on them.
//!
//! # Layout
//! - [`event`]: the normalised [`AccessEvent`], [`OpClass`], [`ConfigKind`].
//! - [`parse`]: one parser per log format, and [`parse::detect`].
//! - [`frame`]: events as polars frames; Parquet and NDJSON export.
//!
//! # Example
//! ```
//! use models::{parse, OpClass};
//! let line = r#"{"time":"2026-11-01T10:00:00Z","op":"get","operation":"GetObject","bucket":"b","key":"k"}"#;
//! let event = parse::parse_line(parse::Format::Ndjson, line).unwrap().unwrap();
//! assert_eq!(event.op, OpClass::Get);
//! assert_eq!(event.key.as_deref(), Some("k"));
//! ```

pub mod event;
pub mod frame;
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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
