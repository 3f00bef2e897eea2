//! One way to name and open a broker: [`BrokerKind`] plus [`ConnectionArgs`]
//! go in, a running [`Broker`] comes out. The CLI flattens [`BrokerArgs`] into
//! every command that talks to Kafka; tests build the same arguments from the
//! environment with [`BrokerArgs::from_env`] (in the manner of rskafka's
//! `TestConfig`), so `cargo test` can also target an existing cluster.

use std::collections::BTreeMap;
use std::time::Duration;

use super::container::ContainerBroker;
use super::external::ExternalBroker;
use super::mock::MockBroker;
use super::{admin, Broker, BrokerAction, BrokerError, BrokerKind};

/// Brokers in the mock cluster and in the container cluster.
pub const CLUSTER_SIZE: i32 = 3;

/// Where Kafka is, apart from which backend: shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Bootstrap servers of an external cluster (HOST:PORT[,HOST:PORT]).
    #[arg(long)]
    pub bootstrap: Option<String>,
    /// librdkafka setting for every client, e.g. -X security.protocol=SASL_SSL (repeatable).
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = parse_setting)]
    pub settings: Vec<(String, String)>,
    /// How long the broker may take to answer before the command fails (e.g. 500ms, 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        Self { bootstrap: None, settings: Vec::new(), connect_timeout: Duration::from_secs(30) }
    }
}

/// `--broker` and the connection: the argument group of every Kafka command.
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerArgs {
    #[arg(long, value_enum, default_value_t = BrokerKind::Auto)]
    pub broker: BrokerKind,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Environment variables of the test loader.
pub const ENV_BROKER: &str = "DASHSTREAM_TEST_BROKER";
pub const ENV_BOOTSTRAP: &str = "DASHSTREAM_TEST_BOOTSTRAP";
/// Comma-separated `key=value` librdkafka settings for every test client.
pub const ENV_SETTINGS: &str = "DASHSTREAM_TEST_SETTINGS";

impl BrokerArgs {
    pub fn of(broker: BrokerKind) -> Self {
        Self { broker, connection: ConnectionArgs::default() }
    }

    /// The test environment: `DASHSTREAM_TEST_BROKER=mock|container|cluster|external`
    /// (else `default`), `DASHSTREAM_TEST_BOOTSTRAP=host:port` (implies external
    /// unless a broker is named) and `DASHSTREAM_TEST_SETTINGS=k=v,k=v`.
    pub fn from_env(default: BrokerKind) -> Result<Self, BrokerError> {
        let bootstrap = std::env::var(ENV_BOOTSTRAP).ok().filter(|b| !b.is_empty());
        let broker = match std::env::var(ENV_BROKER).ok().filter(|b| !b.is_empty()) {
            Some(name) => parse_kind(&name)?,
            None if bootstrap.is_some() => BrokerKind::External,
            None => default,
        };
        let settings = match std::env::var(ENV_SETTINGS) {
            Ok(list) => list.split(',').filter(|s| !s.trim().is_empty()).map(|s| parse_setting(s).map_err(BrokerError::Config)).collect::<Result<_, _>>()?,
            Err(_) => Vec::new(),
        };
        Ok(Self { broker, connection: ConnectionArgs { bootstrap, settings, ..ConnectionArgs::default() } })
    }

    /// Opens the chosen backend: see [`open`].
    pub async fn open(&self) -> Result<Box<dyn Broker>, BrokerError> {
        open(self.broker, &self.connection).await
    }
}

/// A backend name as the CLI spells it.
pub fn parse_kind(name: &str) -> Result<BrokerKind, BrokerError> {
    <BrokerKind as clap::ValueEnum>::from_str(name.trim(), true)
        .map_err(|_| BrokerError::Config(format!("unknown broker {name:?} (auto, container, cluster, mock, external)")))
}

/// `key=value` for `-X`.
pub fn parse_setting(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("{pair:?} is not KEY=VALUE"))
}

/// A duration as humantime reads it (`500ms`, `30s`, `2m`, `1h 30m`); a bare
/// number is seconds, as the first releases of the CLI read it.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Ok(Duration::from_secs_f64(secs)),
        _ => humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration (e.g. 500ms, 10s, 2m): {e}")),
    }
}

/// What `Auto` means here and now: external with `--bootstrap`, else a
/// container if a Docker host answers, else the embedded mock.
pub fn resolve(kind: BrokerKind, connection: &ConnectionArgs) -> BrokerKind {
    match (kind, &connection.bootstrap) {
        (BrokerKind::Auto, Some(_)) => BrokerKind::External,
        (BrokerKind::Auto, None) if crate::docker::ensure_docker_host().is_ok() => BrokerKind::Container,
        (BrokerKind::Auto, None) => {
            tracing::info!("no Docker host answers: using the embedded mock broker");
            BrokerKind::Mock
        }
        (k, _) => k,
    }
}

/// Starts (or connects to) the backend and returns once it answers, within
/// `connection.connect_timeout`. The `-X` settings go to every client of it.
pub async fn open(kind: BrokerKind, connection: &ConnectionArgs) -> Result<Box<dyn Broker>, BrokerError> {
    let settings: BTreeMap<String, String> = connection.settings.iter().cloned().collect();
    let started: Box<dyn Broker> = match resolve(kind, connection) {
        BrokerKind::External => {
            let bootstrap = connection.bootstrap.as_deref().ok_or_else(|| BrokerError::Config("--broker external needs --bootstrap HOST:PORT".into()))?;
            Box::new(ExternalBroker::new(bootstrap, settings.clone()))
        }
        BrokerKind::Container => Box::new(ContainerBroker::single().await?),
        BrokerKind::Cluster => Box::new(ContainerBroker::cluster(CLUSTER_SIZE).await?),
        BrokerKind::Mock => Box::new(MockBroker::start(CLUSTER_SIZE)?),
        BrokerKind::Auto => unreachable!("resolve never returns Auto"),
    };
    let broker: Box<dyn Broker> = if settings.is_empty() || started.kind() == BrokerKind::External {
        started
    } else {
        Box::new(Configured { inner: started, settings })
    };
    admin::wait_for_brokers(&broker.client_config(), 1, connection.connect_timeout).await.map_err(|e| BrokerError::Unreachable {
        bootstrap: broker.bootstrap_servers(),
        secs: connection.connect_timeout.as_secs(),
        last: e.to_string(),
    })?;
    tracing::info!("broker: {}", broker.describe());
    Ok(broker)
}

/// A backend whose clients all get extra librdkafka settings (`-X`).
struct Configured {
    inner: Box<dyn Broker>,
    settings: BTreeMap<String, String>,
}

#[async_trait::async_trait]
impl Broker for Configured {
    fn kind(&self) -> BrokerKind {
        self.inner.kind()
    }
    fn describe(&self) -> String {
        let s: Vec<String> = self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} with {}", self.inner.describe(), s.join(", "))
    }
    fn bootstrap_servers(&self) -> String {
        self.inner.bootstrap_servers()
    }
    fn client_config(&self) -> rdkafka::ClientConfig {
        let mut c = self.inner.client_config();
        for (k, v) in &self.settings {
            c.set(k, v);
        }
        c
    }
    fn replication_factor(&self) -> i32 {
        self.inner.replication_factor()
    }
    fn broker_ids(&self) -> Vec<i32> {
        self.inner.broker_ids()
    }
    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), BrokerError> {
        self.inner.create_topic(topic, partitions).await
    }
    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError> {
        self.inner.apply(action).await
    }
}
