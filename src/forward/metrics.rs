//! The forwarder's Prometheus metrics, in the same registry (and naming) as the
//! producer's and consumer's: `dashstream_forward_*`.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts};

use super::latency::Measured;
use crate::pipeline::metrics::{Metrics, LATENCY_BUCKETS};

/// Buckets for the latency the forwarder adds: 10 µs to 1 s.
pub const ADDED_BUCKETS: &[f64] = &[0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

#[derive(Debug, Clone)]
pub struct ForwardMetrics {
    /// Records read from Kafka and decoded.
    pub records: IntCounter,
    /// Frames written to clients (one per record per client).
    pub messages: IntCounter,
    pub bytes: IntCounter,
    pub clients: IntGauge,
    pub dropped: IntCounterVec,
    pub latency: Histogram,
    pub added_latency: Histogram,
    pub latency_negative: IntCounter,
    pub clock_skew: IntCounter,
}

impl ForwardMetrics {
    /// Registers the forwarder's metrics in `metrics.registry` (once per registry).
    pub fn register(metrics: &Metrics) -> Self {
        let registry = &metrics.registry;
        let reg = |c: Box<dyn prometheus::core::Collector>| {
            let _ = registry.register(c);
        };
        let counter = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            reg(Box::new(c.clone()));
            c
        };
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec())).expect("valid histogram");
            reg(Box::new(h.clone()));
            h
        };
        let clients = IntGauge::new("dashstream_forward_clients", "WebSocket clients connected").expect("valid metric");
        reg(Box::new(clients.clone()));
        let dropped = IntCounterVec::new(
            Opts::new("dashstream_forward_dropped_total", "Records not delivered, by reason (slow-client, undecodable, refused)"),
            &["reason"],
        )
        .expect("valid metric");
        reg(Box::new(dropped.clone()));
        // Every reason at 0 from the start: a dashboard shows 0, not "no data".
        for reason in ["slow-client", "undecodable", "refused"] {
            dropped.with_label_values(&[reason]);
        }
        Self {
            records: counter("dashstream_forward_records_total", "Records read from Kafka, decoded and broadcast"),
            messages: counter("dashstream_forward_messages_total", "Binary WebSocket messages written (one per record per client)"),
            bytes: counter("dashstream_forward_bytes_total", "Frame bytes written to WebSocket clients"),
            clients,
            dropped,
            latency: histogram("dashstream_forward_latency_seconds", "Forwarder clock minus producer created_at (never negative)", LATENCY_BUCKETS),
            added_latency: histogram(
                "dashstream_forward_added_latency_seconds",
                "From a record's arrival from Kafka to its frame written to one client",
                ADDED_BUCKETS,
            ),
            latency_negative: counter("dashstream_forward_latency_negative_total", "Negative latencies reported (the original bug): must stay 0"),
            clock_skew: counter("dashstream_forward_clock_skew_total", "Records whose producer clock was ahead of the forwarder's (not latencies)"),
        }
    }

    /// Exports one record's measurement.
    pub fn observe(&self, measured: Measured) {
        match measured {
            Measured::Latency(us) if us < 0 => self.latency_negative.inc(),
            Measured::Latency(us) => self.latency.observe(us as f64 / 1e6),
            Measured::Skew(_) => self.clock_skew.inc(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `dashstream_*` name used in ops/ must be exported (producer, consumer and forwarder).
    #[test]
    fn dashboards_and_alerts_only_use_exported_metrics() {
        let m = Metrics::new();
        let f = ForwardMetrics::register(&m);
        // Touch labelled families so they appear in the exposition.
        m.sent.with_label_values(&["t"]).inc();
        m.send_failures.with_label_values(&["t", "r"]).inc();
        m.received.with_label_values(&["t"]).inc();
        m.decoded.with_label_values(&["raw"]).inc();
        m.decode_failures.with_label_values(&["empty"]).inc();
        m.payload_bytes.with_label_values(&["raw"]).inc();
        m.consumer_lag.with_label_values(&["t", "0"]).set(1);
        m.latency.observe(0.001);
        f.dropped.with_label_values(&["slow-client"]).inc();
        let exported = m.render();
        for (file, text) in [
            ("ops/grafana-dashboard.json", include_str!("../../ops/grafana-dashboard.json")),
            ("ops/alerts.yml", include_str!("../../ops/alerts.yml")),
        ] {
            let mut rest = text;
            let mut found = 0;
            while let Some(i) = rest.find("dashstream_") {
                let name: String = rest[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                rest = &rest[i + name.len()..];
                if name == "dashstream_" {
                    continue;
                }
                found += 1;
                assert!(exported.contains(&format!("\n{name}")) || exported.contains(&format!("{name}{{")), "{file} uses {name}, which is not exported");
            }
            assert!(found > 5, "{file}: only {found} metric references");
        }
        for name in ["dashstream_forward_latency_negative_total", "dashstream_forward_clock_skew_total", "dashstream_forward_clients"] {
            assert!(exported.contains(name), "{name}");
        }
    }

    #[test]
    fn a_negative_latency_is_counted_never_observed() {
        let m = Metrics::new();
        let f = ForwardMetrics::register(&m);
        f.observe(Measured::Latency(-5));
        f.observe(Measured::Latency(2_000));
        f.observe(Measured::Skew(std::time::Duration::from_secs(5)));
        assert_eq!((f.latency_negative.get(), f.latency.get_sample_count(), f.clock_skew.get()), (1, 1, 1));
    }
}
