//! The end-to-end test harness: a real S3-compatible server (moto) on 127.0.0.1, the real
//! `tierd` binary, and helpers to put log objects where a store's logging would.
//!
//! # Layout
//! - [`S3Server`]: starts `moto_server` on a free loopback port, creates buckets, hands out
//!   `object_store` clients and the options tierd needs to reach it; killed on drop.
//! - [`tierd_bin`]: the `tierd` binary built by `cargo test --workspace`.
//! - [`daemon`]: the real `tierd run` as a child process (signals, polling, its logs).
//! - [`boto`]: a real S3 client (boto3 from the same venv) driven by a request list.
//! - [`s3log`]: S3 server access-log records and log-object names, as log delivery writes them.
//!
//! Where moto comes from, first found wins: `$TIERD_MOTO_SERVER`; the workspace's `.venv-s3`
//! (made by `.ci/run`); `moto_server` on `PATH`; otherwise it is installed into `.venv-s3` with
//! pip (`moto[s3]==5.2.5`), once, under a lock.

pub mod boto;
pub mod daemon;
pub mod faults;
pub mod s3log;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;

/// The moto version the tests are written against.
pub const MOTO_VERSION: &str = "5.2.5";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The `tierd` binary next to the running test executable (`target/debug/tierd`).
///
/// `cargo test --workspace` builds it before any test runs (the controller package has
/// integration tests, so Cargo builds its binary). After `cargo test -p tierd-tests` alone it
/// may be stale or missing: run `cargo build -p tierd` first.
pub fn tierd_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/debug/deps/<test> → target/debug/tierd
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let bin = dir.join("tierd");
    assert!(
        bin.exists(),
        "the tierd binary is not at {}; run `cargo build -p tierd` (cargo test --workspace builds it)",
        bin.display()
    );
    bin
}

fn moto_server_path() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("TIERD_MOTO_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let venv = workspace_root().join(".venv-s3");
    let in_venv = venv.join("bin/moto_server");
    if in_venv.exists() {
        return Ok(in_venv);
    }
    if let Ok(out) = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .output()
    {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !p.is_empty() {
            return Ok(PathBuf::from(p));
        }
    }
    install_moto(&venv)?;
    Ok(in_venv)
}

