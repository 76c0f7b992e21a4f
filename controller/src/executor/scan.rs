//! Learning what the tiers hold: a scan lists a bucket (or a prefix of it) on every tier and
//! adds the objects the catalog does not know yet, a chunk (one journal transaction) at a time.

use futures::StreamExt;
use object_store::ObjectStoreExt;

use super::{ExecError, Executor, StoreError};
use crate::journal::Journal;
use crate::journal::catalog::Entry;

impl Executor {
    /// Adds to the catalog every object found on any tier under `bucket/prefix` that it does not
    /// know yet (objects it knows keep their entry). Returns how many were added. A tier that
    /// cannot be listed (down, or failing part way) is logged and skipped: the objects on the
    /// others are still learnt, which is all a move needs.
    ///
    /// # Errors
    /// The journal fails.
    pub async fn scan(&self, bucket: &str, prefix: &str) -> Result<u64, ExecError> {
        Ok(self
            .scan_tiers(bucket, prefix, false, false)
            .await?
            .at
            .len() as u64)
    }

    /// [`Executor::scan`], returning the catalog entries it added (each where the object's newest
    /// copy is), in the order they were found.
    ///
    /// # Errors
    /// The journal fails.
    pub async fn scan_entries(&self, bucket: &str, prefix: &str) -> Result<Vec<Entry>, ExecError> {
        Ok(self.scan_tiers(bucket, prefix, false, true).await?.added)
    }

    /// [`Executor::scan`], for what must see every object (a snapshot): any tier that cannot be
    /// listed whole is an error.
    ///
    /// # Errors
    /// A tier cannot be listed, or the journal fails.
    pub async fn scan_complete(&self, bucket: &str, prefix: &str) -> Result<u64, ExecError> {
        Ok(self.scan_tiers(bucket, prefix, true, false).await?.at.len() as u64)
    }

    /// The scan; the entries added are kept only when `keep` (a first listing of a bucket of
    /// millions would otherwise hold all of them only to be counted).
    async fn scan_tiers(
        &self,
        bucket: &str,
        prefix: &str,
        complete: bool,
        keep: bool,
    ) -> Result<Scan, ExecError> {
        let mut scan = Scan {
            keep,
            ..Scan::default()
        };
        let mut unlisted = Vec::new();
        for tier in self.tiers.names() {
            let (store, base) = self.tiers.bucket(&tier, bucket)?;
            // Listing is by path segment: list the prefix's folder and filter by the string
            // prefix, so that `2026/img` and a full key both work.
            let folder = prefix.rsplit_once('/').map_or("", |(d, _)| d);
            let list_prefix = crate::tier::join(&base, folder);
            let lp = if list_prefix.as_ref().is_empty() {
                None
            } else {
                Some(&list_prefix)
            };
            // A listing that fails part way is a failed listing, never a shorter list taken for
            // the whole: a complete scan stops there; another learns the objects listed before
            // the failure, and notes the tier as not listed. (A prefix or bucket the tier does
            // not have is an empty listing.) What is listed is learnt a chunk at a time: memory
            // stays bounded, and each chunk is one journal transaction.
            let mut chunk = Vec::with_capacity(SCAN_CHUNK);
            let mut listed = 0u64;
            let mut listing = store.list(lp);
            while let Some(item) = listing.next().await {
                match item {
                    Ok(m) => {
                        listed += 1;
                        let key = crate::tier::strip(&base, &m.location);
                        if tierds_own(&key) || !key.starts_with(prefix) {
                            continue;
                        }
                        chunk.push((key, m));
                        if chunk.len() == SCAN_CHUNK {
                            scan.learn(&mut self.journal(), bucket, &tier, &mut chunk)?;
                        }
                    }
                    Err(e) if self.bucket_absent(&tier, &e) => break,
                    Err(source) if complete => {
                        return Err(ExecError::Store(StoreError::Backend {
                            url: format!("tier {tier}"),
                            source,
                        }));
                    }
                    Err(e) => {
                        // Warned once while it lasts: a scan per prefix would repeat the store's
                        // error (an S3 XML body) for every folder of the bucket.
                        let known = self
                            .unlisted
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .get(bucket)
                            .is_some_and(|t| t.contains(&tier));
                        let e = crate::decision::one_line(&e.to_string()).into_owned();
                        if known {
                            tracing::debug!(tier = %tier, bucket, listed, "still cannot list the tier whole: {e}");
                        } else {
                            tracing::warn!(tier = %tier, bucket, listed, "cannot list the tier whole; the rest of its objects are learnt at a later scan: {e}");
                        }
                        unlisted.push(tier.clone());
                        break;
                    }
                }
            }
            scan.learn(&mut self.journal(), bucket, &tier, &mut chunk)?;
        }
        self.unlisted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(bucket.to_string(), unlisted);
        Ok(scan)
    }
}

