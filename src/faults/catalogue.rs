//! The fault catalogue: what can go wrong, and on which backend. How each
//! fault is injected and healed is in [`super::inject`].

use std::fmt;
use crate::broker::BrokerKind;

/// A fault, as users name and schedule it (`--faults broker-pause,...`, the
/// `@fault` scenarios). This is the only fault vocabulary; each is made of
/// [`crate::broker::BrokerAction`]s on the backend, or is a crash of a client of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, clap::ValueEnum)]
pub enum Fault {
    /// Graceful stop of a broker, then start.
    BrokerRestart,
    /// SIGKILL of a broker (no clean shutdown), then start.
    BrokerKill,
    /// A broker's processes frozen, then thawed.
    BrokerPause,
    /// The leader of partition 0 killed in the 3-broker cluster, then restarted.
    LeaderLoss,
    /// A broker cut off its Docker network, then reconnected.
    NetworkCut,
    /// 30% of the packets a broker receives dropped (iptables), then not.
    PacketLoss,
    /// The producer process crashes with sends in flight and restarts (a new session).
    ProducerCrash,
    /// The consumer crashes before committing and a new one takes over.
    ConsumerCrash,
    /// Mock: broker 1 down, then up.
    MockBrokerDown,
    /// Mock: the leader of partition 0 moves to another broker.
    MockLeaderMove,
    /// Mock: produce requests fail with retriable errors for a while.
    MockRetriableErrors,
    /// Mock: produce requests fail with a fatal error (those sends are not acknowledged).
    MockFatalErrors,
    /// Mock: every broker's responses delayed by 300 ms.
    MockDelay,
    /// Fault proxy: every broker's bytes delayed 100 ms ± 25 ms each way (+200 ms a round trip).
    ProxyLatency,
    /// Fault proxy: every connection to every broker capped at 64 KiB/s each way.
    ProxyBandwidth,
    /// Fault proxy: the leader of partition 0 accepts connections and answers nothing for 10 s.
    ProxyBlackHole,
    /// Fault proxy: every connection to every broker reset once 4 KiB passed through it.
    ProxyResetStorm,
    /// Fault proxy: every broker's answers cut into 64-byte pieces 1 ms apart.
    ProxySlicer,
    /// Fault proxy: every close held back 2 s.
    ProxySlowClose,
}

impl Fault {
    /// Every fault, in catalogue order.
    pub fn all() -> &'static [Fault] {
        <Self as clap::ValueEnum>::value_variants()
    }

    /// The name users type (`broker-restart`, `mock-delay`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::BrokerRestart => "broker-restart",
            Self::BrokerKill => "broker-kill",
            Self::BrokerPause => "broker-pause",
            Self::LeaderLoss => "leader-loss",
            Self::NetworkCut => "network-cut",
            Self::PacketLoss => "packet-loss",
            Self::ProducerCrash => "producer-crash",
            Self::ConsumerCrash => "consumer-crash",
            Self::MockBrokerDown => "mock-broker-down",
            Self::MockLeaderMove => "mock-leader-move",
            Self::MockRetriableErrors => "mock-retriable-errors",
            Self::MockFatalErrors => "mock-fatal-errors",
            Self::MockDelay => "mock-delay",
            Self::ProxyLatency => "proxy-latency",
            Self::ProxyBandwidth => "proxy-bandwidth",
            Self::ProxyBlackHole => "proxy-black-hole",
            Self::ProxyResetStorm => "proxy-reset-storm",
            Self::ProxySlicer => "proxy-slicer",
            Self::ProxySlowClose => "proxy-slow-close",
        }
    }

    /// Parses a name as users type it.
    pub fn parse(name: &str) -> Result<Self, String> {
        Self::all().iter().copied().find(|f| f.name() == name).ok_or_else(|| {
            let names: Vec<_> = Self::all().iter().map(|f| f.name()).collect();
            format!("unknown fault {name:?} (known: {})", names.join(", "))
        })
    }

    /// Where this fault can run: the one capability table of the project.
    pub fn runs_on(self, kind: BrokerKind) -> bool {
        use BrokerKind::*;
        match self {
            Self::BrokerRestart | Self::BrokerKill | Self::BrokerPause | Self::NetworkCut | Self::PacketLoss => {
                matches!(kind, Container | Cluster)
            }
            Self::ProxyLatency | Self::ProxyBandwidth | Self::ProxyBlackHole | Self::ProxyResetStorm | Self::ProxySlicer | Self::ProxySlowClose => {
                matches!(kind, Container | Cluster)
            }
            Self::LeaderLoss => kind == Cluster,
            Self::ProducerCrash | Self::ConsumerCrash => true,
            Self::MockBrokerDown | Self::MockLeaderMove | Self::MockRetriableErrors | Self::MockFatalErrors | Self::MockDelay => kind == Mock,
        }
    }

    /// Whether this fault is a toxic of the fault proxy in front of the brokers.
    pub fn is_network_fault(self) -> bool {
        matches!(
            self,
            Self::ProxyLatency | Self::ProxyBandwidth | Self::ProxyBlackHole | Self::ProxyResetStorm | Self::ProxySlicer | Self::ProxySlowClose
        )
    }

    /// How long the fault holds when its length is part of what it is (the
    /// 10 s black hole); `None` when a schedule decides.
    pub fn fixed_hold(self) -> Option<std::time::Duration> {
        (self == Self::ProxyBlackHole).then_some(std::time::Duration::from_secs(10))
    }

    /// Whether this fault is in the client (crash) rather than in the broker.
    pub fn is_client_fault(self) -> bool {
        matches!(self, Self::ProducerCrash | Self::ConsumerCrash)
    }

    /// Whether a run with this fault may end with unacknowledged sends (not losses).
    pub fn may_leave_unacked(self) -> bool {
        matches!(self, Self::ProducerCrash | Self::MockFatalErrors)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}
