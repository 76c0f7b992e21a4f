//! Streaming parse speed of the S3 server access log parser, on one core.
//!
//! Generates a realistic log file (seeded, so every run reads the same bytes) in a temporary
//! directory, then measures, best of three passes each:
//! 1. `s3-read`: lines read with a `BufReader` and counted: the ceiling a parser can reach;
//! 2. `s3-parse`: the same read plus `parse_line` on every line.
//!
//! ```text
//! cargo bench -p tierd-models --bench parse --profile dev        # 1,000,000 lines
//! TIERD_BENCH_LINES=200000 cargo bench -p tierd-models --bench parse --profile dev
//! ```
//! `--profile dev` reuses the dev build: the workspace compiles tierd-models at opt-level 3 there,
//! so the parser runs at full speed without building polars in release (about an hour on two
//! cores). Plain `cargo bench` works too, after that release build.
//! Run without `--bench` (as `cargo test --benches` does), it makes a 20,000-line smoke run and
//! only checks that every line parses.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use models::parse::s3::parse_line;

const OWNER: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

const USER_AGENTS: [&str; 8] = [
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0-18-cloud-amd64 exe/x86_64.debian.12 prompt/off command/s3.cp",
    "aws-sdk-java/2.25.11 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10",
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.12.2 cfg/retry-mode#legacy",
    "rclone/v1.66.0",
    "MinIO (linux; amd64) minio-go/v7.0.70 mc/RELEASE.2024-03-09T06-43-06Z",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
    "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488 Linux/5.10.216-182.855.amzn2int.x86_64",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.53.0",
];

const PRINCIPALS: [&str; 5] = [
    "arn:aws:iam::123456789012:user/alice",
    "arn:aws:sts::123456789012:assumed-role/etl-writer/i-0123456789abcdef0",
    "arn:aws:sts::123456789012:assumed-role/backup/AWSBackup-Job-77",
    OWNER,
    "-",
];

const DIRS: [&str; 6] = [
    "data/2024/03/10",
    "raw/ingest%20queue/part",
    "users/ren%C3%A9e/photos",
    "logs/app-server",
    "backups/db",
    "models/v2%2Bfinal",
];

/// xorshift64*: a small seeded generator, enough to vary a benchmark file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn generate(path: &Path, lines: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut rng = Rng(0x7469_6572_642d_7333);
    for i in 0..lines {
        let t = i * 86_400 / lines.max(1);
        let time = format!(
            "[10/Mar/2024:{:02}:{:02}:{:02} +0000]",
            t / 3600,
            t / 60 % 60,
            t % 60
        );
        let ip = format!("10.{}.{}.{}", rng.below(4), rng.below(256), rng.below(256));
        let who = PRINCIPALS[rng.below(PRINCIPALS.len() as u64) as usize];
        let rid = format!("{:016X}", rng.next());
        let key = format!(
            "{}/file-{}%20copy.parquet",
            DIRS[rng.below(DIRS.len() as u64) as usize],
            rng.below(100_000)
        );
        let size = 1 + rng.below(64 << 20);
        let ua = USER_AGENTS[rng.below(USER_AGENTS.len() as u64) as usize];
        let roll = rng.below(100);
        let (op, key, request, status, error, sent, osize, auth) = match roll {
            0..=44 => (
                "REST.GET.OBJECT",
                key.as_str(),
                "GET",
                "200",
                "-",
                size.to_string(),
                size.to_string(),
                "AuthHeader",
            ),
            45..=47 => (
                "REST.GET.OBJECT",
                key.as_str(),
                "GETSIGNED",
                "200",
                "-",
                size.to_string(),
                size.to_string(),
                "QueryString",
            ),
            48..=50 => (
                "REST.GET.OBJECT",
                key.as_str(),
                "GET",
                "404",
                "NoSuchKey",
                "243".to_owned(),
                "-".to_owned(),
                "AuthHeader",
            ),
            51..=65 => (
                "REST.PUT.OBJECT",
                key.as_str(),
                "PUT",
                "200",
                "-",
                "-".to_owned(),
                size.to_string(),
                "AuthHeader",
            ),
            66..=75 => (
                "REST.HEAD.OBJECT",
                key.as_str(),
                "HEAD",
                "200",
                "-",
                "-".to_owned(),
                size.to_string(),
                "AuthHeader",
            ),
            76..=83 => (
                "REST.GET.BUCKET",
                "-",
                "LIST",
                "200",
                "-",
                "18403".to_owned(),
                "-".to_owned(),
                "AuthHeader",
            ),
            84..=88 => (
                "REST.DELETE.OBJECT",
                key.as_str(),
                "DELETE",
                "204",
                "-",
                "-".to_owned(),
                "-".to_owned(),
                "AuthHeader",
            ),
            89..=93 => (
                "REST.PUT.PART",
                key.as_str(),
                "PART",
                "200",
                "-",
                "-".to_owned(),
                "8388608".to_owned(),
                "AuthHeader",
            ),
            94..=95 => (
                "REST.COPY.OBJECT_GET",
                key.as_str(),
                "COPY",
                "200",
                "-",
                "-".to_owned(),
                size.to_string(),
                "AuthHeader",
            ),
            96..=98 => (
                "S3.TRANSITION_SIA.OBJECT",
                key.as_str(),
                "-",
                "-",
                "-",
                "-".to_owned(),
                size.to_string(),
                "-",
            ),
            _ => (
                "REST.PUT.LIFECYCLE",
                "-",
                "CONFIG",
                "200",
                "-",
                "-".to_owned(),
                "-".to_owned(),
                "AuthHeader",
            ),
        };
        let request = match request {
            "GET" => format!("\"GET /photos/{key} HTTP/1.1\""),
            "GETSIGNED" => format!(
                "\"GET /photos/{key}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240310%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240310T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature={:016x}{:016x} HTTP/1.1\"",
                rng.next(),
                rng.next()
            ),
            "PUT" => format!("\"PUT /photos/{key} HTTP/1.1\""),
            "HEAD" => format!("\"HEAD /photos/{key} HTTP/1.1\""),
            "LIST" => "\"GET /photos?list-type=2&prefix=data%2F2024%2F HTTP/1.1\"".to_owned(),
            "DELETE" => format!("\"DELETE /photos/{key} HTTP/1.1\""),
            "PART" => {
                format!("\"PUT /photos/{key}?partNumber=3&uploadId=VXBsb2FkIElEIGZvcg HTTP/1.1\"")
            }
            "COPY" => format!("\"PUT /archive/{key} HTTP/1.1\""),
            "CONFIG" => "\"PUT /photos?lifecycle HTTP/1.1\"".to_owned(),
            _ => "\"-\"".to_owned(),
        };
        let (who, ua, sig) = if op.starts_with("S3.") {
            ("AmazonS3", "-", "-")
        } else {
            (who, ua, "SigV4")
        };
        writeln!(
            out,
            "{OWNER} photos {time} {ip} {who} {rid} {op} {key} {request} {status} {error} {sent} {osize} {} {} \"-\" \"{ua}\" - {:016x}{:016x}= {sig} ECDHE-RSA-AES128-GCM-SHA256 {auth} photos.s3.us-east-1.amazonaws.com TLSv1.2 - - us-east-1",
            1 + rng.below(900),
            rng.below(50),
            rng.next(),
            rng.next(),
        )?;
    }
    out.flush()
}

