//! A request to stop, made once (the first SIGTERM or SIGINT to `tierd run`, `tierd move` or
//! `tierd recall`, see [`on_stop_signals`]; a second one ends the process without asking anyone)
//! and heeded at safe points by whatever holds a [`Shutdown`]: recovery between moves, the cycle
//! before it lists or plans, the executor before it starts a move or a snapshot.
//!
//! # Guarantees
//! Nothing is cut short by the request itself: it only stops new work from starting. A move in
//! flight goes on to its end (or to a journalled step, should the process end first); what never
//! started is left for the next start to decide again.

use std::sync::{Arc, OnceLock};

use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// The side that asks for the stop.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// The side that heeds it. Cheap to clone; every clone sees the same request.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// A new trigger and the [`Shutdown`] it sets.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Asks for the stop (again is harmless).
    pub fn request(&self) {
        self.tx.send_replace(true);
    }
}

impl Shutdown {
    /// A shutdown that is never asked for (the commands other than `tierd run`).
    pub fn never() -> Shutdown {
        channel().1
    }

    /// Whether a stop was asked for.
    pub fn is_requested(&self) -> bool {
        *self.rx.borrow()
    }

    /// Completes once a stop is asked for (at once if it was already); never, if it never is.
    pub async fn requested(&self) {
        let mut rx = self.rx.clone();
        if rx.wait_for(|s| *s).await.is_err() {
            // The trigger is gone without asking: nothing can ask any more.
            std::future::pending::<()>().await;
        }
    }
}

/// Which stop signal asked for the stop, once one did (see [`on_stop_signals`]).
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<OnceLock<&'static str>>);

impl StopSignal {
    /// `SIGINT` or `SIGTERM`; `None` while no stop signal came.
    pub fn name(&self) -> Option<&'static str> {
        self.0.get().copied()
    }

    /// The exit status that tells a shell the signal ended the command (130 for SIGINT, 143
    /// for SIGTERM); `None` while no stop signal came.
    pub fn exit_code(&self) -> Option<u8> {
        self.name().map(exit_code)
    }
}

/// The exit status of a process a stop signal ended: 128 + the signal's number, as a shell
/// reports it (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code(signal: &str) -> u8 {
    match signal {
        "SIGINT" => 130,
        _ => 143,
    }
}

/// What [`on_stop_signals`] tells the operator (through the log) at each signal.
#[derive(Debug, Clone, Copy)]
pub struct Notices {
    /// At the first signal (its name): the stop is asked for.
    pub first: fn(&'static str),
    /// At the second (its name, the exit status): the process ends at once.
    pub second: fn(&'static str, u8),
}

/// Turns SIGTERM and SIGINT into a [`Shutdown`] request: from here on neither ends the process
/// by its default action. The first asks for the stop (and is remembered in the
/// [`StopSignal`]); a second one ends the process at once with [`exit_code`], leaving what was
/// in flight as a crash would: every step before is journalled, and recovery finishes or undoes
/// it. Call it inside the runtime.
///
/// # Errors
/// A signal handler cannot be installed.
pub fn on_stop_signals(notices: Notices) -> std::io::Result<(Shutdown, StopSignal)> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (trigger, shutdown) = channel();
    let seen = StopSignal::default();
    let first = seen.clone();
    tokio::spawn(async move {
        let name = stop_signal(&mut term, &mut int).await;
        let _ = first.0.set(name);
        (notices.first)(name);
        trigger.request();
        let name = stop_signal(&mut term, &mut int).await;
        let code = exit_code(name);
        (notices.second)(name, code);
        std::process::exit(i32::from(code));
    });
    Ok((shutdown, seen))
}

/// The next SIGTERM or SIGINT: its name.
async fn stop_signal(term: &mut Signal, int: &mut Signal) -> &'static str {
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::never()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_is_seen_by_every_clone_made_before_or_after_it() {
        let (trigger, early) = channel();
        assert!(!early.is_requested());
        let waiting = tokio::spawn({
            let s = early.clone();
            async move { s.requested().await }
        });
        trigger.request();
        waiting.await.unwrap();
        let late = early.clone();
        assert!(late.is_requested());
        late.requested().await;
        drop(trigger);
        early.requested().await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_never_asked_for_never_completes() {
        let s = Shutdown::never();
        let waited = tokio::time::timeout(std::time::Duration::from_secs(3600), s.requested());
        assert!(waited.await.is_err());
        assert!(!s.is_requested());
    }
}
