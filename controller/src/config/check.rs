//! The checks of one part of the configuration each: tiers and their options, durations, log
//! sources, and the paths relative to the configuration's folder.

use super::*;

pub(super) fn check_tiers(
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
    for (i, (pos, (t, ..))) in tiers.iter().enumerate() {
        for (_, (earlier, ..)) in &tiers[..i] {
            if let Some(how) = overlap(earlier, t) {
                diags.push(Diagnostic::error(
                    path,
                    policies::diag::line_col(text, *pos),
                    format!(
                        "tier {:?}: its url {how} tier {:?}'s ({}); two tiers must not share objects, or a move between them would lose track of the object: give each its own folder, bucket or prefix",
                        t.name,
                        earlier.name,
                        crate::tier::redact_url(&earlier.url)
                    ),
                ));
            }
        }
    }
    tiers.into_iter().map(|(_, t)| t).collect()
}

/// Whether tier `b`'s objects would be `a`'s too: the same folder or bucket and prefix, or one
/// inside the other (on the same S3 endpoint). `memory://` tiers are each a store of their own.
fn overlap(a: &TierConfig, b: &TierConfig) -> Option<&'static str> {
    let place = |t: &TierConfig| -> Option<(String, Option<String>, Vec<String>)> {
        let (scheme, rest) = t.url.split_once("://")?;
        if scheme == "memory" {
            return None;
        }
        let endpoint = t
            .options
            .iter()
            .find(|(k, _)| matches!(k.as_str(), "endpoint" | "aws_endpoint" | "aws_endpoint_url"))
            .map(|(_, v)| v.trim_end_matches('/').to_string());
        let parts = rest
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_string)
            .collect();
        Some((scheme.to_string(), endpoint, parts))
    };
    let (sa, ea, pa) = place(a)?;
    let (sb, eb, pb) = place(b)?;
    if sa != sb || ea != eb {
        return None;
    }
    if pa == pb {
        Some("is the same place as")
    } else if pb.starts_with(&pa) {
        Some("lies inside")
    } else if pa.starts_with(&pb) {
        Some("holds")
    } else {
        None
    }
}

/// What is wrong with a tier's `options` for its URL's scheme: S3 options the client does not
/// know (caught here, not only by the live check of `tierd check`), or options on a `file://` or
/// `memory://` tier, which takes none.
pub(super) fn option_problems(scheme: &str, options: &BTreeMap<String, String>) -> Vec<String> {
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
pub(super) fn duration(
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
pub(super) fn check_source(s: &str) -> Result<(), String> {
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

pub(super) fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

pub(super) fn resolve_source(base: &Path, s: &str) -> String {
    if let Some(p) = s.strip_prefix("file://") {
        // As a tier's `file://relative`: against the configuration's folder.
        format!("file://{}", resolve(base, p).display())
    } else if s.contains("://") || s.starts_with("builtin:") {
        s.to_string()
    } else {
        resolve(base, s).display().to_string()
    }
}
