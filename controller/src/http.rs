//! The service's HTTP endpoint: liveness, readiness, Prometheus metrics and the MinIO audit
//! webhook, on hyper 1 (HTTP/1.1, no framework).
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | `200 ok`: the process serves requests |
//! | `GET /readyz` | `200` with one line per check (`ok` or `warn`), or `503` naming the failing checks (or the timeout); `503` `not ready: starting: ...` while the service starts |
//! | `GET /metrics` | `200`, Prometheus text format 0.0.4 ([`Metrics::render`]) |
//! | `POST /v1/audit` | MinIO audit entries → events on the ingest channel (see [`HttpState::audit`]) |
//!
//! Other paths answer `404`, other methods `405` with `Allow`. `HEAD` works wherever `GET` does.
//!
//! # The audit webhook
//! MinIO's audit webhook target POSTs one JSON audit entry per request, or, with `batch_size`
//! above 1, several entries one per line; other senders post a JSON array. All three are read:
//! a body starting with `[` is an array of entries; otherwise a sequence of JSON values (one, or
//! several separated by whitespace or newlines); and when that is not valid JSON, one entry per
//! line, so that one bad line does not hide the good ones. Each entry is parsed by
//! [`models::parse::minio::parse_events`] (one event per object of a batch delete), under the
//! rules of a log line: one longer than [`crate::ingest::MAX_LINE_BYTES`] is a bad entry. An
//! empty body and an empty object `{}` (MinIO's probe when it brings a target online) are
//! accepted and carry no event.
//!
//! - At least one entry parsed, or nothing to parse: `200` with
//!   `{"accepted":N,"bad":M,"errors":["entry 3: ...", ...]}` (N events: one per object of an
//!   entry that lists several; M bad entries; at most ten errors listed); the
//!   events go on the channel in one `Vec`, `tierd_events_ingested_total{source="webhook"}` and
//!   `tierd_bad_lines_total{source="webhook"}` count them.
//! - Entries but none parsed: `400`, one line per bad entry, `entry N: reason` (N counts from 1).
//! - The channel full: `503` with `Retry-After: 1` and nothing counted: the sender retries the
//!   same batch. The channel's capacity is the bound on memory; the handler never waits on it.
//! - The service still starting ([`HttpState::startup`]): `503` with `Retry-After: 5`, the body
//!   read no further and nothing counted. Nothing is accepted that a stop during start-up (when
//!   no cycle runs to take it in) could lose; the sender retries.
//! - A body above [`HttpState::max_body_bytes`]: `413`, before reading more of it than the limit.
//! - With [`HttpState::audit_token`] set, `Authorization` must be `Bearer <token>` or the bare
//!   token (MinIO sends its `auth_token` setting as the header's whole value): else `401`.
//!
//! # Guarantees
//! - The token and the `Authorization` header are never logged, echoed, or counted: responses
//!   and log lines name routes, statuses and counts only.
//! - Token comparison takes the same time whatever the header holds (SHA-256 of both sides,
//!   compared without early exit).
//! - Memory is bounded: at most [`MAX_CONNECTIONS`] connections (more wait in the listen
//!   backlog), each reading at most `max_body_bytes` of body, request headers within
//!   [`HEADER_TIMEOUT`] and bodies within [`BODY_TIMEOUT`].
//! - Shutdown: when the `shutdown` future resolves, [`serve`] stops accepting, lets requests in
//!   flight finish for up to [`SHUTDOWN_GRACE`], closes what is left and returns.
//!
//! # Example
//! ```no_run
//! use std::sync::Arc;
//! use tierd::http::{HttpState, ReadyFn, Startup, serve};
//! use tierd::metrics::Metrics;
//!
//! # async fn run() -> std::io::Result<()> {
//! let (tx, _rx) = tokio::sync::mpsc::channel(64);
//! let ready: ReadyFn = Arc::new(|| Box::pin(async { Vec::new() }));
//! let state = Arc::new(HttpState {
//!     metrics: Arc::new(Metrics::new()),
//!     ready,
//!     audit: Some(tx),
//!     audit_token: std::env::var("TIERD_AUDIT_TOKEN").ok(),
//!     max_body_bytes: 8 << 20,
//!     clock: Arc::new(|| chrono::Utc::now().timestamp()),
//!     startup: Startup::default(),
//! });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:9464").await?;
//! serve(listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use models::{AccessEvent, Origin};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::metrics::Metrics;

