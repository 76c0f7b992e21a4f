//! The replay's feed: what happens to events between the parser and the replay proper, on the
//! log reader's thread ([`Feeder`]), so that the replay's own thread does as little as it must.
//!
//! - [`KeyIds`]: a number per distinct (bucket, key), so that the replay finds an object's row
//!   by indexing, not by hashing its name.
//! - [`Reorder`]: events back in time order within the lateness allowed.
//! - [`Feed`]: late events moved to the current time, and events grouped into the scoring
//!   windows the replay closes, each handed to the behaviour model's thread
//!   ([`super::scoring`]) and then to the replay as soon as it is complete. Late events are
//!   replayed at the current time (the catalog and the costs see them then) but scored in the
//!   windows of their own time, apart: in the current window they would be a burst that never
//!   happened.
//! - The replay sends each window back when done, so that its events are freed on the thread
//!   that allocated them (cheaper than freeing across threads).
//!
//! # Guarantees
//! The feed decides nothing the replay could see differently: window boundaries follow from the
//! events' times exactly as the replay's clock does, and key numbers only name rows.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use models::AccessEvent;

use super::scoring::{ToBeScored, ToScore};

/// What the feed needs to know of the replay.
#[derive(Debug, Clone, Copy)]
pub struct FeedOptions {
    /// Replay events at or after this time (unix seconds).
    pub from: Option<i64>,
    /// Replay events before this time.
    pub until: Option<i64>,
    pub lateness_secs: i64,
    /// The replay's scoring window (seconds).
    pub window_secs: i64,
}

/// What the feed counted, and where the replay ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedEnd {
    /// The end of the replay (`until`, or just after the last event).
    pub end: i64,
    /// Events outside `from`..`until`.
    pub filtered: u64,
    /// The first and last time (unix seconds) of the events outside `from`..`until`.
    pub filtered_span: Option<(i64, i64)>,
    /// Events replayed later than the reorder window allowed.
    pub late: u64,
}

/// The stages on the log reader's thread: filter, number, reorder, window, and hand over.
#[derive(Debug)]
pub struct Feeder {
    opts: FeedOptions,
    ids: KeyIds,
    reorder: Reorder,
    feed: Feed,
    newest: i64,
    filtered: u64,
    filtered_span: Option<(i64, i64)>,
    to_score: ToScore,
    to_replay: SyncSender<Window>,
    /// Windows the replay is done with, to be freed here.
    done: Receiver<Window>,
    position: Position,
}

impl Feeder {
    pub fn new(
        opts: FeedOptions,
        to_score: ToScore,
        to_replay: SyncSender<Window>,
        done: Receiver<Window>,
    ) -> Feeder {
        Feeder {
            opts,
            ids: KeyIds::default(),
            reorder: Reorder::default(),
            feed: Feed::new(opts.window_secs),
            newest: i64::MIN,
            filtered: 0,
            filtered_span: None,
            to_score,
            to_replay,
            done,
            position: Position::new(read_so_far()),
        }
    }

    /// Takes a batch of parsed events; hands over every window it completes.
    ///
    /// # Errors
    /// The replay stopped.
    pub fn take(&mut self, batch: Vec<AccessEvent>) -> Result<(), String> {
        while self.done.try_recv().is_ok() {}
        self.position.batch(batch.len(), read_so_far());
        let (from, until) = (self.opts.from, self.opts.until);
        let keys = self.ids.of_batch(&batch);
        let mut failed = false;
        for (e, key) in batch.into_iter().zip(keys) {
            let t = e.time_us.div_euclid(1_000_000);
            if from.is_some_and(|f| t < f) || until.is_some_and(|u| t >= u) {
                self.filtered += 1;
                self.position.passed += 1;
                self.filtered_span = Some(
                    self.filtered_span
                        .map_or((t, t), |(a, b)| (a.min(t), b.max(t))),
                );
                continue;
            }
            self.newest = self.newest.max(e.time_us);
            self.reorder.push((e, key));
            // Event by event, not per batch: a batch (8,192 events) can span hours, and an
            // event's lateness is measured against the newest event read before it, as
            // documented, not against the end of its batch.
            let ready = self
                .newest
                .saturating_sub(self.opts.lateness_secs * 1_000_000);
            while self.reorder.first_time().is_some_and(|t| t <= ready) {
                if let Some(e) = self.reorder.pop() {
                    failed |= self.let_through(e);
                }
            }
        }
        if failed {
            return Err("the replay stopped".to_string());
        }
        Ok(())
    }

