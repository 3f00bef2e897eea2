//! Picking and starting a backend from a name (`--broker`) and settings.

use std::collections::BTreeMap;
use std::str::FromStr;

use super::container::ContainerBroker;
use super::external::ExternalBroker;
use super::mock::MockBroker;
use super::{Broker, BrokerError};

/// The backends a user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerChoice {
    /// External if bootstrap servers are given, else a container if a Docker host answers, else the mock.
    Auto,
    Container,
    Cluster,
    Mock,
    External,
}

impl FromStr for BrokerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "auto" => Self::Auto,
            "container" => Self::Container,
            "cluster" => Self::Cluster,
            "mock" => Self::Mock,
            "external" => Self::External,
            other => return Err(format!("unknown broker {other:?} (auto, container, cluster, mock, external)")),
        })
    }
}

/// Starts (or connects to) the chosen backend.
pub async fn start(
    choice: BrokerChoice,
    bootstrap: Option<&str>,
    settings: BTreeMap<String, String>,
) -> Result<Box<dyn Broker>, BrokerError> {
    let choice = match (choice, bootstrap) {
        (BrokerChoice::Auto, Some(_)) => BrokerChoice::External,
        (BrokerChoice::Auto, None) if crate::docker::ensure_docker_host().is_ok() => BrokerChoice::Container,
        (BrokerChoice::Auto, None) => {
            tracing::info!("no Docker host answers: using the embedded mock broker");
            BrokerChoice::Mock
        }
        (c, _) => c,
    };
    Ok(match choice {
        BrokerChoice::External => {
            let bootstrap = bootstrap.ok_or_else(|| BrokerError::Config("--broker external needs --bootstrap HOST:PORT".into()))?;
            Box::new(ExternalBroker::new(bootstrap, settings))
        }
        BrokerChoice::Container => Box::new(ContainerBroker::single().await?),
        BrokerChoice::Cluster => Box::new(ContainerBroker::cluster(3).await?),
        BrokerChoice::Mock => Box::new(MockBroker::start(3)?),
        BrokerChoice::Auto => unreachable!("resolved above"),
    })
}
