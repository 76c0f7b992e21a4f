//! Reading Parquet files that may be damaged, without risking the process.
//!
//! polars trusts what a Parquet file says about itself. A damaged file trips its assertions (a
//! panic, which [`guarded`] turns into an error), but a damaged length inside a page makes it ask
//! for an impossible allocation (`memory allocation of 2305843009213693904 bytes failed`), and
//! Rust aborts the process on that: no error can be caught. So a program that reads Parquet files
//! it did not write (the service reading logs, `simulate` reading an inventory) first decodes
//! each file in full in a child process ([`set_decoder`]); only a file the child read to its end
//! is read here. The child decodes the same slices, with the same reader, as the read that
//! follows, so what it survives this process survives too.

use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::{ArrowSchema, DataFrame, ParquetReader, SerReader};

use crate::{Error, Result};

/// Decodes a file (all of it, `slice` rows at a time) away from this process; set once.
type Decoder = Box<dyn Fn(&Path, usize) -> std::result::Result<(), String> + Send + Sync>;

static DECODER: OnceLock<Decoder> = OnceLock::new();

/// Parquet readers active (see [`guarded`]): while any is, a panic inside polars is reported
/// by the reader as an error instead of by the panic hook.
static GUARDS: AtomicUsize = AtomicUsize::new(0);

/// Sets how [`readable`] decodes a file before it is read: `decode(path, slice)` must decode
/// every slice of `slice` rows as [`decode_here`] does, or say why it could not (the whole
/// message, such as `not a readable Parquet file (...)`).
/// Without one (library tests, tools that read only their own files), files are read directly.
/// Only the first call counts.
pub fn set_decoder(
    decode: impl Fn(&Path, usize) -> std::result::Result<(), String> + Send + Sync + 'static,
) {
    let _ = DECODER.set(Box::new(decode));
}

/// A Parquet file that may be read: decoded in full by the decoder ([`set_decoder`]), when
/// one is set.
#[derive(Debug, Clone, Copy)]
pub struct Readable<'a> {
    path: &'a Path,
    slice: usize,
}

/// Makes sure the Parquet file at `path` can be read `slice` rows at a time: with a decoder
/// set ([`set_decoder`]), it decodes the whole file first, and the file is not read here when
/// it fails.
///
/// # Errors
/// The decoder's reason ([`Error::Schema`]).
pub fn readable(path: &Path, slice: usize) -> Result<Readable<'_>> {
    let slice = slice.max(1);
    if let Some(decode) = DECODER.get() {
        decode(path, slice).map_err(Error::Schema)?;
    }
    Ok(Readable { path, slice })
}

impl Readable<'_> {
    /// The file's columns and their types, from its footer.
    ///
    /// # Errors
    /// The file cannot be opened or its footer read.
    pub fn schema(&self) -> Result<std::sync::Arc<ArrowSchema>> {
        schema(self.path)
    }

    /// Reads the file a slice at a time, handing `f` each slice with the offset of its first
    /// row, in order.
    ///
    /// # Errors
    /// The file cannot be read, or `f`'s error.
    pub fn each_slice(&self, f: impl FnMut(usize, DataFrame) -> Result<()>) -> Result<()> {
        slices(self.path, self.slice, f)
    }
}

/// Decodes `path` in this process as a [`Readable`] would read it (its footer, then every
/// slice), and drops what it read: what a decoder's child runs. Returns the number of rows.
///
/// # Errors
/// The file cannot be opened or decoded.
pub fn decode_here(path: &Path, slice: usize) -> Result<usize> {
    schema(path)?;
    let mut rows = 0;
    slices(path, slice.max(1), |_, df| {
        rows += df.height();
        Ok(())
    })?;
    Ok(rows)
}

fn schema(path: &Path) -> Result<std::sync::Arc<ArrowSchema>> {
    guarded(|| Ok(ParquetReader::new(std::fs::File::open(path)?).schema()?))
}

fn slices(
    path: &Path,
    slice: usize,
    mut f: impl FnMut(usize, DataFrame) -> Result<()>,
) -> Result<()> {
    let total = guarded(|| Ok(ParquetReader::new(std::fs::File::open(path)?).num_rows()?))?;
    let mut offset = 0;
    while offset < total {
        let len = slice.min(total - offset);
        let df = guarded(|| {
            Ok(ParquetReader::new(std::fs::File::open(path)?)
                .with_slice(Some((offset, len)))
                .finish()?)
        })?;
        f(offset, df)?;
        offset += len;
    }
    Ok(())
}

/// Runs `read` (of a Parquet file), turning a panic inside polars into an error: a
/// corrupt file trips polars' own assertions (an unwrap on a missing column chunk, a bit width
/// out of range), and one bad log object must cost that object, not the process or the cycle.
///
/// # Errors
/// `read`'s, or [`Error::Schema`] when polars panicked (the caller names the file).
pub fn guarded<T>(read: impl FnOnce() -> Result<T>) -> Result<T> {
    GUARDS.fetch_add(1, Ordering::SeqCst);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    GUARDS.fetch_sub(1, Ordering::SeqCst);
    r.unwrap_or_else(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("the reader failed");
        Err(Error::Schema(format!(
            "not a readable Parquet file (corrupt or truncated: {why})"
        )))
    })
}

/// Installs a panic hook that stays silent about panics raised inside polars while a
/// [`guarded`] read is running (they become that read's error) and reports every other panic
/// as the default hook does. Call once, at start.
pub fn quiet_guarded_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_polars = info.location().is_some_and(|l| l.file().contains("polars"));
        let guarding = GUARDS.load(Ordering::SeqCst) > 0;
        if !(in_polars && guarding) {
            default(info);
        }
    }));
}
