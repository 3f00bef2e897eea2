//! The forwarder (`dashstream forward`) end to end on librdkafka's embedded
//! mock cluster: WebSocket clients that are not the forwarder's code, the
//! queue policy (drop oldest with a gap notice, disconnect the stalled, refuse
//! beyond --max-clients), and the browser view in a real headless Chromium.

mod browser;
mod cdp;
mod cli;
mod clients;
mod support;
