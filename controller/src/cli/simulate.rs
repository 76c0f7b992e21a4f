//! `tierd simulate`: what a policy would have done over past logs, why, and at what cost against
//! the fixed-rule baselines and an offline oracle.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::{Context, bail};

use crate::cli::common::{load_config, plural, runtime};
use crate::cli::ingest::{FormatArg, parse_format};
use crate::cli::output::{DECISIONS, Output, REPORT, Stdout, output_to, persist};
use crate::ingest::IngestOptions;
use crate::simulate::{self, Progress, SimOptions, SimReport};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The main configuration file (tiers, prices, policies, planner and model settings).
    /// Default: the embedded defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Log files, folders, globs or object-store URLs to replay (default: the configuration's
    /// ingest sources).
    #[arg(long = "logs", num_args = 1.., value_name = "PATH")]
    pub logs: Vec<String>,
    /// The log format, or auto to detect it per file.
    #[arg(long, default_value = "auto", value_parser = parse_format)]
    pub format: FormatArg,
    /// Policy files to simulate instead of the configuration's.
    #[arg(long = "policy", num_args = 1.., value_name = "FILE")]
    pub policy: Vec<String>,
    /// Replay events from this time (YYYY-MM-DD or RFC 3339, UTC).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<i64>,
    /// Replay events before this time.
    #[arg(long, value_parser = parse_time)]
    pub until: Option<i64>,
    /// Write every decision as a JSON line here (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a self-contained HTML report (SVG charts: cost over time against the baselines,
    /// bytes per tier, anomaly timelines with incidents and decisions, moves per day; tables of
    /// what became of the moves, the moves held back, the incidents, and the `--why` objects);
    /// `-` for stdout.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Print the summary as one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Show progress on stderr even where it is not shown by default (not a terminal,
    /// `--json`, `CI` set, `TERM=dumb`); off a terminal, one line per simulated day.
    #[arg(long)]
    pub progress: bool,
    /// Inventory listings (CSV, gzip or not, or an S3 Inventory Parquet report; see
    /// docs/simulate.md): objects that exist when the replay starts, including those the logs
    /// never name.
    #[arg(long = "inventory", num_args = 1.., value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
    /// Say why the replay moved this object or did not (repeatable, up to 20): its decisions,
    /// the guardrails that held its moves, each rule's tests at the last pass; after the
    /// summary, and in a section of the `--report` page. Exit status 1 when the replay never
    /// saw one of them.
    #[arg(long = "why", value_name = "BUCKET/KEY", value_parser = super::why::parse_why)]
    pub why: Vec<(String, String)>,
}

fn parse_time(s: &str) -> Result<i64, String> {
    let t = policies::facts::parse_utc(s).ok_or_else(|| match policies::facts::date_error(s) {
        Some(why) => format!("{s:?} is not a date: {why}"),
        None => format!("{s:?} is not a UTC time; write 2026-11-01 or 2026-11-01T12:00:00Z"),
    })?;
    // The times events may have (models::event): a replay walks every day up to --until, and
    // a year 9999 walked millennia.
    let (earliest, latest) = (
        models::event::EARLIEST_US / 1_000_000,
        models::event::LATEST_US / 1_000_000,
    );
    if (earliest..=latest).contains(&t) {
        Ok(t)
    } else {
        Err(format!(
            "{s:?} is outside 2000-01-01 to 2100-01-01, the times log records may have"
        ))
    }
}

