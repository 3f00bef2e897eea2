//! Real Apache Kafka in Docker: one KRaft broker, or a 3-broker KRaft cluster.
//!
//! - The single broker is `testcontainers_modules::kafka::apache::Kafka`, run on
//!   the image chosen by [`super::image::resolve`].
//! - The cluster is three combined broker+controller nodes on a private Docker
//!   network (replication factor 3, `min.insync.replicas=2`), reached from the
//!   host through one mapped port each.
//!
//! Clients reach every broker through a fault proxy of its own
//! ([`crate::proxy::FaultProxy`], on 127.0.0.1), which the broker advertises:
//! metadata never hands a client an address that bypasses it. The proxy
//! passes connections on to the broker's mapped port. Host ports are pinned
//! before start (see `ports`), so both stay valid across a stop and start.
//! Only `bench`'s direct route ([`Route::Direct`]) goes without a proxy. Containers
//! are labelled with the owning process; they are removed when the broker is
//! dropped (also while unwinding from a panic), on Ctrl-C by testcontainers'
//! watchdog, and, if the process was killed outright, by the sweep that every
//! later run does first (`super::orphans`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use testcontainers::bollard::Docker;
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use testcontainers_modules::kafka::apache;

use crate::proxy::FaultProxy;

use super::direct_route::{self, ExtraListener, Route};
use super::image::{self, KafkaImage};
use super::orphans::sweep_orphans_once;
use super::spare_route::{self, RoutePool};
use super::ports::{self, CONTROLLER_PORT, INTERNAL_PORT, KAFKA_PORT};
use super::{admin, Broker, BrokerAction, BrokerError, BrokerKind, READY_DEADLINE};

/// Label on every container and network this crate starts: the owning process id.
pub const OWNER_LABEL: &str = "dashstream.owner-pid";
const CLUSTER_ID: &str = "5L6g3nShT-eMCtK--X86sw";
const HEAP: &str = "-Xmx512m -Xms256m";
/// JVM settings of [`Jvm::QuickStart`]: C1 only, the serial collector, and the
/// class-data archive that `ci/kafka-image` builds into the image (a JVM
/// without it, as in the official image, starts without sharing). Measured
/// with `docker run`, image defaults → C1 and serial GC → plus the archive:
/// one broker up in 5.1 s → 4.0 s → 1.8 s; six at once on 2 cores in
/// 21.8 s → 15.6 s → 9.3 s.
const QUICK_START_JVM: &str = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:SharedArchiveFile=/opt/kafka/kafka.jsa -Djava.awt.headless=true";

/// How the broker's JVM is tuned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jvm {
    /// The image's defaults: what `bench` measures, as users run Kafka.
    AsShipped,
    /// Quick to start and light on CPU when many brokers share few cores: what
    /// the suite and the CLI's throwaway brokers use.
    QuickStart,
}

impl Jvm {
    fn env(self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::AsShipped => None,
            Self::QuickStart => Some(("KAFKA_JVM_PERFORMANCE_OPTS", QUICK_START_JVM)),
        }
    }
}
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Kept only for its `Drop`, which removes the container.
#[allow(dead_code)]
enum Handle {
    Module(ContainerAsync<apache::Kafka>),
    Generic(ContainerAsync<GenericImage>),
}

pub(super) struct Node {
    pub(super) id: i32,
    pub(super) container_id: String,
    pub(super) host_port: u16,
    /// The fault proxy clients go through (none on `bench`'s direct route).
    pub(super) proxy: Option<FaultProxy>,
    /// The Docker network the node's ports are published on.
    pub(super) network: String,
    _handle: Handle,
}

/// Kafka in Docker; dropped means removed.
pub struct ContainerBroker {
    kind: BrokerKind,
    pub(super) image: KafkaImage,
    pub(super) nodes: Vec<Node>,
    pub(super) docker: Docker,
    started_in: Duration,
    /// `address:port` of the `DIRECT` listener when clients use it (see `direct_route`).
    direct: Option<String>,
    /// Routes of their own for scenarios' network faults, not lent out (see `spare_route`).
    spare: RoutePool,
}

impl std::fmt::Debug for ContainerBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContainerBroker").field("kind", &self.kind).field("image", &self.image).finish_non_exhaustive()
    }
}

fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

