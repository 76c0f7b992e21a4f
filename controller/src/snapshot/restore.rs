//! Restoring a snapshot: [`plan_restore`] reads what is live where each object goes, then
//! [`Restore::apply`] writes what is missing or (with `overwrite`) differs — replacing an object
//! only when its current bytes were kept first ([`super::keep`]), so that a restore can be undone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::Serialize;

use super::{Created, ManifestEntry, SnapshotError, read_manifest};
use crate::executor::Executor;
use crate::executor::copy::{CopyError, Dest, Version, copy_verified, read_checksum};
use crate::journal::catalog::Entry;
use crate::journal::snapshots::SnapshotRow;
use crate::tier::{join, store_path};

/// Where and how to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Restore under this prefix instead of the original keys (`restored/` + key).
    pub to_prefix: Option<String>,
    /// The tier to write to; default: the restored key's tier in the catalog, else the
    /// original key's, else [`RestoreOptions::hot_tier`].
    pub tier: Option<String>,
    /// Where an object goes that neither `tier` nor the catalog places: the first data tier of
    /// the configuration (never a vault). `None`: the first tier by name.
    pub hot_tier: Option<String>,
    /// Replace objects that exist and differ (they are kept otherwise and reported).
    pub overwrite: bool,
    /// The restore's decision: the catalog names it as what put each restored object there.
    pub decision_id: Option<String>,
    /// Which of the snapshot's keys to restore (all when empty): the rest is neither written,
    /// replaced nor kept.
    pub only: KeyFilter,
}

/// The keys a restore is restricted to: those under any of `prefixes` and the exact `keys`
/// (the snapshot's keys, before `--to-prefix`). Empty: every key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyFilter {
    pub prefixes: Vec<String>,
    pub keys: BTreeSet<String>,
}

impl KeyFilter {
    /// No restriction: every key of the snapshot.
    pub fn is_all(&self) -> bool {
        self.prefixes.is_empty() && self.keys.is_empty()
    }

    /// Whether `key` is restored.
    pub fn admits(&self, key: &str) -> bool {
        self.is_all()
            || self.keys.contains(key)
            || self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
    }

    /// What a decision's reason says of the filter: ``, or ` restricted to the keys under
    /// "a/", "b/" and 3 keys (k1, k2, k3)`.
    pub fn describe(&self) -> String {
        if self.is_all() {
            return String::new();
        }
        let mut parts = Vec::new();
        if !self.prefixes.is_empty() {
            let quoted: Vec<String> = self.prefixes.iter().map(|p| format!("{p:?}")).collect();
            parts.push(format!("the keys under {}", quoted.join(", ")));
        }
        if !self.keys.is_empty() {
            let keys: Vec<String> = self.keys.iter().cloned().collect();
            let n = keys.len();
            parts.push(format!(
                "{n} {} ({})",
                if n == 1 { "key" } else { "keys" },
                listed(&keys)
            ));
        }
        format!(" restricted to {}", parts.join(" and "))
    }
}

/// What a restore did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreReport {
    /// Objects written (new ones and replaced ones).
    pub restored: u64,
    pub identical: u64,
    /// Keys that exist with other content and were left alone (no `overwrite`).
    pub conflicts: Vec<String>,
    /// Keys whose other content was replaced (`overwrite`), after it was kept in the vault.
    pub replaced: Vec<String>,
    /// Keys left alone with `overwrite`: they changed after their bytes were kept.
    pub changed: Vec<String>,
    /// Keys asked for by name ([`KeyFilter::keys`]) that the snapshot does not hold.
    pub missing: Vec<String>,
    pub bytes: u64,
}

impl RestoreReport {
    /// Counts `t`, whose place held no object when the restore was planned and holds one
    /// written by another client since: left as found. Without `--overwrite` a conflict (it
    /// exists with other content); with it, changed after what was to be replaced was kept.
    fn written_meanwhile(&mut self, t: &Target, opts: &RestoreOptions) {
        if opts.overwrite {
            self.changed.push(t.key.clone());
        } else {
            self.conflicts.push(t.key.clone());
        }
    }