    /// Lets one event in time order through to the windows, handing over those it completes;
    /// true if the replay stopped.
    fn let_through(&mut self, e: Keyed) -> bool {
        let read = self.position.pass();
        let (to_score, to_replay) = (&self.to_score, &self.to_replay);
        let mut failed = false;
        self.feed.push(e, &mut |w| {
            failed |= hand_over(to_score, to_replay, w, read)
        });
        failed
    }

    /// The end of the logs: the events still waiting, then the last windows.
    ///
    /// # Errors
    /// The replay stopped.
    pub fn finish(mut self) -> Result<FeedEnd, String> {
        let mut failed = false;
        while let Some(e) = self.reorder.pop() {
            failed |= self.let_through(e);
        }
        let end = self.opts.until.unwrap_or(self.feed.now().unwrap_or(0) + 1);
        let read = self.position.pass();
        let (to_score, to_replay) = (&self.to_score, &self.to_replay);
        self.feed.finish(end, &mut |w| {
            failed |= hand_over(to_score, to_replay, w, read)
        });
        if failed {
            return Err("the replay stopped".to_string());
        }
        Ok(FeedEnd {
            end,
            filtered: self.filtered,
            filtered_span: self.filtered_span,
            late: self.feed.late_events,
        })
    }
}

/// Sends a complete window to be scored (its late events apart), then to be replayed; true if
/// the replay stopped. `read`: where in the logs the window ends ([`Window::read`]).
fn hand_over(to_score: &ToScore, to_replay: &SyncSender<Window>, mut w: Window, read: u64) -> bool {
    w.read = read;
    // The scoring thread ends only when the replay does; the replay then reports why.
    let _ = to_score.send(ToBeScored {
        end: w.end,
        events: Arc::clone(&w.events),
        late: std::mem::take(&mut w.late),
    });
    to_replay.send(w).is_err()
}

/// The key number of events without a bucket or a key.
pub const NO_KEY: u32 = u32::MAX;

fn read_so_far() -> u64 {
    crate::ingest::STORED_BYTES_READ.load(std::sync::atomic::Ordering::Relaxed)
}

/// Where the events the feed lets through are in the logs, in stored bytes read: the readers
/// hand over batches of up to 8,192 events (on a short log, a good part of it), so an event's
/// place is interpolated between the bytes read before its batch and after it.
#[derive(Debug)]
struct Position {
    /// (events taken by the end of a batch, bytes read by then), oldest first; the first one is
    /// at or before the events let through.
    marks: VecDeque<(u64, u64)>,
    taken: u64,
    /// Events let through (or filtered out) so far.
    passed: u64,
}

impl Position {
    fn new(read: u64) -> Position {
        Position {
            marks: VecDeque::from([(0, read)]),
            taken: 0,
            passed: 0,
        }
    }

    /// A batch of `n` events taken, with `read` bytes read by then.
    fn batch(&mut self, n: usize, read: u64) {
        self.taken += n as u64;
        self.marks.push_back((self.taken, read));
    }

    /// The bytes read up to the events let through so far; then one more is let through.
    fn pass(&mut self) -> u64 {
        while self.marks.len() > 1 && self.marks[1].0 <= self.passed {
            self.marks.pop_front();
        }
        let (e0, b0) = self.marks[0];
        let at = match self.marks.get(1) {
            Some(&(e1, b1)) if e1 > e0 => {
                b0 + (u128::from(b1.saturating_sub(b0)) * u128::from(self.passed - e0)
                    / u128::from(e1 - e0)) as u64
            }
            _ => b0,
        };
        self.passed += 1;
        at
    }
}

/// Numbers every distinct (bucket, key) in order of first sight.
#[derive(Debug, Default)]
pub struct KeyIds {
    /// Bucket name → its keys' numbers.
    buckets: HashMap<String, HashMap<Box<str>, u32>>,
    next: u32,
}

