//! Host ports pinned up front, so a restarted container keeps its address.
//!
//! Docker maps a *new* ephemeral host port when a container restarts, which
//! would break the advertised listener that clients were given. Choosing the
//! host port ourselves (the OS hands out a free one, we release it and give it
//! to Docker) keeps `127.0.0.1:<port>` valid across stop and start.

use std::net::TcpListener;

/// The broker's client listener inside its container (the official image's, and
/// testcontainers-modules' `apache::KAFKA_PORT`).
pub(crate) const KAFKA_PORT: u16 = 9092;
/// The KRaft controller listener inside a cluster node.
pub(crate) const CONTROLLER_PORT: u16 = 9093;
/// The listener cluster nodes use to reach each other on their private network.
pub(crate) const INTERNAL_PORT: u16 = 19092;

/// A currently free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind(("127.0.0.1", 0))?;
    l.local_addr().map(|a| a.port())
}