async fn docker() -> Result<Docker, BrokerError> {
    crate::docker::ensure_docker_host()?;
    Docker::connect_with_defaults().map_err(|e| BrokerError::Docker(e.to_string()))
}

impl ContainerBroker {
    /// Starts one KRaft broker (testcontainers-modules' apache Kafka image contract).
    pub async fn single() -> Result<Self, BrokerError> {
        Self::single_via(Route::MappedPort, Jvm::QuickStart).await
    }

    /// Starts one KRaft broker that clients on this host reach by `route`, its JVM tuned as `jvm` says.
    pub async fn single_via(route: Route, jvm: Jvm) -> Result<Self, BrokerError> {
        Self::start_single(route, jvm, 0).await
    }

    /// Starts the broker a suite's scenarios share, with `spare_routes`
    /// routes of their own to lend to network-fault scenarios ([`Broker::spare_route`]).
    pub async fn shared(spare_routes: usize) -> Result<Self, BrokerError> {
        Self::start_single(Route::MappedPort, Jvm::QuickStart, spare_routes).await
    }

    async fn start_single(route: Route, jvm: Jvm, spare_routes: usize) -> Result<Self, BrokerError> {
        let docker = docker().await?;
        sweep_orphans_once(&docker).await;
        let image = image::resolve().await;
        let host_port = ports::free_port().map_err(|e| BrokerError::Docker(format!("no free port: {e}")))?;
        let proxy = match route {
            Route::MappedPort => Some(start_proxy(host_port)?),
            Route::Direct => None,
        };
        let advertised = proxy.as_ref().map_or(host_port, |p| p.address().port());
        let spare = spare_route::reserve(spare_routes)?;
        let started = Instant::now();
        let run = run_id();
        let network = match route {
            Route::MappedPort => "bridge".to_string(),
            Route::Direct => format!("dashstream-net-{run}"),
        };
        let mut request = apache::Kafka::default()
            .with_name(image.name.clone())
            .with_tag(image.tag.clone())
            .with_container_name(format!("dashstream-kafka-{run}"))
            .with_mapped_port(host_port, ContainerPort::Tcp(KAFKA_PORT))
            .with_env_var("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
            .with_env_var("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env_var("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .with_env_var("KAFKA_HEAP_OPTS", HEAP)
            .with_cap_add("NET_ADMIN")
            .with_label(OWNER_LABEL, std::process::id().to_string())
            .with_startup_timeout(STARTUP_TIMEOUT);
        if let Some((key, value)) = jvm.env() {
            request = request.with_env_var(key, value);
        }
        let extra: Vec<ExtraListener> =
            spare.iter().map(|r| ExtraListener { name: r.name.clone(), port: r.container_port, advertised_port: r.proxy.address().port() }).collect();
        for r in &spare {
            request = request.with_mapped_port(r.host_port, ContainerPort::Tcp(r.container_port));
        }
        request = request.with_cmd(direct_route::start_command(route, advertised, &extra));
        if route == Route::Direct {
            request = request.with_network(network.clone());
        }
        let handle = request.start().await.map_err(|source| BrokerError::Start { image: image.to_string(), source })?;
        let container_id = handle.id().to_string();
        let direct = match route {
            Route::MappedPort => None,
            Route::Direct => direct_route::probe(&docker, &container_id, &network).await?,
        };
        let node = Node { id: 1, container_id, host_port, proxy, network, _handle: Handle::Module(handle) };
        let spare = std::sync::Arc::new(std::sync::Mutex::new(spare));
        let broker = Self { kind: BrokerKind::Container, image, nodes: vec![node], docker, started_in: Duration::ZERO, direct, spare };
        admin::wait_for_brokers(&broker.client_config(), 1, READY_DEADLINE).await?;
        let broker = Self { started_in: started.elapsed(), ..broker };
        tracing::info!(image = %broker.image, reason = broker.image.reason, bootstrap = %broker.bootstrap_servers(),
            secs = broker.started_in.as_secs_f64(), "kafka container ready");
        Ok(broker)
    }

    /// Starts a KRaft cluster of `size` combined broker+controller nodes on a private network.
    pub async fn cluster(size: i32) -> Result<Self, BrokerError> {
        let docker = docker().await?;
        sweep_orphans_once(&docker).await;
        let image = image::resolve().await;
        let run = run_id();
        let network = format!("dashstream-net-{run}");
        let names: Vec<String> = (1..=size).map(|i| format!("dashstream-kafka-{run}-{i}")).collect();
        let voters = names.iter().enumerate().map(|(i, n)| format!("{}@{n}:{CONTROLLER_PORT}", i + 1)).collect::<Vec<_>>().join(",");
        let mut ports = Vec::new();
        let mut proxies = Vec::new();
        for _ in 0..size {
            let port = ports::free_port().map_err(|e| BrokerError::Docker(format!("no free port: {e}")))?;
            proxies.push(start_proxy(port)?);
            ports.push(port);
        }
        let advertised: Vec<u16> = proxies.iter().map(|p| p.address().port()).collect();
        let started = Instant::now();
        let starts = (1..=size).map(|id| {
            let name = names[id as usize - 1].clone();
            let port = ports[id as usize - 1];
            let advertised = advertised[id as usize - 1];
            let env = cluster_node_env(id, &name, advertised, &voters, size);
            let mut req = GenericImage::new(image.name.clone(), image.tag.clone())
                .with_exposed_port(ContainerPort::Tcp(KAFKA_PORT))
                .with_wait_for(WaitFor::message_on_stdout("Kafka Server started"))
                .with_network(network.clone())
                .with_container_name(name)
                .with_mapped_port(port, ContainerPort::Tcp(KAFKA_PORT))
                .with_cap_add("NET_ADMIN")
                .with_label(OWNER_LABEL, std::process::id().to_string())
                .with_startup_timeout(STARTUP_TIMEOUT);
            for (k, v) in env {
                req = req.with_env_var(k, v);
            }
            async move { req.start().await.map(|h| (id, port, h)) }
        });
        let results = futures::future::join_all(starts).await;
        let mut nodes = Vec::new();
        let mut first_error = None;
        for (r, proxy) in results.into_iter().zip(proxies) {
            match r {
                Ok((id, host_port, h)) => nodes.push(Node {
                    id,
                    container_id: h.id().to_string(),
                    host_port,
                    proxy: Some(proxy),
                    network: network.clone(),
                    _handle: Handle::Generic(h),
                }),
                Err(source) => first_error = first_error.or(Some(source)),
            }
        }
        if let Some(source) = first_error {
            return Err(BrokerError::Start { image: image.to_string(), source });
        }
        let broker = Self { kind: BrokerKind::Cluster, image, nodes, docker, started_in: Duration::ZERO, direct: None, spare: RoutePool::default() };
        admin::wait_for_brokers(&broker.client_config(), size as usize, READY_DEADLINE).await?;
        let broker = Self { started_in: started.elapsed(), ..broker };
        tracing::info!(image = %broker.image, bootstrap = %broker.bootstrap_servers(), secs = broker.started_in.as_secs_f64(),
            "kafka cluster of {size} ready");
        Ok(broker)
    }

    /// Time from asking Docker for the container(s) to the broker(s) answering.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// How clients on this host reach the broker, in words.
    pub fn route(&self) -> String {
        match &self.direct {
            Some(address) => format!("direct to {address} on network {} (no docker-proxy)", self.nodes[0].network),
            None => "fault proxy on 127.0.0.1, then the mapped port (through docker-proxy)".to_string(),
        }
    }

    /// The image in use.
    pub fn image(&self) -> &KafkaImage {
        &self.image
    }

    /// The Docker container id of broker `id`.
    pub fn container_id(&self, id: i32) -> Option<&str> {
        self.nodes.iter().find(|n| n.id == id).map(|n| n.container_id.as_str())
    }

    pub(super) fn node(&self, id: i32) -> Result<&Node, BrokerError> {
        self.nodes.iter().find(|n| n.id == id).ok_or(BrokerError::NoSuchBroker(id))
    }

    pub(super) fn node_config(&self, node: &Node) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", node.client_address());
        c
    }

    /// The fault proxy in front of broker `id`, for a toxic `action`.
    pub(super) fn proxy_of(&self, action: &BrokerAction, id: i32) -> Result<&FaultProxy, BrokerError> {
        self.node(id)?.proxy.as_ref().ok_or_else(|| BrokerError::Unsupported { backend: "container (direct route)", action: action.to_string() })
    }

    pub(super) async fn wait_node_answers(&self, node: &Node) -> Result<(), BrokerError> {
        admin::wait_for_brokers(&self.node_config(node), 1, READY_DEADLINE).await
    }
}

impl Node {
    /// Where clients connect: the proxy, or the mapped port without one.
    pub(super) fn client_address(&self) -> String {
        match &self.proxy {
            Some(proxy) => proxy.address().to_string(),
            None => self.upstream_address(),
        }
    }

