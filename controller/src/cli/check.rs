//! `tierd check FILES... [--deny-warnings] [--config C]`: validate policy files and the main
//! configuration, run the `[[tests]]` inside the policy files, and say so in one summary line.
//!
//! - A FILE that is a folder stands for its `*.toml` files, and a quoted glob for its matches, as
//!   in `policies.files`; a file named twice is checked once.
//! - Every diagnostic goes to stderr, all at once, sorted by path, line and column.
//! - Each test prints one line to stdout (`path:line:col: test "name" ... ok` or `... FAILED: why`),
//!   then a one-line summary.
//! - A FILE whose top level has a `[tiers]` (or `[journal]`, `[ingest]`, `[policies]`) table is the
//!   main configuration, as is the file given with `--config`: it is checked with
//!   [`Config::load`], its tiers are the ones policies may name, and the policy files it lists
//!   under `[policies] files` are checked too. Without one, the embedded defaults' tiers are used.
//! - With a valid main configuration, each tier it configures is checked too (unless
//!   `--no-tier-checks`, for offline policy CI): it must answer a listing and accept a small probe
//!   object under `.tierd-probe/` (written create-only, then deleted). One line per tier goes to
//!   stdout, `tier onprem (file:///srv/onprem): reachable, writable` or what failed, and the
//!   summary counts them. A tier whose URL has `{bucket}` is reported as not checked (it has one
//!   store per bucket, opened on first use).
//! - With the same checks, the journal (`[journal] path`, the `-wal` and `-shm` files beside it,
//!   and its folder, which takes the `.lock` file) and the decision log (`service.decision_log`) must be writable by the user running
//!   the check (run it as the service's user): an error at the setting otherwise. Existing files
//!   are opened to append; a folder is tried with a probe file removed at once.
//! - `--staged`: the policy files given replace the configuration's `policies.files` (an edited
//!   copy is checked against the live configuration without its live policy files).
//! - A `policies.files` entry that matches no file is an error (`run` and `simulate` refuse it);
//!   a local `ingest.sources` entry (a path or glob) that names no file is a warning at the
//!   entry. Remote sources are never contacted.
//! - `--effective` checks nothing else: it prints the configuration tierd runs with (the
//!   `--config` file or the FILE that is the main configuration, or the embedded defaults
//!   without one; a policy file is a usage error) with every default filled in and
//!   marked, as TOML tierd reads back (`--json`: as JSON), and no secret (see
//!   [`crate::config::Effective`]). An invalid file prints its diagnostics and exits 1. It is a
//!   flag of `check` because it is the same reading of the file, and its errors are `check`'s.
//! - Exit status 0 when everything is valid, every test passed and every tier checked is
//!   reachable and writable (and, with `--deny-warnings`, there is no warning); 1 otherwise;
//!   2 when there is nothing to check (a usage error, like every other).

use crate::cli::common::plural;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use policies::{Diagnostic, Severity};

use crate::config::{Config, TierConfig};
use crate::http::{TierAccess, check_tier};
use crate::tier::{BUCKET_PLACEHOLDER, open_tier};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy files and the main configuration file; a folder stands for its *.toml files, a
    /// quoted glob for its matches.
    pub files: Vec<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// The main configuration file, whose tiers policies may name (default: the embedded tiers).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not check that the configuration's tiers are reachable and writable, nor that the
    /// journal and the decision log can be written (offline CI).
    #[arg(long)]
    pub no_tier_checks: bool,
    /// The policy files given stand in for the configuration's `policies.files`: check an edit
    /// (a copy elsewhere) against the live configuration before putting it in place.
    #[arg(long, requires = "config")]
    pub staged: bool,
    /// Print the configuration tierd runs with (the `--config` file, or the embedded defaults,
    /// with every default filled in and marked) as TOML tierd reads back; nothing else is checked.
    #[arg(long, conflicts_with_all = ["staged", "no_tier_checks", "deny_warnings"])]
    pub effective: bool,
    /// With `--effective`: print it as JSON.
    #[arg(long, requires = "effective")]
    pub json: bool,
    /// Print the policy files named as tierd reads them (`builtin:default`: the policy bundled in
    /// the binary, to start one of your own from: `tierd check --print builtin:default >
    /// policy.toml`); nothing is checked.
    #[arg(long, conflicts_with_all = ["effective", "staged", "config"])]
    pub print: bool,
}

/// The top-level tables that only the main configuration has.
const CONFIG_TABLES: [&str; 9] = [
    "tiers", "journal", "ingest", "policies", "costs", "planner", "model", "service", "simulate",
];

