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
use super::profile::Profile;
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
    /// Client settings for a goal: throughput (librdkafka's batching) or latency (linger.ms=0, no Nagle); -X overrides.
    #[arg(long, value_enum, default_value_t = Profile::Throughput)]
    pub profile: Profile,
    /// Kafka version of container brokers (default 4.1.1): the image
    /// apache/kafka:V, or dashstream/kafka:V-local built by
    /// `KAFKA_VERSION=V bash ci/kafka-image`.
    #[arg(long, env = super::image::ENV_VERSION, value_parser = parse_kafka_version)]
    pub kafka_version: Option<String>,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        Self { bootstrap: None, settings: Vec::new(), connect_timeout: Duration::from_secs(30), profile: Profile::Throughput, kafka_version: None }
    }
}

/// A Kafka release number: MAJOR.MINOR.PATCH.
pub fn parse_kafka_version(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.trim().split('.').collect();
    if parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit())) {
        Ok(s.trim().to_string())
    } else {
        Err(format!("{s:?} is not a Kafka version (MAJOR.MINOR.PATCH, e.g. 3.9.1)"))
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
        Self::from_vars(|name| std::env::var(name).ok(), default)
    }

    /// [`BrokerArgs::from_env`] over any source of variables.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>, default: BrokerKind) -> Result<Self, BrokerError> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let bootstrap = set(ENV_BOOTSTRAP);
        let broker = match set(ENV_BROKER) {
            Some(name) => parse_kind(&name)?,
            None if bootstrap.is_some() => BrokerKind::External,
            None => default,
        };
        let settings = set(ENV_SETTINGS)
            .map(|list| list.split(',').filter(|s| !s.trim().is_empty()).map(|s| parse_setting(s).map_err(BrokerError::Config)).collect::<Result<Vec<_>, _>>())
            .transpose()?
            .unwrap_or_default();
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

/// A duration as humantime reads it (`500ms`, `30s`, `2m`, `1h 30m`); also,
/// as the first releases of the CLI read them, a bare number of seconds and a
/// decimal number with one unit (`1.5s`, `0.5m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(d) = humantime::parse_duration(s) {
        return Ok(d);
    }
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let scale = match unit {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        _ => f64::NAN,
    };
    match number.parse::<f64>().map(|n| n * scale) {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => Ok(Duration::from_secs_f64(secs)),
        _ => Err(format!("{s:?} is not a duration (e.g. 500ms, 1.5s, 2m)")),
    }
}

/// What `Auto` means here and now: external with `--bootstrap`, else a
/// container if a Docker host answers, else the embedded mock.
pub fn resolve(kind: BrokerKind, connection: &ConnectionArgs) -> BrokerKind {
    resolve_explained(kind, connection).kind
}

/// A backend as resolved, and why: the first line a user of `check` reads.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub kind: BrokerKind,
    /// Why this backend, in a few words ("asked for", "Docker host ... answered", ...).
    pub why: String,
    /// Set when `auto` fell back to the mock: every place tried, and how to fix it.
    pub docker_error: Option<crate::docker::DockerHostError>,
}

/// [`resolve`], with the reason for the choice.
pub fn resolve_explained(kind: BrokerKind, connection: &ConnectionArgs) -> Resolution {
    let chosen = |kind, why: String| Resolution { kind, why, docker_error: None };
    match (kind, &connection.bootstrap) {
        (BrokerKind::Auto, Some(b)) => chosen(BrokerKind::External, format!("--bootstrap {b} given")),
        (BrokerKind::Auto, None) => match crate::docker::ensure_docker_host() {
            Ok(found) => chosen(BrokerKind::Container, format!("Docker host {} answered ({})", found.host, found.source)),
            // A host set explicitly is the user's choice: its error, not a fallback.
            Err(e) if e.explicit.is_some() => chosen(BrokerKind::Container, format!("Docker host set in {}", e.explicit.clone().unwrap_or_default())),
            Err(e) => {
                tracing::info!("no Docker host answers: using the embedded mock broker");
                Resolution { kind: BrokerKind::Mock, why: "no Docker host answered".into(), docker_error: Some(e) }
            }
        },
        (k, _) => chosen(k, "asked for".into()),
    }
}