/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 256;
/// How long a client may take to send a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `/readyz` waits for the readiness checks before answering 503.
pub const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long each storage request of a tier check may take.
pub const TIER_OP_TIMEOUT: Duration = Duration::from_secs(10);
/// Bad-entry reasons listed in a webhook answer (all are counted).
const MAX_LISTED_ERRORS: usize = 10;
/// Bytes of `entry N: reason` lines a 400 answer carries at most.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// Where tier checks write their probe objects, under the tier's root.
pub const PROBE_PREFIX: &str = ".tierd-probe";

/// One readiness check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked, e.g. `tier onprem`.
    pub name: String,
    pub ok: bool,
    /// Passed, but worth a look (a refused policy edit): printed `warn NAME: DETAIL`, and the
    /// answer stays `200`.
    pub warn: bool,
    /// What was found (`reachable, writable`) or what failed and why.
    pub detail: String,
}

/// The readiness checks, run on every `GET /readyz` (bounded by [`READY_TIMEOUT`]).
pub type ReadyFn = Arc<dyn Fn() -> futures::future::BoxFuture<'static, Vec<Check>> + Send + Sync>;

/// What the endpoint serves from; built once by the daemon and shared by every connection.
pub struct HttpState {
    /// The registry `/metrics` renders and the webhook counts into.
    pub metrics: Arc<Metrics>,
    /// Readiness checks for `/readyz`.
    pub ready: ReadyFn,
    /// Where webhook events go (bounded: a full channel answers 503). `None`: `POST /v1/audit`
    /// answers 404.
    pub audit: Option<mpsc::Sender<Vec<AccessEvent>>>,
    /// When set, webhook requests must carry it (`Authorization: Bearer <token>` or the bare
    /// token); never logged.
    pub audit_token: Option<String>,
    /// Webhook bodies above this many bytes answer 413.
    pub max_body_bytes: usize,
    /// Unix seconds now, for the model age in `/metrics` (injected so tests pin it).
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// Whether the service is still starting: the endpoint listens before recovery, so that
    /// `/healthz` answers during a long one.
    pub startup: Startup,
}

/// Where the service is in its start-up, shared by the service (which says what it is doing)
/// and the endpoint. Until [`Startup::done`], `/readyz` answers `503` `not ready: starting:
/// WHAT` and the webhook `503` with `Retry-After`. Clones share one state; [`Default`] is a
/// service that has started.
#[derive(Debug, Clone, Default)]
pub struct Startup(Arc<std::sync::Mutex<Option<String>>>);

impl Startup {
    /// A start-up under way, doing `what`.
    pub fn starting(what: impl Into<String>) -> Startup {
        Startup(Arc::new(std::sync::Mutex::new(Some(what.into()))))
    }

    /// Says what start-up does now; nothing once it is done.
    pub fn set(&self, what: impl Into<String>) {
        let mut now = self.lock();
        if now.is_some() {
            *now = Some(what.into());
        }
    }

    /// Start-up is over: the service runs.
    pub fn done(&self) {
        *self.lock() = None;
    }

    /// What start-up is doing; `None` once the service runs.
    pub fn current(&self) -> Option<String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        // A panic while holding it left a whole `Option<String>`: still good to read.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl fmt::Debug for HttpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpState")
            .field("audit", &self.audit.is_some())
            .field(
                "audit_token",
                &self.audit_token.as_ref().map(|_| "<redacted>"),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// Timeouts of [`serve_with`]; [`Default`] gives the constants of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeOptions {
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub ready_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            ready_timeout: READY_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE,
        }
    }
}