/// True if the file parses as TOML and has a main-configuration table at its top level.
fn is_main_config(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(doc) = toml::de::DeTable::parse(&text) else {
        return false;
    };
    doc.get_ref()
        .iter()
        .any(|(k, _)| CONFIG_TABLES.contains(&k.get_ref().as_ref()))
}

/// Expands the configuration's policy entries (paths or globs) into files.
fn config_policy_files(config: &Config, diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let at = config.path.clone().unwrap_or_default();
    for (i, pattern) in config.policy_files.iter().enumerate() {
        let pos = config.policy_files_at.get(i).copied().unwrap_or((1, 1));
        if pattern == crate::config::BUILTIN_POLICY {
            out.push(PathBuf::from(pattern));
            continue;
        }
        match crate::policy::expand(pattern) {
            // An error, as `run` and `simulate` refuse it; `check` goes on with the other files.
            Ok(found) if found.is_empty() => diags.push(Diagnostic::error(
                &at,
                pos,
                format!("policies.files: \"{pattern}\" matches no file"),
            )),
            Ok(found) => out.extend(found),
            Err(why) => diags.push(Diagnostic::error(&at, pos, why)),
        }
    }
    out
}

/// Where each `ingest.sources` entry is written in the configuration `text`, in order: the
/// position of its string (none when the file does not parse, which `Config::load` reports).
fn source_positions(text: &str) -> Vec<(usize, usize)> {
    use toml::de::DeValue;
    let Ok(doc) = toml::de::DeTable::parse(text) else {
        return Vec::new();
    };
    let Some(DeValue::Table(ingest)) = doc.get_ref().get("ingest").map(|v| v.get_ref()) else {
        return Vec::new();
    };
    let Some(DeValue::Array(items)) = ingest.get("sources").map(|v| v.get_ref()) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| policies::diag::line_col(text, item.span().start))
        .collect()
}

/// Why a local log source names nothing to read (a path that does not exist, a glob that matches
/// no file), or `None` when it does, or when it is not local: `builtin:samples` and object-store
/// URLs are left to `tierd run` (a check never contacts a log store).
fn missing_source(source: &str) -> Option<String> {
    if source.starts_with("builtin:") {
        return None;
    }
    let path = match source.strip_prefix("file://") {
        Some(p) => p,
        None if source.contains("://") => return None,
        None => source,
    };
    if path.contains(['*', '?', '[']) {
        let any = glob::glob(path)
            .ok()?
            .filter_map(Result::ok)
            .any(|p| p.is_file());
        return (!any).then(|| "matches no file".to_string());
    }
    match std::fs::metadata(path) {
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist".to_string()),
        Err(e) => Some(format!("cannot be read ({e})")),
    }
}

/// A warning for each local `ingest.sources` entry that names nothing to read, located at the
/// entry: `tierd run` fails on it until the logs are there (which they may be by then, so it is
/// not an error).
fn check_sources(config: &Config, path: &Path) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let positions = source_positions(&text);
    config
        .ingest_sources
        .iter()
        .enumerate()
        .filter_map(|(i, source)| {
            let why = missing_source(source)?;
            let at = positions.get(i).copied().unwrap_or((1, 1));
            Some(Diagnostic::warning(
                path,
                at,
                format!(
                    "ingest.sources: \"{source}\" {why}; `tierd run` cannot read logs from it: fix the path, or create it before the service starts"
                ),
            ))
        })
        .collect()
}

