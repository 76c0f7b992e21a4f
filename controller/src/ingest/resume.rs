//! Where each listed log object starts reading when checkpoints are kept: at its own
//! checkpoint, at the checkpoint of a file renamed to its name, or at its start.
//!
//! Store objects (and the bundled samples) are known by name and etag. A local file is known by
//! its content too: its checkpoint holds the [`Fingerprint`] of its first [`HEAD_BYTES`]
//! decompressed bytes, so that logrotate's `mv access.log access.log.1` (and later
//! `access.log.1` → `access.log.2.gz`) continues at the checkpoint under the new name instead of
//! counting every line again. An inode alone cannot do this: a new file may reuse a deleted
//! one's inode, and compressing a file gives it a new one. For each listed local file:
//!
//! 1. Its own checkpoint holds when the file is unchanged since (same inode, size and mtime), or
//!    when its head still has the checkpoint's fingerprint and, if plain, it is not shorter than
//!    what was read. A checkpoint without a fingerprint (nothing read yet, or saved by a tierd
//!    before fingerprints) holds by inode, as it did.
//! 2. A file whose own checkpoint does not hold (a new name; a file `copytruncate` emptied; a
//!    new file with other content, whatever its inode) takes over the checkpoint of a file
//!    renamed away: one that no listed file holds by rule 1 and whose fingerprint the file's
//!    head has. One with the file's inode is taken first (a plain rename keeps it); otherwise
//!    only a one-to-one match is taken: of two checkpoints, or two files, with the same head,
//!    which is which cannot be told, and neither is guessed.
//! 3. A file whose head has the fingerprint of a checkpoint that another listed file holds, and
//!    whose status changed less than [`source::GZIP_WRITE_QUIET`] ago, is left for a later
//!    pass: it may be a copy or a compression of that file in progress, which takes over the
//!    checkpoint once the original is gone. Left unchanged that long, it is a file of its own.
//! 4. Any other file is read from its start.
//!
//! A file read to its end (a gzip file, or one whose gzip stream broke) is skipped while its
//! size and mtime stay as they were; when they change (its writer resumed, a member was
//! appended) it is read on from its checkpoint.

use std::collections::HashMap;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::source::{self, Location, LogObject};
use crate::journal::checkpoints::{Checkpoint, Fingerprint};

/// How many decompressed bytes of a local file its fingerprint covers (all that was read, of a
/// shorter file). A log line carries its time and a request id: 1 KiB holds two or three S3
/// access log lines, and the time and request id of the first record of every JSON format
/// tierd reads (a MinIO audit entry, several KiB long, has both in its first few hundred
/// bytes). Longer would only make more files "shorter than the fingerprint"; shorter (Vector
/// reads 256 bytes) could end before a JSON record's first distinct field.
pub const HEAD_BYTES: usize = 1024;

/// Where to start reading one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Start {
    /// Nothing to read: read to its end and unchanged since, or a followed file that has not
    /// grown.
    Skip,
    /// Not read at this pass: it may be a copy or compression of another file, in progress (rule
    /// 3), or it was renamed away since it was listed.
    Wait,
    /// Read on from here.
    At(Resume),
}

/// How far an object was read before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Resume {
    pub bytes_done: u64,
    pub lines_done: u64,
    /// Its gzip stream broke after `lines_done` and that was reported: not reported again.
    pub break_reported: bool,
}

impl From<&Checkpoint> for Resume {
    fn from(cp: &Checkpoint) -> Resume {
        Resume {
            bytes_done: cp.bytes_done,
            lines_done: cp.lines_done,
            break_reported: cp.break_reported,
        }
    }
}

/// One listed object's start, and what the plan learned of it.
#[derive(Debug, Clone)]
pub(super) struct Planned {
    pub start: Start,
    /// The checkpoint it continues: its own, or one taken over (already moved to its name).
    pub checkpoint: Option<Checkpoint>,
    /// A local file's head, when the plan read it.
    pub head: Option<Vec<u8>>,
}

impl Planned {
    /// Read from the start.
    pub fn fresh() -> Planned {
        Planned {
            start: Start::At(Resume::default()),
            checkpoint: None,
            head: None,
        }
    }
}

/// The starts of a source's objects, and the checkpoint changes to save before reading any.
#[derive(Debug)]
pub(super) struct Plan {
    /// One per listed object, in listing order.
    pub objects: Vec<Planned>,
    /// Checkpoints taken over: deleted under their old names (unless changed since)...
    pub gone: Vec<Checkpoint>,
    /// ...and saved under their new ones; and checkpoints given the fingerprint, stamp or inode
    /// they lacked.
    pub saved: Vec<Checkpoint>,
    /// Checkpoints no listed object is named by, holds or took over: of files deleted, or
    /// renamed out of the source's reach (or, in a rotation under way, not yet found).
    pub orphans: Vec<Checkpoint>,
}

