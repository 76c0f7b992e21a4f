//! A request to stop, made once (the first SIGTERM or SIGINT to `tierd run`; a second one ends
//! the process without asking anyone) and heeded at safe points by
//! whatever holds a [`Shutdown`]: recovery between moves, the cycle before it lists or plans, the
//! executor before it starts a move or a snapshot.
//!
//! # Guarantees
//! Nothing is cut short by the request itself: it only stops new work from starting. A move in
//! flight goes on to its end (or to a journalled step, should the process end first); what never
//! started is left for the next start to decide again.

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
