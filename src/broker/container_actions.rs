//! The actions a Kafka container can undergo (stop, kill, pause, network cut,
//! packet loss), each checked from outside to have taken effect.

use std::time::{Duration, Instant};

use testcontainers::bollard::models::{NetworkConnectRequest, NetworkDisconnectRequest};
use testcontainers::bollard::query_parameters::{KillContainerOptions, LogsOptions, StopContainerOptions};

use super::container::{docker_err, ContainerBroker, Node};
use super::ports::KAFKA_PORT;
use super::{admin, BrokerAction, BrokerError, ExitReport};

/// How long `docker pause` is retried while the cgroup freezer refuses.
const PAUSE_DEADLINE: Duration = Duration::from_secs(20);
/// What a Kafka broker logs when its shutdown has completed.
const SHUTDOWN_LINE: &str = "shut down completed";
/// How long a broker gets to shut down cleanly after SIGTERM.
const CLEAN_SHUTDOWN_DEADLINE: Duration = Duration::from_secs(60);

impl ContainerBroker {
    pub(super) async fn perform(&self, fault: &BrokerAction) -> Result<(), BrokerError> {
        tracing::info!(action = %fault, "applying");
        match *fault {
            BrokerAction::Stop { broker } => {
                let node = self.node(broker)?;
                self.stop_gracefully(fault, node).await
            }
            BrokerAction::Kill { broker } => {
                let node = self.node(broker)?;
                let opts = KillContainerOptions { signal: "SIGKILL".into() };
                self.docker.kill_container(&node.container_id, Some(opts)).await.map_err(docker_err)?;
                self.expect_state(fault, node, false, false).await
            }
            BrokerAction::Start { broker } => {
                let node = self.node(broker)?;
                self.docker.start_container(&node.container_id, None).await.map_err(docker_err)?;
                self.wait_node_answers(node).await
            }
            BrokerAction::Pause { broker } => {
                let node = self.node(broker)?;
                self.pause_with_retries(node).await?;
                self.expect_state(fault, node, true, true).await
            }
            BrokerAction::Unpause { broker } => {
                let node = self.node(broker)?;
                self.docker.unpause_container(&node.container_id).await.map_err(docker_err)?;
                self.wait_node_answers(node).await
            }
            BrokerAction::Disconnect { broker } => {
                let node = self.node(broker)?;
                let req = NetworkDisconnectRequest { container: node.container_id.clone(), force: Some(true) };
                self.docker.disconnect_network(&node.network, req).await.map_err(docker_err)?;
                // Honest: the broker must really be out of reach now.
                if admin::wait_for_brokers(&self.node_config(node), 1, Duration::from_secs(3)).await.is_ok() {
                    return Err(BrokerError::NoEffect { fault: fault.to_string(), why: "the broker still answers".into() });
                }
                Ok(())
            }
            BrokerAction::Reconnect { broker } => {
                let node = self.node(broker)?;
                let req = NetworkConnectRequest { container: node.container_id.clone(), endpoint_config: None };
                self.docker.connect_network(&node.network, req).await.map_err(docker_err)?;
                self.wait_node_answers(node).await
            }
            BrokerAction::PacketLoss { broker, percent } => {
                let node = self.node(broker)?;
                self.set_packet_loss(fault, node, percent).await
            }
            BrokerAction::AddToxic { broker, ref toxic } => {
                self.proxy_of(fault, broker)?.add(toxic.clone());
                Ok(())
            }
            BrokerAction::RemoveToxic { broker, name } => {
                self.proxy_of(fault, broker)?.remove(name);
                Ok(())
            }
            _ => Err(BrokerError::Unsupported { backend: "container", action: fault.to_string() }),
        }
    }

    /// Replaces any packet-loss rule on the broker's client port with one
    /// dropping `percent`% of incoming packets (none for 0), then checks the rule.
    async fn set_packet_loss(&self, fault: &BrokerAction, node: &Node, percent: u32) -> Result<(), BrokerError> {
        let clear = format!("iptables -S INPUT | grep -- '--dport {KAFKA_PORT}' | sed 's/^-A/-D/' | while read -r r; do iptables $r; done");
        let cleared = self.exec_root(node, vec!["sh".into(), "-c".into(), clear]).await?;
        tracing::debug!(?cleared, "cleared packet-loss rules");
        if percent == 0 {
            return Ok(());
        }
        let probability = format!("{:.2}", f64::from(percent.min(100)) / 100.0);
        let port = KAFKA_PORT.to_string();
        let rule = ["iptables", "-A", "INPUT", "-p", "tcp", "--dport", &port, "-m", "statistic", "--mode", "random", "--probability", &probability, "-j", "DROP"];
        let (code, out) = self.exec_root(node, rule.iter().map(|x| x.to_string()).collect()).await?;
        if code != 0 {
            return Err(BrokerError::NoEffect { fault: fault.to_string(), why: format!("iptables failed ({code}): {out}") });
        }
        let (_, rules) = self.exec_root(node, vec!["iptables".into(), "-S".into(), "INPUT".into()]).await?;
        if !rules.contains("statistic") {
            return Err(BrokerError::NoEffect { fault: fault.to_string(), why: format!("rule not installed: {rules}") });
        }
        Ok(())
    }

    /// The exit code Docker recorded and whether the broker logged the end of its shutdown.
    pub(super) async fn exit_report_of(&self, node: &Node) -> Result<ExitReport, BrokerError> {
        use futures::StreamExt;
        let info = self.docker.inspect_container(&node.container_id, None).await.map_err(docker_err)?;
        let exit_code = info.state.and_then(|s| s.exit_code).unwrap_or(-1);
        let opts = LogsOptions { stdout: true, stderr: true, tail: "300".into(), ..Default::default() };
        let mut logs = self.docker.logs(&node.container_id, Some(opts));
        let mut shutdown_logged = false;
        while let Some(chunk) = logs.next().await {
            shutdown_logged |= chunk.map_err(docker_err)?.to_string().contains(SHUTDOWN_LINE);
        }
        Ok(ExitReport { exit_code, shutdown_logged })
    }

    /// The packet-loss rule on the broker's client port and its dropped-packet counter.
    pub(super) async fn packet_loss_rule_of(&self, node: &Node) -> Result<Option<u64>, BrokerError> {
        let (_, table) = self.exec_root(node, ["iptables", "-L", "INPUT", "-v", "-x", "-n"].iter().map(|s| s.to_string()).collect()).await?;
        let port = format!("dpt:{KAFKA_PORT}");
        Ok(table.lines().find(|l| l.contains("DROP") && l.contains(&port)).and_then(|l| l.split_whitespace().next()?.parse().ok()))
    }

    async fn state(&self, node: &Node) -> Result<(bool, bool), BrokerError> {
        let info = self.docker.inspect_container(&node.container_id, None).await.map_err(|e| BrokerError::Docker(e.to_string()))?;
        let state = info.state.unwrap_or_default();
        Ok((state.running.unwrap_or(false), state.paused.unwrap_or(false)))
    }

    async fn expect_state(&self, fault: &BrokerAction, node: &Node, running: bool, paused: bool) -> Result<(), BrokerError> {
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
    async fn stop_gracefully(&self, fault: &BrokerAction, node: &Node) -> Result<(), BrokerError> {
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

    /// Runs a command as root inside a broker's container; returns (exit code, output).
    async fn exec_root(&self, node: &Node, cmd: Vec<String>) -> Result<(i64, String), BrokerError> {
        let out = self.exec_as(node, Some("root"), cmd).await?;
        Ok((out.code, out.combined()))
    }
}

