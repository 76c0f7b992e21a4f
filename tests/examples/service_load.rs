//! Benchmark: sustained ingest into the real `tierd run` service.
//!
//! A writer appends S3 server access-log lines to files in a local folder source at a fixed
//! rate (the service follows growing files; files are rotated every few seconds and removed
//! once the service has read them, as log rotation would), while the service runs its cycle
//! (ingest, score with a trained model, plan with the bundled policy, execute) every second.
//! Every `--inject-every` seconds the writer also appends a bucket-lifecycle change by an admin,
//! which the bundled policy's `alert-protection-change` rule turns into an alert: the time from
//! that line being written to the alert appearing in the decision log is the decision latency.
//!
//! ```sh
//! cargo build -p tierd && cargo run -p tierd-tests --example service_load -- --rate 50000 --secs 600
//! ```
//! Options: `--rate N` lines per second (50000), `--secs N` (600), `--buckets N` (20),
//! `--objects N` per bucket (20000), `--inject-every N` seconds (30), `--interval N` the
//! service's ingest interval in seconds (1), `--rotate N` seconds per log file (5).
//! The `tierd` binary is the one `cargo build -p tierd` made (dev profile) under the target
//! directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use harness::s3log::Record;
use models::generator::{GeneratorConfig, generate};

const DAY_US: i64 = 86_400_000_000;
const ACCOUNT: &str = "arn:aws:iam::123456789012";
const JAVA: &str = "aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21";

#[derive(Debug, Clone)]
struct Opts {
    rate: u64,
    secs: u64,
    buckets: u32,
    objects: u64,
    inject_every: u64,
    interval: u64,
    rotate: u64,
}

fn parse_opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        rate: 50_000,
        secs: 600,
        buckets: 20,
        objects: 20_000,
        inject_every: 30,
        interval: 1,
        rotate: 5,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v: u64 = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))?
            .parse()?;
        match a.as_str() {
            "--rate" => o.rate = v,
            "--secs" => o.secs = v,
            "--buckets" => o.buckets = v as u32,
            "--objects" => o.objects = v,
            "--inject-every" => o.inject_every = v,
            "--interval" => o.interval = v,
            "--rotate" => o.rotate = v,
            _ => anyhow::bail!("unknown option {a}"),
        }
    }
    Ok(o)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The `tierd` binary of the dev profile, next to this example's target folder.
fn tierd_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/debug/examples/service_load → target/debug/tierd
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tierd"))
        .ok_or_else(|| anyhow::anyhow!("no target folder"))?;
    anyhow::ensure!(
        bin.exists(),
        "{} is missing: run `cargo build -p tierd` first",
        bin.display()
    );
    Ok(bin)
}

/// xorshift64*: the writer's seeded randomness (cheap enough for 50k lines a second).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One benign request of a bucket's service principal.
fn line(rng: &mut Rng, o: &Opts, t_us: i64, seq: u64) -> String {
    let b = (rng.next() % u64::from(o.buckets)) as u32;
    // Zipf-like popularity: log-uniform rank.
    let n = (((o.objects as f64 + 1.0).ln() * rng.unit()).exp() as u64).saturating_sub(1);
    let size = 1_000 + n.wrapping_mul(2_654_435_761) % 2_000_000;
    let p = rng.next() % 100;
    let (method, op, sent, status) = match p {
        0..=69 => ("GET", "REST.GET.OBJECT", size, 200),
        70..=84 => ("HEAD", "REST.HEAD.OBJECT", 0, 200),
        85..=95 => ("PUT", "REST.PUT.OBJECT", 0, 200),
        96..=97 => ("GET", "REST.GET.OBJECT", 243, 404),
        _ => ("DELETE", "REST.DELETE.OBJECT", 0, 204),
    };
    Record {
        time_us: t_us,
        bucket: format!("bucket-{b:02}"),
        remote_ip: format!("10.0.{b}.10"),
        requester: format!("{ACCOUNT}:user/app-{b:02}"),
        request_id: format!("{seq:016X}"),
        operation: op.into(),
        key: Some(format!("data/{n:07}.bin")),
        method: method.into(),
        status,
        error_code: (status == 404).then(|| "NoSuchKey".to_string()),
        bytes_sent: sent,
        object_size: (status == 200 && method != "DELETE").then_some(size),
        total_ms: 5 + seq % 40,
        user_agent: JAVA.into(),
    }
    .line()
}

