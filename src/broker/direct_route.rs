//! A route from this host straight to a single broker container, bypassing
//! Docker's port mapping.
//!
//! On Docker 20.10 a mapped port on 127.0.0.1 is served by `docker-proxy`, a
//! user-space process that copies every byte twice. On a 2-core machine that
//! copying competes with the broker and the client for CPU, which skews any
//! throughput comparison with a peer tool running *inside* the container (on
//! loopback). So `dashstream bench` asks for [`Route::Direct`]: the broker
//! joins a network this crate creates (`dashstream-net-*`) and gets a third
//! listener, `DIRECT`, advertised at its own address on that network. Where the
//! host cannot route to container addresses (Docker Desktop, Colima: the
//! engine runs in a VM) the probe fails and clients use the mapped port.

use std::time::Duration;

use testcontainers::bollard::Docker;

use super::BrokerError;

/// The `DIRECT` listener's port inside the container.
pub(crate) const DIRECT_PORT: u16 = 9095;
/// How long the host gets to open a connection to the container's address.
const PROBE_DEADLINE: Duration = Duration::from_secs(2);

/// How clients on this host reach a single container broker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Route {
    /// Through the broker's fault proxy on 127.0.0.1, then the port Docker maps.
    #[default]
    MappedPort,
    /// Straight to the container's address on a network this crate created,
    /// when the host can reach it; the mapped port otherwise.
    Direct,
}

/// An extra client listener: its name, its port inside the container, and
/// the port on 127.0.0.1 it is advertised at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExtraListener {
    pub(crate) name: String,
    pub(crate) port: u16,
    pub(crate) advertised_port: u16,
}

/// The shell command that starts the broker with listeners for `route`:
/// `PLAINTEXT` always, advertised at `127.0.0.1:<advertised_port>` (the fault
/// proxy's port, or the mapped port without a proxy), the `DIRECT` one
/// (at the container's own address, known only inside it) when asked for,
/// and every `extra` one (the spare routes of [`super::spare_route`]).
pub(crate) fn start_command(route: Route, advertised_port: u16, extra: &[ExtraListener]) -> Vec<String> {
    let mut listeners = "PLAINTEXT://0.0.0.0:9092,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094".to_string();
    let mut protocols = "BROKER:PLAINTEXT,PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT".to_string();
    let mut advertised = format!("PLAINTEXT://127.0.0.1:{advertised_port},BROKER://localhost:9093");
    if route == Route::Direct {
        listeners.push_str(&format!(",DIRECT://0.0.0.0:{DIRECT_PORT}"));
        protocols.push_str(",DIRECT:PLAINTEXT");
        advertised.push_str(&format!(",DIRECT://$(hostname -i | cut -d' ' -f1):{DIRECT_PORT}"));
    }
    for l in extra {
        listeners.push_str(&format!(",{}://0.0.0.0:{}", l.name, l.port));
        protocols.push_str(&format!(",{}:PLAINTEXT", l.name));
        advertised.push_str(&format!(",{}://127.0.0.1:{}", l.name, l.advertised_port));
    }
    let script = format!(
        "export KAFKA_LISTENERS={listeners} KAFKA_LISTENER_SECURITY_PROTOCOL_MAP={protocols} \
         KAFKA_ADVERTISED_LISTENERS={advertised}; exec /etc/kafka/docker/run"
    );
    vec!["-c".to_string(), script]
}

/// `address:port` of the `DIRECT` listener if this host can open a connection
/// to it; `None` (with the reason logged) otherwise.
pub(crate) async fn probe(docker: &Docker, container_id: &str, network: &str) -> Result<Option<String>, BrokerError> {
    let info = docker.inspect_container(container_id, None).await.map_err(|e| BrokerError::Docker(e.to_string()))?;
    let address = info
        .network_settings
        .and_then(|s| s.networks)
        .and_then(|mut n| n.remove(network))
        .and_then(|n| n.ip_address)
        .filter(|a| !a.is_empty());
    let Some(address) = address else {
        tracing::info!(network, "container has no address on its network; clients use the mapped port");
        return Ok(None);
    };
    let target = format!("{address}:{DIRECT_PORT}");
    match tokio::time::timeout(PROBE_DEADLINE, tokio::net::TcpStream::connect(&target)).await {
        Ok(Ok(_)) => Ok(Some(target)),
        Ok(Err(e)) => {
            tracing::info!(%target, error = %e, "host cannot reach the container's address; clients use the mapped port");
            Ok(None)
        }
        Err(_) => {
            tracing::info!(%target, "no answer from the container's address within {PROBE_DEADLINE:?}; clients use the mapped port");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_port_route_advertises_only_the_mapped_port() {
        let cmd = start_command(Route::MappedPort, 4321, &[]).join(" ");
        assert!(cmd.contains("KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://127.0.0.1:4321,BROKER://localhost:9093;"), "{cmd}");
        assert!(!cmd.contains("DIRECT"), "{cmd}");
    }

    #[test]
    fn direct_route_adds_a_listener_at_the_containers_address() {
        let cmd = start_command(Route::Direct, 4321, &[]).join(" ");
        assert!(cmd.contains(",DIRECT://0.0.0.0:9095 "), "{cmd}");
        assert!(cmd.contains(",DIRECT:PLAINTEXT "), "{cmd}");
        assert!(cmd.contains(",DIRECT://$(hostname -i | cut -d' ' -f1):9095;"), "{cmd}");
        assert!(cmd.ends_with("exec /etc/kafka/docker/run"), "{cmd}");
    }

    #[test]
    fn extra_listeners_are_advertised_at_their_own_ports() {
        let extra = [ExtraListener { name: "ROUTE1".into(), port: 9096, advertised_port: 5555 }];
        let cmd = start_command(Route::MappedPort, 4321, &extra).join(" ");
        assert!(cmd.contains(",ROUTE1://0.0.0.0:9096 "), "{cmd}");
        assert!(cmd.contains(",ROUTE1:PLAINTEXT "), "{cmd}");
        assert!(cmd.contains("PLAINTEXT://127.0.0.1:4321,BROKER://localhost:9093,ROUTE1://127.0.0.1:5555;"), "{cmd}");
    }
}
