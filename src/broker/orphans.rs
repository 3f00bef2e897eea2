//! Containers and networks left behind by dashstream processes that no longer
//! exist (killed outright, so no `Drop` ran): found by their owner label and
//! removed by the first container start of every later run.

use std::collections::HashMap;

use testcontainers::bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};
use testcontainers::bollard::Docker;
use tokio::sync::OnceCell;

use super::container::OWNER_LABEL;

static SWEPT: OnceCell<()> = OnceCell::const_new();

pub(super) async fn sweep_orphans_once(docker: &Docker) {
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
