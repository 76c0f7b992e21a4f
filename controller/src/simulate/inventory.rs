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
        modified: need(&["last_modified", "lastmodifieddate"])?,
        tier: find(&["tier"]),
        url_encoded: s3,
    })
}

fn read_one(path: &Path, tiers: &[String], inv: &mut Inventory) -> anyhow::Result<()> {
    let name = path.display().to_string();
    // Read as ingest reads a local log: gzip or not, by its content.
    let opened = crate::ingest::Content::File(path.to_path_buf()).open(&name, 0)?;
    let mut lines = opened.reader.lines();
    let header = match lines.next() {
        Some(h) => split(&h.map_err(|e| anyhow::anyhow!("{name}:1: {e}"))?)
            .map_err(|e| anyhow::anyhow!("{name}:1: {e}"))?,
        None => anyhow::bail!("{name}: the inventory is empty (it needs a header line)"),
    };
    let cols = columns(path, &header)?;
    for (i, line) in lines.enumerate() {
        let n = i + 2;
        let line = line.map_err(|e| anyhow::anyhow!("{name}:{n}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        match parse(&line, &cols, tiers) {
            Ok(o) => inv.objects.push(o),
            Err(why) => {
                inv.bad_lines += 1;
                if inv.bad_shown.len() < 10 {
                    inv.bad_shown.push(format!("{name}:{n}: {why}"));
                }
            }
        }
    }
    Ok(())
}

fn parse(line: &str, c: &Columns, tiers: &[String]) -> Result<Listed, String> {
    let f = split(line)?;
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
