//! Routes of their own to the suite's shared broker, for faults of the
//! network in front of one broker (the fault proxy's latency, bandwidth cap
//! and reset storm).
//!
//! Such a fault breaks the route, not the broker, so it needs no JVM of its
//! own: the shared broker starts with a few extra listeners (`ROUTE1`,
//! `ROUTE2`, ...), each advertised at a fault proxy of its own on 127.0.0.1.
//! A scenario borrows one ([`super::Broker::spare_route`]): its clients
//! bootstrap through that proxy and metadata, asked on that listener, sends
//! them back to it, so the toxic reaches every connection of the scenario and
//! none of any other. Dropped, the route loses its toxics and goes back to
//! the pool. Three broker JVMs fewer took a container run on a 2-core machine
//! from about 160 to 131.6 CPU-seconds (2026-11-29).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::proxy::FaultProxy;

use super::{admin, ports, Broker, BrokerAction, BrokerError, BrokerKind, TopicStatus, READY_DEADLINE};

/// The first spare route's listener port inside the container (9092 to 9095
/// are the client, broker, controller and `DIRECT` listeners).
pub(crate) const FIRST_ROUTE_PORT: u16 = 9096;

/// One extra listener of the shared broker and the fault proxy in front of it.
pub(super) struct SpareRoute {
    /// `ROUTE<n>`, the listener's name.
    pub(super) name: String,
    /// The listener's port inside the container.
    pub(super) container_port: u16,
    /// The host port Docker maps to it (behind the proxy).
    pub(super) host_port: u16,
    pub(super) proxy: FaultProxy,
}

impl SpareRoute {
    fn upstream_address(&self) -> String {
        format!("127.0.0.1:{}", self.host_port)
    }
}

/// The routes not lent out.
pub(super) type RoutePool = Arc<Mutex<Vec<SpareRoute>>>;

/// `count` routes: host ports pinned and proxies listening before the broker
/// starts, so that it can advertise them.
pub(super) fn reserve(count: usize) -> Result<Vec<SpareRoute>, BrokerError> {
    (0..count)
        .map(|i| {
            let host_port = ports::free_port().map_err(|e| BrokerError::Docker(format!("no free port: {e}")))?;
            let proxy = super::container::start_proxy(host_port)?;
            Ok(SpareRoute { name: format!("ROUTE{}", i + 1), container_port: FIRST_ROUTE_PORT + i as u16, host_port, proxy })
        })
        .collect()
}

/// Lends a route from `pool`, if one is left; `shared` describes the broker behind it.
pub(super) fn lend(pool: &RoutePool, shared: String) -> Option<Box<dyn Broker>> {
    let route = pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop()?;
    tracing::debug!(route = %route.name, proxy = %route.proxy.address(), "spare route lent");
    Some(Box::new(RouteBroker { route: Some(route), pool: pool.clone(), shared }))
}

/// The shared broker as one scenario sees it: broker 1, reached only through
/// the route's fault proxy. It can add and remove toxics, nothing else.
pub struct RouteBroker {
    route: Option<SpareRoute>,
    pool: RoutePool,
    shared: String,
}

impl RouteBroker {
    fn route(&self) -> &SpareRoute {
        self.route.as_ref().expect("a route until dropped")
    }
}

impl Drop for RouteBroker {
    fn drop(&mut self) {
        if let Some(route) = self.route.take() {
            route.proxy.clear();
            tracing::debug!(route = %route.name, "spare route back in the pool");
            self.pool.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(route);
        }
    }
}

#[async_trait]
impl Broker for RouteBroker {
    fn kind(&self) -> BrokerKind {
        BrokerKind::Container
    }

    fn describe(&self) -> String {
        let r = self.route();
        format!("{}, through a route of its own (listener {}, fault proxy {})", self.shared, r.name, r.proxy.address())
    }

    fn bootstrap_servers(&self) -> String {
        self.route().proxy.address().to_string()
    }

    fn replication_factor(&self) -> i32 {
        1
    }

    fn broker_ids(&self) -> Vec<i32> {
        vec![1]
    }

    fn broker_address(&self, id: i32) -> Option<String> {
        (id == 1).then(|| self.bootstrap_servers())
    }

    fn upstream_address(&self, id: i32) -> Option<String> {
        (id == 1).then(|| self.route().upstream_address())
    }

    async fn create_topic(&self, topic: &str, partitions: i32) -> Result<TopicStatus, BrokerError> {
        admin::create_topic(&self.client_config(), topic, partitions, 1, READY_DEADLINE).await
    }

    async fn apply(&self, action: &BrokerAction) -> Result<(), BrokerError> {
        let proxy = &self.route().proxy;
        match *action {
            BrokerAction::AddToxic { broker: 1, ref toxic } => proxy.add(toxic.clone()),
            BrokerAction::RemoveToxic { broker: 1, name } => {
                proxy.remove(name);
            }
            _ => return Err(BrokerError::Unsupported { backend: "a route of its own to the shared broker", action: action.to_string() }),
        }
        Ok(())
    }
}
