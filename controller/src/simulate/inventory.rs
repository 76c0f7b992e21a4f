//! Inventory listings for `tierd simulate --inventory`: the objects that exist when the replay
//! starts, including the ones the logs never name (often the coldest data of all).
//!
//! A listing is a CSV file (gzip or not) whose first line names the columns, in any order and
//! case: `bucket`, `key`, `size`, `last_modified` (RFC 3339, or S3 Inventory's
//! `LastModifiedDate`), and optionally `tier` (a configured tier; default the hot tier). Other
//! columns are ignored. An S3 Inventory CSV report reads once the names of its manifest's
//! `fileSchema` are put as its first line; its keys are URL-encoded (`Key` with
//! `LastModifiedDate` present), and are decoded. Fields may be quoted (`"a,b"`, `""` for a quote);
//! a field cannot hold a line break.
//!
//! An S3 Inventory Parquet report (told apart by its content) is read by the same column names,
//! with `last_modified_date` a timestamp and keys as stored; a bad row is `file:row N`.
//!
//! A bad line is counted and shown as `file:line: reason`, and skipped.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// Unix seconds.
    pub last_modified: i64,
    /// A tier name, as the listing gives it.
    pub tier: Option<String>,
}

/// What the listings held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub objects: Vec<Listed>,
    pub bad_lines: u64,
    /// The first bad lines, as `file:line: reason`.
    pub bad_shown: Vec<String>,
}

/// Reads listings, in order.
///
/// # Errors
/// A file that cannot be read, or whose header lacks a required column (`file:1: ...`).
pub fn read(paths: &[PathBuf], tiers: &[String]) -> anyhow::Result<Inventory> {
    let mut inv = Inventory::default();
    for p in paths {
        read_one(p, tiers, &mut inv)?;
    }
    Ok(inv)
}

/// Column positions from the header.
struct Columns {
    bucket: usize,
    key: usize,
    size: usize,
    modified: usize,
    tier: Option<usize>,
    url_encoded: bool,
}

fn columns(path: &Path, header: &[String]) -> anyhow::Result<Columns> {
    let find = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let need = |names: &[&str]| {
        find(names).ok_or_else(|| {
            anyhow::anyhow!(
                "{}:1: the header names no {:?} column; it has {:?} (needed: bucket, key, size, last_modified; optional: tier)",
                path.display(),
                names[0],
                header
            )
        })
    };
    let s3 = find(&["lastmodifieddate"]).is_some();
    Ok(Columns {
        bucket: need(&["bucket"])?,
        key: need(&["key"])?,
        size: need(&["size"])?,
        modified: need(&["last_modified", "lastmodifieddate", "last_modified_date"])?,
        tier: find(&["tier"]),
        url_encoded: s3,
    })
}

/// Counts a bad line (or row) and keeps the first ten, located.
fn bad(inv: &mut Inventory, at: String, why: String) {
    inv.bad_lines += 1;
    if inv.bad_shown.len() < 10 {
        inv.bad_shown.push(format!("{at}: {why}"));
    }
}

