//! Reconciling the catalog with the tiers: list a bucket whole on every data tier, and make the
//! catalog say where each object is.
//!
//! The catalog corrects itself an object at a time (a move or `tierd locate` that finds an object
//! gone forgets its entry); after a journal restored from an old backup, objects moved or deleted
//! by hand, or a store restored, `tierd reconcile` does it for a whole bucket at once:
//! - an entry whose tier no longer holds the object, found on another tier: follows it there
//!   (the newest copy, as a listing takes it);
//! - an entry whose object is on no tier: forgotten;
//! - an object no entry names: added, as a listing adds it;
//! - an entry whose tier holds it while another tier holds a copy too: reported, not changed
//!   (tierd never chooses between two copies its owner may both need).
//!
//! - an entry whose object was written again in place (another size or etag): takes its new
//!   size, etag and time.
//!
//! Nothing is changed for a bucket that a tier could not list whole (a partial listing would
//! forget objects that are there), nor for an object whose move is in flight. A `{bucket}` tier
//! whose store has no such bucket (S3's `NoSuchBucket`) never held the bucket: an empty listing,
//! not a failure. Data is never
//! touched: only the catalog. The command holds the mover lock, so no move runs beside it.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use object_store::ObjectMeta;

use super::{ExecError, Executor, StoreError};
use crate::journal::catalog::Entry;

/// What reconciling one bucket found, and (unless a dry run) changed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Reconciled {
    pub bucket: String,
    /// Catalog entries checked.
    pub checked: u64,
    /// Objects the tiers listed (a copy on two tiers counts twice).
    pub listed: u64,
    /// Entries whose object is on no tier: forgotten. `(key, tier the catalog had)`.
    pub forgotten: Vec<(String, String)>,
    /// Entries found on another tier: `(key, tier the catalog had, tier it is on)`.
    pub relocated: Vec<(String, String, String)>,
    /// Objects no entry named: `(key, tier)`.
    pub added: Vec<(String, String)>,
    /// Entries whose object was written again in place (another size or etag): `(key, tier)`;
    /// the entry takes the new size, etag and time.
    pub changed: Vec<(String, String)>,
    /// Entries whose tier holds the object while other tiers hold a copy: `(key, tier, others)`.
    pub other_copies: Vec<(String, String, Vec<String>)>,
    /// Entries left as they are: a move of the object is in flight.
    pub in_flight: u64,
    /// The decision that records the changes (none for a dry run, or when nothing changed).
    pub decision_id: Option<String>,
}

impl Reconciled {
    /// Whether the catalog and the tiers agreed (other copies aside: those are reported only).
    pub fn agreed(&self) -> bool {
        self.forgotten.is_empty()
            && self.relocated.is_empty()
            && self.added.is_empty()
            && self.changed.is_empty()
    }
}

impl Reconciled {
    /// The operator's decision that records what a reconcile changed (`None` when the catalog
    /// and the tiers agreed): one per bucket, its scope the whole bucket, so that `tierd
    /// decisions --key B/K` finds it for every key; `why` names what changed, the first keys of
    /// each kind.
    pub fn decision(&self, id: String, at: String) -> Option<crate::decision::Decision> {
        use crate::decision::{Action, Decision, State};
        if self.agreed() {
            return None;
        }
        let keys = |v: Vec<String>| crate::snapshot::listed(&v);
        let mut what = Vec::new();
        let mut say = |n: usize, kind: &str, k: Vec<String>| {
            if n > 0 {
                what.push(format!("{kind} {n} ({})", keys(k)));
            }
        };
        say(
            self.forgotten.len(),
            "forgot (on no tier)",
            self.forgotten.iter().map(|f| f.0.clone()).collect(),
        );
        say(
            self.relocated.len(),
            "followed to another tier",
            self.relocated
                .iter()
                .map(|r| format!("{} {} -> {}", r.0, r.1, r.2))
                .collect(),
        );
        say(
            self.added.len(),
            "added",
            self.added.iter().map(|a| a.0.clone()).collect(),
        );
        say(
            self.changed.len(),
            "took the new size of",
            self.changed.iter().map(|c| c.0.clone()).collect(),
        );
        Some(Decision {
            id,
            at,
            action: Action::Reconcile,
            bucket: Some(self.bucket.clone()),
            key: None,
            prefix: Some(String::new()),
            from: None,
            to: None,
            rule: None,
            anomaly: None,
            reason: format!(
                "An operator ran `tierd reconcile`: the catalog of bucket \"{}\" now says what the tiers hold ({} entries checked).",
                self.bucket, self.checked
            ),
            cost: None,
            undo: None,
            state: State::Done,
            why: Some(format!("{}; no object was touched", what.join("; "))),
            explanation: None,
        })
    }
}