/// Serves the endpoint on `listener` until `shutdown` resolves, then drains (see the module's
/// guarantees) and returns.
///
/// # Errors
/// None in practice: a failed `accept` (a connection reset before it was accepted, or out of
/// file descriptors) is logged and retried after a short pause, so the endpoint stays up.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, shutdown, ServeOptions::default()).await
}

/// [`serve`] with other timeouts.
///
/// # Errors
/// See [`serve`].
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut conns = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    warn!(message = "Accepting a connection failed; retrying.", error = %e);
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_millis(100)) => continue,
                    }
                }
            },
        };
        let conn_state = state.clone();
        let service = service_fn(move |req| {
            let state = conn_state.clone();
            async move { Ok::<_, Infallible>(handle(&state, &options, req).await) }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        conns.spawn(async move {
            if let Err(e) = conn.await {
                debug!(message = "HTTP connection ended with an error.", error = %e);
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(options.shutdown_grace) => {
            warn!(
                message = "HTTP requests still in flight at the end of the shutdown grace period; closing them.",
                grace_seconds = options.shutdown_grace.as_secs_f64(),
            );
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
    Ok(())
}

type Answer = Response<Full<Bytes>>;

/// The fixed route names used in metrics and logs (never the raw path or query).
fn route_of(path: &str) -> &'static str {
    match path {
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        "/v1/audit" => "audit",
        _ => "other",
    }
}

async fn handle(state: &HttpState, options: &ServeOptions, req: Request<Incoming>) -> Answer {
    let route = route_of(req.uri().path());
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    let answer = match route {
        "healthz" if get => text(StatusCode::OK, "ok\n"),
        "readyz" if get => readyz(state, options).await,
        "metrics" if get => {
            let mut r = text(StatusCode::OK, state.metrics.render((state.clock)()));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        "healthz" | "readyz" | "metrics" => not_allowed("GET, HEAD"),
        "audit" if req.method() == Method::POST => audit(state, options, req).await,
        "audit" => not_allowed("POST"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };
    let status = answer.status().as_u16();
    state.metrics.http_request(route, status);
    debug!(message = "HTTP request answered.", route, status);
    answer
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Answer {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn not_allowed(allow: &'static str) -> Answer {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed; use {allow}\n"),
    );
    r.headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    r
}

async fn readyz(state: &HttpState, options: &ServeOptions) -> Answer {
    if let Some(what) = state.startup.current() {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: starting: {}\n", one_line(&what)),
        );
    }
    let Ok(checks) = tokio::time::timeout(options.ready_timeout, (state.ready)()).await else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the readiness checks did not finish within {}s\n",
                options.ready_timeout.as_secs_f64()
            ),
        );
    };
    let failing: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    let mut body = if failing.is_empty() {
        String::from("ready\n")
    } else {
        format!(
            "not ready: {} failing: {}\n",
            failing.len(),
            failing.join(", ")
        )
    };
    for c in &checks {
        let mark = match (c.ok, c.warn) {
            (false, _) => "FAILED",
            (true, true) => "warn",
            (true, false) => "ok",
        };
        body.push_str(&format!("{mark} {}: {}\n", c.name, one_line(&c.detail)));
    }
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    text(status, body)
}

/// Whether the request carries the token: `Authorization: Bearer <token>` (any case of
/// `Bearer`) or the bare token, compared in constant time.
fn authorized(header: Option<&HeaderValue>, token: &str) -> bool {
    let Some(value) = header else {
        return false;
    };
    // An empty token would let an empty header in: refuse everything instead.
    if token.is_empty() {
        return false;
    }
    let value = value.as_bytes();
    let bearer = value
        .get(..7)
        .filter(|p| p.eq_ignore_ascii_case(b"bearer "))
        .and_then(|_| value.get(7..))
        .unwrap_or(b"");
    let token = token.as_bytes();
    // Both comparisons always run: no early exit tells which form was close.
    let bare = same_secret(value, token);
    let with_scheme = same_secret(bearer, token);
    bare | with_scheme
}

/// Constant-time equality of two secrets of any length: their SHA-256 digests are compared
/// without an early exit, so the time taken says nothing about where they differ or how long
/// the token is.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

async fn audit(state: &HttpState, options: &ServeOptions, req: Request<Incoming>) -> Answer {
    let Some(tx) = &state.audit else {
        return text(
            StatusCode::NOT_FOUND,
            "the audit webhook is not enabled on this tierd\n",
        );
    };
    if let Some(token) = &state.audit_token
        && !authorized(req.headers().get(AUTHORIZATION), token)
    {
        let mut r = text(
            StatusCode::UNAUTHORIZED,
            "unauthorized: send the configured token as Authorization: Bearer <token>\n",
        );
        r.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    if let Some(what) = state.startup.current() {
        return busy(
            format!(
                "tierd is starting ({}); it takes in audit entries once it runs; retry shortly\n",
                one_line(&what)
            ),
            "5",
        );
    }
    let limit = state.max_body_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return too_large(limit);
    }
    let body = Limited::new(req.into_body(), limit).collect();
    let body = match tokio::time::timeout(options.body_timeout, body).await {
        Err(_) => {
            return text(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {}s\n",
                    options.body_timeout.as_secs_f64()
                ),
            );
        }
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return too_large(limit),
        Ok(Err(e)) => {
            debug!(message = "Reading a webhook body failed.", error = %e);
            return text(StatusCode::BAD_REQUEST, "the body could not be read\n");
        }
        Ok(Ok(b)) => b.to_bytes(),
    };
    let Ok(body) = std::str::from_utf8(&body) else {
        state.metrics.bad_lines("webhook", 1);
        return text(
            StatusCode::BAD_REQUEST,
            "entry 1: the body is not UTF-8 text; MinIO audit entries are JSON\n",
        );
    };

    let parsed = parse_audit_body(body);
    let accepted = parsed.events.len();
    let bad = parsed.errors.len();
    if accepted == 0 && bad > 0 {
        state.metrics.bad_lines("webhook", bad as u64);
        warn!(
            message = "Audit webhook request refused: no entry could be read.",
            bad,
            first = %parsed.errors[0],
        );
        let mut body = String::new();
        for e in &parsed.errors {
            if body.len() + e.len() > MAX_ERROR_BODY {
                body.push_str(&format!("... and more; {bad} bad entries in all\n"));
                break;
            }
            body.push_str(e);
            body.push('\n');
        }
        return text(StatusCode::BAD_REQUEST, body);
    }
    if accepted > 0 {
        match tx.try_send(parsed.events) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return busy("the ingest queue is full; retry shortly\n", "1");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return busy("tierd is shutting down its ingest; retry shortly\n", "1");
            }
        }
    }
    state.metrics.events_ingested("webhook", accepted as u64);
    state.metrics.bad_lines("webhook", bad as u64);
    if bad > 0 {
        warn!(
            message = "Audit webhook entries skipped.",
            accepted,
            bad,
            first = %parsed.errors[0],
        );
    }
    let errors: Vec<&String> = parsed.errors.iter().take(MAX_LISTED_ERRORS).collect();
    let json = serde_json::json!({ "accepted": accepted, "bad": bad, "errors": errors });
    let mut r = text(StatusCode::OK, format!("{json}\n"));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn too_large(limit: usize) -> Answer {
    text(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is larger than {limit} bytes; lower the sender's batch size\n"),
    )
}

/// `503` with `Retry-After: SECONDS`.
fn busy(message: impl Into<Bytes>, seconds: &'static str) -> Answer {
    let mut r = text(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static(seconds));
    r
}

/// What a webhook body held.
#[derive(Debug, Default)]
struct ParsedBody {
    events: Vec<AccessEvent>,
    /// `entry N: reason`, in body order.
    errors: Vec<String>,
}

/// Parses a webhook body of MinIO audit entries (see the module documentation for the forms).
fn parse_audit_body(body: &str) -> ParsedBody {
    let origin_file: Arc<str> = Arc::from("webhook");
    let mut out = ParsedBody::default();
    let (entries, unclosed) = split_entries(body);
    let count = entries.len();
    let mut last_bad = false;
    for (i, entry) in entries.into_iter().enumerate() {
        let n = i + 1;
        last_bad = false;
        if is_empty_object(entry) {
            continue;
        }
        // An entry longer than a log line may be, or one no store could have written, is a bad
        // entry, like a malformed one. An entry that lists several objects (a batch delete)
        // gives one event each.
        let parsed = if entry.len() > crate::ingest::MAX_LINE_BYTES {
            Err(crate::ingest::too_long(entry.len()))
        } else {
            models::parse::minio::parse_events(entry)
        };
        let parsed =
            parsed.and_then(
                |events| match events.iter().find_map(AccessEvent::implausible) {
                    Some(reason) => Err(reason),
                    None => Ok(events),
                },
            );
        match parsed {
            Ok(events) => out.events.extend(events.into_iter().map(|mut e| {
                e.origin = Origin {
                    file: origin_file.clone(),
                    line: n as u64,
                };
                e
            })),
            Err(reason) => {
                last_bad = true;
                out.errors.push(format!("entry {n}: {reason}"));
            }
        }
    }
    // An array without its `]` was cut short, perhaps right after a complete entry: the sender
    // is told (the entries before are taken), unless the last entry already says so.
    if unclosed && !last_bad {
        let after = match count {
            0 => "before its first entry".to_string(),
            n => format!("after entry {n}"),
        };
        out.errors.push(format!(
            "entry {}: the JSON array has no closing `]`; the body was cut short {after}",
            count + 1
        ));
    }
    out
}

/// `{}` with any whitespace: MinIO's probe when it brings a webhook target online.
fn is_empty_object(entry: &str) -> bool {
    let mut chars = entry.chars().filter(|c| !c.is_whitespace());
    chars.next() == Some('{') && chars.next() == Some('}') && chars.next().is_none()
}

/// The entries of a body: a JSON array's elements; else the JSON values of a stream of them
/// (one object, NDJSON, or objects one after another); else, when that stream is not valid
/// JSON, its non-blank lines (so that each bad line is reported on its own). The flag is true
/// for an array without its closing `]`.
fn split_entries(body: &str) -> (Vec<&str>, bool) {
    let t = body.trim_start_matches('\u{feff}').trim();
    if t.is_empty() {
        return (Vec::new(), false);
    }
    if t.starts_with('[') {
        return array_elements(t);
    }
    let mut stream = serde_json::Deserializer::from_str(t).into_iter::<serde::de::IgnoredAny>();
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        match stream.next() {
            None => return (out, false),
            Some(Ok(_)) => {
                let end = stream.byte_offset();
                match t.get(start..end) {
                    Some(s) => out.push(s.trim()),
                    None => break,
                }
                start = end;
            }
            Some(Err(_)) => break,
        }
    }
    let lines = t.lines().map(str::trim).filter(|l| !l.is_empty());
    (lines.collect(), false)
}

