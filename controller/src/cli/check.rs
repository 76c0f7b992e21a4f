//! `tierd check FILES... [--deny-warnings] [--config C]`: validate policy files and the main
//! configuration, run the `[[tests]]` inside the policy files, and say so in one summary line.
//!
//! - Every diagnostic goes to stderr, all at once, sorted by path, line and column.
//! - Each test prints one line to stdout (`path:line:col: test "name" ... ok` or `... FAILED: why`),
//!   then a one-line summary.
//! - A FILE whose top level has a `[tiers]` (or `[journal]`, `[ingest]`, `[policies]`) table is the
//!   main configuration, as is the file given with `--config`: it is checked with
//!   [`Config::load`], its tiers are the ones policies may name, and the policy files it lists
//!   under `[policies] files` are checked too. Without one, the embedded defaults' tiers are used.
//! - Exit status 0 when everything is valid and every test passed (and, with `--deny-warnings`,
//!   there is no warning); 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use policies::{Diagnostic, Severity};

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy files and the main configuration file.
    pub files: Vec<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// The main configuration file, whose tiers policies may name (default: the embedded tiers).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// The top-level tables that only the main configuration has.
const CONFIG_TABLES: [&str; 4] = ["tiers", "journal", "ingest", "policies"];

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
    for pattern in &config.policy_files {
        match glob::glob(pattern) {
            Ok(paths) => {
                let found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
                if found.is_empty() && !pattern.contains(['*', '?', '[']) {
                    out.push(PathBuf::from(pattern));
                } else if found.is_empty() {
                    diags.push(Diagnostic::warning(
                        &at,
                        (1, 1),
                        format!("policies.files: \"{pattern}\" matches no file"),
                    ));
                }
                out.extend(found);
            }
            Err(e) => diags.push(Diagnostic::error(
                &at,
                (1, 1),
                format!("policies.files: \"{pattern}\" is not a valid glob: {e}"),
            )),
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs the check.
///
/// # Errors
/// None in practice: every problem with the files is a diagnostic and exit status 1.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    if args.files.is_empty() && args.config.is_none() {
        eprintln!(
            "error: nothing to check; give policy files and/or the main configuration, e.g. tierd check tierd.toml policies/*.toml"
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut config_path = args.config.clone();
    let mut policy_files: Vec<PathBuf> = Vec::new();
    for f in &args.files {
        if config_path.as_deref() == Some(f.as_path()) {
            continue;
        }
        if is_main_config(f) {
            match &config_path {
                None => config_path = Some(f.clone()),
                Some(first) => diags.push(Diagnostic::error(
                    f,
                    (1, 1),
                    format!("a second main configuration (the first is {}); check one configuration at a time", first.display()),
                )),
            }
        } else {
            policy_files.push(f.clone());
        }
    }

    let mut config_ok = true;
    let tiers = match &config_path {
        Some(p) => match Config::load(p) {
            Ok(c) => {
                // The same file named twice (on the command line and in the configuration) is checked once.
                let same = |a: &Path, b: &Path| {
                    a == b
                        || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
                };
                for extra in config_policy_files(&c, &mut diags) {
                    if !policy_files.iter().any(|p| same(p, &extra)) {
                        policy_files.push(extra);
                    }
                }
                c.tier_specs()
            }
            Err(d) => {
                config_ok = false;
                diags.extend(d);
                Vec::new()
            }
        },
        None => Config::embedded().tier_specs(),
    };

    let mut rules = 0;
    let mut outcomes = Vec::new();
    if config_ok && !policy_files.is_empty() {
        match policies::load(&policy_files, &tiers) {
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
    let ok = errors == 0 && failed == 0 && (!args.deny_warnings || warnings == 0);
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
