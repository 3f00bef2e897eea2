//! The faults a backend can inject into a broker.

use std::fmt;
use std::time::Duration;

use rdkafka::types::RDKafkaRespErr;

/// A kind of fault, for listing what a backend supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Graceful stop of a broker (container).
    Stop,
    /// Start a stopped broker again (container).
    Start,
    /// SIGKILL a broker, no graceful shutdown (container).
    Kill,
    /// Freeze a broker's processes (container).
    Pause,
    /// Thaw a paused broker (container).
    Unpause,
    /// Take a broker down (mock).
    Down,
    /// Bring a downed broker up (mock).
    Up,
    /// Make the broker answer requests with errors (mock).
    RequestErrors,
    /// Delay every response of a broker (mock).
    RoundTripDelay,
    /// Move a partition's leadership to another broker (mock).
    LeaderMove,
    /// Cut a broker off its Docker network (container).
    Disconnect,
    /// Connect a cut-off broker again (container).
    Reconnect,
    /// Drop a share of the packets a broker receives, or stop dropping (container; iptables).
    PacketLoss,
}

/// One fault to inject.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    Stop { broker: i32 },
    Start { broker: i32 },
    Kill { broker: i32 },
    Pause { broker: i32 },
    Unpause { broker: i32 },
    Down { broker: i32 },
    Up { broker: i32 },
    /// The next `errors.len()` requests of API `api` fail with these errors, in order.
    RequestErrors { api: rdkafka::types::RDKafkaApiKey, errors: Vec<RDKafkaRespErr> },
    RoundTripDelay { broker: i32, delay: Duration },
    LeaderMove { topic: String, partition: i32, broker: i32 },
    Disconnect { broker: i32 },
    Reconnect { broker: i32 },
    /// Drop `percent`% of incoming Kafka packets at the broker; 0 removes the rule.
    PacketLoss { broker: i32, percent: u32 },
}

impl Fault {
    pub fn kind(&self) -> FaultKind {
        match self {
            Self::Stop { .. } => FaultKind::Stop,
            Self::Start { .. } => FaultKind::Start,
            Self::Kill { .. } => FaultKind::Kill,
            Self::Pause { .. } => FaultKind::Pause,
            Self::Unpause { .. } => FaultKind::Unpause,
            Self::Down { .. } => FaultKind::Down,
            Self::Up { .. } => FaultKind::Up,
            Self::RequestErrors { .. } => FaultKind::RequestErrors,
            Self::RoundTripDelay { .. } => FaultKind::RoundTripDelay,
            Self::LeaderMove { .. } => FaultKind::LeaderMove,
            Self::Disconnect { .. } => FaultKind::Disconnect,
            Self::Reconnect { .. } => FaultKind::Reconnect,
            Self::PacketLoss { .. } => FaultKind::PacketLoss,
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stop { broker } => write!(f, "stop broker {broker}"),
            Self::Start { broker } => write!(f, "start broker {broker}"),
            Self::Kill { broker } => write!(f, "kill broker {broker}"),
            Self::Pause { broker } => write!(f, "pause broker {broker}"),
            Self::Unpause { broker } => write!(f, "unpause broker {broker}"),
            Self::Down { broker } => write!(f, "take broker {broker} down"),
            Self::Up { broker } => write!(f, "bring broker {broker} up"),
            Self::RequestErrors { api, errors } => write!(f, "fail {} {api:?} requests", errors.len()),
            Self::RoundTripDelay { broker, delay } => write!(f, "delay broker {broker} by {delay:?}"),
            Self::LeaderMove { topic, partition, broker } => write!(f, "move leader of {topic}/{partition} to broker {broker}"),
            Self::Disconnect { broker } => write!(f, "cut broker {broker} off the network"),
            Self::Reconnect { broker } => write!(f, "reconnect broker {broker}"),
            Self::PacketLoss { broker, percent: 0 } => write!(f, "stop dropping packets at broker {broker}"),
            Self::PacketLoss { broker, percent } => write!(f, "drop {percent}% of packets at broker {broker}"),
        }
    }
}
