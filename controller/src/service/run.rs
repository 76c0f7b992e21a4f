//! `tierd run`: the signals, the HTTP endpoint's start, and the loop of cycles until a stop; the
//! cycle itself is [`Service::cycle`].

use super::*;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::Signal;

/// The target of the service's start and stop lines, which the default log filter shows
/// (`tierd::lifecycle=info`): under systemd the journal says when tierd started and stopped.
pub const LIFECYCLE: &str = "tierd::lifecycle";

/// The SIGHUP catcher [`catch_early_sighup`] installed, until [`signals`] replaces it, and whether
/// it caught one.
static EARLY_HUP: std::sync::Mutex<Option<(signal_hook::SigId, Arc<AtomicBool>)>> =
    std::sync::Mutex::new(None);

/// For `tierd run` (the first argument is `run`): from now on a SIGHUP is caught, so that one
/// sent as the process starts does not end it by the signal's default action before [`run`]
/// installs the service's own handler (which needs the runtime `main` builds after parsing the
/// command line and setting up logging). Call it first thing in `main`. What such an early
/// SIGHUP asks for is done anyway: the policy is read, and the decision log opened, after it.
/// Other commands keep SIGHUP's default action (a closed terminal ends them).
pub fn catch_early_sighup() {
    if std::env::args_os().nth(1).is_none_or(|a| a != "run") {
        return;
    }
    let seen = Arc::new(AtomicBool::new(false));
    // (Should it fail, `run` reports the same failure as it installs its own handler.)
    if let Ok(id) = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&seen)) {
        *early_hup() = Some((id, seen));
    }
}

fn early_hup() -> std::sync::MutexGuard<'static, Option<(signal_hook::SigId, Arc<AtomicBool>)>> {
    EARLY_HUP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Turns SIGTERM and SIGINT into a [`Shutdown`](crate::shutdown::Shutdown) request (see
/// [`crate::shutdown::on_stop_signals`]: a second one ends the process at once), and returns
/// it with the SIGHUP stream. Installed before anything slow: from here on none of these signals
/// ends the process by its default action (a SIGHUP received during start-up waits in the stream
/// until the service runs).
///
/// # Errors
/// A signal handler cannot be installed.
fn signals() -> anyhow::Result<(crate::shutdown::Shutdown, Signal)> {
    let notices = crate::shutdown::Notices {
        first: |name| {
            tracing::info!(
                target: LIFECYCLE,
                signal = name,
                "stop requested: no new move or snapshot starts; moves in flight finish (a second SIGTERM or SIGINT stops at once)"
            );
        },
        second: |name, code| {
            tracing::warn!(
                signal = name,
                exit_code = code,
                "second stop signal: exiting at once; recovery finishes or undoes any move in flight at the next start"
            );
        },
    };
    let (shutdown, _) = crate::shutdown::on_stop_signals(notices)
        .context("installing the SIGTERM and SIGINT handlers")?;
    let hup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    if let Some((early, seen)) = early_hup().take() {
        signal_hook::low_level::unregister(early);
        if seen.load(Ordering::SeqCst) {
            tracing::info!(
                "SIGHUP received as tierd started, before the configuration was read: nothing to reload yet"
            );
        }
    }
    Ok((shutdown, hup))
}

/// Waits for `work`; once `shutdown` is asked for, for at most `grace` more. `None` when the
/// grace ran out (then `work` is dropped at its current step, as a crash would leave it: every
/// step before is journalled).
async fn until_stopped<T>(
    work: impl std::future::Future<Output = T>,
    shutdown: &crate::shutdown::Shutdown,
    grace: Duration,
) -> Option<T> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => return Some(r),
        () = shutdown.requested() => {}
    }
    tokio::time::timeout(grace, &mut work).await.ok()
}