/// The elements of a JSON array (`t` starts with `[`), split at its top-level commas without
/// parsing them, and whether the closing `]` is missing; an array cut short gives its last
/// element as it stands (whose parse then reports the problem), and text after the closing `]`
/// is one more entry.
fn array_elements(t: &str) -> (Vec<&str>, bool) {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start = 1;
    // Only ASCII delimiters are split at, so every slice is on a char boundary.
    let piece = |from: usize, to: usize| t.get(from..to).unwrap_or("").trim();
    for (i, &c) in b.iter().enumerate().skip(1) {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
            continue;
        }
        match c {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' if depth > 0 => depth -= 1,
            b',' if depth == 0 => {
                out.push(piece(start, i));
                start = i + 1;
            }
            b']' => {
                let last = piece(start, i);
                if !last.is_empty() {
                    out.push(last);
                }
                let rest = piece(i + 1, t.len());
                if !rest.is_empty() {
                    out.push(rest);
                }
                return (out, false);
            }
            _ => {}
        }
    }
    let last = piece(start, t.len());
    if !last.is_empty() {
        out.push(last);
    }
    (out, true)
}

/// The whole of `s` on one line (check details go one per line).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What a tier check tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierAccess {
    /// List under the prefix (one request).
    Read,
    /// List, then write a probe object under `.tierd-probe/` (create-only) and delete it.
    ReadWrite,
}

