//! What a backend can do to a broker: the primitive actions that
//! faults (`faults::Fault`, a layer up) are made of (stop, start, pause, disconnect, delay,
//! failing requests...). A fault is what a user names and schedules; an action
//! is one step of injecting or healing it on one broker.

use std::fmt;
use std::time::Duration;

use rdkafka::types::RDKafkaRespErr;

use crate::proxy::Toxic;

/// One action on a broker.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerAction {
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
    /// Add a toxic to the fault proxy in front of the broker (replacing one of its kind).
    AddToxic { broker: i32, toxic: Toxic },
    /// Remove the toxic named `name` from the fault proxy in front of the broker.
    RemoveToxic { broker: i32, name: &'static str },
}

impl fmt::Display for BrokerAction {
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
            Self::AddToxic { broker, toxic } => write!(f, "{toxic} in front of broker {broker}"),
            Self::RemoveToxic { broker, name } => write!(f, "remove the {name} toxic in front of broker {broker}"),
        }
    }
}