    /// The restore decision's `why`: what was restored, replaced, already there and left alone.
    /// `kept`: the snapshot that holds what was replaced.
    pub fn why(&self, kept: Option<&str>) -> String {
        let mut parts = vec![format!(
            "{} restored ({} bytes), {} already identical",
            objects(self.restored as usize),
            self.bytes,
            self.identical
        )];
        if !self.replaced.is_empty() {
            parts.push(format!(
                "{} replaced with --overwrite ({}){}",
                objects(self.replaced.len()),
                listed(&self.replaced),
                kept.map_or(String::new(), |k| format!(
                    ", the bytes replaced kept in snapshot {k}"
                ))
            ));
        }
        if !self.conflicts.is_empty() {
            let (verb, pronoun) = if self.conflicts.len() == 1 {
                ("exists", "it")
            } else {
                ("exist", "they")
            };
            parts.push(format!(
                "{} kept: {pronoun} {verb} with other content ({})",
                objects(self.conflicts.len()),
                listed(&self.conflicts)
            ));
        }
        if !self.changed.is_empty() {
            parts.push(format!(
                "{} left as found: changed after the bytes to replace were kept ({})",
                objects(self.changed.len()),
                listed(&self.changed)
            ));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} asked for not in the snapshot ({})",
                objects(self.missing.len()),
                listed(&self.missing)
            ));
        }
        parts.join("; ")
    }
}

/// `1 object`, `N objects`.
pub fn objects(n: usize) -> String {
    if n == 1 {
        "1 object".to_string()
    } else {
        format!("{n} objects")
    }
}

/// The first few keys, and `...` after them.
pub fn listed(keys: &[String]) -> String {
    let shown: Vec<&str> = keys.iter().take(5).map(String::as_str).collect();
    format!(
        "{}{}",
        shown.join(", "),
        if keys.len() > 5 { ", ..." } else { "" }
    )
}

/// What is live where one object of the snapshot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    Absent,
    Identical,
    Differs,
}

/// One object of the snapshot and where it goes.
#[derive(Debug)]
struct Target {
    entry: ManifestEntry,
    key: String,
    tier: String,
    live: Live,
}

/// A restore planned: every object of the snapshot, where it goes and what is there now.
#[derive(Debug)]
pub struct Restore {
    pub snapshot: SnapshotRow,
    vstore: Arc<dyn ObjectStore>,
    vbase: Path,
    targets: Vec<Target>,
    /// Keys asked for by name that the manifest does not hold.
    missing: Vec<String>,
}

/// Plans a restore of snapshot `id`: reads its manifest and what is live where each object
/// `opts.only` admits goes. Nothing is written.
///
/// # Errors
/// Unknown snapshot, unreadable manifest, or a live object that cannot be read.
pub async fn plan_restore(
    ex: &Executor,
    id: &str,
    opts: &RestoreOptions,
) -> Result<Restore, SnapshotError> {
    let row = ex
        .journal()
        .snapshot(id)?
        .ok_or_else(|| SnapshotError::Unknown(id.to_string()))?;
    let (vstore, vbase) = ex.tiers().bucket(&row.vault, &row.bucket)?;
    let (manifest, _) = read_manifest(&vstore, &store_path(&row.manifest_path)).await?;
    let first_tier = match &opts.hot_tier {
        Some(t) => t.clone(),
        None => ex.tiers().names().into_iter().next().unwrap_or_default(),
    };
    let held: BTreeSet<&str> = manifest.objects.iter().map(|e| e.key.as_str()).collect();
    let missing = opts
        .only
        .keys
        .iter()
        .filter(|k| !held.contains(k.as_str()))
        .cloned()
        .collect();
    let mut targets = Vec::with_capacity(manifest.objects.len());
    for entry in manifest.objects {
        if !opts.only.admits(&entry.key) {
            continue;
        }
        let key = match &opts.to_prefix {
            Some(p) => format!("{p}{}", entry.key),
            None => entry.key.clone(),
        };
        let known = ex.journal().locate(&row.bucket, &key)?;
        // A copy under --to-prefix goes beside its original, wherever that is now.
        let original = match (&known, &opts.to_prefix) {
            (None, Some(_)) => ex.journal().locate(&row.bucket, &entry.key)?,
            _ => None,
        };
        let tier = opts
            .tier
            .clone()
            .or_else(|| known.or(original).map(|k| k.tier))
            .unwrap_or_else(|| first_tier.clone());
        let (dst, dst_path) = ex.tiers().object(&tier, &row.bucket, &key)?;
        let live = live(&dst, &dst_path, &entry)
            .await
            .map_err(|source| SnapshotError::Copy {
                key: key.clone(),
                source,
            })?;
        targets.push(Target {
            entry,
            key,
            tier,
            live,
        });
    }
    Ok(Restore {
        snapshot: row,
        vstore,
        vbase,
        targets,
        missing,
    })
}