impl KeyIds {
    /// The key numbers of a batch of events, in order ([`NO_KEY`] for bucket-level events).
    pub fn of_batch(&mut self, batch: &[AccessEvent]) -> Vec<u32> {
        batch.iter().map(|e| self.of(e)).collect()
    }

    fn of(&mut self, e: &AccessEvent) -> u32 {
        let Some(key) = e.key.as_deref() else {
            return NO_KEY;
        };
        if e.bucket.is_empty() || self.next == NO_KEY {
            return NO_KEY;
        }
        if !self.buckets.contains_key(e.bucket.as_str()) {
            self.buckets.insert(e.bucket.clone(), HashMap::new());
        }
        let Some(keys) = self.buckets.get_mut(e.bucket.as_str()) else {
            return NO_KEY;
        };
        if let Some(&id) = keys.get(key) {
            return id;
        }
        let id = self.next;
        keys.insert(key.into(), id);
        self.next += 1;
        id
    }
}

/// An event and its key number.
pub type Keyed = (AccessEvent, u32);

/// The reorder buffer: events in order of time, then of arrival (stable). Events that arrive in
/// time order (most of them) queue in a run; the others go to a heap of small keys whose events
/// wait in a slab, so that reordering moves keys, not events (an event is a few hundred bytes;
/// moving events up and down a heap was a tenth of a replay's time). The next event out is the
/// earlier of the run's first and the heap's first.
#[derive(Debug, Default)]
pub struct Reorder {
    /// (time in µs, arrival, event), in order of both.
    run: VecDeque<(i64, u64, Keyed)>,
    /// (time in µs, arrival, slot in `slab`).
    heap: BinaryHeap<Reverse<(i64, u64, u32)>>,
    slab: Vec<Option<Keyed>>,
    /// Empty slots of `slab`.
    free: Vec<u32>,
    arrivals: u64,
}

impl Reorder {
    pub fn push(&mut self, e: Keyed) {
        let (t, arrival) = (e.0.time_us, self.arrivals);
        self.arrivals += 1;
        if self.run.back().is_none_or(|last| last.0 <= t) {
            self.run.push_back((t, arrival, e));
            return;
        }
        let slot = match self.free.pop() {
            Some(i) => {
                self.slab[i as usize] = Some(e);
                i
            }
            None => {
                self.slab.push(Some(e));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Reverse((t, arrival, slot)));
    }

    /// Whether the next event out comes from the heap rather than the run.
    fn heap_first(&self) -> bool {
        match (self.run.front(), self.heap.peek()) {
            (Some(r), Some(Reverse(h))) => (h.0, h.1) < (r.0, r.1),
            (None, Some(_)) => true,
            _ => false,
        }
    }

    /// The time of the next event out.
    pub fn first_time(&self) -> Option<i64> {
        if self.heap_first() {
            self.heap.peek().map(|Reverse(k)| k.0)
        } else {
            self.run.front().map(|r| r.0)
        }
    }

    pub fn pop(&mut self) -> Option<Keyed> {
        if !self.heap_first() {
            return self.run.pop_front().map(|r| r.2);
        }
        let Reverse((_, _, slot)) = self.heap.pop()?;
        self.free.push(slot);
        self.slab.get_mut(slot as usize).and_then(Option::take)
    }
}

/// One scoring window's events, as the replay closes it.
#[derive(Debug)]
pub struct Window {
    /// The window's end (unix seconds), as the replay passes it to its close.
    pub end: i64,
    /// Shared with the behaviour model's thread.
    pub events: Arc<Vec<AccessEvent>>,
    /// The events' key numbers.
    pub keys: Vec<u32>,
    /// The late events (moved to the current time): their indices in `events`, in order, and
    /// their own times (µs), at which the behaviour model scores them.
    pub late: Vec<(u32, i64)>,
    /// What the log readers had read when the window was complete
    /// ([`crate::ingest::STORED_BYTES_READ`]): where the replay is in the logs, for the progress
    /// bar, once the window is replayed (the readers themselves run ahead).
    pub read: u64,
}

/// Late events moved to the current time, then events grouped into the replay's windows.
#[derive(Debug)]
pub struct Feed {
    window_secs: i64,
    /// The newest event time so far (seconds): the replay's clock.
    now: Option<i64>,
    window_start: i64,
    events: Vec<AccessEvent>,
    keys: Vec<u32>,
    /// The open window's late events ([`Window::late`]).
    late: Vec<(u32, i64)>,
    /// Events replayed later than the reorder window allowed (moved to `now`).
    pub late_events: u64,
}

impl Feed {
    pub fn new(window_secs: i64) -> Feed {
        Feed {
            window_secs,
            now: None,
            window_start: 0,
            events: Vec::new(),
            keys: Vec::new(),
            late: Vec::new(),
            late_events: 0,
        }
    }

