//! The main configuration file (`tierd.toml`): raw TOML → checked [`Config`], every problem located.
//!
//! ```toml
//! [journal]
//! path = "tierd-data/tierd.db"          # relative paths are relative to this file's folder
//!
//! [tiers.onprem]
//! url = "file://tierd-data/onprem"
//! [tiers.cloud]
//! url = "s3://cold-bucket/tierd"
//! min_storage_days = 90
//! options = { endpoint = "http://127.0.0.1:9000", allow_http = "true" }
//!
//! [ingest]
//! sources = ["/var/log/minio/audit/", "s3://access-logs/photos/"]
//! format = "auto"
//! options = { endpoint = "http://127.0.0.1:9000", allow_http = "true" }  # for s3:// sources
//!
//! [policies]
//! files = ["policies/*.toml"]
//! ```
//! Credentials come from the environment (`AWS_ACCESS_KEY_ID`, ...), never from this file's
//! logged form: [`TierConfig`]'s `Debug` redacts every option that looks secret.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use policies::{Diagnostic, TierSpec};
use serde::Deserialize;
use toml::Spanned;

use models::parse::Format;

mod read_error;
use read_error::read_errors;

/// URL schemes a tier or a log source may use.
pub const SCHEMES: [&str; 6] = ["file", "memory", "s3", "gs", "az", "http"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    journal: Option<RawJournal>,
    #[serde(default)]
    tiers: BTreeMap<Spanned<String>, RawTier>,
    #[serde(default)]
    ingest: Option<RawIngest>,
    #[serde(default)]
    policies: Option<RawPolicies>,
    #[serde(default)]
    costs: Option<RawCosts>,
    #[serde(default)]
    planner: Option<RawPlanner>,
    #[serde(default)]
    model: Option<RawModel>,
    #[serde(default)]
    service: Option<RawService>,
    #[serde(default)]
    simulate: Option<RawSimulate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCosts {
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlanner {
    #[serde(default)]
    interval: Option<Spanned<String>>,
    #[serde(default)]
    anomaly_hold: Option<Spanned<String>>,
    #[serde(default)]
    incident_quiet: Option<Spanned<String>>,
    #[serde(default)]
    max_decisions_per_cycle: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    learning_days: Option<Spanned<f64>>,
    #[serde(default)]
    window: Option<Spanned<String>>,
    #[serde(default)]
    retrain_every: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    #[serde(default)]
    listen: Option<Spanned<String>>,
    #[serde(default)]
    decision_log: Option<Spanned<String>>,
    #[serde(default)]
    decision_log_stderr: Option<bool>,
    #[serde(default)]
    ingest_interval: Option<Spanned<String>>,
    #[serde(default)]
    shutdown_timeout: Option<Spanned<String>>,
    #[serde(default)]
    webhook_token_env: Option<String>,
    #[serde(default)]
    executor_concurrency: Option<usize>,
    #[serde(default)]
    max_bytes_per_sec: Option<Spanned<String>>,
    #[serde(default)]
    max_objects_per_sec: Option<Spanned<f64>>,
    #[serde(default)]
    scan_interval: Option<Spanned<String>>,
}

/// The highest `service.max_objects_per_sec`: more than any store starts.
const MAX_OBJECTS_PER_SEC: f64 = 1e6;

/// `service.max_bytes_per_sec`: a size per second (`"100MiB"`), or `"off"` for no limit.
pub fn bandwidth(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    if t == "off" {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let factor = policies::cond::SIZE_UNITS
        .iter()
        .find(|(n, _)| *n == unit.trim())
        .map(|(_, f)| *f);
    match (number.parse::<f64>(), factor) {
        (Ok(n), Some(f))
            if n * f >= crate::executor::limits::MIN_BYTES_PER_SEC
                && n * f <= policies::load::MAX_SIZE_BYTES as f64 =>
        {
            Ok(Some(n * f))
        }
        (Ok(_), Some(_)) => Err("is not a rate; write a size per second from 1B to 1024PiB, e.g. \"100MiB\", or \"off\"".into()),
        _ => Err("is not a size; write a size per second with a unit, e.g. \"100MiB\" or \"1GB\", or \"off\"".into()),
    }
}

/// A number, or a list of them.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "simulate.baseline_idle_days: a whole number of days (at least 1), or a list of them (e.g. [14, 30, 60])"
)]
enum OneOrMany {
    One(u32),
    Many(Vec<u32>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimulate {
    #[serde(default)]
    baseline_idle_days: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    lateness: Option<Spanned<String>>,
    #[serde(default)]
    score_every: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJournal {
    path: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTier {
    url: Spanned<String>,
    #[serde(default)]
    min_storage_days: Option<u32>,
    #[serde(default)]
    options: Option<Spanned<BTreeMap<String, String>>>,
    #[serde(default)]
    role: Option<Spanned<String>>,
    #[serde(default)]
    price: Option<Spanned<Price>>,
}

/// What a tier costs, in the configured currency (prices of a cloud storage class, or the
/// amortised cost of on-premise capacity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Storage per GB (10^9 bytes) per month (30 days).
    #[serde(default)]
    pub storage_gb_month: f64,
    /// Retrieval per GB read (cold classes charge it).
    #[serde(default)]
    pub retrieval_gb: f64,
    /// Egress per GB leaving the tier (to clients or to another tier).
    #[serde(default)]
    pub egress_gb: f64,
    /// Per 1,000 requests (PUT, GET, COPY, LIST).
    #[serde(default)]
    pub requests_per_1000: f64,
}

/// What a tier is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Holds the live copy of objects; moves go between data tiers.
    Data,
    /// Holds snapshots only; never a move's destination for cost purposes.
    Vault,
}

/// The planner's clock settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannerSettings {
    /// Seconds between full planning passes over the catalog.
    pub interval_secs: u64,
    /// Seconds an anomalous window keeps its score in the bucket's behaviour facts.
    pub anomaly_hold_secs: u64,
    /// An incident closes after this many seconds without an anomalous window.
    pub incident_quiet_secs: u64,
    /// At most this many decisions per planning pass (the rest wait for the next pass).
    pub max_decisions_per_cycle: usize,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        PlannerSettings {
            interval_secs: 3600,
            anomaly_hold_secs: 3600,
            incident_quiet_secs: 24 * 3600,
            max_decisions_per_cycle: 10_000,
        }
    }
}

/// The behaviour model's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// A trained model artifact (`tierd train --out`); `None`: learn from the logs themselves.
    pub path: Option<PathBuf>,
    /// Days of logs to learn from before anomaly scores may drive actions.
    pub learning_days: f64,
    /// Feature window, seconds.
    pub window_secs: u64,
    /// Retrain the model on recent logs this often (`tierd run`); `None`: never.
    pub retrain_every_secs: Option<u64>,
}

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            path: None,
            learning_days: 7.0,
            window_secs: 300,
            retrain_every_secs: None,
        }
    }
}

