//! The columnar form of access events (polars), and the export writers.
//!
//! [`EventFrameBuilder`] turns events into a `DataFrame` with the schema of [`schema`];
//! [`events_from_frame`] turns such a frame (e.g. read from Parquet) back into events;
//! [`EventWriter`] streams events to Parquet or NDJSON in batches, in bounded memory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use crate::event::{AccessEvent, ConfigKind, OpClass, Origin};
use crate::parse::ndjson;
use crate::{Error, Result};

/// Column names, in order. The schema is part of tierd's export contract.
pub const COLUMNS: [&str; 20] = [
    "time",
    "op",
    "operation",
    "bucket",
    "key",
    "principal",
    "source_ip",
    "status",
    "error_code",
    "bytes_sent",
    "bytes_received",
    "object_size",
    "user_agent",
    "version_id",
    "request_id",
    "sse_customer",
    "lifecycle",
    "config",
    "origin_file",
    "origin_line",
];

fn time_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
}

/// The polars schema of an event frame.
pub fn schema() -> Schema {
    let mut s = Schema::default();
    for name in COLUMNS {
        let dt = match name {
            "time" => time_dtype(),
            // u32, not u16: polars' u16 dtype is a separate (unused) build feature.
            "status" => DataType::UInt32,
            "bytes_sent" | "bytes_received" | "object_size" | "origin_line" => DataType::UInt64,
            "sse_customer" | "lifecycle" => DataType::Boolean,
            _ => DataType::String,
        };
        s.with_column(name.into(), dt);
    }
    s
}

/// Accumulates events column by column.
#[derive(Debug, Default)]
pub struct EventFrameBuilder {
    time: Vec<i64>,
    op: Vec<&'static str>,
    operation: Vec<String>,
    bucket: Vec<String>,
    key: Vec<Option<String>>,
    principal: Vec<Option<String>>,
    source_ip: Vec<Option<String>>,
    status: Vec<Option<u16>>,
    error_code: Vec<Option<String>>,
    bytes_sent: Vec<Option<u64>>,
    bytes_received: Vec<Option<u64>>,
    object_size: Vec<Option<u64>>,
    user_agent: Vec<Option<String>>,
    version_id: Vec<Option<String>>,
    request_id: Vec<Option<String>>,
    sse_customer: Vec<bool>,
    lifecycle: Vec<bool>,
    config: Vec<Option<&'static str>>,
    origin_file: Vec<Arc<str>>,
    origin_line: Vec<u64>,
}

impl EventFrameBuilder {
    pub fn len(&self) -> usize {
        self.time.len()
    }

    pub fn is_empty(&self) -> bool {
        self.time.is_empty()
    }

    /// Appends one event (moved in, so its strings are not copied twice).
    pub fn push(&mut self, e: AccessEvent) {
        self.time.push(e.time_us);
        self.op.push(e.op.as_str());
        self.operation.push(e.operation);
        self.bucket.push(e.bucket);
        self.key.push(e.key);
        self.principal.push(e.principal);
        self.source_ip.push(e.source_ip);
        self.status.push(e.status);
        self.error_code.push(e.error_code);
        self.bytes_sent.push(e.bytes_sent);
        self.bytes_received.push(e.bytes_received);
        self.object_size.push(e.object_size);
        self.user_agent.push(e.user_agent);
        self.version_id.push(e.version_id);
        self.request_id.push(e.request_id);
        self.sse_customer.push(e.sse_customer);
        self.lifecycle.push(e.lifecycle);
        self.config.push(e.config.map(ConfigKind::as_str));
        self.origin_file.push(e.origin.file);
        self.origin_line.push(e.origin.line);
    }

