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

mod check;
mod effective;
mod raw;
mod read_error;
use check::*;
pub use effective::{Effective, shown_duration};
use raw::*;
use read_error::read_errors;

/// URL schemes a tier or a log source may use.
pub const SCHEMES: [&str; 6] = ["file", "memory", "s3", "gs", "az", "http"];

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
    /// Seconds after an operator's `tierd move` or `recall` of an object during which no rule
    /// moves it (an undo is not undone by the rule it reversed); 0 for none.
    pub operator_hold_secs: u64,
}

impl Default for PlannerSettings {
    fn default() -> Self {
        PlannerSettings {
            interval_secs: 3600,
            anomaly_hold_secs: 3600,
            incident_quiet_secs: 24 * 3600,
            max_decisions_per_cycle: 10_000,
            operator_hold_secs: 30 * 86_400,
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
    /// `journal.keep_decisions`: ended decisions older than this are forgotten (see
    /// [`crate::journal::retention`]); `None` = `"forever"`.
    pub journal_keep_secs: Option<u64>,
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

/// `journal.keep_decisions` by default: 400 days, a year of history and a month to spare.
pub const DEFAULT_KEEP_DECISIONS_SECS: u64 = 400 * 86_400;

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
            journal_keep_secs: Some(DEFAULT_KEEP_DECISIONS_SECS),
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

        let journal_path = match raw.journal.as_ref().and_then(|j| j.path.as_ref()) {
            Some(p) if p.get_ref().trim().is_empty() => {
                diags.push(Diagnostic::error(
                    path,
                    at(p.span()),
                    "journal.path is empty; write the SQLite file's path, e.g. path = \"/var/lib/tierd/tierd.db\"",
                ));
                PathBuf::new()
            }
            Some(p) => resolve(&base, p.get_ref()),
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
        // "forever" keeps every decision; other durations must be positive.
        let keep = raw.journal.as_ref().and_then(|j| j.keep_decisions.as_ref());
        let journal_keep_secs = match keep {
            Some(k) if k.get_ref().trim().eq_ignore_ascii_case("forever") => None,
            // Zero would keep nothing: the check below says what the least is.
            Some(k) if matches!(k.get_ref().trim(), "0" | "0s") => Some(0),
            _ => Some(dur(
                "journal.keep_decisions",
                &keep.cloned(),
                DEFAULT_KEEP_DECISIONS_SECS,
            )),
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
            // "0s" (or "0") turns the hold off; other durations must be positive.
            let off = p
                .operator_hold
                .as_ref()
                .is_some_and(|v| matches!(v.get_ref().trim(), "0" | "0s"));
            planner.operator_hold_secs = if off {
                0
            } else {
                dur(
                    "planner.operator_hold",
                    &p.operator_hold,
                    planner.operator_hold_secs,
                )
            };
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
        // Retention never forgets what a start reads back: an operator's moves within
        // `planner.operator_hold`, and a day of the guardrails' state.
        let floor = planner.operator_hold_secs.max(86_400);
        if let (Some(k), Some(secs)) = (keep, journal_keep_secs)
            && secs < floor
        {
            let least = shown_duration(floor);
            let why = if planner.operator_hold_secs > 86_400 {
                format!("planner.operator_hold ({least})")
            } else {
                "a day".to_string()
            };
            diags.push(Diagnostic::error(
                path,
                at(k.span()),
                format!(
                    "journal.keep_decisions = {:?} is shorter than {why}, which the journal keeps for the service's start; write at least \"{least}\", or \"forever\"",
                    k.get_ref()
                ),
            ));
        }
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
                journal_keep_secs,
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
            .zip(&self.roles)
            .map(|(t, role)| TierSpec {
                name: t.name.clone(),
                min_storage_days: t.min_storage_days,
                vault: *role == Role::Vault,
            })
            .collect()
    }

    /// The tier of this name.
    pub fn tier(&self, name: &str) -> Option<&TierConfig> {
        self.tiers.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests;