/// The service's settings (`tierd run`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    /// Address of the HTTP endpoint (health, metrics, webhook); `None`: no HTTP.
    pub listen: Option<String>,
    /// The decision log file (JSON lines); `None`: none.
    pub decision_log: Option<PathBuf>,
    /// Also write decisions to stderr.
    pub decision_log_stderr: bool,
    pub ingest_interval_secs: u64,
    pub shutdown_timeout_secs: u64,
    /// The environment variable holding the MinIO webhook's bearer token (never the token itself).
    pub webhook_token_env: Option<String>,
    pub executor_concurrency: usize,
    /// Bytes the service's moves copy per second, all moves together (`None`: no limit).
    pub max_bytes_per_sec: Option<f64>,
    /// Moves the service starts per second (`None`: no limit).
    pub max_objects_per_sec: Option<f64>,
    /// How often the service lists its data tiers for objects the logs never named (`None`:
    /// never; then only objects in the logs are managed).
    pub scan_interval_secs: Option<u64>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            listen: Some("127.0.0.1:9464".into()),
            decision_log: Some(PathBuf::from("tierd-data/decisions.jsonl")),
            decision_log_stderr: false,
            ingest_interval_secs: 30,
            shutdown_timeout_secs: 30,
            webhook_token_env: None,
            executor_concurrency: 8,
            max_bytes_per_sec: None,
            max_objects_per_sec: None,
            scan_interval_secs: Some(86_400),
        }
    }
}

/// `tierd simulate` settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulateSettings {
    /// The Ns of the "move after N days idle" baselines (two per N), ascending, each at least 1.
    pub baseline_idle_days: Vec<u32>,
    /// How late (seconds) an event may arrive behind the newest one and still be replayed in order.
    pub lateness_secs: u64,
    /// How often (event time) the replay scores the windows it has collected: like the service,
    /// which scores what each ingest pass brought. A multiple of the model's window.
    pub score_every_secs: u64,
}

impl Default for SimulateSettings {
    fn default() -> Self {
        SimulateSettings {
            baseline_idle_days: vec![30],
            lateness_secs: 3600,
            score_every_secs: 900,
        }
    }
}

/// Parses `30s`, `5m`, `12h`, `7d`, `2w` (a whole number and a unit) into seconds.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
    #[serde(default)]
    options: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicies {
    #[serde(default)]
    files: Vec<Spanned<String>>,
}

/// A checked tier.
#[derive(Clone, PartialEq)]
pub struct TierConfig {
    pub name: String,
    /// The tier's location: `file:///abs`, `file://relative` (resolved), `memory://`, `s3://b/p`, ...
    pub url: String,
    /// Minimum storage duration the tier charges for; the default minimum residency there.
    pub min_storage_days: u32,
    /// object_store builder options (`endpoint`, `region`, `allow_http`, ...).
    pub options: BTreeMap<String, String>,
}

/// Whether an option's value must never be printed.
pub fn is_secret_option(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    (k.contains("secret") || k.contains("token") || k.contains("password") || k.ends_with("key"))
        && !k.ends_with("key_id")
}

/// Store options as they may be shown: secret values replaced.
fn redacted(options: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    options
        .iter()
        .map(|(k, v)| {
            let v = if is_secret_option(k) {
                "<redacted>"
            } else {
                v.as_str()
            };
            (k.as_str(), v)
        })
        .collect()
}

/// object_store builder options of the log sources; `Debug` redacts secret values.
#[derive(Clone, Default, PartialEq)]
pub struct SourceOptions(pub BTreeMap<String, String>);

impl fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        redacted(&self.0).fmt(f)
    }
}

impl fmt::Debug for TierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opts = redacted(&self.options);
        f.debug_struct("TierConfig")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("min_storage_days", &self.min_storage_days)
            .field("options", &opts)
            .finish()
    }
}

/// The checked configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from; `None` for the embedded defaults.
    pub path: Option<PathBuf>,
    pub journal_path: PathBuf,
    pub tiers: Vec<TierConfig>,
    /// Log sources: paths, folders, globs, object-store URLs, or `builtin:samples`.
    pub ingest_sources: Vec<String>,
    /// `None` = detect per file.
    pub ingest_format: Option<Format>,
    /// Store options for object-store log sources (`endpoint`, `region`, `allow_http`, ...);
    /// credentials may also come from the environment.
    pub ingest_options: SourceOptions,
    /// Policy file paths or globs, resolved against the configuration's folder
    /// (`builtin:default` is the policy bundled in the binary).
    pub policy_files: Vec<String>,
    /// Where each of `policy_files` is written in the configuration (line, column), for the
    /// errors about it.
    pub policy_files_at: Vec<(usize, usize)>,
    /// Prices per tier, indexed like `tiers`.
    pub prices: Vec<Price>,
    /// Role per tier, indexed like `tiers`.
    pub roles: Vec<Role>,
    /// The currency prices are in (a label; default `USD`).
    pub currency: String,
    pub planner: PlannerSettings,
    pub model: ModelSettings,
    pub service: ServiceSettings,
    pub simulate: SimulateSettings,
}

/// The policy bundled in the binary (`policies.files = ["builtin:default"]`).
pub const BUILTIN_POLICY: &str = "builtin:default";
/// Its text.
pub const BUILTIN_POLICY_TEXT: &str = include_str!("../../defaults/policy.toml");

/// The embedded on-premise price: amortised disks, power and operations (about $20/TB-month).
pub const DEFAULT_ONPREM_PRICE: Price = Price {
    storage_gb_month: 0.02,
    retrieval_gb: 0.0,
    egress_gb: 0.0,
    requests_per_1000: 0.0,
};
/// The embedded cold-tier price, a cold cloud class with instant retrieval (list prices of that
/// kind of class: storage $0.004/GB-month, retrieval $0.03/GB, egress $0.09/GB, requests $0.02
/// per 1,000).
pub const DEFAULT_COLD_PRICE: Price = Price {
    storage_gb_month: 0.004,
    retrieval_gb: 0.03,
    egress_gb: 0.09,
    requests_per_1000: 0.02,
};

impl Config {
    /// The embedded defaults: everything under `./tierd-data`, `file://` tiers `onprem`, `cloud`
    /// (90 days minimum storage, like a cold cloud class) and `vault`, a SQLite journal, and the
    /// sample logs bundled in the binary.
    pub fn embedded() -> Config {
        let tier = |name: &str, days| TierConfig {
            name: name.to_string(),
            url: format!("file://tierd-data/{name}"),
            min_storage_days: days,
            options: BTreeMap::new(),
        };
        Config {
            path: None,
            journal_path: PathBuf::from("tierd-data/tierd.db"),
            tiers: vec![tier("onprem", 0), tier("cloud", 90), tier("vault", 0)],
            ingest_sources: vec![crate::ingest::BUILTIN_SAMPLES.to_string()],
            ingest_format: None,
            ingest_options: SourceOptions::default(),
            policy_files: vec![BUILTIN_POLICY.to_string()],
            policy_files_at: vec![(1, 1)],
            prices: vec![DEFAULT_ONPREM_PRICE, DEFAULT_COLD_PRICE, DEFAULT_COLD_PRICE],
            roles: vec![Role::Data, Role::Data, Role::Vault],
            currency: "USD".into(),
            planner: PlannerSettings::default(),
            model: ModelSettings::default(),
            service: ServiceSettings {
                decision_log_stderr: false,
                ..ServiceSettings::default()
            },
            simulate: SimulateSettings::default(),
        }
    }