    /// Builds the frame and empties the builder.
    ///
    /// # Errors
    /// Only polars' own errors (a column of the wrong length cannot happen by construction).
    pub fn finish(&mut self) -> Result<DataFrame> {
        let b = std::mem::take(self);
        let height = b.time.len();
        fn opt(v: &[Option<String>]) -> Vec<Option<&str>> {
            v.iter().map(|s| s.as_deref()).collect()
        }
        let origin_file: Vec<&str> = b.origin_file.iter().map(|f| f.as_ref()).collect();
        let columns = vec![
            Column::new("time".into(), b.time).cast(&time_dtype())?,
            Column::new("op".into(), b.op),
            Column::new("operation".into(), b.operation),
            Column::new("bucket".into(), b.bucket),
            Column::new("key".into(), opt(&b.key)),
            Column::new("principal".into(), opt(&b.principal)),
            Column::new("source_ip".into(), opt(&b.source_ip)),
            Column::new(
                "status".into(),
                b.status
                    .iter()
                    .map(|s| s.map(u32::from))
                    .collect::<Vec<_>>(),
            ),
            Column::new("error_code".into(), opt(&b.error_code)),
            Column::new("bytes_sent".into(), b.bytes_sent),
            Column::new("bytes_received".into(), b.bytes_received),
            Column::new("object_size".into(), b.object_size),
            Column::new("user_agent".into(), opt(&b.user_agent)),
            Column::new("version_id".into(), opt(&b.version_id)),
            Column::new("request_id".into(), opt(&b.request_id)),
            Column::new("sse_customer".into(), b.sse_customer),
            Column::new("lifecycle".into(), b.lifecycle),
            Column::new("config".into(), b.config),
            Column::new("origin_file".into(), origin_file),
            Column::new("origin_line".into(), b.origin_line),
        ];
        Ok(DataFrame::new(height, columns)?)
    }
}

/// Builds a frame from a slice of events.
///
/// # Errors
/// See [`EventFrameBuilder::finish`].
pub fn to_frame(events: impl IntoIterator<Item = AccessEvent>) -> Result<DataFrame> {
    let mut b = EventFrameBuilder::default();
    for e in events {
        b.push(e);
    }
    b.finish()
}

fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| {
        Error::Schema(format!(
            "missing column {name:?}; an event frame has the columns: {}",
            COLUMNS.join(", ")
        ))
    })
}