impl Executor {
    /// Copies of `bucket/key` on the tiers other than `except` (where the catalog has it), each
    /// with its metadata: after a move, a copy on another tier is one tierd did not put there
    /// (its owner wrote the object again) unless a move of it is still in flight. A tier that
    /// cannot be asked is logged and left out: the answer is a warning, never a move.
    pub async fn copies_elsewhere(
        &self,
        bucket: &str,
        key: &str,
        except: &str,
    ) -> Vec<(String, object_store::ObjectMeta)> {
        let mut found = Vec::new();
        for tier in self.tiers.names() {
            if tier == except {
                continue;
            }
            let Ok((store, path)) = self.tiers.object(&tier, bucket, key) else {
                continue;
            };
            match store.head(&path).await {
                Ok(m) => found.push((tier, m)),
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    tracing::warn!(tier = %tier, bucket, key, "cannot ask the tier whether it holds another copy: {e}")
                }
            }
        }
        found
    }

    /// Whether `tier` holds `bucket/key` now: false only when the store says it does not (a
    /// store that cannot be asked is taken to hold it: the catalog is not changed on a doubt).
    pub async fn holds(&self, tier: &str, bucket: &str, key: &str) -> bool {
        let Ok((store, path)) = self.tiers.object(tier, bucket, key) else {
            return true;
        };
        !matches!(
            store.head(&path).await,
            Err(object_store::Error::NotFound { .. })
        )
    }

    /// Whether a move of `bucket/key` is journalled and not yet settled (its source and
    /// destination may both hold it meanwhile).
    ///
    /// # Errors
    /// The journal fails.
    pub fn move_in_flight(&self, bucket: &str, key: &str) -> Result<bool, ExecError> {
        use crate::journal::moves::MoveState;
        Ok(self
            .journal()
            .moves_of(bucket, key)?
            .iter()
            .any(|m| matches!(m.state, MoveState::Intent | MoveState::Copied)))
    }
}

/// What `tierd locate` and a move that finds its object already there say of a copy on another
/// tier: `onprem also holds photos/b.bin (13 bytes, written 2026-11-30T15:12:51Z), a copy tierd
/// did not put there: ...`.
pub fn other_copy_note(
    bucket: &str,
    key: &str,
    tier: &str,
    m: &object_store::ObjectMeta,
) -> String {
    format!(
        "{tier} also holds {bucket}/{key} ({} bytes, written {}), a copy tierd did not put there: its owner wrote the object again after tierd moved it? tierd never overwrites either copy; the catalog follows the newer one once the access log's write is read",
        m.size,
        crate::decision::rfc3339(m.last_modified)
    )
}

/// Whether a key listed on a tier is one of tierd's own files (snapshots, staged restores, the
/// tier's owner marker), not an object of the bucket.
pub(super) fn tierds_own(key: &str) -> bool {
    key.starts_with(".tierd-") || key.contains(".tierd-restore-")
}

impl Executor {
    /// Whether a listing of a bucket on `tier` failed because the tier does not have the bucket,
    /// which is an empty listing: a folder a `file://` tier does not have (`NotFound`), or on a
    /// `{bucket}` tier a store without the bucket ([`no_such_bucket`]).
    pub(super) fn bucket_absent(&self, tier: &str, e: &object_store::Error) -> bool {
        matches!(e, object_store::Error::NotFound { .. })
            || (self.tiers.per_bucket(tier) && no_such_bucket(e))
    }
}

/// Whether a listing failed because the store has no such bucket (S3's `NoSuchBucket`, which
/// object_store reports as a generic error): on a `{bucket}` tier ([`crate::tier::Tiers::per_bucket`]),
/// one that never held the bucket, which holds none of its objects, as a folder a `file://` tier
/// does not have. (On a tier of one store it is a misconfiguration, and an error.)
fn no_such_bucket(e: &object_store::Error) -> bool {
    crate::tier::with_causes(e).contains("NoSuchBucket")
}

/// Objects listed per journal transaction by a scan.
const SCAN_CHUNK: usize = 10_000;

