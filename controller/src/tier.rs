//! Tiers and log sources as object stores, built from URLs.
//!
//! Everything that touches storage goes through `Arc<dyn ObjectStore>`: planner code never sees a
//! concrete backend, and one conformance suite runs against each of them (`tests/`). An S3 tier
//! also hands out its store's `MultipartStore` ([`TierStores::uploads`]), whose uploads have ids
//! that the executor journals.

use std::collections::BTreeMap;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::multipart::MultipartStore;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;

use crate::config::{TierConfig, is_secret_option};

/// Errors building a store. Messages never contain option values that look secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("{url}: {message}")]
    Invalid { url: String, message: String },
    #[error("{url}: {source}")]
    Backend {
        url: String,
        #[source]
        source: object_store::Error,
    },
}

/// A store and the prefix inside it that the URL addressed (`s3://bucket/logs/` → `logs/`).
#[derive(Debug, Clone)]
pub struct StoreLocation {
    pub store: Arc<dyn ObjectStore>,
    pub prefix: StorePath,
    /// The prefix as the URL wrote it (`logs/`, `logs/2026-`): whether it ends in `/` tells a
    /// folder from the start of names, which `prefix` cannot.
    pub listing: String,
    /// The URL as given, safe to print: [`open_url`] refuses URLs that carry credentials.
    pub url: String,
}

/// What a URL carries that must never be printed, if anything: a password (`user:pw@host`), or
/// a signature or token in its query (a pre-signed URL, an Azure SAS). Such URLs are refused,
/// not redacted, since a store's errors echo its URL, and tierd prints store errors.
pub fn url_secret(url: &str) -> Option<&'static str> {
    let (_, rest) = url.split_once("://")?;
    if userinfo_len(rest).is_some() {
        return Some("a user name or password");
    }
    let (_, params) = split_params(rest);
    let secret_param = params.split(QUERY_SEPARATORS).any(is_secret_param);
    secret_param.then_some("a signature or token")
}

/// What separates a query's parameters: `&`, and `;` (also as in an HTML-escaped `&amp;`), and
/// the fragment's `#` and a second `?` (parameters are read there too).
const QUERY_SEPARATORS: [char; 4] = ['&', ';', '#', '?'];

/// A URL's rest (after `://`) split before its parameters: the query and the fragment, from the
/// first `?` or `#` on (without it).
fn split_params(rest: &str) -> (&str, &str) {
    match rest.find(['?', '#']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    }
}

/// Whether the query parameter `kv` (`key=value`) authorises a request: one of
/// [`SECRET_QUERY`], or a name that says it (`client_secret`, `api_key`, `X-Foo-Token`), once
/// percent-decoded (`X%2DAmz%2DSignature`).
fn is_secret_param(kv: &str) -> bool {
    let key = percent_decoded(kv.split('=').next().unwrap_or("")).to_ascii_lowercase();
    SECRET_QUERY.contains(&key.as_str())
        || [
            "secret",
            "token",
            "password",
            "signature",
            "credential",
            "apikey",
            "api_key",
            "api-key",
        ]
        .iter()
        .any(|w| key.contains(w))
        || matches!(key.as_str(), "key" | "code" | "auth" | "authorization") && kv.contains('=')
}

/// `s` with its `%XX` escapes decoded (others kept as written).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a URL carrying a secret is refused (`carries a signature or token, which tierd would
/// print ...`), or `None` for a URL without one; the refusals of tiers, sources and stores say
/// it the same way, each with where credentials go instead.
pub fn refused_secret(url: &str) -> Option<String> {
    url_secret(url)
        .map(|what| format!("carries {what}, which tierd would print in its errors and logs"))
}

/// The length of the user information at the start of a URL's `rest` (after `://`), up to and
/// without its `@`, if it has any. A password may hold `/`, `?` or `#` (AWS secret keys do), so
/// the information is not cut at the first `/`: the text before the first `@` is user
/// information when it holds no `/` at all (`user@host`), or a `:` followed by something other
/// than a port (`key:se/cret@bucket`, not `host:9000/a@b`).
fn userinfo_len(rest: &str) -> Option<usize> {
    let at = rest.find('@')?;
    let before = &rest[..at];
    if !before.contains('/') {
        return Some(at);
    }
    let (_, after_colon) = before.split_once(':')?;
    let port = after_colon.split('/').next().unwrap_or("");
    let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (!is_port).then_some(at)
}

/// Query parameters that authorise a request (S3 pre-signed URLs, Azure SAS, Google signed
/// URLs, bearer tokens), lower case.
const SECRET_QUERY: [&str; 12] = [
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "sig",
    "signature",
    "token",
    "access_token",
    "awsaccesskeyid",
    "password",
    "secret",
];

