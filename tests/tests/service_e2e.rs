//! `tierd run` end to end: the real service process against a real S3 server (moto on
//! 127.0.0.1), with traffic from a real S3 client (boto3) and the access logs of exactly that
//! traffic delivered into a log bucket, as a store's server access logging would.
//!
//! The story, in the order it happens:
//! 1. A behaviour model is trained (`tierd train`) on eight generated days of benign traffic of
//!    the two buckets (`bucket-00`, `bucket-01`) and their service principals.
//! 2. `tierd run` starts, following the log bucket.
//! 3. The buckets are populated with boto3: `bucket-00` (documents written two days ago),
//!    `bucket-01` (projects written two days ago and an archive written 200 days ago, never read
//!    since). The objects are uploaded now; their log records carry the times the scenario says
//!    they were written (a store migrated with its logs). Then a little live benign traffic.
//! 4. tierd moves the idle archive to the cloud tier (cost-aware rule of the bundled policy).
//! 5. Stolen credentials of `bucket-00`'s service overwrite every document in seconds from a new
//!    address. tierd snapshots the bucket into the vault and freezes it.
//! 6. The stores are checked object by object against what boto3 wrote; the decision log
//!    against the decision record of DESIGN.md.
//! 7. SIGTERM stops the service with exit code 0.
//!
//! A second test drives SIGHUP with a broken and then a fixed policy file.
//!
//! Post-mortems: `TIERD_E2E_KEEP=1` keeps the working folder (the service's log, journal and
//! decision log, and a copy of every delivered log object). `TIERD_E2E_ATTACK=rename` swaps the
//! in-place overwrite for the rename-extension variant (write `KEY.locked`, delete `KEY`), to
//! exercise the protection path on its own; the test as run by `cargo test` uses the overwrite.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that panics reports its failure

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use harness::boto::{self, Client, Op, Outcome, Request};
use harness::daemon::{Daemon, json_lines};
use harness::s3log::{self, Record};
use harness::{S3Server, tierd};
use md5::Digest;
use models::generator::{GeneratorConfig, generate};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const DAY_US: i64 = 86_400_000_000;
const ACCOUNT: &str = "arn:aws:iam::123456789012";
/// Generous: a debug build on a shared 2-core machine.
const WAIT: Duration = Duration::from_secs(240);

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Who is behind a boto3 client in the logs: the principal that signed and the address the
/// request came from (moto sees every request from 127.0.0.1; the log says where the client is
/// in the scenario).
#[derive(Debug, Clone)]
struct Identity {
    principal: String,
    ip: String,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Deterministic content of `len` bytes for a seed.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    v
}

