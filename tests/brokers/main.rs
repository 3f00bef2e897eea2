//! Broker backends, each proven with real traffic: 1,000 records produced with
//! rdkafka and all consumed back; the mock's own faults; the local image
//! started unchanged by testcontainers-modules; Docker host discovery.
//!
//! What a broken container broker or cluster does (restarted, killed, frozen,
//! cut off, its leader lost, every broker behind its fault proxy) is proven
//! by the `@fault` scenarios of `features/faults.feature`, each on a broker
//! of its own, with the same checks and more: these tests used to repeat
//! three of them (restart, pause, a cluster losing a broker).
//!
//! Container tests need a Docker host. Without one they fail with the
//! discovery error (what was tried, how to fix it); they are never skipped.

mod container;
mod discovery;
mod mock;
mod traffic;