/// What is at `path` now, against the snapshot's `entry`.
async fn live(
    dst: &Arc<dyn ObjectStore>,
    path: &Path,
    entry: &ManifestEntry,
) -> Result<Live, CopyError> {
    match read_checksum(dst, path).await {
        Ok((size, sum)) if size == entry.size && sum == entry.sha256 => Ok(Live::Identical),
        Ok(_) => Ok(Live::Differs),
        Err(CopyError::SourceChanged(_)) => Ok(Live::Absent),
        Err(other) => Err(other),
    }
}

impl Restore {
    /// The scope restored: the snapshot's prefix, under `to_prefix` when given.
    pub fn scope(&self, opts: &RestoreOptions) -> String {
        format!(
            "{}{}",
            opts.to_prefix.as_deref().unwrap_or(""),
            self.snapshot.prefix
        )
    }

    /// The live objects `overwrite` replaces, where they are now (what [`super::keep`] keeps):
    /// none without `overwrite`.
    pub fn to_replace(&self, opts: &RestoreOptions) -> Vec<Entry> {
        if !opts.overwrite {
            return Vec::new();
        }
        self.targets
            .iter()
            .filter(|t| t.live == Live::Differs)
            .map(|t| Entry {
                bucket: self.snapshot.bucket.clone(),
                key: t.key.clone(),
                tier: t.tier.clone(),
                size: 0,
                etag: None,
                checksum: None,
                since: String::new(),
                decision_id: None,
            })
            .collect()
    }

