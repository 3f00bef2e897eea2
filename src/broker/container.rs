//! Real Apache Kafka in Docker: one KRaft broker, or a 3-broker KRaft cluster.
//!
//! - The single broker is `testcontainers_modules::kafka::apache::Kafka`, run on
//!   the image chosen by [`super::image::resolve`].
//! - The cluster is three combined broker+controller nodes on a private Docker
//!   network (replication factor 3, `min.insync.replicas=2`), reached from the
//!   host through one mapped port each.
//!
//! Host ports are pinned before start (see `ports`), so the advertised
//! `127.0.0.1:<port>` listeners stay valid across a stop and start. Containers
//! are labelled with the owning process; they are removed when the broker is
//! dropped (also while unwinding from a panic), on Ctrl-C by testcontainers'
//! watchdog, and, if the process was killed outright, by the sweep that every
//! later run does first ([`super::container::sweep_orphans`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use testcontainers::bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use testcontainers::bollard::query_parameters::{KillContainerOptions, ListContainersOptions, RemoveContainerOptions, StopContainerOptions};
use testcontainers::bollard::Docker;
use testcontainers::core::{ContainerPort, WaitFor};
use testcontainers::runners::AsyncRunner;
use testcontainers::{ContainerAsync, GenericImage, ImageExt};
use testcontainers_modules::kafka::apache;
use tokio::sync::OnceCell;

use super::image::{self, KafkaImage};
use super::{admin, ports, Broker, BrokerError, BrokerKind, Fault, FaultKind, READY_DEADLINE};

/// Label on every container and network this crate starts: the owning process id.
pub const OWNER_LABEL: &str = "dashstream.owner-pid";
const CLUSTER_ID: &str = "5L6g3nShT-eMCtK--X86sw";
const HEAP: &str = "-Xmx512m -Xms256m";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long `docker pause` is retried while the cgroup freezer refuses.
const PAUSE_DEADLINE: Duration = Duration::from_secs(20);
/// How long a broker gets to shut down cleanly after SIGTERM.
const CLEAN_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(60);

/// Kept only for its `Drop`, which removes the container.
#[allow(dead_code)]
enum Handle {
    Module(ContainerAsync<apache::Kafka>),
    Generic(ContainerAsync<GenericImage>),
}

struct Node {
    id: i32,
    container_id: String,
    host_port: u16,
    /// The Docker network the node's ports are published on.
    network: String,
    _handle: Handle,
}

