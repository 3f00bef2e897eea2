//! Where a consumer starts reading a partition: at the group's committed
//! offset (the default), or at the beginning or the end of the partition the
//! first time this consumer is given it, whatever the group committed.
//!
//! `auto.offset.reset` only applies to a group without committed offsets; a
//! named group that already read a topic needs the offsets set in the
//! assignment itself, which is what [`StartContext`]'s rebalance does. The
//! group's committed offsets are never rewritten by this: only what this
//! consumer reads (and later commits) changes.

use std::collections::HashSet;
use std::sync::Mutex;

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

/// Where to start each partition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StartAt {
    /// The group's committed offset; without one, `auto.offset.reset` (earliest).
    #[default]
    Committed,
    /// The partition's first offset.
    Beginning,
    /// The partition's end: only records written after the assignment.
    End,
}

impl StartAt {
    fn offset(self) -> Option<Offset> {
        match self {
            Self::Committed => None,
            Self::Beginning => Some(Offset::Beginning),
            Self::End => Some(Offset::End),
        }
    }
}

/// The consumer's librdkafka context: librdkafka's rebalance, with the start
/// offset set for partitions this consumer has not been given before.
#[derive(Debug, Default)]
pub struct StartContext {
    start: StartAt,
    placed: Mutex<HashSet<(String, i32)>>,
}

impl StartContext {
    pub fn new(start: StartAt) -> Self {
        Self { start, placed: Mutex::default() }
    }

    /// Sets the start offset of every partition of `tpl` seen for the first time.
    fn place(&self, tpl: &mut TopicPartitionList) {
        let Some(offset) = self.start.offset() else { return };
        let mut placed = self.placed.lock().unwrap_or_else(|p| p.into_inner());
        let fresh: Vec<(String, i32)> =
            tpl.elements().iter().map(|el| (el.topic().to_string(), el.partition())).filter(|tp| !placed.contains(tp)).collect();
        for (topic, partition) in fresh {
            if let Err(e) = tpl.set_partition_offset(&topic, partition, offset) {
                tracing::warn!("could not place {topic}/{partition} at {offset:?}: {e}");
            }
            placed.insert((topic, partition));
        }
    }
}

impl ClientContext for StartContext {}

impl ConsumerContext for StartContext {
    fn rebalance(&self, base: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(base.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                self.place(tpl);
                if cooperative {
                    base.incremental_assign(tpl)
                } else {
                    base.assign(tpl)
                }
            }
            _ if cooperative => base.incremental_unassign(tpl),
            _ => base.unassign(),
        };
        if let Err(e) = result {
            tracing::warn!("rebalance ({err:?}) could not be applied: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tpl(parts: &[i32]) -> TopicPartitionList {
        let mut t = TopicPartitionList::new();
        for p in parts {
            t.add_partition("t", *p);
        }
        t
    }

    #[test]
    fn only_partitions_given_for_the_first_time_are_placed() {
        let ctx = StartContext::new(StartAt::Beginning);
        let mut first = tpl(&[0, 1]);
        ctx.place(&mut first);
        assert!(first.elements().iter().all(|el| el.offset() == Offset::Beginning));
        let mut again = tpl(&[1, 2]);
        ctx.place(&mut again);
        assert_eq!(again.find_partition("t", 1).unwrap().offset(), Offset::Invalid, "1 resumes from what was committed");
        assert_eq!(again.find_partition("t", 2).unwrap().offset(), Offset::Beginning);
    }

    #[test]
    fn committed_leaves_the_assignment_alone() {
        let ctx = StartContext::new(StartAt::Committed);
        let mut t = tpl(&[0]);
        ctx.place(&mut t);
        assert_eq!(t.find_partition("t", 0).unwrap().offset(), Offset::Invalid);
    }
}
