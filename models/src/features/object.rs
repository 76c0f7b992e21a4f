//! Per-object features for tiering, computed with polars from an event frame.

use polars::prelude::*;

use crate::{Error, Result};

/// The columns of [`object_features`]' frame, in order, with their units.
pub const OBJECT_COLUMNS: [(&str, &str); 15] = [
    ("bucket", "text"),
    ("key", "text"),
    (
        "last_access",
        "UTC time (µs): the last request of any kind on the key",
    ),
    ("reads_1d", "GET and copy-source requests over the last day"),
    ("reads_7d", "reads over the last 7 days"),
    ("reads_30d", "reads over the last 30 days"),
    ("reads_90d", "reads over the last 90 days"),
    (
        "writes_1d",
        "PUT, copy-destination and multipart-complete requests over the last day",
    ),
    ("writes_7d", "writes over the last 7 days"),
    ("writes_30d", "writes over the last 30 days"),
    ("writes_90d", "writes over the last 90 days"),
    (
        "decayed_read_rate",
        "reads per day, exponentially decayed with the given half-life",
    ),
    (
        "age_seconds",
        "seconds since the last write (since the first request seen when no write was seen)",
    ),
    (
        "size",
        "bytes: the last object size logged (null when no request logged it)",
    ),
    (
        "reads_since_last_write",
        "reads after the last write (all reads when no write was seen)",
    ),
];

const DAY_US: i64 = 86_400_000_000;

/// Per-object features as of `now_us` from an event frame with the [`crate::frame::schema`]
/// columns (at least `time`, `op`, `operation`, `bucket`, `key`, `object_size`). Events without
/// a key and events after `now_us` are ignored. One row per (bucket, key), sorted by both.
///
/// `half_life_days` sets the decay of `decayed_read_rate`: a read that long ago counts half.
///
/// # Errors
/// A missing column, a half-life that is not positive, or a polars error.
///
/// # Caveats
/// "Reads since the last move" is approximated by reads since the last write: a move by tierd
/// is a write on the destination tier. The controller's catalog knows the real move times.
pub fn object_features(events: &DataFrame, now_us: i64, half_life_days: f64) -> Result<DataFrame> {
    if !(half_life_days > 0.0 && half_life_days.is_finite()) {
        return Err(Error::Config(format!(
            "half_life_days = {half_life_days}: expected a positive number of days (for example 7)"
        )));
    }
    for c in ["time", "op", "operation", "bucket", "key", "object_size"] {
        if events.column(c).is_err() {
            return Err(Error::Schema(format!(
                "missing column {c:?}; per-object features need an event frame (models::frame::schema)"
            )));
        }
    }
    let t = col("time").cast(DataType::Int64);
    let age_us = lit(now_us) - t.clone();
    let is_read = col("op")
        .eq(lit("get"))
        .or(col("op").eq(lit("copy-source")));
    let is_write = col("op")
        .eq(lit("put"))
        .or(col("op").eq(lit("copy-dest")))
        .or(col("operation").eq(lit("REST.POST.UPLOAD")))
        .or(col("operation").eq(lit("CompleteMultipartUpload")));
    let lambda_per_us = std::f64::consts::LN_2 / (half_life_days * DAY_US as f64);
    let count_within = |cond: Expr, days: i64, name: &str| {
        cond.and(age_us.clone().lt(lit(days * DAY_US)))
            .cast(DataType::UInt32)
            .sum()
            .alias(name)
    };
    let last_write = t.clone().filter(is_write.clone()).max();
    let mut aggs = vec![
        t.clone().max().alias("last_access_us"),
        t.clone().min().alias("first_seen_us"),
    ];
    for (d, name) in [
        (1, "reads_1d"),
        (7, "reads_7d"),
        (30, "reads_30d"),
        (90, "reads_90d"),
    ] {
        aggs.push(count_within(is_read.clone(), d, name));
    }
    for (d, name) in [
        (1, "writes_1d"),
        (7, "writes_7d"),
        (30, "writes_30d"),
        (90, "writes_90d"),
    ] {
        aggs.push(count_within(is_write.clone(), d, name));
    }
    aggs.extend([
        (is_read.clone().cast(DataType::Float64)
            * (age_us.clone().cast(DataType::Float64) * lit(-lambda_per_us)).exp())
        .sum()
        .alias("decayed_sum"),
        last_write.clone().alias("last_write_us"),
        col("object_size").drop_nulls().last().alias("size"),
        is_read
            .and(t.clone().gt(last_write.fill_null(lit(i64::MIN))))
            .cast(DataType::UInt32)
            .sum()
            .alias("reads_since_last_write"),
    ]);
    let per_day = lambda_per_us * DAY_US as f64;
    let out = events
        .clone()
        .lazy()
        .filter(col("key").is_not_null().and(t.clone().lt_eq(lit(now_us))))
        .sort(["time"], SortMultipleOptions::default())
        .group_by([col("bucket"), col("key")])
        .agg(aggs)
        .select([
            col("bucket"),
            col("key"),
            col("last_access_us")
                .cast(DataType::Datetime(
                    TimeUnit::Microseconds,
                    Some(TimeZone::UTC),
                ))
                .alias("last_access"),
            col("reads_1d"),
            col("reads_7d"),
            col("reads_30d"),
            col("reads_90d"),
            col("writes_1d"),
            col("writes_7d"),
            col("writes_30d"),
            col("writes_90d"),
            (col("decayed_sum") * lit(per_day)).alias("decayed_read_rate"),
            ((lit(now_us) - col("last_write_us").fill_null(col("first_seen_us")))
                .cast(DataType::Float64)
                / lit(1e6))
            .alias("age_seconds"),
            col("size"),
            col("reads_since_last_write"),
        ])
        .sort(["bucket", "key"], SortMultipleOptions::default())
        .collect()?;
    Ok(out)
}
