//! The effective configuration: what tierd runs with, the file plus every default it fills in,
//! as TOML that tierd reads back as a configuration, or as JSON (`tierd check --effective`).
//!
//! # Guarantees
//! - Every setting of [`Config`] is printed; one that is not written in the file is marked
//!   `# default` (in JSON, listed under `defaults`). A setting that is not set (no trained model,
//!   no object rate limit) is a comment that says what that means.
//! - Relative paths are printed absolute, as tierd resolved them, so that the output read back
//!   from another folder names the same files.
//! - Durations are printed as they are written (`"7d"`, `"30s"`); byte rates with a unit.
//! - Secrets never appear: a secret store option written in the file is left out and named with
//!   the file it is written in; credentials from the environment are named by their variables.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use toml::Value;

use super::{Config, ModelSettings, PlannerSettings, Price, Role, ServiceSettings};
use super::{SimulateSettings, TierConfig, is_secret_option};

/// One setting as printed.
#[derive(Debug)]
struct Setting {
    key: String,
    /// `None`: not set (printed as a comment saying what that means).
    value: Option<Value>,
    /// Not written in the file: tierd filled it in.
    default: bool,
    /// What the reader needs beside the value (where credentials come from, what "not set" means).
    note: Option<String>,
}

/// One table, `[planner]` or `[tiers.cloud]`.
#[derive(Debug)]
struct Section {
    table: String,
    settings: Vec<Setting>,
    /// Comment lines after the settings (secret options left out, credentials).
    notes: Vec<String>,
}

/// The effective configuration, ready to print (it holds no secret: they are left out).
#[derive(Debug)]
pub struct Effective {
    source: Option<String>,
    sections: Vec<Section>,
}

/// Seconds as a duration is written: the largest of `d`, `h`, `m`, `s` that divides them.
pub fn shown_duration(secs: u64) -> String {
    let units = [(86_400, "d"), (3600, "h"), (60, "m")];
    match units
        .iter()
        .find(|(n, _)| secs > 0 && secs.is_multiple_of(*n))
    {
        Some((n, unit)) => format!("{}{unit}", secs / n),
        None => format!("{secs}s"),
    }
}

/// Bytes per second as `service.max_bytes_per_sec` is written: a whole number of the largest
/// unit that divides them (`"100MiB"`), or bytes.
pub(super) fn shown_rate_bytes(bytes: f64) -> String {
    let unit = policies::cond::SIZE_UNITS
        .iter()
        .filter(|(_, f)| bytes >= *f && (bytes / f).fract() == 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match unit {
        Some((name, f)) => format!("{}{name}", bytes / f),
        None => format!("{bytes}B"),
    }
}

fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// `file://relative` as `file:///absolute`; other URLs as they are.
fn absolute_url(url: &str) -> String {
    match url.strip_prefix("file://") {
        Some(p) => format!("file://{}", absolute(Path::new(p))),
        None => url.to_string(),
    }
}

fn duration(secs: u64) -> Option<Value> {
    Some(Value::String(shown_duration(secs)))
}

fn string(s: impl Into<String>) -> Option<Value> {
    Some(Value::String(s.into()))
}

fn price(p: &Price) -> Option<Value> {
    Value::try_from(p).ok()
}

/// The environment variables the S3 client reads credentials from.
const AWS_CREDENTIAL_VARS: [&str; 6] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
];

/// A secret option's value is never shown; a `*_file` option names a file, which is shown.
fn hidden(key: &str) -> bool {
    is_secret_option(key) && !key.to_ascii_lowercase().ends_with("_file")
}

/// The option naming the key a secret belongs to (`access_key_id`).
fn key_id(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "access_key_id" | "aws_access_key_id"
    )
}

