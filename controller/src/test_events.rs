//! Test support: the events of a generated workload, parsed as ingest would.

use models::AccessEvent;
use models::generator::{GeneratorConfig, generate};
use models::parse::{Format, parse_line};

/// The generator's S3 access log for `cfg`, parsed, in the order written.
pub fn generated(cfg: &GeneratorConfig) -> Vec<AccessEvent> {
    let mut out = Vec::new();
    generate(cfg, &mut out).expect("the generator writes to memory");
    String::from_utf8(out)
        .expect("the generator writes UTF-8")
        .lines()
        .filter_map(|l| parse_line(Format::S3, l).ok().flatten())
        .collect()
}