    /// Reads and checks a configuration file, reporting every problem at once.
    ///
    /// # Errors
    /// All diagnostics (`path:line:col: error: ...`) when the file cannot be read, is not TOML,
    /// has unknown fields, or fails a check.
    pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic::error(
                path,
                (1, 1),
                format!("cannot read the configuration file: {e}"),
            )]
        })?;
        Config::from_str(path, &text)
    }

    /// Checks configuration text; `path` is used for locations and to resolve relative paths.
    ///
    /// # Errors
    /// See [`Config::load`].
    pub fn from_str(path: &Path, text: &str) -> Result<Config, Vec<Diagnostic>> {
        let e = match toml::from_str::<RawConfig>(text) {
            Ok(raw) => return Config::from_raw(path, text, raw),
            Err(e) => e,
        };
        let read = read_errors::<RawConfig>(path, text, &e);
        let mut diags = read.diags;
        // The rest of the file is checked too, with the refused values set aside; what is found
        // on their lines is their placeholders' echo.
        if let Some((work, raw)) = read.rest
            && let Err(more) = Config::from_raw(path, &work, raw)
        {
            diags.extend(more.into_iter().filter(|d| {
                let at = (d.line, d.col);
                !read.set_aside.iter().any(|(a, b)| *a <= at && at <= *b)
            }));
        }
        diags.sort_by_key(|d| (d.line, d.col));
        Err(diags)
    }

    /// Checks what the TOML reader read from `text`.
    fn from_raw(path: &Path, text: &str, raw: RawConfig) -> Result<Config, Vec<Diagnostic>> {
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut diags = Vec::new();
        let at = |span: Range<usize>| policies::diag::line_col(text, span.start);

        let journal_path = match &raw.journal {
            Some(j) if j.path.get_ref().trim().is_empty() => {
                diags.push(Diagnostic::error(
                    path,
                    at(j.path.span()),
                    "journal.path is empty; write the SQLite file's path, e.g. path = \"/var/lib/tierd/tierd.db\"",
                ));
                PathBuf::new()
            }
            Some(j) => resolve(&base, j.path.get_ref()),
            None => resolve(&base, "tierd-data/tierd.db"),
        };

        let checked = check_tiers(path, text, &base, &raw.tiers, &mut diags);
        let prices = checked.iter().map(|t| t.1).collect();
        let roles = checked.iter().map(|t| t.2).collect();
        let tiers: Vec<TierConfig> = checked.into_iter().map(|t| t.0).collect();
        let mut dur_diags = Vec::new();
        let mut dur = |field: &str, v: &Option<Spanned<String>>, default: u64| {
            duration(path, text, field, v, default, &mut dur_diags)
        };
        let mut planner = PlannerSettings::default();
        if let Some(p) = &raw.planner {
            planner.interval_secs = dur("planner.interval", &p.interval, planner.interval_secs);
            planner.anomaly_hold_secs = dur(
                "planner.anomaly_hold",
                &p.anomaly_hold,
                planner.anomaly_hold_secs,
            );
            planner.incident_quiet_secs = dur(
                "planner.incident_quiet",
                &p.incident_quiet,
                planner.incident_quiet_secs,
            );
            if let Some(n) = p.max_decisions_per_cycle {
                planner.max_decisions_per_cycle = n.max(1);
            }
        }
        let mut model = ModelSettings::default();
        if let Some(m) = &raw.model {
            model.path = m.path.as_ref().map(|p| resolve(&base, p.get_ref()));
            if let Some(d) = &m.learning_days {
                let days = *d.get_ref();
                if (0.0..=models::detect::model::MAX_LEARNING_DAYS).contains(&days) {
                    model.learning_days = days;
                } else {
                    diags.push(Diagnostic::error(
                        path,
                        at(d.span()),
                        format!(
                            "model.learning_days = {}: expected 0 to {} days; 7 learns a week of behaviour before scoring",
                            text.get(d.span()).unwrap_or("?").trim(),
                            models::detect::model::MAX_LEARNING_DAYS
                        ),
                    ));
                }
            }
            model.window_secs = dur("model.window", &m.window, model.window_secs);
            if let Some(w) = &m.window
                && !(10..=86_400).contains(&model.window_secs)
            {
                diags.push(Diagnostic::error(
                    path,
                    at(w.span()),
                    format!(
                        "model.window = {:?}: expected 10s to 1d; the default is \"5m\"",
                        w.get_ref()
                    ),
                ));
            }
            model.retrain_every_secs = m
                .retrain_every
                .as_ref()
                .map(|_| dur("model.retrain_every", &m.retrain_every, 7 * 86_400));
        }
        let mut service = ServiceSettings::default();
        if let Some(s) = &raw.service {
            if let Some(l) = &s.listen {
                let v = l.get_ref().trim();
                if v.is_empty() || v == "off" {
                    service.listen = None;
                } else if v.parse::<std::net::SocketAddr>().is_err() {
                    diags.push(Diagnostic::error(
                        path,
                        at(l.span()),
                        format!("service.listen = {v:?} is not an address; write ip:port, e.g. \"127.0.0.1:9464\", or \"off\""),
                    ));
                } else {
                    service.listen = Some(v.to_string());
                }
            }
            if let Some(d) = &s.decision_log {
                let v = d.get_ref().trim();
                service.decision_log = (!v.is_empty() && v != "off").then(|| resolve(&base, v));
            }
            if let Some(b) = s.decision_log_stderr {
                service.decision_log_stderr = b;
            }
            service.ingest_interval_secs = dur(
                "service.ingest_interval",
                &s.ingest_interval,
                service.ingest_interval_secs,
            );
            service.shutdown_timeout_secs = dur(
                "service.shutdown_timeout",
                &s.shutdown_timeout,
                service.shutdown_timeout_secs,
            );
            service.webhook_token_env = s.webhook_token_env.clone();
            service.scan_interval_secs = match &s.scan_interval {
                Some(v) if v.get_ref().trim() == "off" => None,
                v => Some(dur("service.scan_interval", v, 86_400)),
            };
            if let Some(c) = s.executor_concurrency {
                service.executor_concurrency = c.clamp(1, 256);
            }
            if let Some(b) = &s.max_bytes_per_sec {
                match bandwidth(b.get_ref()) {
                    Ok(v) => service.max_bytes_per_sec = v,
                    Err(why) => diags.push(Diagnostic::error(
                        path,
                        at(b.span()),
                        format!("service.max_bytes_per_sec = {:?} {why}", b.get_ref()),
                    )),
                }
            }
            if let Some(n) = &s.max_objects_per_sec {
                let v = *n.get_ref();
                if (crate::executor::limits::MIN_OBJECTS_PER_SEC..=MAX_OBJECTS_PER_SEC).contains(&v)
                {
                    service.max_objects_per_sec = Some(v);
                } else {
                    diags.push(Diagnostic::error(
                        path,
                        at(n.span()),
                        format!("service.max_objects_per_sec = {} is not a rate; write a number of moves per second from 0.0000116 (one a day) to {MAX_OBJECTS_PER_SEC}, e.g. 50", crate::executor::limits::shown_rate(v)),
                    ));
                }
            }
        }
        if raw
            .service
            .as_ref()
            .is_none_or(|s| s.decision_log.is_none())
        {
            service.decision_log = Some(resolve(&base, "tierd-data/decisions.jsonl"));
        }
        let mut simulate = SimulateSettings::default();
        if let Some(s) = &raw.simulate {
            if let Some(d) = &s.baseline_idle_days {
                let mut days = match d.get_ref() {
                    OneOrMany::One(n) => vec![*n],
                    OneOrMany::Many(v) => v.clone(),
                };
                if days.contains(&0) {
                    diags.push(Diagnostic::error(
                        path,
                        at(d.span()),
                        format!(
                            "simulate.baseline_idle_days = {}: a baseline moves after at least 1 day idle; remove the 0 (\"never move\" is always priced)",
                            text.get(d.span())
                                .unwrap_or("?")
                                .split_whitespace()
                                .collect::<Vec<_>>()
                                .join(" ")
                        ),
                    ));
                    days.retain(|&n| n > 0);
                }
                days.sort_unstable();
                days.dedup();
                simulate.baseline_idle_days = days;
            }
            simulate.lateness_secs = dur("simulate.lateness", &s.lateness, simulate.lateness_secs);
            simulate.score_every_secs = dur(
                "simulate.score_every",
                &s.score_every,
                simulate.score_every_secs,
            );
        }
        diags.append(&mut dur_diags);
        let currency = raw
            .costs
            .as_ref()
            .and_then(|c| c.currency.clone())
            .unwrap_or_else(|| "USD".into());

        let ingest_options = SourceOptions(
            raw.ingest
                .as_ref()
                .map(|i| i.options.clone())
                .unwrap_or_default(),
        );
        for (k, v) in &ingest_options.0 {
            if let Some(problem) = crate::tier::refused_option(k, v) {
                // The options keep no position: the value's place in the file.
                let pos = text.find(v.as_str()).map_or((1, 1), |i| at(i..i));
                diags.push(Diagnostic::error(path, pos, format!("ingest: {problem}")));
            }
        }
        let (ingest_sources, ingest_format) = match &raw.ingest {
            Some(i) => {
                let format = match &i.format {
                    Some(f) if f.get_ref() == "auto" => None,
                    Some(f) => match f.get_ref().parse::<Format>() {
                        Ok(fmt) => Some(fmt),
                        Err(e) => {
                            diags.push(Diagnostic::error(
                                path,
                                at(f.span()),
                                format!("ingest.format: {e}"),
                            ));
                            None
                        }
                    },
                    None => None,
                };
                let sources = i
                    .sources
                    .iter()
                    .filter_map(|s| match check_source(s.get_ref()) {
                        Ok(()) => Some(resolve_source(&base, s.get_ref())),
                        Err(msg) => {
                            diags.push(Diagnostic::error(path, at(s.span()), msg));
                            None
                        }
                    })
                    .collect();
                (sources, format)
            }
            None => (Vec::new(), None),
        };

        let policy_files = raw
            .policies
            .as_ref()
            .map(|p| {
                p.files
                    .iter()
                    .map(|f| {
                        if f.get_ref() == BUILTIN_POLICY {
                            BUILTIN_POLICY.to_string()
                        } else {
                            resolve(&base, f.get_ref()).display().to_string()
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let policy_files_at = raw
            .policies
            .as_ref()
            .map(|p| p.files.iter().map(|f| at(f.span())).collect())
            .unwrap_or_default();

        diags.sort_by_key(|d| (d.line, d.col));
        if diags.is_empty() {
            Ok(Config {
                path: Some(path.to_path_buf()),
                journal_path,
                tiers,
                ingest_sources,
                ingest_format,
                ingest_options,
                policy_files,
                policy_files_at,
                prices,
                roles,
                currency,
                planner,
                model,
                service,
                simulate,
            })
        } else {
            Err(diags)
        }
    }

    /// The tiers as the policy validator needs them.
    pub fn tier_specs(&self) -> Vec<TierSpec> {
        self.tiers
            .iter()
            .map(|t| TierSpec {
                name: t.name.clone(),
                min_storage_days: t.min_storage_days,
            })
            .collect()
    }

    /// The tier of this name.
    pub fn tier(&self, name: &str) -> Option<&TierConfig> {
        self.tiers.iter().find(|t| t.name == name)
    }
}

fn check_tiers(
    path: &Path,
    text: &str,
    base: &Path,
    raw: &BTreeMap<Spanned<String>, RawTier>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(TierConfig, Price, Role)> {
    let at = |span: Range<usize>| policies::diag::line_col(text, span.start);
    if raw.is_empty() {
        diags.push(Diagnostic::error(
            path,
            (1, 1),
            "no tiers are configured; add at least one, e.g. [tiers.onprem] url = \"file:///srv/onprem\"",
        ));
    }
    let mut tiers: Vec<(usize, (TierConfig, Price, Role))> = Vec::new();
    for (name, t) in raw {
        let n = name.get_ref();
        if n.is_empty()
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            diags.push(Diagnostic::error(
                path,
                at(name.span()),
                format!("tier name {n:?} is not valid; use letters, digits, '-' and '_' only"),
            ));
            continue;
        }
        let url = t.url.get_ref();
        if let Some(why) = crate::tier::refused_secret(url) {
            diags.push(Diagnostic::error(
                path,
                at(t.url.span()),
                format!(
                    "tier {n:?}: the url {:?} {why}; give credentials in `options` or the environment instead",
                    crate::tier::redact_url(url)
                ),
            ));
            continue;
        }
        let scheme = url.split_once("://").map(|(s, _)| s);
        match scheme {
            Some(s) if SCHEMES.contains(&s) || s == "https" => {}
            _ => {
                // Not a URL tierd can read for secrets (`https:/user:pw@host`): not echoed.
                let shown = if url.contains('@') {
                    "(not shown: it holds an `@`)".to_string()
                } else {
                    format!("{url:?}")
                };
                diags.push(Diagnostic::error(
                    path,
                    at(t.url.span()),
                    format!(
                        "tier {n:?}: url {shown} has no supported scheme; expected one of: {}:// (e.g. \"file:///srv/tiers/{n}\" or \"s3://bucket/prefix\")",
                        SCHEMES.join("://, ")
                    ),
                ));
                continue;
            }
        }
        if let Some(o) = &t.options {
            for problem in option_problems(scheme.unwrap_or(""), o.get_ref()) {
                diags.push(Diagnostic::error(
                    path,
                    at(o.span()),
                    format!("tier {n:?}: {problem}"),
                ));
            }
        }
        let url = match url.strip_prefix("file://") {
            Some(p) => format!("file://{}", resolve(base, p).display()),
            None => url.clone(),
        };
        let role = match t.role.as_ref().map(|r| (r.get_ref().as_str(), r.span())) {
            None => {
                if n == "vault" {
                    Role::Vault
                } else {
                    Role::Data
                }
            }
            Some(("data", _)) => Role::Data,
            Some(("vault", _)) => Role::Vault,
            Some((other, span)) => {
                diags.push(Diagnostic::error(
                    path,
                    at(span),
                    format!(
                        "tier {n:?}: role {other:?} is not known; expected \"data\" or \"vault\""
                    ),
                ));
                Role::Data
            }
        };
        let price = match &t.price {
            Some(p) => {
                let v = *p.get_ref();
                let fields = [
                    ("storage_gb_month", v.storage_gb_month),
                    ("retrieval_gb", v.retrieval_gb),
                    ("egress_gb", v.egress_gb),
                    ("requests_per_1000", v.requests_per_1000),
                ];
                for (field, x) in fields {
                    if !(x.is_finite() && x >= 0.0) {
                        diags.push(Diagnostic::error(
                            path,
                            at(p.span()),
                            format!("tier {n:?}: price.{field} = {x} must be a number >= 0"),
                        ));
                    }
                }
                v
            }
            None => Price::default(),
        };
        tiers.push((
            t.url.span().start,
            (
                TierConfig {
                    name: n.clone(),
                    url,
                    min_storage_days: t.min_storage_days.unwrap_or(0),
                    options: t
                        .options
                        .as_ref()
                        .map(|o| o.get_ref().clone())
                        .unwrap_or_default(),
                },
                price,
                role,
            ),
        ));
    }
    // File order, not name order: operators read tiers the way they wrote them.
    tiers.sort_by_key(|(pos, _)| *pos);
    tiers.into_iter().map(|(_, t)| t).collect()
}

/// What is wrong with a tier's `options` for its URL's scheme: S3 options the client does not
/// know (caught here, not only by the live check of `tierd check`), or options on a `file://` or
/// `memory://` tier, which takes none.
fn option_problems(scheme: &str, options: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems: Vec<String> = options
        .iter()
        .filter_map(|(k, v)| crate::tier::refused_option(k, v))
        .collect();
    problems.extend(match scheme {
        "s3" => options
            .keys()
            .filter(|k| !matches!(k.as_str(), "allow_http" | "aws_allow_http"))
            .filter_map(|k| crate::tier::s3_option(k).err())
            .collect(),
        "file" | "memory" if !options.is_empty() => {
            let keys: Vec<&str> = options.keys().map(String::as_str).collect();
            vec![format!(
                "a {scheme}:// tier takes no options (given: {}); remove `options`",
                keys.join(", ")
            )]
        }
        _ => Vec::new(),
    });
    problems
}

/// A duration setting: its seconds, or `default` (and a located error when it is not a duration).
fn duration(
    path: &Path,
    text: &str,
    field: &str,
    v: &Option<Spanned<String>>,
    default: u64,
    diags: &mut Vec<Diagnostic>,
) -> u64 {
    match v {
        None => default,
        Some(s) => match parse_duration(s.get_ref()) {
            Some(secs) if secs > policies::load::MAX_DURATION_SECS => {
                diags.push(Diagnostic::error(
                    path,
                    policies::diag::line_col(text, s.span().start),
                    format!(
                        "{field} = {:?} is more than 36525d (100 years), the longest duration allowed",
                        s.get_ref()
                    ),
                ));
                default
            }
            Some(0) | None => {
                diags.push(Diagnostic::error(
                    path,
                    policies::diag::line_col(text, s.span().start),
                    format!(
                        "{field} = {:?} is not a duration; write a whole number and a unit, e.g. \"30s\", \"5m\", \"1h\", \"7d\"",
                        s.get_ref()
                    ),
                ));
                default
            }
            Some(secs) => secs,
        },
    }
}

/// Checks a log source string: a path, a glob, `builtin:samples`, or a URL with a known scheme.
fn check_source(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err(
            "ingest.sources: an empty source; write a file, a folder, a glob or a URL".into(),
        );
    }
    if let Some(why) = crate::tier::refused_secret(s) {
        return Err(format!(
            "ingest.sources: {:?} {why}; give credentials in `ingest.options` or the environment instead",
            crate::tier::redact_url(s)
        ));
    }
    if let Some((scheme, _)) = s.split_once("://")
        && !SCHEMES.contains(&scheme)
        && scheme != "https"
    {
        return Err(format!(
            "ingest.sources: {s:?} has an unknown scheme {scheme:?}; expected a path or one of: {}://",
            SCHEMES.join("://, ")
        ));
    }
    Ok(())
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

fn resolve_source(base: &Path, s: &str) -> String {
    if let Some(p) = s.strip_prefix("file://") {
        // As a tier's `file://relative`: against the configuration's folder.
        format!("file://{}", resolve(base, p).display())
    } else if s.contains("://") || s.starts_with("builtin:") {
        s.to_string()
    } else {
        resolve(base, s).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::read_error::unknown_field_fix;
    use super::*;

    fn load(text: &str) -> Result<Config, Vec<String>> {
        Config::from_str(Path::new("/etc/tierd/tierd.toml"), text)
            .map_err(|d| d.into_iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn an_option_whose_url_carries_a_password_is_an_error_that_never_shows_it() {
        let errs = load(
            "[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { metadata_endpoint = \"http://u:S3cretPW@127.0.0.1:1\" }\n\
             [ingest]\nsources = [\"s3://logs/\"]\noptions = { proxy_url = \"http://u:S3cretPW@proxy:3128\" }\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "/etc/tierd/tierd.toml:3:11: error: tier \"cloud\": option metadata_endpoint = \"http://***@127.0.0.1:1\" carries a user name or password, which tierd would print in its errors and logs; give credentials as options or in the environment instead",
                "/etc/tierd/tierd.toml:6:26: error: ingest: option proxy_url = \"http://***@proxy:3128\" carries a user name or password, which tierd would print in its errors and logs; give credentials as options or in the environment instead",
            ]
        );
    }

    #[test]
    fn every_mistake_of_a_file_is_reported_at_once_not_one_per_run() {
        let errs = load(
            "[service]\ninterval = \"1h\"\n[journal]\npath = 3\n[tiers.onprem]\nurl = \"file:///srv/onprem\"\nurll = \"x\"\n\
             [tiers.cloud]\nurl = 7\n[simulate]\nbaseline_idle_days = [7, \"x\"]\n[tiers.vault]\nurl = \"ftp://x\"\n",
        )
        .unwrap_err();
        let lines: Vec<usize> = errs
            .iter()
            .map(|e| {
                e.split(':')
                    .nth(1)
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0)
            })
            .collect();
        assert_eq!(lines, [2, 4, 7, 9, 11, 13], "{errs:#?}");
        assert!(errs[0].contains("unknown field `interval`"), "{}", errs[0]);
        assert!(
            errs[1].contains("expected a string; write it in quotes"),
            "{}",
            errs[1]
        );
        assert!(errs[2].contains("did you mean `url`?"), "{}", errs[2]);
        assert!(errs[3].ends_with(":9:7: error: invalid type: integer `7`, expected a string; write it in quotes (a duration or a size takes its unit: \"7d\", \"100MiB\")"), "{}", errs[3]);
        assert!(errs[4].contains("baseline_idle_days"), "{}", errs[4]);
        // A check after reading, on a value the reader took: found in the same run.
        assert!(
            errs[5].contains("tier \"vault\": url \"ftp://x\" has no supported scheme"),
            "{}",
            errs[5]
        );
    }

    #[test]
    fn a_bare_word_the_reader_took_for_a_number_or_a_boolean_is_told_to_be_quoted() {
        for (word, message) in [
            ("InFileSecret", "invalid float, expected `inf`"),
            ("truex", "invalid boolean, expected `true`"),
        ] {
            let errs = load(&format!(
                "[tiers.cloud]\nurl = \"s3://b/p\"\noptions = {{ secret_access_key = {word} }}\n"
            ))
            .unwrap_err();
            assert_eq!(
                errs,
                [format!(
                    "/etc/tierd/tierd.toml:3:33: error: {message}; a text value goes in quotes: \"...\""
                )]
            );
        }
    }

    #[test]
    fn a_check_on_the_line_of_a_value_set_aside_is_still_reported() {
        let errs =
            load("[tiers.x]\nurl = \"file:///x\"\n[planner]\ninterval = \"5x\"\nmax_decisions_per_cycle = \"a\"\n")
                .unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:#?}");
        let inline = load(
            "planner = { interval = \"5x\", max_decisions_per_cycle = \"a\" }\n[tiers.x]\nurl = \"file:///x\"\n",
        )
        .unwrap_err();
        assert_eq!(inline.len(), 2, "{inline:#?}");
        assert!(
            inline
                .iter()
                .any(|e| e.contains("planner.interval = \"5x\"")),
            "{inline:#?}"
        );
    }

    #[test]
    fn a_secret_of_the_wrong_type_is_not_quoted_and_a_duplicate_key_is_named() {
        let errs =
            load("[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { secret_access_key = 12345678 }\n")
                .unwrap_err();
        assert!(!errs.iter().any(|e| e.contains("12345678")), "{errs:#?}");
        assert!(
            errs[0].contains("invalid type: integer `***`, expected a string"),
            "{errs:#?}"
        );
        let errs = load("[tiers.cloud]\nurl = \"s3://b/p\"\nurl = \"s3://c/p\"\n").unwrap_err();
        assert!(errs[0].contains("duplicate key `url`"), "{errs:#?}");
    }

    #[test]
    fn more_mistakes_than_are_reported_say_so() {
        let text: String = (0..30)
            .map(|i| format!("[tiers.t{i}]\nurl = {i}\n"))
            .collect();
        let errs = load(&text).unwrap_err();
        assert_eq!(errs.len(), 20, "{errs:#?}");
        assert!(
            errs[19].ends_with("(tierd stops after 20 such mistakes: fix these and check again)"),
            "{}",
            errs[19]
        );
    }

    #[test]
    fn a_value_set_aside_to_read_on_leaves_no_echo_of_its_own() {
        // `url = 7` is read on as `url = ""`, which would be "url is empty"; removing the
        // unknown `role` value would leave nothing missing, but a removed `url` would.
        let errs = load("[tiers.onprem]\nurl = 7\n[tiers.cloud]\nurl = \"file:///c\"\nrole = 3\n")
            .unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(
            errs[0].starts_with("/etc/tierd/tierd.toml:2:7: error: invalid type: integer `7`"),
            "{errs:#?}"
        );
        assert!(
            errs[1].starts_with("/etc/tierd/tierd.toml:5:8: error: "),
            "{errs:#?}"
        );
        let errs = load("[tiers.onprem]\nurl = \"file:///o\"\nmin_storage_days = \"x\"\n[journal]\npath = \"\"\n").unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(
            errs[0].contains(":3:20: error: invalid type: string \"x\", expected"),
            "{errs:#?}"
        );
        assert!(
            errs[1].contains(":5:8: error: journal.path is empty"),
            "{errs:#?}"
        );
    }

    #[test]
    fn a_full_configuration_is_checked_and_paths_resolved() {
        let c = load(
            r#"
[journal]
path = "state/tierd.db"
[tiers.onprem]
url = "file://data/onprem"
[tiers.cloud]
url = "s3://cold/tierd"
min_storage_days = 90
options = { endpoint = "http://127.0.0.1:9000", secret_access_key = "s3cr3t" }
[ingest]
sources = ["logs/", "s3://logs/photos/", "file://more/"]
format = "s3"
"#,
        )
        .unwrap();
        assert_eq!(c.journal_path, PathBuf::from("/etc/tierd/state/tierd.db"));
        assert_eq!(c.tiers[0].url, "file:///etc/tierd/data/onprem");
        assert_eq!(c.tiers[1].name, "cloud");
        assert_eq!(c.tiers[1].min_storage_days, 90);
        assert_eq!(
            c.ingest_sources,
            vec![
                "/etc/tierd/logs/",
                "s3://logs/photos/",
                "file:///etc/tierd/more/"
            ]
        );
        assert_eq!(c.ingest_format, Some(Format::S3));
        let dbg = format!("{:?}", c);
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let errs = load(
            "[tiers.onprem]\nurl = \"ftp://x\"\n[tiers.\"bad name\"]\nurl = \"file:///x\"\n[ingest]\nformat = \"apache\"\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "/etc/tierd/tierd.toml:2:7: error: tier \"onprem\": url \"ftp://x\" has no supported scheme; expected one of: file://, memory://, s3://, gs://, az://, http:// (e.g. \"file:///srv/tiers/onprem\" or \"s3://bucket/prefix\")".to_string(),
                "/etc/tierd/tierd.toml:3:8: error: tier name \"bad name\" is not valid; use letters, digits, '-' and '_' only".to_string(),
                "/etc/tierd/tierd.toml:6:10: error: ingest.format: unknown log format \"apache\"; expected auto or one of: s3, minio, cloudtrail, ceph, ndjson, parquet".to_string(),
            ]
        );
    }

    #[test]
    fn the_idle_baselines_take_one_n_or_a_list() {
        let days = |v: &str| {
            let text = format!(
                "[tiers.onprem]\nurl = \"file:///x\"\n[simulate]\nbaseline_idle_days = {v}\n"
            );
            load(&text).map(|c| c.simulate.baseline_idle_days)
        };
        assert_eq!(days("14"), Ok(vec![14]));
        assert_eq!(days("[60, 7, 7]"), Ok(vec![7, 60]), "sorted, once each");
        for zero in ["0", "[7, 0]"] {
            let err = days(zero).unwrap_err();
            assert_eq!(
                err[0],
                format!(
                    "/etc/tierd/tierd.toml:4:22: error: simulate.baseline_idle_days = {zero}: a baseline moves after at least 1 day idle; remove the 0 (\"never move\" is always priced)"
                )
            );
        }
        assert_eq!(days("[]"), Ok(vec![]), "never move alone");
        let err = days("\"often\"").unwrap_err();
        assert!(
            err[0].starts_with(
                "/etc/tierd/tierd.toml:4:22: error: simulate.baseline_idle_days: a whole number of days (at least 1), or a list"
            ),
            "{err:?}"
        );
    }

    #[test]
    fn model_settings_and_durations_out_of_range_are_located() {
        let errs = load(
            "[tiers.onprem]\nurl = \"file:///x\"\n[model]\nlearning_days = 1e300\nwindow = \"1s\"\n[simulate]\nlateness = \"100000000w\"\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "/etc/tierd/tierd.toml:4:17: error: model.learning_days = 1e300: expected 0 to 3650 days; 7 learns a week of behaviour before scoring".to_string(),
                "/etc/tierd/tierd.toml:5:10: error: model.window = \"1s\": expected 10s to 1d; the default is \"5m\"".to_string(),
                "/etc/tierd/tierd.toml:7:12: error: simulate.lateness = \"100000000w\" is more than 36525d (100 years), the longest duration allowed".to_string(),
            ]
        );
        for bad in ["-1", "nan", "inf"] {
            let text =
                format!("[tiers.onprem]\nurl = \"file:///x\"\n[model]\nlearning_days = {bad}\n");
            assert!(load(&text).is_err(), "{bad}");
        }
        let ok = load(
            "[tiers.onprem]\nurl = \"file:///x\"\n[model]\nlearning_days = 14\nwindow = \"10m\"\n",
        )
        .unwrap();
        assert_eq!((ok.model.learning_days, ok.model.window_secs), (14.0, 600));
    }

    #[test]
    fn tier_options_the_store_would_not_take_are_located() {
        let errs = load(
            "[tiers.onprem]\nurl = \"file:///x\"\noptions = { secret_acces_key = \"s\" }\n[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { acess_key_id = \"k\", region = \"eu-west-1\", allow_http = \"true\" }\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "/etc/tierd/tierd.toml:3:11: error: tier \"onprem\": a file:// tier takes no options (given: secret_acces_key); remove `options`".to_string(),
                "/etc/tierd/tierd.toml:6:11: error: tier \"cloud\": unknown S3 option \"acess_key_id\"; did you mean `access_key_id`? see the configuration reference for valid options".to_string(),
            ]
        );
        let ok = load("[tiers.cloud]\nurl = \"s3://b/p\"\noptions = { access_key_id = \"k\", endpoint = \"http://127.0.0.1:9000\", allow_http = \"true\" }\n").unwrap();
        assert_eq!(ok.tiers[0].options.len(), 3);
    }

    #[test]
    fn credentials_in_a_url_are_refused_at_their_line_and_not_repeated() {
        let errs = load(
            "[tiers.web]\nurl = \"https://admin:S3cretPW@dav.example/store\"\n[ingest]\nsources = [\"s3://logs/a/\", \"https://h/l.gz?X-Amz-Signature=S3cretPW\"]\n",
        )
        .unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(
            errs[0].starts_with(
                "/etc/tierd/tierd.toml:2:7: error: tier \"web\": the url \"https://***@dav.example/store\" carries a user name or password"
            ),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].contains("\"https://h/l.gz?X-Amz-Signature=***\" carries a signature or token"),
            "{}",
            errs[1]
        );
        assert!(!errs.concat().contains("S3cretPW"), "{errs:?}");
    }

    #[test]
    fn the_services_move_rates_are_sizes_and_counts_per_second() {
        let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
        let c = load(&format!(
            "{tiers}[service]\nmax_bytes_per_sec = \"100MiB\"\nmax_objects_per_sec = 2.5\n"
        ))
        .unwrap();
        assert_eq!(c.service.max_bytes_per_sec, Some(100.0 * 1024.0 * 1024.0));
        assert_eq!(c.service.max_objects_per_sec, Some(2.5));
        // Rates too small for a wait to be held in time are refused, not a panic later.
        assert!(
            load(&format!("{tiers}[service]\nmax_objects_per_sec = 1e-300\n")).unwrap_err()[0]
                .contains("max_objects_per_sec = 1e-300 is not a rate")
        );
        assert!(
            load(&format!("{tiers}[service]\nmax_bytes_per_sec = \"0.5B\"\n")).unwrap_err()[0]
                .contains("is not a rate")
        );
        let c = load(&format!("{tiers}[service]\nmax_bytes_per_sec = \"off\"\n")).unwrap();
        assert_eq!(c.service.max_bytes_per_sec, None);
        assert_eq!(load(tiers).unwrap().service.max_objects_per_sec, None);
        assert_eq!(
            load(&format!(
                "{tiers}[service]\nmax_bytes_per_sec = \"fast\"\nmax_objects_per_sec = 0\n"
            ))
            .unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:4:21: error: service.max_bytes_per_sec = \"fast\" is not a size; write a size per second with a unit, e.g. \"100MiB\" or \"1GB\", or \"off\"".to_string(),
                "/etc/tierd/tierd.toml:5:23: error: service.max_objects_per_sec = 0 is not a rate; write a number of moves per second from 0.0000116 (one a day) to 1000000, e.g. 50".to_string(),
            ]
        );
        assert_eq!(
            load(&format!("{tiers}[service]\nmax_bytes_per_sec = \"0B\"\n")).unwrap_err(),
            vec!["/etc/tierd/tierd.toml:4:21: error: service.max_bytes_per_sec = \"0B\" is not a rate; write a size per second from 1B to 1024PiB, e.g. \"100MiB\", or \"off\"".to_string()]
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_says_what_to_write() {
        let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
        let one = |extra: &str| load(&format!("{tiers}{extra}")).unwrap_err().remove(0);
        assert!(
            one("[planner]\nmax_decisions_per_cycle = \"3\"\n")
                .ends_with("; write the number without quotes"),
        );
        assert!(
            one("[planner]\nmax_decisions_per_cycle = -3\n")
                .ends_with("; write a number 0 or more")
        );
        assert!(one("[service]\ningest_interval = 30\n").ends_with(
            "; write it in quotes (a duration or a size takes its unit: \"7d\", \"100MiB\")"
        ));
        assert!(
            one("[service]\ndecision_log_stderr = \"yes\"\n")
                .ends_with("; write true or false without quotes")
        );
    }

    #[test]
    fn an_unknown_field_is_rejected_at_its_line() {
        let errs = load("[tiers.onprem]\nurl = \"file:///x\"\ncolour = \"red\"\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("/etc/tierd/tierd.toml:3:1: error: unknown field `colour`"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn an_unknown_field_close_to_a_known_one_suggests_it() {
        let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
        assert_eq!(
            load(&format!("{tiers}[service]\nmax_byte_per_sec = \"1MiB\"\n")).unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:4:1: error: unknown field `max_byte_per_sec`, expected one of `listen`, `decision_log`, `decision_log_stderr`, `ingest_interval`, `shutdown_timeout`, `webhook_token_env`, `executor_concurrency`, `max_bytes_per_sec`, `max_objects_per_sec`, `scan_interval`; did you mean `max_bytes_per_sec`?"
            ]
        );
        assert_eq!(
            load(&format!("{tiers}[servic]\nlisten = \"127.0.0.1:9464\"\n")).unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:3:2: error: unknown field `servic`, expected one of `journal`, `tiers`, `ingest`, `policies`, `costs`, `planner`, `model`, `service`, `simulate`; did you mean `service`?"
            ]
        );
        // serde's other two shapes: one known field, and two.
        assert_eq!(
            load(&format!("{tiers}[journal]\npat = \"j.db\"\n")).unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:4:1: error: unknown field `pat`, expected `path`; did you mean `path`?"
            ]
        );
        assert_eq!(
            unknown_field_fix("unknown field `lisen`, expected `listen` or `decision_log`"),
            "; did you mean `listen`?"
        );
    }

    #[test]
    fn an_unknown_field_far_from_every_known_one_has_no_suggestion() {
        assert_eq!(
            load("[tiers.onprem]\nurl = \"file:///x\"\nto = \"cloud\"\n").unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:3:1: error: unknown field `to`, expected one of `url`, `min_storage_days`, `options`, `role`, `price`"
            ]
        );
        assert_eq!(
            unknown_field_fix("unknown field `x`, there are no fields"),
            ""
        );
        assert_eq!(unknown_field_fix("missing field `url`"), "");
    }

    #[test]
    fn tiers_written_as_an_array_say_to_write_named_tables() {
        assert_eq!(
            load("[[tiers]]\nname=\"onprem\"\nurl=\"file:///x\"\n").unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:1:1: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"file:///x\" (not [[tiers]] with name = \"onprem\")"
            ]
        );
        // Every tier at its own header, and every other section written as an array, at once.
        assert_eq!(
            load("# two tiers\n[[tiers]]\nurl = \"file:///x\"\n\n[[tiers]]\nname = \"cold tier\"\nurl = \"s3://b/p\"\n[[service]]\nlisten = \"127.0.0.1:9464\"\n")
                .unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:2:1: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"file:///x\", the tier's name in the header (not [[tiers]])",
                "/etc/tierd/tierd.toml:5:1: error: tiers is a table of named tiers: write [tiers.\"cold tier\"] with url = \"s3://b/p\" (not [[tiers]] with name = \"cold tier\")",
                "/etc/tierd/tierd.toml:8:1: error: service is one table: write [service] once, not [[service]]",
            ]
        );
        assert_eq!(
            load("tiers = [{ name = \"onprem\", url = \"file:///x\" }]\n").unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:1:10: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"file:///x\" (not tiers = [...] with name = \"onprem\")"
            ]
        );
        assert_eq!(
            load("tiers = [\"onprem\"]\n").unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:1:9: error: tiers is a table of named tiers: write [tiers.onprem] with url = \"...\" (not tiers = [...])"
            ]
        );
    }

    #[test]
    fn every_section_written_as_an_array_says_to_write_it_once() {
        let tiers = "[tiers.onprem]\nurl = \"file://data/onprem\"\n";
        // Every top-level section the reader knows (from its own list of fields), and the
        // tables inside a tier and inside [ingest].
        let known = load(&format!("{tiers}[zzzzzzzz]\n")).unwrap_err().remove(0);
        let (_, sections) = known.split_once("expected one of ").unwrap();
        let sections: Vec<&str> = sections.split(", ").map(|s| s.trim_matches('`')).collect();
        assert_eq!(sections.len(), 9, "{known}");
        for section in sections.into_iter().filter(|s| *s != "tiers") {
            assert_eq!(
                load(&format!("{tiers}[[{section}]]\n")).unwrap_err(),
                vec![format!(
                    "/etc/tierd/tierd.toml:3:1: error: {section} is one table: write [{section}] once, not [[{section}]]"
                )]
            );
        }
        for (text, section) in [
            ("[[tiers.onprem]]\nurl = \"file:///x\"\n", "tiers.onprem"),
            (
                &format!("{tiers}[[tiers.onprem.options]]\n"),
                "tiers.onprem.options",
            ),
            (
                &format!("{tiers}[[tiers.onprem.price]]\n"),
                "tiers.onprem.price",
            ),
            (&format!("{tiers}[[ingest.options]]\n"), "ingest.options"),
        ] {
            let line = text.lines().position(|l| l.starts_with("[[")).unwrap() + 1;
            assert_eq!(
                load(text).unwrap_err(),
                vec![format!(
                    "/etc/tierd/tierd.toml:{line}:1: error: {section} is one table: write [{section}] once, not [[{section}]]"
                )]
            );
        }
        assert_eq!(
            load(&format!(
                "service = [{{ listen = \"127.0.0.1:9464\" }}]\n{tiers}"
            ))
            .unwrap_err(),
            vec![
                "/etc/tierd/tierd.toml:1:11: error: service is one table: write [service] once, not service = [...]"
            ]
        );
    }

    #[test]
    fn no_tiers_is_an_error_with_an_example() {
        let errs = load("[journal]\npath = \"j.db\"\n").unwrap_err();
        assert_eq!(
            errs,
            vec!["/etc/tierd/tierd.toml:1:1: error: no tiers are configured; add at least one, e.g. [tiers.onprem] url = \"file:///srv/onprem\"".to_string()]
        );
    }

    #[test]
    fn embedded_defaults_have_three_file_tiers() {
        let c = Config::embedded();
        let names: Vec<_> = c
            .tier_specs()
            .into_iter()
            .map(|t| (t.name, t.min_storage_days))
            .collect();
        assert_eq!(
            names,
            vec![
                ("onprem".into(), 0),
                ("cloud".into(), 90),
                ("vault".into(), 0)
            ]
        );
    }
}