fn lifecycle_change(t_us: i64, bucket: &str, seq: u64) -> String {
    Record {
        time_us: t_us,
        bucket: bucket.into(),
        remote_ip: "192.0.2.50".into(),
        requester: format!("{ACCOUNT}:user/admin"),
        request_id: format!("{seq:016X}"),
        operation: "REST.PUT.LIFECYCLE".into(),
        key: None,
        method: "PUT".into(),
        status: 200,
        error_code: None,
        bytes_sent: 0,
        object_size: None,
        total_ms: 30,
        user_agent: "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.debian.12 prompt/off command/s3api.put-bucket-lifecycle-configuration".into(),
    }
    .line()
}

/// What the writer did, shared with the monitor.
#[derive(Default)]
struct Written {
    lines: AtomicU64,
    /// (file, lines written up to its end) of closed files.
    closed: Mutex<Vec<(PathBuf, u64)>>,
    /// (bucket, wall µs when the line was flushed, event time µs) of each injected change.
    injected: Mutex<Vec<(String, i64, i64)>>,
    stop: AtomicBool,
}

fn writer(o: Opts, logs: PathBuf, w: Arc<Written>) -> anyhow::Result<()> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = Instant::now();
    let tick = Duration::from_millis(10);
    let mut file_no = 0u64;
    let open = |no: u64| -> anyhow::Result<(PathBuf, std::io::BufWriter<std::fs::File>)> {
        let p = logs.join(format!("access-{no:06}.log"));
        let f = std::fs::File::create(&p)?;
        Ok((p, std::io::BufWriter::with_capacity(1 << 20, f)))
    };
    let (mut path, mut out) = open(file_no)?;
    let mut lines = 0u64;
    let mut next_inject = o.inject_every;
    let mut injections = 0u64;
    let mut ticks = 0u64;
    while !w.stop.load(Ordering::Relaxed) {
        let elapsed = start.elapsed();
        if elapsed.as_secs() >= o.secs {
            break;
        }
        // Catch up to the rate: lines due by now.
        let due = (elapsed.as_secs_f64() * o.rate as f64) as u64;
        let t = now_us();
        while lines < due {
            lines += 1;
            let l = line(&mut rng, &o, t, lines);
            out.write_all(l.as_bytes())?;
            out.write_all(b"\n")?;
        }
        if elapsed.as_secs() >= next_inject {
            let bucket = format!("bucket-{:02}", injections % u64::from(o.buckets));
            injections += 1;
            lines += 1;
            let t = now_us();
            out.write_all(lifecycle_change(t, &bucket, lines).as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
            w.injected
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((bucket, now_us(), t));
            next_inject += o.inject_every;
        }
        out.flush()?;
        w.lines.store(lines, Ordering::Relaxed);
        ticks += 1;
        if elapsed.as_secs() / o.rotate.max(1) > file_no {
            file_no = elapsed.as_secs() / o.rotate.max(1);
            w.closed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((path.clone(), lines));
            (path, out) = open(file_no)?;
        }
        let next = start + tick * (ticks as u32);
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    out.flush()?;
    w.closed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push((path, lines));
    w.lines.store(lines, Ordering::Relaxed);
    Ok(())
}

fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, seconds.
fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0; // USER_HZ on Linux
    let u: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let st: f64 = f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    (u + st) / tick
}

/// New complete lines of a growing file since `pos`.
fn tail(path: &Path, pos: &mut u64) -> Vec<String> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    if f.seek(SeekFrom::Start(*pos)).is_err() {
        return Vec::new();
    }
    let mut r = BufReader::new(f);
    let mut out = Vec::new();
    let mut buf = String::new();
    loop {
        buf.clear();
        match r.read_line(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !buf.ends_with('\n') {
                    break;
                }
                *pos += n as u64;
                out.push(buf.trim_end().to_string());
            }
        }
    }
    out
}

