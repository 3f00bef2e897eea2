//! Proof from outside that a fault took effect, and that its heal did:
//! checked against the broker as a client sees it (does it answer, who leads,
//! how slow is a round trip), or as Docker sees it (exit code, shutdown log,
//! the packet-loss rule's counter). Proofs never trust the injector that did
//! the work, so an injector that does nothing fails with "had no effect".

use std::time::{Duration, Instant};

use super::catalogue::Fault;
use crate::broker::{admin, Broker, BrokerError, BrokerKind, READY_DEADLINE};

/// How long a broker that should be out of reach is given to answer: 3 s
/// for a real broker; 1 s for the mock cluster, which answers in
/// microseconds (a broker of it that is down refuses at once).
fn silence(broker: &dyn Broker) -> Duration {
    match broker.kind() {
        BrokerKind::Mock => Duration::from_secs(1),
        _ => Duration::from_secs(3),
    }
}

pub(super) fn no_effect(fault: Fault, why: impl Into<String>) -> BrokerError {
    BrokerError::NoEffect { fault: fault.to_string(), why: why.into() }
}

fn single_broker_config(fault: Fault, broker: &dyn Broker, id: i32) -> Result<rdkafka::ClientConfig, BrokerError> {
    let address = broker.broker_address(id).ok_or_else(|| no_effect(fault, format!("the backend cannot address broker {id} alone")))?;
    let mut config = broker.client_config();
    config.set("bootstrap.servers", address);
    Ok(config)
}

/// Broker `id` alone does not answer a metadata request within a few seconds.
pub(super) async fn unreachable(fault: Fault, broker: &dyn Broker, id: i32) -> Result<String, BrokerError> {
    let config = single_broker_config(fault, broker, id)?;
    let silence = silence(broker);
    match admin::wait_for_brokers(&config, 1, silence).await {
        Ok(()) => Err(no_effect(fault, format!("broker {id} still answers"))),
        Err(_) => Ok(format!("broker {id} silent for {silence:?} (checked from outside)")),
    }
}

/// Broker `id` answers again.
pub(super) async fn answers(fault: Fault, broker: &dyn Broker, id: i32) -> Result<(), BrokerError> {
    let config = single_broker_config(fault, broker, id)?;
    admin::wait_for_brokers(&config, 1, READY_DEADLINE).await
}

/// A clean shutdown: SIGTERM's exit code and the broker's own "shut down completed" line.
pub(super) async fn clean_exit(fault: Fault, broker: &dyn Broker, id: i32) -> Result<String, BrokerError> {
    match broker.exit_report(id).await? {
        Some(r) if r.exit_code == 143 && r.shutdown_logged => Ok(format!("exit code {} and the shutdown logged", r.exit_code)),
        Some(r) => Err(no_effect(fault, format!("not a clean shutdown: exit code {}, shutdown logged: {}", r.exit_code, r.shutdown_logged))),
        None => Err(no_effect(fault, "the backend cannot say how the broker exited")),
    }
}

/// The packet-loss rule is in place and has dropped packets (waits for traffic to meet it).
pub(super) async fn dropping_packets(fault: Fault, broker: &dyn Broker, id: i32) -> Result<String, BrokerError> {
    let start = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tick.tick().await;
        match broker.packet_loss_rule(id).await? {
            Some(dropped) if dropped > 0 => return Ok(format!("the rule dropped {dropped} packets (iptables counter)")),
            rule if start.elapsed() > Duration::from_secs(10) => {
                let why = if rule.is_some() { "the rule dropped no packet in 10 s" } else { "no packet-loss rule on the broker" };
                return Err(no_effect(fault, why));
            }
            _ => {}
        }
    }
}

/// The packet-loss rule is gone.
pub(super) async fn no_packet_rule(fault: Fault, broker: &dyn Broker, id: i32) -> Result<(), BrokerError> {
    match broker.packet_loss_rule(id).await? {
        None => Ok(()),
        Some(dropped) => Err(BrokerError::NoEffect { fault: format!("healing {fault}"), why: format!("the rule is still there ({dropped} packets dropped)") }),
    }
}

/// Time to connect to the first bootstrap broker and get metadata.
pub(super) async fn first_broker_rtt(broker: &dyn Broker) -> Duration {
    let first = broker.bootstrap_servers().split(',').next().unwrap_or_default().to_string();
    let mut config = broker.client_config();
    config.set("bootstrap.servers", &first);
    let start = Instant::now();
    let _ = admin::wait_for_brokers(&config, 1, Duration::from_secs(10)).await;
    start.elapsed()
}
