//! Inline SVG charts for the HTML report, drawn from the run's evidence with
//! nothing fetched from a network: a latency histogram with p50/p99/max
//! marked, a fault run's timeline in the manner of Jepsen's plots (messages
//! per second, the acknowledged-but-unread backlog and latency over time, the
//! fault windows shaded), and the compression ratio per scenario.

use std::fmt::Write as _;

use crate::conformance::evidence::ScenarioRecord;
use crate::faults::timeline::Timeline;

use super::esc;

const WIDTH: f64 = 680.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;

/// The latency histogram from Prometheus-style cumulative buckets (upper
/// bound in ms, count), with p50, p99 and max marked on the bucket they fall in.
pub fn latency_histogram(id: &str, buckets: &[(f64, u64)], p50: f64, p99: f64, max: f64) -> String {
    let counts: Vec<(f64, u64)> = buckets.iter().scan(0u64, |prev, &(le, cum)| {
        let n = cum.saturating_sub(*prev);
        *prev = cum;
        Some((le, n))
    })
    .collect();
    if counts.is_empty() {
        return String::new();
    }
    let last_filled = counts.iter().rposition(|(_, n)| *n > 0).unwrap_or(0);
    let max_bucket = counts.iter().position(|(le, _)| *le >= max).unwrap_or(counts.len() - 1);
    let shown = &counts[..=last_filled.max(max_bucket)];
    let (height, top, bottom) = (220.0, 20.0, 40.0);
    let plot_h = height - top - bottom;
    let bar_w = (WIDTH - LEFT - RIGHT) / shown.len().max(1) as f64;
    let most = shown.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let mut s = format!("<svg id=\"{id}\" class=\"chart\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\"><title>latency histogram</title>");
    for (i, (le, n)) in shown.iter().enumerate() {
        let h = plot_h * *n as f64 / most;
        let x = LEFT + i as f64 * bar_w;
        let _ = write!(s, "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#4a7bd0\"><title>≤ {le} ms: {n}</title></rect>", x + 1.0, top + plot_h - h, bar_w - 2.0);
        let _ = write!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">≤{le}</text>", x + bar_w / 2.0, height - bottom + 14.0);
    }
    let _ = write!(s, "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\">bucket upper bound (ms); tallest bar {most} messages</text>", height - 6.0);
    for (name, value, colour) in [("p50", p50, "#176f2c"), ("p99", p99, "#a66b00"), ("max", max, "#b00020")] {
        let i = shown.iter().position(|(le, _)| *le >= value).unwrap_or(shown.len().saturating_sub(1));
        let x = LEFT + (i as f64 + 0.5) * bar_w;
        let _ = write!(s, "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"4 3\"/>", top + plot_h);
        // Labels right of their line, or left of it near the right edge.
        let (tx, text_anchor) = if x > WIDTH * 0.7 { (x - 3.0, "end") } else { (x + 3.0, "start") };
        let row = ["p50", "p99", "max"].iter().position(|n| *n == name).unwrap_or(0) as f64;
        let _ = write!(s, "<text x=\"{tx:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"{text_anchor}\" fill=\"{colour}\">{name} {value:.1} ms</text>", top + 12.0 + 13.0 * row);
    }
    s.push_str("</svg>");
    s
}

/// A polyline over the seconds of a panel.
fn polyline(values: &[f64], top: f64, height: f64, most: f64, step: f64, colour: &str) -> String {
    let points: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", LEFT + (i as f64 + 0.5) * step, top + height - height * v / most.max(1e-9))).collect();
    format!("<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.8\" points=\"{}\"/>", points.join(" "))
}

/// One panel of the timeline: its series, its frame and its legend.
fn panel(s: &mut String, top: f64, height: f64, step: f64, label: &str, series: &[(&str, Vec<f64>, &str)]) {
    let most = series.iter().flat_map(|(_, v, _)| v.iter().copied()).fold(0.0, f64::max);
    let _ = write!(s, "<rect x=\"{LEFT}\" y=\"{top}\" width=\"{:.1}\" height=\"{height}\" fill=\"none\" stroke=\"#bbb\"/>", WIDTH - LEFT - RIGHT);
    let _ = write!(s, "<text x=\"4\" y=\"{:.1}\" font-size=\"10\">{:.0}</text><text x=\"4\" y=\"{:.1}\" font-size=\"10\">0</text>", top + 10.0, most, top + height);
    let mut legend = LEFT + 4.0;
    let _ = write!(s, "<text x=\"{legend}\" y=\"{:.1}\" font-size=\"11\" font-weight=\"bold\">{}</text>", top - 4.0, esc(label));
    legend += 8.0 * label.len() as f64;
    for (name, values, colour) in series {
        s.push_str(&polyline(values, top, height, most, step, colour));
        let _ = write!(s, "<text x=\"{legend:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"{colour}\">■ {}</text>", top - 4.0, esc(name));
        legend += 7.0 * name.len() as f64 + 20.0;
    }
}

