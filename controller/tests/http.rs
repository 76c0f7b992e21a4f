//! The HTTP endpoint against real sockets on 127.0.0.1, with raw HTTP/1.1 requests, and the
//! tier checks of `tierd check --config` on the real binary.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use models::{AccessEvent, OpClass};
use tierd::http::{
    Check, HttpState, ReadyFn, ServeOptions, Startup, TierAccess, check_tier, serve, serve_with,
};
use tierd::metrics::Metrics;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

const TOKEN: &str = "tok-8f2e1c77a9";
const CLOCK: i64 = 1_800_000_000;

/// The documented MinIO audit sample shipped in the repository, one entry per line.
fn sample_entries() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/logs/minio-audit.ndjson"
    );
    let text = std::fs::read_to_string(path).expect("the MinIO audit sample is readable");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

fn ready(checks: Vec<Check>) -> ReadyFn {
    Arc::new(move || {
        let checks = checks.clone();
        Box::pin(async move { checks })
    })
}

fn state(
    audit: Option<mpsc::Sender<Vec<AccessEvent>>>,
    token: Option<&str>,
    max_body_bytes: usize,
    ready_fn: ReadyFn,
) -> Arc<HttpState> {
    Arc::new(HttpState {
        metrics: Arc::new(Metrics::with_start_time(1_700_000_000.0)),
        ready: ready_fn,
        audit,
        audit_token: token.map(str::to_string),
        max_body_bytes,
        clock: Arc::new(|| CLOCK),
        startup: Startup::default(),
    })
}

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// With the default options, through [`serve`] itself.
    async fn start(state: Arc<HttpState>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn start_with(state: Arc<HttpState>, options: ServeOptions) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve_with(
            listener,
            state,
            async move {
                let _ = stopped.await;
            },
            options,
        ));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let r = tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("serve returns after shutdown");
        r.expect("serve task").expect("serve ends without error");
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
    raw: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends raw request bytes (which should say `Connection: close`) and reads the whole reply.
async fn raw(addr: SocketAddr, request: &[u8]) -> Reply {
    let buf = exchange(addr, request).await;
    let raw = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {raw:?}"));
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
        raw: raw.clone(),
    }
}

/// Writes the request and reads until the server closes the connection.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(request).await.expect("write");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    // Until the server closes; a reset after its answer (unread request body) ends it too.
    while let Ok(n) = s.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    buf
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    let req = format!("GET {path} HTTP/1.1\r\nHost: tierd\r\nConnection: close\r\n\r\n");
    raw(addr, req.as_bytes()).await
}

async fn post(addr: SocketAddr, path: &str, auth: Option<&str>, body: &str) -> Reply {
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: tierd\r\nContent-Type: application/json\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    raw(addr, req.as_bytes()).await
}

/// The value of one sample line (`name{labels} value`) in a rendered exposition.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)
            .and_then(|v| v.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    })
}

#[tokio::test]
async fn healthz_answers_ok_and_other_paths_and_methods_are_refused() {
    let srv = Server::start(state(None, None, 1024, ready(vec![]))).await;
    let r = get(srv.addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    let r = post(srv.addr, "/healthz", None, "").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD"));
    let r = get(srv.addr, "/nope?token=x").await;
    assert_eq!(r.status, 404);
    let r = get(srv.addr, "/v1/audit").await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    // Without an audit channel the webhook does not exist.
    let r = post(srv.addr, "/v1/audit", None, "{}").await;
    assert_eq!(r.status, 404);
    srv.stop().await;
}

#[tokio::test]
async fn readyz_lists_every_check_and_answers_503_naming_the_failing_ones() {
    let ok = |n: &str| Check {
        name: n.to_string(),
        ok: true,
        warn: false,
        detail: "reachable, writable".to_string(),
    };
    let srv = Server::start(state(
        None,
        None,
        1024,
        ready(vec![ok("tier onprem"), ok("journal")]),
    ))
    .await;
    let r = get(srv.addr, "/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        "ready\nok tier onprem: reachable, writable\nok journal: reachable, writable\n"
    );
    srv.stop().await;

    // A warning (a refused policy edit) is shown and keeps the answer 200.
    let refused = Check {
        name: "policy".to_string(),
        ok: true,
        warn: true,
        detail: "the edit of p.toml was refused (p.toml:1:1: error: x); the last good policy is in force".to_string(),
    };
    let srv = Server::start(state(None, None, 1024, ready(vec![ok("journal"), refused]))).await;
    let r = get(srv.addr, "/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body,
        "ready\nok journal: reachable, writable\nwarn policy: the edit of p.toml was refused (p.toml:1:1: error: x); the last good policy is in force\n"
    );
    srv.stop().await;

    let bad = Check {
        name: "tier cloud".to_string(),
        ok: false,
        warn: false,
        detail: "not reachable: listing failed: connection refused".to_string(),
    };
    let srv = Server::start(state(None, None, 1024, ready(vec![ok("tier onprem"), bad]))).await;
    let r = get(srv.addr, "/readyz").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        "not ready: 1 failing: tier cloud\nok tier onprem: reachable, writable\nFAILED tier cloud: not reachable: listing failed: connection refused\n"
    );
    srv.stop().await;
}