/// Kafka in Docker; dropped means removed.
pub struct ContainerBroker {
    kind: BrokerKind,
    image: KafkaImage,
    nodes: Vec<Node>,
    docker: Docker,
    started_in: Duration,
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
        let docker = docker().await?;
        sweep_orphans_once(&docker).await;
        let image = image::resolve().await;
        let host_port = ports::free_port().map_err(|e| BrokerError::Docker(format!("no free port: {e}")))?;
        let started = Instant::now();
        let request = apache::Kafka::default()
            .with_name(image.name.clone())
            .with_tag(image.tag.clone())
            .with_container_name(format!("dashstream-kafka-{}", run_id()))
            .with_mapped_port(host_port, apache::KAFKA_PORT)
            .with_env_var("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0")
            .with_env_var("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
            .with_env_var("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
            .with_env_var("KAFKA_HEAP_OPTS", HEAP)
            .with_cap_add("NET_ADMIN")
            .with_label(OWNER_LABEL, std::process::id().to_string())
            .with_startup_timeout(STARTUP_TIMEOUT);
        let handle = request.start().await.map_err(|source| BrokerError::Start { image: image.to_string(), source })?;
        let node = Node { id: 1, container_id: handle.id().to_string(), host_port, network: "bridge".into(), _handle: Handle::Module(handle) };
        let broker = Self { kind: BrokerKind::Container, image, nodes: vec![node], docker, started_in: Duration::ZERO };
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
        let voters = names.iter().enumerate().map(|(i, n)| format!("{}@{n}:9093", i + 1)).collect::<Vec<_>>().join(",");
        let mut ports = Vec::new();
        for _ in 0..size {
            ports.push(ports::free_port().map_err(|e| BrokerError::Docker(format!("no free port: {e}")))?);
        }
        let rf = size.min(3).to_string();
        let min_isr = if size >= 3 { "2" } else { "1" };
        let started = Instant::now();
        let starts = (1..=size).map(|id| {
            let name = names[id as usize - 1].clone();
            let port = ports[id as usize - 1];
            let env: HashMap<&str, String> = HashMap::from([
                ("CLUSTER_ID", CLUSTER_ID.to_string()),
                ("KAFKA_NODE_ID", id.to_string()),
                ("KAFKA_PROCESS_ROLES", "broker,controller".into()),
                ("KAFKA_LISTENERS", "PLAINTEXT://0.0.0.0:9092,INTERNAL://0.0.0.0:19092,CONTROLLER://0.0.0.0:9093".into()),
                ("KAFKA_ADVERTISED_LISTENERS", format!("PLAINTEXT://127.0.0.1:{port},INTERNAL://{name}:19092")),
                ("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP", "PLAINTEXT:PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT".into()),
                ("KAFKA_INTER_BROKER_LISTENER_NAME", "INTERNAL".into()),
                ("KAFKA_CONTROLLER_LISTENER_NAMES", "CONTROLLER".into()),
                ("KAFKA_CONTROLLER_QUORUM_VOTERS", voters.clone()),
                ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", rf.clone()),
                ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", rf.clone()),
                ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", min_isr.into()),
                ("KAFKA_DEFAULT_REPLICATION_FACTOR", rf.clone()),
                ("KAFKA_MIN_INSYNC_REPLICAS", min_isr.into()),
                ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0".into()),
                ("KAFKA_LOG_DIRS", "/tmp/kraft-combined-logs".into()),
                ("KAFKA_HEAP_OPTS", HEAP.into()),
            ]);
            let mut req = GenericImage::new(image.name.clone(), image.tag.clone())
                .with_exposed_port(ContainerPort::Tcp(9092))
                .with_wait_for(WaitFor::message_on_stdout("Kafka Server started"))
                .with_network(network.clone())
                .with_container_name(name)
                .with_mapped_port(port, ContainerPort::Tcp(9092))
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
        for r in results {
            match r {
                Ok((id, host_port, h)) => nodes.push(Node {
                    id,
                    container_id: h.id().to_string(),
                    host_port,
                    network: network.clone(),
                    _handle: Handle::Generic(h),
                }),
                Err(source) => first_error = first_error.or(Some(source)),
            }
        }
        if let Some(source) = first_error {
            return Err(BrokerError::Start { image: image.to_string(), source });
        }
        let broker = Self { kind: BrokerKind::Cluster, image, nodes, docker, started_in: Duration::ZERO };
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

    /// The image in use.
    pub fn image(&self) -> &KafkaImage {
        &self.image
    }

    /// The Docker container id of broker `id`.
    pub fn container_id(&self, id: i32) -> Option<&str> {
        self.nodes.iter().find(|n| n.id == id).map(|n| n.container_id.as_str())
    }

    fn node(&self, id: i32) -> Result<&Node, BrokerError> {
        self.nodes.iter().find(|n| n.id == id).ok_or(BrokerError::NoSuchBroker(id))
    }

    fn node_config(&self, node: &Node) -> rdkafka::ClientConfig {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", format!("127.0.0.1:{}", node.host_port));
        c
    }

    async fn state(&self, node: &Node) -> Result<(bool, bool), BrokerError> {
        let info = self.docker.inspect_container(&node.container_id, None).await.map_err(|e| BrokerError::Docker(e.to_string()))?;
        let state = info.state.unwrap_or_default();
        Ok((state.running.unwrap_or(false), state.paused.unwrap_or(false)))
    }

    async fn expect_state(&self, fault: &Fault, node: &Node, running: bool, paused: bool) -> Result<(), BrokerError> {
        let got = self.state(node).await?;
        if got != (running, paused) {
            return Err(BrokerError::NoEffect {
                fault: fault.to_string(),
                why: format!("container is running={}, paused={} afterwards", got.0, got.1),
            });
        }
        Ok(())
    }

    /// A clean shutdown: SIGTERM to the broker's JVM, then wait for the container
    /// to exit. `docker stop` alone is not one: in testcontainers-modules' Kafka
    /// container PID 1 is `bash`, which does not pass SIGTERM on, so Docker would
    /// SIGKILL the broker when its timeout ran out.
    async fn stop_gracefully(&self, fault: &Fault, node: &Node) -> Result<(), BrokerError> {
        // `kafka[.]Kafka` does not match this script's own command line.
        let term = "for p in /proc/[0-9]*; do if grep -q 'kafka[.]Kafka' $p/cmdline 2>/dev/null; then kill -TERM ${p#/proc/} && echo ${p#/proc/}; fi; done";
        let (_, pids) = self.exec_root(node, vec!["sh".into(), "-c".into(), term.into()]).await?;
        if pids.trim().is_empty() {
            return Err(BrokerError::NoEffect { fault: fault.to_string(), why: "no Kafka process found in the container".into() });
        }
        let began = Instant::now();
        while self.state(node).await?.0 {
            if began.elapsed() > CLEAN_SHUTDOWN_DEADLINE {
                let opts = StopContainerOptions { t: Some(0), signal: None };
                self.docker.stop_container(&node.container_id, Some(opts)).await.map_err(docker_err)?;
                return Err(BrokerError::NoEffect {
                    fault: fault.to_string(),
                    why: format!("the broker did not shut down within {CLEAN_SHUTDOWN_DEADLINE:?} of SIGTERM (killed instead)"),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tracing::info!(broker = node.id, secs = began.elapsed().as_secs_f64(), "broker shut down cleanly");
        Ok(())
    }

    /// `docker pause`, tried again while the kernel's cgroup freezer gives up
    /// on a busy process ("OCI runtime pause failed: unable to freeze"): runc
    /// thaws the container again when that happens, so a retry is safe.
    async fn pause_with_retries(&self, node: &Node) -> Result<(), BrokerError> {
        let began = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        let mut attempts = 0u32;
        loop {
            tick.tick().await;
            attempts += 1;
            match self.docker.pause_container(&node.container_id).await {
                Ok(()) => break,
                Err(e) if e.to_string().contains("unable to freeze") && began.elapsed() < PAUSE_DEADLINE => {
                    tracing::debug!(broker = node.id, attempts, "docker pause: {e}; trying again");
                }
                Err(e) => return Err(docker_err(e)),
            }
        }
        if attempts > 1 {
            tracing::info!(broker = node.id, attempts, "broker paused after the freezer refused {} time(s)", attempts - 1);
        }
        Ok(())
    }

    async fn wait_node_answers(&self, node: &Node) -> Result<(), BrokerError> {
        admin::wait_for_brokers(&self.node_config(node), 1, READY_DEADLINE).await
    }
}

fn docker_err(e: testcontainers::bollard::errors::Error) -> BrokerError {
    BrokerError::Docker(e.to_string())
}

#[async_trait]
impl Broker for ContainerBroker {
    fn kind(&self) -> BrokerKind {
        self.kind
    }

    fn describe(&self) -> String {
        let n = self.nodes.len();
        format!("Apache Kafka {} ({n} KRaft broker{}, image {}, {})", image::KAFKA_VERSION, if n == 1 { "" } else { "s" }, self.image, self.image.reason)
    }

    fn bootstrap_servers(&self) -> String {
        self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.host_port)).collect::<Vec<_>>().join(",")
    }

    fn replication_factor(&self) -> i32 {
        (self.nodes.len() as i32).min(3)
    }

    fn broker_ids(&self) -> Vec<i32> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), BrokerError> {
        admin::create_topic(&self.client_config(), topic, partitions, self.replication_factor(), READY_DEADLINE).await
    }

    fn supported_faults(&self) -> Vec<FaultKind> {
        vec![
            FaultKind::Stop,
            FaultKind::Start,
            FaultKind::Kill,
            FaultKind::Pause,
            FaultKind::Unpause,
            FaultKind::Disconnect,
            FaultKind::Reconnect,
            FaultKind::PacketLoss,
        ]
    }

    async fn inject(&self, fault: &Fault) -> Result<(), BrokerError> {
        tracing::info!(%fault, "injecting");
        match *fault {
            Fault::Stop { broker } => {
                let node = self.node(broker)?;
                self.stop_gracefully(fault, node).await
            }
            Fault::Kill { broker } => {
                let node = self.node(broker)?;
                let opts = KillContainerOptions { signal: "SIGKILL".into() };
                self.docker.kill_container(&node.container_id, Some(opts)).await.map_err(docker_err)?;
                self.expect_state(fault, node, false, false).await
            }
            Fault::Start { broker } => {
                let node = self.node(broker)?;
                self.docker.start_container(&node.container_id, None).await.map_err(docker_err)?;
                self.wait_node_answers(node).await
            }
            Fault::Pause { broker } => {
                let node = self.node(broker)?;
                self.pause_with_retries(node).await?;
                self.expect_state(fault, node, true, true).await
            }
            Fault::Unpause { broker } => {
                let node = self.node(broker)?;
                self.docker.unpause_container(&node.container_id).await.map_err(docker_err)?;
                self.wait_node_answers(node).await
            }
            Fault::Disconnect { broker } => {
                let node = self.node(broker)?;
                let req = NetworkDisconnectRequest { container: node.container_id.clone(), force: Some(true) };
                self.docker.disconnect_network(&node.network, req).await.map_err(docker_err)?;
                // Honest: the broker must really be out of reach now.
                if admin::wait_for_brokers(&self.node_config(node), 1, Duration::from_secs(3)).await.is_ok() {
                    return Err(BrokerError::NoEffect { fault: fault.to_string(), why: "the broker still answers".into() });
                }
                Ok(())
            }
            Fault::Reconnect { broker } => {
                let node = self.node(broker)?;
                let req = NetworkConnectRequest { container: node.container_id.clone(), endpoint_config: None };
                self.docker.connect_network(&node.network, req).await.map_err(docker_err)?;
                self.wait_node_answers(node).await
            }
            Fault::PacketLoss { broker, percent } => {
                let node = self.node(broker)?;
                let rule = |op: &str| {
                    let p = format!("{:.2}", f64::from(percent.min(100)) / 100.0);
                    let mut v = vec!["iptables", op, "INPUT", "-p", "tcp", "--dport", "9092", "-m", "statistic", "--mode", "random"];
                    v.extend(["--probability", "PROB", "-j", "DROP"]);
                    v.into_iter().map(|x| if x == "PROB" { p.clone() } else { x.to_string() }).collect::<Vec<_>>()
                };
                // Remove any earlier rule (ignore "no such rule"), then add the new one.
                let current = self.exec_root(node, vec!["sh".into(), "-c".into(), "iptables -S INPUT | grep -- '--dport 9092' | sed 's/^-A/-D/' | while read -r r; do iptables $r; done".into()]).await?;
                tracing::debug!(?current, "cleared packet-loss rules");
                if percent > 0 {
                    let (code, out) = self.exec_root(node, rule("-A")).await?;
                    if code != 0 {
                        return Err(BrokerError::NoEffect { fault: fault.to_string(), why: format!("iptables failed ({code}): {out}") });
                    }
                    let (_, rules) = self.exec_root(node, vec!["iptables".into(), "-S".into(), "INPUT".into()]).await?;
                    if !rules.contains("statistic") {
                        return Err(BrokerError::NoEffect { fault: fault.to_string(), why: format!("rule not installed: {rules}") });
                    }
                }
                Ok(())
            }
            _ => Err(BrokerError::Unsupported { backend: "container", fault: fault.kind() }),
        }
    }
}

impl ContainerBroker {
    /// Runs a command as root inside a broker's container; returns (exit code, output).
    async fn exec_root(&self, node: &Node, cmd: Vec<String>) -> Result<(i64, String), BrokerError> {
        use futures::StreamExt;
        use testcontainers::bollard::exec::{CreateExecOptions, StartExecResults};
        let exec = self
            .docker
            .create_exec(
                &node.container_id,
                CreateExecOptions { cmd: Some(cmd), user: Some("root".to_string()), attach_stdout: Some(true), attach_stderr: Some(true), ..Default::default() },
            )
            .await
            .map_err(docker_err)?;
        let mut text = String::new();
        if let StartExecResults::Attached { mut output, .. } = self.docker.start_exec(&exec.id, None).await.map_err(docker_err)? {
            while let Some(Ok(chunk)) = output.next().await {
                text.push_str(&chunk.to_string());
            }
        }
        let code = self.docker.inspect_exec(&exec.id).await.map_err(docker_err)?.exit_code.unwrap_or(-1);
        Ok((code, text))
    }
}

static SWEPT: OnceCell<()> = OnceCell::const_new();

async fn sweep_orphans_once(docker: &Docker) {
    SWEPT.get_or_init(|| async { sweep_orphans(docker).await }).await;
}

/// Removes containers (and their networks) left by dashstream processes that no longer exist.
pub async fn sweep_orphans(docker: &Docker) {
    let filters = HashMap::from([("label".to_string(), vec![OWNER_LABEL.to_string()])]);
    let opts = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
    let list = match docker.list_containers(Some(opts)).await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!("could not list containers to sweep orphans: {e}");
            return;
        }
    };
    for c in list {
        let pid = c.labels.as_ref().and_then(|l| l.get(OWNER_LABEL)).and_then(|p| p.parse::<i32>().ok());
        let Some(pid) = pid else { continue };
        if process_alive(pid) {
            continue;
        }
        let Some(id) = c.id else { continue };
        tracing::warn!(container = %id, owner_pid = pid, "removing container left by a dead dashstream process");
        let _ = docker.remove_container(&id, Some(RemoveContainerOptions { force: true, v: true, ..Default::default() })).await;
        let networks = c.network_settings.and_then(|n| n.networks).unwrap_or_default();
        for name in networks.keys().filter(|n| n.starts_with("dashstream-net-")) {
            let _ = docker.remove_network(name).await;
        }
    }
}

fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence without sending anything.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
