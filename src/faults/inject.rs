//! Injecting and healing the faults of the catalogue. Every injection is
//! checked to have had an effect (the broker really stopped, the delay really
//! rose, the leader really moved), so a fault that silently did nothing fails
//! the run instead of passing it.

use std::time::{Duration, Instant};

use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

use super::catalogue::Fault;
use super::{network, proof};
use crate::broker::{Broker, BrokerAction, BrokerError, BrokerKind};

/// A broker fault in progress; `heal` undoes it.
#[derive(Debug, Clone)]
pub struct Injected {
    pub fault: Fault,
    /// The broker the fault is aimed at, if one.
    pub target: Option<i32>,
    pub heal: Vec<BrokerAction>,
    /// What was checked to prove the fault took effect.
    pub effect: String,
}

/// A fault as broker actions: what injects it, what heals it, what it means.
struct Steps {
    target: Option<i32>,
    inject: Vec<BrokerAction>,
    heal: Vec<BrokerAction>,
    effect: String,
}

impl Steps {
    fn one(target: i32, inject: BrokerAction, heal: BrokerAction, effect: &str) -> Self {
        Self { target: Some(target), inject: vec![inject], heal: vec![heal], effect: effect.to_string() }
    }
}

/// Performs broker actions for [`inject`] and [`heal`]. [`Direct`] asks the
/// broker; the proofs that follow never ask the injector, so a replica can
/// swap in one that does nothing and watch the run say "had no effect".
#[async_trait::async_trait]
pub trait Injector: Send + Sync {
    async fn apply(&self, broker: &dyn Broker, action: &BrokerAction) -> Result<(), BrokerError>;
}

/// The injector that does what it is asked.
#[derive(Debug, Default, Clone, Copy)]
pub struct Direct;

#[async_trait::async_trait]
impl Injector for Direct {
    async fn apply(&self, broker: &dyn Broker, action: &BrokerAction) -> Result<(), BrokerError> {
        broker.apply(action).await
    }
}

/// What is measured before a fault, to compare with after.
#[derive(Debug, Default)]
struct Before {
    rtt: Duration,
    leader: Option<i32>,
}

/// Injects a broker fault (client faults are the workload's) and proves its effect from outside.
pub async fn inject(fault: Fault, broker: &dyn Broker, topic: &str, injector: &dyn Injector) -> Result<Injected, BrokerError> {
    let Some(steps) = steps_of(fault, broker, topic).await? else {
        return Ok(Injected { fault, target: None, heal: vec![], effect: "client crash (see the run)".into() });
    };
    let before = Before {
        rtt: if fault == Fault::MockDelay { proof::first_broker_rtt(broker).await } else { Duration::ZERO },
        leader: if matches!(fault, Fault::LeaderLoss | Fault::MockLeaderMove) { Some(leader_of(broker, topic).await?) } else { None },
    };
    for action in &steps.inject {
        injector.apply(broker, action).await?;
    }
    let proof = prove(fault, broker, topic, &steps, &before).await?;
    Ok(Injected { fault, target: steps.target, heal: steps.heal, effect: format!("{}; {proof}", steps.effect) })
}

/// The proof, per fault, that it took effect.
async fn prove(fault: Fault, broker: &dyn Broker, topic: &str, steps: &Steps, before: &Before) -> Result<String, BrokerError> {
    let target = steps.target.unwrap_or(1);
    match fault {
        Fault::BrokerRestart => {
            let silent = proof::unreachable(fault, broker, target).await?;
            Ok(format!("{silent}; {}", proof::clean_exit(fault, broker, target).await?))
        }
        Fault::BrokerKill | Fault::BrokerPause | Fault::NetworkCut | Fault::MockBrokerDown => proof::unreachable(fault, broker, target).await,
        Fault::PacketLoss => proof::dropping_packets(fault, broker, target).await,
        Fault::ProxyLatency | Fault::ProxyBandwidth | Fault::ProxyBlackHole | Fault::ProxyResetStorm | Fault::ProxySlicer | Fault::ProxySlowClose => {
            network::prove(fault, broker, target).await
        }
        Fault::LeaderLoss | Fault::MockLeaderMove => {
            let old = before.leader.unwrap_or(-1);
            let new = wait_leader_moved(fault, broker, topic, old).await?;
            if fault == Fault::MockLeaderMove && Some(new) != steps.target {
                return Err(proof::no_effect(fault, format!("leader moved to {new}, not to {target}")));
            }
            Ok(format!("leader of {topic}/0 was broker {old}, now broker {new}"))
        }
        Fault::MockDelay => {
            let after = proof::first_broker_rtt(broker).await;
            if after < Duration::from_millis(250) {
                return Err(proof::no_effect(fault, format!("round trip still {after:?}")));
            }
            Ok(format!("metadata round trip {:?} before, {after:?} after", before.rtt))
        }
        // Proven after the run, from what the producer saw (retries, refusals).
        Fault::MockRetriableErrors | Fault::MockFatalErrors => Ok("the producer's view is checked after the run".into()),
        Fault::ProducerCrash | Fault::ConsumerCrash => Ok(String::new()),
    }
}