/// Why an option is refused when its value is a URL carrying a secret (`endpoint`,
/// `metadata_endpoint`, a proxy): a store's errors echo it as they echo the tier's own URL.
pub fn refused_option(key: &str, value: &str) -> Option<String> {
    if !value.contains("://") {
        return None;
    }
    refused_secret(value).map(|why| {
        format!(
            "option {key} = {:?} {why}; give credentials as options or in the environment instead",
            redact_url(value)
        )
    })
}

/// Why the environment an S3 store is built from is refused: an `AWS_*` variable whose value
/// is a URL carrying a secret (`AWS_ENDPOINT_URL=http://user:pw@host`), which the store's
/// errors would echo as they echo an `endpoint` option. `vars` is the environment.
pub fn refused_environment(vars: impl IntoIterator<Item = (String, String)>) -> Option<String> {
    vars.into_iter()
        .filter(|(k, v)| k.starts_with("AWS_") && v.contains("://"))
        .find_map(|(k, v)| {
            refused_secret(&v).map(|why| {
                format!(
                    "the environment variable {k}={:?} {why}; take the user name and password out of it and give credentials as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                    redact_url(&v)
                )
            })
        })
}

/// `url` with what [`url_secret`] finds replaced by `***`, for the message that refuses it (a
/// plain path, without `://`, is returned as it is).
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (user, rest) = match userinfo_len(rest) {
        Some(at) => ("***@", &rest[at + 1..]),
        None => ("", rest),
    };
    // The parameters [`url_secret`] finds, split the same way, with their values masked and
    // their separators kept.
    let (path, params) = split_params(rest);
    let masked: String = params
        .split_inclusive(QUERY_SEPARATORS)
        .map(|piece| {
            let kv = piece.trim_end_matches(QUERY_SEPARATORS);
            match kv.split_once('=') {
                Some((k, _)) if is_secret_param(kv) => format!("{k}=***{}", &piece[kv.len()..]),
                _ => piece.to_string(),
            }
        })
        .collect();
    // The `?` or `#` between the path and the parameters, if any.
    let opens = &rest[path.len()..rest.len() - params.len()];
    format!("{scheme}://{user}{path}{opens}{masked}")
}

/// A key (or any `/`-separated name) as a store path, byte for byte. `StorePath::from`
/// percent-encodes `%`, non-ASCII and a few other characters into the path itself, so `café` or
/// `100%.txt` named another object (on a filesystem, a file called `caf%C3%A9`). Names a store
/// path cannot hold as they are (an empty segment as in `a//b`, `.` or `..`, control
/// characters) keep that encoding: no listing yields them, so no move or snapshot meets them.
pub fn store_path(name: &str) -> StorePath {
    StorePath::parse(name).unwrap_or_else(|_| StorePath::from(name))
}

/// Builds a store for `url` without a root prefix: `s3://bucket/logs/2026-` gives the bucket's
/// store and the listing prefix `logs/2026-` (which need not be a "folder").
///
/// `file://DIR` stores are rooted at DIR (created if missing). For `s3://` the builder starts from
/// the environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ENDPOINT_URL`,
/// `AWS_REGION`, `AWS_ALLOW_HTTP`, ...) and `options` override it (`endpoint`, `region`,
/// `allow_http`, `access_key_id`, ...).
///
/// # Errors
/// An unsupported scheme, an unknown option, or a backend that refuses its configuration.
pub fn open_url(
    url: &str,
    options: &BTreeMap<String, String>,
) -> Result<StoreLocation, StoreError> {
    open_location(url, options).map(|(loc, _)| loc)
}