/// One tier's check, as printed.
struct TierOutcome {
    line: String,
    state: TierState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TierState {
    Ok,
    Failed,
    NotChecked,
}

/// Checks every tier at once; the outcomes come back in configuration order.
fn check_tiers(tiers: &[TierConfig]) -> anyhow::Result<Vec<TierOutcome>> {
    let rt = crate::cli::common::runtime()?;
    Ok(rt.block_on(futures::future::join_all(tiers.iter().map(check_one))))
}

async fn check_one(t: &TierConfig) -> TierOutcome {
    let head = format!("tier {} ({})", t.name, t.url);
    if t.url.contains(BUCKET_PLACEHOLDER) {
        return TierOutcome {
            line: format!(
                "{head}: not checked: its URL names one store per bucket, opened when a bucket is first used"
            ),
            state: TierState::NotChecked,
        };
    }
    let store = match open_tier(t) {
        Ok(s) => s,
        Err(e) => {
            // The error names the URL already; say only what went wrong.
            let msg = e.to_string();
            let msg = msg
                .strip_prefix(&format!("{}: ", t.url))
                .unwrap_or(&msg)
                .to_string();
            return TierOutcome {
                line: format!("{head}: cannot open it: {msg}"),
                state: TierState::Failed,
            };
        }
    };
    let c = check_tier(
        &t.name,
        &store,
        &object_store::path::Path::default(),
        TierAccess::ReadWrite,
    )
    .await;
    TierOutcome {
        line: format!("{head}: {}", c.detail),
        state: if c.ok {
            TierState::Ok
        } else {
            TierState::Failed
        },
    }
}

/// Runs the check.
///
/// # Errors
/// None in practice: every problem with the files is a diagnostic and exit status 1.
/// The configuration's trained model (`[model] path`), loaded as the service would load it: an
/// artifact that is missing, unreadable or damaged is an error at the `path` line.
fn check_model(config: &Path, model: &Path) -> Option<Diagnostic> {
    let e = models::detect::AnomalyModel::load(model).err()?;
    let text = std::fs::read_to_string(config).unwrap_or_default();
    Some(Diagnostic::error(
        config,
        key_position(&text, "model", "path"),
        format!("model.path: the model cannot be used: {e}"),
    ))
}

/// Where `key` of the table `[table]` is set in the configuration's `text` (line, column), or
/// the file's start: the configuration keeps no position for the values it resolves.
fn key_position(text: &str, table: &str, key: &str) -> (usize, usize) {
    let header = format!("[{table}]");
    let mut in_table = false;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('[') {
            in_table = l == header;
        } else if in_table
            && l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            return (i + 1, line.len() - line.trim_start().len() + 1);
        }
    }
    (1, 1)
}

/// Why this user cannot write `files` (a file and those kept beside it in its folder), or
/// `None`. Nothing is changed: a file there is opened to append; the folder (the nearest that
/// exists, as `tierd run` makes the rest) must take new files, tried with a probe file removed at
/// once.
fn unwritable(files: &[PathBuf]) -> Option<String> {
    let file = files.first()?;
    for f in files.iter().filter(|f| f.exists()) {
        if let Err(e) = std::fs::OpenOptions::new().append(true).open(f) {
            return Some(format!("{}: {e}", f.display()));
        }
    }
    // The nearest folder that exists must take new files (the journal's -wal, -shm and .lock
    // files, a rotated decision log's successor).
    let mut dir = file.parent()?;
    while !dir.as_os_str().is_empty() && !dir.exists() {
        dir = dir.parent()?;
    }
    if dir.as_os_str().is_empty() {
        dir = Path::new(".");
    }
    if !dir.is_dir() {
        return Some(format!("{}: not a folder", dir.display()));
    }
    let probe = dir.join(format!(".tierd-check-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            None
        }
        Err(e) => Some(format!(
            "{}: cannot create a file in it: {e}",
            dir.display()
        )),
    }
}

/// An error, at its setting, for the journal and the decision log when this user cannot write
/// them: `tierd run` as this user would refuse to start.
fn check_writable_files(config: &Config, path: &Path) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut files = vec![(
        "journal",
        "path",
        "the journal",
        crate::journal::journal_files(&config.journal_path).to_vec(),
    )];
    if let Some(log) = &config.service.decision_log {
        files.push((
            "service",
            "decision_log",
            "the decision log",
            vec![log.clone()],
        ));
    }
    files
        .into_iter()
        .filter_map(|(table, key, what, files)| {
            let why = unwritable(&files)?;
            let file = &files[0];
            Some(Diagnostic::error(
                path,
                key_position(&text, table, key),
                format!(
                    "{table}.{key}: this user cannot write {what} at {}: {why}; it and its folder must be writable by the user tierd runs as (run this check as that user)",
                    file.display()
                ),
            ))
        })
        .collect()
}

/// Errors for what `tierd run` with this configuration, in this environment, would refuse at
/// start beyond the file itself: a journal written by a newer tierd or damaged, and a webhook token
/// variable that is not set (run the check with the service's environment).
fn check_start_refusals(config: &Config, path: &Path) -> Vec<Diagnostic> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = Vec::new();
    if let Some(why) = crate::journal::newer_schema(&config.journal_path) {
        out.push(Diagnostic::error(
            path,
            key_position(&text, "journal", "path"),
            format!(
                "journal.path: {}: {why}; tierd run would refuse to start",
                config.journal_path.display()
            ),
        ));
    }
    if let Some(why) = crate::journal::damage(&config.journal_path) {
        out.push(Diagnostic::error(
            path,
            key_position(&text, "journal", "path"),
            format!(
                "journal.path: {}: the journal is damaged ({why}); a command that reads the damaged pages fails, and writing to it may damage it further: stop tierd and restore the last backup (docs/operations.md, \"Backing up the journal\")",
                config.journal_path.display()
            ),
        ));
    }
    if let Some(var) = &config.service.webhook_token_env
        && std::env::var_os(var).is_none()
    {
        out.push(Diagnostic::error(
            path,
            key_position(&text, "service", "webhook_token_env"),
            format!(
                "service.webhook_token_env names {var}, which is not set in this environment; tierd run would refuse to start (run this check with the service's environment, e.g. its EnvironmentFile)"
            ),
        ));
    }
    out
}

