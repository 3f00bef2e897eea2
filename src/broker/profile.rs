//! Client profiles: named sets of librdkafka settings for a goal.
//!
//! `throughput` (the default) keeps librdkafka's batching (the producer's
//! `linger.ms=5`). `latency` sends every message at once and disables Nagle's
//! algorithm, the way Kafka's own EndToEndLatency tool runs (`linger.ms=0`):
//! what a latency measurement should use. `-X` settings override a profile.

/// `--profile`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    #[default]
    Throughput,
    Latency,
}

impl Profile {
    /// The settings the profile adds to every client (each goes to its role, see `roles`).
    pub fn settings(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Profile::Throughput => &[],
            Profile::Latency => &[("linger.ms", "0"), ("socket.nagle.disable", "true")],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_profile_sends_at_once() {
        assert!(Profile::Latency.settings().contains(&("linger.ms", "0")));
        assert!(Profile::Throughput.settings().is_empty());
    }
}