/// Runs the service until SIGTERM or SIGINT (or one cycle with `--once`).
///
/// # Errors
/// Start-up failures (configuration, policy, journal, tiers); a cycle's failure is logged and
/// the service carries on.
pub async fn run(opts: RunOptions) -> anyhow::Result<ExitCode> {
    let (shutdown, mut hup) = signals()?;
    tracing::info!(pid = std::process::id(), "tierd starting");
    let config = crate::cli::common::load_config(opts.config.as_deref())?;
    let interval = Duration::from_secs(config.service.ingest_interval_secs.max(1));
    let grace = Duration::from_secs(config.service.shutdown_timeout_secs);
    let listen = config.service.listen.clone();
    let token_env = config.service.webhook_token_env.clone();
    // Before the endpoint: a second `tierd run` on this journal is refused naming the first.
    let mover_lock = crate::journal::lock::MoverLock::acquire(&config.journal_path, "run")?;
    let metrics = Arc::new(Metrics::new());
    let startup = Startup::starting("opening the journal and the tiers");
    // Listening before recovery, which may take long: `/healthz` answers meanwhile.
    let mut endpoint = match &listen {
        Some(addr) => Some(
            endpoint::Endpoint::open(addr, token_env.as_deref(), metrics.clone(), startup.clone())
                .await?,
        ),
        None => None,
    };
    let ctx = StartContext {
        shutdown: shutdown.clone(),
        metrics,
        startup,
        mover_lock: Some(mover_lock),
    };
    // Recovery may take long against a slow store: a stop is heeded between its moves.
    let started = until_stopped(Service::start(config, ctx), &shutdown, grace).await;
    let mut svc = match started {
        Some(Ok(Some(svc))) => svc,
        Some(Err(e)) => return Err(e),
        Some(Ok(None)) => {
            tracing::info!(target: LIFECYCLE, "tierd stopped during start-up; recovery resumes at the next start");
            return Ok(ExitCode::SUCCESS);
        }
        None => {
            tracing::warn!(
                "shutdown timeout: stopped during start-up; recovery finishes or undoes any move in flight at the next start"
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    if let Some(e) = &mut endpoint {
        e.running(&mut svc);
    }
    if !opts.once {
        svc.list_in_background();
    }
    tracing::info!(target: LIFECYCLE, once = opts.once, "tierd started");
    // Whether anomalies can be seen from the first cycle (a trained model) or not yet.
    svc.note_model();
    let mut code = ExitCode::SUCCESS;
    // A stop asked for during start-up: no cycle starts.
    while !shutdown.is_requested() {
        // A stop during a cycle: the executor starts nothing new, and the step in hand may
        // finish within the timeout.
        let Some(result) = until_stopped(svc.cycle(), &shutdown, grace).await else {
            tracing::warn!(
                "shutdown timeout: stopped mid-cycle; recovery finishes or undoes any move in flight at the next start"
            );
            break;
        };
        match result {
            Ok(r) => {
                let moves_held = serde_json::to_string(&r.moves_held)?;
                tracing::info!(
                    events = r.events,
                    bad_lines = r.bad_lines,
                    decisions = r.decisions,
                    moves_done = r.moves_done,
                    moves_failed = r.moves_failed,
                    moves_skipped = r.moves_skipped,
                    not_started = r.not_started,
                    snapshots = r.snapshots,
                    open_freezes = r.open_freezes,
                    open_incidents = r.open_incidents,
                    unreadable_logs = r.unreadable_logs.len(),
                    unlisted = r.unlisted.len(),
                    moves_held = %moves_held,
                    "cycle done"
                );
                if opts.once {
                    println!("{}", serde_json::to_string(&r)?);
                    if !r.unreadable_logs.is_empty() {
                        eprintln!("error: some logs could not be read; see the report above");
                        code = ExitCode::FAILURE;
                    }
                    if !r.unlisted.is_empty() {
                        eprintln!("error: some tiers could not be listed; see the report above");
                        code = ExitCode::FAILURE;
                    }
                }
            }
            Err(e) => {
                tracing::error!("cycle failed: {e:#}");
                if opts.once {
                    eprintln!("error: the cycle failed: {e:#}");
                    code = ExitCode::FAILURE;
                }
            }
        }
        if shutdown.is_requested() || opts.once {
            break;
        }
        if svc.policy_changed() {
            svc.reload();
        }
        svc.check_config_edit();
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            () = shutdown.requested() => break,
            _ = hup.recv() => {
                svc.reload();
                // An operator's signal asks for a look now: the cycle it starts plans, with the
                // new policy or (refused) the last good one.
                svc.plan_now();
                if let Err(e) = svc.log.reopen() {
                    tracing::error!("reopening the decision log: {e}");
                }
            }
        }
    }
    if let Some(e) = endpoint {
        e.close().await;
    }
    svc.stop_listing().await;
    // Events the webhook accepted since the last cycle: into the access history, not lost.
    let mut late = Vec::new();
    if let Some(rx) = &mut svc.audit {
        while let Ok(batch) = rx.try_recv() {
            late.extend(batch);
        }
    }
    late.sort_by_key(|e| e.time_us);
    if let Err(e) = svc.take_in(&late) {
        tracing::error!("saving the access history: {e:#}");
    }
    tracing::info!(target: LIFECYCLE, "tierd stopped");
    Ok(code)
}