/// The files the command line names: a folder stands for its `*.toml` files and a glob (quoted,
/// so that the shell left it) for its matches, as in `policies.files`; any other path as it is.
/// An error for a folder or glob that names no file.
fn given_files(args: &[PathBuf], diags: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for f in args {
        let written = f.to_string_lossy();
        if !f.is_dir() && !written.contains(['*', '?', '[']) {
            out.push(f.clone());
            continue;
        }
        match crate::policy::expand(&written) {
            Ok(found) if found.is_empty() => diags.push(Diagnostic::error(
                f,
                (1, 1),
                format!("\"{written}\" names no policy file: a folder stands for the *.toml files in it, a glob for the files it matches"),
            )),
            Ok(found) => out.extend(found),
            Err(why) => diags.push(Diagnostic::error(f, (1, 1), why)),
        }
    }
    out
}

/// `--effective`: the configuration printed, or its diagnostics and exit status 1.
fn print_effective(args: &CheckArgs) -> ExitCode {
    // The main configuration may be given as a FILE, as `check` takes it; policy files may not.
    let mut config_path = args.config.clone();
    for f in &args.files {
        if config_path.is_none() && is_main_config(f) {
            config_path = Some(f.clone());
        } else if config_path.as_ref() != Some(f) {
            eprintln!(
                "error: --effective prints the main configuration only; {} is not it (give the configuration with --config, and no policy file)",
                f.display()
            );
            return ExitCode::from(2);
        }
    }
    let (config, text) = match &config_path {
        None => (Config::embedded(), None),
        Some(p) => match Config::load(p) {
            Ok(c) => (c, std::fs::read_to_string(p).ok()),
            Err(diags) => {
                for d in &diags {
                    eprintln!("{d}");
                }
                eprintln!(
                    "FAILED: {}; the effective configuration is printed once the file is valid",
                    plural(diags.len(), "error", "errors")
                );
                return ExitCode::FAILURE;
            }
        },
    };
    let effective = config.effective(text.as_deref());
    if args.json {
        println!("{:#}", effective.to_json());
    } else {
        print!("{}", effective.to_toml());
    }
    ExitCode::SUCCESS
}