/// The actions of a broker fault; `None` for client crashes.
async fn steps_of(fault: Fault, broker: &dyn Broker, topic: &str) -> Result<Option<Steps>, BrokerError> {
    use BrokerAction as A;
    let last = *broker.broker_ids().last().unwrap_or(&1);
    Ok(Some(match fault {
        Fault::BrokerRestart => Steps::one(1, A::Stop { broker: 1 }, A::Start { broker: 1 }, "broker shut down cleanly on SIGTERM (checked exited)"),
        Fault::BrokerKill => Steps::one(1, A::Kill { broker: 1 }, A::Start { broker: 1 }, "container killed (checked not running)"),
        Fault::BrokerPause => Steps::one(1, A::Pause { broker: 1 }, A::Unpause { broker: 1 }, "container paused (checked paused)"),
        Fault::NetworkCut => Steps::one(last, A::Disconnect { broker: last }, A::Reconnect { broker: last }, "broker disconnected (checked unreachable)"),
        Fault::PacketLoss => Steps::one(
            1,
            A::PacketLoss { broker: 1, percent: 30 },
            A::PacketLoss { broker: 1, percent: 0 },
            "iptables rule dropping 30% of packets installed (checked)",
        ),
        Fault::LeaderLoss => {
            let leader = leader_of(broker, topic).await?;
            Steps::one(leader, A::Kill { broker: leader }, A::Start { broker: leader }, &format!("leader broker {leader} of {topic}/0 killed"))
        }
        Fault::MockBrokerDown => Steps::one(1, A::Down { broker: 1 }, A::Up { broker: 1 }, "mock broker 1 down"),
        Fault::MockLeaderMove => {
            let leader = leader_of(broker, topic).await?;
            let to = broker.broker_ids().into_iter().rev().find(|&b| b != leader).unwrap_or(leader);
            Steps {
                target: Some(to),
                inject: vec![A::LeaderMove { topic: topic.into(), partition: 0, broker: to }],
                heal: vec![],
                effect: format!("leader of {topic}/0 moved from broker {leader} to broker {to}"),
            }
        }
        Fault::MockRetriableErrors => {
            let retriable = [RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS];
            let errors = retriable.into_iter().cycle().take(10).collect();
            Steps { target: None, inject: vec![A::RequestErrors { api: RDKafkaApiKey::Produce, errors }], heal: vec![], effect: "10 produce requests answered with retriable errors".into() }
        }
        Fault::MockFatalErrors => {
            let errors = vec![RDKafkaRespErr::RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED; 3];
            Steps { target: None, inject: vec![A::RequestErrors { api: RDKafkaApiKey::Produce, errors }], heal: vec![], effect: "3 produce requests refused (not authorized)".into() }
        }
        Fault::MockDelay => {
            let delay = |d: Duration| broker.broker_ids().into_iter().map(|b| A::RoundTripDelay { broker: b, delay: d }).collect();
            Steps { target: None, inject: delay(Duration::from_millis(300)), heal: delay(Duration::ZERO), effect: "every broker's responses delayed by 300 ms".into() }
        }
        Fault::ProducerCrash | Fault::ConsumerCrash => return Ok(None),
        network_fault => return network_steps(network_fault, broker, topic).await.map(Some),
    }))
}

/// A network fault: its toxic in front of the leader of partition 0 (the
/// black hole) or of every broker.
async fn network_steps(fault: Fault, broker: &dyn Broker, topic: &str) -> Result<Steps, BrokerError> {
    let toxic = network::toxic_of(fault).ok_or_else(|| BrokerError::Config(format!("{fault} is not a network fault")))?;
    let name = toxic.name();
    let targets = if fault == Fault::ProxyBlackHole { vec![leader_of(broker, topic).await?] } else { broker.broker_ids() };
    let effect = match fault {
        Fault::ProxyBlackHole => format!("{toxic} in front of broker {}, the leader of {topic}/0", targets[0]),
        _ => format!("{toxic} in front of every broker"),
    };
    Ok(Steps {
        target: targets.first().copied(),
        inject: targets.iter().map(|&b| BrokerAction::AddToxic { broker: b, toxic: toxic.clone() }).collect(),
        heal: targets.iter().map(|&b| BrokerAction::RemoveToxic { broker: b, name }).collect(),
        effect,
    })
}

/// Polls until partition 0 of `topic` has a leader other than `old`.
async fn wait_leader_moved(fault: Fault, broker: &dyn Broker, topic: &str, old: i32) -> Result<i32, BrokerError> {
    let start = Instant::now();
    loop {
        match leader_of(broker, topic).await {
            Ok(l) if l != old => return Ok(l),
            _ if start.elapsed() > Duration::from_secs(60) => {
                return Err(BrokerError::NoEffect { fault: fault.to_string(), why: "no new leader within 60 s".into() });
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Undoes an injected fault and waits until the broker answers again. In a
/// cluster, when `last` (no other fault still holds a broker down), also waits
/// until every partition of `topic` is fully replicated again, so that the
/// next fault meets a healthy cluster. With another fault still active that
/// wait could never end: the replica it needs is the one still down.
pub async fn heal(injected: &Injected, broker: &dyn Broker, topic: &str, last: bool, injector: &dyn Injector) -> Result<(), BrokerError> {
    for action in &injected.heal {
        injector.apply(broker, action).await?;
    }
    if let (Some(id), false) = (injected.target, injected.heal.is_empty()) {
        if injected.fault == Fault::PacketLoss {
            proof::no_packet_rule(injected.fault, broker, id).await?;
        }
        proof::answers(injected.fault, broker, id).await?;
    }
    if last && broker.kind() == BrokerKind::Cluster && !injected.heal.is_empty() {
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
            let c: rdkafka::consumer::BaseConsumer = crate::broker::roles::for_consumer(&config).create().ok()?;
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
        let c: rdkafka::consumer::BaseConsumer = crate::broker::roles::for_consumer(&config).create().map_err(|e| BrokerError::kafka("metadata client", e))?;
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