fn md5_hex(data: &[u8]) -> String {
    md5::Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The scenario's world: the server, the folder, the clients and what every object holds.
struct World {
    server: S3Server,
    dir: tempfile::TempDir,
    clients: BTreeMap<String, Client>,
    identities: BTreeMap<String, Identity>,
    /// `(bucket, key)` → the bytes boto3 last wrote there.
    expected: BTreeMap<(String, String), Vec<u8>>,
    bodies: usize,
    delivered: u64,
    /// Log records delivered so far.
    records: u64,
}

impl World {
    fn body(&mut self, data: &[u8]) -> PathBuf {
        self.bodies += 1;
        let p = self
            .dir
            .path()
            .join(format!("bodies/{:05}.bin", self.bodies));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        p
    }

    fn put(&mut self, client: &str, bucket: &str, key: &str, data: Vec<u8>) -> Request {
        let body = self.body(&data);
        self.expected
            .insert((bucket.to_string(), key.to_string()), data);
        Request {
            client: client.into(),
            bucket: bucket.into(),
            key: Some(key.into()),
            op: Op::Put { body },
        }
    }

    /// Sends the requests with boto3, checks every outcome (status, and GETs return the bytes
    /// written), and returns the log records of that traffic. `times`: the log time of each
    /// request (`None`: when it was made).
    fn send(&mut self, reqs: &[Request], times: Option<&[i64]>) -> Vec<Record> {
        let out = boto::run(
            &self.server.endpoint(),
            &self.clients,
            reqs,
            &self.dir.path().join("boto"),
        )
        .unwrap();
        reqs.iter()
            .zip(&out)
            .enumerate()
            .map(|(i, (r, o))| {
                self.check(r, o);
                self.record(r, o, times.map_or(o.start_us, |t| t[i]))
            })
            .collect()
    }

    fn check(&self, r: &Request, o: &Outcome) {
        let want = r
            .key
            .as_ref()
            .and_then(|k| self.expected.get(&(r.bucket.clone(), k.clone())));
        match (&r.op, want) {
            (Op::Get, Some(data)) => {
                assert_eq!(o.status, 200, "{r:?}: {o:?}");
                assert_eq!(o.md5.as_deref(), Some(md5_hex(data).as_str()), "{r:?}");
            }
            (Op::Get, None) => assert_eq!(o.status, 404, "{r:?}: {o:?}"),
            (Op::Delete, _) => assert_eq!(o.status, 204, "{r:?}: {o:?}"),
            _ => assert_eq!(o.status, 200, "{r:?}: {o:?}"),
        }
    }

    fn record(&self, r: &Request, o: &Outcome, time_us: i64) -> Record {
        let who = &self.identities[&r.client];
        let (method, operation) = match &r.op {
            Op::Put { .. } => ("PUT", "REST.PUT.OBJECT"),
            Op::Get => ("GET", "REST.GET.OBJECT"),
            Op::Head => ("HEAD", "REST.HEAD.OBJECT"),
            Op::Delete => ("DELETE", "REST.DELETE.OBJECT"),
            Op::List { .. } => ("GET", "REST.GET.BUCKET"),
        };
        // S3 request ids are 16 upper-case hex digits; moto's are longer: keep them as given
        // when they are one token.
        let request_id = if o.request_id.is_empty() || o.request_id.contains(' ') {
            format!("{:016X}", o.start_us)
        } else {
            o.request_id.clone()
        };
        Record {
            time_us,
            bucket: r.bucket.clone(),
            remote_ip: who.ip.clone(),
            requester: who.principal.clone(),
            request_id,
            operation: operation.into(),
            key: r.key.clone(),
            method: method.into(),
            status: o.status,
            error_code: o.error.clone(),
            bytes_sent: o.bytes_sent,
            object_size: match r.op {
                Op::Put { .. } | Op::Get | Op::Head => o.size,
                _ => None,
            },
            total_ms: ((o.end_us - o.start_us) / 1000).max(1) as u64,
            user_agent: o.user_agent.clone(),
        }
    }

    /// Puts one log object into the log bucket, named as S3 names them (by the time of its
    /// first record).
    fn deliver(&mut self, records: &[Record]) {
        self.delivered += 1;
        self.records += records.len() as u64;
        let first = records.iter().map(|r| r.time_us).min().unwrap();
        let name = s3log::object_name("access/", first, 0x5EED_0000 + self.delivered);
        // A copy beside the service's files, for a post-mortem (TIERD_E2E_KEEP).
        let copy = self.dir.path().join("delivered").join(&name);
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::write(&copy, s3log::body(records)).unwrap();
        let store = self.server.store("tierd-logs").unwrap();
        rt().block_on(store.put(
            &StorePath::from(name),
            PutPayload::from(s3log::body(records)),
        ))
        .unwrap();
    }
}

async fn listing(store: &Arc<dyn ObjectStore>, prefix: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let p = prefix.map(StorePath::from);
    let metas: Vec<_> = store.list(p.as_ref()).try_collect().await.unwrap();
    let mut out = BTreeMap::new();
    for m in metas {
        let data = store.get(&m.location).await.unwrap().bytes().await.unwrap();
        out.insert(m.location.to_string(), data.to_vec());
    }
    out
}

/// Trains the model on eight generated benign days of both buckets, ending at today's midnight.
fn train(dir: &Path) -> PathBuf {
    let today = now_us().div_euclid(DAY_US);
    let cfg = GeneratorConfig {
        seed: 7,
        start_day: today - 8,
        days: 8,
        buckets: 2,
        objects_per_bucket: 400,
        app_ops_per_day: 3_000,
        incidents_per_bucket: 0,
        ..GeneratorConfig::default()
    };
    std::fs::create_dir_all(dir.join("train")).unwrap();
    let file = std::fs::File::create(dir.join("train/access.log")).unwrap();
    let truth = generate(&cfg, std::io::BufWriter::new(file)).unwrap();
    assert!(truth.incidents.is_empty());
    let r = tierd(
        dir,
        &[
            "train",
            "--logs",
            "train",
            "--out",
            "model.json",
            "--learning-days",
            "2",
        ],
    );
    assert_eq!(
        r.code,
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    dir.join("model.json")
}

fn options(server: &S3Server, extra: &[(&str, &str)]) -> String {
    let mut o = server.options();
    for (k, v) in extra {
        o.insert((*k).to_string(), (*v).to_string());
    }
    let kv: Vec<String> = o.iter().map(|(k, v)| format!("{k} = \"{v}\"")).collect();
    format!("{{ {} }}", kv.join(", "))
}

/// The log bucket's credentials come from the environment, as an operator would give them (the
/// endpoint is in the configuration's `[ingest] options`).
fn s3_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "tierd-test".into()),
        ("AWS_SECRET_ACCESS_KEY", "tierd-test-secret".into()),
    ]
}

fn decisions(dir: &Path) -> Vec<Value> {
    json_lines(&dir.join("decisions.jsonl"))
}

/// The latest record of each decision id (the log writes a decision again when its state
/// changes).
fn latest(dir: &Path) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for d in decisions(dir) {
        m.insert(d["id"].as_str().unwrap().to_string(), d);
    }
    m
}

fn is(d: &Value, action: &str, bucket: &str, state: &str) -> bool {
    d["action"] == action && d["bucket"] == bucket && d["state"] == state
}

/// Every field of the decision record (DESIGN.md), with its type.
fn check_record(d: &Value) {
    let fields = [
        "id", "at", "action", "bucket", "key", "prefix", "from", "to", "rule", "anomaly", "reason",
        "cost", "undo", "state",
    ];
    for f in fields {
        assert!(d.get(f).is_some(), "decision record without {f:?}: {d}");
    }
    assert!(!d["id"].as_str().unwrap().is_empty(), "{d}");
    let at = d["at"].as_str().unwrap();
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "`at` is not RFC 3339 UTC: {at}"
    );
    assert!(
        ["move", "snapshot", "freeze", "unfreeze", "pin", "alert"]
            .contains(&d["action"].as_str().unwrap()),
        "{d}"
    );
    assert!(
        ["planned", "running", "done", "failed", "skipped", "dry-run"]
            .contains(&d["state"].as_str().unwrap()),
        "{d}"
    );
    assert!(
        d["reason"].as_str().is_some_and(|r| r.len() > 10),
        "a decision without a reason: {d}"
    );
}