/// The options that may be printed, and notes for the rest and for where credentials come from
/// (`remote`: the options serve an object store, not a `file://` or `memory://` one).
fn options(
    options: &BTreeMap<String, String>,
    source: Option<&str>,
    remote: bool,
) -> (Option<Value>, Vec<String>) {
    // The key id of a secret left out goes with it: read back beside the environment's secret,
    // it would make a pair that does not exist.
    let any_secret = options.keys().any(|k| hidden(k));
    let left_out = |k: &str| hidden(k) || (any_secret && key_id(k));
    let shown: toml::Table = options
        .iter()
        .filter(|(k, _)| !left_out(k))
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let secret: Vec<&str> = options
        .keys()
        .filter(|k| left_out(k))
        .map(String::as_str)
        .collect();
    let mut notes = Vec::new();
    if !secret.is_empty() {
        notes.push(format!(
            "options {} written in {} (not shown; left out of this output)",
            secret.join(", "),
            source.unwrap_or("the configuration")
        ));
    }
    // Options that name the credentials themselves stand in for the environment's.
    if remote && secret.is_empty() {
        let set: Vec<&str> = AWS_CREDENTIAL_VARS
            .into_iter()
            .filter(|v| std::env::var_os(v).is_some())
            .collect();
        notes.push(if set.is_empty() {
            format!(
                "credentials from the environment: none of {} is set here; an s3 store then asks the instance's role",
                AWS_CREDENTIAL_VARS[..2].join(", ")
            )
        } else {
            format!(
                "credentials from the environment: {} (set here; values not shown)",
                set.join(", ")
            )
        });
    }
    let value = (!shown.is_empty()).then_some(Value::Table(shown));
    (value, notes)
}

fn is_remote(url: &str) -> bool {
    !(url.starts_with("file://") || url.starts_with("memory://") || !url.contains("://"))
}

/// Which settings the file writes: `written(&["planner", "interval"])`.
struct Written(Option<toml::Table>);

impl Written {
    fn has(&self, path: &[&str]) -> bool {
        let Some(mut table) = self.0.as_ref() else {
            return false;
        };
        for (i, key) in path.iter().enumerate() {
            match table.get(*key) {
                Some(Value::Table(t)) if i + 1 < path.len() => table = t,
                Some(_) if i + 1 == path.len() => return true,
                _ => return false,
            }
        }
        true
    }

    /// A section's settings: `(key, value, note)`, marked default when the file leaves them out.
    fn section(
        &self,
        table: &str,
        settings: Vec<(&str, Option<Value>, Option<String>)>,
    ) -> Section {
        let path: Vec<&str> = table.split('.').collect();
        let settings = settings
            .into_iter()
            .map(|(key, value, note)| {
                let mut at = path.clone();
                at.push(key);
                Setting {
                    key: key.to_string(),
                    value,
                    default: !self.has(&at),
                    note,
                }
            })
            .collect();
        Section {
            table: table.to_string(),
            settings,
            notes: Vec::new(),
        }
    }
}

impl Config {
    /// The effective configuration; `text` is the file's text (`None` for the embedded
    /// defaults), read to tell settings written from defaults.
    pub fn effective(&self, text: Option<&str>) -> Effective {
        // Every field by name: a setting added to `Config` must be printed here too.
        let Config {
            path,
            journal_path,
            journal_keep_secs,
            tiers,
            ingest_sources,
            ingest_format,
            ingest_options,
            policy_files,
            policy_files_at: _,
            prices,
            roles,
            currency,
            planner,
            model,
            service,
            simulate,
        } = self;
        let w = Written(text.and_then(|t| toml::from_str(t).ok()));
        let source = path.as_deref().map(absolute);
        let mut sections = vec![
            w.section(
                "journal",
                vec![
                    ("path", string(absolute(journal_path)), None),
                    (
                        "keep_decisions",
                        journal_keep_secs.map_or_else(|| string("forever"), duration),
                        None,
                    ),
                ],
            ),
            w.section("costs", vec![("currency", string(currency.clone()), None)]),
        ];
        for ((t, price), role) in tiers.iter().zip(prices).zip(roles) {
            sections.push(tier_section(&w, t, price, *role, source.as_deref()));
        }
        let sources = ingest_sources
            .iter()
            .map(|s| match s.strip_prefix("file://") {
                Some(_) => absolute_url(s),
                None if s.contains("://") || s.starts_with("builtin:") => s.clone(),
                None => absolute(Path::new(s)),
            })
            .map(Value::String)
            .collect();
        let format = ingest_format.map_or("auto".to_string(), |f| f.to_string());
        let (opts, notes) = options(
            &ingest_options.0,
            source.as_deref(),
            ingest_sources.iter().any(|s| is_remote(s)),
        );
        let mut ingest = vec![
            ("sources", Some(Value::Array(sources)), None),
            ("format", string(format), None),
        ];
        if opts.is_some() {
            ingest.push(("options", opts, None));
        }
        let mut ingest = w.section("ingest", ingest);
        ingest.notes = notes;
        sections.push(ingest);
        let files = policy_files
            .iter()
            .map(|f| match f.starts_with("builtin:") {
                true => Value::String(f.clone()),
                false => Value::String(absolute(Path::new(f))),
            })
            .collect();
        sections.push(w.section("policies", vec![("files", Some(Value::Array(files)), None)]));
        sections.push(planner_section(&w, planner));
        sections.push(model_section(&w, model));
        sections.push(service_section(&w, service));
        sections.push(simulate_section(&w, simulate));
        Effective { source, sections }
    }
}

