//! The fault catalogue: what can go wrong, on which backend, and how each
//! fault is injected and healed. Every injection is checked to have had an
//! effect (the broker really stopped, the delay really rose), so a fault that
//! silently did nothing fails the run instead of passing it.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use crate::broker::{admin, Broker, BrokerError, BrokerKind, Fault};

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultPlan {
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
}

impl FaultPlan {
    pub const ALL: [FaultPlan; 13] = [
        Self::BrokerRestart,
        Self::BrokerKill,
        Self::BrokerPause,
        Self::LeaderLoss,
        Self::NetworkCut,
        Self::PacketLoss,
        Self::ProducerCrash,
        Self::ConsumerCrash,
        Self::MockBrokerDown,
        Self::MockLeaderMove,
        Self::MockRetriableErrors,
        Self::MockFatalErrors,
        Self::MockDelay,
    ];

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
        }
    }

    /// Whether `kind` can run this fault.
    pub fn runs_on(self, kind: BrokerKind) -> bool {
        use BrokerKind::*;
        match self {
            Self::BrokerRestart | Self::BrokerKill | Self::BrokerPause | Self::NetworkCut | Self::PacketLoss => {
                matches!(kind, Container | Cluster)
            }
            Self::LeaderLoss => kind == Cluster,
            Self::ProducerCrash | Self::ConsumerCrash => true,
            Self::MockBrokerDown | Self::MockLeaderMove | Self::MockRetriableErrors | Self::MockFatalErrors | Self::MockDelay => kind == Mock,
        }
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

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultPlan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| {
            let names: Vec<_> = Self::ALL.iter().map(|p| p.name()).collect();
            format!("unknown fault {s:?} (known: {})", names.join(", "))
        })
    }
}

/// A broker fault in progress; `heal` undoes it.
#[derive(Debug, Clone)]
pub struct Injected {
    pub plan: FaultPlan,
    pub heal: Vec<Fault>,
    /// What was checked to prove the fault took effect.
    pub effect: String,
}