/// `--print`: each policy file named, as tierd reads it.
fn print_policies(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    if files.is_empty() {
        eprintln!(
            "error: --print prints the policy files named; give one, e.g. tierd check --print builtin:default"
        );
        return Ok(ExitCode::from(2));
    }
    let mut out = std::io::stdout().lock();
    for f in files {
        if f.as_os_str() == crate::config::BUILTIN_POLICY {
            out.write_all(crate::config::BUILTIN_POLICY_TEXT.as_bytes())?;
        } else {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("{}: cannot read the policy file", f.display()))?;
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    if args.effective {
        return Ok(print_effective(args));
    }
    if args.print {
        return print_policies(&args.files);
    }
    if args.files.is_empty() && args.config.is_none() {
        eprintln!(
            "error: nothing to check; give policy files and/or the main configuration, e.g. tierd check tierd.toml policies/*.toml"
        );
        // A usage error, as clap's own: exit status 2.
        return Ok(ExitCode::from(2));
    }
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut config_path = args.config.clone();
    let mut policy_files: Vec<PathBuf> = Vec::new();
    // The same file named twice (on the command line or in the configuration) is checked once.
    let same = |a: &Path, b: &Path| {
        a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
    };
    for f in given_files(&args.files, &mut diags) {
        if config_path.as_deref() == Some(f.as_path()) || policy_files.iter().any(|p| same(p, &f)) {
            continue;
        }
        if is_main_config(&f) {
            match &config_path {
                None => config_path = Some(f.clone()),
                Some(first) => diags.push(Diagnostic::error(
                    &f,
                    (1, 1),
                    format!("a second main configuration (the first is {}); check one configuration at a time", first.display()),
                )),
            }
        } else {
            policy_files.push(f);
        }
    }

    let mut config_ok = true;
    let mut tier_configs: Vec<TierConfig> = Vec::new();
    let mut loaded = None;
    let tiers = match &config_path {
        Some(p) => match Config::load(p) {
            Ok(c) => {
                if !args.staged {
                    for extra in config_policy_files(&c, &mut diags) {
                        if !policy_files.iter().any(|p| same(p, &extra)) {
                            policy_files.push(extra);
                        }
                    }
                }
                diags.extend(check_sources(&c, p));
                tier_configs = c.tiers.clone();
                if let Some(model) = &c.model.path {
                    diags.extend(check_model(p, model));
                }
                if let Some(d) = crate::policy::check_tier_count(&c) {
                    config_ok = false;
                    diags.push(d);
                }
                let specs = c.tier_specs();
                loaded = Some(c);
                specs
            }
            Err(d) => {
                config_ok = false;
                diags.extend(d);
                Vec::new()
            }
        },
        None => Config::embedded().tier_specs(),
    };

    if config_ok
        && !args.no_tier_checks
        && let (Some(c), Some(p)) = (&loaded, &config_path)
    {
        diags.extend(check_writable_files(c, p));
        diags.extend(check_start_refusals(c, p));
    }
    let tier_outcomes = if config_ok && !args.no_tier_checks && !tier_configs.is_empty() {
        check_tiers(&tier_configs)?
    } else {
        Vec::new()
    };

    let mut rules = 0;
    let mut outcomes = Vec::new();
    if config_ok && !policy_files.is_empty() {
        // The bundled policy (`builtin:default`) has no file: load every text in memory.
        let mut sources: Vec<(String, String)> = Vec::new();
        let mut unreadable = Vec::new();
        for f in &policy_files {
            if f.as_os_str() == crate::config::BUILTIN_POLICY {
                sources.push((
                    crate::config::BUILTIN_POLICY.to_string(),
                    crate::config::BUILTIN_POLICY_TEXT.to_string(),
                ));
                continue;
            }
            match std::fs::read_to_string(f) {
                Ok(t) => sources.push((f.display().to_string(), t)),
                Err(e) => unreadable.push(Diagnostic::error(
                    f,
                    (1, 1),
                    format!("cannot read policy file: {e}"),
                )),
            }
        }
        let pairs: Vec<(&str, &str)> = sources
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        let result = if unreadable.is_empty() {
            policies::load_from_strs(&pairs, &tiers)
        } else {
            Err(unreadable)
        };
        match result {
            Ok(loaded) => {
                rules = loaded.policy.rules.len();
                diags.extend(loaded.warnings.iter().cloned());
                outcomes = policies::run_tests(&loaded);
            }
            Err(d) => diags.extend(d),
        }
    }

    diags.sort_by(|a, b| {
        (&a.path, a.line, a.col, &a.message).cmp(&(&b.path, b.line, b.col, &b.message))
    });
    for d in &diags {
        eprintln!("{d}");
    }
    for o in &outcomes {
        println!("{o}");
    }
    for t in &tier_outcomes {
        println!("{}", t.line);
    }

    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let warnings = diags.len() - errors;
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let passed = outcomes.len() - failed;
    let mut checked = vec![plural(policy_files.len(), "policy file", "policy files")];
    if config_path.is_some() {
        checked.push("1 configuration".to_string());
    }
    let count = |s: TierState| tier_outcomes.iter().filter(|t| t.state == s).count();
    let (tiers_ok, tiers_failed, tiers_unchecked) = (
        count(TierState::Ok),
        count(TierState::Failed),
        count(TierState::NotChecked),
    );
    let ok =
        errors == 0 && failed == 0 && tiers_failed == 0 && (!args.deny_warnings || warnings == 0);
    let mut summary = format!(
        "{}: checked {}, {}; tests: {} passed, {} failed; {}, {}",
        if ok { "ok" } else { "FAILED" },
        checked.join(" and "),
        plural(rules, "rule", "rules"),
        passed,
        failed,
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings"),
    );
    if config_path.is_some() && config_ok {
        if args.no_tier_checks {
            summary.push_str("; tier checks skipped (--no-tier-checks)");
        } else {
            summary.push_str(&format!("; tiers: {tiers_ok} ok, {tiers_failed} failed"));
            if tiers_unchecked > 0 {
                summary.push_str(&format!(", {tiers_unchecked} not checked"));
            }
        }
    }
    if !config_ok && !policy_files.is_empty() {
        summary.push_str("; policy files not checked until the configuration is valid");
    }
    if args.deny_warnings && warnings > 0 && errors == 0 && failed == 0 {
        summary.push_str(" (denied by --deny-warnings)");
    }
    println!("{summary}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
