//! Which client a librdkafka setting belongs to.
//!
//! `-X key=value` settings reach every client a command creates. Handing a
//! producer-only setting (say `linger.ms`) to a consumer makes librdkafka warn
//! ("is a producer property and will be ignored by this consumer instance"),
//! and the other way round. [`for_producer`] and [`for_consumer`] drop the
//! settings of the other role, so each goes where it belongs, silently.
//! The tables are librdkafka 2.12's CONFIGURATION.md, column C/P.

use rdkafka::ClientConfig;

/// Settings only producers take (`P`).
pub const PRODUCER_ONLY: &[&str] = &[
    "acks", "batch.num.messages", "batch.size", "compression.codec", "compression.level", "compression.type",
    "delivery.report.only.error", "delivery.timeout.ms", "dr_cb", "dr_msg_cb", "enable.gapless.guarantee",
    "enable.idempotence", "linger.ms", "message.send.max.retries", "message.timeout.ms", "msg_order_cmp", "partitioner",
    "partitioner_cb", "produce.offset.report", "queue.buffering.backpressure.threshold", "queue.buffering.max.kbytes",
    "queue.buffering.max.messages", "queue.buffering.max.ms", "queuing.strategy", "request.required.acks",
    "request.timeout.ms", "retries", "sticky.partitioning.linger.ms", "transaction.timeout.ms", "transactional.id",
];

/// Settings only consumers take (`C`).
pub const CONSUMER_ONLY: &[&str] = &[
    "auto.commit.enable", "auto.commit.interval.ms", "auto.offset.reset", "check.crcs", "consume.callback.max.messages",
    "consume_cb", "coordinator.query.interval.ms", "enable.auto.commit", "enable.auto.offset.store",
    "enable.partition.eof", "fetch.error.backoff.ms", "fetch.max.bytes", "fetch.message.max.bytes", "fetch.min.bytes",
    "fetch.queue.backoff.ms", "fetch.wait.max.ms", "group.id", "group.instance.id", "group.protocol",
    "group.protocol.type", "group.remote.assignor", "heartbeat.interval.ms", "isolation.level",
    "max.partition.fetch.bytes", "max.poll.interval.ms", "offset.store.method", "offset.store.path",
    "offset.store.sync.interval.ms", "offset_commit_cb", "partition.assignment.strategy", "queued.max.messages.kbytes",
    "queued.min.messages", "rebalance_cb", "session.timeout.ms",
];

fn without(client: &ClientConfig, drop: &[&str]) -> ClientConfig {
    let mut cfg = client.clone();
    for key in drop {
        cfg.remove(key);
    }
    cfg
}

/// `client` without the consumer-only settings.
pub fn for_producer(client: &ClientConfig) -> ClientConfig {
    without(client, CONSUMER_ONLY)
}

/// `client` without the producer-only settings.
pub fn for_consumer(client: &ClientConfig) -> ClientConfig {
    without(client, PRODUCER_ONLY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_setting_goes_to_its_role_and_common_ones_to_both() {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", "b:9092").set("linger.ms", "0").set("fetch.wait.max.ms", "10").set("socket.nagle.disable", "true");
        let p = for_producer(&c);
        let k = for_consumer(&c);
        assert_eq!((p.get("linger.ms"), p.get("fetch.wait.max.ms")), (Some("0"), None));
        assert_eq!((k.get("linger.ms"), k.get("fetch.wait.max.ms")), (None, Some("10")));
        for cfg in [&p, &k] {
            assert_eq!((cfg.get("bootstrap.servers"), cfg.get("socket.nagle.disable")), (Some("b:9092"), Some("true")));
        }
    }

    #[test]
    fn the_tables_do_not_overlap() {
        assert!(PRODUCER_ONLY.iter().all(|k| !CONSUMER_ONLY.contains(k)));
    }
}