    /// The broker's mapped port, behind the proxy.
    pub(super) fn upstream_address(&self) -> String {
        format!("127.0.0.1:{}", self.host_port)
    }
}

/// The environment of cluster node `id` (of `size`), named `name`, advertised to clients at the proxy port `advertised`.
fn cluster_node_env(id: i32, name: &str, advertised: u16, voters: &str, size: i32) -> HashMap<&'static str, String> {
    let rf = size.min(3).to_string();
    let min_isr = if size >= 3 { "2" } else { "1" };
    HashMap::from([
        ("CLUSTER_ID", CLUSTER_ID.to_string()),
        ("KAFKA_NODE_ID", id.to_string()),
        ("KAFKA_PROCESS_ROLES", "broker,controller".into()),
        ("KAFKA_LISTENERS", format!("PLAINTEXT://0.0.0.0:{KAFKA_PORT},INTERNAL://0.0.0.0:{INTERNAL_PORT},CONTROLLER://0.0.0.0:{CONTROLLER_PORT}")),
        ("KAFKA_ADVERTISED_LISTENERS", format!("PLAINTEXT://127.0.0.1:{advertised},INTERNAL://{name}:{INTERNAL_PORT}")),
        ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".into()),
        ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL".into()),
        ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".into()),
        ("KAFKA_CONTROLLER_QUORUM_VOTERS", voters.into()),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", rf.clone()),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", rf.clone()),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", min_isr.into()),
        ("KAFKA_DEFAULT_REPLICATION_FACTOR", rf.clone()),
        ("KAFKA_MIN_INSYNC_REPLICAS", min_isr.into()),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".into()),
        ("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs".into()),
        ("KAFKA_HEAP_OPTS", HEAP.into()),
        ("KAFKA_JVM_PERFORMANCE_OPTS", QUICK_START_JVM.into()),
    ])
}