/// What reading a local file's head found.
#[derive(Debug)]
pub(super) enum HeadRead {
    /// Its first [`HEAD_BYTES`] decompressed bytes (fewer, of a shorter file or a gzip stream
    /// that breaks sooner), and whether it is gzip.
    Read { bytes: Vec<u8>, gzip: bool },
    /// It was renamed away or replaced since it was listed.
    Gone,
    /// It cannot be read: its read will say why.
    Unreadable,
}

/// Reads a listed local file's head, making sure it is still the file listed.
pub(super) fn read_head(obj: &LogObject, rt: &tokio::runtime::Handle) -> HeadRead {
    let head = source::content(obj, rt).and_then(|c| c.head(&obj.name, HEAD_BYTES));
    // Checked after reading: the bytes read are the listed file's.
    if source::replaced_since_listed(obj) {
        return HeadRead::Gone;
    }
    match head {
        Ok(h) => HeadRead::Read {
            bytes: h.bytes,
            gzip: h.gzip,
        },
        Err(_) => HeadRead::Unreadable,
    }
}

/// The fingerprint of a head, over its first [`HEAD_BYTES`] or at most `cap` bytes; `None` when
/// that is nothing.
pub(super) fn fingerprint(head: &[u8], cap: u64) -> Option<Fingerprint> {
    let len = head
        .len()
        .min(HEAD_BYTES)
        .min(usize::try_from(cap).unwrap_or(usize::MAX));
    (len > 0).then(|| Fingerprint {
        len: len as u64,
        sha256: hex::encode(Sha256::digest(&head[..len])),
    })
}

/// Whether `head` begins with the bytes `fp` was taken of.
fn has(head: &[u8], fp: &Fingerprint) -> bool {
    usize::try_from(fp.len)
        .ok()
        .and_then(|n| head.get(..n))
        .is_some_and(|b| hex::encode(Sha256::digest(b)) == fp.sha256)
}

/// The fingerprint to save with a local file's checkpoint after it was read `bytes_done` far
/// (`complete`: to its end): over its first [`HEAD_BYTES`], or at most the bytes read of a file
/// still followed. The checkpoint's own is kept once it is that long; otherwise the head is
/// taken from the plan, or read now by `read_head`.
pub(super) fn fingerprint_after(
    planned: &Planned,
    bytes_done: u64,
    complete: bool,
    read_head: impl FnOnce() -> HeadRead,
) -> Option<Fingerprint> {
    let cap = if complete { u64::MAX } else { bytes_done };
    let want = cap.min(HEAD_BYTES as u64);
    let kept = planned.checkpoint.as_ref().and_then(|c| c.head.clone());
    if want == 0 || kept.as_ref().is_some_and(|fp| fp.len >= want) {
        return kept.filter(|_| want > 0);
    }
    match &planned.head {
        Some(head) => fingerprint(head, cap),
        None => match read_head() {
            HeadRead::Read { bytes, .. } => fingerprint(&bytes, cap),
            HeadRead::Gone | HeadRead::Unreadable => kept,
        },
    }
}

/// Plans where each of `objects` (one source's, in listing order) starts, given the source's
/// `checkpoints`; `now` is the time the files' status changes are measured against.
/// `read_head` reads a local file's head (see [`read_head`]); it is called only for the files
/// that changed since their checkpoint or have none.
pub(super) fn plan(
    objects: &[LogObject],
    checkpoints: Vec<Checkpoint>,
    now: SystemTime,
    read_head: &mut dyn FnMut(&LogObject) -> HeadRead,
) -> Plan {
    let mut p = Planner {
        objects,
        by_name: checkpoints
            .iter()
            .enumerate()
            .map(|(c, cp)| (cp.object.clone(), c))
            .collect(),
        holder: vec![None; checkpoints.len()],
        named: vec![false; checkpoints.len()],
        cps: checkpoints,
        planned: vec![Planned::fresh(); objects.len()],
        gzip: vec![false; objects.len()],
        gone: Vec::new(),
        saved: Vec::new(),
    };
    let mut undecided = Vec::new();
    for i in 0..objects.len() {
        if !p.own(i, read_head) {
            undecided.push(i);
        }
    }
    p.take_over(&mut undecided);
    for i in undecided {
        p.planned[i].start = if p.may_be_a_copy_in_progress(i, now) {
            Start::Wait
        } else {
            Start::At(Resume::default())
        };
    }
    let orphans = (p.cps.iter().zip(p.holder.iter().zip(&p.named)))
        .filter(|(_, (holder, named))| holder.is_none() && !**named)
        .map(|(cp, _)| cp.clone())
        .collect();
    Plan {
        objects: p.planned,
        gone: p.gone,
        saved: p.saved,
        orphans,
    }
}