/// Turns an event frame back into events. `file` names the frame's source, used when the frame
/// has no `origin_file`; rows without `origin_line` get their 1-based row number.
///
/// # Errors
/// A required column (`time`, `op`, `operation`, `bucket`) is missing or of the wrong type, or a
/// row holds an unknown `op` or `config` value (the error names the row).
pub fn events_from_frame(df: &DataFrame, file: &Arc<str>) -> Result<Vec<AccessEvent>> {
    let n = df.height();
    let time = column(df, "time")?.cast(&DataType::Int64)?;
    let time = time.i64()?;
    let op = column(df, "op")?.str()?;
    let operation = column(df, "operation")?.str()?;
    let bucket = column(df, "bucket")?.str()?;
    let opt_str = |name: &str| -> Result<Option<StringChunked>> {
        match df.column(name) {
            Ok(c) => Ok(Some(c.cast(&DataType::String)?.str()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let opt_u64 = |name: &str| -> Result<Option<UInt64Chunked>> {
        match df.column(name) {
            Ok(c) => Ok(Some(c.cast(&DataType::UInt64)?.u64()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let opt_bool = |name: &str| -> Result<Option<BooleanChunked>> {
        match df.column(name) {
            Ok(c) => Ok(Some(c.cast(&DataType::Boolean)?.bool()?.clone())),
            Err(_) => Ok(None),
        }
    };
    let key = opt_str("key")?;
    let principal = opt_str("principal")?;
    let source_ip = opt_str("source_ip")?;
    let status = opt_u64("status")?;
    let error_code = opt_str("error_code")?;
    let bytes_sent = opt_u64("bytes_sent")?;
    let bytes_received = opt_u64("bytes_received")?;
    let object_size = opt_u64("object_size")?;
    let user_agent = opt_str("user_agent")?;
    let version_id = opt_str("version_id")?;
    let request_id = opt_str("request_id")?;
    let sse_customer = opt_bool("sse_customer")?;
    let lifecycle = opt_bool("lifecycle")?;
    let config = opt_str("config")?;
    let origin_file = opt_str("origin_file")?;
    let origin_line = opt_u64("origin_line")?;

    let s =
        |c: &Option<StringChunked>, i: usize| c.as_ref().and_then(|c| c.get(i)).map(str::to_owned);
    let u = |c: &Option<UInt64Chunked>, i: usize| c.as_ref().and_then(|c| c.get(i));
    let bl =
        |c: &Option<BooleanChunked>, i: usize| c.as_ref().and_then(|c| c.get(i)).unwrap_or(false);
    let mut out = Vec::with_capacity(n);
    let mut last_file: Option<(String, Arc<str>)> = None;
    for i in 0..n {
        let row = i + 1;
        let missing = |what: &str| Error::Schema(format!("row {row}: {what} is null"));
        let op_s = op.get(i).ok_or_else(|| missing("op"))?;
        let op_c: OpClass = op_s
            .parse()
            .map_err(|e| Error::Schema(format!("row {row}: {e}")))?;
        let cfg = match config.as_ref().and_then(|c| c.get(i)) {
            Some(c) => Some(
                c.parse::<ConfigKind>()
                    .map_err(|e| Error::Schema(format!("row {row}: {e}")))?,
            ),
            None => None,
        };
        let file_arc = match origin_file.as_ref().and_then(|c| c.get(i)) {
            Some(f) => match &last_file {
                Some((name, arc)) if name == f => arc.clone(),
                _ => {
                    let arc: Arc<str> = Arc::from(f);
                    last_file = Some((f.to_owned(), arc.clone()));
                    arc
                }
            },
            None => file.clone(),
        };
        out.push(AccessEvent {
            time_us: time.get(i).ok_or_else(|| missing("time"))?,
            op: op_c,
            operation: operation
                .get(i)
                .ok_or_else(|| missing("operation"))?
                .to_owned(),
            bucket: bucket.get(i).ok_or_else(|| missing("bucket"))?.to_owned(),
            key: s(&key, i),
            principal: s(&principal, i),
            source_ip: s(&source_ip, i),
            status: u(&status, i).and_then(|v| u16::try_from(v).ok()),
            error_code: s(&error_code, i),
            bytes_sent: u(&bytes_sent, i),
            bytes_received: u(&bytes_received, i),
            object_size: u(&object_size, i),
            user_agent: s(&user_agent, i),
            version_id: s(&version_id, i),
            request_id: s(&request_id, i),
            sse_customer: bl(&sse_customer, i),
            lifecycle: bl(&lifecycle, i),
            config: cfg,
            origin: Origin {
                file: file_arc,
                line: u(&origin_line, i).unwrap_or(row as u64),
            },
        });
    }
    Ok(out)
}

/// Reads a Parquet file of events in slices of `batch` rows, calling `f` for each slice, so a
/// file larger than memory streams. A file the process could not survive reading is refused
/// (see [`crate::parquet`]).
///
/// # Errors
/// The file cannot be opened or is not Parquet, or a slice is not an event frame.
pub fn read_parquet_batches(
    path: &Path,
    batch: usize,
    mut f: impl FnMut(Vec<AccessEvent>) -> Result<()>,
) -> Result<()> {
    let file_name: Arc<str> = Arc::from(path.display().to_string());
    crate::parquet::readable(path, batch)?.each_slice(|offset, df| {
        let mut events = events_from_frame(&df, &file_name)?;
        if !df
            .get_column_names()
            .iter()
            .any(|c| c.as_str() == "origin_line")
        {
            for (k, e) in events.iter_mut().enumerate() {
                e.origin.line = (offset + k + 1) as u64;
            }
        }
        f(events)
    })
}

/// Where exported events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Parquet,
    Ndjson,
}

impl ExportFormat {
    /// The export format a file name asks for (`.parquet` or `.ndjson`/`.jsonl`).
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()? {
            "parquet" => Some(ExportFormat::Parquet),
            "ndjson" | "jsonl" | "json" => Some(ExportFormat::Ndjson),
            _ => None,
        }
    }
}

/// Streams events to a Parquet or NDJSON file, one batch at a time.
pub struct EventWriter {
    inner: WriterKind,
    written: u64,
}

enum WriterKind {
    /// Boxed: polars' writer is a few KB, an NDJSON writer a buffer pointer.
    Parquet(Box<polars::io::parquet::write::BatchedWriter<File>>),
    Ndjson(BufWriter<File>),
}

impl std::fmt::Debug for EventWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventWriter")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

impl EventWriter {
    /// Creates (truncates) `path`.
    ///
    /// # Errors
    /// The file cannot be created.
    pub fn create(path: &Path, format: ExportFormat) -> Result<Self> {
        let file = File::create(path)?;
        let inner = match format {
            ExportFormat::Parquet => WriterKind::Parquet(Box::new(
                ParquetWriter::new(file)
                    .with_compression(ParquetCompression::Zstd(None))
                    .batched(&schema())?,
            )),
            ExportFormat::Ndjson => WriterKind::Ndjson(BufWriter::new(file)),
        };
        Ok(EventWriter { inner, written: 0 })
    }

    /// Writes a batch of events.
    ///
    /// # Errors
    /// I/O or encoding errors.
    pub fn write(&mut self, events: Vec<AccessEvent>) -> Result<()> {
        self.written += events.len() as u64;
        match &mut self.inner {
            WriterKind::Parquet(w) => {
                if !events.is_empty() {
                    w.write_batch(&to_frame(events)?)?;
                }
            }
            WriterKind::Ndjson(w) => {
                for e in &events {
                    ndjson::write_event(w, e)?;
                }
            }
        }
        Ok(())
    }

    /// Flushes and closes the file; returns the number of events written.
    ///
    /// # Errors
    /// I/O errors while flushing.
    pub fn finish(self) -> Result<u64> {
        match self.inner {
            WriterKind::Parquet(w) => {
                w.finish()?;
            }
            WriterKind::Ndjson(mut w) => w.flush()?,
        }
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: u64) -> AccessEvent {
        AccessEvent {
            time_us: 1_793_527_200_000_000 + i as i64,
            op: if i.is_multiple_of(2) {
                OpClass::Get
            } else {
                OpClass::ConfigChange
            },
            operation: "REST.GET.OBJECT".into(),
            bucket: "b".into(),
            key: (!i.is_multiple_of(3)).then(|| format!("k{i}")),
            status: Some(200),
            object_size: Some(i * 10),
            sse_customer: i.is_multiple_of(5),
            config: (i % 2 == 1).then_some(ConfigKind::Lifecycle),
            origin: Origin {
                file: Arc::from("x.log"),
                line: i + 1,
            },
            ..AccessEvent::default()
        }
    }

    #[test]
    fn a_frame_round_trips_every_field() {
        let events: Vec<_> = (0..50).map(ev).collect();
        let df = to_frame(events.clone()).unwrap();
        assert_eq!(df.height(), 50);
        assert_eq!(df.schema().as_ref(), &schema());
        let back = events_from_frame(&df, &Arc::from("ignored")).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn parquet_export_streams_and_reads_back_in_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.parquet");
        let events: Vec<_> = (0..1000).map(ev).collect();
        let mut w = EventWriter::create(&path, ExportFormat::Parquet).unwrap();
        w.write(events[..600].to_vec()).unwrap();
        w.write(events[600..].to_vec()).unwrap();
        assert_eq!(w.finish().unwrap(), 1000);
        let mut back = Vec::new();
        let mut batches = 0;
        read_parquet_batches(&path, 300, |b| {
            batches += 1;
            back.extend(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(batches, 4);
        assert_eq!(back, events);
    }

    #[test]
    fn a_frame_without_the_op_column_is_a_clear_error() {
        let df = to_frame(vec![ev(1)]).unwrap().drop("op").unwrap();
        let err = events_from_frame(&df, &Arc::from("f"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing column \"op\""), "{err}");
    }
}
