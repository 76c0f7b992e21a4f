//! The listing of the data tiers for objects the access logs never named
//! (`service.scan_interval`).
//!
//! `tierd run` lists in a task of its own beside the cycles: a bucket of millions of objects
//! takes minutes to list (one request per 1,000 keys on S3), and the cycles must go on reading
//! logs, scoring and alerting meanwhile. What the listing found reaches the planner at the first
//! cycle after it ends. `tierd run --once` (and a [`Service`] not told otherwise) lists within
//! the cycle.
//!
//! A listing writes to the journal's catalog a chunk at a time, and only objects the catalog
//! does not know (see [`Executor::scan`]): a move that ends while the listing runs keeps its
//! entry. Stopping the service stops the listing between two chunks.

use super::*;

/// A listing under way in a task of its own.
pub(super) struct Listing {
    /// The buckets it lists: a move of an object the catalog does not know yet looks only for
    /// that object there, not at the whole bucket again.
    pub(super) buckets: BTreeSet<String>,
    task: tokio::task::JoinHandle<Listed>,
}

/// What a listing did.
pub(super) struct Listed {
    /// Per bucket: whether every tier listed it whole (else the error).
    buckets: Vec<(String, Result<(), String>)>,
    /// The data tiers whose buckets could not be listed, as `tier NAME: error`.
    unlisted_tiers: Vec<String>,
    /// How long it took.
    secs: f64,
}

/// Lists `tiers` (data tiers) for their buckets, then every bucket of those and `buckets` on
/// every tier into the catalog.
async fn list(ex: Arc<Executor>, tiers: Vec<String>, mut buckets: BTreeSet<String>) -> Listed {
    let started = std::time::Instant::now();
    let mut unlisted_tiers = Vec::new();
    for tier in &tiers {
        match ex.tiers().buckets(tier).await {
            Ok(b) => buckets.extend(b),
            Err(e) => {
                tracing::warn!(tier = %tier, "cannot list the tier's buckets; those the logs name are still listed: {e}");
                unlisted_tiers.push(e.to_string()); // "tier NAME: ..."
            }
        }
    }
    let mut listed = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        let scanned = ex.scan(&bucket, "").await.map(|_| ()).map_err(|e| {
            tracing::warn!(bucket = %bucket, "cannot list the bucket on the tiers; retried at the next listing: {e}");
            e.to_string()
        });
        listed.push((bucket, scanned));
    }
    Listed {
        buckets: listed,
        unlisted_tiers,
        secs: started.elapsed().as_secs_f64(),
    }
}

impl Service {
    /// Lists the data tiers in a task of its own from now on (`tierd run`), instead of within
    /// the cycle.
    pub fn list_in_background(&mut self) {
        self.list_in_background = true;
    }

    /// The listing's part of a cycle at `t`: takes what a listing that ended found, and starts
    /// one when due (not when `stopping`). Returns how many objects the planner learnt, `None`
    /// when no listing ended in this cycle.
    pub(super) async fn listing_step(
        &mut self,
        t: i64,
        stopping: bool,
        report: &mut CycleReport,
    ) -> anyhow::Result<Option<u64>> {
        let mut learnt = None;
        if self.listing.as_ref().is_some_and(|l| l.task.is_finished())
            && let Some(l) = self.listing.take()
        {
            learnt = Some(self.adopt_listed(l.task.await?, t, report)?);
        }
        let due = self
            .config
            .service
            .scan_interval_secs
            .is_some_and(|_| t >= self.next_scan);
        if due && !stopping && self.listing.is_none() {
            self.next_scan = t + self.config.service.scan_interval_secs.unwrap_or(0) as i64;
            if self.list_in_background {
                let buckets = self.buckets_to_list();
                tracing::info!(
                    buckets = buckets.len(),
                    "listing the tiers for objects the logs never named, beside the cycles"
                );
                let work = list(
                    Arc::clone(&self.executor),
                    self.data_tiers(),
                    buckets.clone(),
                );
                let task = tokio::spawn(work);
                self.listing = Some(Listing { buckets, task });
            } else {
                learnt = Some(learnt.unwrap_or(0) + self.list_tiers(t, report).await?);
            }
        }
        Ok(learnt)
    }

    /// Lists the data tiers for objects the access logs never named, within the cycle, and adds
    /// them to the planner: the coldest data (nobody touched it while tierd watched) is what
    /// tiering is for, and the logs alone would never show it. Buckets are those the logs named
    /// and the folders at each data tier's root. Such an object counts as last accessed when it
    /// was last written, as `simulate --inventory` counts a listed object. Returns how many
    /// were added.
    pub(super) async fn list_tiers(
        &mut self,
        t: i64,
        report: &mut CycleReport,
    ) -> anyhow::Result<u64> {
        let work = list(
            Arc::clone(&self.executor),
            self.data_tiers(),
            self.buckets_to_list(),
        );
        self.adopt_listed(work.await, t, report)
    }

    /// The names of the data tiers (not the vaults).
    fn data_tiers(&self) -> Vec<String> {
        (self.config.tiers.iter().zip(&self.config.roles))
            .filter(|(_, r)| **r == crate::config::Role::Data)
            .map(|(tier, _)| tier.name.clone())
            .collect()
    }

    /// Stops a listing under way (between two of its journal writes): the next start lists
    /// again.
    pub async fn stop_listing(&mut self) {
        if let Some(l) = self.listing.take() {
            l.task.abort();
            let _ = l.task.await;
        }
    }

    /// Whether `bucket` is being listed now or was listed whole before.
    pub(super) fn listed_or_listing(&self, bucket: &str) -> bool {
        self.scanned.contains(bucket)
            || self
                .listing
                .as_ref()
                .is_some_and(|l| l.buckets.contains(bucket))
    }

    /// Buckets the logs named or the planner knows: listed with those at each data tier's root.
    fn buckets_to_list(&self) -> BTreeSet<String> {
        let mut buckets: BTreeSet<String> = self
            .planner
            .objects
            .cat
            .bucket_names
            .iter()
            .cloned()
            .collect();
        buckets.extend(self.seen_buckets.iter().cloned());
        buckets
    }

    /// Adds to the planner what the listing put in the catalog, reports what it could not list,
    /// and returns how many objects the planner learnt.
    fn adopt_listed(
        &mut self,
        listed: Listed,
        t: i64,
        report: &mut CycleReport,
    ) -> anyhow::Result<u64> {
        report.unlisted.extend(listed.unlisted_tiers);
        let mut added = 0u64;
        for (bucket, scanned) in &listed.buckets {
            // What the catalog holds of the bucket and the planner lacks: what this listing
            // added, and what other scans (a snapshot's, `tierd locate`'s, a listing cut short)
            // added since the last one. Read one entry at a time.
            let planner = &mut self.planner;
            tokio::task::block_in_place(|| {
                self.executor
                    .journal()
                    .catalog_each(Some(bucket), |e| added += adopt(planner, [e], t))
            })?;
            match scanned {
                Ok(()) => {
                    self.scanned.insert(bucket.clone());
                }
                Err(e) => report.unlisted.push(format!("bucket {bucket}: {e}")),
            }
        }
        if added > 0 {
            tracing::info!(
                objects = added,
                buckets = listed.buckets.len(),
                "listing the tiers found objects the access logs never named; rules now place them too"
            );
        }
        self.metrics.set_unlisted(report.unlisted.len() as u64);
        self.metrics.cycle("scan", listed.secs);
        report.objects_listed = Some(added);
        Ok(added)
    }
}
