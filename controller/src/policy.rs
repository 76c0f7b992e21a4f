//! Loading the policy set the configuration names: files, globs and the bundled default policy,
//! all validated together (all-or-nothing, so a bad reload keeps the last good set).

use std::path::PathBuf;

use policies::{Diagnostic, Loaded};

use crate::config::{BUILTIN_POLICY, BUILTIN_POLICY_TEXT, Config};

/// The files one `policies.files` entry names: a glob's matches in path order, a folder's
/// `*.toml` files in path order (a `conf.d` of policies), or a path without wildcards as it is
/// (whether or not it exists: reading it says so). Empty when a glob or a folder matches
/// nothing.
///
/// # Errors
/// The message of a pattern that is not a valid glob.
pub(crate) fn expand(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let folder = std::path::Path::new(pattern);
    // A folder that exists is a folder, whatever characters its name holds.
    if folder.is_dir() {
        let inside = format!(
            "{}/*.toml",
            glob::Pattern::escape(pattern.trim_end_matches('/'))
        );
        return Ok(glob::glob(&inside)
            .map_err(|e| format!("policies.files: the folder \"{pattern}\" cannot be listed: {e}"))?
            .filter_map(Result::ok)
            // Not hidden files (editors' swap and backup files), nor folders. Anything else is
            // read: a pins file that became a broken link is an error, not silently left out.
            .filter(|p| {
                !p.is_dir()
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect());
    }
    let files: Vec<PathBuf> = glob::glob(pattern)
        .map_err(|e| format!("policies.files: \"{pattern}\" is not a valid glob: {e}"))?
        .filter_map(Result::ok)
        .collect();
    if files.is_empty() && !pattern.contains(['*', '?', '[']) {
        Ok(vec![PathBuf::from(pattern)])
    } else {
        Ok(files)
    }
}

/// Expands the configuration's policy entries into `(path, text)` sources; `positions` are
/// where the entries are written in the configuration `at` (none for files given on the
/// command line).
fn sources(
    entries: &[String],
    at: &std::path::Path,
    positions: &[(usize, usize)],
) -> (Vec<(PathBuf, String)>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for (i, pattern) in entries.iter().enumerate() {
        let written = positions.get(i).copied();
        let pos = written.unwrap_or((1, 1));
        if pattern == BUILTIN_POLICY {
            out.push((
                PathBuf::from(BUILTIN_POLICY),
                BUILTIN_POLICY_TEXT.to_string(),
            ));
            continue;
        }
        let files = match expand(pattern) {
            Ok(files) => files,
            Err(why) => {
                diags.push(Diagnostic::error(at, pos, why));
                continue;
            }
        };
        if files.is_empty() {
            diags.push(Diagnostic::error(
                at,
                pos,
                format!("policies.files: \"{pattern}\" matches no file"),
            ));
        }
        for f in files {
            match std::fs::read_to_string(&f) {
                Ok(text) => out.push((f, text)),
                // At the configuration's entry when it names the file, else at the file.
                Err(e) => diags.push(match written {
                    Some(pos) => Diagnostic::error(
                        at,
                        pos,
                        format!("policies.files: cannot read {}: {e}", f.display()),
                    ),
                    None => Diagnostic::error(&f, (1, 1), format!("cannot read policy file: {e}")),
                }),
            }
        }
    }
    (out, diags)
}

/// Loads and validates the policy set of `config` (`extra` files replace the configured ones
/// when given).
///
/// # Errors
/// Every diagnostic, when any file cannot be read or any error is found; an empty policy set.
pub fn load(config: &Config, extra: &[String]) -> Result<Loaded, Vec<Diagnostic>> {
    let at = config
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from("<embedded>"));
    let (entries, positions) = if extra.is_empty() {
        (&config.policy_files[..], &config.policy_files_at[..])
    } else {
        (extra, &[][..])
    };
    if entries.is_empty() {
        return Err(vec![Diagnostic::error(
            &at,
            (1, 1),
            "no policy files: add [policies] files = [\"policies/*.toml\"] (or \"builtin:default\") to the configuration",
        )]);
    }
    if let Some(d) = check_tier_count(config) {
        return Err(vec![d]);
    }
    let (srcs, mut diags) = sources(entries, &at, positions);
    if !diags.is_empty() {
        return Err(diags);
    }
    let borrowed: Vec<(String, &str)> = srcs
        .iter()
        .map(|(p, t)| (p.display().to_string(), t.as_str()))
        .collect();
    let pairs: Vec<(&str, &str)> = borrowed.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    let mut loaded = policies::load_from_strs(&pairs, &config.tier_specs()).map_err(|mut d| {
        diags.append(&mut d);
        diags
    })?;
    loaded.policy.currency.clone_from(&config.currency);
    Ok(loaded)
}

/// More tiers than policies support, at the first tier too many in the configuration (too many
/// tiers is the configuration's problem, not a policy file's).
pub(crate) fn check_tier_count(config: &Config) -> Option<Diagnostic> {
    let max = policies::load::MAX_TIERS;
    let n = config.tiers.len();
    (n > max).then(|| {
        Diagnostic::error(
            config.path.as_deref().unwrap_or(std::path::Path::new("<embedded>")),
            extra_tier_at(config.path.as_deref(), max),
            format!(
                "tiers: {n} tiers are configured; policies support at most {max}; remove {} of them",
                n - max
            ),
        )
    })
}

/// Where the tier after the first `allowed` is written in the configuration file: the line of its
/// `[tiers.NAME]` table, else of the `[tiers]` table, else the file's start.
fn extra_tier_at(path: Option<&std::path::Path>, allowed: usize) -> (usize, usize) {
    let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return (1, 1);
    };
    let mut names: Vec<&str> = Vec::new();
    let mut tiers_table = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with("[[") {
            continue;
        }
        let Some(inner) = line.strip_prefix('[').and_then(|l| l.split(']').next()) else {
            continue;
        };
        let inner = inner.trim();
        if inner == "tiers" {
            tiers_table.get_or_insert((i + 1, 1));
        } else if let Some(rest) = inner.strip_prefix("tiers.") {
            // `[tiers.NAME]`, or a sub-table `[tiers.NAME.options]` of a tier seen or not.
            let name = rest.split('.').next().unwrap_or(rest).trim();
            if !names.contains(&name) {
                names.push(name);
                if names.len() == allowed + 1 {
                    return (i + 1, 1);
                }
            }
        }
    }
    tiers_table.unwrap_or((1, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_names_its_toml_files_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("policies.d");
        std::fs::create_dir_all(d.join("old.toml")).unwrap(); // a folder, not a file
        for f in ["b.toml", "a.toml", "notes.txt", ".a.toml"] {
            std::fs::write(d.join(f), "").unwrap();
        }
        let shown = |files: Vec<PathBuf>| -> Vec<String> {
            files
                .iter()
                .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        for written in [d.display().to_string(), format!("{}/", d.display())] {
            assert_eq!(shown(expand(&written).unwrap()), ["a.toml", "b.toml"]);
        }
        // A broken link is kept, so that reading it fails loudly (a pins file must not vanish).
        std::os::unix::fs::symlink(d.join("gone.toml"), d.join("c.toml")).unwrap();
        assert_eq!(
            shown(expand(&d.display().to_string()).unwrap()),
            ["a.toml", "b.toml", "c.toml"]
        );
        // A folder whose name holds glob characters is still a folder.
        let odd = dir.path().join("pol[1]");
        std::fs::create_dir_all(&odd).unwrap();
        std::fs::write(odd.join("p.toml"), "").unwrap();
        assert_eq!(
            shown(expand(&odd.display().to_string()).unwrap()),
            ["p.toml"]
        );
        // A folder without policy files names none (the caller says it matches no file).
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        assert!(expand(&empty.display().to_string()).unwrap().is_empty());
    }

    #[test]
    fn the_bundled_policy_loads_on_the_embedded_tiers_and_its_tests_pass() {
        let loaded = load(&Config::embedded(), &[]).unwrap_or_else(|d| panic!("{}", d[0]));
        assert!(loaded.policy.rules.len() >= 5);
        let outcomes = policies::run_tests(&loaded);
        assert!(!outcomes.is_empty());
        for o in outcomes {
            assert!(o.passed, "{o}");
        }
    }

    #[test]
    fn the_policy_shows_money_in_the_configured_currency() {
        let mut config = Config::embedded();
        assert_eq!(load(&config, &[]).unwrap().policy.currency, "USD");
        config.currency = "EUR".into();
        assert_eq!(load(&config, &[]).unwrap().policy.currency, "EUR");
    }

    #[test]
    fn a_configured_file_that_is_missing_is_an_error_at_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tierd.toml");
        std::fs::write(
            &path,
            "[tiers.onprem]\nurl = \"file:///x\"\n[policies]\nfiles = [\"nope.toml\", \"p/*.toml\"]\n",
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        let err: Vec<String> = load(&config, &[])
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let at = path.display();
        assert_eq!(err.len(), 2, "{err:?}");
        assert!(
            err[0].starts_with(&format!("{at}:4:10: error: policies.files: cannot read ")),
            "{}",
            err[0]
        );
        assert!(
            err[1].starts_with(&format!("{at}:4:23: error: policies.files: \"")),
            "{}",
            err[1]
        );
        assert!(err[1].ends_with("matches no file"), "{}", err[1]);
    }

    #[test]
    fn more_tiers_than_policies_support_is_an_error_at_the_first_tier_too_many() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tierd.toml");
        let mut text = String::new();
        for i in 0..66 {
            text.push_str(&format!("[tiers.t{i}]\nurl = \"memory://\"\n\n"));
        }
        text.push_str("[policies]\nfiles = [\"builtin:default\"]\n");
        std::fs::write(&path, &text).unwrap();
        let config = Config::load(&path).unwrap_or_else(|d| panic!("{}", d[0]));
        let err: Vec<String> = load(&config, &[])
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        // The 65th tier's table is on line 64 * 3 + 1.
        assert_eq!(
            err,
            vec![format!(
                "{}:193:1: error: tiers: 66 tiers are configured; policies support at most 64; remove 2 of them",
                path.display()
            )]
        );
        // Tiers written inside one [tiers] table: at that table.
        let mut text = String::from("# tiers\n[tiers]\n");
        for i in 0..65 {
            text.push_str(&format!("t{i} = {{ url = \"memory://\" }}\n"));
        }
        assert_eq!(
            extra_tier_at(Some(&write(&dir, "inline.toml", &text)), 64),
            (2, 1)
        );
        // Exactly 64 tiers pass this check.
        assert_eq!(extra_tier_at(None, 64), (1, 1));
    }

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_move_into_the_configured_vault_is_refused_as_the_service_loads_it() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[[rule]]\nid = \"v\"\nscope = { bucket = \"media\" }\naction = { kind = \"move\", to = \"vault\" }\n";
        let file = write(&dir, "p.toml", text);
        // The embedded tiers: `vault` has the vault role (the service's start and reload load so).
        let err = load(&Config::embedded(), &[file.display().to_string()]).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].to_string().starts_with(&format!(
                "{}:4:32: error: rule \"v\": action.to = \"vault\" is a vault (role = \"vault\")",
                file.display()
            )),
            "{}",
            err[0]
        );
        // A tier named vault that is configured as a data tier may be a move's destination.
        let mut config = Config::embedded();
        config.roles[2] = crate::config::Role::Data;
        assert!(load(&config, &[file.display().to_string()]).is_ok());
    }

    #[test]
    fn a_missing_file_is_a_located_error() {
        let err = load(&Config::embedded(), &["/nonexistent/p.toml".into()]).unwrap_err();
        assert!(
            err[0]
                .to_string()
                .starts_with("/nonexistent/p.toml:1:1: error: cannot read policy file"),
            "{}",
            err[0]
        );
    }
}