    /// Takes the next event in time order; `closed` receives every window it completes.
    pub fn push(&mut self, (mut e, key): Keyed, closed: &mut dyn FnMut(Window)) {
        let mut t = e.time_us.div_euclid(1_000_000);
        let now = match self.now {
            Some(now) => now,
            None => {
                self.window_start = t - t.rem_euclid(self.window_secs);
                t
            }
        };
        let late = (t < now).then_some(e.time_us);
        if late.is_some() {
            self.late_events += 1;
            t = now;
            e.time_us = t * 1_000_000;
        }
        self.now = Some(t);
        self.close_until(t, closed);
        if let Some(own) = late {
            self.late.push((self.events.len() as u32, own));
        }
        self.events.push(e);
        self.keys.push(key);
    }

    /// The replay's clock: the newest event time, if any.
    pub fn now(&self) -> Option<i64> {
        self.now
    }

    /// Completes every window that ends at or before `t`.
    fn close_until(&mut self, t: i64, closed: &mut dyn FnMut(Window)) {
        while self.window_start + self.window_secs <= t {
            self.window_start += self.window_secs;
            self.close(self.window_start, closed);
        }
    }

    fn close(&mut self, end: i64, closed: &mut dyn FnMut(Window)) {
        closed(Window {
            end,
            events: Arc::new(std::mem::take(&mut self.events)),
            keys: std::mem::take(&mut self.keys),
            late: std::mem::take(&mut self.late),
            read: 0,
        });
    }

    /// Ends the replay at `until` (at least the clock): the windows up to it, then the last
    /// partial one, as [`super::Sim`]'s finish closes them. Nothing to close without events.
    pub fn finish(&mut self, until: i64, closed: &mut dyn FnMut(Window)) {
        let Some(now) = self.now else {
            return;
        };
        let end = until.max(now);
        self.close_until(end, closed);
        let last = (self.window_start + self.window_secs).min(end.max(self.window_start));
        self.close(last, closed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t: i64, key: &str) -> AccessEvent {
        AccessEvent {
            time_us: t,
            bucket: "b".into(),
            key: Some(key.into()),
            ..AccessEvent::default()
        }
    }

    #[test]
    fn an_events_place_in_the_logs_is_interpolated_within_its_batch() {
        let mut p = Position::new(100);
        p.batch(10, 1_100);
        let first: Vec<u64> = (0..10).map(|_| p.pass()).collect();
        assert_eq!(first, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000]);
        // The readers run two batches ahead: the events of the first are still placed in it.
        p.batch(5, 1_600);
        p.batch(5, 2_100);
        assert_eq!(p.pass(), 1_100);
        assert_eq!(p.pass(), 1_200);
        for _ in 0..8 {
            p.pass();
        }
        // Every event let through: the bytes read by the last batch.
        assert_eq!(p.pass(), 2_100);
    }

