//! Prometheus metrics in the project's own registry (never the global default),
//! and a tiny `/metrics` HTTP endpoint.

use std::net::SocketAddr;

use prometheus::{Encoder, Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Every metric the producer and consumer export.
#[derive(Clone, Debug)]
pub struct Metrics {
    pub registry: Registry,
    pub sent: IntCounterVec,
    pub send_failures: IntCounterVec,
    pub received: IntCounterVec,
    pub decoded: IntCounterVec,
    pub decode_failures: IntCounterVec,
    pub lost: IntCounter,
    pub duplicates: IntCounter,
    pub dlq: IntCounter,
    pub latency: Histogram,
    pub latency_negative: IntCounter,
    pub clock_skew: Gauge,
    pub payload_bytes: IntCounterVec,
    pub consumer_lag: IntGaugeVec,
    pub stall_restarts: IntCounter,
}

/// Histogram buckets from 0.5 ms to 60 s.
pub const LATENCY_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let cv = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let c = |name: &str, help: &str| {
            let c = IntCounter::new(name, help).expect("valid metric");
            registry.register(Box::new(c.clone())).expect("unique metric");
            c
        };
        let sent = cv("dashstream_messages_sent_total", "Messages acknowledged by the broker", &["topic"]);
        let send_failures = cv("dashstream_send_failures_total", "Sends that failed, by reason", &["topic", "reason"]);
        let received = cv("dashstream_messages_received_total", "Records received by the consumer", &["topic"]);
        let decoded = cv("dashstream_messages_decoded_total", "Records decoded, by wire format", &["format"]);
        let decode_failures = cv("dashstream_decode_failures_total", "Records that failed to decode, by kind", &["kind"]);
        let lost = c("dashstream_messages_lost_total", "Sequences never received after the grace period or at drain");
        let duplicates = c("dashstream_messages_duplicate_total", "Sequences received more than once");
        let dlq = c("dashstream_dlq_messages_total", "Records copied to the dead-letter topic");
        let stall_restarts = c("dashstream_consumer_stall_restarts_total", "Kafka consumer clients rebuilt because they stalled with records waiting");
        let latency = Histogram::with_opts(
            HistogramOpts::new("dashstream_e2e_latency_seconds", "Consumer wall clock minus producer created_at (never negative)")
                .buckets(LATENCY_BUCKETS.to_vec()),
        )
        .expect("valid histogram");
        registry.register(Box::new(latency.clone())).expect("unique metric");
        let latency_negative = c("dashstream_e2e_latency_negative_total", "Messages whose created_at was ahead of the consumer clock (skew)");
        let clock_skew = Gauge::new("dashstream_clock_skew_seconds", "Largest producer-ahead clock skew seen").expect("valid");
        registry.register(Box::new(clock_skew.clone())).expect("unique metric");
        let payload_bytes = cv("dashstream_payload_bytes_total", "Payload bytes before (raw) and after (wire) compression", &["stage"]);
        let consumer_lag = IntGaugeVec::new(
            Opts::new("dashstream_consumer_lag", "High watermark minus committed offset"),
            &["topic", "partition"],
        )
        .expect("valid");
        registry.register(Box::new(consumer_lag.clone())).expect("unique metric");
        // Every label value known in advance at 0: a dashboard shows 0, not "no data".
        for kind in crate::codec::DecodeErrorKind::ALL {
            decode_failures.with_label_values(&[kind.as_str()]);
        }
        for stage in ["raw", "wire"] {
            payload_bytes.with_label_values(&[stage]);
        }
        Self {
            registry,
            sent,
            send_failures,
            received,
            decoded,
            decode_failures,
            lost,
            duplicates,
            dlq,
            latency,
            latency_negative,
            clock_skew,
            payload_bytes,
            consumer_lag,
            stall_restarts,
        }
    }

    /// The latency histogram's buckets: (upper bound in ms, records at or
    /// under it, cumulative), as Prometheus keeps them.
    pub fn latency_buckets(&self) -> Vec<(f64, u64)> {
        use prometheus::core::Metric as _;
        let m = self.latency.metric();
        m.get_histogram().get_bucket().iter().map(|b| (b.upper_bound() * 1000.0, b.cumulative_count())).collect()
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buf).expect("text encoding");
        String::from_utf8(buf).expect("utf-8")
    }

    /// Serves `GET /metrics` on `addr` until the task is dropped. Returns the bound address.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let me = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { continue };
                let me = me.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut n = 0;
                    while n < buf.len() {
                        match sock.read(&mut buf[n..]).await {
                            Ok(0) | Err(_) => break,
                            Ok(k) => n += k,
                        }
                        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    let req = String::from_utf8_lossy(&buf[..n]);
                    let (status, body) = if req.starts_with("GET /metrics") {
                        ("200 OK", me.render())
                    } else {
                        ("404 Not Found", "try /metrics\n".to_string())
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        tracing::info!(%bound, "serving metrics at http://{bound}/metrics");
        Ok((bound, task))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_metric_names_exist() {
        let m = Metrics::new();
        for name in [
            "dashstream_messages_lost_total",
            "dashstream_messages_duplicate_total",
            "dashstream_dlq_messages_total",
            "dashstream_e2e_latency_negative_total",
            "dashstream_clock_skew_seconds",
        ] {
            assert!(m.render().contains(name), "{name}");
        }
    }
}
