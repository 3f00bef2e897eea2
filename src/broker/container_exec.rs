//! Commands run inside a broker's container (`docker exec`): Kafka's own tools
//! as peers and witnesses (`bench`), iptables for the packet-loss fault.

use futures::StreamExt;
use testcontainers::bollard::container::LogOutput;
use testcontainers::bollard::exec::{CreateExecOptions, StartExecResults};

use super::container::{docker_err, ContainerBroker, Node};
use super::BrokerError;

/// What a command in the container printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code (-1 when Docker did not report one).
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

impl ExecOutput {
    /// Both streams, stdout first (for error messages and logs).
    pub fn combined(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The address a tool inside a single-broker container reaches the broker at:
/// the internal `BROKER` listener that testcontainers-modules' Kafka image
/// advertises as `localhost:9093`.
pub const IN_CONTAINER_BOOTSTRAP: &str = "localhost:9093";

impl ContainerBroker {
    /// Runs `cmd` in broker `broker`'s container as the image's user; waits
    /// for it to exit. A non-zero exit is returned, not an error.
    pub async fn exec(&self, broker: i32, cmd: &[&str]) -> Result<ExecOutput, BrokerError> {
        let node = self.node(broker)?;
        self.exec_as(node, None, cmd.iter().map(|s| s.to_string()).collect()).await
    }

    pub(super) async fn exec_as(&self, node: &Node, user: Option<&str>, cmd: Vec<String>) -> Result<ExecOutput, BrokerError> {
        let options = CreateExecOptions {
            cmd: Some(cmd),
            user: user.map(str::to_string),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self.docker.create_exec(&node.container_id, options).await.map_err(docker_err)?;
        let mut out = ExecOutput::default();
        if let StartExecResults::Attached { mut output, .. } = self.docker.start_exec(&exec.id, None).await.map_err(docker_err)? {
            while let Some(chunk) = output.next().await {
                match chunk.map_err(docker_err)? {
                    LogOutput::StdErr { message } => out.stderr.push_str(&String::from_utf8_lossy(&message)),
                    other => out.stdout.push_str(&other.to_string()),
                }
            }
        }
        out.code = self.docker.inspect_exec(&exec.id).await.map_err(docker_err)?.exit_code.unwrap_or(-1);
        Ok(out)
    }
}