    #[test]
    fn the_reorder_buffer_gives_events_by_time_then_arrival_and_reuses_its_slots() {
        let mut b = Reorder::default();
        for (t, k) in [(30, "a"), (10, "b"), (30, "c"), (20, "d")] {
            b.push((ev(t, k), 0));
        }
        assert_eq!(b.first_time(), Some(10));
        let first: Vec<_> = (0..2).filter_map(|_| b.pop()).collect();
        b.push((ev(5, "e"), 0));
        b.push((ev(30, "f"), 0));
        let rest: Vec<_> = std::iter::from_fn(|| b.pop()).collect();
        let keys: Vec<_> = first
            .iter()
            .chain(&rest)
            .map(|e| e.0.key.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(keys, ["b", "d", "e", "a", "c", "f"]);
        assert_eq!(
            b.slab.len(),
            2,
            "out-of-order events wait in the slab, its slots reused"
        );
        assert_eq!(b.first_time(), None);
    }

    #[test]
    fn key_numbers_name_each_bucket_and_key_once() {
        let mut ids = KeyIds::default();
        let mut other = ev(0, "k");
        other.bucket = "c".into();
        let mut bucket_level = ev(0, "");
        bucket_level.key = None;
        let batch = [ev(0, "k"), ev(0, "j"), other, ev(0, "k"), bucket_level];
        assert_eq!(ids.of_batch(&batch), [0, 1, 2, 0, NO_KEY]);
    }

    #[test]
    fn windows_follow_the_replay_clock_empty_ones_and_late_events_included() {
        let s = 1_000_000;
        let mut feed = Feed::new(300);
        let mut windows = Vec::new();
        let mut closed = |w: Window| {
            let times: Vec<i64> = w.events.iter().map(|e| e.time_us / s).collect();
            windows.push((w.end, times));
        };
        for t in [610, 700, 650, 1500] {
            feed.push((ev(t * s, "k"), 0), &mut closed);
        }
        feed.finish(1700, &mut closed);
        assert_eq!(feed.late_events, 1);
        assert!(feed.late.is_empty(), "handed over with its window");
        assert_eq!(
            windows,
            [
                (900, vec![610, 700, 700]),
                (1200, vec![]),
                (1500, vec![]),
                (1700, vec![1500]),
            ]
        );
    }

    /// Feeds `times` (seconds; key `k<t>`) in one batch with an hour's lateness; returns the
    /// late count and, per window handed to the model, the keys it scores with the window, then
    /// the late ones it scores apart, as `key@own time`.
    fn feed_one_batch(times: &[i64]) -> (u64, Vec<Vec<String>>) {
        let (to_score, scored) = std::sync::mpsc::channel();
        let (to_replay, replayed) = std::sync::mpsc::sync_channel(64);
        let (_done, done_rx) = std::sync::mpsc::channel();
        let opts = FeedOptions {
            from: None,
            until: None,
            lateness_secs: 3_600,
            window_secs: 300,
        };
        let mut feeder = Feeder::new(opts, to_score, to_replay, done_rx);
        let batch = times
            .iter()
            .map(|t| ev(t * 1_000_000, &format!("k{t}")))
            .collect();
        feeder.take(batch).unwrap();
        let end = feeder.finish().unwrap();
        drop(replayed);
        let keys = scored
            .iter()
            .map(|w: ToBeScored| {
                let late = w
                    .late_events()
                    .into_iter()
                    .map(|e| format!("{}@{}", e.key.unwrap_or_default(), e.time_us / 1_000_000));
                w.scored()
                    .iter()
                    .map(|e| e.key.clone().unwrap_or_default())
                    .chain(late)
                    .collect()
            })
            .filter(|k: &Vec<String>| !k.is_empty())
            .collect();
        (end.late, keys)
    }

    #[test]
    fn an_event_later_than_the_lateness_is_scored_apart_at_its_own_time_even_within_one_batch() {
        // 1000 arrives after 9000: more than an hour behind the newest event read before it,
        // and 5000 was already replayed. The batch holds all four: the rule is per event.
        let (late, scored) = feed_one_batch(&[0, 5_000, 9_000, 1_000]);
        assert_eq!(late, 1);
        assert_eq!(
            scored,
            [
                vec!["k0".to_string()],
                vec!["k5000".into(), "k1000@1000".into()],
                vec!["k9000".into()]
            ],
            "the late event is replayed in the current window and scored apart at its own time"
        );
        // Within the lateness, it is put back in order and scored in its own window.
        let (late, scored) = feed_one_batch(&[0, 5_000, 6_000, 4_000]);
        assert_eq!(late, 0);
        assert_eq!(scored.concat(), ["k0", "k4000", "k5000", "k6000"]);
    }
}
