//! The behaviour model on its own thread during a replay: it scores each window as soon as the
//! feed completes it ([`super::feed::Feeder`], on the log reader's thread), while the replay is
//! still applying earlier windows' events and running its planning passes; the replay takes the
//! scores when its clock closes the window.
//!
//! # Guarantees
//! The model sees the same windows, in the same order, as when the replay scored them itself:
//! scores and model names are the same whatever the threads' timing. The replay waits for a
//! window's scores; it never guesses them.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use models::AccessEvent;
use models::detect::SubjectScore;

use super::model::ModelState;

/// A window's scores (or why scoring failed) and the model's name after it.
#[derive(Debug)]
pub struct Scored {
    /// The window's end, to check that the replay and the feed agree.
    pub end: i64,
    pub scores: Result<Vec<SubjectScore>, String>,
    pub model: String,
    /// The model's warnings while scoring it ([`ModelState::take_notices`]).
    pub notices: Vec<String>,
}

/// A window to be scored.
#[derive(Debug)]
pub struct ToBeScored {
    /// The window's end (unix seconds).
    pub end: i64,
    /// Its events, shared with the replay.
    pub events: Arc<Vec<AccessEvent>>,
    /// The late events: their indices in `events` (in order) and their own times (µs). They
    /// were moved to the current time, where the model would see a burst that never happened:
    /// it scores them apart, in the windows of their own time ([`ToBeScored::late_events`]).
    pub late: Vec<(u32, i64)>,
}

impl ToBeScored {
    /// The events the model sees: all but the late ones (copied only when there are some).
    pub fn scored(&self) -> std::borrow::Cow<'_, [AccessEvent]> {
        if self.late.is_empty() {
            return std::borrow::Cow::Borrowed(&self.events);
        }
        let mut late = self.late.iter().peekable();
        let on_time = self
            .events
            .iter()
            .enumerate()
            .filter(|(i, _)| late.next_if(|l| l.0 as usize == *i).is_none())
            .map(|(_, e)| e.clone())
            .collect();
        std::borrow::Cow::Owned(on_time)
    }

    /// The late events at their own times, in time order (then as read).
    pub fn late_events(&self) -> Vec<AccessEvent> {
        let mut late: Vec<AccessEvent> = self
            .late
            .iter()
            .filter_map(|&(i, own)| {
                let mut e = self.events.get(i as usize)?.clone();
                e.time_us = own;
                Some(e)
            })
            .collect();
        late.sort_by_key(|e| e.time_us);
        late
    }
}

/// Where windows go to be scored.
pub type ToScore = Sender<ToBeScored>;

/// The replay's end of the scoring thread.
#[derive(Debug)]
pub struct Scorer {
    scored: Receiver<Scored>,
    thread: Option<JoinHandle<()>>,
}

impl Scorer {
    /// Starts the thread that scores windows with `model`; windows are sent to the returned
    /// sender (the thread ends when it, and every clone, is dropped).
    ///
    /// # Errors
    /// The thread could not be started.
    pub fn spawn(mut model: ModelState) -> std::io::Result<(Scorer, ToScore)> {
        let (windows, todo) = channel::<ToBeScored>();
        // Unbounded both ways: the thread only ever waits for windows, so neither side can
        // block the other; windows are sent at most a few ahead of the replay.
        let (done, scored) = channel();
        let thread = std::thread::Builder::new()
            .name("tierd-scoring".into())
            .spawn(move || {
                for w in todo {
                    // The window's own events, then the late ones in the windows of their own
                    // time (as the service scores a log delivered late).
                    let late = w.late_events();
                    let scores = model.window(&w.scored()).and_then(|mut scores| {
                        if !late.is_empty() {
                            scores.extend(model.window(&late)?);
                        }
                        Ok(scores)
                    });
                    let scores = scores.map_err(|e| e.to_string());
                    let end = w.end;
                    drop(w);
                    let notices = model.take_notices();
                    let model = model.describe();
                    let scored = Scored {
                        end,
                        scores,
                        model,
                        notices,
                    };
                    if done.send(scored).is_err() {
                        return;
                    }
                }
            })?;
        Ok((
            Scorer {
                scored,
                thread: Some(thread),
            },
            windows,
        ))
    }

    /// The next window's scores, in the order the windows were handed over.
    ///
    /// # Errors
    /// The thread ended (it panicked) before scoring the window.
    pub fn next(&self) -> Result<Scored, String> {
        self.scored
            .recv()
            .map_err(|_| "the behaviour model's thread stopped".to_string())
    }

    /// Waits for the thread (once every sender is dropped).
    ///
    /// # Errors
    /// The thread panicked.
    pub fn join(mut self) -> Result<(), String> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Err(_)) => Err("the behaviour model's thread panicked".to_string()),
            _ => Ok(()),
        }
    }
}