/// A fault run over time: three panels sharing the time axis, fault windows shaded.
pub fn timeline(id: &str, t: &Timeline) -> String {
    let n = t.seconds.len().max(1);
    let step = (WIDTH - LEFT - RIGHT) / n as f64;
    let (panel_h, gap) = (90.0, 30.0);
    let height = 3.0 * (panel_h + gap) + 30.0;
    let mut s = format!("<svg id=\"{id}\" class=\"chart\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\"><title>fault run timeline</title>");
    for w in &t.faults {
        let x = LEFT + w.from_s * step;
        let width = ((w.to_s - w.from_s) * step).max(2.0);
        let _ = write!(s, "<rect class=\"fault-window\" x=\"{x:.1}\" y=\"{gap}\" width=\"{width:.1}\" height=\"{:.1}\" fill=\"#f4c7c3\" opacity=\"0.6\"><title>{} ({:.1} s to {:.1} s)</title></rect>", height - gap - 30.0, esc(&w.what), w.from_s, w.to_s);
        let _ = write!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#b00020\">{}</text>", gap - 18.0, esc(&super::super::evidence::shorten(&w.what, 40)));
    }
    let per_second = |f: fn(&crate::faults::timeline::Second) -> u64| t.seconds.iter().map(|s| f(s) as f64).collect::<Vec<f64>>();
    let series = [("sent", per_second(|s| s.sent), "#4a7bd0"), ("acknowledged", per_second(|s| s.acked), "#176f2c"), ("read", per_second(|s| s.read), "#a66b00")];
    panel(&mut s, gap, panel_h, step, "messages per second", &series);
    let unread: Vec<f64> = t.unread().into_iter().map(|u| u as f64).collect();
    panel(&mut s, 2.0 * gap + panel_h, panel_h, step, "acknowledged, not yet read", &[("backlog", unread, "#b00020")]);
    let latency: Vec<f64> = t.seconds.iter().map(|s| s.latency_max_ms).collect();
    panel(&mut s, 3.0 * gap + 2.0 * panel_h, panel_h, step, "largest latency (ms)", &[("latency", latency, "#6a3d9a")]);
    for tick in (0..=n).step_by(5) {
        let x = LEFT + tick as f64 * step;
        let _ = write!(s, "<text x=\"{x:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{tick}s</text>", height - 30.0 + 12.0);
    }
    let _ = write!(s, "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\">seconds since traffic started; shaded: fault windows</text>", height - 4.0);
    s.push_str("</svg>");
    s
}

/// Bytes on the wire against the original, one bar per scenario that compressed.
pub fn compression(id: &str, records: &[&ScenarioRecord]) -> String {
    let bar_h = 22.0;
    let height = 30.0 + bar_h * records.len() as f64 + 20.0;
    let label_w = 330.0;
    let plot_w = WIDTH - label_w - RIGHT - 60.0;
    let mut s = format!("<svg id=\"{id}\" class=\"chart\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\"><title>compression ratio</title>");
    let _ = write!(s, "<text x=\"4\" y=\"14\" font-size=\"11\" font-weight=\"bold\">wire bytes as a share of the original (100% = no gain); formats as decoded</text>");
    for (i, r) in records.iter().enumerate() {
        let ratio = r.evidence.compression_ratio.unwrap_or(1.0);
        let y = 24.0 + i as f64 * bar_h;
        let formats: Vec<String> = r.evidence.decoded_by_format.iter().map(|(f, n)| format!("{n} {f}")).collect();
        let name = format!("[{}] {} ({})", r.backend, super::super::evidence::shorten(&r.scenario, 32), formats.join(", "));
        let _ = write!(s, "<text x=\"4\" y=\"{:.1}\" font-size=\"11\">{}</text>", y + 14.0, esc(&name));
        let w = plot_w * ratio.min(1.1) / 1.1;
        let colour = if ratio < 0.9 { "#176f2c" } else { "#888" };
        let _ = write!(s, "<rect x=\"{label_w}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>", y + 3.0, bar_h - 6.0);
        let _ = write!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{:.0}%</text>", label_w + w + 4.0, y + 14.0, ratio * 100.0);
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::timeline::{Second, Window};

    #[test]
    fn the_histogram_has_a_bar_per_bucket_up_to_the_max_and_marks_the_percentiles() {
        let buckets = [(1.0, 2), (2.5, 10), (5.0, 10), (10.0, 11), (25.0, 11), (50.0, 11)];
        let svg = latency_histogram("h", &buckets, 1.8, 8.0, 9.5);
        assert_eq!(svg.matches("<rect").count(), 4, "buckets up to the one holding the max: {svg}");
        assert!(svg.contains("≤ 2.5 ms: 8") && svg.contains("p50 1.8 ms") && svg.contains("p99 8.0 ms") && svg.contains("max 9.5 ms"));
        assert!(svg.starts_with("<svg id=\"h\""));
    }

    #[test]
    fn the_timeline_shades_each_fault_and_draws_three_panels() {
        let second = |sent, acked, read| Second { sent, acked, read, read_new: read, failed: 0, latency_max_ms: 3.0 };
        let t = Timeline { seconds: vec![second(10, 10, 10), second(10, 0, 0), second(10, 20, 20)], faults: vec![Window { what: "broker-down".into(), from_s: 1.0, to_s: 2.0 }] };
        let svg = timeline("t", &t);
        assert_eq!(svg.matches("class=\"fault-window\"").count(), 1);
        assert_eq!(svg.matches("<polyline").count(), 5, "sent, acknowledged, read, backlog, latency");
        assert!(svg.contains("broker-down (1.0 s to 2.0 s)"));
    }
}
