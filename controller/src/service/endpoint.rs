//! The service's HTTP endpoint ([`crate::http`]) on `service.listen`: opened before start-up's
//! recovery, so that `/healthz` answers (and `/readyz` says the service is starting) during a
//! long one; ready once the service runs.

use std::sync::OnceLock;

use tokio::sync::{mpsc, watch};

use super::*;

/// The endpoint while it serves.
pub(super) struct Endpoint {
    /// Says the endpoint is to stop (then it drains, see [`crate::http::serve`]).
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The readiness checks of the running service, set by [`Endpoint::running`].
    ready: Arc<OnceLock<ReadyFn>>,
    /// The webhook's events, handed to the service once it runs (the webhook takes none before).
    audit: Option<mpsc::Receiver<Vec<AccessEvent>>>,
    startup: Startup,
}

impl Endpoint {
    /// Listens on `addr` and serves: `/metrics` from `metrics`, `/readyz` and the webhook saying
    /// the service is starting until [`Endpoint::running`].
    ///
    /// # Errors
    /// `addr` cannot be bound; `token_env` names a variable that is not set.
    pub(super) async fn open(
        addr: &str,
        token_env: Option<&str>,
        metrics: Arc<Metrics>,
        startup: Startup,
    ) -> anyhow::Result<Endpoint> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("service.listen: cannot listen on {addr}"))?;
        let token = match token_env {
            Some(var) => Some(std::env::var(var).with_context(|| {
                format!("service.webhook_token_env names {var}, which is not set")
            })?),
            None => None,
        };
        let (tx, rx) = mpsc::channel::<Vec<AccessEvent>>(64);
        let ready = Arc::new(OnceLock::<ReadyFn>::new());
        let checks = Arc::clone(&ready);
        let state = Arc::new(HttpState {
            metrics,
            // (Not asked while the service starts: `/readyz` says so without checks.)
            ready: Arc::new(move || match checks.get() {
                Some(f) => f(),
                None => Box::pin(async { Vec::new() }),
            }),
            audit: Some(tx),
            audit_token: token,
            max_body_bytes: 8 << 20,
            clock: Arc::new(now),
            startup: startup.clone(),
        });
        let (stop, mut stop_rx) = watch::channel(false);
        tracing::info!(%addr, "HTTP endpoint listening");
        let task = tokio::spawn(crate::http::serve(listener, state, async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        }));
        Ok(Endpoint {
            stop,
            task,
            ready,
            audit: Some(rx),
            startup,
        })
    }

    /// The service runs: `/readyz` checks it, and the webhook's events go to it.
    pub(super) fn running(&mut self, svc: &mut Service) {
        let _ = self.ready.set(readiness(svc));
        svc.audit = self.audit.take();
        self.startup.done();
    }

    /// Stops serving, once the requests in flight are answered.
    pub(super) async fn close(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// `/readyz`: every tier answers a listing, and the journal takes a write lock; the service's
/// [`Warnings`](super::Warnings) (a refused policy edit, ...) are warnings: still ready.
fn readiness(svc: &Service) -> ReadyFn {
    let ex = Arc::clone(&svc.executor);
    let warnings = svc.warnings.clone();
    type Probe = (String, Result<Arc<dyn object_store::ObjectStore>, String>);
    let tiers: Vec<Probe> = svc
        .config
        .tiers
        .iter()
        .filter(|t| !t.url.contains(crate::tier::BUCKET_PLACEHOLDER))
        .map(|t| {
            (
                t.name.clone(),
                crate::tier::open_tier(t).map_err(|e| e.to_string()),
            )
        })
        .collect();
    Arc::new(move || {
        let ex = Arc::clone(&ex);
        let tiers = tiers.clone();
        let warned = warnings.all();
        Box::pin(async move {
            // Side by side, each within its own limit (under the answer's): a store that hangs
            // or refuses connections (its client retrying) is named, not the whole answer lost.
            let limit = crate::http::READY_TIMEOUT.mul_f64(0.8);
            let root = object_store::path::Path::default();
            let root = &root;
            let probes = tiers.iter().map(|(name, store)| async move {
                match store {
                    Ok(s) => {
                        let probe = check_tier(name, s, root, TierAccess::Read);
                        tokio::time::timeout(limit, probe)
                            .await
                            .unwrap_or_else(|_| Check {
                                name: format!("tier {name}"),
                                ok: false,
                                warn: false,
                                detail: format!(
                                    "no answer within {}s (the store hangs, or refuses connections and its client is retrying)",
                                    limit.as_secs_f64()
                                ),
                            })
                    }
                    Err(e) => Check {
                        name: format!("tier {name}"),
                        ok: false,
                        warn: false,
                        detail: e.clone(),
                    },
                }
            });
            let mut out = futures::future::join_all(probes).await;
            let journal = tokio::task::spawn_blocking(move || ex.journal().check_writable())
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            out.push(Check {
                name: "journal".into(),
                ok: journal.is_ok(),
                warn: false,
                detail: journal.map_or_else(|e| e, |()| "writable".into()),
            });
            out.extend(warned.into_iter().map(|(name, detail)| Check {
                name: name.into(),
                ok: true,
                warn: true,
                detail,
            }));
            out
        })
    })
}