/// Injects a broker fault (client faults are the workload's) and checks its effect.
pub async fn inject(plan: FaultPlan, broker: &dyn Broker, topic: &str) -> Result<Injected, BrokerError> {
    let one = |f: Fault, heal: Fault, effect: &str| (vec![f], vec![heal], effect.to_string());
    let (faults, heal, effect) = match plan {
        FaultPlan::BrokerRestart => one(Fault::Stop { broker: 1 }, Fault::Start { broker: 1 }, "broker shut down cleanly on SIGTERM (checked exited)"),
        FaultPlan::BrokerKill => one(Fault::Kill { broker: 1 }, Fault::Start { broker: 1 }, "container killed (checked not running)"),
        FaultPlan::BrokerPause => one(Fault::Pause { broker: 1 }, Fault::Unpause { broker: 1 }, "container paused (checked paused)"),
        FaultPlan::NetworkCut => {
            let target = *broker.broker_ids().last().unwrap_or(&1);
            one(Fault::Disconnect { broker: target }, Fault::Reconnect { broker: target }, "broker disconnected (checked unreachable)")
        }
        FaultPlan::PacketLoss => one(
            Fault::PacketLoss { broker: 1, percent: 30 },
            Fault::PacketLoss { broker: 1, percent: 0 },
            "iptables rule dropping 30% of packets installed (checked)",
        ),
        FaultPlan::LeaderLoss => {
            let leader = leader_of(broker, topic).await?;
            (vec![Fault::Kill { broker: leader }], vec![Fault::Start { broker: leader }], format!("leader broker {leader} of {topic}/0 killed"))
        }
        FaultPlan::MockBrokerDown => one(Fault::Down { broker: 1 }, Fault::Up { broker: 1 }, "mock broker 1 down"),
        FaultPlan::MockLeaderMove => {
            let ids = broker.broker_ids();
            let target = *ids.last().unwrap_or(&1);
            (vec![Fault::LeaderMove { topic: topic.into(), partition: 0, broker: target }], vec![], format!("leader of {topic}/0 moved to broker {target}"))
        }
        FaultPlan::MockRetriableErrors => {
            let errors = [RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS]
                .into_iter()
                .cycle()
                .take(20)
                .collect();
            (vec![Fault::RequestErrors { api: RDKafkaApiKey::Produce, errors }], vec![], "20 produce requests answered with retriable errors".into())
        }
        FaultPlan::MockFatalErrors => {
            let errors = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 3];
            (vec![Fault::RequestErrors { api: RDKafkaApiKey::Produce, errors }], vec![], "3 produce requests refused (not authorized)".into())
        }
        FaultPlan::MockDelay => {
            let ids = broker.broker_ids();
            let on = ids.iter().map(|&b| Fault::RoundTripDelay { broker: b, delay: Duration::from_millis(300) }).collect();
            let off = ids.iter().map(|&b| Fault::RoundTripDelay { broker: b, delay: Duration::ZERO }).collect();
            (on, off, "every broker's responses delayed by 300 ms".to_string())
        }
        FaultPlan::ProducerCrash | FaultPlan::ConsumerCrash => {
            return Ok(Injected { plan, heal: vec![], effect: "client crash (see the run)".into() });
        }
    };
    let before = if plan == FaultPlan::MockDelay { Some(first_broker_rtt(broker).await) } else { None };
    for f in &faults {
        broker.inject(f).await?;
    }
    let mut effect = effect;
    match plan {
        FaultPlan::MockDelay => {
            let after = first_broker_rtt(broker).await;
            if after < Duration::from_millis(250) {
                return Err(BrokerError::NoEffect { fault: plan.to_string(), why: format!("round trip still {after:?}") });
            }
            effect = format!("{effect}: metadata round trip {:?} before, {after:?} after", before.unwrap_or_default());
        }
        FaultPlan::LeaderLoss => {
            let old = match faults[0] {
                Fault::Kill { broker } => broker,
                _ => unreachable!(),
            };
            let start = Instant::now();
            loop {
                match leader_of(broker, topic).await {
                    Ok(l) if l != old => {
                        effect = format!("{effect}; leadership moved to broker {l}");
                        break;
                    }
                    _ if start.elapsed() > Duration::from_secs(60) => {
                        return Err(BrokerError::NoEffect { fault: plan.to_string(), why: "no new leader within 60 s".into() });
                    }
                    _ => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
        }
        _ => {}
    }
    Ok(Injected { plan, heal, effect })
}

/// Undoes an injected fault and waits until the broker answers again. In a
/// cluster, when `last` (no other fault still holds a broker down), also waits
/// until every partition of `topic` is fully replicated again, so that the
/// next fault meets a healthy cluster. With another fault still active that
/// wait could never end: the replica it needs is the one still down.
pub async fn heal(injected: &Injected, broker: &dyn Broker, topic: &str, last: bool) -> Result<(), BrokerError> {
    for f in &injected.heal {
        broker.inject(f).await?;
    }
    if last && broker.kind() == crate::broker::BrokerKind::Cluster && !injected.heal.is_empty() {
        wait_fully_replicated(broker, topic, Duration::from_secs(90)).await?;
    }
    Ok(())
}

async fn wait_fully_replicated(broker: &dyn Broker, topic: &str, deadline: Duration) -> Result<(), BrokerError> {
    let start = Instant::now();
    loop {
        let config = broker.client_config();
        let t = topic.to_string();
        let full = tokio::task::spawn_blocking(move || {
            let c: rdkafka::consumer::BaseConsumer = config.create().ok()?;
            let md = rdkafka::consumer::Consumer::fetch_metadata(&c, Some(&t), Duration::from_secs(5)).ok()?;
            let topic = md.topics().iter().find(|x| x.name() == t)?;
            Some(topic.partitions().iter().all(|p| p.leader() >= 0 && p.isr().len() == p.replicas().len()))
        })
        .await
        .expect("metadata task panicked");
        if full == Some(true) {
            return Ok(());
        }
        if start.elapsed() > deadline {
            return Err(BrokerError::Timeout { what: format!("{topic} fully replicated"), secs: deadline.as_secs(), last: "in-sync replicas missing".into() });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn leader_of(broker: &dyn Broker, topic: &str) -> Result<i32, BrokerError> {
    let config = broker.client_config();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || -> Result<i32, BrokerError> {
        let c: rdkafka::consumer::BaseConsumer = config.create().map_err(|e| BrokerError::kafka("metadata client", e))?;
        let md = rdkafka::consumer::Consumer::fetch_metadata(&c, Some(&topic), Duration::from_secs(10)).map_err(|e| BrokerError::kafka("metadata", e))?;
        md.topics()
            .iter()
            .find(|t| t.name() == topic)
            .and_then(|t| t.partitions().iter().find(|p| p.id() == 0))
            .map(|p| p.leader())
            .filter(|l| *l >= 0)
            .ok_or_else(|| BrokerError::Config(format!("no leader for {topic}/0")))
    })
    .await
    .expect("metadata task panicked")
}

/// Time to connect to the first bootstrap broker and get metadata.
async fn first_broker_rtt(broker: &dyn Broker) -> Duration {
    let first = broker.bootstrap_servers().split(',').next().unwrap_or_default().to_string();
    let mut config = broker.client_config();
    config.set("bootstrap.servers", &first);
    let start = Instant::now();
    let _ = admin::wait_for_brokers(&config, 1, Duration::from_secs(10)).await;
    start.elapsed()
}
