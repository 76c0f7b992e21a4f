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
    options: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIngest {
    #[serde(default)]
    sources: Vec<Spanned<String>>,
    #[serde(default)]
    format: Option<Spanned<String>>,
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

impl fmt::Debug for TierConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opts: BTreeMap<&str, &str> = self
            .options
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str(),
                    if is_secret_option(k) {
                        "<redacted>"
                    } else {
                        v.as_str()
                    },
                )
            })
            .collect();
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
    /// Policy file paths or globs, resolved against the configuration's folder.
    pub policy_files: Vec<String>,
}

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
            policy_files: Vec::new(),
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
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| vec![policies::diag::from_toml_error(path, text, &e)])?;
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

        let tiers = check_tiers(path, text, &base, &raw.tiers, &mut diags);

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
                    .map(|f| resolve(&base, f.get_ref()).display().to_string())
                    .collect()
            })
            .unwrap_or_default();

        diags.sort_by_key(|d| (d.line, d.col));
        if diags.is_empty() {
            Ok(Config {
                path: Some(path.to_path_buf()),
                journal_path,
                tiers,
                ingest_sources,
                ingest_format,
                policy_files,
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
) -> Vec<TierConfig> {
    let at = |span: Range<usize>| policies::diag::line_col(text, span.start);
    if raw.is_empty() {
        diags.push(Diagnostic::error(
            path,
            (1, 1),
            "no tiers are configured; add at least one, e.g. [tiers.onprem] url = \"file:///srv/onprem\"",
        ));
    }
    let mut tiers: Vec<(usize, TierConfig)> = Vec::new();
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
        let scheme = url.split_once("://").map(|(s, _)| s);
        match scheme {
            Some(s) if SCHEMES.contains(&s) || s == "https" => {}
            _ => {
                diags.push(Diagnostic::error(
                    path,
                    at(t.url.span()),
                    format!(
                        "tier {n:?}: url {url:?} has no supported scheme; expected one of: {}:// (e.g. \"file:///srv/tiers/{n}\" or \"s3://bucket/prefix\")",
                        SCHEMES.join("://, ")
                    ),
                ));
                continue;
            }
        }
        let url = match url.strip_prefix("file://") {
            Some(p) => format!("file://{}", resolve(base, p).display()),
            None => url.clone(),
        };
        tiers.push((
            t.url.span().start,
            TierConfig {
                name: n.clone(),
                url,
                min_storage_days: t.min_storage_days.unwrap_or(0),
                options: t.options.clone(),
            },
        ));
    }
    // File order, not name order: operators read tiers the way they wrote them.
    tiers.sort_by_key(|(pos, _)| *pos);
    tiers.into_iter().map(|(_, t)| t).collect()
}

/// Checks a log source string: a path, a glob, `builtin:samples`, or a URL with a known scheme.
fn check_source(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err(
            "ingest.sources: an empty source; write a file, a folder, a glob or a URL".into(),
        );
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
    if s.contains("://") || s.starts_with("builtin:") {
        s.to_string()
    } else {
        resolve(base, s).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, Vec<String>> {
        Config::from_str(Path::new("/etc/tierd/tierd.toml"), text)
            .map_err(|d| d.into_iter().map(|d| d.to_string()).collect())
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
sources = ["logs/", "s3://logs/photos/"]
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
            vec!["/etc/tierd/logs/", "s3://logs/photos/"]
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