/// Runs the simulation.
///
/// # Errors
/// Invalid configuration or policy (with every located diagnostic), unreadable logs or output.
pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    super::why::check_count(args.why.len())?;
    if let (Some(from), Some(until)) = (args.from, args.until) {
        anyhow::ensure!(
            from < until,
            "--from ({}) must be before --until ({}): nothing lies between them",
            policies::facts::format_utc(from),
            policies::facts::format_utc(until)
        );
    }
    let config = load_config(args.config.as_deref())?;
    let loaded = crate::policy::load(&config, &args.policy).map_err(|d| {
        let text: Vec<String> = d.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("the policy is not valid:\n{}", text.join("\n"))
    })?;
    // What `tierd check` warns of (a minimum residency shorter than a tier charges for) is
    // often what explains a replay's numbers.
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let sources = if args.logs.is_empty() {
        config.ingest_sources.clone()
    } else {
        args.logs.clone()
    };
    let tier_names: Vec<String> = config.tiers.iter().map(|t| t.name.clone()).collect();
    let listed = simulate::inventory::read(&args.inventory, &tier_names)?;
    for b in &listed.bad_shown {
        eprintln!("bad inventory line: {b}");
    }
    let opts = SimOptions {
        sources,
        ingest: IngestOptions {
            format: args.format.0.or(config.ingest_format),
            store_options: config.ingest_options.0.clone(),
            ..IngestOptions::default()
        },
        from: args.from,
        until: args.until,
        inventory: listed.objects,
        why: args.why.clone(),
    };
    // Where the decisions and the report go is settled before the replay: a folder that cannot
    // be written fails now, not after hours of replay.
    let is_stdout = |p: &Option<PathBuf>| p.as_deref().is_some_and(|p| p.as_os_str() == "-");
    if is_stdout(&args.out) && is_stdout(&args.report) {
        bail!("--out - and --report - cannot both write to stdout; give one of them a file");
    }
    let out_to = args
        .out
        .as_deref()
        .map(|p| output_to(p, &DECISIONS))
        .transpose()?;
    let report_to = args
        .report
        .as_deref()
        .map(|p| output_to(p, &REPORT))
        .transpose()?;
    let rt = runtime()?;
    // Set when the reader of `--out -` has gone (`| head`): the replay stops at its next
    // write, and the command ends quietly, as other commands do.
    let gone = std::rc::Rc::new(std::cell::Cell::new(false));
    let mut sink: Box<dyn Write> = match &out_to {
        None => Box::new(std::io::sink()),
        Some(Output::Stdout) => Box::new(std::io::BufWriter::new(Stdout(gone.clone()))),
        Some(Output::Through(p)) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        Some(Output::File(p, tmp)) => Box::new(std::io::BufWriter::new(
            tmp.as_file()
                .try_clone()
                .with_context(|| format!("creating {}", p.display()))?,
        )),
    };
    let tty = std::io::stderr().is_terminal();
    let show = args.progress
        || progress_wanted(
            tty,
            args.json,
            std::env::var_os("CI").is_some(),
            std::env::var_os("TERM").as_deref(),
        );
    // On a terminal that can show them, one line redrawn; elsewhere a line per day.
    let redraw = tty && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
    let draw = |line: String| {
        if redraw {
            eprint!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    };
    // The bar measures stored bytes read against the sources' sizes (listed once more here;
    // without them, the line shows counts only).
    let total = if show {
        stored_size(&opts.sources, &opts.ingest.store_options, rt.handle())
    } else {
        None
    };
    let (read_before, started) = (
        crate::ingest::STORED_BYTES_READ.load(Ordering::Relaxed),
        std::time::Instant::now(),
    );
    let mut progress = |p: &Progress| {
        if show {
            // Where the replay is in the logs: what had been read when its last window was
            // complete (the readers run ahead of it).
            let done = total.map(|t| p.read.saturating_sub(read_before) as f64 / t.max(1) as f64);
            draw(progress_line(p, done, started.elapsed()));
        }
    };
    let replayed = simulate::simulate(
        &config,
        Arc::new(loaded.policy),
        &opts,
        rt.handle(),
        &mut sink,
        &mut progress,
    );
    if show {
        // The last line: the replay's real end, the whole of the logs read.
        if let Ok(r) = &replayed {
            let end = Progress {
                events: r.events,
                event_time: r.until,
                decisions: r.decisions,
                read: 0,
            };
            draw(progress_line(&end, total.map(|_| 1.0), started.elapsed()));
        }
        if redraw {
            eprintln!();
        }
    }
    let mut report = match replayed {
        Ok(r) => r,
        Err(_) if gone.get() => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e),
    };
    sink.flush().context("writing the decisions")?;
    drop(sink);
    // Only a whole replay replaces an earlier decision file.
    if let Some(Output::File(path, tmp)) = out_to {
        persist(tmp, &path, "the decisions")?;
    }
    crate::cli::common::say_named_twice(&report.ingest);
    report.outcomes.decision_log = args.out.as_ref().map(|p| p.display().to_string());
    let html = report_to.as_ref().map(|_| {
        let context = report_context(&report, &config, &opts.sources, &args);
        let mut data = crate::simulate::report::report_data(&report, &config, context);
        data.why = super::why::report_objects(&report.why, &report.currency);
        crate::report::render(&data)
    });
    // The summary is printed before the report is written: a report that fails at the end
    // does not take the summary with it.
    let to_stdout = is_stdout(&args.out) || is_stdout(&args.report);
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    // A summary that cannot be printed (a pager that quit) does not cost the report.
    let printed = if args.json {
        if let Some(idle) = replayed_past_the_logs(&report) {
            eprintln!("warning: {idle}");
        }
        serde_json::to_writer(&mut out, &report)
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(writeln!(out)?))
    } else {
        print_summary(&report, &mut out)
            .and_then(|()| super::why::print(&report.why, &report.currency, &mut out))
            .map_err(anyhow::Error::from)
    };
    for b in report.ingest.bad_lines_shown.iter() {
        eprintln!("bad line: {b}");
    }
    match (report_to, html) {
        (Some(Output::Stdout), Some(html)) => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(html.as_bytes())?;
            stdout.flush()?;
        }
        (Some(Output::Through(path)), Some(html)) => {
            std::fs::write(&path, html)
                .with_context(|| format!("writing the report {}", path.display()))?;
        }
        (Some(Output::File(path, mut file)), Some(html)) => {
            file.write_all(html.as_bytes())
                .with_context(|| format!("writing the report {}", path.display()))?;
            persist(file, &path, "the report")?;
        }
        _ => {}
    }
    printed?;
    Ok(super::why::exit_code(&report.why))
}