struct Planner<'a> {
    objects: &'a [LogObject],
    cps: Vec<Checkpoint>,
    by_name: HashMap<String, usize>,
    /// For each checkpoint, the object that holds it (rule 1) or took it over (rule 2).
    holder: Vec<Option<usize>>,
    /// For each checkpoint, whether a listed object has its name.
    named: Vec<bool>,
    planned: Vec<Planned>,
    /// For each object whose head was read, whether it is gzip.
    gzip: Vec<bool>,
    gone: Vec<Checkpoint>,
    saved: Vec<Checkpoint>,
}

impl Planner<'_> {
    /// Plans object `i` by its own checkpoint (rule 1; a store object by its etag); false when
    /// it is undecided: a local file without a checkpoint that holds.
    fn own(&mut self, i: usize, read_head: &mut dyn FnMut(&LogObject) -> HeadRead) -> bool {
        let obj = &self.objects[i];
        let own = self.by_name.get(&*obj.name).copied();
        if let Some(c) = own {
            self.named[c] = true;
        }
        if !matches!(obj.location, Location::File(_)) {
            self.planned[i].start = match own.map(|c| &self.cps[c]) {
                Some(cp) if cp.identity == obj.identity && cp.complete => Start::Skip,
                Some(cp) if cp.identity == obj.identity => Start::At(cp.into()),
                _ => Start::At(Resume::default()),
            };
            return true;
        }
        if let Some(c) = own
            && self.cps[c].identity == obj.identity
            && self.cps[c].stamp.is_some()
            && self.cps[c].stamp == obj.stamp
        {
            // Unchanged since it was checkpointed: its head is not even read.
            let cp = &self.cps[c];
            let not_grown = cp.bytes_done == obj.size && super::is_growing_file(obj);
            let start = if not_grown {
                Start::Skip
            } else {
                skip_or_read_on(cp, obj)
            };
            self.hold(i, c, start);
            return true;
        }
        let (head, gzip) = match read_head(obj) {
            HeadRead::Read { bytes, gzip } => (bytes, gzip),
            HeadRead::Gone => {
                self.planned[i].start = Start::Wait;
                return true;
            }
            HeadRead::Unreadable => {
                // Its read says why; meanwhile its checkpoint holds by inode, as it did.
                if let Some(c) = own
                    && self.cps[c].identity == obj.identity
                {
                    self.hold(i, c, skip_or_read_on(&self.cps[c], obj));
                }
                return true;
            }
        };
        self.gzip[i] = gzip;
        let start = own.and_then(|c| holds(&self.cps[c], obj, &head, gzip).map(|s| (c, s)));
        self.planned[i].head = Some(head);
        match start {
            Some((c, start)) => {
                self.hold(i, c, start);
                true
            }
            None => false,
        }
    }

    /// Object `i` holds checkpoint `c` (its own) and starts at `start`; a checkpoint skipped
    /// over is saved with the inode, stamp and fingerprint it lacked, so that it is known the
    /// next time without reading the file.
    fn hold(&mut self, i: usize, c: usize, start: Start) {
        let obj = &self.objects[i];
        self.holder[c] = Some(i);
        let cp = &self.cps[c];
        let head = self.planned[i].head.as_deref().unwrap_or_default();
        let cap = if cp.complete { u64::MAX } else { cp.bytes_done };
        let updated = Checkpoint {
            identity: obj.identity.clone(),
            stamp: obj.stamp.clone(),
            head: cp.head.clone().or_else(|| fingerprint(head, cap)),
            ..cp.clone()
        };
        if start == Start::Skip && updated != *cp {
            self.saved.push(updated.clone());
        }
        self.planned[i].start = start;
        self.planned[i].checkpoint = Some(updated);
    }

    /// Rule 2: each undecided file whose head has the fingerprint of a checkpoint no file holds
    /// takes it over, when that pairing is certain; those that did leave `undecided`.
    fn take_over(&mut self, undecided: &mut Vec<usize>) {
        let free: Vec<usize> = (0..self.cps.len())
            .filter(|&c| self.holder[c].is_none() && self.cps[c].head.is_some())
            .collect();
        let wanted: Vec<(usize, Vec<usize>)> = undecided
            .iter()
            .map(|&i| {
                let fits = free
                    .iter()
                    .copied()
                    .filter(|&c| self.fits(i, &self.cps[c]))
                    .collect();
                (i, fits)
            })
            .collect();
        // A rename keeps the inode.
        for (i, fits) in &wanted {
            let same_inode = fits.iter().copied().find(|&c| {
                self.holder[c].is_none() && self.cps[c].identity == self.objects[*i].identity
            });
            if let Some(c) = same_inode {
                self.take(*i, c);
            }
        }
        // Otherwise: one file, one checkpoint.
        for (i, fits) in &wanted {
            if self.planned[*i].checkpoint.is_some() {
                continue;
            }
            let open: Vec<usize> = fits
                .iter()
                .copied()
                .filter(|&c| self.holder[c].is_none())
                .collect();
            let contenders = |c: usize| {
                wanted
                    .iter()
                    .filter(|(j, f)| self.planned[*j].checkpoint.is_none() && f.contains(&c))
                    .count()
            };
            match open.as_slice() {
                [] => {}
                [c] if contenders(*c) == 1 => self.take(*i, *c),
                _ => tracing::warn!(
                    message = "A log file's head is that of several files renamed away; it is read from its start.",
                    file = %self.objects[*i].name,
                    checkpoints = open.len(),
                ),
            }
        }
        undecided.retain(|&i| self.planned[i].checkpoint.is_none());
    }

    /// Whether object `i`'s head has `cp`'s fingerprint, and it is long enough to be the file
    /// `cp` was read of.
    fn fits(&self, i: usize, cp: &Checkpoint) -> bool {
        let (Some(head), Some(fp)) = (&self.planned[i].head, &cp.head) else {
            return false;
        };
        has(head, fp) && (self.gzip[i] || self.objects[i].size >= cp.bytes_done)
    }

    /// Object `i` takes over checkpoint `c`: it is moved to its name, and skipped when read to
    /// its end and unchanged by the rename, or read on from it.
    fn take(&mut self, i: usize, c: usize) {
        let obj = &self.objects[i];
        self.holder[c] = Some(i);
        let cp = &self.cps[c];
        let start = skip_or_read_on(cp, obj);
        let moved = Checkpoint {
            object: obj.name.to_string(),
            identity: obj.identity.clone(),
            stamp: obj.stamp.clone(),
            complete: start == Start::Skip,
            ..cp.clone()
        };
        self.planned[i].start = start;
        self.gone.push(cp.clone());
        self.saved.push(moved.clone());
        self.planned[i].checkpoint = Some(moved);
    }

    /// Rule 3: whether undecided object `i` has the head of a checkpoint another file holds and
    /// changed too recently to be told from a copy or compression of it in progress.
    fn may_be_a_copy_in_progress(&self, i: usize, now: SystemTime) -> bool {
        let Some(head) = &self.planned[i].head else {
            return false;
        };
        let recent = self.objects[i].changed.is_some_and(|t| {
            now.duration_since(t)
                .map_or(true, |age| age < source::GZIP_WRITE_QUIET)
        });
        recent
            && self.cps.iter().zip(&self.holder).any(|(cp, holder)| {
                holder.is_some_and(|j| j != i) && cp.head.as_ref().is_some_and(|fp| has(head, fp))
            })
    }
}

/// Where a local file starts by its own checkpoint `cp` (rule 1), given its `head`; `None`
/// when `cp` is not this file's.
fn holds(cp: &Checkpoint, obj: &LogObject, head: &[u8], gzip: bool) -> Option<Start> {
    // What was read of a plain file cannot be more than it holds: truncated, then rewritten.
    let shorter = !gzip && obj.size < cp.bytes_done;
    let same = match &cp.head {
        Some(fp) => has(head, fp),
        None => cp.identity == obj.identity,
    };
    (same && !shorter).then(|| skip_or_read_on(cp, obj))
}

/// Where a local file holding checkpoint `cp` starts: skipped when it was read to its end and
/// has not changed since (or cannot be known to have: a checkpoint saved before stamps), read
/// on from `cp` otherwise (a writer resumed, a gzip member was appended).
fn skip_or_read_on(cp: &Checkpoint, obj: &LogObject) -> Start {
    let unchanged = cp.stamp.is_none() || cp.stamp == obj.stamp;
    if cp.complete && unchanged {
        Start::Skip
    } else {
        Start::At(cp.into())
    }
}

#[cfg(test)]
mod tests;