/// What a scan added to the catalog so far.
#[derive(Default)]
struct Scan {
    /// Whether `added` is kept.
    keep: bool,
    /// The entries added, in the order found; each where the newest copy found so far is.
    added: Vec<Entry>,
    /// Per key added (so, how many were): its place in `added` (when kept), and when that copy
    /// was written. An
    /// object found on two tiers (its owner wrote it again on the hot tier after tierd moved
    /// it) is where its newest copy is.
    at: std::collections::HashMap<String, (Option<usize>, chrono::DateTime<chrono::Utc>)>,
}

impl Scan {
    /// Learns a chunk of objects listed on `tier` (emptied): each is added to the catalog if
    /// the catalog did not know it before this scan, or replaces this scan's entry if it is a
    /// newer copy. Objects the catalog knew keep their entry.
    fn learn(
        &mut self,
        j: &mut Journal,
        bucket: &str,
        tier: &str,
        chunk: &mut Vec<(String, object_store::ObjectMeta)>,
    ) -> Result<(), ExecError> {
        let mut candidates = Vec::with_capacity(chunk.len());
        let mut written_at = Vec::with_capacity(chunk.len());
        for (key, m) in chunk.drain(..) {
            let replaces = match self.at.get(&key) {
                Some((_, newest)) if *newest >= m.last_modified => continue,
                Some(_) => true,
                None => false,
            };
            written_at.push(m.last_modified);
            candidates.push((
                Entry {
                    bucket: bucket.to_string(),
                    key,
                    tier: tier.to_string(),
                    size: m.size,
                    etag: m.e_tag,
                    checksum: None,
                    since: crate::decision::rfc3339(m.last_modified),
                    decision_id: None,
                },
                replaces,
            ));
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let written = j.add_listed(&candidates)?;
        for (((entry, _), w), lm) in candidates.into_iter().zip(written).zip(written_at) {
            if !w {
                continue;
            }
            match self.at.get_mut(&entry.key) {
                Some((i, newest)) => {
                    *newest = lm;
                    if let Some(i) = i {
                        self.added[*i] = entry;
                    }
                }
                None => {
                    let i = self.keep.then_some(self.added.len());
                    self.at.insert(entry.key.clone(), (i, lm));
                    if self.keep {
                        self.added.push(entry);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    use crate::executor::test_executor as executor;

    fn write(dir: &std::path::Path, tier: &str, key: &str, body: &[u8]) {
        let p = dir.join(tier).join("photos").join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[tokio::test]
    async fn a_scan_adds_what_the_catalog_lacks_over_several_chunks_and_follows_the_newest_copy() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // More objects than a chunk on the cold tier, one of them also on the hot tier, written
        // there later (its owner wrote it again).
        let n = SCAN_CHUNK + 5;
        for i in 0..n {
            write(d, "cold", &format!("k{i:06}"), b"old");
        }
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        write(d, "hot", "k000007", b"newer");
        let ex = executor(d);
        // The catalog already knows one object, on the cold tier: it keeps its entry.
        let known = Entry {
            bucket: "photos".into(),
            key: "k000003".into(),
            tier: "cold".into(),
            size: 3,
            etag: None,
            checksum: None,
            since: "2026-01-01T00:00:00Z".into(),
            decision_id: Some("move-1".into()),
        };
        ex.journal().upsert_entry(&known).unwrap();

        let added = ex.scan_entries("photos", "").await.unwrap();
        assert_eq!(added.len(), n - 1);
        // Each added key once, in the order found, the rewritten one where its newest copy is.
        let keys: std::collections::BTreeSet<&str> = added.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys.len(), n - 1);
        assert!(!keys.contains("k000003"));
        let seven = added.iter().find(|e| e.key == "k000007").unwrap();
        assert_eq!((seven.tier.as_str(), seven.size), ("hot", 5));
        {
            let mut j = ex.journal();
            assert_eq!(j.locate("photos", "k000007").unwrap().unwrap().tier, "hot");
            assert_eq!(j.locate("photos", "k000003").unwrap(), Some(known));
            assert_eq!(j.catalog_prefix("photos", "").unwrap().len(), n);
        }
        // A second scan finds nothing new.
        assert_eq!(ex.scan("photos", "").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn a_count_only_scan_counts_each_object_once_wherever_its_copies_are() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "cold", "a", b"old");
        write(d, "cold", "b", b"old");
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        write(d, "hot", "a", b"newer");
        write(d, "hot", "c", b"new");
        let ex = executor(d);
        assert_eq!(ex.scan("photos", "").await.unwrap(), 3);
        assert_eq!(
            ex.journal().locate("photos", "a").unwrap().unwrap().tier,
            "hot"
        );
    }
}