/// [`open_url`], and for an `s3://` URL the S3 store itself (the same client), whose multipart
/// API [`open_tier_stores`] hands out.
fn open_location(
    url: &str,
    options: &BTreeMap<String, String>,
) -> Result<(StoreLocation, Option<AmazonS3>), StoreError> {
    let invalid = |message: String| StoreError::Invalid {
        url: redact_url(url),
        message,
    };
    if let Some(why) = refused_secret(url) {
        return Err(invalid(format!(
            "the URL {why}; give credentials as options or in the environment instead \
             (docs/configuration.md)"
        )));
    }
    if let Some(why) = options.iter().find_map(|(k, v)| refused_option(k, v)) {
        return Err(invalid(why));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("not a URL; expected scheme://location".into()))?;
    let mut s3_store = None;
    let (store, prefix): (Arc<dyn ObjectStore>, String) = match scheme {
        "file" => {
            std::fs::create_dir_all(rest)
                .map_err(|e| invalid(format!("cannot create the folder: {e}")))?;
            let fs =
                LocalFileSystem::new_with_prefix(rest).map_err(|source| StoreError::Backend {
                    url: url.to_string(),
                    source,
                })?;
            // Folders a move empties stay, as `mv` and rclone leave them: a bucket's folder
            // may be what another program expects to find (a bucket of a filesystem-backed
            // object store), and removing it would remove the bucket.
            (Arc::new(fs), String::new())
        }
        "memory" => (Arc::new(InMemory::new()), rest.to_string()),
        "s3" => {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let env = std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
            if let Some(why) = refused_environment(env) {
                return Err(invalid(why));
            }
            // A store that hangs costs one request's `timeout` (30 s; an option), retried for 30 s
            // at most, not object_store's 3 minutes: tierd's own attempts (5 per move, each
            // logged) are the retries that count, and a pass must not wait minutes per request.
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(object_store::RetryConfig {
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(30),
                    ..object_store::RetryConfig::default()
                });
            // A vault bucket with S3 Object Lock default retention refuses uploads without a
            // checksum: with `checksum_algorithm = "sha256"`, object_store sends the checksum,
            // and this header says so as the AWS SDKs do (client options first: setting them
            // later would reset the ones below).
            let sha256 = options.iter().any(|(k, v)| {
                k.ends_with("checksum_algorithm") && v.eq_ignore_ascii_case("sha256")
            });
            if sha256 {
                let mut h = http::HeaderMap::new();
                h.insert(
                    "x-amz-sdk-checksum-algorithm",
                    http::HeaderValue::from_static("SHA256"),
                );
                b = b.with_client_options(
                    object_store::ClientOptions::new().with_default_headers(h),
                );
            }
            let mut allow_http = None;
            for (k, v) in options {
                if k == "allow_http" || k == "aws_allow_http" {
                    allow_http = Some(v.eq_ignore_ascii_case("true"));
                    continue;
                }
                let key = s3_option(k).map_err(invalid)?;
                b = b.with_config(key, v.clone());
            }
            if let Some(a) = allow_http {
                b = b.with_allow_http(a);
            }
            // tierd never overwrites by copying: a copy that would replace an object must fail.
            // Plain CopyObject with If-None-Match is not honoured by many S3-compatible servers;
            // the multipart-copy path is.
            if !options.keys().any(|k| k.ends_with("copy_if_not_exists")) {
                b = b.with_config(AmazonS3ConfigKey::CopyIfNotExists, "multipart");
            }
            // A multipart upload completes only where the key is still free
            // ([`crate::create_only`]).
            b = b.with_http_connector(crate::create_only::CreateOnlyConnector);
            let s3 = b.build().map_err(|source| StoreError::Backend {
                url: url.to_string(),
                source: scrub(source, options),
            })?;
            s3_store = Some(s3.clone());
            (Arc::new(s3), prefix.to_string())
        }
        "gs" | "az" | "http" | "https" => {
            let parsed =
                url::Url::parse(url).map_err(|e| invalid(format!("not a valid URL: {e}")))?;
            let (store, path) = object_store::parse_url_opts(
                &parsed,
                options.iter().map(|(k, v)| (k.clone(), v.clone())),
            )
            .map_err(|source| StoreError::Backend {
                url: url.to_string(),
                source: scrub(source, options),
            })?;
            // A trailing `/` marks a folder (see `StoreLocation::listing`); the parsed path drops it.
            let slash = if parsed.path().ends_with('/') && !path.as_ref().is_empty() {
                "/"
            } else {
                ""
            };
            (Arc::from(store), format!("{path}{slash}"))
        }
        other => {
            return Err(invalid(format!(
                "unsupported scheme {other:?}; expected one of: file, memory, s3, gs, az, http, https"
            )));
        }
    };
    let loc = StoreLocation {
        store,
        prefix: store_path(prefix.trim_end_matches('/')),
        listing: prefix.trim_start_matches('/').to_string(),
        url: url.to_string(),
    };
    Ok((loc, s3_store))
}

/// A tier's store, and the same store's multipart API when its uploads have ids that tierd can
/// journal and abort later (an S3 tier).
#[derive(Clone)]
pub struct TierStores {
    /// The tier's store, rooted at the tier URL's prefix.
    pub store: Arc<dyn ObjectStore>,
    /// `store`'s multipart API, addressing the same paths. Only an S3 tier has one: an
    /// incomplete upload there is invisible and billed until it is aborted by its id, so tierd
    /// uploads through this and journals the id. `None` elsewhere: a local filesystem's partial
    /// upload is a staging file that recovery finds by its name, and a memory store's is gone
    /// with the process.
    pub uploads: Option<Arc<dyn MultipartStore>>,
}

