//! Which kernels the tests ran on this CPU.
//!
//! Every kernel has its own test that calls it explicitly (never through auto-selection) and
//! checks it against a reference: each erasure kernel against the formula of the erasure
//! module docs (`erasure::tests`), md5x's lane kernel against the md-5 crate (`md5x::tests`).
//! A test for a kernel this CPU cannot run passes, but says so on stderr (`KERNEL NOT
//! TESTED: …`), and [`kernel_coverage`] runs every check again and prints which kernels were
//! tested here and which were not. `.config/nextest.toml` shows that table after the summary
//! of every `cargo nextest run` (so `hack/test.sh` shows it after the test run).

use crate::erasure::{self, Kernel};
use crate::md5x;
use std::io::Write;

/// Set to a comma-separated list of CPU features (`gfni,avx512f`) to have the kernel tests
/// treat them as absent: shows what a CPU without them reports, on any machine.
const HIDE_ENV: &str = "STRATA_CODEC_TEST_HIDE";

fn hidden(feature: &str) -> bool {
    std::env::var(HIDE_ENV).is_ok_and(|v| v.split(',').any(|h| h.trim() == feature))
}

/// The features of `required` this run cannot use, each with why.
fn missing(required: &[&'static str]) -> Vec<String> {
    required
        .iter()
        .filter_map(|&f| {
            if !erasure::cpu_has(f) {
                Some(format!("{f} (not on this CPU)"))
            } else if hidden(f) {
                Some(format!("{f} (hidden by {HIDE_ENV})"))
            } else {
                None
            }
        })
        .collect()
}

/// Runs `check` when this run can use every feature in `required`; otherwise says loudly,
/// on stderr, that the kernel went untested, and why. Returns whether it ran.
pub(crate) fn check_or_say_why(
    name: &str,
    required: &[&'static str],
    check: impl FnOnce(),
) -> bool {
    let missing = missing(required);
    if missing.is_empty() {
        check();
        return true;
    }
    // Straight to stderr, not through eprintln!, which the test harness captures.
    let line = format!("KERNEL NOT TESTED: {name}: needs {}\n", missing.join(", "));
    let _ = std::io::stderr().write_all(line.as_bytes());
    false
}

#[test]
fn kernel_coverage() {
    let detected = Kernel::detect();
    let mut rows = Vec::new();
    for kernel in Kernel::ALL {
        let name = format!("erasure {}", kernel.name());
        let required = kernel.required_features();
        let tested = check_or_say_why(&name, required, || erasure::tests::check_kernel(kernel));
        let note = if kernel == detected {
            "  (auto-selected by Codec::new)"
        } else {
            ""
        };
        rows.push((tested, name, missing(required), note));
    }
    let name = "md5x avx512 lanes".to_string();
    let tested = check_or_say_why(&name, md5x::LANE_FEATURES, md5x::tests::check_lane_kernel);
    let note = "  (taken by concurrent uploads)";
    rows.push((tested, name, missing(md5x::LANE_FEATURES), note));

    let mut features: Vec<&'static str> = Kernel::ALL
        .iter()
        .flat_map(|k| k.required_features())
        .chain(md5x::LANE_FEATURES)
        .copied()
        .collect();
    features.sort();
    features.dedup();
    let flags: Vec<String> = features
        .iter()
        .map(|&f| match (erasure::cpu_has(f), hidden(f)) {
            (false, _) => format!("{f} NO"),
            (true, false) => format!("{f} yes"),
            (true, true) => format!("{f} hidden"),
        })
        .collect();
    println!("kernel coverage on this CPU ({}):", flags.join(", "));
    for (tested, name, missing, note) in rows {
        if tested {
            println!("  tested      {name}{note}");
        } else {
            println!("  NOT TESTED  {name}: needs {}", missing.join(", "));
        }
    }
}