struct Pass {
    lines: u64,
    bytes: u64,
    events: u64,
    errors: u64,
    elapsed: Duration,
}

fn pass(path: &Path, parse: bool) -> std::io::Result<Pass> {
    let start = Instant::now();
    let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut line = String::with_capacity(1024);
    let (mut lines, mut bytes, mut events, mut errors) = (0u64, 0u64, 0u64, 0u64);
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            break;
        }
        lines += 1;
        bytes += n as u64;
        if parse {
            match parse_line(&line) {
                Ok(Some(event)) => {
                    std::hint::black_box(&event);
                    events += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    if errors == 0 {
                        eprintln!("line {lines}: {e}");
                    }
                    errors += 1;
                }
            }
        } else {
            std::hint::black_box(&line);
        }
    }
    Ok(Pass {
        lines,
        bytes,
        events,
        errors,
        elapsed: start.elapsed(),
    })
}

fn best(path: &Path, parse: bool, runs: usize) -> std::io::Result<Pass> {
    let mut best = pass(path, parse)?;
    for _ in 1..runs {
        let p = pass(path, parse)?;
        if p.elapsed < best.elapsed {
            best = p;
        }
    }
    Ok(best)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn report(name: &str, p: &Pass, unit: &str) {
    let secs = p.elapsed.as_secs_f64();
    let mb = p.bytes as f64 / 1e6;
    let count = if unit == "events" { p.events } else { p.lines };
    println!(
        "{name}: {} lines, {mb:.1} MB, {secs:.2} s, {} {unit}/s, {:.1} MB/s",
        p.lines,
        thousands((count as f64 / secs) as u64),
        mb / secs
    );
}

fn main() -> std::io::Result<()> {
    let full = std::env::args().any(|a| a == "--bench");
    let lines = std::env::var("TIERD_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 1_000_000 } else { 20_000 });
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s3-access.log");
    generate(&path, lines)?;

    let runs = if full { 3 } else { 1 };
    let raw = best(&path, false, runs)?;
    let parsed = best(&path, true, runs)?;
    if parsed.errors > 0 || parsed.events != lines {
        eprintln!(
            "s3-parse: {} of {lines} lines failed to parse; the benchmark is invalid",
            parsed.errors
        );
        std::process::exit(1);
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores available; one thread measured; best of {runs}");
    report("s3-read", &raw, "lines");
    report("s3-parse", &parsed, "events");
    println!(
        "s3-parse: {:.0} ns per line, of which {:.0} ns reading",
        parsed.elapsed.as_nanos() as f64 / lines as f64,
        raw.elapsed.as_nanos() as f64 / lines as f64
    );
    Ok(())
}