/// Each key listed, with the data tiers that hold it and the copy's metadata.
type Listing = BTreeMap<String, Vec<(String, ObjectMeta)>>;

impl Executor {
    /// Reconciles `bucket` over the data tiers `tiers`: see [the module](self). With `apply`
    /// false, says what it would change and changes nothing.
    ///
    /// # Errors
    /// A tier cannot list the bucket whole (then nothing is changed), or the journal fails.
    pub async fn reconcile(
        &self,
        bucket: &str,
        tiers: &[String],
        apply: bool,
    ) -> Result<Reconciled, ExecError> {
        let mut listing = Listing::new();
        for tier in tiers {
            self.list_whole(tier, bucket, &mut listing).await?;
        }
        let listed = listing.values().map(|c| c.len() as u64).sum();
        let in_flight: BTreeSet<String> = self
            .journal()
            .open_moves()?
            .into_iter()
            .filter(|m| m.bucket == bucket)
            .map(|m| m.key)
            .collect();
        let mut entries = Vec::new();
        self.journal()
            .catalog_each(Some(bucket), |e| entries.push(e))?;
        let mut r = Reconciled {
            bucket: bucket.to_string(),
            listed,
            ..Reconciled::default()
        };
        let mut writes = Vec::new();
        let mut forget = Vec::new();
        for e in entries {
            r.checked += 1;
            let mut copies = listing.remove(&e.key).unwrap_or_default();
            if in_flight.contains(&e.key) {
                r.in_flight += 1;
                continue;
            }
            if let Some(i) = copies.iter().position(|(t, _)| *t == e.tier) {
                let (_, m) = copies.remove(i);
                let others: Vec<String> = copies.into_iter().map(|(t, _)| t).collect();
                let etag_differs = matches!((&e.etag, &m.e_tag), (Some(a), Some(b)) if a != b);
                if m.size != e.size || etag_differs {
                    r.changed.push((e.key.clone(), e.tier.clone()));
                    writes.push(entry(bucket, e.key.clone(), e.tier.clone(), m));
                }
                if !others.is_empty() {
                    r.other_copies.push((e.key, e.tier, others));
                }
                continue;
            }
            match newest(copies) {
                Some((tier, m)) => {
                    r.relocated
                        .push((e.key.clone(), e.tier.clone(), tier.clone()));
                    writes.push(entry(bucket, e.key, tier, m));
                }
                None => {
                    r.forgotten.push((e.key.clone(), e.tier));
                    forget.push(e.key);
                }
            }
        }
        let mut added = Vec::new();
        for (key, copies) in listing {
            if in_flight.contains(&key) {
                continue;
            }
            if let Some((tier, m)) = newest(copies) {
                r.added.push((key.clone(), tier.clone()));
                added.push((entry(bucket, key, tier, m), false));
            }
        }
        if apply {
            // Each change is right on its own (an interrupted reconcile leaves fewer done).
            let mut j = self.journal();
            for key in &forget {
                j.remove_entry(bucket, key)?;
            }
            for e in &writes {
                j.upsert_entry(e)?;
            }
            for chunk in added.chunks(10_000) {
                j.add_listed(chunk)?;
            }
        }
        Ok(r)
    }

    /// Lists `bucket` on `tier` to its end into `listing`, tierd's own files left out.
    async fn list_whole(
        &self,
        tier: &str,
        bucket: &str,
        listing: &mut Listing,
    ) -> Result<(), ExecError> {
        let (store, base) = self.tiers.bucket(tier, bucket)?;
        let prefix = (!base.as_ref().is_empty()).then_some(&base);
        let mut items = store.list(prefix);
        while let Some(item) = items.next().await {
            match item {
                Ok(m) => {
                    let key = crate::tier::strip(&base, &m.location);
                    if !super::scan::tierds_own(&key) {
                        listing.entry(key).or_default().push((tier.to_string(), m));
                    }
                }
                // A bucket the tier does not have is an empty listing.
                Err(e) if self.bucket_absent(tier, &e) => break,
                Err(source) => {
                    return Err(ExecError::Store(StoreError::Backend {
                        url: format!("tier {tier}"),
                        source,
                    }));
                }
            }
        }
        Ok(())
    }
}

/// The newest of an object's copies, as a listing takes it.
fn newest(copies: Vec<(String, ObjectMeta)>) -> Option<(String, ObjectMeta)> {
    copies.into_iter().max_by_key(|(_, m)| m.last_modified)
}

fn entry(bucket: &str, key: String, tier: String, m: ObjectMeta) -> Entry {
    Entry {
        bucket: bucket.to_string(),
        key,
        tier,
        size: m.size,
        etag: m.e_tag,
        checksum: None,
        since: crate::decision::rfc3339(m.last_modified),
        decision_id: None,
    }
}
