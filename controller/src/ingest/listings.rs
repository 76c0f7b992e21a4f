//! What ingest remembers of its sources from one pass to the next, so that an idle pass costs
//! what is new, not what a source has kept, and checkpoints of log objects that are gone are
//! forgotten.
//!
//! An object-store source is listed whole at the first pass and then every
//! [`FULL_LISTING_EVERY`]; in between, a listing starts after the greatest key up to which every
//! object was read to its end (S3's `StartAfter`), so an idle pass lists nothing it read before.
//! An object that arrives with an earlier key than that (S3 delivers its server access logs
//! late, best effort) is read at the next full listing. A full listing also finds the objects
//! that are gone (expired by a lifecycle rule): their checkpoints are forgotten,
//! [`FORGET_PER_PASS`] a pass.
//!
//! A local source is listed whole at every pass (a directory listing costs no request); the
//! checkpoint of a file that is gone is forgotten when no file holds it or took it over and the
//! pass is sure no rotation was under way (see [`forget_files`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::IngestError;
use super::source::{self, Location, LogObject, OpenedStore};
use crate::journal::Journal;
use crate::journal::checkpoints::{Checkpoint, stored};

/// How often an object-store source is listed whole (and at a process's first pass).
pub const FULL_LISTING_EVERY: Duration = Duration::from_secs(3600);

/// At most how many checkpoints of objects that are gone one source forgets in a pass (the rest
/// at the next passes).
pub const FORGET_PER_PASS: usize = 10_000;

/// Ingest's memory of its sources, kept by the service from one cycle to the next. A fresh one
/// (each `tierd ingest --resume`, `run --once`) lists every source whole.
#[derive(Debug, Default)]
pub struct Listings {
    sources: HashMap<String, Memory>,
}

/// What is remembered of one object-store source.
#[derive(Debug, Default)]
struct Memory {
    /// Its store, opened once, and the options it was opened with.
    opened: Option<(BTreeMap<String, String>, OpenedStore)>,
    /// When it was last listed whole.
    full_at: Option<Instant>,
    /// Every object up to this key is read to its end: a listing starts after it.
    after: Option<String>,
    /// The objects after `after` that the last pass read to their end (or skipped so), in key
    /// order, with their identity: `after` moves over them once the journal has their
    /// checkpoints (the service saves them after the access history they make).
    pending: Vec<(String, String)>,
    /// Checkpoints of objects the last full listing no longer had, not forgotten yet.
    forget: Vec<Checkpoint>,
}

/// One pass's listing of an object-store source.
#[derive(Debug)]
pub(super) struct StoreListing {
    /// In key order.
    pub objects: Vec<LogObject>,
    /// The source's checkpoints the listed objects can have: all of them after a full listing,
    /// otherwise those after the key the listing started after.
    pub checkpoints: Vec<Checkpoint>,
}

fn key(o: &LogObject) -> Option<&str> {
    match &o.location {
        Location::Store { path, .. } => Some(path.as_ref()),
        _ => None,
    }
}

impl Listings {
    /// Uses `store` for `source` (opened with no options) instead of opening it from its URL.
    #[cfg(test)]
    pub(super) fn use_store(
        &mut self,
        source: &str,
        store: std::sync::Arc<dyn object_store::ObjectStore>,
        prefix: &str,
    ) {
        let opened = OpenedStore {
            store,
            prefix: prefix.to_string(),
        };
        self.sources.entry(source.to_string()).or_default().opened =
            Some((BTreeMap::new(), opened));
    }

    /// The next pass lists every source whole, as if [`FULL_LISTING_EVERY`] had passed.
    #[cfg(test)]
    pub(super) fn list_whole_next(&mut self) {
        for m in self.sources.values_mut() {
            m.full_at = None;
        }
    }

