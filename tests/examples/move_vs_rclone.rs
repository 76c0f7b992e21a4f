//! Benchmark: `tierd move` against `rclone move`, the same objects between the same two stores
//! (a local folder and a real S3 server, moto, on 127.0.0.1), each tool on a fresh server.
//!
//! ```sh
//! cargo build -p tierd && cargo run -p tierd-tests --example move_vs_rclone
//! ```
//! Sizes can be scaled down with `TIERD_BENCH_SMALL_N` (default 1000 objects of 64 KiB) and
//! `TIERD_BENCH_LARGE_MIB` (default 10 objects of 256 MiB). Both tools verify what they upload:
//! rclone compares size and MD5 (its default), tierd size and MD5 etag or a read-back sha256.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use harness::{S3Server, tierd_bin};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn make_files(dir: &Path, n: usize, size: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut buf = vec![0u8; size];
    for i in 0..n {
        // Distinct content per file (no dedup or compression can help either tool).
        let mut x = (i as u64 + 1).wrapping_mul(0x9E3779B97F4A7C15);
        for chunk in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let b = x.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        std::fs::write(dir.join(format!("obj-{i:05}.bin")), &buf)?;
    }
    Ok(())
}

fn run(cmd: &mut Command) -> anyhow::Result<f64> {
    let start = Instant::now();
    let out = cmd.output()?;
    let secs = start.elapsed().as_secs_f64();
    if !out.status.success() {
        anyhow::bail!(
            "{:?} failed: {}{}",
            cmd,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(secs)
}

fn rclone(work: &Path, set: &str, n: usize, size: usize) -> anyhow::Result<f64> {
    let server = S3Server::start()?;
    server.create_bucket("dest")?;
    let src = work.join(format!("rclone-{set}"));
    make_files(&src, n, size)?;
    let secs = run(Command::new("rclone")
        .args([
            "move",
            src.to_str().unwrap_or_default(),
            &format!("bench:dest/{set}"),
            "--transfers",
            "8",
            "--s3-upload-concurrency",
            "4",
        ])
        // The server is plain HTTP on loopback; a CA bundle from the environment only makes
        // rclone's AWS SDK refuse its custom transport.
        .env_remove("AWS_CA_BUNDLE")
        .env("RCLONE_CONFIG_BENCH_TYPE", "s3")
        .env("RCLONE_CONFIG_BENCH_PROVIDER", "Other")
        .env("RCLONE_CONFIG_BENCH_ENDPOINT", server.endpoint())
        .env("RCLONE_CONFIG_BENCH_ACCESS_KEY_ID", "tierd-test")
        .env("RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY", "tierd-test-secret")
        .env("RCLONE_CONFIG_BENCH_REGION", "us-east-1"))?;
    let left = std::fs::read_dir(&src)?.count();
    anyhow::ensure!(left == 0, "rclone left {left} files behind");
    Ok(secs)
}

fn tierd(work: &Path, set: &str, n: usize, size: usize) -> anyhow::Result<f64> {
    let server = S3Server::start()?;
    server.create_bucket("dest")?;
    let root = work.join(format!("tierd-{set}"));
    make_files(&root.join("onprem/photos").join(set), n, size)?;
    server.write_two_tier_config(&root, "dest")?;
    let secs = run(Command::new(tierd_bin())
        .args([
            "move",
            "--bucket",
            "photos",
            "--prefix",
            &format!("{set}/"),
            "--to",
            "cloud",
            "--concurrency",
            "8",
            "--config",
        ])
        .arg(root.join("tierd.toml"))
        .current_dir(&root))?;
    let left = std::fs::read_dir(root.join("onprem/photos").join(set))?.count();
    anyhow::ensure!(left == 0, "tierd left {left} files behind");
    Ok(secs)
}

fn main() -> anyhow::Result<()> {
    let small_n = env_usize("TIERD_BENCH_SMALL_N", 1000);
    let large_mib = env_usize("TIERD_BENCH_LARGE_MIB", 256);
    let work = tempfile::tempdir()?;
    println!("| set | tool | seconds | objects/s | MB/s |");
    println!("|---|---|---|---|---|");
    for (set, n, size) in [
        ("small", small_n, 64 * 1024),
        ("large", 10, large_mib * 1024 * 1024),
    ] {
        for tool in ["rclone", "tierd"] {
            let secs = if tool == "rclone" {
                rclone(work.path(), set, n, size)?
            } else {
                tierd(work.path(), set, n, size)?
            };
            let mb = (n * size) as f64 / 1e6;
            println!(
                "| {n} x {} KiB | {tool} | {secs:.2} | {:.1} | {:.1} |",
                size / 1024,
                n as f64 / secs,
                mb / secs
            );
        }
    }
    Ok(())
}