fn tier_section(
    w: &Written,
    t: &TierConfig,
    price_: &Price,
    role: Role,
    source: Option<&str>,
) -> Section {
    let TierConfig {
        name,
        url,
        min_storage_days,
        options: opts,
    } = t;
    let role = match role {
        Role::Data => "data",
        Role::Vault => "vault",
    };
    let (opts, notes) = options(opts, source, is_remote(url));
    let mut settings = vec![
        ("url", string(absolute_url(url)), None),
        ("role", string(role), None),
        (
            "min_storage_days",
            Some(Value::Integer(i64::from(*min_storage_days))),
            None,
        ),
        ("price", price(price_), None),
    ];
    if opts.is_some() {
        settings.push(("options", opts, None));
    }
    let mut s = w.section(&format!("tiers.{name}"), settings);
    s.notes = notes;
    s
}

fn planner_section(w: &Written, p: &PlannerSettings) -> Section {
    let PlannerSettings {
        interval_secs,
        anomaly_hold_secs,
        incident_quiet_secs,
        max_decisions_per_cycle,
        operator_hold_secs,
    } = p;
    let max = i64::try_from(*max_decisions_per_cycle).unwrap_or(i64::MAX);
    w.section(
        "planner",
        vec![
            ("interval", duration(*interval_secs), None),
            ("anomaly_hold", duration(*anomaly_hold_secs), None),
            ("incident_quiet", duration(*incident_quiet_secs), None),
            ("max_decisions_per_cycle", Some(Value::Integer(max)), None),
            ("operator_hold", duration(*operator_hold_secs), None),
        ],
    )
}

fn model_section(w: &Written, m: &ModelSettings) -> Section {
    let ModelSettings {
        path,
        learning_days,
        window_secs,
        retrain_every_secs,
    } = m;
    w.section(
        "model",
        vec![
            (
                "path",
                path.as_deref().map(|p| Value::String(absolute(p))),
                Some("not set: the model is learnt from the logs themselves".into()),
            ),
            ("learning_days", Some(Value::Float(*learning_days)), None),
            ("window", duration(*window_secs), None),
            (
                "retrain_every",
                retrain_every_secs.and_then(duration),
                Some("not set: the model is never retrained".into()),
            ),
        ],
    )
}