/// Checks one tier: it answers a listing under `prefix` and, with [`TierAccess::ReadWrite`],
/// accepts a create-only put of a small probe object under `<prefix>/.tierd-probe/` that is
/// then deleted. Every storage request is bounded by [`TIER_OP_TIMEOUT`].
///
/// The check's `name` is `tier <name>`; its detail `reachable, writable` (or `reachable` for a
/// read check), or what failed: `not reachable: ...`, `reachable, not writable: ...`, or
/// `reachable, writable, but the probe object ... could not be deleted: ...`.
///
/// # Guarantees
/// Never overwrites an object: the probe key is new (process id and time) and the put is
/// create-only where the backend supports it. Error texts come from the store client: they quote
/// the store's URL, which carries no credentials ([`crate::tier::open_url`] refuses those), and
/// never its options.
pub async fn check_tier(
    name: &str,
    store: &Arc<dyn ObjectStore>,
    prefix: &StorePath,
    access: TierAccess,
) -> Check {
    let check = |ok: bool, detail: String| Check {
        name: format!("tier {name}"),
        ok,
        warn: false,
        detail,
    };
    let at = (!prefix.as_ref().is_empty()).then_some(prefix);
    match bounded(store.list_with_delimiter(at)).await {
        Ok(_) => {}
        Err(e) => return check(false, format!("not reachable: listing failed: {e}")),
    }
    if access == TierAccess::Read {
        return check(true, "reachable".to_string());
    }
    let probe = probe_path(prefix);
    let payload = || PutPayload::from_static(b"tierd tier check; safe to delete\n");
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let put = match bounded(store.put_opts(&probe, payload(), create)).await {
        Err(StoreOpError::Store(object_store::Error::NotImplemented { .. })) => {
            // The backend has no create-only put; the key is fresh, so a plain put is safe.
            bounded(store.put(&probe, payload())).await
        }
        other => other,
    };
    if let Err(e) = put {
        return check(
            false,
            format!("reachable, not writable: writing the probe object {probe} failed: {e}"),
        );
    }
    match bounded(store.delete(&probe)).await {
        Ok(()) => check(true, "reachable, writable".to_string()),
        Err(e) => check(
            false,
            format!("reachable, writable, but the probe object {probe} could not be deleted: {e}"),
        ),
    }
}