impl std::fmt::Debug for TierStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TierStores")
            .field("store", &self.store)
            .field("uploads", &self.uploads.is_some())
            .finish()
    }
}

/// Opens a tier: its store, rooted at the tier URL's prefix.
///
/// # Errors
/// See [`open_url`].
pub fn open_tier(tier: &TierConfig) -> Result<Arc<dyn ObjectStore>, StoreError> {
    Ok(open_tier_stores(tier)?.store)
}

/// Opens a tier: its store, rooted at the tier URL's prefix, and for an S3 tier the same
/// client's multipart API under the same prefix.
///
/// # Errors
/// See [`open_url`].
pub fn open_tier_stores(tier: &TierConfig) -> Result<TierStores, StoreError> {
    let (loc, s3) = open_location(&tier.url, &tier.options)?;
    if loc.prefix.as_ref().is_empty() {
        let uploads = s3.map(|s| Arc::new(s) as Arc<dyn MultipartStore>);
        return Ok(TierStores {
            store: loc.store,
            uploads,
        });
    }
    let uploads =
        s3.map(|s| Arc::new(PrefixStore::new(s, loc.prefix.clone())) as Arc<dyn MultipartStore>);
    Ok(TierStores {
        store: Arc::new(PrefixStore::new(loc.store, loc.prefix)),
        uploads,
    })
}

/// The S3 client option `key` names (`allow_http` is taken apart by [`open_url`]), or the
/// message that refuses it.
///
/// # Errors
/// A key the S3 client does not know.
pub fn s3_option(key: &str) -> Result<AmazonS3ConfigKey, String> {
    key.parse().map_err(|_| {
        let near = policies::signals::near(key, S3_OPTIONS.to_vec());
        let hint = near
            .first()
            .map(|n| format!("did you mean `{n}`? "))
            .unwrap_or_default();
        format!(
            "unknown S3 option {key:?}; {hint}see the configuration reference for valid options"
        )
    })
}

/// The S3 options a "did you mean" may suggest: the short names the client takes (each also
/// with an `aws_` prefix), and `allow_http`, which tierd reads itself.
const S3_OPTIONS: [&str; 29] = [
    "access_key_id",
    "secret_access_key",
    "session_token",
    "region",
    "default_region",
    "endpoint",
    "allow_http",
    "bucket",
    "virtual_hosted_style_request",
    "metadata_endpoint",
    "unsigned_payload",
    "checksum_algorithm",
    "container_credentials_relative_uri",
    "container_credentials_full_uri",
    "container_authorization_token_file",
    "web_identity_token_file",
    "role_arn",
    "role_session_name",
    "endpoint_url",
    "endpoint_url_sts",
    "skip_signature",
    "copy_if_not_exists",
    "conditional_put",
    "disable_tagging",
    "request_payer",
    "server_side_encryption",
    "sse_kms_key_id",
    "sse_bucket_key_enabled",
    "token",
];

/// A store error's message with the causes its own message leaves out (`error sending
/// request` says nothing; `tcp connect error: Connection refused (os error 111)` does), each
/// after `: `, skipping a cause whose text the message already holds.
pub fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !t.is_empty() && !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    text
}

/// Whether a store error comes from the operating system refusing access (a `file://` tier's
/// folder owned by another user, a read-only filesystem): retrying will not help.
pub fn is_access_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            )
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Backend errors can echo configuration; make sure no secret option value survives in one.
fn scrub(err: object_store::Error, options: &BTreeMap<String, String>) -> object_store::Error {
    let text = err.to_string();
    let leaked = options
        .iter()
        .any(|(k, v)| is_secret_option(k) && !v.is_empty() && text.contains(v.as_str()));
    if leaked {
        object_store::Error::Generic {
            store: "tierd",
            source: "store configuration rejected (message withheld: it contained a secret)".into(),
        }
    } else {
        err
    }
}

/// Every configured tier, opened, with the object layout inside each.
///
/// An object `bucket/key` lives in a tier at `<url>/<bucket>/<key>`, or, when the tier's URL
/// contains `{bucket}` (e.g. `s3://{bucket}` for an S3 store whose buckets are the logical
/// buckets, or `s3://archive/{bucket}/`), at `<url with the bucket>/<key>`.
pub struct Tiers {
    tiers: BTreeMap<String, TierHandle>,
}