fn train(dir: &Path, bin: &Path, buckets: u32) -> anyhow::Result<()> {
    let today = now_us().div_euclid(DAY_US);
    let cfg = GeneratorConfig {
        seed: 5,
        start_day: today - 3,
        days: 3,
        buckets,
        objects_per_bucket: 400,
        app_ops_per_day: 2_000,
        incidents_per_bucket: 0,
        ..GeneratorConfig::default()
    };
    std::fs::create_dir_all(dir.join("train"))?;
    let f = std::fs::File::create(dir.join("train/access.log"))?;
    generate(&cfg, std::io::BufWriter::new(f))?;
    let out = Command::new(bin)
        .current_dir(dir)
        .args([
            "train",
            "--logs",
            "train",
            "--out",
            "model.json",
            "--learning-days",
            "1",
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "tierd train failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let o = parse_opts()?;
    let bin = tierd_bin()?;
    let work = tempfile::Builder::new()
        .prefix("tierd-load-")
        .tempdir_in(std::env::temp_dir())?;
    let dir = work.path();
    eprintln!("work folder {}; training the model...", dir.display());
    let t = Instant::now();
    train(dir, &bin, o.buckets)?;
    eprintln!("trained in {:.0} s", t.elapsed().as_secs_f64());
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    std::fs::write(
        dir.join("tierd.toml"),
        format!(
            r#"[journal]
path = "tierd.db"
[tiers.onprem]
url = "file://onprem"
price = {{ storage_gb_month = 0.02 }}
[tiers.cloud]
url = "file://cloud"
price = {{ storage_gb_month = 0.004, retrieval_gb = 0.03, egress_gb = 0.09, requests_per_1000 = 0.02 }}
[tiers.vault]
url = "file://vault"
role = "vault"
[ingest]
sources = ["logs/"]
format = "s3"
[policies]
files = ["builtin:default"]
[model]
path = "model.json"
[service]
listen = "off"
decision_log = "decisions.jsonl"
ingest_interval = "{}s"
"#,
            o.interval
        ),
    )?;
    let stderr_path = dir.join("tierd.stderr");
    let mut child: Child = Command::new(&bin)
        .current_dir(dir)
        .args(["run", "--config", "tierd.toml"])
        .env("TIERD_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path)?)
        .spawn()?;
    let pid = child.id();

    let w = Arc::new(Written::default());
    let writer_handle = {
        let (o, logs, w) = (o.clone(), logs.clone(), Arc::clone(&w));
        std::thread::spawn(move || writer(o, logs, w))
    };

    // Monitor: cycles, decisions, memory, file removal.
    let start = Instant::now();
    let (mut err_pos, mut dec_pos) = (0u64, 0u64);
    let mut ingested = 0u64;
    let mut cycles: Vec<(f64, u64)> = Vec::new(); // (seconds since start, events)
    let mut failed_cycles = 0u64;
    let mut decisions: BTreeMap<String, u64> = BTreeMap::new();
    let mut latencies: Vec<(String, f64, f64)> = Vec::new(); // (bucket, seen - written, at - event)
    let mut rss_samples: Vec<(f64, u64)> = Vec::new();
    let mut max_backlog = 0u64;
    let mut removed = 0usize;
    let mut last_print = 0u64;
    let deadline = Duration::from_secs(o.secs + 180);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now_s = start.elapsed().as_secs_f64();
        for l in tail(&stderr_path, &mut err_pos) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&l) else {
                continue;
            };
            match v["fields"]["message"].as_str() {
                Some("cycle done") => {
                    let n = v["fields"]["events"].as_u64().unwrap_or(0);
                    ingested += n;
                    cycles.push((now_s, n));
                }
                Some(m) if m.starts_with("cycle failed") => failed_cycles += 1,
                _ => {}
            }
        }
        let seen = now_us();
        for l in tail(&dir.join("decisions.jsonl"), &mut dec_pos) {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&l) else {
                continue;
            };
            let key = format!(
                "{} {}",
                v["action"].as_str().unwrap_or("?"),
                v["state"].as_str().unwrap_or("?")
            );
            *decisions.entry(key).or_default() += 1;
            if v["action"] == "alert" && v["rule"] == "alert-protection-change" {
                let b = v["bucket"].as_str().unwrap_or_default().to_string();
                let inj = w
                    .injected
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                if let Some((_, written, ev)) = inj.iter().rev().find(|(ib, _, _)| *ib == b) {
                    let at = chrono_secs(v["at"].as_str().unwrap_or_default());
                    latencies.push((
                        b,
                        (seen - written) as f64 / 1e6,
                        at.map_or(f64::NAN, |a| a as f64 - *ev as f64 / 1e6),
                    ));
                }
            }
        }
        let written = w.lines.load(Ordering::Relaxed);
        max_backlog = max_backlog.max(written.saturating_sub(ingested));
        // Remove files the service has read completely, keeping the newest two closed ones.
        {
            let mut closed = w
                .closed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            while closed.len() > 2 && closed[0].1 <= ingested {
                let (p, _) = closed.remove(0);
                let _ = std::fs::remove_file(p);
                removed += 1;
            }
        }
        let s = now_s as u64;
        if s > last_print {
            last_print = s;
            rss_samples.push((now_s, status_kb(pid, "VmRSS:")));
            if s.is_multiple_of(10) {
                eprintln!(
                    "{s:>4} s: written {written}, ingested {ingested}, backlog {}, rss {} MiB, cpu {:.0} s",
                    written.saturating_sub(ingested),
                    status_kb(pid, "VmRSS:") / 1024,
                    cpu_secs(pid)
                );
            }
        }
        if let Ok(Some(st)) = child.try_wait() {
            anyhow::bail!(
                "tierd exited early with {st}; see {}",
                stderr_path.display()
            );
        }
        let writer_done = writer_handle.is_finished();
        if (writer_done && ingested >= written) || start.elapsed() > deadline {
            break;
        }
    }
    w.stop.store(true, Ordering::Relaxed);
    let writer_result = writer_handle.join();
    let hwm = status_kb(pid, "VmHWM:");
    let cpu = cpu_secs(pid);
    let wall = start.elapsed().as_secs_f64();
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let stop_t = Instant::now();
    let code = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st.code();
        }
        if stop_t.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if let Ok(Err(e)) = writer_result {
        eprintln!("writer failed: {e}");
    }

    // The table.
    let written = w.lines.load(Ordering::Relaxed);
    let secs = o.secs as f64;
    println!(
        "\n## tierd run under load: {} lines/s for {} s\n",
        o.rate, o.secs
    );
    println!("| measurement | value |\n|---|---:|");
    println!(
        "| lines written | {written} ({:.0}/s) |",
        written as f64 / secs
    );
    println!("| events ingested | {ingested} |");
    let during: u64 = cycles
        .iter()
        .filter(|(t, _)| *t <= secs)
        .map(|(_, n)| n)
        .sum();
    println!(
        "| ingested during the {} s of writing | {during} ({:.0} events/s) |",
        o.secs,
        during as f64 / secs
    );
    println!(
        "| time to drain after writing stopped | {:.1} s |",
        (wall - secs).max(0.0)
    );
    println!("| max backlog (written - ingested) | {max_backlog} lines |");
    println!("| cycles | {} ({failed_cycles} failed) |", cycles.len());
    if cycles.len() > 1 {
        let gaps: Vec<f64> = cycles.windows(2).map(|w| w[1].0 - w[0].0).collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let max = gaps.iter().cloned().fold(0.0, f64::max);
        println!(
            "| time between cycle ends (interval {} s + cycle) | mean {mean:.2} s, max {max:.2} s |",
            o.interval
        );
        let per: Vec<u64> = cycles.iter().map(|c| c.1).collect();
        println!(
            "| events per cycle | mean {:.0}, max {} |",
            per.iter().sum::<u64>() as f64 / per.len() as f64,
            per.iter().max().unwrap_or(&0)
        );
    }
    println!(
        "| tierd CPU time | {cpu:.0} s over {wall:.0} s ({:.0}% of one core) |",
        100.0 * cpu / wall
    );
    println!("| peak RSS (VmHWM) | {:.1} MiB |", hwm as f64 / 1024.0);
    let rss_at = |frac: f64| {
        rss_samples
            .iter()
            .find(|(t, _)| *t >= secs * frac)
            .map_or(0.0, |(_, kb)| *kb as f64 / 1024.0)
    };
    println!(
        "| RSS at 25% / 50% / 75% / 100% of the run | {:.0} / {:.0} / {:.0} / {:.0} MiB |",
        rss_at(0.25),
        rss_at(0.5),
        rss_at(0.75),
        rss_at(1.0)
    );
    let inj = w
        .injected
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .len();
    let mut lat: Vec<f64> = latencies.iter().map(|l| l.1).collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
    };
    println!(
        "| config changes injected / alerted | {inj} / {} |",
        latencies.len()
    );
    if let (Some(p50), Some(p100)) = (pct(0.5), pct(1.0)) {
        println!(
            "| latency, line written → alert in the decision log | min {:.1} s, median {p50:.1} s, max {p100:.1} s |",
            lat[0]
        );
        let mut at: Vec<f64> = latencies.iter().map(|l| l.2).collect();
        at.sort_by(f64::total_cmp);
        println!(
            "| latency, event time → decision `at` (1 s resolution) | median {:.0} s, max {:.0} s |",
            at[at.len() / 2],
            at[at.len() - 1]
        );
    }
    println!(
        "| decisions (action state) | {} |",
        decisions
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("| log files removed after reading | {removed} |");
    println!("| exit code after SIGTERM | {code:?} |");
    println!("\nthroughput over time (events ingested per 30 s, per second):");
    let mut t0 = 0.0;
    while t0 < wall {
        let n: u64 = cycles
            .iter()
            .filter(|(t, _)| *t >= t0 && *t < t0 + 30.0)
            .map(|(_, n)| n)
            .sum();
        println!(
            "  {:>4.0}-{:>4.0} s: {:>8.0}/s",
            t0,
            t0 + 30.0,
            n as f64 / 30.0
        );
        t0 += 30.0;
    }
    Ok(())
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ`.
fn chrono_secs(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (hh, mm, ss) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from civil (inverse of s3log::civil).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}