    /// Writes every object that is missing, and (with `overwrite`) every one that differs and
    /// whose current bytes `kept` holds, byte for byte, verified; the catalog then names
    /// `opts.decision_id` for each. An object that changed since it was kept is left alone.
    ///
    /// # Errors
    /// A copy that fails or does not match the manifest (nothing is replaced by it); an object
    /// to replace that `kept` does not hold ([`SnapshotError::NotKept`]). Objects restored
    /// before the failure stay restored (each is complete and verified).
    pub async fn apply(
        self,
        ex: &Executor,
        opts: &RestoreOptions,
        kept: Option<&Created>,
    ) -> Result<RestoreReport, SnapshotError> {
        let kept: BTreeMap<&str, &str> = kept
            .map(|c| {
                c.objects
                    .iter()
                    .map(|e| (e.key.as_str(), e.sha256.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let id = &self.snapshot.id;
        let mut report = RestoreReport {
            missing: self.missing.clone(),
            ..RestoreReport::default()
        };
        for t in &self.targets {
            let (dst, dst_path) = ex.tiers().object(&t.tier, &self.snapshot.bucket, &t.key)?;
            let copy_err = |source| SnapshotError::Copy {
                key: t.key.clone(),
                source,
            };
            match t.live {
                Live::Identical => {
                    report.identical += 1;
                    continue;
                }
                Live::Differs if !opts.overwrite => {
                    report.conflicts.push(t.key.clone());
                    continue;
                }
                Live::Absent | Live::Differs => {}
            }
            // What is there now: the bytes replaced must be the ones kept.
            let exists = match read_checksum(&dst, &dst_path).await {
                Ok((size, sum)) if size == t.entry.size && sum == t.entry.sha256 => {
                    report.identical += 1;
                    continue;
                }
                Ok((_, sum)) if t.live == Live::Differs => match kept.get(t.key.as_str()) {
                    Some(k) if *k == sum => true,
                    Some(_) => {
                        report.changed.push(t.key.clone());
                        continue;
                    }
                    None => return Err(SnapshotError::NotKept { key: t.key.clone() }),
                },
                // Written since the plan found no object there: left as found.
                Ok(_) => {
                    report.written_meanwhile(t, opts);
                    continue;
                }
                Err(CopyError::SourceChanged(_)) => false,
                Err(other) => return Err(copy_err(other)),
            };
            if !self.write(ex, t, (&dst, &dst_path), exists).await? {
                // Written by a client while the copy ran, where there was no object: left as
                // found, as one written before the copy began is.
                report.written_meanwhile(t, opts);
                continue;
            }
            let meta = dst
                .head(&dst_path)
                .await
                .map_err(|s| copy_err(CopyError::from_store(s)))?;
            ex.journal().upsert_entry(&Entry {
                bucket: self.snapshot.bucket.clone(),
                key: t.key.clone(),
                tier: t.tier.clone(),
                size: meta.size,
                etag: meta.e_tag,
                checksum: Some(t.entry.sha256.clone()),
                since: crate::decision::rfc3339(chrono::Utc::now()),
                decision_id: opts.decision_id.clone(),
            })?;
            if exists {
                report.replaced.push(t.key.clone());
            }
            report.restored += 1;
            report.bytes += t.entry.size;
            tracing::debug!(message = "Object restored.", snapshot = %id, key = %t.key, tier = %t.tier, replaced = exists);
        }
        Ok(report)
    }

    /// Writes one object: a verified copy beside the live object (or, when there is none, at
    /// its place), checked against the manifest before it replaces anything — a vault copy that
    /// does not match (tampered with, or rotted) must never overwrite live data. False when
    /// there was none and an object was written at its place meanwhile (nothing written).
    async fn write(
        &self,
        ex: &Executor,
        t: &Target,
        (dst, dst_path): (&Arc<dyn ObjectStore>, &Path),
        exists: bool,
    ) -> Result<bool, SnapshotError> {
        let id = &self.snapshot.id;
        let copy_err = |source| SnapshotError::Copy {
            key: t.key.clone(),
            source,
        };
        let version = Version {
            etag: None,
            size: t.entry.size,
        };
        let staged = store_path(&format!("{}.tierd-restore-{id}", dst_path.as_ref()));
        let target = if exists { &staged } else { dst_path };
        let uploads = ex.uploads(&t.tier, &self.snapshot.bucket)?;
        let dest = Dest::new(dst, target).with_uploads(uploads.as_ref());
        let blob = join(&self.vbase, &t.entry.blob);
        let tuning = crate::executor::copy::CopyTuning::default();
        let limits = crate::executor::limits::Limits::default();
        let written = match copy_verified(&self.vstore, &blob, version, dest, tuning, &limits).await
        {
            Ok(c) => c,
            // The create-only write found the place taken: another writer's object, kept.
            Err(CopyError::DestinationExists) if !exists => return Ok(false),
            Err(e) => {
                // A staged copy is ours; so is a copy written at a free key that then did
                // not verify (a copy that failed otherwise wrote nothing there).
                if exists || matches!(e, CopyError::Verify(_)) {
                    let _ = dst.delete(target).await;
                }
                return Err(copy_err(e));
            }
        };
        if written.checksum != t.entry.sha256 {
            // Written create-only just now: ours to remove.
            let _ = dst.delete(target).await;
            return Err(copy_err(CopyError::Verify(format!(
                "the vault copy's sha256 is {}, the manifest says {}; nothing was replaced; run `tierd snapshot verify {id}`",
                written.checksum, t.entry.sha256
            ))));
        }
        if exists {
            // Replace: a server-side copy of the verified staged object over the live one.
            let replaced = dst.copy(&staged, dst_path).await;
            let _ = dst.delete(&staged).await;
            replaced.map_err(|s| copy_err(CopyError::from_store(s)))?;
        }
        Ok(true)
    }
}

/// Restores snapshot `id` (plan, keep what it replaces as snapshot `keep_id`, apply): what the
/// CLI does, without its decisions.
///
/// # Errors
/// As [`plan_restore`], [`super::keep`] and [`Restore::apply`]; objects to replace without a
/// `keep_id` ([`SnapshotError::NotKept`]).
pub async fn restore(
    ex: &Executor,
    id: &str,
    opts: &RestoreOptions,
    keep_id: Option<&str>,
) -> Result<RestoreReport, SnapshotError> {
    let plan = plan_restore(ex, id, opts).await?;
    let replaced = plan.to_replace(opts);
    let kept = match (replaced.first(), keep_id) {
        (None, _) => None,
        (Some(_), Some(k)) => {
            let (vault, bucket) = (plan.snapshot.vault.clone(), plan.snapshot.bucket.clone());
            let scope = plan.scope(opts);
            Some(super::keep(ex, &vault, (&bucket, &scope), k, &replaced).await?)
        }
        (Some(e), None) => return Err(SnapshotError::NotKept { key: e.key.clone() }),
    };
    plan.apply(ex, opts, kept.as_ref()).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    /// An executor whose hot tier holds `photos/KEY` (its bytes: the key) for each of `keys`,
    /// and a snapshot `s1` of the bucket in the cold tier.
    async fn snapshotted(keys: &[&str]) -> (tempfile::TempDir, Executor) {
        let d = tempfile::tempdir().unwrap();
        let ex = crate::executor::test_executor(d.path());
        for key in keys {
            let (hot, p) = ex.tiers().object("hot", "photos", key).unwrap();
            hot.put(&p, PutPayload::from(key.as_bytes().to_vec()))
                .await
                .unwrap();
        }
        crate::snapshot::create_reporting(&ex, "cold", "photos", "", "s1")
            .await
            .unwrap();
        (d, ex)
    }

    #[tokio::test]
    async fn a_restore_restricted_to_keys_writes_only_those_and_reports_keys_the_snapshot_lacks() {
        let (d, ex) = snapshotted(&["a.txt", "b/c.txt", "d.txt"]).await;
        let opts = RestoreOptions {
            to_prefix: Some("r/".into()),
            tier: Some("hot".into()),
            only: KeyFilter {
                prefixes: vec!["b/".into()],
                keys: ["a.txt".to_string(), "gone.txt".to_string()].into(),
            },
            ..RestoreOptions::default()
        };
        let report = restore(&ex, "s1", &opts, None).await.unwrap();
        assert_eq!(
            (report.restored, report.missing.clone()),
            (2, vec!["gone.txt".to_string()])
        );
        assert!(d.path().join("hot/photos/r/a.txt").exists());
        assert!(d.path().join("hot/photos/r/b/c.txt").exists());
        assert!(!d.path().join("hot/photos/r/d.txt").exists());
        assert!(
            report
                .why(None)
                .ends_with("; 1 object asked for not in the snapshot (gone.txt)")
        );
    }

    #[tokio::test]
    async fn an_object_written_where_a_restore_writes_is_kept_and_reported_as_a_conflict() {
        let (d, ex) = snapshotted(&["a.jpg"]).await;
        let opts = RestoreOptions {
            to_prefix: Some("r/".into()),
            tier: Some("hot".into()),
            ..RestoreOptions::default()
        };
        let plan = plan_restore(&ex, "s1", &opts).await.unwrap();
        // A client writes the restored key once the restore found its place free.
        let file = d.path().join("hot/photos/r/a.jpg");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, b"the client's object").unwrap();
        let report = plan.apply(&ex, &opts, None).await.unwrap();
        assert_eq!(
            (report.restored, report.conflicts, report.changed),
            (0, vec!["r/a.jpg".to_string()], vec![])
        );
        assert_eq!(std::fs::read(&file).unwrap(), b"the client's object");
        let left: Vec<_> = std::fs::read_dir(file.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["a.jpg"], "no staging file is left");
    }
}