/// The lines under the report's title: what was replayed, as the summary's first lines say it,
/// and the bad lines stderr shows.
fn report_context(
    r: &SimReport,
    config: &crate::config::Config,
    sources: &[String],
    args: &SimulateArgs,
) -> Vec<(String, String)> {
    let line = |k: &str, v: String| (k.to_string(), v);
    let mut context = vec![
        line(
            "configuration",
            config
                .path
                .as_ref()
                .map_or("embedded defaults".to_string(), |p| p.display().to_string()),
        ),
        line("logs", sources.join(", ")),
        line(
            "events",
            format!(
                "{} replayed ({} late, {} outside the time range, {}), {} objects",
                r.events,
                r.late_events,
                r.filtered_events,
                bad_lines(r.bad_lines),
                r.objects
            ),
        ),
    ];
    for b in &r.ingest.bad_lines_shown {
        context.push(line("bad line", b.to_string()));
    }
    if let Some(range) = time_range(args.from, args.until) {
        context.push(line("time range", range));
    }
    if r.inventory_objects > 0 {
        context.push(line(
            "inventory",
            format!(
                "{} objects placed at the start (written before it)",
                r.inventory_objects
            ),
        ));
    }
    context.push(line("model", r.model.clone()));
    for n in &r.model_notices {
        context.push(line("model warning", n.clone()));
    }
    context.extend([
        line(
            "incidents",
            crate::simulate::incidents::one_line(&r.incidents, MAX_INCIDENT_LINES),
        ),
        line("decisions", decisions_line(r)),
        line(
            "protection",
            format!(
                "vault copies of {} snapshots: {}, {} {} (not in the totals)",
                r.summaries.first().map_or(0, |s| s.ledger.snapshots),
                gb(r.vault_bytes),
                r.currency,
                money(r.protection, places(r))
            ),
        ),
    ]);
    if !args.policy.is_empty() {
        context.push(line("policies", args.policy.join(", ")));
    }
    if let Some(idle) = replayed_past_the_logs(r) {
        context.push(line("warning", idle));
    }
    context
}

/// Whether to draw the progress bar: on a terminal that can (not `TERM=dumb`, which shows its
/// escapes), unless `--json` is given or `CI` is set.
fn progress_wanted(tty: bool, json: bool, ci: bool, term: Option<&std::ffi::OsStr>) -> bool {
    tty && !json && !ci && term.is_none_or(|t| t != "dumb")
}

/// `1 bad line`, `2 bad lines`.
fn bad_lines(n: u64) -> String {
    plural(
        usize::try_from(n).unwrap_or(usize::MAX),
        "bad line",
        "bad lines",
    )
}