#[test]
fn the_service_tiers_idle_data_and_protects_an_attacked_bucket_end_to_end() {
    let server = S3Server::start().unwrap();
    for b in ["bucket-00", "bucket-01", "tierd-cloud", "tierd-logs"] {
        server.create_bucket(b).unwrap();
    }
    server.create_locked_bucket("tierd-vault", 1).unwrap();
    // TIERD_E2E_KEEP=1 keeps the folder (logs, journal, decision log) for a post-mortem.
    let dir = tempfile::Builder::new()
        .prefix("tierd-e2e-")
        .disable_cleanup(std::env::var_os("TIERD_E2E_KEEP").is_some())
        .tempdir()
        .unwrap();
    eprintln!("service_e2e: working in {}", dir.path().display());
    let d = dir.path().to_path_buf();
    train(&d);

    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = d.join("tierd.toml");
    std::fs::write(
        &config,
        format!(
            r#"[journal]
path = "tierd.db"

[tiers.onprem]
url = "s3://{{bucket}}"
options = {onprem}
price = {{ storage_gb_month = 0.02 }}

[tiers.cloud]
url = "s3://tierd-cloud/{{bucket}}"
min_storage_days = 90
options = {cloud}
price = {{ storage_gb_month = 0.004, retrieval_gb = 0.03, egress_gb = 0.09, requests_per_1000 = 0.02 }}

[tiers.vault]
url = "s3://tierd-vault/{{bucket}}"
role = "vault"
options = {vault}
price = {{ storage_gb_month = 0.004 }}

[ingest]
sources = ["s3://tierd-logs/access/"]
format = "s3"
options = {{ endpoint = "{endpoint}", allow_http = "true", region = "us-east-1" }}

[policies]
files = ["builtin:default"]

[model]
path = "model.json"

# A planning pass every few seconds (the default is hourly): the test's whole story takes minutes.
[planner]
interval = "3s"

[service]
listen = "127.0.0.1:{port}"
decision_log = "decisions.jsonl"
ingest_interval = "1s"
"#,
            port = metrics_port,
            endpoint = server.endpoint(),
            onprem = options(&server, &[]),
            cloud = options(&server, &[]),
            vault = options(&server, &[("checksum_algorithm", "sha256")]),
        ),
    )
    .unwrap();

    let mut world = World {
        server,
        dir,
        clients: BTreeMap::new(),
        identities: BTreeMap::new(),
        expected: BTreeMap::new(),
        bodies: 0,
        delivered: 0,
        records: 0,
    };
    // The service principals' usual SDK (as in the training logs); the intruder uses boto3's own.
    let java = "aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/21";
    for (name, key, ua, principal, ip) in [
        (
            "app-00",
            "AKIAAPP00",
            Some(java),
            "user/app-00",
            "10.0.0.10",
        ),
        (
            "app-01",
            "AKIAAPP01",
            Some(java),
            "user/app-01",
            "10.0.1.10",
        ),
        ("intruder", "AKIAAPP00", None, "user/app-00", "203.0.113.66"),
    ] {
        world.clients.insert(
            name.into(),
            Client {
                access_key: key.into(),
                user_agent: ua.map(str::to_string),
            },
        );
        world.identities.insert(
            name.into(),
            Identity {
                principal: format!("{ACCOUNT}:{principal}"),
                ip: ip.into(),
            },
        );
    }

    let mut svc = Daemon::start(&d, &config, &s3_env());
    svc.until(WAIT, "the first cycle", || {
        svc_log_has(&d, "cycle done").then_some(())
    });

    // --- 3. The stores' contents, with the logs of when they were written. -----------------
    let t = now_us();
    let mut rng = StdRng::seed_from_u64(2026);
    let docs: Vec<String> = (0..160).map(|i| format!("docs/{i:04}.pdf")).collect();
    let projects: Vec<String> = (0..10).map(|i| format!("projects/{i:03}.csv")).collect();
    let archive: Vec<String> = (0..12)
        .map(|i| format!("archive/2025/{i:03}.parquet"))
        .collect();

    // The archive: written 200 days ago at 10:00, one object every two minutes. (Long enough
    // for the bucket's own history to show that what sits idle there is not read back: the
    // cost-aware rule moves data only when the expected read-backs cost less than it saves.)
    let day200 = (t - 200 * DAY_US).div_euclid(DAY_US) * DAY_US + 10 * 3_600_000_000;
    let reqs: Vec<Request> = archive
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let len = rng.gen_range(4_000_000..8_000_000);
            world.put("app-01", "bucket-01", k, content(1000 + i as u64, len))
        })
        .collect();
    let times: Vec<i64> = (0..reqs.len() as i64)
        .map(|i| day200 + i * 120_000_000)
        .collect();
    let recs = world.send(&reqs, Some(times.as_slice()));
    world.deliver(&recs);

    // Documents and projects: written two days ago from 09:00, one object every 20 seconds.
    let day2 = (t - 2 * DAY_US).div_euclid(DAY_US) * DAY_US + 9 * 3_600_000_000;
    let mut reqs = Vec::new();
    for (i, k) in docs.iter().enumerate() {
        let len = rng.gen_range(4_000..16_000);
        reqs.push(world.put("app-00", "bucket-00", k, content(2000 + i as u64, len)));
    }
    for (i, k) in projects.iter().enumerate() {
        let len = rng.gen_range(8_000..32_000);
        reqs.push(world.put("app-01", "bucket-01", k, content(3000 + i as u64, len)));
    }
    let times: Vec<i64> = (0..reqs.len() as i64)
        .map(|i| day2 + i * 20_000_000)
        .collect();
    let recs = world.send(&reqs, Some(times.as_slice()));
    world.deliver(&recs);

    // A little live benign traffic, now.
    let mut reqs = Vec::new();
    for k in docs.iter().step_by(16) {
        reqs.push(Request {
            client: "app-00".into(),
            bucket: "bucket-00".into(),
            key: Some(k.clone()),
            op: Op::Get,
        });
    }
    for i in 0..3 {
        let data = content(4000 + i, 6_000 + 1_000 * i as usize);
        reqs.push(world.put("app-00", "bucket-00", &format!("docs/new-{i}.pdf"), data));
    }
    reqs.push(Request {
        client: "app-00".into(),
        bucket: "bucket-00".into(),
        key: Some("docs/missing.pdf".into()),
        op: Op::Get,
    });
    for k in projects.iter().take(5) {
        reqs.push(Request {
            client: "app-01".into(),
            bucket: "bucket-01".into(),
            key: Some(k.clone()),
            op: Op::Get,
        });
    }
    reqs.push(Request {
        client: "app-01".into(),
        bucket: "bucket-01".into(),
        key: None,
        op: Op::List {
            prefix: "projects/".into(),
        },
    });
    let recs = world.send(&reqs, None);
    world.deliver(&recs);

    // --- 4. The idle archive moves to the cloud tier. ---------------------------------------
    let moved: Vec<Value> = svc.until(WAIT, "the archive's moves to the cloud tier", || {
        let l = latest(&d);
        let done: Vec<Value> = l
            .values()
            .filter(|x| is(x, "move", "bucket-01", "done"))
            .cloned()
            .collect();
        (done.len() >= archive.len()).then_some(done)
    });
    let moved_keys: BTreeSet<String> = moved
        .iter()
        .map(|m| m["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        moved_keys,
        archive.iter().cloned().collect::<BTreeSet<_>>(),
        "exactly the idle archive moves"
    );
    for m in &moved {
        check_record(m);
        assert_eq!(m["from"], "onprem", "{m}");
        assert_eq!(m["to"], "cloud", "{m}");
        assert_eq!(m["rule"], "cold-to-cloud", "{m}");
        assert!(m["cost"]["bytes"].as_u64().unwrap() >= 4_000_000, "{m}");
        assert!(
            m["undo"].as_str().is_some_and(|u| u.starts_with("tierd ")),
            "{m}"
        );
    }

    // --- 5. Stolen credentials overwrite every document in seconds. --------------------------
    let mut reqs = Vec::new();
    let live_docs: Vec<String> = world
        .expected
        .keys()
        .filter(|(b, _)| b == "bucket-00")
        .map(|(_, k)| k.clone())
        .collect();
    // TIERD_E2E_ATTACK=rename: the variant that writes `.locked` copies and deletes the
    // originals instead of overwriting in place (for exploring the rest of the path when the
    // model misses the overwrite).
    let rename = std::env::var("TIERD_E2E_ATTACK").is_ok_and(|v| v == "rename");
    for (i, k) in live_docs.iter().enumerate() {
        let len = world.expected[&("bucket-00".to_string(), k.clone())].len() + 16;
        if rename {
            let locked = format!("{k}.locked");
            reqs.push(world.put(
                "intruder",
                "bucket-00",
                &locked,
                content(9000 + i as u64, len),
            ));
            world.expected.remove(&("bucket-00".to_string(), k.clone()));
            reqs.push(Request {
                client: "intruder".into(),
                bucket: "bucket-00".into(),
                key: Some(k.clone()),
                op: Op::Delete,
            });
        } else {
            reqs.push(world.put("intruder", "bucket-00", k, content(9000 + i as u64, len)));
        }
    }
    let recs = world.send(&reqs, None);
    world.deliver(&recs);

    let (snap, freeze) = svc.until(WAIT, "a snapshot and a freeze of bucket-00", || {
        let l = latest(&d);
        let snap = l
            .values()
            .find(|x| is(x, "snapshot", "bucket-00", "done"))
            .cloned()?;
        let freeze = l
            .values()
            .find(|x| is(x, "freeze", "bucket-00", "done"))
            .cloned()?;
        Some((snap, freeze))
    });

    // The decision records.
    for r in decisions(&d) {
        check_record(&r);
    }
    assert_eq!(snap["rule"], "snapshot-on-incident", "{snap}");
    assert_eq!(snap["to"], "vault", "{snap}");
    assert_eq!(snap["prefix"], "", "{snap}");
    assert_eq!(freeze["rule"], "freeze-on-incident", "{freeze}");
    // Ready to paste anywhere: it names the service's configuration.
    assert_eq!(
        freeze["undo"].as_str(),
        Some(
            format!(
                "tierd unfreeze bucket-00 --config {}/tierd.toml",
                d.display()
            )
            .as_str()
        ),
        "{freeze}"
    );
    let a = &freeze["anomaly"];
    assert!(a.is_object(), "the freeze cites no anomaly: {freeze}");
    assert!(
        a["subject"].as_str().unwrap().contains("bucket-00")
            || a["subject"].as_str().unwrap().contains("app-00"),
        "{a}"
    );
    let (score, threshold) = (
        a["score"].as_f64().unwrap(),
        a["threshold"].as_f64().unwrap(),
    );
    assert!(score >= threshold && threshold > 0.0 && score <= 1.0, "{a}");
    assert!(
        a["model"].as_str().unwrap().contains("model.json"),
        "the trained model is named: {a}"
    );
    let top = a["top_features"].as_array().unwrap();
    assert!(!top.is_empty(), "{a}");
    for f in top {
        assert!(f["name"].as_str().is_some_and(|n| !n.is_empty()), "{f}");
        assert!(f["value"].is_number() && f["baseline"].is_number(), "{f}");
    }
    assert!(
        snap["anomaly"].is_object(),
        "the snapshot cites the anomaly: {snap}"
    );
    // Nothing in the attacked bucket was moved, and the benign bucket raised no incident.
    let all = latest(&d);
    assert!(
        !all.values()
            .any(|x| x["action"] == "move" && x["bucket"] == "bucket-00"),
        "{all:#?}"
    );
    assert!(
        !all.values().any(|x| x["bucket"] == "bucket-01"
            && (x["action"] == "freeze" || x["action"] == "snapshot")),
        "a false alarm on the benign bucket: {all:#?}"
    );

    // The service's log says so as fields a log pipeline can index, at warn level.
    let warns: Vec<Value> = std::fs::read_to_string(d.join("tierd.stderr"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"] == "WARN" && v["target"] == "tierd::incident")
        .collect();
    let opened = warns
        .iter()
        .find(|v| v["fields"]["message"] == "incident opened")
        .unwrap_or_else(|| panic!("no incident opened in the log: {warns:#?}"));
    assert_eq!(opened["fields"]["bucket"], "bucket-00", "{opened}");
    assert!(
        opened["fields"]["score"].as_f64() > opened["fields"]["threshold"].as_f64(),
        "{opened}"
    );
    assert!(
        opened["fields"]["top_feature"]
            .as_str()
            .is_some_and(|f| f != "-"),
        "{opened}"
    );
    assert!(
        warns.iter().any(|v| v["fields"]["message"]
            == "freeze opened: no move on its scope until it is lifted"
            && v["fields"]["bucket"] == "bucket-00"
            && v["fields"]["decision"]
                .as_str()
                .is_some_and(|id| id.starts_with("freeze-"))),
        "{warns:#?}"
    );

    // --- 6. The stores. ------------------------------------------------------------------------
    let server = &world.server;
    let r = rt();
    let onprem: BTreeMap<(String, String), Vec<u8>> = ["bucket-00", "bucket-01"]
        .iter()
        .flat_map(|b| {
            r.block_on(listing(&server.store(b).unwrap(), None))
                .into_iter()
                .map(|(k, v)| ((b.to_string(), k), v))
        })
        .collect();
    let cloud: BTreeMap<(String, String), Vec<u8>> = r
        .block_on(listing(&server.store("tierd-cloud").unwrap(), None))
        .into_iter()
        .map(|(k, v)| {
            let (b, key) = k.split_once('/').unwrap();
            ((b.to_string(), key.to_string()), v)
        })
        .collect();
    for k in &archive {
        let id = ("bucket-01".to_string(), k.clone());
        assert!(!onprem.contains_key(&id), "{k} is still on-premise");
        assert_eq!(
            cloud.get(&id).map(|v| md5_hex(v)),
            Some(md5_hex(&world.expected[&id])),
            "{k} in the cloud bucket holds what boto3 wrote"
        );
    }
    let mut everywhere: BTreeMap<(String, String), Vec<u8>> = BTreeMap::new();
    for (id, data) in onprem.iter().chain(&cloud) {
        assert!(
            everywhere.insert(id.clone(), data.clone()).is_none(),
            "{id:?} exists on two tiers"
        );
    }
    let want: BTreeMap<_, String> = world
        .expected
        .iter()
        .map(|(k, v)| (k.clone(), md5_hex(v)))
        .collect();
    let have: BTreeMap<_, String> = everywhere
        .iter()
        .map(|(k, v)| (k.clone(), md5_hex(v)))
        .collect();
    assert_eq!(
        have, want,
        "every object exists once, holding what boto3 last wrote"
    );

    // The vault: the snapshot's manifest and a verified copy of every document.
    let vault = r.block_on(listing(
        &server.store("tierd-vault").unwrap(),
        Some("bucket-00"),
    ));
    let manifest_path = format!(
        "bucket-00/.tierd-snapshots/manifests/{}.json",
        snap["id"].as_str().unwrap()
    );
    let manifest: Value = serde_json::from_slice(
        vault
            .get(&manifest_path)
            .unwrap_or_else(|| panic!("no manifest {manifest_path}; vault: {:?}", vault.keys())),
    )
    .unwrap();
    let entries = manifest["objects"].as_array().unwrap();
    let in_manifest: BTreeSet<&str> = entries.iter().map(|e| e["key"].as_str().unwrap()).collect();
    let docs_now: BTreeSet<&str> = world
        .expected
        .keys()
        .filter(|(b, _)| b == "bucket-00")
        .map(|(_, k)| k.as_str())
        .collect();
    assert_eq!(
        in_manifest, docs_now,
        "the snapshot holds every object of the bucket"
    );
    for e in entries {
        let key = e["key"].as_str().unwrap();
        let blob = format!("bucket-00/{}", e["blob"].as_str().unwrap());
        let copy = vault
            .get(&blob)
            .unwrap_or_else(|| panic!("no copy of {key} at {blob}"));
        assert_eq!(
            md5_hex(copy),
            want[&("bucket-00".to_string(), key.to_string())],
            "the vault's copy of {key}"
        );
        assert_eq!(e["size"].as_u64(), Some(copy.len() as u64), "{e}");
    }

    // --- 7. What the service counted, at /metrics (asserted after the stop below). -----------
    let metrics = http_get(metrics_port, "/metrics");
    let healthz = http_get(metrics_port, "/healthz");
    // A trained model scores from the first cycle: no warning of a model still learning.
    let (_, ready) = http_get(metrics_port, "/readyz").unwrap();
    assert!(!ready.contains("model"), "{ready}");

    // --- 8. SIGTERM: a clean stop. -------------------------------------------------------------
    svc.signal("TERM");
    let status = svc.wait_exit(Duration::from_secs(60)).unwrap_or_else(|| {
        panic!(
            "tierd did not stop within 60 s of SIGTERM:\n{}",
            svc.stderr_tail(20)
        )
    });
    assert_eq!(status.code(), Some(0), "{}", svc.stderr_tail(20));
    assert!(svc_log_has(&d, "tierd stopped"), "{}", svc.stderr_tail(20));
    // Secrets never reach the log.
    assert!(!svc.stderr().contains("tierd-test-secret"));

    let (code, _) = healthz.unwrap_or_else(|e| {
        panic!("tierd run serves no /healthz on service.listen = 127.0.0.1:{metrics_port}: {e}")
    });
    assert_eq!(code, 200);
    let (code, text) = metrics.unwrap_or_else(|e| {
        panic!("tierd run serves no /metrics on service.listen = 127.0.0.1:{metrics_port}: {e}")
    });
    assert_eq!(code, 200, "{text}");
    let m = parse_metrics(&text);
    let get = |k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no series {k} in /metrics:\n{text}"))
    };
    assert_eq!(
        get("tierd_events_ingested_total{source=\"logs\"}"),
        world.records as f64,
        "every delivered log record is counted once"
    );
    assert!(get("tierd_decisions_total{action=\"move\",state=\"done\"}") >= archive.len() as f64);
    assert!(get("tierd_decisions_total{action=\"snapshot\",state=\"done\"}") >= 1.0);
    assert!(get("tierd_decisions_total{action=\"freeze\",state=\"done\"}") >= 1.0);
    assert_eq!(get("tierd_objects_moved_total"), archive.len() as f64);
    let archive_bytes: usize = archive
        .iter()
        .map(|k| world.expected[&("bucket-01".to_string(), k.clone())].len())
        .sum();
    assert_eq!(get("tierd_bytes_moved_total"), archive_bytes as f64);
    assert_eq!(
        get("tierd_objects_snapshotted_total"),
        docs_now.len() as f64
    );
    assert_eq!(get("tierd_open_freezes"), 1.0);
    // The vault: the incident's snapshot and the bytes it copied (the vault is no data tier).
    assert!(get("tierd_vault_snapshots{vault=\"vault\"}") >= 1.0);
    assert!(get("tierd_vault_bytes{vault=\"vault\"}") > 0.0);
    assert!(
        !text.contains("tierd_tier_objects{tier=\"vault\"}"),
        "{text}"
    );
    // What tierd knows on each tier: at least the archive it moved to the cloud, in bytes too.
    assert!(get("tierd_tier_objects{tier=\"cloud\"}") >= archive.len() as f64);
    assert!(get("tierd_tier_bytes{tier=\"cloud\"}") >= archive_bytes as f64);
    assert!(get("tierd_tier_objects{tier=\"onprem\"}") > 0.0);
    // The model: its threshold, the attacked bucket's score over it, and its age (trained on
    // days that ended at midnight).
    let threshold = get("tierd_anomaly_threshold");
    assert!(threshold > 0.0 && threshold < 1.0, "{threshold}");
    assert!(
        get("tierd_anomaly_score{bucket=\"bucket-00\"}") >= threshold,
        "{text}"
    );
    assert!(get("tierd_anomaly_score{bucket=\"bucket-01\"}") < threshold);
    assert!(get("tierd_model_age_seconds") > 0.0);

    // The example alerting rules use only metrics this service exports.
    let rules_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/prometheus/tierd-alerts.yml"
    );
    let rules = std::fs::read_to_string(rules_path).unwrap();
    let mut used = std::collections::BTreeSet::new();
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("tierd_") {
            // A histogram's series are its name with _bucket, _sum and _count.
            used.insert(word.trim_end_matches("_bucket").to_string());
        }
    }
    assert!(used.len() >= 10, "{used:?}");
    for name in &used {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "examples/prometheus/tierd-alerts.yml uses {name}, which /metrics does not export"
        );
    }
}