    /// Lists an object-store source: whole when due, otherwise after the key up to which every
    /// object was read to its end; with the checkpoints its objects can have.
    ///
    /// # Errors
    /// The source cannot be opened or listed; journal errors.
    pub(super) fn list_store(
        &mut self,
        src: &str,
        options: &BTreeMap<String, String>,
        rt: &Handle,
        j: &mut Journal,
    ) -> Result<StoreListing, IngestError> {
        let m = self.sources.entry(src.to_string()).or_default();
        let opened = match &m.opened {
            Some((o, opened)) if o == options => opened.clone(),
            _ => {
                let opened = source::open_store(src, options)?;
                m.opened = Some((options.clone(), opened.clone()));
                opened
            }
        };
        let full = m.full_at.is_none_or(|t| t.elapsed() >= FULL_LISTING_EVERY);
        let checkpoints = match (&m.after, full) {
            (Some(after), false) => {
                j.checkpoints_after(src, &source::store_object_name(src, after))?
            }
            _ => j.checkpoints_of(src)?,
        };
        let by_name: HashMap<&str, &Checkpoint> =
            checkpoints.iter().map(|c| (c.object.as_str(), c)).collect();
        let read_whole = |key: &str, identity: &str| {
            by_name
                .get(source::store_object_name(src, key).as_str())
                .is_some_and(|c| c.complete && c.identity == identity)
        };
        for (key, identity) in std::mem::take(&mut m.pending) {
            if !read_whole(&key, &identity) {
                break;
            }
            m.after = Some(key);
        }
        let offset = if full { None } else { m.after.clone() };
        let objects = source::list_opened(src, &opened, offset.as_deref(), rt)?;
        tracing::debug!(target: "tierd::ingest", source = %crate::tier::redact_url(src), full, after = offset.as_deref().unwrap_or(""), listed = objects.len(), "listed a log source");
        if full {
            m.full_at = Some(Instant::now());
            m.after = None;
            // An empty listing forgets nothing: a store that answers nothing may be the wrong
            // one (a mistyped endpoint), not one whose logs all expired.
            if !objects.is_empty() {
                let listed: HashSet<&str> = objects.iter().map(|o| &*o.name).collect();
                m.forget = (checkpoints.iter())
                    .filter(|c| !listed.contains(c.object.as_str()))
                    .take(FORGET_PER_PASS * 10)
                    .cloned()
                    .collect();
            }
        }
        for o in &objects {
            let Some(k) = key(o) else { continue };
            if m.after.as_deref().is_some_and(|a| k <= a) {
                continue;
            }
            if !read_whole(k, &o.identity) {
                break;
            }
            m.after = Some(k.to_string());
        }
        drop(by_name);
        Ok(StoreListing {
            objects,
            checkpoints,
        })
    }

    /// After a pass over a store source's `objects` (as listed), each with whether it ended read
    /// to its end: those after the listing's start up to the first that did not are remembered,
    /// for the next pass to list after them once their checkpoints are saved. Then forgets up
    /// to [`FORGET_PER_PASS`] checkpoints of objects that are gone.
    ///
    /// # Errors
    /// Journal errors.
    pub(super) fn passed(
        &mut self,
        src: &str,
        objects: &[LogObject],
        whole: &[bool],
        j: &mut Journal,
    ) -> Result<(), IngestError> {
        let Some(m) = self.sources.get_mut(src) else {
            return Ok(());
        };
        m.pending.clear();
        for (o, &whole) in objects.iter().zip(whole) {
            let Some(k) = key(o) else { continue };
            if m.after.as_deref().is_some_and(|a| k <= a) {
                continue;
            }
            if !whole {
                break;
            }
            m.pending.push((k.to_string(), o.identity.clone()));
        }
        let n = m.forget.len().min(FORGET_PER_PASS);
        if n > 0 {
            let gone: Vec<Checkpoint> = m.forget.drain(..n).collect();
            j.forget_checkpoints(&gone)?;
            tracing::info!(target: "tierd::ingest", source = %crate::tier::redact_url(src), forgotten = n, "forgot the checkpoints of log objects no longer in the source");
        }
        Ok(())
    }
}

/// Forgets the checkpoints of a local source's files that are gone: `orphans` (checkpoints no
/// listed file is named by, holds or took over), [`FORGET_PER_PASS`] at most, whose file does
/// not exist. Nothing is forgotten when the pass may have caught a rotation under way, whose
/// renamed file takes a checkpoint over at the next pass: an object of the pass was left for
/// later (`waited`), or listing the source again finds a file the pass's listing did not have
/// (`listed`: every name it had). Nor when the listing was empty (a file system not mounted).
///
/// # Errors
/// Journal errors; a source that cannot be listed again forgets nothing.
pub(super) fn forget_files(
    src: &str,
    orphans: Vec<Checkpoint>,
    listed: &HashSet<String>,
    waited: bool,
    rt: &Handle,
    j: &mut Journal,
) -> Result<usize, IngestError> {
    if orphans.is_empty() || waited || listed.is_empty() {
        return Ok(0);
    }
    let gone: Vec<Checkpoint> = orphans
        .into_iter()
        .filter(|c| !c.object.contains("://") && !c.object.starts_with("builtin:"))
        .filter(|c| {
            std::fs::symlink_metadata(stored(&c.object).as_ref())
                .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        })
        .take(FORGET_PER_PASS)
        .collect();
    if gone.is_empty() {
        return Ok(0);
    }
    let Ok(again) = source::list(src, &BTreeMap::new(), rt) else {
        return Ok(0);
    };
    if again.iter().any(|o| !listed.contains(&*o.name)) {
        return Ok(0);
    }
    j.forget_checkpoints(&gone)?;
    tracing::info!(target: "tierd::ingest", source = %src, forgotten = gone.len(), "forgot the checkpoints of log files that no longer exist");
    Ok(gone.len())
}

#[cfg(test)]
mod tests;