/// The `--from`/`--until` given, in words; `None` without either.
fn time_range(from: Option<i64>, until: Option<i64>) -> Option<String> {
    let fmt = policies::facts::format_utc;
    match (from, until) {
        (Some(f), Some(u)) => Some(format!("{} to {} (--from, --until)", fmt(f), fmt(u))),
        (Some(f), None) => Some(format!("from {} (--from)", fmt(f))),
        (None, Some(u)) => Some(format!("before {} (--until)", fmt(u))),
        (None, None) => None,
    }
}

/// Said when `--until` runs the clock more than a day past the newest event: every object
/// then looks idle and nothing is read back, which favours moving.
pub fn replayed_past_the_logs(r: &SimReport) -> Option<String> {
    let idle = r.until - r.last_event;
    (r.events > 0 && idle > 86_400).then(|| {
        format!(
            "the logs end at {}: the last {:.1} days to {} (--until) were replayed without an event, where every object looks idle and nothing is read back; that favours moving",
            policies::facts::format_utc(r.last_event),
            idle as f64 / 86_400.0,
            policies::facts::format_utc(r.until)
        )
    })
}

/// The decisions and their count by action: `1841 (8 alert, 1820 move, ...)`.
fn decisions_line(r: &SimReport) -> String {
    let by: Vec<String> = r
        .decisions_by_action
        .iter()
        .map(|(a, n)| format!("{n} {a}"))
        .collect();
    format!(
        "{} ({})",
        r.decisions,
        if by.is_empty() {
            "none".into()
        } else {
            by.join(", ")
        }
    )
}

/// Incidents listed on the terminal; `--json` has every one.
const MAX_INCIDENT_LINES: usize = 10;

/// The terminal summary: what was replayed, the decisions, and the cost table.
///
/// # Errors
/// Output errors.
pub fn print_summary(r: &SimReport, out: &mut dyn Write) -> std::io::Result<()> {
    let places = places(r);
    let fmt = policies::facts::format_utc;
    writeln!(
        out,
        "replayed {} events ({} late, {} outside the time range, {}) from {} to {}; {} objects",
        r.events,
        r.late_events,
        r.filtered_events,
        bad_lines(r.bad_lines),
        fmt(r.from),
        fmt(r.until),
        r.objects
    )?;
    if let Some(idle) = replayed_past_the_logs(r) {
        writeln!(out, "warning: {idle}")?;
    }
    if r.inventory_objects > 0 {
        writeln!(
            out,
            "inventory: {} objects placed at the start (written before it)",
            r.inventory_objects
        )?;
    }
    writeln!(
        out,
        "model: {}; incidents opened: {}",
        r.model, r.incidents_opened
    )?;
    for n in &r.model_notices {
        writeln!(out, "warning: {n}")?;
    }
    for line in crate::simulate::incidents::lines(&r.incidents, MAX_INCIDENT_LINES) {
        writeln!(out, "  incident {line}")?;
    }
    writeln!(out, "decisions: {}", decisions_line(r))?;
    let held: Vec<String> = crate::simulate::outcomes::per_pass(&r.deferred)
        .iter()
        .map(|(guardrail, n)| format!("{guardrail} {n}"))
        .collect();
    writeln!(
        out,
        "moves held back by guardrails (per pass): {}",
        held.join(", ")
    )?;
    crate::simulate::outcomes::print_held(&r.held_by_rule, out)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<44} {:>11} {:>10} {:>10} {:>9} {:>9} {:>11} {:>7} {:>7} {:>6} {:>5} {:>5} {:>5}",
        format!("strategy ({})", r.currency),
        "storage",
        "retrieval",
        "egress",
        "requests",
        "early del",
        "total",
        "moves",
        "recalls",
        "ping",
        "snap",
        "frz",
        "alert"
    )?;
    for s in &r.summaries {
        let c = &s.ledger.charges;
        let l = &s.ledger;
        writeln!(
            out,
            "{:<44} {:>11} {:>10} {:>10} {:>9} {:>9} {:>11} {:>7} {:>7} {:>6} {:>5} {:>5} {:>5}",
            s.strategy,
            money(c.storage, places),
            money(c.retrieval, places),
            money(c.egress, places),
            money(c.requests, places),
            money(c.early_deletion, places),
            money(s.total, places),
            l.moves,
            l.recalls,
            l.ping_pongs,
            l.snapshots,
            l.freezes,
            l.alerts
        )?;
    }
    writeln!(
        out,
        "{:<44} {:>11} {:>10} {:>10} {:>9} {:>9} {:>11}",
        "offline oracle (perfect knowledge)",
        "",
        "",
        "",
        "",
        "",
        money(r.oracle_total, places)
    )?;
    // What moving away cost when the objects were read again: the answer to "why did the
    // policy lose?" where it does.
    writeln!(
        out,
        "read-backs (client reads served from a colder tier; in the totals above):"
    )?;
    for s in &r.summaries {
        let l = &s.ledger;
        writeln!(
            out,
            "  {:<42} {:>9} reads {:>13} {:>11}",
            s.strategy,
            l.read_backs,
            gb(l.read_back_bytes),
            money(l.read_back_cost, places)
        )?;
    }
    crate::simulate::outcomes::print(r, places, out)?;
    writeln!(
        out,
        "protection (vault copies of {} snapshots, {}), not in the totals above: {}",
        r.summaries.first().map_or(0, |s| s.ledger.snapshots),
        gb(r.vault_bytes),
        money(r.protection, places)
    )?;
    if let Some(policy) = r.summaries.first() {
        let best = r.summaries[1..]
            .iter()
            .min_by(|a, b| a.total.total_cmp(&b.total));
        if let Some(best) = best {
            writeln!(out)?;
            let cur = &r.currency;
            writeln!(
                out,
                "policy vs best baseline ({}): {}; policy vs oracle: {}",
                best.strategy,
                compare(policy.total, best.total, cur),
                compare(policy.total, r.oracle_total, cur)
            )?;
        }
    }
    writeln!(
        out,
        "(the columns, the baselines, the oracle and the prices: docs/simulate.md, \"The summary\", or the page of --report)"
    )?;
    Ok(())
}

