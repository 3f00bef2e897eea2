//! The console of a conformance run: one line per scenario as it finishes
//! (mark, backend, duration, name, key figure), the failure under it; colour
//! only when asked for (a terminal without NO_COLOR). The callers print it.

use crate::conformance::evidence::{key_figure, ScenarioRecord};

/// Whether to colour a stream: a terminal, and NO_COLOR unset or empty (https://no-color.org).
pub fn colour_wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The scenario's line, and for a failure its error, indented, under it.
pub fn scenario_lines(r: &ScenarioRecord, colour: bool) -> String {
    let (mark, paint) = match r.status.as_str() {
        "passed" => ("✓", "32"),
        "failed" => ("✗", "31"),
        _ => ("?", "33"),
    };
    let mark = if colour { format!("\x1b[{paint}m{mark}\x1b[0m") } else { mark.to_string() };
    let figure = key_figure(r);
    let mut out = format!("{mark} {:<9} {:>5.1} s  {}{}", r.backend, r.seconds, r.scenario, if figure.is_empty() { String::new() } else { format!(" — {figure}") });
    if let Some(e) = r.error.as_deref().filter(|_| r.status != "passed") {
        for line in e.lines().map(str::trim_end).filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("Matched:")).take(12) {
            out.push_str("\n      ");
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::evidence::Evidence;

    #[test]
    fn a_line_per_scenario_with_its_failure_under_it() {
        let evidence = Evidence { sent: 10, received: 10, decoded: 10, ..Default::default() };
        let mut r = ScenarioRecord { seconds: 2.04, evidence, ..ScenarioRecord::sample("mock", "f.feature", "Lost messages are found", "passed") };
        assert_eq!(scenario_lines(&r, false), "✓ mock        2.0 s  Lost messages are found — 10 of 10 decoded, 0 lost, 0 duplicated, 0 dead-lettered");
        r.status = "failed".into();
        r.error = Some("Step panicked.\nMatched: features/x.rs:3\n  lost 1 (s: 4)".into());
        let lines = scenario_lines(&r, true);
        assert!(lines.starts_with("\x1b[31m✗\x1b[0m mock"), "{lines}");
        assert!(lines.ends_with("\n      Step panicked.\n        lost 1 (s: 4)"), "{lines}");
    }
}