/// A plain HTTP/1.1 GET on 127.0.0.1: (status, body).
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    // A chunked body (the server may stream): join the chunks.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || after.len() < n {
                break;
            }
            out.push_str(&after[..n]);
            rest = after[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        body.to_string()
    };
    Ok((code, body))
}

/// `series → value` of a Prometheus text exposition.
fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

fn svc_log_has(dir: &Path, message: &str) -> bool {
    std::fs::read_to_string(dir.join("tierd.stderr"))
        .unwrap_or_default()
        .lines()
        .any(|l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["fields"]["message"].as_str() == Some(message))
        })
}

/// One S3 access-log line: `principal` PUT `bucket/key` (`size` bytes) at `time_us`.
fn put_line(time_us: i64, bucket: &str, key: &str, size: u64) -> String {
    let app = format!("{ACCOUNT}:user/app-00");
    Record::object(time_us, bucket, &app, "PUT", key, size).line() + "\n"
}

const IDLE_RULE: &str = r#"[[rule]]
id = "RULE_ID"
description = "Idle objects go to the cloud tier."
scope = { bucket = "*" }
when = "tier == 'onprem' and days_since_last_access > 7d"
action = { kind = "move", to = "cloud" }
priority = 100
"#;

#[test]
fn on_sighup_a_broken_policy_is_refused_with_its_location_and_a_fixed_one_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A one-hour cycle: only a signal makes the service look at the policy and the logs again.
    let (config, port) = local_service(d, "ingest_interval = \"1h\"\n");
    let policy = d.join("policy.toml");
    std::fs::write(&policy, IDLE_RULE.replace("RULE_ID", "idle-v1")).unwrap();
    let month_ago = now_us() - 30 * DAY_US;

    let mut svc = Daemon::start(d, &config, &[]);
    svc.until(WAIT, "the first cycle", || {
        svc_log_has(d, "cycle done").then_some(())
    });
    // No trained model: the service says it cannot see an incident yet, in /readyz and its log.
    let (code, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(
        body.lines().any(|l| l
            == "warn model: combined (learning the first 365 days of the logs): no anomaly signal, so no incident can open (freeze and snapshot rules on incident_open wait); set [model] path to a trained model to score from the start"),
        "{body}"
    );
    assert!(
        warned(d)
            .iter()
            .any(|m| m == "no anomaly signal: no incident can open until the model scores"),
        "{:?}",
        warned(d)
    );

    // A typo in the condition; an object written a month ago, and its log.
    let broken = IDLE_RULE
        .replace("RULE_ID", "idle-broken")
        .replace("days_since_last_access", "days_since_last_acess");
    std::fs::write(&policy, broken).unwrap();
    std::fs::write(d.join("onprem/photos/a.jpg"), content(1, 70_000)).unwrap();
    std::fs::write(
        d.join("logs/1.log"),
        put_line(month_ago, "photos", "a.jpg", 70_000),
    )
    .unwrap();
    svc.signal("HUP");

    let diag = svc.until(WAIT, "the broken policy's diagnostic", || {
        logged(d).into_iter().find(|m| m.contains("policy.toml:"))
    });
    assert_eq!(
        diag,
        format!(
            "{}:5:30: error: rule \"idle-broken\": unknown signal \"days_since_last_acess\" in when; did you mean \"days_since_last_access\"?",
            policy.display()
        ),
        "the diagnostic is logged with its file:line:col"
    );
    svc.until(WAIT, "the refusal", || {
        logged(d)
            .iter()
            .any(|m| m == "the new policy is not valid; keeping the last good policy")
            .then_some(())
    });
    // The last good policy decided the cycle the signal started.
    let moved = svc.until(WAIT, "the move of a.jpg", || {
        latest(d)
            .into_values()
            .find(|x| x["key"] == "a.jpg" && x["state"] == "done")
    });
    assert_eq!(moved["rule"], "idle-v1", "{moved}");
    assert_eq!(moved["to"], "cloud", "{moved}");
    assert!(d.join("cloud/photos/a.jpg").exists());
    assert!(svc.exited().is_none(), "tierd stopped on a bad policy");
    // Still ready, saying so while the refused edit is on disk.
    let (code, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(code, 200, "{body}");
    let refused = format!(
        "warn policy: the edit of {p} was refused ({p}:5:30: error: rule \"idle-broken\": unknown signal",
        p = policy.display()
    );
    assert!(
        body.lines()
            .any(|l| l.starts_with(&refused) && l.ends_with("; the last good policy is in force")),
        "{body}"
    );

    // Fixed: a renamed rule, picked up at the next SIGHUP.
    std::fs::write(&policy, IDLE_RULE.replace("RULE_ID", "idle-v2")).unwrap();
    std::fs::write(d.join("onprem/photos/b.jpg"), content(2, 70_000)).unwrap();
    std::fs::write(
        d.join("logs/2.log"),
        put_line(month_ago, "photos", "b.jpg", 70_000),
    )
    .unwrap();
    svc.signal("HUP");
    let moved = svc.until(WAIT, "the move of b.jpg", || {
        latest(d)
            .into_values()
            .find(|x| x["key"] == "b.jpg" && x["state"] == "done")
    });
    assert_eq!(
        moved["rule"], "idle-v2",
        "the fixed policy decides: {moved}"
    );
    assert!(logged(d).iter().any(|m| m == "policy reloaded"));
    let (code, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(!body.contains("policy"), "a good policy loaded: {body}");

    // Emptied (a truncated write): taken, as it is valid, with a warning naming the file.
    std::fs::write(&policy, "").unwrap();
    svc.signal("HUP");
    let empty = format!(
        "{}:1:1: warning: the policy set has no rules: {} holds no [[rule]]",
        policy.display(),
        policy.display()
    );
    svc.until(WAIT, "the warning of an empty policy set", || {
        warned(d)
            .iter()
            .any(|m| m.starts_with(&empty))
            .then_some(())
    });

    // The main configuration is read at start only: an edit of it is said, and a broken one
    // too, in the log and in /readyz, until the file is put back.
    let in_force = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        in_force.replace("[service]\n", "[service]\nbogus_key = 1\n"),
    )
    .unwrap();
    svc.signal("HUP");
    let edited = format!(
        "{} changed since tierd started and is not valid (",
        config.display()
    );
    svc.until(WAIT, "the warning of a broken tierd.toml", || {
        warned(d)
            .iter()
            .any(|m| m.starts_with(&edited))
            .then_some(())
    });
    let (code, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(
        body.lines()
            .any(|l| l.starts_with(&format!("warn config: {edited}"))
                && l.ends_with("a restart would refuse to start")),
        "{body}"
    );
    std::fs::write(&config, &in_force).unwrap();
    svc.signal("HUP");
    svc.until(WAIT, "the configuration put back", || {
        let (_, body) = http_get(port, "/readyz").ok()?;
        (!body.contains("config")).then_some(())
    });

    stops_cleanly(&mut svc);
}

/// SIGTERM stops the service with exit code 0.
fn stops_cleanly(svc: &mut Daemon) {
    svc.signal("TERM");
    let status = svc.wait_exit(Duration::from_secs(60));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        svc.stderr_tail(20)
    );
}

/// A service under `d` on `file://` tiers onprem (with an empty photos/) and cloud, reading S3
/// logs from logs/ with policy.toml, learning for a year, serving on a free port, its decisions in
/// decisions.jsonl; `extra` ends its `[service]` table (and may add tables). Its tierd.toml and port.
fn local_service(d: &Path, extra: &str) -> (PathBuf, u16) {
    let config = d.join("tierd.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &config,
        r#"[journal]
path = "tierd.db"
[tiers.onprem]
url = "file://onprem"
[tiers.cloud]
url = "file://cloud"
[ingest]
sources = ["logs/"]
format = "s3"
[policies]
files = ["policy.toml"]
[model]
learning_days = 365
[service]
listen = "127.0.0.1:PORT"
decision_log = "decisions.jsonl"
"#
        .replace("PORT", &port.to_string())
            + extra,
    )
    .unwrap();
    std::fs::create_dir_all(d.join("logs")).unwrap();
    std::fs::create_dir_all(d.join("onprem/photos")).unwrap();
    (config, port)
}

/// `tierd freeze --all-buckets` pauses a running service: its rule's move waits (counted as held
/// by a freeze), `/readyz` stays ready with a `warn frozen:` line, and the log says it at warn
/// level; `tierd unfreeze --all-buckets` lets the next cycle move.
#[test]
fn a_freeze_of_every_bucket_pauses_the_running_service_until_lifted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (config, port) = local_service(
        d,
        "ingest_interval = \"1s\"\n[planner]\ninterval = \"1s\"\n",
    );
    std::fs::write(d.join("policy.toml"), IDLE_RULE.replace("RULE_ID", "idle")).unwrap();
    let cli = |args: &[&str]| {
        let r = tierd(d, &[args, &["--config", "tierd.toml"][..]].concat());
        assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
        r.stdout.split(':').next().unwrap().to_string()
    };
    let mut svc = Daemon::start(d, &config, &[]);
    svc.until(WAIT, "the first cycle", || {
        svc_log_has(d, "cycle done").then_some(())
    });

    let freeze = cli(&["freeze", "--all-buckets", "--reason", "array swap"]);
    svc.until(WAIT, "the service seeing every bucket frozen", || {
        svc_log_has(
            d,
            "every bucket frozen: nothing is moved or deleted until `tierd unfreeze --all-buckets`; snapshots still run",
        )
        .then_some(())
    });
    let (code, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(
        body.lines().any(|l| l.starts_with("warn frozen: every bucket since ")
            && l.ends_with(&format!(
                " by decision {freeze} (array swap): nothing is moved or deleted until `tierd unfreeze --all-buckets`"
            ))),
        "{body}"
    );

    // An object idle for a month, which the rule moves: held by the freeze, pass after pass.
    std::fs::write(d.join("onprem/photos/a.jpg"), content(1, 70_000)).unwrap();
    let month_ago = now_us() - 30 * DAY_US;
    std::fs::write(
        d.join("logs/1.log"),
        put_line(month_ago, "photos", "a.jpg", 70_000),
    )
    .unwrap();
    let held_cycles = || {
        std::fs::read_to_string(d.join("tierd.stderr"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "cycle done")
            .filter_map(|v| serde_json::from_str::<Value>(v["fields"]["moves_held"].as_str()?).ok())
            .filter(|held| held["frozen"] == 1)
            .count()
    };
    svc.until(WAIT, "two passes holding the move", || {
        (held_cycles() >= 2).then_some(())
    });
    assert!(!d.join("cloud/photos/a.jpg").exists());
    assert!(d.join("onprem/photos/a.jpg").exists());
    assert!(
        latest(d).values().all(|x| x["action"] != "move"),
        "{:?}",
        latest(d)
    );

    // Lifted: the next cycle moves it; /readyz and the log say so.
    cli(&["unfreeze", "--all-buckets"]);
    let moved = svc.until(WAIT, "the move of a.jpg", || {
        latest(d)
            .into_values()
            .find(|x| x["key"] == "a.jpg" && x["state"] == "done")
    });
    assert_eq!(moved["rule"], "idle", "{moved}");
    assert!(d.join("cloud/photos/a.jpg").exists());
    assert!(
        warned(d)
            .iter()
            .any(|m| m == "the freeze of every bucket is lifted: moves resume"),
        "{:?}",
        warned(d)
    );
    let (code, body) = http_get(port, "/readyz").unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(!body.contains("frozen"), "{body}");

    stops_cleanly(&mut svc);
}

/// The messages of the service's JSON log lines at `WARN` level so far.
fn warned(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("tierd.stderr"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["level"] == "WARN")
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
        .collect()
}

/// The messages of the service's JSON log lines so far.
fn logged(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("tierd.stderr"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_string))
        .collect()
}

/// A store that accepts connections and never answers is named by `/readyz`, with the tiers
/// that answer, instead of the whole answer running out of time.
#[test]
fn readyz_names_a_tier_whose_store_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hung_port = harness::hung_store_port();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = d.join("tierd.toml");
    std::fs::write(
        &config,
        format!(
            r#"[journal]
path = "tierd.db"
[tiers.onprem]
url = "file://onprem"
[tiers.cloud]
url = "s3://cloud"
options = {{ endpoint = "http://127.0.0.1:{hung_port}", region = "us-east-1", allow_http = "true", access_key_id = "a", secret_access_key = "b" }}
[tiers.vault]
url = "file://vault"
role = "vault"
[ingest]
sources = ["logs/"]
format = "s3"
[policies]
files = ["builtin:default"]
[service]
listen = "127.0.0.1:{port}"
ingest_interval = "1h"
"#
        ),
    )
    .unwrap();
    std::fs::create_dir_all(d.join("logs")).unwrap();
    let mut svc = Daemon::start(d, &config, &[]);
    let body = svc.until(WAIT, "a readiness answer", || {
        http_get(port, "/readyz")
            .ok()
            .filter(|(code, _)| *code == 503)
            .map(|(_, body)| body)
            .filter(|b| b.starts_with("not ready: 1 failing"))
    });
    assert!(
        body.starts_with("not ready: 1 failing: tier cloud\n"),
        "{body}"
    );
    assert!(
        body.contains("FAILED tier cloud: no answer within 4s"),
        "{body}"
    );
    assert!(body.contains("ok tier onprem: reachable"), "{body}");
    assert!(body.contains("ok journal: writable"), "{body}");
    svc.signal("TERM");
}