/// The policy's total `a` against `b`, as the report's "policy vs this" column shows it
/// ([`crate::report::compare`]).
fn compare(a: f64, b: f64, currency: &str) -> String {
    use crate::report::Comparison;
    match crate::report::compare(a, b) {
        Comparison::Percent(p) => format!("{p:+.1}%"),
        Comparison::TooSmall => format!("both under 0.0001 {currency}, too small to compare"),
        Comparison::Undefined => "no percentage of a zero total".to_string(),
    }
}

/// The decimal places of the summary's money: [`crate::report::money_places`] of its largest
/// total.
fn places(r: &SimReport) -> usize {
    let largest = r
        .summaries
        .iter()
        .map(|s| s.total.abs())
        .fold(r.oracle_total.abs(), f64::max);
    crate::report::money_places(largest)
}

/// Money to `places` decimals: `0.5712`, `123.46`.
fn money(v: f64, places: usize) -> String {
    format!("{v:.places$}")
}

/// Bytes in GB of 10^9 bytes, the unit prices are per: `2.270 GB`.
fn gb(bytes: u64) -> String {
    format!("{:.3} GB", bytes as f64 / 1e9)
}

/// The sum of the sizes of the log objects the sources name, if every source can be listed.
fn stored_size(
    sources: &[String],
    options: &std::collections::BTreeMap<String, String>,
    rt: &tokio::runtime::Handle,
) -> Option<u64> {
    let mut total = 0;
    for src in sources {
        total += crate::ingest::list(src, options, rt)
            .ok()?
            .iter()
            .map(|o| o.size)
            .sum::<u64>();
    }
    (total > 0).then_some(total)
}