fn read_one(path: &Path, tiers: &[String], inv: &mut Inventory) -> anyhow::Result<()> {
    let name = path.display().to_string();
    let mut magic = [0u8; 4];
    let n = std::io::Read::read(
        &mut std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{name}: {e}"))?,
        &mut magic,
    )
    .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    if n == 4 && &magic == b"PAR1" {
        return read_parquet(path, tiers, inv);
    }
    // Read as ingest reads a local log: gzip or not, by its content.
    let mut opened = crate::ingest::Content::File(path.to_path_buf()).open(&name, 0)?;
    // Lines as bytes: a line that is not UTF-8 is a bad line, not the end of the listing.
    let mut raw = Vec::new();
    let mut next_line = |n: usize| -> anyhow::Result<Option<Result<String, String>>> {
        raw.clear();
        let read = opened
            .reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| anyhow::anyhow!("{name}:{n}: {e}"))?;
        if read == 0 {
            return Ok(None);
        }
        Ok(Some(String::from_utf8(std::mem::take(&mut raw)).map_err(
            |e| {
                format!(
                    "not UTF-8 text (an invalid byte 0x{:02X} at byte {})",
                    e.as_bytes()[e.utf8_error().valid_up_to()],
                    e.utf8_error().valid_up_to() + 1
                )
            },
        )))
    };
    let header = match next_line(1)? {
        // A spreadsheet's export may begin with a byte-order mark.
        Some(Ok(h)) => split(h.strip_prefix('\u{feff}').unwrap_or(&h))
            .map_err(|e| anyhow::anyhow!("{name}:1: {e}"))?,
        Some(Err(why)) => anyhow::bail!("{name}:1: the header is {why}"),
        None => anyhow::bail!("{name}: the inventory is empty (it needs a header line)"),
    };
    let cols = columns(path, &header)?;
    let mut n = 1;
    while let Some(line) = next_line(n + 1)? {
        n += 1;
        let line = match line {
            Ok(line) => line,
            Err(why) => {
                bad(inv, format!("{name}:{n}"), why);
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match split(&line).and_then(|f| parse(&f, &cols, tiers)) {
            Ok(o) => inv.objects.push(o),
            Err(why) => bad(inv, format!("{name}:{n}"), why),
        }
    }
    Ok(())
}

/// An inventory in Parquet, as S3 Inventory writes it: the same columns (`last_modified_date`, a
/// timestamp, or `last_modified`, a timestamp or RFC 3339 text), keys as they are (Parquet
/// reports do not URL-encode them). A bad row is located as `file:row N`.
fn read_parquet(path: &Path, tiers: &[String], inv: &mut Inventory) -> anyhow::Result<()> {
    read_parquet_sliced(path, tiers, inv, PARQUET_SLICE_ROWS)
}

/// [`read_parquet`], `slice` rows at a time.
fn read_parquet_sliced(
    path: &Path,
    tiers: &[String],
    inv: &mut Inventory,
    slice: usize,
) -> anyhow::Result<()> {
    let name = path.display().to_string();
    let unreadable = |e: models::Error| match e {
        models::Error::Polars(e) => anyhow::anyhow!("{name}: not a readable Parquet file: {e}"),
        other => anyhow::anyhow!("{name}: {other}"),
    };
    // The columns' types, before any row is read: a column of the wrong type is named with its
    // type, not reported as whatever converting it fails with.
    let file = models::parquet::readable(path, slice).map_err(unreadable)?;
    let schema = file.schema().map_err(unreadable)?;
    let names: Vec<String> = schema.iter_names().map(|c| c.to_string()).collect();
    let cols = columns(path, &names)?;
    let mut wanted = vec![
        (cols.bucket, Want::Text("bucket")),
        (cols.key, Want::Text("key")),
        (cols.size, Want::Integer),
        (cols.modified, Want::Time),
    ];
    wanted.extend(cols.tier.map(|t| (t, Want::Text("tier"))));
    for (i, want) in wanted {
        if let Some((column, field)) = schema.get_at_index(i) {
            check_type(&name, column, &field.dtype, want)?;
        }
    }
    // In slices, so that an inventory of many millions of objects is never held twice. Errors
    // of the rows' own are kept apart from the reader's, which name the file.
    let mut failed = None;
    file.each_slice(|offset, df| {
        slice_rows(path, &name, tiers, inv, offset, &df).map_err(|e| {
            failed = Some(e);
            models::Error::Schema(String::new())
        })
    })
    .map_err(|e| failed.take().unwrap_or_else(|| unreadable(e)))
}

/// The objects of one slice of a Parquet inventory (rows from `offset`, counted from 0).
fn slice_rows(
    path: &Path,
    name: &str,
    tiers: &[String],
    inv: &mut Inventory,
    offset: usize,
    df: &polars::prelude::DataFrame,
) -> anyhow::Result<()> {
    let header: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let cols = columns(path, &header)?;
    let text =
        |i: usize| as_text(df, i).map_err(|e| anyhow::anyhow!("{name}: column {}: {e}", header[i]));
    let mut fields = vec![
        text(cols.bucket)?,
        text(cols.key)?,
        text(cols.size)?,
        text(cols.modified)?,
    ];
    if let Some(t) = cols.tier {
        fields.push(text(t)?);
    }
    let by_position = Columns {
        bucket: 0,
        key: 1,
        size: 2,
        modified: 3,
        tier: cols.tier.map(|_| 4),
        url_encoded: false,
    };
    for row in 0..df.height() {
        let f: Vec<String> = fields
            .iter()
            .map(|c| c[row].clone().unwrap_or_default())
            .collect();
        match parse(&f, &by_position, tiers) {
            Ok(o) => inv.objects.push(o),
            Err(why) => bad(inv, format!("{name}:row {}", offset + row + 1), why),
        }
    }
    Ok(())
}

/// What an inventory column holds.
#[derive(Debug, Clone, Copy)]
enum Want {
    /// Text: the bucket, the key or the tier.
    Text(&'static str),
    /// The size: an integer (or text of one).
    Integer,
    /// The last-modified time: a timestamp (or RFC 3339 text).
    Time,
}

/// Refuses a Parquet column whose type cannot hold what the inventory needs from it.
fn check_type(
    name: &str,
    column: &str,
    dtype: &polars::prelude::ArrowDataType,
    want: Want,
) -> anyhow::Result<()> {
    use polars::prelude::ArrowDataType as T;
    let dtype = match dtype {
        T::Dictionary(_, values, _) => values.as_ref(),
        other => other,
    };
    let text = matches!(dtype, T::Utf8 | T::LargeUtf8 | T::Utf8View | T::Null);
    let fits = match want {
        Want::Text(_) => text,
        Want::Integer => {
            text || matches!(
                dtype,
                T::Int8
                    | T::Int16
                    | T::Int32
                    | T::Int64
                    | T::UInt8
                    | T::UInt16
                    | T::UInt32
                    | T::UInt64
            )
        }
        Want::Time => text || matches!(dtype, T::Timestamp(..)),
    };
    if fits {
        return Ok(());
    }
    let expected = match want {
        Want::Text(what) => format!("an inventory's {what} is text (a UTF-8 string column)"),
        Want::Integer => "an inventory's size is an integer (bytes)".to_string(),
        Want::Time => {
            "an inventory's last-modified time is a timestamp (or RFC 3339 text)".to_string()
        }
    };
    anyhow::bail!(
        "{name}: column {column} is {}; {expected}",
        describe_type(dtype)
    )
}

/// A Parquet column type in words.
fn describe_type(dtype: &polars::prelude::ArrowDataType) -> String {
    use polars::prelude::ArrowDataType as T;
    match dtype {
        T::Decimal(p, s) | T::Decimal32(p, s) | T::Decimal64(p, s) | T::Decimal256(p, s) => {
            format!("decimal({p},{s})")
        }
        T::List(f) | T::LargeList(f) | T::FixedSizeList(f, _) => {
            format!("a list of {}", describe_type(&f.dtype))
        }
        T::Binary | T::LargeBinary | T::BinaryView | T::FixedSizeBinary(_) => {
            "binary (bytes not marked as UTF-8 text)".to_string()
        }
        T::Struct(_) => "a struct".to_string(),
        T::Map(..) => "a map".to_string(),
        T::Boolean => "boolean".to_string(),
        T::Date32 | T::Date64 => "a date without a time".to_string(),
        T::Utf8 | T::LargeUtf8 | T::Utf8View => "text".to_string(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Rows of a Parquet inventory read at a time.
const PARQUET_SLICE_ROWS: usize = 1 << 20;

/// Column `i` of `df` as text, as a CSV listing would hold it: timestamps as RFC 3339 (whatever
/// their unit), numbers in decimal, nulls as `None`.
fn as_text(df: &polars::prelude::DataFrame, i: usize) -> anyhow::Result<Vec<Option<String>>> {
    use polars::prelude::{DataType, TimeUnit};
    let c = &df.columns()[i];
    if let DataType::Datetime(unit, _) = c.dtype() {
        let per_sec = match unit {
            TimeUnit::Milliseconds => 1_000,
            TimeUnit::Microseconds => 1_000_000,
            TimeUnit::Nanoseconds => 1_000_000_000,
        };
        let raw = c.cast(&DataType::Int64)?;
        let raw = raw.i64()?;
        return Ok((0..raw.len())
            .map(|r| {
                let t = chrono::DateTime::from_timestamp(raw.get(r)?.div_euclid(per_sec), 0)?;
                Some(t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            })
            .collect());
    }
    let c = c.cast(&DataType::String)?;
    let c = c.str()?;
    Ok((0..c.len()).map(|r| c.get(r).map(str::to_string)).collect())
}

/// One listed object from its fields, as the header's columns place them.
fn parse(f: &[String], c: &Columns, tiers: &[String]) -> Result<Listed, String> {
    let get = |i: usize, what: &str| {
        f.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("{} fields, no {what} (column {})", f.len(), i + 1))
    };
    let bucket = get(c.bucket, "bucket")?.to_string();
    let raw_key = get(c.key, "key")?;
    let key = if c.url_encoded {
        // S3 Inventory encodes spaces as `+` too.
        percent_decode_str(&raw_key.replace('+', " "))
            .decode_utf8()
            .map_err(|_| format!("key {raw_key:?} is not URL-encoded UTF-8"))?
            .into_owned()
    } else {
        raw_key.to_string()
    };
    if bucket.is_empty() || key.is_empty() {
        return Err("an empty bucket or key".into());
    }
    let size_s = get(c.size, "size")?;
    let size = size_s
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("size {size_s:?} is not a whole number of bytes"))?;
    if size > models::event::MAX_BYTES {
        return Err(format!(
            "size {size} is more than 1 PiB, larger than any object a store holds"
        ));
    }
    let m = get(c.modified, "last_modified")?;
    let last_modified = chrono::DateTime::parse_from_rfc3339(m.trim())
        .map_err(|_| format!("last_modified {m:?} is not an RFC 3339 time (2026-11-02T08:00:00Z)"))?
        .timestamp();
    let tier = match c.tier.map(|i| get(i, "tier")).transpose()? {
        Some(t) if !t.trim().is_empty() => {
            let t = t.trim();
            if !tiers.iter().any(|x| x == t) {
                return Err(format!(
                    "tier {t:?} is not a configured tier; known tiers: {}",
                    tiers.join(", ")
                ));
            }
            Some(t.to_string())
        }
        _ => None,
    };
    Ok(Listed {
        bucket,
        key,
        size,
        last_modified,
        tier,
    })
}

/// Splits one CSV line (RFC 4180 quoting, on one line).
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(ch) = chars.next() {
        match ch {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    if chars.peek().is_some_and(|&c| c != ',') {
                        return Err(format!(
                            "text after a closing quote in field {}",
                            out.len() + 1
                        ));
                    }
                }
            }
            ',' if !quoted => {
                out.push(std::mem::take(&mut field));
                at_start = true;
            }
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(format!("an unclosed quote in field {}", out.len() + 1));
    }
    out.push(field);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiers() -> Vec<String> {
        vec!["onprem".into(), "cloud".into()]
    }

    #[test]
    fn an_s3_inventory_in_parquet_is_read_with_bad_rows_located() {
        use polars::prelude::{Column, DataFrame, DataType, ParquetWriter, TimeUnit};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.parquet");
        // S3 Inventory's Parquet columns: timestamps in milliseconds, keys not URL-encoded.
        let modified = Column::new(
            "last_modified_date".into(),
            [Some(1_767_323_045_000i64), Some(1_748_736_000_000), None],
        )
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .unwrap();
        let mut df = DataFrame::new(
            3,
            vec![
                Column::new("bucket".into(), ["photos", "photos", "photos"]),
                Column::new("key".into(), ["a b+c.jpg", "old/x.bin", "d.jpg"]),
                Column::new("size".into(), [100i64, 200, 300]),
                modified,
                Column::new("storage_class".into(), ["STANDARD", "GLACIER", "STANDARD"]),
            ],
        )
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .finish(&mut df)
            .unwrap();
        let inv = read(std::slice::from_ref(&p), &tiers()).unwrap();
        let got: Vec<(&str, u64, i64)> = inv
            .objects
            .iter()
            .map(|o| (o.key.as_str(), o.size, o.last_modified))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a b+c.jpg", 100, 1_767_323_045),
                ("old/x.bin", 200, 1_748_736_000)
            ]
        );
        assert_eq!(inv.bad_lines, 1);
        let shown = &inv.bad_shown[0];
        assert!(
            shown.starts_with(&format!("{}:row 3: last_modified", p.display())),
            "{shown}"
        );
        // Read two rows at a time: the same objects, the bad row located the same.
        let mut sliced = Inventory::default();
        read_parquet_sliced(&p, &tiers(), &mut sliced, 2).unwrap();
        assert_eq!(sliced, inv);
        // A Parquet file without a required column names what it has.
        let q = dir.path().join("q.parquet");
        let mut df = DataFrame::new(1, vec![Column::new("bucket".into(), ["photos"])]).unwrap();
        ParquetWriter::new(std::fs::File::create(&q).unwrap())
            .finish(&mut df)
            .unwrap();
        let e = read(std::slice::from_ref(&q), &tiers())
            .unwrap_err()
            .to_string();
        assert!(e.contains("names no \"key\" column"), "{e}");
    }

    #[test]
    fn a_listing_with_quotes_tiers_and_bad_lines_is_read_with_locations() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv");
        std::fs::write(
            &p,
            "Size,Bucket,Key,last_modified,tier,etag\n\
             100,photos,\"a,b.jpg\",2026-01-02T03:04:05Z,,x\n\
             200,photos,\"old/\"\"q\"\".bin\",2025-06-01T00:00:00Z,cloud,y\n\
             -5,photos,c.jpg,2026-01-02T03:04:05Z,,z\n\
             300,photos,d.jpg,yesterday,,z\n\
             300,photos,e.jpg,2026-01-02T03:04:05Z,tape,z\n\
             \n",
        )
        .unwrap();
        let inv = read(std::slice::from_ref(&p), &tiers()).unwrap();
        assert_eq!(inv.objects.len(), 2);
        assert_eq!(inv.objects[0].key, "a,b.jpg");
        assert_eq!(inv.objects[0].size, 100);
        assert_eq!(inv.objects[0].last_modified, 1_767_323_045);
        assert_eq!(inv.objects[0].tier, None);
        assert_eq!(inv.objects[1].key, "old/\"q\".bin");
        assert_eq!(inv.objects[1].tier.as_deref(), Some("cloud"));
        assert_eq!(inv.bad_lines, 3);
        let p = p.display();
        assert_eq!(
            inv.bad_shown,
            vec![
                format!("{p}:4: size \"-5\" is not a whole number of bytes"),
                format!(
                    "{p}:5: last_modified \"yesterday\" is not an RFC 3339 time (2026-11-02T08:00:00Z)"
                ),
                format!(
                    "{p}:6: tier \"tape\" is not a configured tier; known tiers: onprem, cloud"
                ),
            ]
        );
    }

    #[test]
    fn an_s3_inventory_report_with_its_schema_line_decodes_keys_and_gzip_is_transparent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv.gz");
        let text = "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass\n\
                    photos,2025/summer+trip/a%C3%A9.jpg,42,2025-08-01T10:00:00.000Z,abc,STANDARD\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        let inv = read(&[p], &tiers()).unwrap();
        assert_eq!(inv.bad_lines, 0, "{:?}", inv.bad_shown);
        assert_eq!(inv.objects[0].key, "2025/summer trip/aé.jpg");
        assert_eq!(inv.objects[0].size, 42);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_a_bad_line_and_a_byte_order_mark_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv");
        let mut text = b"\xEF\xBB\xBFbucket,key,size,last_modified\n".to_vec();
        text.extend_from_slice(b"photos,a.jpg,1,2026-01-02T03:04:05Z\n");
        text.extend_from_slice(b"photos,b\xFF.jpg,2,2026-01-02T03:04:05Z\n");
        text.extend_from_slice(b"photos,c.jpg,3,2026-01-02T03:04:05Z");
        std::fs::write(&p, text).unwrap();
        let inv = read(std::slice::from_ref(&p), &tiers()).unwrap();
        let keys: Vec<&str> = inv.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["a.jpg", "c.jpg"]);
        assert_eq!(inv.bad_lines, 1);
        assert_eq!(
            inv.bad_shown,
            vec![format!(
                "{}:3: not UTF-8 text (an invalid byte 0xFF at byte 9)",
                p.display()
            )]
        );
    }

    #[test]
    fn a_parquet_column_of_the_wrong_type_is_named_with_its_type_and_the_file() {
        use polars::prelude::{Column, DataFrame, DataType, ParquetWriter};
        let dir = tempfile::tempdir().unwrap();
        let refused = |name: &str, size: Column, bucket: Column| -> String {
            let p = dir.path().join(name);
            let mut df = DataFrame::new(
                1,
                vec![
                    bucket,
                    Column::new("key".into(), ["k"]),
                    size,
                    Column::new("last_modified".into(), ["2026-01-02T03:04:05Z"]),
                ],
            )
            .unwrap();
            ParquetWriter::new(std::fs::File::create(&p).unwrap())
                .finish(&mut df)
                .unwrap();
            let e = read(std::slice::from_ref(&p), &tiers()).unwrap_err();
            e.to_string()
                .replace(&dir.path().display().to_string(), "DIR")
        };
        let bucket = || Column::new("bucket".into(), ["photos"]);
        assert_eq!(
            refused(
                "float.parquet",
                Column::new("size".into(), [1.5f64]),
                bucket()
            ),
            "DIR/float.parquet: column size is float64; an inventory's size is an integer (bytes)"
        );
        let binary = Column::new("bucket".into(), ["photos"])
            .cast(&DataType::Binary)
            .unwrap();
        assert_eq!(
            refused("binary.parquet", Column::new("size".into(), [1i64]), binary),
            "DIR/binary.parquet: column bucket is binary (bytes not marked as UTF-8 text); an inventory's bucket is text (a UTF-8 string column)"
        );
        // Integer and text sizes are both read.
        let p = dir.path().join("ok.parquet");
        let mut df = DataFrame::new(
            1,
            vec![
                bucket(),
                Column::new("key".into(), ["k"]),
                Column::new("size".into(), [7u32]),
                Column::new("last_modified".into(), ["2026-01-02T03:04:05Z"]),
            ],
        )
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .finish(&mut df)
            .unwrap();
        let inv = read(std::slice::from_ref(&p), &tiers()).unwrap();
        assert_eq!((inv.objects.len(), inv.objects[0].size), (1, 7));
    }

    #[test]
    fn a_header_without_a_required_column_is_refused_with_its_location() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv");
        std::fs::write(&p, "bucket,key,size\nb,k,1\n").unwrap();
        let e = read(std::slice::from_ref(&p), &tiers())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!(
                "{}:1: the header names no \"last_modified\" column",
                p.display()
            )),
            "{e}"
        );
    }
}