#[tokio::test]
async fn readyz_answers_503_when_the_checks_do_not_finish_in_time() {
    let never: ReadyFn = Arc::new(|| Box::pin(futures::future::pending()));
    let options = ServeOptions {
        ready_timeout: Duration::from_millis(50),
        ..ServeOptions::default()
    };
    let srv = Server::start_with(state(None, None, 1024, never), options).await;
    let r = get(srv.addr, "/readyz").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        "not ready: the readiness checks did not finish within 0.05s\n"
    );
    srv.stop().await;
}

#[tokio::test]
async fn while_starting_readyz_says_what_start_up_does_and_the_webhook_takes_nothing() {
    let (tx, mut rx) = mpsc::channel(4);
    let startup =
        Startup::starting("recovering the moves the last run left in flight: 2 of 40 done");
    let mut st = state(Some(tx), Some(TOKEN), 1 << 20, ready(vec![]));
    Arc::get_mut(&mut st).expect("not shared yet").startup = startup.clone();
    let srv = Server::start(st).await;
    let r = get(srv.addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));
    let r = get(srv.addr, "/readyz").await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        "not ready: starting: recovering the moves the last run left in flight: 2 of 40 done\n"
    );
    let r = get(srv.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    // The token is still asked for first; then the sender is told to come back.
    let entry = &sample_entries()[0];
    let r = post(srv.addr, "/v1/audit", None, entry).await;
    assert_eq!(r.status, 401);
    let bearer = format!("Bearer {TOKEN}");
    let r = post(srv.addr, "/v1/audit", Some(&bearer), entry).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after").as_deref(), Some("5"));
    assert_eq!(
        r.body,
        "tierd is starting (recovering the moves the last run left in flight: 2 of 40 done); it takes in audit entries once it runs; retry shortly\n"
    );
    assert!(rx.try_recv().is_err(), "nothing was queued while starting");

    // Once it runs: ready by its checks, and the webhook takes entries in.
    startup.done();
    startup.set("said after the start: ignored");
    let r = get(srv.addr, "/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ready\n"));
    let r = post(srv.addr, "/v1/audit", Some(&bearer), entry).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(rx.try_recv().map(|v| v.len()).ok(), Some(1));
    srv.stop().await;
}

/// Checks the text format: every sample's metric is described by a HELP and a TYPE line
/// before its samples, names and label sets are well formed, values parse.
fn assert_valid_exposition(text: &str) {
    use std::collections::BTreeMap;
    let mut described: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            assert!(helped.insert(name.to_string()), "HELP twice: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            let (name, kind) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(
                described
                    .insert(name.to_string(), kind.to_string())
                    .is_none(),
                "TYPE twice: {line}"
            );
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
        let name_end = line.find(['{', ' ']).expect("a sample has a value");
        let name = &line[..name_end];
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|b| described.get(*b).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(described.contains_key(base), "no TYPE for {line}");
        let rest = &line[name_end..];
        let value = if let Some(labels) = rest.strip_prefix('{') {
            // label="value" pairs, values with \\, \" and \n escapes only.
            let mut chars = labels.char_indices().peekable();
            let mut end = None;
            while let Some((_, c)) = chars.next() {
                if c == '}' {
                    end = chars.peek().map(|(i, _)| *i);
                    break;
                }
                if c == ',' {
                    continue;
                }
                let mut key = String::from(c);
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert!(
                    key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "label name {key:?} in {line}"
                );
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
                loop {
                    match chars.next().map(|(_, c)| c) {
                        Some('\\') => {
                            let e = chars.next().map(|(_, c)| c);
                            assert!(matches!(e, Some('\\' | '"' | 'n')), "{line}");
                        }
                        Some('"') => break,
                        Some('\n') | None => panic!("unterminated label value: {line}"),
                        Some(_) => {}
                    }
                }
            }
            let end = end.expect("label set closed");
            &labels[end..]
        } else {
            rest
        };
        let value = value.trim_start();
        assert!(
            value.parse::<f64>().is_ok() || ["NaN", "+Inf", "-Inf"].contains(&value),
            "value {value:?} in {line}"
        );
    }
}

