//! A real S3 client for the end-to-end tests: boto3 (in the `.venv-s3` venv that holds moto),
//! driven by a small script this module writes. The test hands it a list of requests; the
//! script sends them to the server on 127.0.0.1 and reports, per request, what happened
//! (times, status, sizes, the request id and the User-Agent it really sent, an MD5 of what a
//! GET returned), which the test turns into the access-log records a store would write. It
//! also lists a bucket's incomplete multipart uploads ([`multipart_uploads`]), or waits for one
//! to have parts ([`wait_for_upload_parts`]), as a client of the store sees them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// The script: reads the plan (JSON) from argv[1], writes one JSON line per request to stdout.
const SCRIPT: &str = r#"
import hashlib, json, sys, time
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

plan = json.load(open(sys.argv[1]))
clients, sent_ua = {}, {}
for name, c in plan["clients"].items():
    cfg = Config(
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"max_attempts": 1},
    )
    cl = boto3.client(
        "s3",
        endpoint_url=plan["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=c["access_key"],
        aws_secret_access_key="not-a-secret",
        config=cfg,
    )
    def set_ua(request, ua=c.get("user_agent"), **kw):
        # The identity's own SDK string, exactly (botocore would append its own name).
        if ua:
            request.headers["User-Agent"] = ua
    def seen(request, name=name, **kw):
        sent_ua[name] = request.headers.get("User-Agent", b"")
    cl.meta.events.register("before-sign.s3.*", set_ua)
    cl.meta.events.register("before-send.s3.*", seen)
    clients[name] = cl

out = sys.stdout
for i, op in enumerate(plan["ops"]):
    cl = clients[op["client"]]
    b, k = op["bucket"], op.get("key")
    rec = {"i": i, "start_us": time.time_ns() // 1000}
    try:
        if op["op"] == "put":
            body = open(op["body"], "rb").read()
            r = cl.put_object(Bucket=b, Key=k, Body=body)
            rec.update(size=len(body), bytes_sent=0, etag=r["ETag"].strip('"'))
        elif op["op"] == "get":
            r = cl.get_object(Bucket=b, Key=k)
            data = r["Body"].read()
            rec.update(size=len(data), bytes_sent=len(data), md5=hashlib.md5(data).hexdigest())
        elif op["op"] == "head":
            r = cl.head_object(Bucket=b, Key=k)
            rec.update(size=r["ContentLength"], bytes_sent=0)
        elif op["op"] == "list":
            r = cl.list_objects_v2(Bucket=b, Prefix=op.get("prefix", ""))
            rec.update(size=None, bytes_sent=2000 + 100 * r.get("KeyCount", 0))
        elif op["op"] == "delete":
            r = cl.delete_object(Bucket=b, Key=k)
            rec.update(size=None, bytes_sent=0)
        else:
            raise SystemExit("unknown op " + op["op"])
        meta = r["ResponseMetadata"]
        rec.update(status=meta["HTTPStatusCode"], error=None, request_id=meta.get("RequestId", ""))
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        rec.update(status=meta.get("HTTPStatusCode", 0), error=e.response.get("Error", {}).get("Code"),
                   request_id=meta.get("RequestId", ""), size=None, bytes_sent=243)
    rec["end_us"] = time.time_ns() // 1000
    ua = sent_ua.get(op["client"], b"")
    rec["user_agent"] = ua.decode() if isinstance(ua, bytes) else ua
    out.write(json.dumps(rec) + "\n")
out.flush()
"#;

/// One client identity: the access key it signs with and the User-Agent it sends (`None`:
/// boto3's own).
#[derive(Debug, Clone)]
pub struct Client {
    pub access_key: String,
    pub user_agent: Option<String>,
}

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Upload the bytes of a file.
    Put {
        body: PathBuf,
    },
    Get,
    Head,
    Delete,
    List {
        prefix: String,
    },
}

/// A request: which client, what, where.
#[derive(Debug, Clone)]
pub struct Request {
    pub client: String,
    pub bucket: String,
    pub key: Option<String>,
    pub op: Op,
}

/// What one request did, as boto3 saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub start_us: i64,
    pub end_us: i64,
    pub status: u16,
    pub error: Option<String>,
    pub request_id: String,
    /// Object size (PUT: bytes uploaded; GET: bytes returned; HEAD: Content-Length).
    pub size: Option<u64>,
    pub bytes_sent: u64,
    /// MD5 (hex) of what a GET returned.
    pub md5: Option<String>,
    /// The User-Agent header the client really sent.
    pub user_agent: String,
}

