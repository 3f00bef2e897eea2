//! The latency chart of `bench`: grouped bars per quantile (p50 to max) for
//! Kafka's EndToEndLatency and dashstream's two profiles, as a standalone SVG
//! (no script, no external font), so it renders in any browser or CI viewer.

use super::hdr::QUANTILES;
use super::report::LatencySection;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 360.0;
const LEFT: f64 = 60.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 40.0;

/// One series: a name, a colour and a value per quantile (`None`: not reported by that tool).
struct Series<'a> {
    name: &'a str,
    colour: &'a str,
    values: [Option<f64>; 5],
}

/// The chart of `latency`, in milliseconds on a linear axis.
pub fn latency_chart(latency: &LatencySection) -> String {
    let p = &latency.peer;
    let series = [
        Series { name: "kafka-e2e-latency (whole ms)", colour: "#888888", values: [Some(p.p50_ms), None, Some(p.p99_ms), Some(p.p999_ms), None] },
        Series { name: "dashstream, latency profile", colour: "#1f77b4", values: latency.latency_profile.latency.values().map(Some) },
        Series { name: "dashstream, throughput profile", colour: "#ff7f0e", values: latency.throughput_profile.latency.values().map(Some) },
    ];
    let top = series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |a, &b| a.max(b)).max(1.0) * 1.1;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let group_w = (WIDTH - LEFT - 20.0) / QUANTILES.len() as f64;
    let bar_w = group_w / (series.len() as f64 + 1.0);
    let y = |v: f64| TOP + plot_h * (1.0 - v / top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"18\" font-size=\"14\">End-to-end latency by quantile (ms), {} messages at {}/s</text>\n",
        latency.latency_profile.messages, latency.latency_profile.rate
    );
    for tick in 0..=4 {
        let v = top * tick as f64 / 4.0;
        svg.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#dddddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v:.1}</text>\n",
            WIDTH - 20.0,
            LEFT - 6.0,
            y(v) + 4.0,
            y = y(v)
        ));
    }
    for (qi, (label, _)) in QUANTILES.iter().enumerate() {
        let x0 = LEFT + group_w * qi as f64 + bar_w / 2.0;
        for (si, s) in series.iter().enumerate() {
            let Some(v) = s.values[qi] else { continue };
            let x = x0 + bar_w * si as f64;
            svg.push_str(&format!(
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {v:.2} ms</title></rect>\n",
                y(v),
                bar_w * 0.9,
                (TOP + plot_h - y(v)).max(0.5),
                s.colour,
                s.name
            ));
        }
        svg.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>\n", x0 + bar_w * 1.5, HEIGHT - BOTTOM + 16.0));
    }
    for (si, s) in series.iter().enumerate() {
        let ly = TOP + 14.0 * si as f64;
        svg.push_str(&format!(
            "<rect x=\"{}\" y=\"{:.1}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{:.1}\">{}</text>\n",
            LEFT + 10.0,
            ly,
            s.colour,
            LEFT + 26.0,
            ly + 9.0,
            s.name
        ));
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::hdr::Quantiles;
    use crate::bench::ours::LatencyFigures;
    use crate::bench::peer::PeerLatency;

    #[test]
    fn every_reported_quantile_is_a_bar_with_its_value() {
        let q = Quantiles { count: 900, mean_ms: 1.2, p50_ms: 1.1, p90_ms: 1.5, p99_ms: 3.0, p999_ms: 7.0, max_ms: 9.0 };
        let figures = LatencyFigures { rate: 100.0, messages: 1000, warmup: 100, latency: q, ..Default::default() };
        let section = LatencySection { peer: PeerLatency { avg_ms: 1.9, p50_ms: 1.0, p99_ms: 9.0, p999_ms: 17.0 }, latency_profile: figures, throughput_profile: figures };
        let svg = latency_chart(&section);
        assert_eq!(svg.matches("<rect x=").count(), 3 + 5 + 5 + 3, "3 peer bars, 5 per profile, 3 legend boxes");
        assert!(svg.contains("kafka-e2e-latency (whole ms): 17.00 ms"));
        assert!(svg.contains("dashstream, latency profile: 3.00 ms"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
    }
}
