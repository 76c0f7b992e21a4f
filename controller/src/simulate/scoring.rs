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
}

/// Where windows go to be scored: the window's end and its events.
pub type ToScore = Sender<(i64, Arc<Vec<AccessEvent>>)>;

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
        let (windows, todo) = channel::<(i64, Arc<Vec<AccessEvent>>)>();
        // Unbounded both ways: the thread only ever waits for windows, so neither side can
        // block the other; windows are sent at most a few ahead of the replay.
        let (done, scored) = channel();
        let thread = std::thread::Builder::new()
            .name("tierd-scoring".into())
            .spawn(move || {
                for (end, events) in todo {
                    let scores = model.window(&events).map_err(|e| e.to_string());
                    drop(events);
                    let model = model.describe();
                    if done.send(Scored { end, scores, model }).is_err() {
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