/// A fault proxy in front of the broker that will listen on `host_port`.
pub(super) fn start_proxy(host_port: u16) -> Result<FaultProxy, BrokerError> {
    FaultProxy::start(format!("127.0.0.1:{host_port}")).map_err(|e| BrokerError::Docker(format!("fault proxy for port {host_port}: {e}")))
}

pub(super) fn docker_err(e: testcontainers::bollard::errors::Error) -> BrokerError {
    BrokerError::Docker(e.to_string())
}

#[async_trait]
impl Broker for ContainerBroker {
    fn kind(&self) -> BrokerKind {
        self.kind
    }

    fn describe(&self) -> String {
        let n = self.nodes.len();
        format!("Apache Kafka {} ({n} KRaft broker{}, image {}, {})", self.image.version, if n == 1 { "" } else { "s" }, self.image, self.image.reason)
    }

    fn bootstrap_servers(&self) -> String {
        if let Some(direct) = &self.direct {
            return direct.clone();
        }
        self.nodes.iter().map(Node::client_address).collect::<Vec<_>>().join(",")
    }

    fn replication_factor(&self) -> i32 {
        (self.nodes.len() as i32).min(3)
    }

    fn broker_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    fn broker_address(&self, id: i32) -> Option<String> {
        self.node(id).ok().map(Node::client_address)
    }

    fn upstream_address(&self, id: i32) -> Option<String> {
        self.node(id).ok().filter(|n| n.proxy.is_some()).map(Node::upstream_address)
    }

    fn spare_route(&self) -> Option<Box<dyn Broker>> {
        spare_route::lend(&self.spare, self.describe())
    }

    async fn exit_report(&self, id: i32) -> Result<Option<super::ExitReport>, BrokerError> {
        self.exit_report_of(self.node(id)?).await.map(Some)
    }

    async fn packet_loss_rule(&self, id: i32) -> Result<Option<u64>, BrokerError> {
        self.packet_loss_rule_of(self.node(id)?).await
    }

    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<super::TopicStatus, BrokerError> {
        admin::create_topic(&self.client_config(), topic, partitions, self.replication_factor(), READY_DEADLINE).await
    }

    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError> {
        self.perform(action).await
    }
}