/// Starts (or connects to) the backend and returns once it answers, within
/// `connection.connect_timeout`. The `-X` settings go to every client of it.
pub async fn open(kind: BrokerKind, connection: &ConnectionArgs) -> Result<Box<dyn Broker>, BrokerError> {
    open_shared(kind, connection, 0).await
}

/// As [`open`], for the broker a suite's scenarios share: a single container
/// broker gets `spare_routes` routes of their own to lend to network-fault
/// scenarios ([`Broker::spare_route`]); other backends get none.
pub async fn open_shared(kind: BrokerKind, connection: &ConnectionArgs, spare_routes: usize) -> Result<Box<dyn Broker>, BrokerError> {
    if let Some(v) = &connection.kafka_version {
        super::image::use_version(v);
    }
    let profile = connection.profile.settings().iter().map(|(k, v)| (k.to_string(), v.to_string()));
    let settings: BTreeMap<String, String> = profile.chain(connection.settings.iter().cloned()).collect();
    let started: Box<dyn Broker> = match resolve(kind, connection) {
        BrokerKind::External => {
            let bootstrap = connection.bootstrap.as_deref().ok_or_else(|| BrokerError::Config("--broker external needs --bootstrap HOST:PORT".into()))?;
            Box::new(ExternalBroker::new(bootstrap, settings.clone()))
        }
        BrokerKind::Container => Box::new(ContainerBroker::shared(spare_routes).await?),
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
    fn broker_address(&self, id: i32) -> Option<String> {
        self.inner.broker_address(id)
    }
    fn upstream_address(&self, id: i32) -> Option<String> {
        self.inner.upstream_address(id)
    }
    fn spare_route(&self) -> Option<Box<dyn Broker>> {
        let route = self.inner.spare_route()?;
        Some(Box::new(Configured { inner: route, settings: self.settings.clone() }))
    }
    async fn exit_report(&self, id: i32) -> Result<Option<super::ExitReport>, BrokerError> {
        self.inner.exit_report(id).await
    }
    async fn packet_loss_rule(&self, id: i32) -> Result<Option<u64>, BrokerError> {
        self.inner.packet_loss_rule(id).await
    }
    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<super::TopicStatus, BrokerError> {
        self.inner.create_topic(topic, partitions).await
    }
    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError> {
        self.inner.apply(action).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(vars: &[(&str, &str)], default: BrokerKind) -> Result<BrokerArgs, BrokerError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        BrokerArgs::from_vars(|name| vars.get(name).cloned(), default)
    }

    #[test]
    fn the_test_environment_names_the_broker() {
        assert_eq!(from(&[], BrokerKind::Container).unwrap().broker, BrokerKind::Container);
        assert_eq!(from(&[(ENV_BROKER, "mock")], BrokerKind::Container).unwrap().broker, BrokerKind::Mock);
        let external = from(&[(ENV_BOOTSTRAP, "k1:9092"), (ENV_SETTINGS, "security.protocol=SSL, acks=all")], BrokerKind::Mock).unwrap();
        assert_eq!(external.broker, BrokerKind::External);
        assert_eq!(external.connection.bootstrap.as_deref(), Some("k1:9092"));
        assert_eq!(external.connection.settings, vec![("security.protocol".into(), "SSL".into()), ("acks".into(), "all".into())]);
        assert!(from(&[(ENV_BROKER, "kafka")], BrokerKind::Mock).is_err());
        assert!(from(&[(ENV_SETTINGS, "novalue")], BrokerKind::Mock).is_err());
    }

    #[test]
    fn durations_read_as_humantime_or_bare_seconds() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("10").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("1.5x").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn a_kafka_version_is_three_numbers() {
        assert_eq!(parse_kafka_version(" 3.9.1"), Ok("3.9.1".to_string()));
        for bad in ["4.x", "4.1", "4.1.1-rc1", "", "4..1"] {
            assert!(parse_kafka_version(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(super::super::image::local_tag("4.4.0"), "4.4.0-local");
    }
}
