//! Topic creation and readiness checks shared by the real-Kafka backends.
//!
//! Readiness is a condition polled under a deadline (metadata shows the
//! expected brokers; a new topic has a leader for every partition), never a sleep.

use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::KafkaError;
use rdkafka::metadata::Metadata;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientConfig;

use super::{BrokerError, TopicStatus};

const POLL: Duration = Duration::from_millis(200);

/// An admin client (a producer handle in librdkafka: it gets the producer's settings).
fn admin(config: &ClientConfig) -> Result<AdminClient<DefaultClientContext>, BrokerError> {
    super::roles::for_producer(config).create().map_err(|e| BrokerError::kafka("creating admin client", e))
}

async fn metadata(config: &ClientConfig, topic: Option<&str>, timeout: Duration) -> Result<Metadata, KafkaError> {
    let config = super::roles::for_producer(config);
    let topic = topic.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let client: AdminClient<DefaultClientContext> = config.create()?;
        client.inner().fetch_metadata(topic.as_deref(), timeout)
    })
    .await
    .expect("metadata task panicked")
}

/// The broker's words when `topic` does not exist (e.g. "Broker: Unknown topic
/// or partition"), `None` when it does. Asks for the topic without ever
/// creating it (`allow.auto.create.topics=false`).
pub async fn topic_missing(config: &ClientConfig, topic: &str, timeout: Duration) -> Result<Option<String>, BrokerError> {
    let mut config = config.clone();
    config.set("allow.auto.create.topics", "false");
    let md = metadata(&config, Some(topic), timeout).await.map_err(|e| BrokerError::kafka(format!("asking for topic {topic}"), e))?;
    let t = md.topics().iter().find(|t| t.name() == topic);
    Ok(match t {
        None => Some("not in the broker's metadata".to_string()),
        Some(t) => match t.error() {
            Some(e) => Some(RDKafkaErrorCode::from(e).to_string()),
            None if t.partitions().is_empty() => Some("no partitions".to_string()),
            None => None,
        },
    })
}

/// Every broker in the cluster's metadata, as `(id, "host:port")`: the
/// addresses the cluster advertises to clients.
pub async fn advertised_brokers(config: &ClientConfig, timeout: Duration) -> Result<Vec<(i32, String)>, BrokerError> {
    let md = metadata(config, None, timeout).await.map_err(|e| BrokerError::kafka("asking for the cluster's brokers", e))?;
    Ok(md.brokers().iter().map(|b| (b.id(), format!("{}:{}", b.host(), b.port()))).collect())
}

/// Waits until the cluster's metadata lists at least `brokers` brokers.
pub async fn wait_for_brokers(config: &ClientConfig, brokers: usize, deadline: Duration) -> Result<(), BrokerError> {
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    while start.elapsed() < deadline {
        // Never asks past the deadline: a silence proof waits exactly that long.
        let attempt = deadline.saturating_sub(start.elapsed()).min(Duration::from_secs(3));
        match metadata(config, None, attempt).await {
            Ok(md) if md.brokers().len() >= brokers => return Ok(()),
            Ok(md) => last = format!("{} of {brokers} brokers in metadata", md.brokers().len()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(POLL).await;
    }
    Err(BrokerError::Timeout { what: format!("{brokers} broker(s)"), secs: deadline.as_secs(), last })
}

/// How many partitions `topic` has, if it exists. Lists all topics (never
/// asks for this one, which could trigger auto-creation).
pub async fn existing_partitions(config: &ClientConfig, topic: &str) -> Option<i32> {
    let md = metadata(config, None, Duration::from_secs(10)).await.ok()?;
    md.topics().iter().find(|t| t.name() == topic && !t.partitions().is_empty()).map(|t| t.partitions().len() as i32)
}

/// Creates `topic` unless it exists (an existing topic is used as it is,
/// whatever its partition count), and waits until all its partitions have a leader.
pub async fn create_topic(
    config: &ClientConfig,
    topic: &str,
    partitions: i32,
    replication: i32,
    deadline: Duration,
) -> Result<TopicStatus, BrokerError> {
    let start = Instant::now();
    if let Some(existing) = existing_partitions(config, topic).await {
        wait_for_leaders(config, topic, existing, deadline).await?;
        return Ok(TopicStatus { partitions: existing, created: false });
    }
    let client = admin(config)?;
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let mut last;
    loop {
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
        match client.create_topics([&new], &opts).await {
            Ok(results) => match results.into_iter().next() {
                Some(Ok(_)) => break,
                // Created meanwhile by someone else: used as it is.
                Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                    let existing = existing_partitions(config, topic).await.unwrap_or(partitions);
                    wait_for_leaders(config, topic, existing, deadline.saturating_sub(start.elapsed())).await?;
                    return Ok(TopicStatus { partitions: existing, created: false });
                }
                Some(Err((_, code))) => last = format!("create {topic}: {code}"),
                None => last = "no result".into(),
            },
            Err(e) => last = format!("create {topic}: {e}"),
        }
        if start.elapsed() > deadline {
            return Err(BrokerError::Timeout { what: format!("topic {topic} creation"), secs: deadline.as_secs(), last });
        }
        tokio::time::sleep(POLL).await;
    }
    wait_for_leaders(config, topic, partitions, deadline.saturating_sub(start.elapsed())).await?;
    Ok(TopicStatus { partitions, created: true })
}

/// Waits until every partition of `topic` has a leader in the metadata.
pub async fn wait_for_leaders(config: &ClientConfig, topic: &str, partitions: i32, deadline: Duration) -> Result<(), BrokerError> {
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    while start.elapsed() < deadline {
        match metadata(config, Some(topic), Duration::from_secs(3)).await {
            Ok(md) => {
                let ready = md.topics().iter().find(|t| t.name() == topic).map(|t| {
                    t.error().is_none()
                        && t.partitions().len() as i32 >= partitions
                        && t.partitions().iter().all(|p| p.leader() >= 0 && p.error().is_none())
                });
                if ready == Some(true) && offsets_answer(config, topic, partitions).await {
                    return Ok(());
                }
                last = format!("{topic} not ready in metadata");
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(POLL).await;
    }
    Err(BrokerError::Timeout { what: format!("leaders for {topic}"), secs: deadline.as_secs(), last })
}

/// Whether every partition's leader answers an offset lookup (ListOffsets):
/// part of "the topic is ready", so a consumer that joins right after creation
/// can find where each partition starts.
async fn offsets_answer(config: &ClientConfig, topic: &str, partitions: i32) -> bool {
    let config = config.clone();
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        let Ok(c) = config.create::<rdkafka::consumer::BaseConsumer>() else { return false };
        (0..partitions).all(|p| rdkafka::consumer::Consumer::fetch_watermarks(&c, &topic, p, Duration::from_secs(2)).is_ok())
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A silence proof waits as long as it says: a broker that accepts the
    /// connection and never answers is given `deadline`, not the 3 s a
    /// single metadata request may take.
    #[tokio::test]
    async fn waiting_for_a_silent_broker_ends_at_the_deadline() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap(); // never accepts: the kernel queues the connection
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", silent.local_addr().unwrap().to_string());
        let start = Instant::now();
        let outcome = wait_for_brokers(&config, 1, Duration::from_secs(1)).await;
        let took = start.elapsed();
        assert!(outcome.is_err(), "a broker that never answers was found");
        assert!(took < Duration::from_millis(2500), "waited {took:?} for a 1 s deadline");
    }
}