struct TierHandle {
    config: TierConfig,
    /// The store when the URL has no `{bucket}`.
    root: Option<TierStores>,
    /// Stores per bucket when it has.
    per_bucket: std::sync::Mutex<BTreeMap<String, TierStores>>,
}

impl std::fmt::Debug for Tiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.tiers.values().map(|t| &t.config))
            .finish()
    }
}

/// The placeholder for the logical bucket in a tier URL.
pub const BUCKET_PLACEHOLDER: &str = "{bucket}";

impl Tiers {
    /// Opens every tier of the configuration (per-bucket stores open on first use).
    ///
    /// # Errors
    /// A tier whose URL or options are not valid.
    pub fn open(tiers: &[TierConfig]) -> Result<Tiers, StoreError> {
        let mut map = BTreeMap::new();
        for t in tiers {
            let root = if t.url.contains(BUCKET_PLACEHOLDER) {
                None
            } else {
                Some(open_tier_stores(t)?)
            };
            map.insert(
                t.name.clone(),
                TierHandle {
                    config: t.clone(),
                    root,
                    per_bucket: Default::default(),
                },
            );
        }
        Ok(Tiers { tiers: map })
    }

    /// Tiers from ready stores (tests wrap stores to inject faults); objects live under
    /// `<bucket>/<key>` in each.
    pub fn from_stores(stores: Vec<(String, Arc<dyn ObjectStore>)>) -> Tiers {
        let tiers = stores
            .into_iter()
            .map(|(name, store)| {
                let config = TierConfig {
                    name: name.clone(),
                    url: format!("memory://{name}"),
                    min_storage_days: 0,
                    options: BTreeMap::new(),
                };
                (
                    name,
                    TierHandle {
                        config,
                        root: Some(TierStores {
                            store,
                            uploads: None,
                        }),
                        per_bucket: Default::default(),
                    },
                )
            })
            .collect();
        Tiers { tiers }
    }

    /// Gives the tier `tier` of [`Tiers::from_stores`] its store's multipart API (see
    /// [`TierStores::uploads`]); it must address the same paths as the store. An unknown tier
    /// is left as it is.
    #[must_use]
    pub fn with_uploads(mut self, tier: &str, uploads: Arc<dyn MultipartStore>) -> Tiers {
        if let Some(root) = self.tiers.get_mut(tier).and_then(|h| h.root.as_mut()) {
            root.uploads = Some(uploads);
        }
        self
    }

    /// Tier names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.tiers.keys().cloned().collect()
    }

    /// Whether a tier of this name exists.
    pub fn contains(&self, tier: &str) -> bool {
        self.tiers.contains_key(tier)
    }

    /// The store holding a bucket's objects on a tier, and the prefix of the bucket inside it.
    ///
    /// # Errors
    /// An unknown tier, or a per-bucket store that cannot be opened.
    pub fn bucket(
        &self,
        tier: &str,
        bucket: &str,
    ) -> Result<(Arc<dyn ObjectStore>, StorePath), StoreError> {
        let (stores, prefix) = self.stores(tier, bucket)?;
        Ok((stores.store, prefix))
    }

    /// The multipart API of the store [`Tiers::bucket`] gives, addressing the same paths, when
    /// its uploads have ids (an S3 tier; see [`TierStores::uploads`]).
    ///
    /// # Errors
    /// See [`Tiers::bucket`].
    pub fn uploads(
        &self,
        tier: &str,
        bucket: &str,
    ) -> Result<Option<Arc<dyn MultipartStore>>, StoreError> {
        Ok(self.stores(tier, bucket)?.0.uploads)
    }

    /// The stores holding a bucket's objects on a tier, and the prefix of the bucket inside.
    fn stores(&self, tier: &str, bucket: &str) -> Result<(TierStores, StorePath), StoreError> {
        let h = self.tiers.get(tier).ok_or_else(|| StoreError::Invalid {
            url: tier.to_string(),
            message: format!("unknown tier; known tiers: {}", self.names().join(", ")),
        })?;
        if let Some(root) = &h.root {
            return Ok((root.clone(), store_path(bucket)));
        }
        let mut cache = h
            .per_bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = cache.get(bucket) {
            return Ok((s.clone(), StorePath::default()));
        }
        let mut cfg = h.config.clone();
        cfg.url = cfg.url.replace(BUCKET_PLACEHOLDER, bucket);
        let stores = open_tier_stores(&cfg)?;
        cache.insert(bucket.to_string(), stores.clone());
        Ok((stores, StorePath::default()))
    }

    /// Whether the tier's URL names one store per bucket (`{bucket}`): there, a bucket the store
    /// does not have is one the tier never held, not a misconfigured tier.
    pub fn per_bucket(&self, tier: &str) -> bool {
        self.tiers.get(tier).is_some_and(|h| h.root.is_none())
    }

    /// The logical buckets a tier holds: the folders at its root (tierd's own, such as
    /// `.tierd-probe`, left out). Empty for a tier whose URL names one store per bucket
    /// (`{bucket}`): such a tier cannot be asked which buckets it has.
    ///
    /// # Errors
    /// An unknown tier, or a listing that fails.
    pub async fn buckets(&self, tier: &str) -> Result<Vec<String>, StoreError> {
        let h = self.tiers.get(tier).ok_or_else(|| StoreError::Invalid {
            url: tier.to_string(),
            message: format!("unknown tier; known tiers: {}", self.names().join(", ")),
        })?;
        let Some(root) = &h.root else {
            return Ok(Vec::new());
        };
        let listed = root
            .store
            .list_with_delimiter(None)
            .await
            .map_err(|source| StoreError::Backend {
                url: format!("tier {tier}"),
                source,
            })?;
        Ok(listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .filter(|b| !b.starts_with('.'))
            .collect())
    }

    /// The store and path of one object on a tier.
    ///
    /// # Errors
    /// See [`Tiers::bucket`].
    pub fn object(
        &self,
        tier: &str,
        bucket: &str,
        key: &str,
    ) -> Result<(Arc<dyn ObjectStore>, StorePath), StoreError> {
        let (store, prefix) = self.bucket(tier, bucket)?;
        Ok((store, join(&prefix, key)))
    }
}