/// The venv's Python (the one next to `moto_server`), with boto3 importable: installed there
/// with pip, once, when missing.
///
/// # Errors
/// No venv, or boto3 cannot be installed.
pub fn python() -> anyhow::Result<PathBuf> {
    let moto = crate::moto_server_path()?;
    let py = moto
        .parent()
        .map(|d| d.join("python"))
        .filter(|p| p.exists())
        .with_context(|| {
            format!(
                "no python next to {}; boto3 runs from the venv that holds moto",
                moto.display()
            )
        })?;
    let has = |py: &Path| {
        Command::new(py)
            .args(["-c", "import boto3"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !has(&py) {
        let ok = Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "boto3",
            ])
            .status()?
            .success();
        if !ok || !has(&py) {
            bail!(
                "boto3 is not importable by {} and pip could not install it",
                py.display()
            );
        }
    }
    Ok(py)
}

/// Sends `requests` in order with boto3 to `endpoint`; `work` is a scratch folder.
///
/// # Errors
/// The script fails or its output is not what it should be.
pub fn run(
    endpoint: &str,
    clients: &BTreeMap<String, Client>,
    requests: &[Request],
    work: &Path,
) -> anyhow::Result<Vec<Outcome>> {
    std::fs::create_dir_all(work)?;
    let script = work.join("s3client.py");
    std::fs::write(&script, SCRIPT)?;
    let ops: Vec<Value> = requests
        .iter()
        .map(|r| {
            let mut v = json!({"client": r.client, "bucket": r.bucket, "key": r.key});
            match &r.op {
                Op::Put { body } => {
                    v["op"] = json!("put");
                    v["body"] = json!(body);
                }
                Op::Get => v["op"] = json!("get"),
                Op::Head => v["op"] = json!("head"),
                Op::Delete => v["op"] = json!("delete"),
                Op::List { prefix } => {
                    v["op"] = json!("list");
                    v["prefix"] = json!(prefix);
                }
            }
            v
        })
        .collect();
    let plan = json!({
        "endpoint": endpoint,
        "clients": clients.iter().map(|(n, c)| (n.clone(), json!({
            "access_key": c.access_key, "user_agent": c.user_agent
        }))).collect::<serde_json::Map<_, _>>(),
        "ops": ops,
    });
    let plan_path = work.join(format!("plan-{}.json", requests.len()));
    std::fs::write(&plan_path, serde_json::to_vec(&plan)?)?;
    let out = Command::new(python()?)
        .arg(&script)
        .arg(&plan_path)
        .stdin(Stdio::null())
        .output()
        .context("running the boto3 client")?;
    if !out.status.success() {
        bail!(
            "the boto3 client failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8(out.stdout)?;
    let outcomes: Vec<Outcome> = text
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l)?;
            Ok(Outcome {
                start_us: v["start_us"].as_i64().context("start_us")?,
                end_us: v["end_us"].as_i64().context("end_us")?,
                status: v["status"].as_u64().context("status")? as u16,
                error: v["error"].as_str().map(str::to_string),
                request_id: v["request_id"].as_str().unwrap_or_default().to_string(),
                size: v["size"].as_u64(),
                bytes_sent: v["bytes_sent"].as_u64().unwrap_or(0),
                md5: v["md5"].as_str().map(str::to_string),
                user_agent: v["user_agent"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if outcomes.len() != requests.len() {
        bail!(
            "the boto3 client reported {} of {} requests",
            outcomes.len(),
            requests.len()
        );
    }
    Ok(outcomes)
}

/// Lists a bucket's incomplete multipart uploads with their parts (ListMultipartUploads, then
/// ListParts for each), as JSON on stdout. With a minimum number of parts, polls until one
/// upload has at least that many (or the deadline passes, then exits 3).
const UPLOADS_SCRIPT: &str = r#"
import json, sys, time
import boto3
from botocore.config import Config

endpoint, bucket, min_parts, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
cl = boto3.client(
    "s3",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="tierd-test",
    aws_secret_access_key="tierd-test-secret",
    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
)
deadline = time.time() + timeout
while True:
    found = []
    for u in cl.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        parts = cl.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", [])
        found.append({"key": u["Key"], "upload_id": u["UploadId"], "parts": len(parts)})
    if min_parts == 0 or any(f["parts"] >= min_parts for f in found):
        print(json.dumps(found))
        sys.exit(0)
    if time.time() > deadline:
        print(json.dumps(found))
        sys.exit(3)
    time.sleep(0.02)
"#;

/// An incomplete multipart upload, as the S3 server lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: String,
    pub upload_id: String,
    /// Parts uploaded so far.
    pub parts: usize,
}

fn uploads_run(
    endpoint: &str,
    bucket: &str,
    min_parts: usize,
    timeout: std::time::Duration,
) -> anyhow::Result<(bool, Vec<PendingUpload>)> {
    let out = Command::new(python()?)
        .arg("-c")
        .arg(UPLOADS_SCRIPT)
        .args([
            endpoint,
            bucket,
            &min_parts.to_string(),
            &timeout.as_secs_f64().to_string(),
        ])
        .stdin(Stdio::null())
        .output()
        .context("running the boto3 upload lister")?;
    let found = out.status.success();
    if !found && out.status.code() != Some(3) {
        bail!(
            "the boto3 upload lister failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout)?;
    let uploads = listed
        .iter()
        .map(|u| {
            Ok(PendingUpload {
                key: u["key"].as_str().context("key")?.to_string(),
                upload_id: u["upload_id"].as_str().context("upload_id")?.to_string(),
                parts: u["parts"].as_u64().context("parts")? as usize,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok((found, uploads))
}

/// The incomplete multipart uploads in `bucket`, as a real S3 client (boto3) lists them.
///
/// # Errors
/// boto3 cannot run or the server refuses.
pub fn multipart_uploads(endpoint: &str, bucket: &str) -> anyhow::Result<Vec<PendingUpload>> {
    Ok(uploads_run(endpoint, bucket, 0, std::time::Duration::ZERO)?.1)
}

/// Polls `bucket` (every 20 ms, in one boto3 process) until an incomplete multipart upload there
/// has at least `parts` parts; returns the uploads then.
///
/// # Errors
/// None appears within `timeout` (the error lists what there was), or boto3 cannot run.
pub fn wait_for_upload_parts(
    endpoint: &str,
    bucket: &str,
    parts: usize,
    timeout: std::time::Duration,
) -> anyhow::Result<Vec<PendingUpload>> {
    let (found, uploads) = uploads_run(endpoint, bucket, parts.max(1), timeout)?;
    if !found {
        bail!("no upload in {bucket} reached {parts} parts within {timeout:?}: {uploads:?}");
    }
    Ok(uploads)
}