/// One line of progress: a bar with the share of the logs read (`done`, when the sources'
/// sizes are known) and the time left at the pace so far, then the counts.
fn progress_line(p: &Progress, done: Option<f64>, elapsed: std::time::Duration) -> String {
    let counts = format!(
        "{}, up to {}, {}",
        super::common::plural(p.events as usize, "event", "events"),
        policies::facts::format_utc(p.event_time),
        super::common::plural(p.decisions as usize, "decision", "decisions")
    );
    let Some(done) = done else {
        return format!("simulating: {counts}");
    };
    const WIDTH: usize = 24;
    let done = done.clamp(0.0, 1.0);
    let filled = (done * WIDTH as f64).round() as usize;
    let left = if (0.02..0.995).contains(&done) {
        let secs = elapsed.as_secs_f64() * (1.0 - done) / done;
        format!(", about {}s left", secs.ceil() as u64)
    } else {
        String::new()
    };
    format!(
        "[{}{}] {:>3.0}% {counts}{left}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled),
        done * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_past_its_months_end_is_refused_not_rolled_over() {
        assert_eq!(
            parse_time("2026-11-31"),
            Err("\"2026-11-31\" is not a date: 2026-11 has days 01 to 30".to_string())
        );
        assert_eq!(
            parse_time("2026-02-29T12:00:00Z"),
            Err("\"2026-02-29T12:00:00Z\" is not a date: 2026-02 has days 01 to 28".to_string())
        );
        assert_eq!(
            parse_time("2026-11-99"),
            Err("\"2026-11-99\" is not a date: 2026-11 has days 01 to 30".to_string())
        );
        assert_eq!(
            parse_time("2026-13-01"),
            Err(
                "\"2026-13-01\" is not a date: there is no month 13; months are 01 to 12"
                    .to_string()
            )
        );
        assert_eq!(parse_time("2028-02-29"), Ok(1_835_395_200));
    }

    #[test]
    fn from_and_until_are_held_to_the_times_records_may_have() {
        assert!(parse_time("2026-11-01").is_ok());
        assert!(parse_time("2100-01-01").is_ok(), "the end is exclusive");
        for far in ["9999-12-31", "1999-12-31", "0001-01-01"] {
            let err = parse_time(far).unwrap_err();
            assert!(
                err.ends_with(
                    "is outside 2000-01-01 to 2100-01-01, the times log records may have"
                ),
                "{err}"
            );
        }
    }

    #[test]
    fn totals_that_print_as_zero_are_not_compared_in_percent() {
        assert_eq!(
            compare(0.00003, 0.000008, "USD"),
            "both under 0.0001 USD, too small to compare"
        );
        // Four decimals show fractions of a cent: they are compared.
        assert_eq!(compare(0.0003, 0.0002, "USD"), "+50.0%");
        assert_eq!(compare(3.0, 1.5, "USD"), "+100.0%");
        assert_eq!(compare(0.004, 2.0, "EUR"), "-99.8%");
    }

    #[test]
    fn the_progress_bar_is_drawn_only_on_a_terminal_that_can_show_it() {
        let xterm = Some(std::ffi::OsStr::new("xterm-256color"));
        let dumb = Some(std::ffi::OsStr::new("dumb"));
        assert!(progress_wanted(true, false, false, xterm));
        assert!(progress_wanted(true, false, false, None));
        assert!(
            !progress_wanted(true, false, false, dumb),
            "TERM=dumb shows escapes"
        );
        assert!(!progress_wanted(false, false, false, xterm));
        assert!(!progress_wanted(true, true, false, xterm));
        assert!(!progress_wanted(true, false, true, xterm));
    }

    #[test]
    fn the_time_range_given_is_said_in_words() {
        let (from, until) = (Some(1_793_577_600), Some(1_793_664_000));
        assert_eq!(
            time_range(from, until).as_deref(),
            Some("2026-11-02T00:00:00Z to 2026-11-03T00:00:00Z (--from, --until)")
        );
        assert_eq!(
            time_range(from, None).as_deref(),
            Some("from 2026-11-02T00:00:00Z (--from)")
        );
        assert_eq!(
            time_range(None, until).as_deref(),
            Some("before 2026-11-03T00:00:00Z (--until)")
        );
        assert_eq!(time_range(None, None), None);
        assert_eq!(bad_lines(1), "1 bad line");
        assert_eq!(bad_lines(0), "0 bad lines");
    }

    #[test]
    fn the_progress_line_shows_a_bar_when_the_size_is_known_and_counts_otherwise() {
        let p = Progress {
            events: 1200,
            event_time: 1_790_000_000,
            decisions: 7,
            read: 0,
        };
        let ten = std::time::Duration::from_secs(10);
        assert_eq!(
            progress_line(&p, None, ten),
            "simulating: 1200 events, up to 2026-09-21T14:13:20Z, 7 decisions"
        );
        assert_eq!(
            progress_line(&p, Some(0.25), ten),
            "[######------------------]  25% 1200 events, up to 2026-09-21T14:13:20Z, 7 decisions, about 30s left"
        );
        // Read past the listed size (a file that grew): full, no estimate.
        assert!(progress_line(&p, Some(1.3), ten).starts_with("[########################] 100% "));
    }
}