fn service_section(w: &Written, s: &ServiceSettings) -> Section {
    let ServiceSettings {
        listen,
        decision_log,
        decision_log_stderr,
        ingest_interval_secs,
        shutdown_timeout_secs,
        webhook_token_env,
        executor_concurrency,
        max_bytes_per_sec,
        max_objects_per_sec,
        scan_interval_secs,
    } = s;
    let off = |v: Option<String>| string(v.unwrap_or_else(|| "off".into()));
    let concurrency = i64::try_from(*executor_concurrency).unwrap_or(i64::MAX);
    w.section(
        "service",
        vec![
            ("listen", off(listen.clone()), None),
            (
                "decision_log",
                off(decision_log.as_deref().map(absolute)),
                None,
            ),
            (
                "decision_log_stderr",
                Some(Value::Boolean(*decision_log_stderr)),
                None,
            ),
            ("ingest_interval", duration(*ingest_interval_secs), None),
            ("shutdown_timeout", duration(*shutdown_timeout_secs), None),
            (
                "webhook_token_env",
                webhook_token_env.clone().map(Value::String),
                Some("not set: the webhook accepts requests without a token".into()),
            ),
            (
                "executor_concurrency",
                Some(Value::Integer(concurrency)),
                None,
            ),
            (
                "max_bytes_per_sec",
                max_bytes_per_sec.map(shown_rate_bytes).map(Value::String),
                Some("not set: no limit on the bytes moved per second".into()),
            ),
            (
                "max_objects_per_sec",
                max_objects_per_sec.map(Value::Float),
                Some("not set: no limit on the moves started per second".into()),
            ),
            (
                "scan_interval",
                off(scan_interval_secs.map(shown_duration)),
                None,
            ),
        ],
    )
}

fn simulate_section(w: &Written, s: &SimulateSettings) -> Section {
    let SimulateSettings {
        baseline_idle_days,
        lateness_secs,
        score_every_secs,
    } = s;
    let days = baseline_idle_days
        .iter()
        .map(|d| Value::Integer(i64::from(*d)))
        .collect();
    w.section(
        "simulate",
        vec![
            ("baseline_idle_days", Some(Value::Array(days)), None),
            ("lateness", duration(*lateness_secs), None),
            ("score_every", duration(*score_every_secs), None),
        ],
    )
}

impl Effective {
    /// As TOML that tierd reads back as a configuration, defaults marked `# default`.
    pub fn to_toml(&self) -> String {
        let mut out = match &self.source {
            Some(p) => format!(
                "# The effective configuration of {p}: the file and every default tierd fills in.\n"
            ),
            None => {
                "# The effective configuration of the embedded defaults (no --config).\n".into()
            }
        };
        for s in &self.sections {
            out.push_str(&format!("\n[{}]\n", s.table));
            for set in &s.settings {
                let mark = if set.default { "  # default" } else { "" };
                match (&set.value, &set.note) {
                    (Some(v), _) => out.push_str(&format!("{} = {v}{mark}\n", set.key)),
                    (None, note) => out.push_str(&format!(
                        "# {} {}{mark}\n",
                        set.key,
                        note.as_deref().unwrap_or("not set")
                    )),
                }
            }
            for n in &s.notes {
                out.push_str(&format!("# {n}\n"));
            }
        }
        out
    }

    /// As JSON: `configuration` (the settings set, as in the TOML), `defaults` (the settings
    /// tierd filled in, `table.key`), `notes` (per table: settings not set, credentials) and
    /// `source` (the file, or null for the embedded defaults).
    pub fn to_json(&self) -> serde_json::Value {
        let mut config = serde_json::Map::new();
        let mut defaults = Vec::new();
        let mut notes = serde_json::Map::new();
        for s in &self.sections {
            let mut table = serde_json::Map::new();
            let mut said: Vec<String> = Vec::new();
            for set in &s.settings {
                if set.default {
                    defaults.push(format!("{}.{}", s.table, set.key));
                }
                match &set.value {
                    Some(v) => {
                        table.insert(set.key.clone(), json!(v));
                    }
                    None => said.push(format!(
                        "{} {}",
                        set.key,
                        set.note.as_deref().unwrap_or("not set")
                    )),
                }
            }
            said.extend(s.notes.iter().cloned());
            if !said.is_empty() {
                notes.insert(s.table.clone(), json!(said));
            }
            // `tiers.cloud` nests as in the TOML.
            match s.table.split_once('.') {
                Some((parent, child)) => {
                    let entry = config.entry(parent).or_insert_with(|| json!({}));
                    if let Some(m) = entry.as_object_mut() {
                        m.insert(child.to_string(), serde_json::Value::Object(table));
                    }
                }
                None => {
                    config.insert(s.table.clone(), serde_json::Value::Object(table));
                }
            }
        }
        json!({
            "source": self.source,
            "configuration": config,
            "defaults": defaults,
            "notes": notes,
        })
    }
}