fn probe_path(prefix: &StorePath) -> StorePath {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    // In a folder of its own: a tier that refuses new files (/proc) refuses the folder at once,
    // where object_store's filesystem store, asked for a file at a root that exists, retries
    // for ever. On a `file://` tier the emptied `.tierd-probe/` folder stays behind.
    let key = format!("{PROBE_PREFIX}/{}-{nanos}", std::process::id());
    crate::tier::join(prefix, &key)
}

/// A storage request's failure: the store's error or the timeout.
#[derive(Debug)]
enum StoreOpError {
    Store(object_store::Error),
    TimedOut,
}

impl fmt::Display for StoreOpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreOpError::Store(e) => write!(f, "{}", one_line(&crate::tier::with_causes(e))),
            StoreOpError::TimedOut => {
                write!(f, "no answer within {}s", TIER_OP_TIMEOUT.as_secs_f64())
            }
        }
    }
}

async fn bounded<T>(op: impl Future<Output = object_store::Result<T>>) -> Result<T, StoreOpError> {
    match tokio::time::timeout(TIER_OP_TIMEOUT, op).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(StoreOpError::Store(e)),
        Err(_) => Err(StoreOpError::TimedOut),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_splits_into_array_elements_stream_values_or_lines() {
        let entries = |b| split_entries(b).0;
        assert!(entries("").is_empty());
        assert!(entries(" \n").is_empty());
        assert_eq!(
            entries("[{\"a\":\"x,]\"}, {\"b\":[1,2]} ]"),
            vec!["{\"a\":\"x,]\"}", "{\"b\":[1,2]}"]
        );
        assert_eq!(entries("[]"), Vec::<&str>::new());
        // Cut short: the rest is one entry, and its parse will say what is wrong.
        assert_eq!(entries("[{\"a\":1}, {\"b\""), vec!["{\"a\":1}", "{\"b\""]);
        assert_eq!(entries("[{\"a\":1}] x"), vec!["{\"a\":1}", "x"]);
        // Only an array can be left unclosed.
        assert!(split_entries("[{\"a\":1}, {\"b\"").1);
        assert!(split_entries("[{\"a\":1}").1);
        assert!(split_entries("[").1);
        assert!(!split_entries("[{\"a\":\"]\"}]").1);
        assert!(!split_entries("{\"a\":1}").1);
        assert_eq!(
            entries("{\"a\":1}\n{\"b\":\n 2}\n"),
            vec!["{\"a\":1}", "{\"b\":\n 2}"]
        );
        assert_eq!(
            entries("{\"a\":1}\nnot json\n\n{\"b\":2}"),
            vec!["{\"a\":1}", "not json", "{\"b\":2}"]
        );
        assert_eq!(entries("{\"a\":\"é\\\"\"}"), vec!["{\"a\":\"é\\\"\"}"]);
    }

    #[test]
    fn the_empty_object_probe_is_recognised() {
        assert!(is_empty_object("{}"));
        assert!(is_empty_object("{ \n }"));
        assert!(!is_empty_object("{\"a\":1}"));
        assert!(!is_empty_object("{}}"));
        let p = parse_audit_body("{}");
        assert!(p.events.is_empty() && p.errors.is_empty());
    }

    #[test]
    fn bad_entries_are_located_by_their_number() {
        let p = parse_audit_body("[{\"time\":\"2026-11-02T08:01:07Z\"}, 7]");
        assert_eq!(
            p.errors,
            vec![
                "entry 1: missing field \"api.name\"".to_string(),
                "entry 2: expected a JSON object, found a number".to_string(),
            ]
        );
    }

    #[test]
    fn entries_no_store_could_have_written_are_bad_entries() {
        let entry = |time: &str, tx: &str| {
            format!(
                r#"{{"time":"{time}","api":{{"name":"GetObject","bucket":"b","object":"k","statusCode":200,"tx":{tx}}}}}"#
            )
        };
        let body = [
            entry("2026-11-02T08:00:00Z", "312"),
            entry("2026-11-02T08:00:01Z", "18446744073709551615"),
            entry("9999-12-31T00:00:00Z", "312"),
        ]
        .join("\n");
        let p = parse_audit_body(&body);
        assert_eq!(p.events.len(), 1, "{:?}", p.errors);
        assert_eq!(
            p.errors,
            vec![
                "entry 2: bytes sent 18446744073709551615 is more than 1 PiB, larger than any object a store holds".to_string(),
                "entry 3: time 9999-12-31T00:00:00+00:00 is outside 2000-01-01 to 2100-01-01; a broken clock or a bad field".to_string(),
            ]
        );
    }

    #[test]
    fn an_entry_longer_than_a_log_line_may_be_is_a_bad_entry_as_in_a_file() {
        let entry = |key: &str| {
            format!(
                r#"{{"time":"2026-11-02T08:00:00Z","api":{{"name":"PutObject","bucket":"b","object":"{key}","statusCode":200}}}}"#
            )
        };
        let long = entry(&"k".repeat(crate::ingest::MAX_LINE_BYTES));
        let body = [entry("a"), long.clone(), entry("c")].join("\n");
        let p = parse_audit_body(&body);
        let keys: Vec<_> = p.events.iter().map(|e| e.key.as_deref()).collect();
        assert_eq!(keys, [Some("a"), Some("c")]);
        assert_eq!(
            p.errors,
            vec![format!(
                "entry 2: {} bytes long, more than the 1 MiB a log line may have; skipped unread",
                long.len()
            )]
        );
    }

    #[test]
    fn a_batch_delete_entry_gives_one_event_per_deleted_object() {
        let body = r#"{"time":"2026-11-02T09:10:00Z","api":{"name":"DeleteMultipleObjects","bucket":"media","objects":[{"objectName":"a"},{"objectName":"b","versionId":"v1"}],"statusCode":200,"rx":600},"accessKey":"w"}"#;
        let p = parse_audit_body(body);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let got: Vec<_> = p
            .events
            .iter()
            .map(|e| (e.key.as_deref(), e.version_id.as_deref(), e.origin.line))
            .collect();
        assert_eq!(got, [(Some("a"), None, 1), (Some("b"), Some("v1"), 1)]);
    }

    #[test]
    fn an_array_without_its_closing_bracket_is_a_bad_entry() {
        let entry = r#"{"time":"2026-11-02T08:00:00Z","api":{"name":"GetObject","bucket":"b","object":"k","statusCode":200}}"#;
        // Cut right after a complete entry: both entries are taken, and the sender is told.
        let p = parse_audit_body(&format!("[{entry},\n{entry}"));
        assert_eq!(p.events.len(), 2);
        assert_eq!(
            p.errors,
            vec![
                "entry 3: the JSON array has no closing `]`; the body was cut short after entry 2"
                    .to_string()
            ]
        );
        // Cut inside an entry: that entry says so, once.
        let p = parse_audit_body(&format!("[{entry}, {}", &entry[..40]));
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].starts_with("entry 2: "), "{:?}", p.errors);
        // A bare `[`: nothing to take, one bad entry (the request is refused).
        let p = parse_audit_body("[");
        assert!(p.events.is_empty());
        assert_eq!(
            p.errors,
            vec![
                "entry 1: the JSON array has no closing `]`; the body was cut short before its first entry"
                    .to_string()
            ]
        );
        // Closed, nothing is said.
        let p = parse_audit_body(&format!("[{entry}]"));
        assert_eq!((p.events.len(), p.errors.len()), (1, 0));
    }

    #[test]
    fn the_token_is_accepted_bare_or_as_a_bearer_token_and_nothing_else() {
        let h = |s: &'static str| HeaderValue::from_static(s);
        assert!(authorized(Some(&h("Bearer s3cr3t")), "s3cr3t"));
        assert!(authorized(Some(&h("bearer s3cr3t")), "s3cr3t"));
        assert!(authorized(Some(&h("s3cr3t")), "s3cr3t"));
        assert!(authorized(Some(&h("Bearer s3cr3t")), "Bearer s3cr3t"));
        assert!(!authorized(Some(&h("Bearer s3cr3")), "s3cr3t"));
        assert!(!authorized(Some(&h("Bearer s3cr3tt")), "s3cr3t"));
        assert!(!authorized(Some(&h("Basic s3cr3t")), "s3cr3t"));
        assert!(!authorized(Some(&h("Bearer ")), ""));
        assert!(!authorized(None, "s3cr3t"));
    }
}