#[tokio::test]
async fn metrics_render_valid_text_that_counts_up() {
    let st = state(None, None, 1024, ready(vec![]));
    let m = st.metrics.clone();
    let srv = Server::start(st).await;
    let r = get(srv.addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_valid_exposition(&r.body);
    let before = sample(&r.body, "tierd_events_ingested_total{source=\"logs\"}");
    assert_eq!(before, Some(0.0));

    m.events_ingested("logs", 5);
    m.decision("move", "done");
    m.moved(2, 2048);
    m.failure("execute");
    m.anomaly_score("a \"quoted\" bucket\\with\nnewline", 0.97);
    m.set_model_trained_at(CLOCK - 3600);
    m.cycle("score", 0.2);
    let r = get(srv.addr, "/metrics").await;
    assert_valid_exposition(&r.body);
    let b = &r.body;
    assert_eq!(
        sample(b, "tierd_events_ingested_total{source=\"logs\"}"),
        Some(5.0)
    );
    assert_eq!(
        sample(b, "tierd_decisions_total{action=\"move\",state=\"done\"}"),
        Some(1.0)
    );
    assert_eq!(sample(b, "tierd_bytes_moved_total"), Some(2048.0));
    assert_eq!(
        sample(b, "tierd_failures_total{stage=\"execute\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(
            b,
            "tierd_anomaly_score{bucket=\"a \\\"quoted\\\" bucket\\\\with\\nnewline\"}"
        ),
        Some(0.97)
    );
    // The model age comes from the injected clock.
    assert_eq!(sample(b, "tierd_model_age_seconds"), Some(3600.0));
    assert_eq!(
        sample(b, "tierd_cycle_seconds_count{stage=\"score\"}"),
        Some(1.0)
    );
    // The first scrape was counted by route and status.
    assert_eq!(
        sample(
            b,
            "tierd_http_requests_total{route=\"metrics\",code=\"200\"}"
        ),
        Some(1.0)
    );
    srv.stop().await;
}

#[tokio::test]
async fn a_minio_audit_entry_is_accepted_and_its_event_arrives_on_the_channel() {
    let (tx, mut rx) = mpsc::channel(4);
    let st = state(Some(tx), None, 1 << 20, ready(vec![]));
    let m = st.metrics.clone();
    let srv = Server::start(st).await;
    let entries = sample_entries();
    let r = post(srv.addr, "/v1/audit", None, &entries[0]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json(),
        serde_json::json!({"accepted": 1, "bad": 0, "errors": []})
    );
    let events = rx.recv().await.expect("a batch");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.op, OpClass::Head);
    assert_eq!(e.operation, "HeadObject");
    assert_eq!(e.bucket, "media");
    assert_eq!(e.key.as_deref(), Some("2026/11/02/IMG_0011.jpg"));
    assert_eq!(e.principal.as_deref(), Some("mediawriter"));
    assert_eq!(e.origin.to_string(), "webhook:1");
    let text = m.render(CLOCK);
    assert_eq!(
        sample(&text, "tierd_events_ingested_total{source=\"webhook\"}"),
        Some(1.0)
    );
    // MinIO's probe when it brings the target online: an empty object, answered 200.
    let r = post(srv.addr, "/v1/audit", None, "{}").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["accepted"], 0);
    let r = post(srv.addr, "/v1/audit", None, "").await;
    assert_eq!(r.status, 200);
    assert!(rx.try_recv().is_err(), "a probe carries no event");
    srv.stop().await;
}

