//! The quality aggregator: per-thread statistics of quality reports.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::proto::{envelope::Payload, Envelope};

/// count, mean, min, max of one metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Stat {
    pub count: u64,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    fn add(&mut self, v: f64) {
        self.count += 1;
        self.mean += (v - self.mean) / self.count as f64;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
}

impl Default for Stat {
    fn default() -> Self {
        Self { count: 0, mean: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

/// Aggregates per thread; the overall `score` is reported as the metric `score`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct QualityAggregator {
    pub threads: BTreeMap<String, ThreadStats>,
}

/// One thread's aggregates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ThreadStats {
    pub reports: u64,
    pub metrics: BTreeMap<String, Stat>,
}

impl QualityAggregator {
    /// Adds a message; returns false if it is not a quality report.
    pub fn add(&mut self, e: &Envelope) -> bool {
        let Some(Payload::QualityReport(q)) = &e.payload else { return false };
        let thread = e.header.as_ref().map(|h| h.thread_id.clone()).unwrap_or_default();
        let t = self.threads.entry(thread).or_default();
        t.reports += 1;
        t.metrics.entry("score".into()).or_default().add(q.score);
        for (k, v) in &q.metrics {
            t.metrics.entry(k.clone()).or_default().add(*v);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn aggregates_per_thread_and_metric() {
        let mut a = QualityAggregator::default();
        for (seq, score) in [(1, 0.5), (8, 1.0), (2, 0.9)] {
            a.add(&sample::quality_report(sample::header("p", "s", seq, 0), score));
        }
        assert!(!a.add(&sample::node_finished(sample::header("p", "s", 3, 0), "n", 1)));
        let t1 = &a.threads["thread-1"]; // sequences 1 and 8 (mod 7)
        assert_eq!(t1.reports, 2);
        let s = t1.metrics["score"];
        assert_eq!((s.count, s.mean, s.min, s.max), (2, 0.75, 0.5, 1.0));
        assert_eq!(a.threads["thread-2"].metrics["relevance"].count, 1);
    }
}
