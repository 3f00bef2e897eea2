//! Broker backend errors.

use crate::docker::DockerHostError;

/// Why a broker could not be started, reached or faulted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    #[error(transparent)]
    NoDocker(#[from] DockerHostError),
    #[error("could not start Kafka container from image {image}: {source}")]
    Start { image: String, source: testcontainers::TestcontainersError },
    #[error("docker: {0}")]
    Docker(String),
    #[error("kafka: {context}: {source}")]
    Kafka { context: String, source: rdkafka::error::KafkaError },
    #[error("broker at {bootstrap} is unreachable: no answer within {secs} s ({last})")]
    Unreachable { bootstrap: String, secs: u64, last: String },
    #[error("{what} not reached within {secs} s: {last}")]
    Timeout { what: String, secs: u64, last: String },
    #[error("the {backend} backend cannot {action}")]
    Unsupported { backend: &'static str, action: String },
    #[error("fault {fault} had no effect: {why}")]
    NoEffect { fault: String, why: String },
    #[error("no broker with id {0}")]
    NoSuchBroker(i32),
    #[error("bad configuration: {0}")]
    Config(String),
}

impl BrokerError {
    pub(crate) fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        Self::Kafka { context: context.into(), source }
    }
}