#[tokio::test]
async fn array_and_ndjson_batches_are_read_in_order() {
    let (tx, mut rx) = mpsc::channel(4);
    let srv = Server::start(state(Some(tx), None, 1 << 20, ready(vec![]))).await;
    let entries = sample_entries();
    let three = &entries[..3];
    let expect_keys: Vec<Option<String>> = three
        .iter()
        .map(|l| {
            models::parse::minio::parse_line(l)
                .expect("sample parses")
                .and_then(|e| e.key)
        })
        .collect();

    let ndjson = format!("{}\n", three.join("\n"));
    let array = format!("[\n  {}\n]", three.join(",\n  "));
    // Pretty-printed objects one after another are a stream of values too.
    let pretty: Vec<String> = three
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            serde_json::to_string_pretty(&v).expect("pretty")
        })
        .collect();
    let pretty = pretty.join("\n");
    for body in [ndjson, array, pretty] {
        let r = post(srv.addr, "/v1/audit", None, &body).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["accepted"], 3, "{body}");
        let events = rx.recv().await.expect("a batch");
        let keys: Vec<Option<String>> = events.into_iter().map(|e| e.key).collect();
        assert_eq!(keys, expect_keys);
    }
    srv.stop().await;
}

#[tokio::test]
async fn bad_entries_are_counted_and_located_and_a_body_of_only_bad_ones_is_refused() {
    let (tx, mut rx) = mpsc::channel(4);
    let st = state(Some(tx), None, 1 << 20, ready(vec![]));
    let m = st.metrics.clone();
    let srv = Server::start(st).await;
    let entries = sample_entries();
    let body = format!(
        "{}\nnot json\n{}\n{{\"time\":\"yesterday\",\"api\":{{\"name\":\"GetObject\"}}}}\n",
        entries[0], entries[1]
    );
    let r = post(srv.addr, "/v1/audit", None, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["accepted"], 2);
    assert_eq!(j["bad"], 2);
    let errors: Vec<&str> = j["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    assert_eq!(errors.len(), 2);
    assert!(errors[0].starts_with("entry 2: "), "{errors:?}");
    assert_eq!(
        errors[1],
        "entry 4: field \"time\": expected RFC 3339 time, found \"yesterday\""
    );
    assert_eq!(rx.recv().await.expect("a batch").len(), 2);

    let r = post(
        srv.addr,
        "/v1/audit",
        None,
        "[{\"time\":\"2026-11-02T08:01:07Z\"}, 42]",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        "entry 1: missing field \"api.name\"\nentry 2: expected a JSON object, found a number\n"
    );
    assert!(rx.try_recv().is_err());

    // An array cut short after a complete entry: the entry is taken and the cut is a bad entry;
    // a bare `[` is refused.
    let r = post(srv.addr, "/v1/audit", None, &format!("[{},", entries[0])).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(
        (j["accepted"].as_u64(), j["bad"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        j["errors"][0],
        "entry 2: the JSON array has no closing `]`; the body was cut short after entry 1"
    );
    assert_eq!(rx.recv().await.expect("a batch").len(), 1);
    let r = post(srv.addr, "/v1/audit", None, "[").await;
    assert_eq!(r.status, 400);
    assert!(rx.try_recv().is_err());

    let text = m.render(CLOCK);
    assert_eq!(
        sample(&text, "tierd_bad_lines_total{source=\"webhook\"}"),
        Some(6.0)
    );
    assert_eq!(
        sample(&text, "tierd_events_ingested_total{source=\"webhook\"}"),
        Some(3.0)
    );
    srv.stop().await;
}

#[tokio::test]
async fn the_token_is_required_and_never_appears_in_any_answer() {
    let (tx, mut rx) = mpsc::channel(8);
    let srv = Server::start(state(Some(tx), Some(TOKEN), 1 << 20, ready(vec![]))).await;
    let entry = sample_entries().remove(0);
    let mut replies = Vec::new();

    let r = post(srv.addr, "/v1/audit", None, &entry).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
    replies.push(r);
    let wrong = format!("Bearer {TOKEN}x");
    let r = post(srv.addr, "/v1/audit", Some(&wrong), &entry).await;
    assert_eq!(r.status, 401);
    replies.push(r);
    let r = post(srv.addr, "/v1/audit", Some("Basic dG9rOng="), &entry).await;
    assert_eq!(r.status, 401);
    replies.push(r);

    let bearer = format!("Bearer {TOKEN}");
    let r = post(srv.addr, "/v1/audit", Some(&bearer), &entry).await;
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    let r = post(srv.addr, "/v1/audit", Some(TOKEN), &entry).await;
    assert_eq!(r.status, 200, "{}", r.body);
    replies.push(r);
    let r = post(srv.addr, "/v1/audit", Some(&bearer), "oops").await;
    assert_eq!(r.status, 400);
    replies.push(r);
    replies.push(get(srv.addr, "/metrics").await);
    replies.push(get(srv.addr, "/readyz").await);
    assert_eq!(rx.recv().await.expect("first").len(), 1);
    assert_eq!(rx.recv().await.expect("second").len(), 1);

    for r in &replies {
        assert!(!r.raw.contains(TOKEN), "the token leaked: {}", r.raw);
    }
    srv.stop().await;
}

#[tokio::test]
async fn a_body_above_the_limit_is_refused_with_413() {
    let (tx, mut rx) = mpsc::channel(4);
    let srv = Server::start(state(Some(tx), None, 1024, ready(vec![]))).await;
    let big = format!("[{}]", vec!["{}"; 600].join(","));
    assert!(big.len() > 1024);
    let r = post(srv.addr, "/v1/audit", None, &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(
        r.body,
        "the body is larger than 1024 bytes; lower the sender's batch size\n"
    );
    // Without a Content-Length (chunked), the limit holds while reading.
    let req = format!(
        "POST /v1/audit HTTP/1.1\r\nHost: tierd\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let r = raw(srv.addr, req.as_bytes()).await;
    assert_eq!(r.status, 413);
    assert!(rx.try_recv().is_err());
    srv.stop().await;
}

#[tokio::test]
async fn a_full_channel_answers_503_with_retry_after_and_counts_nothing() {
    let (tx, mut rx) = mpsc::channel(1);
    let st = state(Some(tx), None, 1 << 20, ready(vec![]));
    let m = st.metrics.clone();
    let srv = Server::start(st).await;
    let entry = sample_entries().remove(0);
    let r = post(srv.addr, "/v1/audit", None, &entry).await;
    assert_eq!(r.status, 200);
    let r = post(srv.addr, "/v1/audit", None, &entry).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(
        sample(
            &m.render(CLOCK),
            "tierd_events_ingested_total{source=\"webhook\"}"
        ),
        Some(1.0)
    );
    // Once the consumer catches up, the retry goes through.
    assert_eq!(rx.recv().await.expect("batch").len(), 1);
    let r = post(srv.addr, "/v1/audit", None, &entry).await;
    assert_eq!(r.status, 200);
    srv.stop().await;
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish_then_returns() {
    let (entered_tx, entered_rx) = mpsc::channel::<()>(1);
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let slow: ReadyFn = Arc::new(move || {
        let entered = entered_tx.clone();
        let mut release = release_rx.clone();
        Box::pin(async move {
            let _ = entered.send(()).await;
            let _ = release.wait_for(|r| *r).await;
            vec![Check {
                name: "slow".to_string(),
                ok: true,
                warn: false,
                detail: "done".to_string(),
            }]
        })
    });
    let srv = Server::start(state(None, None, 1024, slow)).await;
    let addr = srv.addr;
    let in_flight = tokio::spawn(async move { get(addr, "/readyz").await });
    let mut entered_rx = entered_rx;
    entered_rx.recv().await.expect("the request is in flight");

    let Server {
        addr,
        mut stop,
        task,
    } = srv;
    if let Some(s) = stop.take() {
        let _ = s.send(());
    }
    // The listener closes: new connections are refused (or reset before an answer).
    let mut refused = false;
    for _ in 0..100 {
        match TcpStream::connect(addr).await {
            Err(_) => {
                refused = true;
                break;
            }
            Ok(_) => tokio::task::yield_now().await,
        }
    }
    assert!(refused, "the listener still accepts after shutdown");
    assert!(
        !task.is_finished(),
        "serve returned with a request in flight"
    );

    release_tx.send(true).expect("release");
    let r = in_flight.await.expect("client");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "ready\nok slow: done\n");
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("serve returns")
        .expect("join")
        .expect("serve ends without error");
}

#[tokio::test]
async fn shutdown_gives_up_on_a_stuck_request_after_the_grace_period() {
    let (entered_tx, mut entered_rx) = mpsc::channel::<()>(1);
    let stuck_ready: ReadyFn = Arc::new(move || {
        let entered = entered_tx.clone();
        Box::pin(async move {
            let _ = entered.send(()).await;
            futures::future::pending::<Vec<Check>>().await
        })
    });
    let options = ServeOptions {
        shutdown_grace: Duration::from_millis(100),
        ..ServeOptions::default()
    };
    let srv = Server::start_with(state(None, None, 1024, stuck_ready), options).await;
    let addr = srv.addr;
    let stuck = tokio::spawn(async move {
        exchange(addr, b"GET /readyz HTTP/1.1\r\nHost: tierd\r\n\r\n").await
    });
    entered_rx.recv().await.expect("the request is in flight");
    srv.stop().await;
    // The server closed the connection without an answer.
    let answer = tokio::time::timeout(Duration::from_secs(30), stuck)
        .await
        .expect("the client sees the connection close")
        .expect("client");
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
}

#[tokio::test]
async fn a_memory_tier_is_reachable_and_writable_and_keeps_no_probe() {
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let prefix = object_store::path::Path::from("photos");
    let c = check_tier("onprem", &store, &prefix, TierAccess::ReadWrite).await;
    assert_eq!(
        c,
        Check {
            name: "tier onprem".to_string(),
            ok: true,
            warn: false,
            detail: "reachable, writable".to_string()
        }
    );
    use futures::StreamExt;
    let left: Vec<_> = store.list(None).collect().await;
    assert!(left.is_empty(), "{left:?}");
    let c = check_tier("onprem", &store, &prefix, TierAccess::Read).await;
    assert_eq!((c.ok, c.detail.as_str()), (true, "reachable"));
}

fn tierd_check(dir: &std::path::Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tierd"))
        .current_dir(dir)
        .args(["check", "--config", "tierd.toml"])
        .args(extra)
        .output()
        .expect("tierd runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tierd_check_says_a_good_file_tier_is_reachable_and_writable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let onprem = dir.path().join("onprem");
    std::fs::write(
        dir.path().join("tierd.toml"),
        format!("[tiers.onprem]\nurl = \"file://{}\"\n", onprem.display()),
    )
    .expect("config");
    let (code, out, err) = tierd_check(dir.path(), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        format!(
            "tier onprem (file://{}): reachable, writable\nok: checked 0 policy files and 1 configuration, 0 rules; tests: 0 passed, 0 failed; 0 errors, 0 warnings; tiers: 1 ok, 0 failed\n",
            onprem.display()
        )
    );
    // The probe object is gone.
    let probes = onprem.join(".tierd-probe");
    let left = std::fs::read_dir(&probes).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "probe objects left in {}", probes.display());
}

#[test]
fn tierd_check_names_a_tier_that_cannot_be_opened_or_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A "folder" under a regular file can be neither found nor created, even by root.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").expect("file");
    let missing = file.join("onprem");
    // /proc is listable and refuses new files, even for root: reachable, not writable.
    std::fs::write(
        dir.path().join("tierd.toml"),
        format!(
            "[tiers.onprem]\nurl = \"file://{}\"\n[tiers.vault]\nurl = \"file:///proc\"\n",
            missing.display()
        ),
    )
    .expect("config");
    let (code, out, err) = tierd_check(dir.path(), &[]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(
        lines[0],
        format!(
            "tier onprem (file://{}): cannot open it: cannot create the folder: Not a directory (os error 20)",
            missing.display()
        )
    );
    assert!(
        lines[1].starts_with("tier vault (file:///proc): reachable, not writable: writing the probe object .tierd-probe/"),
        "{}",
        lines[1]
    );
    assert_eq!(
        lines[2],
        "FAILED: checked 0 policy files and 1 configuration, 0 rules; tests: 0 passed, 0 failed; 0 errors, 0 warnings; tiers: 0 ok, 2 failed"
    );

    // Offline CI skips them, visibly.
    let (code, out, err) = tierd_check(dir.path(), &["--no-tier-checks"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "ok: checked 0 policy files and 1 configuration, 0 rules; tests: 0 passed, 0 failed; 0 errors, 0 warnings; tier checks skipped (--no-tier-checks)\n"
    );
}

#[test]
fn tierd_check_of_an_unreachable_s3_tier_says_so_without_its_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Port 1 on 127.0.0.1: nothing listens, the connection is refused at once.
    std::fs::write(
        dir.path().join("tierd.toml"),
        "[tiers.cloud]\nurl = \"s3://cold/tierd\"\noptions = { endpoint = \"http://127.0.0.1:1\", allow_http = \"true\", region = \"us-east-1\", access_key_id = \"AKIDTIERDTEST\", secret_access_key = \"sEcReT-9d1f0b\" }\n",
    )
    .expect("config");
    let (code, out, err) = tierd_check(dir.path(), &[]);
    assert_eq!(code, 1, "{out}{err}");
    let first = out.lines().next().unwrap_or("");
    assert!(
        first.starts_with("tier cloud (s3://cold/tierd): not reachable: listing failed: "),
        "{out}"
    );
    assert!(!out.contains("sEcReT-9d1f0b") && !err.contains("sEcReT-9d1f0b"));
}
