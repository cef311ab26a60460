//! [`Publisher`]: where watch events go — the runtime's
//! [`publish`](windlass_runtime::RuntimeHandle::publish), behind a trait so
//! the watch service is not generic over the runtime's store.

use std::future::Future;
use std::pin::Pin;
use windlass_runtime::{Message, PublishOutcome, RuntimeError, RuntimeHandle};
use windlass_store_api::Store;

/// Publishes one message.
pub trait Publisher: Send + Sync + 'static {
    /// Publishes `message`, answering its outcome once it is durable.
    fn publish(
        &self,
        message: Message,
    ) -> Pin<Box<dyn Future<Output = Result<PublishOutcome, RuntimeError>> + Send + '_>>;
}

impl<S: Store> Publisher for RuntimeHandle<S> {
    fn publish(
        &self,
        message: Message,
    ) -> Pin<Box<dyn Future<Output = Result<PublishOutcome, RuntimeError>> + Send + '_>> {
        Box::pin(RuntimeHandle::publish(self, message))
    }
}
