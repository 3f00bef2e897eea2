//! Host ports pinned up front, so a restarted container keeps its address.
//!
//! Docker maps a *new* ephemeral host port when a container restarts, which
//! would break the advertised listener that clients were given. Choosing the
//! host port ourselves (the OS hands out a free one, we release it and give it
//! to Docker) keeps `127.0.0.1:<port>` valid across stop and start.

use std::net::TcpListener;

/// A currently free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind(("127.0.0.1", 0))?;
    l.local_addr().map(|a| a.port())
}