/// Installs moto into `venv`, once across concurrent test processes (a lock directory).
fn install_moto(venv: &Path) -> anyhow::Result<()> {
    let lock = venv.with_extension("lock");
    let deadline = Instant::now() + Duration::from_secs(600);
    while std::fs::create_dir(&lock).is_err() {
        if Instant::now() > deadline {
            bail!(
                "timed out waiting for {} (another test is installing moto; remove it if stale)",
                lock.display()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let result = (|| -> anyhow::Result<()> {
        if venv.join("bin/moto_server").exists() {
            return Ok(());
        }
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(venv)
            .status()?
            .success()
            && Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    &format!("moto[s3,server]=={MOTO_VERSION}"),
                    "flask",
                    "flask-cors",
                    "boto3",
                ])
                .status()?
                .success();
        if !ok {
            bail!(
                "could not install moto {MOTO_VERSION} into {}",
                venv.display()
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir(&lock);
    result
}

/// The port of a store that hangs: a listener on 127.0.0.1 that accepts every connection and
/// never answers (the connections are held until the test process ends).
///
/// # Panics
/// No local port can be bound.
#[allow(clippy::expect_used)]
pub fn hung_store_port() -> u16 {
    let hung = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a local port");
    let port = hung.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let held: Vec<_> = hung.incoming().collect();
        drop(held);
    });
    port
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// A plain HTTP/1.1 request to the server (moto checks no signature); returns the status code.
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<u16> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_secs(2),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let head = String::from_utf8_lossy(&resp[..resp.len().min(64)]).to_string();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .context("no HTTP status in the response")?;
    Ok(code)
}

/// A running moto S3 server on 127.0.0.1. Killed when dropped.
#[derive(Debug)]
pub struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    /// Starts a fresh server (empty: moto keeps everything in memory) and waits until it answers.
    ///
    /// # Errors
    /// moto cannot be found or installed, or does not answer within 60 s.
    pub fn start() -> anyhow::Result<S3Server> {
        let bin = moto_server_path()?;
        let mut last_err = None;
        for _ in 0..3 {
            let port = free_port()?;
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("starting {}", bin.display()))?;
            let mut server = S3Server { child, port };
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Ok(Some(status)) = server.child.try_wait() {
                    last_err = Some(anyhow::anyhow!(
                        "moto_server exited with {status} (port {port} taken?)"
                    ));
                    break;
                }
                if http(port, "GET", "/", &[], b"").is_ok() {
                    return Ok(server);
                }
                if Instant::now() > deadline {
                    last_err = Some(anyhow::anyhow!(
                        "moto_server did not answer on port {port} within 60 s"
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow::anyhow!("moto_server did not start")))
    }

    /// Stops the server process (SIGSTOP): connections are still accepted, and never answered,
    /// as by a store that hangs, until [`S3Server::resume`]. What it holds is kept.
    ///
    /// # Panics
    /// `kill(1)` cannot be run or fails.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    ///
    /// # Panics
    /// `kill(1)` cannot be run or fails.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    #[allow(clippy::expect_used)]
    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([format!("-{sig}"), self.child.id().to_string()])
            .status()
            .expect("kill(1) runs")
            .success();
        assert!(ok, "kill -{sig} of moto_server failed");
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (object_store cannot).
    ///
    /// # Errors
    /// The server refuses.
    pub fn create_bucket(&self, name: &str) -> anyhow::Result<()> {
        let code = http(self.port, "PUT", &format!("/{name}"), &[], b"")?;
        if code != 200 {
            bail!("creating bucket {name}: HTTP {code}");
        }
        Ok(())
    }

    /// Creates a bucket with S3 Object Lock and a default COMPLIANCE retention of `days`: every
    /// object written there is kept at least that long, whoever asks to delete it.
    ///
    /// # Errors
    /// The server refuses either request.
    pub fn create_locked_bucket(&self, name: &str, days: u32) -> anyhow::Result<()> {
        let code = http(
            self.port,
            "PUT",
            &format!("/{name}"),
            &[("x-amz-bucket-object-lock-enabled", "true")],
            b"",
        )?;
        if code != 200 {
            bail!("creating locked bucket {name}: HTTP {code}");
        }
        let body = format!(
            "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>{days}</Days></DefaultRetention></Rule></ObjectLockConfiguration>"
        );
        let md5 = base64_md5(body.as_bytes());
        let code = http(
            self.port,
            "PUT",
            &format!("/{name}?object-lock="),
            &[("Content-MD5", &md5), ("Content-Type", "application/xml")],
            body.as_bytes(),
        )?;
        if code != 200 {
            bail!("setting default retention on {name}: HTTP {code}");
        }
        Ok(())
    }

    /// Turns on the server's access logging for `bucket`, delivering log objects into
    /// `target` under `prefix` (the target is first given the log-delivery ACL S3 requires).
    ///
    /// # Errors
    /// The server refuses either request.
    pub fn enable_logging(&self, bucket: &str, target: &str, prefix: &str) -> anyhow::Result<()> {
        let code = http(
            self.port,
            "PUT",
            &format!("/{target}?acl"),
            &[("x-amz-acl", "log-delivery-write")],
            b"",
        )?;
        if code != 200 {
            bail!("setting the log-delivery ACL on {target}: HTTP {code}");
        }
        let body = format!(
            "<BucketLoggingStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LoggingEnabled><TargetBucket>{target}</TargetBucket><TargetPrefix>{prefix}</TargetPrefix></LoggingEnabled></BucketLoggingStatus>"
        );
        let code = http(
            self.port,
            "PUT",
            &format!("/{bucket}?logging"),
            &[],
            body.as_bytes(),
        )?;
        if code != 200 {
            bail!("enabling logging on {bucket}: HTTP {code}");
        }
        Ok(())
    }

    /// The options tierd needs to reach this server (as `[tiers.X] options` or `--store-option`).
    pub fn options(&self) -> BTreeMap<String, String> {
        [
            ("endpoint", self.endpoint()),
            ("allow_http", "true".to_string()),
            ("region", "us-east-1".to_string()),
            ("access_key_id", "tierd-test".to_string()),
            ("secret_access_key", "tierd-test-secret".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Writes `dir/tierd.toml`: the journal `dir/tierd.db`, an `onprem` tier in `dir/onprem`
    /// and a `cloud` tier in `bucket` on this server. Returns the file's path.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write_two_tier_config(&self, dir: &Path, bucket: &str) -> anyhow::Result<PathBuf> {
        let kv: Vec<String> = self
            .options()
            .into_iter()
            .map(|(k, v)| format!("{k} = \"{v}\""))
            .collect();
        let path = dir.join("tierd.toml");
        std::fs::write(
            &path,
            format!(
                "[journal]\npath = \"tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n[tiers.cloud]\nurl = \"s3://{bucket}\"\noptions = {{ {} }}\n",
                kv.join(", ")
            ),
        )?;
        Ok(path)
    }

    /// An `object_store` client for one bucket.
    ///
    /// # Errors
    /// The builder refuses its configuration.
    pub fn store(&self, bucket: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
        let s3 = AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("tierd-test")
            .with_secret_access_key("tierd-test-secret")
            .with_allow_http(true)
            .build()?;
        Ok(Arc::new(s3))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        // (A paused server is killed as well: SIGKILL needs no SIGCONT.)
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a finished `tierd` process said.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (for `--json` commands).
    ///
    /// # Panics
    /// When stdout is not one JSON value: the test fails showing both streams.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// Runs the real `tierd` binary to completion in `cwd` with `args`.
///
/// # Panics
/// When the binary cannot be started.
pub fn tierd(cwd: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(tierd_bin())
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run tierd: {e}"));
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    // A command that hangs (a deadlock) fails its test in minutes, not at CI's time limit.
    let limit = Duration::from_secs(
        std::env::var("TIERD_TEST_COMMAND_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(600),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.join().unwrap_or_default();
                panic!(
                    "tierd {args:?} did not end within {limit:?} and was killed; stderr:\n{err}"
                );
            }
            Err(e) => panic!("waiting for tierd {args:?}: {e}"),
        }
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Writes `onprem/photos/big.bin` in `d`, 96 MiB: six 16 MiB parts of a multipart copy (a local
/// tier's partial upload gets its first bytes after four have been read). Returns its bytes.
pub fn put_big_object(d: &Path) -> Vec<u8> {
    let big: Vec<u8> = (0..96 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let dir = d.join("onprem/photos");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let path = dir.join("big.bin");
    std::fs::write(&path, &big).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    big
}

/// Writes `d/tierd.toml`: the journal `tierd.db` and two local tiers, `onprem` and `cloud`
/// (the folders of those names in `d`).
pub fn write_local_tiers_config(d: &Path) {
    let path = d.join("tierd.toml");
    std::fs::write(
        &path,
        "[journal]\npath = \"tierd.db\"\n[tiers.onprem]\nurl = \"file://onprem\"\n[tiers.cloud]\nurl = \"file://cloud\"\n",
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// The names of the entries of `dir`, sorted.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The names in `dir` that are `name#<digits>`, with their sizes: a local tier's partial uploads
/// of `name` (none when `dir` does not exist).
pub fn partial_uploads(dir: &Path, name: &str) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().into_string().ok()?;
            let digits = n.strip_prefix(name)?.strip_prefix('#')?;
            (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| (n.clone(), e.metadata().map_or(0, |m| m.len())))
        })
        .collect();
    found.sort();
    found
}

/// Gzips bytes (as S3 log delivery and log rotation do).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn base64_md5(data: &[u8]) -> String {
    use md5::Digest;
    let d = md5::Md5::digest(data);
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in d.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |a, (i, b)| a | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
