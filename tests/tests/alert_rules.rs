//! The example Prometheus alerting rules (`examples/prometheus/tierd-alerts.yml`) pass their
//! unit tests under the real `promtool` (Debian's `prometheus` package; `.ci/run` installs it).
//! Which metrics the rules may use is checked against a running service in `service_e2e`.

use std::path::Path;
use std::process::Command;

#[test]
fn the_example_alerting_rules_pass_their_promtool_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/prometheus");
    let promtool = std::env::var("TIERD_PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let run = |args: &[&str]| {
        Command::new(&promtool)
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {promtool} ({e}): install it (apt-get install prometheus) or name it in TIERD_PROMTOOL"
                )
            })
    };
    let check = run(&["check", "rules", "tierd-alerts.yml"]);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let test = run(&["test", "rules", "tierd-alerts.test.yml"]);
    let out = String::from_utf8_lossy(&test.stdout);
    assert!(
        test.status.success() && out.contains("SUCCESS"),
        "{out}{}",
        String::from_utf8_lossy(&test.stderr)
    );
}
