//! A fault injector that reports success and does nothing: the fault
//! scenarios must notice, because their proofs look at the broker, not at
//! the injector's word.

use dashstream::broker::{Broker, BrokerAction, BrokerError};
use dashstream::faults::inject::Injector;

pub struct IdleInjector;

#[async_trait::async_trait]
impl Injector for IdleInjector {
    async fn apply(&self, _: &dyn Broker, _: &BrokerAction) -> Result<(), BrokerError> {
        Ok(())
    }
}