/// `prefix` + `/` + `key` as a store path (an empty prefix gives the key itself).
pub fn join(prefix: &StorePath, key: &str) -> StorePath {
    if prefix.as_ref().is_empty() {
        store_path(key)
    } else {
        store_path(&format!("{}/{}", prefix.as_ref(), key))
    }
}

/// The key of `path` relative to a bucket prefix.
pub fn strip(prefix: &StorePath, path: &StorePath) -> String {
    let p = path.as_ref();
    if prefix.as_ref().is_empty() {
        p.to_string()
    } else {
        p.strip_prefix(prefix.as_ref())
            .map(|r| r.trim_start_matches('/'))
            .unwrap_or(p)
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    #[test]
    fn an_aws_variable_holding_a_url_with_a_password_is_refused_masked() {
        let env = |pairs: &[(&str, &str)]| {
            refused_environment(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        };
        assert_eq!(
            env(&[
                ("PATH", "/usr/bin"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ENDPOINT_URL", "http://admin:pw@127.0.0.1:9000"),
            ])
            .as_deref(),
            Some(
                "the environment variable AWS_ENDPOINT_URL=\"http://***@127.0.0.1:9000\" carries a user name or password, which tierd would print in its errors and logs; take the user name and password out of it and give credentials as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            )
        );
        assert_eq!(env(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")]), None);
        assert_eq!(
            env(&[("HTTP_PROXY", "http://u:p@proxy:3128")]),
            None,
            "not read by the S3 builder"
        );
        assert!(env(&[("AWS_METADATA_ENDPOINT", "http://169.254.169.254/?token=abc")]).is_some());
    }

    #[test]
    fn objects_live_under_the_bucket_or_in_the_bucket_of_a_template() {
        let dir = tempfile::tempdir().unwrap();
        let t = |name: &str, url: String| TierConfig {
            name: name.into(),
            url,
            min_storage_days: 0,
            options: BTreeMap::new(),
        };
        let tiers = Tiers::open(&[
            t("flat", format!("file://{}/flat", dir.path().display())),
            t(
                "per",
                format!("file://{}/per-{{bucket}}", dir.path().display()),
            ),
        ])
        .unwrap();
        let (_, p) = tiers.object("flat", "photos", "a/b.jpg").unwrap();
        assert_eq!(p.as_ref(), "photos/a/b.jpg");
        let (_, p) = tiers.object("per", "photos", "a/b.jpg").unwrap();
        assert_eq!(p.as_ref(), "a/b.jpg");
        assert!(dir.path().join("per-photos").is_dir());
        let err = tiers.object("nope", "b", "k").unwrap_err().to_string();
        assert_eq!(err, "nope: unknown tier; known tiers: flat, per");
    }

    #[test]
    fn an_unknown_scheme_names_the_valid_ones() {
        let err = open_url("ftp://x/y", &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "ftp://x/y: unsupported scheme \"ftp\"; expected one of: file, memory, s3, gs, az, http, https"
        );
    }

    #[test]
    fn an_s3_url_gives_the_bucket_store_and_the_listing_prefix() {
        let mut o = BTreeMap::new();
        o.insert("endpoint".to_string(), "http://127.0.0.1:1".to_string());
        o.insert("allow_http".to_string(), "true".to_string());
        o.insert("region".to_string(), "us-east-1".to_string());
        let loc = open_url("s3://logs/photos/2026-", &o).unwrap();
        assert_eq!(loc.prefix.as_ref(), "photos/2026-");
        assert_eq!(loc.listing, "photos/2026-");
        let loc = open_url("s3://logs/photos/", &o).unwrap();
        assert_eq!(loc.prefix.as_ref(), "photos");
        assert_eq!(loc.listing, "photos/", "a folder keeps its slash");
        let loc = open_url("http://127.0.0.1:1/dav/logs/", &o).unwrap();
        assert_eq!(loc.listing, "dav/logs/");
    }

    #[test]
    fn keys_with_non_ascii_and_percent_signs_are_stored_under_their_own_names() {
        let dir = tempfile::tempdir().unwrap();
        let tiers = Tiers::open(&[TierConfig {
            name: "onprem".into(),
            url: format!("file://{}", dir.path().display()),
            min_storage_days: 0,
            options: BTreeMap::new(),
        }])
        .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        for key in ["albums/café/menu+prices.png", "pct/100%.txt", "a b/[1].txt"] {
            let (store, p) = tiers.object("onprem", "photos", key).unwrap();
            assert_eq!(p.as_ref(), format!("photos/{key}"), "the path is the key");
            rt.block_on(store.put(&p, object_store::PutPayload::from_static(b"x")))
                .unwrap();
            let on_disk = dir.path().join("photos").join(key);
            assert!(on_disk.is_file(), "{} is a file", on_disk.display());
        }
        // A name a path cannot hold as it is keeps object_store's encoding, not a panic.
        assert_eq!(store_path("a/./b").as_ref(), "a/%2E/b");
    }

    #[test]
    fn a_url_carrying_a_password_or_a_signature_is_refused_and_never_printed() {
        for (url, what, shown) in [
            (
                "https://alice:S3cretPW@dav.example/x/",
                "a user name or password",
                "https://***@dav.example/x/",
            ),
            (
                "https://b.s3.amazonaws.com/a.log?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=S3cretPW",
                "a signature or token",
                "https://b.s3.amazonaws.com/a.log?X-Amz-Credential=***&X-Amz-Signature=***",
            ),
            // Percent-encoded names, names that say what they hold, and the fragment.
            (
                "https://h/x?X%2DAmz%2DSignature=S3cretPW&X%2DAmz%2DCredential=AKIAEXAMPLE",
                "a signature or token",
                "https://h/x?X%2DAmz%2DSignature=***&X%2DAmz%2DCredential=***",
            ),
            (
                "https://h/x?client_secret=S3cretPW&api_key=S3cretPW&page=2",
                "a signature or token",
                "https://h/x?client_secret=***&api_key=***&page=2",
            ),
            (
                "https://h/x#X-Amz-Signature=S3cretPW",
                "a signature or token",
                "https://h/x#X-Amz-Signature=***",
            ),
            (
                "az://c/p?sv=2024-01-01&sig=S3cretPW",
                "a signature or token",
                "az://c/p?sv=2024-01-01&sig=***",
            ),
        ] {
            assert_eq!(url_secret(url), Some(what), "{url}");
            assert_eq!(redact_url(url), shown);
            let err = open_url(url, &BTreeMap::new()).unwrap_err().to_string();
            assert!(err.starts_with(shown), "{err}");
            assert!(
                !err.contains("S3cretPW") && !err.contains("AKIAEXAMPLE"),
                "{err}"
            );
        }
        // A password with `/` in it (AWS secret keys have them) is still a password.
        let aws = "s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY@bucket/p";
        assert_eq!(url_secret(aws), Some("a user name or password"));
        assert_eq!(redact_url(aws), "s3://***@bucket/p");
        assert_eq!(
            redact_url("https://alice:pa/ss@dav.example/x/"),
            "https://***@dav.example/x/"
        );
        assert_eq!(
            url_secret("https://bob@dav.example/x"),
            Some("a user name or password")
        );
        assert_eq!(
            url_secret("https://h/a.log?a=1&amp;X-Amz-Signature=S3cretPW"),
            Some("a signature or token")
        );
        // What is refused is masked in the refusal, whatever separates the parameters.
        for (url, shown) in [
            (
                "https://h/a.log?a=1&amp;X-Amz-Signature=S3cretPW",
                "https://h/a.log?a=1&amp;X-Amz-Signature=***",
            ),
            (
                "https://h/a.log?a=1;sig=S3cretPW;b=2",
                "https://h/a.log?a=1;sig=***;b=2",
            ),
        ] {
            assert_eq!(url_secret(url), Some("a signature or token"), "{url}");
            assert_eq!(redact_url(url), shown);
        }
        for plain in [
            "s3://bucket/user@example.com/f",
            "http://127.0.0.1:9000/logs/a@b.log",
            "s3://b/p/",
            "file:///srv/a@b",
            "https://h/x?versionId=3",
            "/var/log/a@b",
        ] {
            assert_eq!(url_secret(plain), None, "{plain}");
            assert_eq!(redact_url(plain), plain);
        }
    }

    #[test]
    fn only_an_s3_tier_hands_out_its_multipart_api() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = BTreeMap::new();
        o.insert("endpoint".to_string(), "http://127.0.0.1:1".to_string());
        o.insert("allow_http".to_string(), "true".to_string());
        o.insert("region".to_string(), "us-east-1".to_string());
        let t = |name: &str, url: String, options: &BTreeMap<String, String>| TierConfig {
            name: name.into(),
            url,
            min_storage_days: 0,
            options: options.clone(),
        };
        let none = BTreeMap::new();
        let tiers = Tiers::open(&[
            t("cloud", "s3://cold/archive/".into(), &o),
            t("per", "s3://{bucket}".into(), &o),
            t("local", format!("file://{}", dir.path().display()), &none),
            t("mem", "memory://".into(), &none),
        ])
        .unwrap();
        let has = |tier: &str| tiers.uploads(tier, "photos").unwrap().is_some();
        assert!(has("cloud") && has("per"));
        assert!(!has("local") && !has("mem"));
        let stores = open_tier_stores(&t("cloud", "s3://cold/archive/".into(), &o)).unwrap();
        assert_eq!(stores.store.to_string(), "PrefixObjectStore(archive)");
        assert!(
            format!("{stores:?}").ends_with("uploads: true }"),
            "{stores:?}"
        );
        let err = tiers.uploads("nope", "photos").err().unwrap().to_string();
        assert_eq!(
            err,
            "nope: unknown tier; known tiers: cloud, local, mem, per"
        );
        // Tiers built from ready stores get one only when given.
        let mem: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let given = Tiers::from_stores(vec![("a".into(), mem.clone()), ("b".into(), mem)])
            .with_uploads("b", Arc::new(InMemory::new()));
        assert!(given.uploads("a", "x").unwrap().is_none());
        assert!(given.uploads("b", "x").unwrap().is_some());
    }

    #[test]
    fn an_unknown_s3_option_is_an_error_naming_it() {
        let mut o = BTreeMap::new();
        o.insert("colour".to_string(), "red".to_string());
        let err = open_url("s3://b", &o).unwrap_err().to_string();
        assert!(err.contains("unknown S3 option \"colour\"; see"), "{err}");
        o.clear();
        o.insert("acess_key_id".to_string(), "a".to_string());
        let err = open_url("s3://b", &o).unwrap_err().to_string();
        assert!(
            err.contains("unknown S3 option \"acess_key_id\"; did you mean `access_key_id`? see"),
            "{err}"
        );
    }

    #[test]
    fn a_store_error_names_its_cause_and_an_access_refusal_is_told_apart() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        );
        let e = object_store::Error::Generic {
            store: "S3",
            source: Box::new(refused),
        };
        assert_eq!(
            with_causes(&e),
            "Generic S3 error: tcp connect error: Connection refused (os error 111)"
        );
        assert!(!is_access_refused(&e));
        let denied = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
        };
        assert!(is_access_refused(&denied));
        assert!(matches!(
            crate::executor::copy::CopyError::from_store(denied),
            crate::executor::copy::CopyError::Permanent(_)
        ));
    }

    #[test]
    fn every_s3_option_suggested_is_one_the_client_takes() {
        for name in S3_OPTIONS.iter().filter(|n| **n != "allow_http") {
            assert!(s3_option(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn an_option_whose_url_carries_a_password_is_refused_and_never_printed() {
        let options = BTreeMap::from([(
            "metadata_endpoint".to_string(),
            "http://user:S3cretPW@127.0.0.1:1".to_string(),
        )]);
        let e = open_url("s3://bucket/", &options).unwrap_err().to_string();
        assert!(!e.contains("S3cretPW"), "{e}");
        assert!(
            e.contains("option metadata_endpoint = \"http://***@127.0.0.1:1\" carries a user name or password"),
            "{e}"
        );
    }
}
